//! Golden step-file scenarios: each directory under `tests/scenarios/` holds
//! numbered steps, `NN-what.in.json` (events applied through the engine, as
//! the API would) and `NN-what.out.json` (the expected result: every port's
//! binding and every endpoint's desired switch rows). Run with
//! `STITCH_BLESS=1` to (re)write the `.out.json` files from what the engine
//! does now; review the diff before committing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};
use stitch_engine::bind;
use stitch_engine::compile::{Learned, compile};
use stitch_model::Snapshot;
use stitch_model::inventory::*;
use stitch_vtep::{DesiredVtep, Owner};

use crate::fixture::*;

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Event {
    /// A network by number; `vlan` makes it a vlan provider network.
    Network {
        n: u128,
        #[serde(default)]
        vlan: Option<u32>,
        #[serde(default)]
        physnet: Option<String>,
    },
    /// Create or update port `n` (MAC fa:16:3e:00:00:<mac>) on network `net`;
    /// `device` is the VM (`device_id`, default `vm-<mac>`).
    Port {
        n: u128,
        net: u128,
        mac: u8,
        host: String,
        #[serde(default = "direct")]
        vnic: String,
        #[serde(default)]
        profile: serde_json::Map<String, Value>,
        #[serde(default)]
        device: Option<String>,
    },
    /// Port-bindings API: an inactive binding of port `n` for `host`.
    AddBinding {
        n: u128,
        host: String,
    },
    Activate {
        n: u128,
        host: String,
    },
    DeleteBinding {
        n: u128,
        host: String,
    },
    DeletePort {
        n: u128,
    },
    DeleteNetwork {
        n: u128,
    },
    /// Replace what endpoint `endpoint` has learned: [[network, mac, ip], ...].
    Learned {
        endpoint: String,
        macs: Vec<(u128, u8, String)>,
    },
    /// Create or update trunk `n` on parent port `parent`: subports [[port, vlan], ...].
    Trunk {
        n: u128,
        parent: u128,
        subports: Vec<(u128, u16)>,
    },
    DeleteTrunk {
        n: u128,
    },
    /// A `vlan` segment `n` of network `net`.
    Segment {
        n: u128,
        net: u128,
        physnet: String,
        vlan: u32,
    },
    DeleteSegment {
        n: u128,
    },
    /// L2 gateway `n`: devices [[switch, port, vlan or null], ...].
    L2gw {
        n: u128,
        interfaces: Vec<(String, String, Option<u16>)>,
    },
    Connect {
        n: u128,
        gw: u128,
        net: u128,
        #[serde(default)]
        vlan: Option<u16>,
    },
    Disconnect {
        n: u128,
    },
    /// Every switch confirms the current revision, `rounds` times (default
    /// once): each round moves migrations one phase on.
    Acknowledge {
        #[serde(default)]
        rounds: Option<u32>,
    },
}

fn direct() -> String {
    "direct".into()
}

fn render_desired(d: &DesiredVtep) -> Value {
    let bindings: BTreeMap<String, BTreeMap<String, String>> =
        d.port_bindings.iter().map(|((sw, p), m)| (format!("{sw}/{p}"), m.iter().map(|(v, ls)| (v.to_string(), ls.to_string())).collect())).collect();
    json!({
        "logical_switches": d.logical_switches.iter().map(|(n, l)| (n.clone(), l.tunnel_key)).collect::<BTreeMap<_, _>>(),
        "bindings": bindings,
        "ucast_remote": d
            .ucast_remote
            .iter()
            .flat_map(|(ls, macs)| macs.iter().map(move |(m, r)| (format!("{ls} {m}"), r.dst_ip.to_string())))
            .collect::<BTreeMap<_, _>>(),
        "flood": d.mcast_remote.iter().map(|((ls, m), ips)| (format!("{ls} {m}"), ips.iter().map(|i| i.to_string()).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
    })
}

fn render(s: &Snapshot, learned: &Learned, errors: &[String]) -> Value {
    let owner = Owner::new("golden").unwrap();
    let ports: BTreeMap<String, Value> = s
        .ports
        .iter()
        .map(|p| {
            let b = &p.spec.binding;
            let mut v =
                json!({"host": p.spec.host_id, "vif_type": b.vif_type, "vif_details": b.vif_details, "failure": b.rare.failure, "generation": b.generation});
            if !p.spec.rare.inactive_bindings.is_empty() {
                v["inactive"] = p
                    .spec
                    .rare
                    .inactive_bindings
                    .iter()
                    .map(|h| json!({"host": h.host, "vif_type": h.binding.vif_type, "vif_details": h.binding.vif_details, "failure": h.binding.rare.failure}))
                    .collect();
            }
            (p.id.to_string(), v)
        })
        .collect();
    let endpoints: BTreeMap<String, Value> = compile(s, learned, &owner).iter().map(|(k, d)| (k.clone(), render_desired(d))).collect();
    let mut v = json!({"ports": ports, "endpoints": endpoints});
    if !errors.is_empty() {
        v["refused"] = json!(errors);
    }
    v
}

fn apply(s: Snapshot, learned: &mut Learned, errors: &mut Vec<String>, e: Event) -> Snapshot {
    if let Some(r) = crate::service::scenario_event(&s, &e_kind(&e)) {
        return match r {
            Ok(changes) => commit(&s, changes),
            Err(err) => {
                errors.push(err.to_string());
                s
            }
        };
    }
    match e {
        Event::Network { n, vlan, physnet } => {
            let ty = if vlan.is_some() { NetworkType::Vlan } else { NetworkType::Vxlan };
            network(&s, n, ty, vlan, physnet.as_deref())
        }
        Event::Port { n, net, mac, host, vnic, profile, device } => {
            let mut spec = port_spec(net, mac, &host, VnicType::parse(&vnic).expect("vnic"));
            spec.profile = profile.into();
            if let Some(d) = device {
                spec.device_id = d;
            }
            // An update keeps what the API keeps: the port's inactive bindings.
            if let Some(old) = s.ports.get(&id(n)) {
                spec.rare.inactive_bindings = old.spec.rare.inactive_bindings.clone();
            }
            bind_port(&s, n, spec)
        }
        Event::AddBinding { n, host } => {
            let b =
                stitch_model::neutron::HostBinding { host: host.into(), vnic_type: VnicType::Direct, profile: Default::default(), binding: Default::default() };
            let r = bind::add_binding(&s, id(n), b);
            refuse_or_commit(s, errors, r)
        }
        Event::Activate { n, host } => {
            let r = bind::activate_binding(&s, id(n), &host);
            refuse_or_commit(s, errors, r)
        }
        Event::DeleteBinding { n, host } => {
            let r = bind::delete_binding(&s, id(n), &host);
            refuse_or_commit(s, errors, r)
        }
        Event::DeletePort { n } => commit(&s, bind::delete_port(&s, id(n)).unwrap()),
        Event::DeleteNetwork { n } => commit(&s, vec![stitch_model::Change::Delete(Kind::Network, id(n))]),
        Event::Acknowledge { rounds } => {
            let mut s = s;
            for _ in 0..rounds.unwrap_or(1) {
                s = commit(&s, bind::advance_moves(&s, |_, _| true));
            }
            s
        }
        Event::Learned { endpoint, macs } => {
            let m = learned.entry(endpoint).or_default();
            m.clear();
            for (net, mac, ip) in macs {
                m.insert((id(net).to_string(), format!("fa:16:3e:00:00:{mac:02x}").parse().unwrap()), ip.parse().unwrap());
            }
            s
        }
        _ => unreachable!("handled by scenario_event"),
    }
}

/// The fabric events of issue 6, in the shape `service::scenario_event` takes.
fn e_kind(e: &Event) -> crate::service::FabricEvent {
    use crate::service::FabricEvent as F;
    match e {
        Event::Trunk { n, parent, subports } => F::Trunk { n: *n, parent: *parent, subports: subports.clone() },
        Event::DeleteTrunk { n } => F::DeleteTrunk { n: *n },
        Event::Segment { n, net, physnet, vlan } => F::Segment { n: *n, net: *net, physnet: physnet.clone(), vlan: *vlan },
        Event::DeleteSegment { n } => F::DeleteSegment { n: *n },
        Event::L2gw { n, interfaces } => F::L2gw { n: *n, interfaces: interfaces.clone() },
        Event::Connect { n, gw, net, vlan } => F::Connect { n: *n, gw: *gw, net: *net, vlan: *vlan },
        Event::Disconnect { n } => F::Disconnect { n: *n },
        _ => F::None,
    }
}

fn refuse_or_commit(s: Snapshot, errors: &mut Vec<String>, r: Result<Vec<stitch_model::Change>, stitch_engine::EngineError>) -> Snapshot {
    match r {
        Ok(changes) => commit(&s, changes),
        Err(e) => {
            errors.push(e.to_string());
            s
        }
    }
}

fn steps(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(".in.json")).collect();
    v.sort();
    v
}

#[test]
fn golden_scenarios() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let bless = std::env::var_os("STITCH_BLESS").is_some();
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "scenarios missing under {}", root.display());
    let mut failures = Vec::new();
    for dir in dirs {
        let mut s = fabric();
        let mut learned = Learned::new();
        let mut errors = Vec::new();
        let list = steps(&dir);
        assert!(!list.is_empty(), "no steps in {}", dir.display());
        for step in list {
            let events: Vec<Event> = serde_json::from_str(&std::fs::read_to_string(&step).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", step.display()));
            errors.clear();
            for e in events {
                s = apply(s, &mut learned, &mut errors, e);
            }
            let got = serde_json::to_string_pretty(&render(&s, &learned, &errors)).unwrap() + "\n";
            let out = PathBuf::from(step.to_string_lossy().replace(".in.json", ".out.json"));
            if bless {
                std::fs::write(&out, &got).unwrap();
            } else {
                let want = std::fs::read_to_string(&out).unwrap_or_default();
                if want != got {
                    failures.push(format!("{}: output differs (STITCH_BLESS=1 to regenerate)\n--- want\n{want}\n--- got\n{got}", out.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
