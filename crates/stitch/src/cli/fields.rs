//! The flags of each kind's `create` and `update`, and how they become a
//! JSON body (names resolved to ids through the API).

use clap::Args;
use serde_json::{Map, Value, json};
use stitch_model::inventory::Kind;

use super::client::Client;

/// `100-200` → `[100, 200]` (the server checks bounds and order).
pub fn parse_range(s: &str) -> Result<Value, String> {
    let (a, b) = s.split_once('-').ok_or_else(|| format!("invalid range {s:?}: expected FIRST-LAST, e.g. 100-200"))?;
    let n = |x: &str| x.trim().parse::<i64>().map_err(|_| format!("invalid range {s:?}: expected FIRST-LAST, e.g. 100-200"));
    Ok(json!([n(a)?, n(b)?]))
}

/// `ens1f0:sriov,physnet1` → an interface_map entry.
pub fn parse_interface(s: &str) -> Result<Value, String> {
    let (nic, labels) = s.split_once(':').unwrap_or((s, ""));
    if nic.is_empty() {
        return Err(format!("invalid interface {s:?}: expected NIC[:LABEL,LABEL...]"));
    }
    let labels: Vec<&str> = labels.split(',').filter(|l| !l.is_empty()).collect();
    Ok(json!({ "name": nic, "labels": labels }))
}

/// A node port flag: `NIC=SWITCH:PORT[@MAC]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortFlag {
    pub nic: String,
    pub switch: String,
    pub port: String,
    pub mac: Option<String>,
}

pub fn parse_port(s: &str) -> Result<PortFlag, String> {
    let bad = || format!("invalid port {s:?}: expected NIC=SWITCH:PORT[@MAC], e.g. ens1f0=leaf1:swp1");
    let (nic, rest) = s.split_once('=').ok_or_else(bad)?;
    let (rest, mac) = match rest.rsplit_once('@') {
        Some((r, m)) => (r, Some(m.to_string())),
        None => (rest, None),
    };
    let (switch, port) = rest.split_once(':').ok_or_else(bad)?;
    if nic.is_empty() || switch.is_empty() || port.is_empty() {
        return Err(bad());
    }
    Ok(PortFlag { nic: nic.into(), switch: switch.into(), port: port.into(), mac })
}

fn set(m: &mut Map<String, Value>, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v.into());
    }
}

fn required(create: bool, m: &Map<String, Value>, key: &str, flag: &str) -> anyhow::Result<()> {
    if create && !m.contains_key(key) {
        anyhow::bail!("{flag} is required");
    }
    Ok(())
}

async fn ids(c: &Client, kind: Kind, refs: &[String]) -> anyhow::Result<Value> {
    let mut out = Vec::new();
    for r in refs {
        out.push(Value::from(c.resolve(kind, r).await?.to_string()));
    }
    Ok(Value::Array(out))
}

#[derive(Args, Debug, Clone, Default)]
pub struct FabricFields {
    /// VNI range FIRST-LAST (default 5000-16777215).
    #[arg(long, value_parser = parse_range)]
    pub vni_range: Option<Value>,
    /// VLAN range FIRST-LAST (default 2-4094).
    #[arg(long, value_parser = parse_range)]
    pub vlan_range: Option<Value>,
    /// per_switch or fabric_wide.
    #[arg(long)]
    pub vlan_mode: Option<String>,
}

impl FabricFields {
    pub async fn fill(&self, _c: &Client, m: &mut Map<String, Value>, _create: bool) -> anyhow::Result<()> {
        set(m, "vni_range", self.vni_range.clone());
        set(m, "vlan_range", self.vlan_range.clone());
        set(m, "vlan_mode", self.vlan_mode.as_ref().map(|s| s.replace('-', "_")));
        Ok(())
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct SwitchFields {
    /// The fabric (name or id).
    #[arg(long)]
    pub fabric: Option<String>,
    /// unix:PATH, tcp:IP:PORT, ssl:IP:PORT or passive.
    #[arg(long)]
    pub ovsdb: Option<String>,
    #[arg(long)]
    pub tunnel_ip: Option<String>,
    #[arg(long)]
    pub management_ip: Option<String>,
    /// VLAN range FIRST-LAST, within the fabric's.
    #[arg(long, value_parser = parse_range)]
    pub vlan_range: Option<Value>,
    /// leaf, spine or border_leaf.
    #[arg(long)]
    pub role: Option<String>,
    #[arg(long)]
    pub chassis_mac: Option<String>,
}

impl SwitchFields {
    pub async fn fill(&self, c: &Client, m: &mut Map<String, Value>, create: bool) -> anyhow::Result<()> {
        if let Some(f) = &self.fabric {
            m.insert("fabric_id".into(), c.resolve(Kind::Fabric, f).await?.to_string().into());
        }
        set(m, "ovsdb", self.ovsdb.clone());
        set(m, "tunnel_ip", self.tunnel_ip.clone());
        set(m, "management_ip", self.management_ip.clone());
        set(m, "vlan_range", self.vlan_range.clone());
        set(m, "role", self.role.as_ref().map(|s| s.replace('-', "_")));
        set(m, "chassis_mac", self.chassis_mac.clone());
        required(create, m, "fabric_id", "--fabric")?;
        required(create, m, "ovsdb", "--ovsdb")?;
        required(create, m, "tunnel_ip", "--tunnel-ip")
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct SwitchPortFields {
    /// The switch (name or id).
    #[arg(long)]
    pub switch: Option<String>,
    /// Mark the port as reported by the switch.
    #[arg(long)]
    pub discovered: Option<bool>,
}

impl SwitchPortFields {
    pub async fn fill(&self, c: &Client, m: &mut Map<String, Value>, create: bool) -> anyhow::Result<()> {
        if let Some(s) = &self.switch {
            m.insert("switch_id".into(), c.resolve(Kind::Switch, s).await?.to_string().into());
        }
        set(m, "discovered", self.discovered);
        required(create, m, "switch_id", "--switch")
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct HardwareFields {
    #[arg(long)]
    pub model: Option<String>,
}

impl HardwareFields {
    pub async fn fill(&self, _c: &Client, m: &mut Map<String, Value>, _create: bool) -> anyhow::Result<()> {
        set(m, "model", self.model.clone());
        Ok(())
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct CardFields {
    /// Hardware this card is fitted to (name or id); repeat for several. Replaces the list.
    #[arg(long)]
    pub hardware: Vec<String>,
    /// NIC and its labels, NIC:LABEL,LABEL (e.g. ens1f0:sriov,physnet1); repeat. Replaces the map.
    #[arg(long = "interface", value_parser = parse_interface)]
    pub interfaces: Vec<Value>,
}

impl CardFields {
    pub async fn fill(&self, c: &Client, m: &mut Map<String, Value>, _create: bool) -> anyhow::Result<()> {
        if !self.hardware.is_empty() {
            m.insert("hardware_ids".into(), ids(c, Kind::Hardware, &self.hardware).await?);
        }
        if !self.interfaces.is_empty() {
            m.insert("interface_map".into(), Value::Array(self.interfaces.clone()));
        }
        Ok(())
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct NodeProfileFields {
    /// Hardware (name or id); repeat for several. Replaces the list.
    #[arg(long)]
    pub hardware: Vec<String>,
}

impl NodeProfileFields {
    pub async fn fill(&self, c: &Client, m: &mut Map<String, Value>, _create: bool) -> anyhow::Result<()> {
        if !self.hardware.is_empty() {
            m.insert("hardware_ids".into(), ids(c, Kind::Hardware, &self.hardware).await?);
        }
        Ok(())
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct NodeFields {
    /// The node profile (name or id).
    #[arg(long)]
    pub profile: Option<String>,
    /// compute or baremetal.
    #[arg(long = "type")]
    pub node_type: Option<String>,
    /// Another name orchestrators use for this host; repeat. Replaces the list.
    #[arg(long = "alias")]
    pub aliases: Vec<String>,
    /// Cabling NIC=SWITCH:PORT[@MAC]; repeat. Replaces the node's ports.
    #[arg(long = "port", value_parser = parse_port)]
    pub ports: Vec<PortFlag>,
    /// Remove every port (on update).
    #[arg(long, conflicts_with = "ports")]
    pub clear_ports: bool,
}

impl NodeFields {
    pub async fn fill(&self, c: &Client, m: &mut Map<String, Value>, _create: bool) -> anyhow::Result<()> {
        if let Some(p) = &self.profile {
            m.insert("node_profile_id".into(), c.resolve(Kind::NodeProfile, p).await?.to_string().into());
        }
        set(m, "type", self.node_type.clone());
        if !self.aliases.is_empty() {
            m.insert("aliases".into(), json!(self.aliases));
        }
        if self.clear_ports {
            m.insert("ports".into(), json!([]));
        }
        if !self.ports.is_empty() {
            let mut ports = Vec::new();
            for p in &self.ports {
                let sw = c.resolve(Kind::Switch, &p.switch).await?;
                let mut o = json!({ "name": p.nic, "switch_id": sw.to_string(), "switch_port": p.port });
                if let Some(mac) = &p.mac {
                    o["mac"] = mac.clone().into();
                }
                ports.push(o);
            }
            m.insert("ports".into(), Value::Array(ports));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_parsers() {
        assert_eq!(parse_range("100-200").unwrap(), json!([100, 200]));
        assert!(parse_range("100").is_err());
        assert_eq!(parse_interface("ens1f0:sriov,physnet1").unwrap(), json!({"name": "ens1f0", "labels": ["sriov", "physnet1"]}));
        assert_eq!(parse_interface("ens2").unwrap(), json!({"name": "ens2", "labels": []}));
        let p = parse_port("ens1f0=leaf1:Ethernet1/1@fa:16:3e:00:00:01").unwrap();
        assert_eq!((p.nic.as_str(), p.switch.as_str(), p.port.as_str()), ("ens1f0", "leaf1", "Ethernet1/1"));
        assert_eq!(p.mac.as_deref(), Some("fa:16:3e:00:00:01"));
        assert!(parse_port("ens1f0=leaf1").is_err());
        assert!(parse_port("=leaf1:swp1").is_err());
    }
}
