//! Tables (comfy-table) and JSON output.

use std::collections::HashMap;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::Value;
use stitch_model::inventory::Kind;

use super::Format;
use super::client::Client;

/// id → name of the objects a kind's table refers to.
struct Names(HashMap<String, String>);

impl Names {
    async fn load(c: &Client, kind: Kind) -> anyhow::Result<Names> {
        let kinds: &[Kind] = match kind {
            Kind::Switch => &[Kind::Fabric],
            Kind::SwitchPort => &[Kind::Switch],
            Kind::Card | Kind::NodeProfile => &[Kind::Hardware],
            Kind::Node => &[Kind::NodeProfile, Kind::Switch],
            _ => &[],
        };
        let mut m = HashMap::new();
        for k in kinds {
            for o in c.list(*k, &[]).await? {
                if let (Some(id), Some(n)) = (o["id"].as_str(), o["name"].as_str()) {
                    m.insert(id.to_string(), n.to_string());
                }
            }
        }
        Ok(Names(m))
    }

    fn of(&self, v: &Value) -> String {
        match v.as_str() {
            Some(id) => self.0.get(id).cloned().unwrap_or_else(|| id.to_string()),
            None => String::new(),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.len() == 2 && a.iter().all(Value::is_number) => format!("{}-{}", a[0], a[1]),
        other => other.to_string(),
    }
}

fn join(v: &Value, f: impl Fn(&Value) -> String) -> String {
    v.as_array().map(|a| a.iter().map(f).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Fabric => &["NAME", "VNI RANGE", "VLAN RANGE", "VLAN MODE", "ID"],
        Kind::Switch => &["NAME", "FABRIC", "OVSDB", "TUNNEL IP", "ROLE", "ID"],
        Kind::SwitchPort => &["SWITCH", "NAME", "DISCOVERED", "ID"],
        Kind::Hardware => &["NAME", "MODEL", "ID"],
        Kind::Card => &["NAME", "HARDWARE", "INTERFACES", "ID"],
        Kind::NodeProfile => &["NAME", "HARDWARE", "ID"],
        Kind::Node => &["NAME", "PROFILE", "TYPE", "ALIASES", "PORTS", "ID"],
        Kind::PortProfile => &["NAME", "FRAMES", "VLANS", "MTU", "SECURITY GROUPS", "QOS POLICY", "NETWORKS", "ID"],
        _ => &["NAME", "ID"],
    }
}

fn row(kind: Kind, o: &Value, n: &Names) -> Vec<String> {
    let f = |k: &str| text(&o[k]);
    match kind {
        Kind::Fabric => vec![f("name"), f("vni_range"), f("vlan_range"), f("vlan_mode"), f("id")],
        Kind::Switch => vec![f("name"), n.of(&o["fabric_id"]), f("ovsdb"), f("tunnel_ip"), f("role"), f("id")],
        Kind::SwitchPort => vec![n.of(&o["switch_id"]), f("name"), f("discovered"), f("id")],
        Kind::Hardware => vec![f("name"), f("model"), f("id")],
        Kind::Card => vec![
            f("name"),
            join(&o["hardware_ids"], |h| n.of(h)),
            join(&o["interface_map"], |i| format!("{}:{}", text(&i["name"]), join(&i["labels"], text).replace(", ", ","))),
            f("id"),
        ],
        Kind::NodeProfile => vec![f("name"), join(&o["hardware_ids"], |h| n.of(h)), f("id")],
        Kind::Node => vec![
            f("name"),
            n.of(&o["node_profile_id"]),
            f("type"),
            join(&o["aliases"], text),
            join(&o["ports"], |p| format!("{}={}:{}", text(&p["name"]), n.of(&p["switch_id"]), text(&p["switch_port"]))),
            f("id"),
        ],
        Kind::PortProfile => vec![
            f("name"),
            f("allowed_frames"),
            join(&o["allowed_vlans"], text),
            f("mtu"),
            join(&o["security_groups"], text),
            f("qos_policy_id"),
            join(&o["networks"], text),
            f("id"),
        ],
        _ => vec![f("name"), f("id")],
    }
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    t
}

pub async fn list(c: &Client, kind: Kind, items: &[Value], format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(items)?);
        return Ok(());
    }
    let names = Names::load(c, kind).await?;
    let mut t = new_table();
    t.set_header(columns(kind).to_vec());
    for o in items {
        t.add_row(row(kind, o, &names));
    }
    println!("{t}");
    Ok(())
}

pub async fn object(c: &Client, kind: Kind, obj: &Value, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(obj)?);
        return Ok(());
    }
    let names = Names::load(c, kind).await?;
    let mut t = new_table();
    t.set_header(vec!["FIELD", "VALUE"]);
    let cells = row(kind, obj, &names);
    for (h, v) in columns(kind).iter().zip(cells) {
        t.add_row(vec![h.to_string(), v]);
    }
    let extra: &[&str] = if kind == Kind::Switch { &["management_ip", "vlan_range", "chassis_mac"] } else { &[] };
    for k in extra.iter().chain(&["created_at", "updated_at"]) {
        t.add_row(vec![k.to_uppercase().replace('_', " "), text(&obj[k])]);
    }
    println!("{t}");
    Ok(())
}

/// The summary of an apply.
pub fn report(r: &stitch_api::ApplyReport, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(r)?);
        return Ok(());
    }
    let mut t = new_table();
    t.set_header(vec!["KIND", "CREATED", "UPDATED", "UNCHANGED"]);
    for (k, c) in &r.kinds {
        t.add_row(vec![k.clone(), c.created.to_string(), c.updated.to_string(), c.unchanged.to_string()]);
    }
    t.add_row(vec!["total".to_string(), r.created.to_string(), r.updated.to_string(), r.unchanged.to_string()]);
    println!("{t}");
    println!("revision {}", r.revision);
    Ok(())
}

/// The answer of `node resolve`.
pub fn links(v: &Value, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    let mut t = new_table();
    t.set_header(vec!["NIC", "SWITCH", "SWITCH PORT"]);
    for l in v["links"].as_array().into_iter().flatten() {
        t.add_row(vec![text(&l["nic"]), text(&l["switch"]), text(&l["switch_port"])]);
    }
    println!("{t}");
    Ok(())
}

/// LLDP cabling findings (`stitch node lldp`).
pub fn findings(v: &Value, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    let place = |p: &Value| if p.is_null() { String::new() } else { format!("{}:{}", text(&p["switch"]), text(&p["switch_port"])) };
    let mut t = new_table();
    t.set_header(vec!["NIC", "VERDICT", "LLDP SEES", "RECORDED", "MESSAGE"]);
    for f in v["findings"].as_array().into_iter().flatten() {
        t.add_row(vec![text(&f["nic"]), text(&f["verdict"]), place(&f["seen"]), place(&f["recorded"]), text(&f["message"])]);
    }
    println!("{t}");
    if v["applied"] == true {
        println!("cabling recorded from LLDP");
    }
    Ok(())
}
