//! LLDP (IEEE 802.1AB) as a source of cabling: what a server's NICs see at
//! the other end of their cables. Two inputs, one result ([`Neighbor`]):
//!
//! - the JSON that `lldpcli show neighbors details` prints with `-f json`
//!   (shapes vary with the number of interfaces and whether the chassis has
//!   a name) or `-f json0` (always lists), as an lldpd agent on the server
//!   reports it;
//! - raw LLDPDUs (an Ethernet frame with ethertype `0x88cc`, optionally
//!   802.1Q-tagged, or the bare LLDPDU), as a capture agent reports them.
//!
//! Both decoders are pure and total: any input gives a value or a
//! [`LldpError`] that says where and why, never a panic (fuzzed).

use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;
use stitch_model::MacAddr;

/// Why an LLDP input was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{context}: {message}")]
pub struct LldpError {
    /// Where: a byte offset (`byte 14`) or a JSON path (`lldp.interface[1]`).
    pub context: String,
    pub message: String,
}

fn err(context: impl Into<String>, message: impl Into<String>) -> LldpError {
    LldpError { context: context.into(), message: message.into() }
}

/// How the neighbor identifies its port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PortIdKind {
    /// An interface name (`ifname`): the switch port's name.
    Ifname,
    /// Locally assigned (often the name as well).
    Local,
    /// A MAC address: the name is then in the port description.
    Mac,
    Other,
}

/// One neighbor seen on one local interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Neighbor {
    /// The local interface (the server's NIC) the neighbor was seen on.
    pub local_port: String,
    /// `SysName` of the neighbor (a switch's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_name: Option<String>,
    /// The chassis id when it is a MAC address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chassis_mac: Option<MacAddr>,
    /// Management addresses (link-local ones left out).
    pub management_ips: Vec<IpAddr>,
    pub port_id: String,
    pub port_id_kind: PortIdKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_description: Option<String>,
}

impl Neighbor {
    /// The neighbor's port name as an inventory would spell it: the port id
    /// when it is a name, else the port description.
    pub fn port_name(&self) -> Option<&str> {
        match self.port_id_kind {
            PortIdKind::Ifname | PortIdKind::Local if !self.port_id.is_empty() => Some(&self.port_id),
            _ => self.port_description.as_deref().filter(|d| !d.is_empty()),
        }
    }
}

fn useful_ip(s: &str) -> Option<IpAddr> {
    let ip: IpAddr = s.parse().ok()?;
    match ip {
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => None,
        IpAddr::V4(v4) if v4.is_link_local() => None,
        _ => Some(ip),
    }
}

fn kind_of(t: &str) -> PortIdKind {
    match t {
        "ifname" => PortIdKind::Ifname,
        "local" => PortIdKind::Local,
        "mac" => PortIdKind::Mac,
        _ => PortIdKind::Other,
    }
}

// ------------------------------------------------------------------ lldpcli JSON

/// The neighbors in `lldpcli -f json` or `-f json0` output.
pub fn parse_lldpcli(v: &Value) -> Result<Vec<Neighbor>, LldpError> {
    let lldp = v.get("lldp").ok_or_else(|| err("(top)", "not lldpcli output: no \"lldp\" key"))?;
    match lldp {
        Value::Array(_) => parse_json0(lldp),
        Value::Object(m) => match m.get("interface") {
            None => Ok(Vec::new()), // no neighbors
            Some(i) => parse_json(i),
        },
        _ => Err(err("lldp", "expected an object or a list")),
    }
}

/// `-f json`: `interface` is `{name: {...}}` for one, `[{name: {...}}, ...]` for many.
fn parse_json(interfaces: &Value) -> Result<Vec<Neighbor>, LldpError> {
    let entries: Vec<(&String, &Value)> = match interfaces {
        Value::Object(m) => m.iter().collect(),
        Value::Array(a) => {
            let mut out = Vec::new();
            for (i, e) in a.iter().enumerate() {
                let m = e.as_object().ok_or_else(|| err(format!("lldp.interface[{i}]"), "expected an object"))?;
                out.extend(m.iter());
            }
            out
        }
        _ => return Err(err("lldp.interface", "expected an object or a list")),
    };
    let mut out = Vec::new();
    for (name, e) in entries {
        let at = format!("lldp.interface.{name}");
        let chassis = e.get("chassis").and_then(Value::as_object).ok_or_else(|| err(&at, "no chassis"))?;
        // A named chassis is {name: {...}}; an unnamed one has its fields directly.
        let (system_name, c) = if chassis.contains_key("id") {
            (None, chassis)
        } else {
            let (n, c) = chassis.iter().next().ok_or_else(|| err(&at, "empty chassis"))?;
            (Some(n.clone()), c.as_object().ok_or_else(|| err(format!("{at}.chassis"), "expected an object"))?)
        };
        let port = e.get("port").and_then(Value::as_object).ok_or_else(|| err(&at, "no port"))?;
        let str_of = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let ips: Vec<&Value> = match c.get("mgmt-ip") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
            None => vec![],
        };
        let (pid_kind, pid) = id_pair(port.get("id"), &format!("{at}.port.id"))?;
        let chassis_mac = match id_pair(c.get("id"), &format!("{at}.chassis.id")) {
            Ok((t, v)) if t == "mac" => v.parse().ok(),
            _ => None,
        };
        out.push(Neighbor {
            local_port: name.clone(),
            system_name,
            chassis_mac,
            management_ips: ips.into_iter().filter_map(Value::as_str).filter_map(useful_ip).collect(),
            port_id: pid,
            port_id_kind: kind_of(&pid_kind),
            port_description: str_of(port.get("descr")),
        });
    }
    Ok(out)
}

fn id_pair(v: Option<&Value>, at: &str) -> Result<(String, String), LldpError> {
    let v = v.ok_or_else(|| err(at, "missing"))?;
    let v = match v {
        Value::Array(a) => a.first().ok_or_else(|| err(at, "empty list"))?,
        v => v,
    };
    let t = v.get("type").and_then(Value::as_str).ok_or_else(|| err(at, "no type"))?;
    let val = v.get("value").and_then(Value::as_str).ok_or_else(|| err(at, "no value"))?;
    Ok((t.to_string(), val.to_string()))
}

/// `-f json0`: every level is a list; leaf values are `[{"value": ...}]`.
fn parse_json0(lldp: &Value) -> Result<Vec<Neighbor>, LldpError> {
    let value0 = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.get("value").and_then(Value::as_str).map(str::to_string)).collect()).unwrap_or_default()
    };
    let mut out = Vec::new();
    for (i, top) in lldp.as_array().into_iter().flatten().enumerate() {
        let Some(interfaces) = top.get("interface") else { continue };
        let interfaces = interfaces.as_array().ok_or_else(|| err(format!("lldp[{i}].interface"), "expected a list"))?;
        for (j, e) in interfaces.iter().enumerate() {
            let at = format!("lldp[{i}].interface[{j}]");
            let name = e.get("name").and_then(Value::as_str).ok_or_else(|| err(&at, "no name"))?;
            let first = |k: &str| e.get(k).and_then(Value::as_array).and_then(|a| a.first()).ok_or_else(|| err(&at, format!("no {k}")));
            let (c, p) = (first("chassis")?, first("port")?);
            let (pid_kind, pid) = id_pair(p.get("id"), &format!("{at}.port.id"))?;
            let chassis_mac = match id_pair(c.get("id"), &format!("{at}.chassis.id")) {
                Ok((t, v)) if t == "mac" => v.parse().ok(),
                _ => None,
            };
            out.push(Neighbor {
                local_port: name.to_string(),
                system_name: value0(c.get("name")).into_iter().next(),
                chassis_mac,
                management_ips: value0(c.get("mgmt-ip")).iter().filter_map(|s| useful_ip(s)).collect(),
                port_id: pid,
                port_id_kind: kind_of(&pid_kind),
                port_description: value0(p.get("descr")).into_iter().next(),
            });
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ raw LLDPDUs

const ETHERTYPE_LLDP: u16 = 0x88cc;
const ETHERTYPE_VLAN: u16 = 0x8100;

/// The TLVs of one LLDPDU that matter for cabling.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lldpdu {
    /// Chassis ID subtype (4 = MAC address, 7 = locally assigned, ...) and value.
    pub chassis_id: (u8, Vec<u8>),
    /// Port ID subtype (5 = interface name, 7 = locally assigned, 3 = MAC, ...) and value.
    pub port_id: (u8, Vec<u8>),
    pub ttl: u16,
    pub port_description: Option<String>,
    pub system_name: Option<String>,
    pub management_addresses: Vec<IpAddr>,
}

impl Lldpdu {
    /// As a [`Neighbor`] seen on `local_port`.
    pub fn neighbor(&self, local_port: &str) -> Neighbor {
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim_end_matches('\0').to_string();
        let (kind, port_id) = match self.port_id.0 {
            5 => (PortIdKind::Ifname, text(&self.port_id.1)),
            7 => (PortIdKind::Local, text(&self.port_id.1)),
            3 if self.port_id.1.len() == 6 => (PortIdKind::Mac, MacAddr(self.port_id.1.clone().try_into().unwrap_or([0; 6])).to_string()),
            _ => (PortIdKind::Other, text(&self.port_id.1)),
        };
        let chassis_mac = match &self.chassis_id {
            (4, b) if b.len() == 6 => Some(MacAddr(b.as_slice().try_into().unwrap_or([0; 6]))),
            _ => None,
        };
        Neighbor {
            local_port: local_port.to_string(),
            system_name: self.system_name.clone(),
            chassis_mac,
            management_ips: self.management_addresses.iter().copied().filter(|ip| useful_ip(&ip.to_string()).is_some()).collect(),
            port_id,
            port_id_kind: kind,
            port_description: self.port_description.clone(),
        }
    }

    /// Encode as a bare LLDPDU (for tests and fuzz seeds).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut tlv = |t: u8, v: &[u8]| {
            let h = ((t as u16) << 9) | (v.len() as u16 & 0x1ff);
            out.extend_from_slice(&h.to_be_bytes());
            out.extend_from_slice(v);
        };
        let with_sub = |s: u8, v: &[u8]| [&[s][..], v].concat();
        tlv(1, &with_sub(self.chassis_id.0, &self.chassis_id.1));
        tlv(2, &with_sub(self.port_id.0, &self.port_id.1));
        tlv(3, &self.ttl.to_be_bytes());
        if let Some(d) = &self.port_description {
            tlv(4, d.as_bytes());
        }
        if let Some(n) = &self.system_name {
            tlv(5, n.as_bytes());
        }
        for ip in &self.management_addresses {
            let (sub, bytes) = match ip {
                IpAddr::V4(a) => (1u8, a.octets().to_vec()),
                IpAddr::V6(a) => (2u8, a.octets().to_vec()),
            };
            let mut v = vec![(bytes.len() + 1) as u8, sub];
            v.extend_from_slice(&bytes);
            v.extend_from_slice(&[1, 0, 0, 0, 0, 0]); // ifIndex numbering, interface 0, no OID
            tlv(8, &v);
        }
        tlv(0, &[]);
        out
    }
}

/// Decode an Ethernet frame carrying an LLDPDU (or a bare LLDPDU when
/// `frame` does not start with an Ethernet header of type 0x88cc).
pub fn decode_frame(frame: &[u8]) -> Result<Lldpdu, LldpError> {
    if frame.len() >= 14 {
        let mut off = 12;
        let mut ty = u16::from_be_bytes([frame[12], frame[13]]);
        if ty == ETHERTYPE_VLAN && frame.len() >= 18 {
            off = 16;
            ty = u16::from_be_bytes([frame[16], frame[17]]);
        }
        if ty == ETHERTYPE_LLDP {
            return decode_lldpdu(&frame[off + 2..]).map_err(|e| err(shift(&e.context, off + 2), e.message));
        }
    }
    decode_lldpdu(frame)
}

fn shift(context: &str, by: usize) -> String {
    match context.strip_prefix("byte ").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => format!("byte {}", n + by),
        None => context.to_string(),
    }
}

/// Decode a bare LLDPDU: Chassis ID, Port ID and TTL first and in that
/// order, then optional TLVs, then End. Unknown TLVs are skipped.
pub fn decode_lldpdu(b: &[u8]) -> Result<Lldpdu, LldpError> {
    let mut pdu = Lldpdu::default();
    let mut off = 0usize;
    let mut index = 0usize;
    loop {
        if off + 2 > b.len() {
            return Err(err(format!("byte {off}"), "truncated: no End of LLDPDU TLV"));
        }
        let h = u16::from_be_bytes([b[off], b[off + 1]]);
        let (t, len) = ((h >> 9) as u8, (h & 0x1ff) as usize);
        let at = format!("byte {off}");
        let v = b.get(off + 2..off + 2 + len).ok_or_else(|| err(&at, format!("TLV type {t} says {len} bytes, {} are left", b.len() - off - 2)))?;
        match (index, t) {
            (0, 1) | (1, 2) => {
                if v.len() < 2 || v.len() > 256 {
                    return Err(err(&at, format!("{} ID length {} is not between 2 and 256", if t == 1 { "chassis" } else { "port" }, v.len())));
                }
                let id = (v[0], v[1..].to_vec());
                if t == 1 { pdu.chassis_id = id } else { pdu.port_id = id }
            }
            (2, 3) => {
                if v.len() != 2 {
                    return Err(err(&at, format!("TTL length {} is not 2", v.len())));
                }
                pdu.ttl = u16::from_be_bytes([v[0], v[1]]);
            }
            (0..=2, _) => {
                let want = ["Chassis ID", "Port ID", "TTL"][index];
                return Err(err(&at, format!("TLV {} must be {want}, found type {t}", index + 1)));
            }
            (_, 0) => {
                if len != 0 {
                    return Err(err(&at, "End of LLDPDU TLV with a length"));
                }
                return Ok(pdu);
            }
            (_, 1..=3) => return Err(err(&at, format!("TLV type {t} repeated"))),
            (_, 4) => pdu.port_description = Some(text(v, &at)?),
            (_, 5) => pdu.system_name = Some(text(v, &at)?),
            (_, 8) => {
                if let Some(ip) = management_address(v, &at)? {
                    pdu.management_addresses.push(ip);
                }
            }
            _ => {} // system description, capabilities, organizationally specific, ...
        }
        off += 2 + len;
        index += 1;
    }
}

fn text(v: &[u8], at: &str) -> Result<String, LldpError> {
    std::str::from_utf8(v).map(|s| s.to_string()).map_err(|_| err(at, "not UTF-8 text"))
}

fn management_address(v: &[u8], at: &str) -> Result<Option<IpAddr>, LldpError> {
    let len = *v.first().ok_or_else(|| err(at, "empty management address"))? as usize;
    if !(2..=32).contains(&len) || v.len() < 1 + len {
        return Err(err(at, format!("management address length {len} does not fit")));
    }
    let (sub, a) = (v[1], &v[2..1 + len]);
    Ok(match (sub, a.len()) {
        (1, 4) => Some(IpAddr::from(<[u8; 4]>::try_from(a).unwrap_or_default())),
        (2, 16) => Some(IpAddr::from(<[u8; 16]>::try_from(a).unwrap_or_default())),
        _ => None, // other address families: not an IP
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_order_and_lengths_are_checked() {
        let ok = Lldpdu { chassis_id: (4, vec![2, 0, 0, 0, 0, 1]), port_id: (5, b"swp1".to_vec()), ttl: 120, ..Default::default() };
        let bytes = ok.encode();
        assert_eq!(decode_lldpdu(&bytes).unwrap(), ok);
        // Truncated anywhere: an error, never a panic.
        for n in 0..bytes.len() {
            assert!(decode_lldpdu(&bytes[..n]).is_err(), "prefix {n}");
        }
        // Port ID before Chassis ID.
        let mut swapped = bytes.clone();
        swapped[0] = 2 << 1;
        assert!(decode_lldpdu(&swapped).unwrap_err().message.contains("Chassis ID"));
    }
}
