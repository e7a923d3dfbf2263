//! ACLs against a real ovsdb-server, checked and tampered with by
//! `vtep-ctl`: converge, repair drift (an entry edited by hand, a binding
//! removed by hand, an entry added to our ACL), leave the foreign ACL
//! alone, and clean up completely.

use stitch_vtep::rows::AclEntry;
use stitch_vtep::{DesiredAcl, DesiredVtep, apply, plan, read_all};

use crate::model::{FOREIGN_ACL, owner};
use crate::prop::real_setup;
use crate::server::OvsdbServer;

fn entry(sequence: i64, direction: &str, action: &str, protocol: Option<i64>) -> AclEntry {
    let any = |s: &str| Some(s.to_owned());
    AclEntry {
        sequence,
        direction: direction.into(),
        action: action.into(),
        protocol,
        source_ip: any("0.0.0.0"),
        source_mask: any("0.0.0.0"),
        ..Default::default()
    }
}

fn desired() -> DesiredVtep {
    let acl = DesiredAcl::new([entry(100, "egress", "permit", Some(6)), entry(65000, "egress", "deny", None)]).bound("ps1", "p2", 10).bound("ps2", "p1", 10);
    DesiredVtep::empty(owner()).with_acl("sg-1", acl)
}

fn column(s: &OvsdbServer, table: &str, col: &str) -> Vec<String> {
    s.column(table, col)
}

#[tokio::test]
async fn acls_converge_repair_drift_and_leave_foreign_rows_alone() {
    let s = OvsdbServer::start();
    real_setup(&s);
    let (client, _events) = s.client().await;
    let schema = client.get_schema("hardware_vtep").await.unwrap();
    let converge = |d: DesiredVtep| {
        let (client, schema) = (client.clone(), schema.clone());
        async move {
            let p = plan(&d, &read_all(&client, schema.clone()).await.unwrap());
            assert_eq!(p.problems, [], "{:#?}", p.notes);
            apply(&client, &p).await.unwrap_or_else(|e| panic!("{e}: {:#?}", p.notes));
            let again = plan(&d, &read_all(&client, schema).await.unwrap());
            assert!(again.is_empty(), "not converged: {:#?}", again.notes);
            p.ops.len()
        }
    };
    let ours = format!("{}/sg-1", owner().as_str());
    assert!(converge(desired()).await > 0);
    assert_eq!(column(&s, "ACL", "acl_name"), [FOREIGN_ACL.to_string(), ours.clone()]);
    let p2 = s.port_uuid("ps1", "p2");
    assert!(s.vtep_ctl(&["--bare", "get", "Physical_Port", &p2, "acl_bindings"]).contains("10="));
    assert_eq!(column(&s, "ACL_entry", "sequence"), ["1", "100", "65000"]);

    // Someone turns our final deny into a permit: replaced.
    let deny = s.vtep_ctl(&["--bare", "--columns=_uuid", "find", "ACL_entry", "sequence=65000"]);
    s.vtep_ctl(&["set", "ACL_entry", deny.trim(), "action=permit"]);
    assert!(converge(desired()).await > 0);
    assert_eq!(s.vtep_ctl(&["--bare", "--columns=action", "find", "ACL_entry", "sequence=65000"]).trim(), "deny");
    assert_eq!(column(&s, "ACL_entry", "sequence"), ["1", "100", "65000"], "the edited entry is not left behind");
    // Someone unbinds it from a port: re-bound.
    s.vtep_ctl(&["remove", "Physical_Port", &p2, "acl_bindings", "10"]);
    assert!(converge(desired()).await > 0);
    assert!(s.vtep_ctl(&["--bare", "get", "Physical_Port", &p2, "acl_bindings"]).contains("10="));

    // Toward nothing: only the foreign ACL, its entry and its binding remain.
    assert!(converge(DesiredVtep::empty(owner())).await > 0);
    assert_eq!(column(&s, "ACL", "acl_name"), [FOREIGN_ACL]);
    assert_eq!(column(&s, "ACL_entry", "sequence"), ["1"]);
    let p1 = s.port_uuid("ps1", "p1");
    assert!(s.vtep_ctl(&["--bare", "get", "Physical_Port", &p1, "acl_bindings"]).contains("300="));
    assert_eq!(s.vtep_ctl(&["--bare", "get", "Physical_Port", &p2, "acl_bindings"]).trim(), "{}");
    client.close();
}
