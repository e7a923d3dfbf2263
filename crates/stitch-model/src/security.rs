//! Security groups (Neutron's `security-group` extension), stored as one
//! object per group with its rules inside: a rule has its own id (the
//! Neutron API serves `/v2.0/security-group-rules`), but it never lives
//! without its group, and the engine compiles a group as a whole.
//!
//! Only what a switch ACL can express is accepted (see
//! [`SecurityGroupRule::check`]): addresses as prefixes (`remote_ip_prefix`),
//! not as other groups (`remote_group_id` / `remote_address_group_id`
//! are refused).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ModelError;
use crate::inventory::Rules;

/// `direction` of a rule, relative to the VM (Neutron's meaning).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleDirection {
    /// Traffic to the VM.
    Ingress,
    /// Traffic from the VM.
    Egress,
}

impl RuleDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleDirection::Ingress => "ingress",
            RuleDirection::Egress => "egress",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ingress" => Some(RuleDirection::Ingress),
            "egress" => Some(RuleDirection::Egress),
            _ => None,
        }
    }
}

/// `ethertype` of a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EtherType {
    #[default]
    IPv4,
    IPv6,
}

impl EtherType {
    pub fn as_str(self) -> &'static str {
        match self {
            EtherType::IPv4 => "IPv4",
            EtherType::IPv6 => "IPv6",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "IPv4" => Some(EtherType::IPv4),
            "IPv6" => Some(EtherType::IPv6),
            _ => None,
        }
    }
}

/// An IP prefix `addr/len` (host bits allowed on input, as Neutron does;
/// [`Cidr::network`] masks them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/len`, `x::y/len`, or a bare address (a host route).
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().map_err(|_| format!("'{s}' is not a valid IP subnet"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| format!("'{s}' is not a valid IP subnet"))?,
        };
        Ok(Cidr { addr, len })
    }

    /// The prefix with its host bits cleared.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let m = if self.len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.len)) };
                IpAddr::V4((u32::from(a) & m).into())
            }
            IpAddr::V6(a) => {
                let m = if self.len == 0 { 0 } else { u128::MAX << (128 - u32::from(self.len)) };
                IpAddr::V6((u128::from(a) & m).into())
            }
        }
    }

    /// The mask as an address (`255.255.255.0`, `ffff:ffff::`).
    pub fn mask(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(_) => {
                let m = if self.len == 0 { 0 } else { u32::MAX << (32 - u32::from(self.len)) };
                IpAddr::V4(m.into())
            }
            IpAddr::V6(_) => {
                let m = if self.len == 0 { 0 } else { u128::MAX << (128 - u32::from(self.len)) };
                IpAddr::V6(m.into())
            }
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

/// IP protocol numbers Neutron accepts by name.
pub const PROTOCOL_NAMES: &[(&str, u8)] = &[
    ("ah", 51),
    ("dccp", 33),
    ("egp", 8),
    ("esp", 50),
    ("gre", 47),
    ("icmp", 1),
    ("icmpv6", 58),
    ("igmp", 2),
    ("ipip", 4),
    ("ipv6-encap", 41),
    ("ipv6-frag", 44),
    ("ipv6-icmp", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("ipv6-route", 43),
    ("ospf", 89),
    ("pgm", 113),
    ("rsvp", 46),
    ("sctp", 132),
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("vrrp", 112),
];

/// The protocol number of a name or a decimal number (0..=255).
pub fn protocol_number(s: &str) -> Option<u8> {
    PROTOCOL_NAMES.iter().find(|(n, _)| *n == s.to_ascii_lowercase()).map(|(_, p)| *p).or_else(|| s.parse().ok())
}

/// Whether a protocol carries ports the ACL can match.
pub fn has_ports(protocol: u8) -> bool {
    matches!(protocol, 6 | 17 | 33 | 132 | 136)
}

/// Whether a protocol is ICMP (v4 or v6): its "ports" are type and code.
pub fn is_icmp(protocol: u8) -> bool {
    matches!(protocol, 1 | 58)
}

/// One rule of a security group: what it permits (groups only permit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    pub id: Uuid,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub project_id: String,
    pub direction: RuleDirection,
    #[serde(default)]
    pub ethertype: EtherType,
    /// As given (a name or a number), `None` for any protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range_min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range_max: Option<u32>,
    /// As given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip_prefix: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl SecurityGroupRule {
    /// The protocol number (`None` = any). `icmp` on an IPv6 rule means
    /// ICMPv6, as Neutron's legacy spelling does.
    pub fn protocol_number(&self) -> Option<u8> {
        let p = self.protocol.as_deref().and_then(protocol_number)?;
        Some(if p == 1 && self.ethertype == EtherType::IPv6 { 58 } else { p })
    }

    /// The remote prefix, parsed.
    pub fn remote(&self) -> Option<Cidr> {
        self.remote_ip_prefix.as_deref().and_then(|s| Cidr::parse(s).ok())
    }

    /// Neutron's rule validation, for what Stitch stores.
    pub fn check(&self) -> Result<(), ModelError> {
        let proto = match self.protocol.as_deref() {
            None => None,
            Some(p) => Some(protocol_number(p).ok_or_else(|| {
                ModelError::invalid(
                    "protocol",
                    format!(
                        "Security group rule protocol {p} not supported. Only protocol values {} and integer representations [0 to 255] are supported",
                        PROTOCOL_NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?),
        };
        if let (EtherType::IPv4, Some(p @ (41 | 43 | 44 | 58 | 59 | 60))) = (self.ethertype, proto) {
            return Err(ModelError::invalid("ethertype", format!("Ethertype IPv4 conflicts with IPv6 protocol {p}; use ethertype IPv6")));
        }
        let proto = self.protocol_number().or(proto);
        let (min, max) = (self.port_range_min, self.port_range_max);
        match proto {
            Some(p) if has_ports(p) => {
                for (f, v) in [("port_range_min", min), ("port_range_max", max)] {
                    if let Some(v) = v.filter(|v| !(1..=65535).contains(v)) {
                        return Err(ModelError::invalid(f, format!("Invalid value for port {v}")));
                    }
                }
                match (min, max) {
                    (Some(a), Some(b)) if a > b => {
                        return Err(ModelError::invalid("port_range_min", "For TCP/UDP protocols, port_range_min must be <= port_range_max"));
                    }
                    (None, Some(_)) => {
                        return Err(ModelError::invalid("port_range_min", "port_range_max given without port_range_min"));
                    }
                    _ => {}
                }
            }
            Some(p) if is_icmp(p) => {
                if let Some(v) = min.filter(|v| *v > 255) {
                    return Err(ModelError::invalid("port_range_min", format!("Invalid value for ICMP type {v}")));
                }
                if let Some(v) = max.filter(|v| *v > 255) {
                    return Err(ModelError::invalid("port_range_max", format!("Invalid value for ICMP code {v}")));
                }
                if min.is_none() && max.is_some() {
                    return Err(ModelError::invalid("port_range_min", "ICMP code (port_range_max) given without ICMP type"));
                }
            }
            _ => {
                if min.is_some() || max.is_some() {
                    return Err(ModelError::invalid("port_range_min", "port ranges need protocol tcp, udp, dccp, sctp or udplite (or icmp type/code)"));
                }
            }
        }
        if let Some(s) = &self.remote_ip_prefix {
            let c = Cidr::parse(s).map_err(|m| ModelError::invalid("remote_ip_prefix", m))?;
            if c.addr.is_ipv4() != (self.ethertype == EtherType::IPv4) {
                return Err(ModelError::invalid("remote_ip_prefix", format!("Conflicting value ethertype {} for CIDR {s}", self.ethertype.as_str())));
            }
        }
        Ok(())
    }

    /// What makes two rules the same rule (Neutron's
    /// `SecurityGroupRuleExists`): everything but id, description, time.
    pub fn same_as(&self, o: &SecurityGroupRule) -> bool {
        self.direction == o.direction
            && self.ethertype == o.ethertype
            && self.protocol_number() == o.protocol_number()
            && self.port_range_min == o.port_range_min
            && self.port_range_max == o.port_range_max
            && self.remote().map(|c| c.to_string()) == o.remote().map(|c| c.to_string())
    }
}

/// A security group: a named set of permit rules, applied to the ports
/// that list it in `security_groups`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub rules: Vec<SecurityGroupRule>,
}

impl Rules for SecurityGroupSpec {
    fn check(&self) -> Result<(), ModelError> {
        let mut ids = std::collections::BTreeSet::new();
        for (i, r) in self.rules.iter().enumerate() {
            r.check().map_err(|e| e.within(&format!("rules[{i}]")))?;
            if !ids.insert(r.id) {
                return Err(ModelError::invalid(format!("rules[{i}].id"), format!("rule id {} is used twice", r.id)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.1.2.3/16").unwrap();
        assert_eq!(c.to_string(), "10.1.0.0/16");
        assert_eq!(c.mask().to_string(), "255.255.0.0");
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().mask().to_string(), "0.0.0.0");
        assert_eq!(Cidr::parse("2001:db8::1/32").unwrap().to_string(), "2001:db8::/32");
        assert_eq!(Cidr::parse("2001:db8::1/32").unwrap().mask().to_string(), "ffff:ffff::");
        assert_eq!(Cidr::parse("10.0.0.1").unwrap().len, 32);
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "::/129", "10.0.0.0/"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn icmp_on_ipv6_is_icmpv6_and_ipv6_protocols_need_ipv6() {
        let r = |ethertype, p: &str| SecurityGroupRule {
            id: Uuid::nil(),
            description: String::new(),
            project_id: String::new(),
            direction: RuleDirection::Ingress,
            ethertype,
            protocol: Some(p.into()),
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        assert_eq!(r(EtherType::IPv6, "icmp").protocol_number(), Some(58));
        assert!(r(EtherType::IPv6, "icmp").check().is_ok());
        assert_eq!(r(EtherType::IPv4, "icmp").protocol_number(), Some(1));
        assert!(r(EtherType::IPv4, "ipv6-icmp").check().is_err());
        assert!(r(EtherType::IPv6, "ipv6-icmp").check().is_ok());
    }

    #[test]
    fn protocols() {
        assert_eq!(protocol_number("TCP"), Some(6));
        assert_eq!(protocol_number("ipv6-icmp"), Some(58));
        assert_eq!(protocol_number("200"), Some(200));
        assert_eq!(protocol_number("256"), None);
        assert_eq!(protocol_number("tcpx"), None);
    }
}
