//! Validated network values. Each parses from the textual form operators type
//! and refuses anything else with a message that says what was expected.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;

/// An Ethernet MAC address, printed as lowercase `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid MAC address {s:?}: expected six hex octets like fa:16:3e:00:00:01");
        let sep = if s.contains(':') { ':' } else { '-' };
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(sep) {
            if n == 6 || part.len() != 2 {
                return Err(bad());
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
            n += 1;
        }
        if n != 6 {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

/// An 802.1Q VLAN id usable on a port: 1..=4094.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct VlanId(u16);

impl VlanId {
    pub const MIN: u16 = 1;
    pub const MAX: u16 = 4094;
    pub fn new(v: i64) -> Result<Self, String> {
        if (Self::MIN as i64..=Self::MAX as i64).contains(&v) { Ok(VlanId(v as u16)) } else { Err(format!("invalid VLAN {v}: must be between 1 and 4094")) }
    }
    pub fn get(self) -> u16 {
        self.0
    }
}

/// A VXLAN network identifier: 1..=16777215 (24 bits, 0 reserved).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Vni(u32);

impl Vni {
    pub const MIN: u32 = 1;
    /// The lowest VNI (a placeholder before allocation).
    pub const LOWEST: Vni = Vni(Vni::MIN);
    pub const MAX: u32 = 16_777_215;
    pub fn new(v: i64) -> Result<Self, String> {
        if (Self::MIN as i64..=Self::MAX as i64).contains(&v) { Ok(Vni(v as u32)) } else { Err(format!("invalid VNI {v}: must be between 1 and 16777215")) }
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

macro_rules! int_newtype_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = i64::deserialize(d)?;
                <$t>::new(v).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
int_newtype_serde!(VlanId);
int_newtype_serde!(Vni);

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive range `[first, last]`, serialized as a two-element array.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Range<T> {
    pub first: T,
    pub last: T,
}

impl<T: Ord + Copy> Range<T> {
    pub fn contains(&self, v: T) -> bool {
        self.first <= v && v <= self.last
    }
    /// True when `inner` lies entirely within `self`.
    pub fn covers(&self, inner: &Range<T>) -> bool {
        self.first <= inner.first && inner.last <= self.last
    }
}

impl<T: Serialize> Serialize for Range<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (&self.first, &self.last).serialize(s)
    }
}

impl<'de, T: Deserialize<'de> + Ord + fmt::Display> Deserialize<'de> for Range<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<T> = Vec::deserialize(d)?;
        let [first, last]: [T; 2] = v.try_into().map_err(|_| serde::de::Error::custom("a range is a two-element array [first, last]"))?;
        if first > last {
            return Err(serde::de::Error::custom(format!("reversed range [{first}, {last}]: first must not exceed last")));
        }
        Ok(Range { first, last })
    }
}

/// Where Stitch reaches a switch's hardware_vtep database.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OvsdbTarget {
    Unix(String),
    Tcp(SocketAddr),
    Ssl(SocketAddr),
    /// The switch connects in to Stitch's `--ovsdb-listen` socket.
    Passive,
}

impl FromStr for OvsdbTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid OVSDB target {s:?}: expected unix:PATH, tcp:IP:PORT, ssl:IP:PORT or passive");
        if s == "passive" {
            return Ok(OvsdbTarget::Passive);
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        let sock = |rest: &str| -> Result<SocketAddr, String> {
            // Accept both 10.0.0.1:6640 and OVS's [v6]:port form.
            rest.parse::<SocketAddr>().map_err(|_| bad())
        };
        match scheme {
            "unix" if !rest.is_empty() => Ok(OvsdbTarget::Unix(rest.to_string())),
            "tcp" => Ok(OvsdbTarget::Tcp(sock(rest)?)),
            "ssl" => Ok(OvsdbTarget::Ssl(sock(rest)?)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for OvsdbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OvsdbTarget::Unix(p) => write!(f, "unix:{p}"),
            OvsdbTarget::Tcp(a) => write!(f, "tcp:{a}"),
            OvsdbTarget::Ssl(a) => write!(f, "ssl:{a}"),
            OvsdbTarget::Passive => f.write_str("passive"),
        }
    }
}

impl Serialize for OvsdbTarget {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for OvsdbTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Parse an IP address, naming the field when it is malformed.
pub fn parse_ip(field: &str, s: &str) -> Result<IpAddr, FieldError> {
    s.parse().map_err(|_| FieldError::new(field, format!("invalid IP address {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trip_and_rejects() {
        let m: MacAddr = "FA:16:3E:00:0a:01".parse().unwrap();
        assert_eq!(m.to_string(), "fa:16:3e:00:0a:01");
        assert_eq!("fa-16-3e-00-0a-01".parse::<MacAddr>().unwrap(), m);
        for bad in ["", "fa:16:3e:00:0a", "fa:16:3e:00:0a:01:02", "fa:16:3e:00:0a:zz", "fa163e000a01", "f:a16:3e:00:0a:01"] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn vlan_and_vni_bounds() {
        assert!(VlanId::new(0).is_err());
        assert_eq!(VlanId::new(1).unwrap().get(), 1);
        assert_eq!(VlanId::new(4094).unwrap().get(), 4094);
        assert!(VlanId::new(4095).is_err());
        assert!(Vni::new(0).is_err());
        assert!(Vni::new(16_777_216).is_err());
        assert_eq!(Vni::new(16_777_215).unwrap().get(), 16_777_215);
    }

    #[test]
    fn ranges_parse_and_refuse_reversed() {
        let r: Range<VlanId> = serde_json::from_str("[100, 200]").unwrap();
        assert!(r.contains(VlanId::new(150).unwrap()));
        let e = serde_json::from_str::<Range<VlanId>>("[200, 100]").unwrap_err().to_string();
        assert!(e.contains("reversed"), "{e}");
        assert!(serde_json::from_str::<Range<VlanId>>("[1]").is_err());
        assert!(serde_json::from_str::<Range<VlanId>>("[0, 10]").is_err());
    }

    #[test]
    fn ovsdb_targets() {
        assert_eq!("unix:/run/x.sock".parse::<OvsdbTarget>().unwrap(), OvsdbTarget::Unix("/run/x.sock".into()));
        assert_eq!("tcp:127.0.0.1:6640".parse::<OvsdbTarget>().unwrap().to_string(), "tcp:127.0.0.1:6640");
        assert_eq!("passive".parse::<OvsdbTarget>().unwrap(), OvsdbTarget::Passive);
        for bad in ["tcp:1.2.3.4", "unix:", "http:1.2.3.4:80", "ssl:host:1"] {
            assert!(bad.parse::<OvsdbTarget>().is_err(), "{bad}");
        }
    }
}
