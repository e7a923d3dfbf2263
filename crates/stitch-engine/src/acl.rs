//! Security groups on switches: the ports of one (switch port, VLAN) share
//! one `hardware_vtep` ACL, compiled from their security groups.
//!
//! Semantics (the schema's ACLs are stateless and permit by default):
//!
//! * `direction` in an ACL entry is relative to the logical switch: a
//!   rule for traffic *to* the VM (Neutron `ingress`) is an ACL `egress`
//!   entry, a rule for traffic *from* the VM (Neutron `egress`) an ACL
//!   `ingress` entry.
//! * Every rule is a permit; the ACL ends with explicit denies of all IPv4
//!   and all IPv6 in both directions (sequences 65000..65003). Non-IP
//!   frames (ARP, LLDP) are not denied: groups filter IP, as in Neutron.
//! * Return traffic, which a stateful group would track, is permitted by a
//!   *mirror* of every rule, in the other direction with addresses and
//!   ports swapped: for TCP only segments with ACK set (so no new
//!   connection can be opened that way); UDP, SCTP and other protocols
//!   as they are (a stateless switch cannot tell a reply from a new
//!   flow); ICMP echo rules get echo replies, ICMP rules without a type
//!   get all ICMP back. A rule for any protocol is mirrored as TCP-with-ACK,
//!   UDP and ICMP of its family. So with Neutron's default egress-allow
//!   rules a VM receives TCP replies, any UDP and any ICMP, and no new TCP
//!   connection unless an ingress rule allows it.
//! * One binding covers every VF of the network behind the PF: all ports
//!   of one (switch port, VLAN) must have the same set of groups; a port
//!   that would differ is refused at bind time ([`check_port`]) with a
//!   409 naming the other port.
//! * A port that lists no group has its port profile's default groups
//!   ([`crate::profile`]). A port without groups contributes no ACL; if no port of a
//!   (switch port, VLAN) has groups, nothing is bound there.

use std::collections::BTreeSet;

use stitch_model::Snapshot;
use stitch_model::inventory::Object;
use stitch_model::neutron::{PortSpec, VpgSpec};
use stitch_model::security::{EtherType, RuleDirection, SecurityGroupRule, has_ports, is_icmp};
use stitch_vtep::rows::AclEntry;
use stitch_vtep::{DesiredAcl, DesiredVtep};
use uuid::Uuid;

use crate::EngineError;
use crate::bind::Attachment;

/// Namespace of ACL keys derived from a set of groups.
const ACL_NAMESPACE: Uuid = Uuid::from_u128(0x5717_c4a7_0000_4000_8000_0000_0000_00ac);

/// First sequence number of the final denies.
pub const DENY_SEQUENCE: i64 = 65000;

const TCP_ACK: i64 = 0x10;

/// A port's security groups as ids (unparseable ones are refused by
/// [`check_port`], so never seen here); a port that lists none has its
/// port profile's.
fn groups_of(snap: &Snapshot, p: &PortSpec) -> BTreeSet<Uuid> {
    if p.security_groups.is_empty() {
        if let Some(prof) = crate::profile::resolve(snap, p).ok().flatten() {
            return prof.spec.security_groups.iter().copied().collect();
        }
    }
    p.security_groups.iter().filter_map(|s| Uuid::try_parse(s).ok()).collect()
}

/// The ACL key of a set of groups (same set, same ACL rows).
pub fn acl_key(groups: &BTreeSet<Uuid>) -> String {
    let joined: Vec<String> = groups.iter().map(ToString::to_string).collect();
    format!("sg-{}", Uuid::new_v5(&ACL_NAMESPACE, joined.join(",").as_bytes()))
}

/// Refuse a port whose groups do not exist (404 `SecurityGroupNotFound`)
/// or differ from those of another port bound on one of the same
/// (switch port, VLAN) pairs (409, naming that port).
pub fn check_port(snap: &Snapshot, port: &Object<PortSpec>, atts: &[Attachment]) -> Result<(), EngineError> {
    for s in &port.spec.security_groups {
        let found = Uuid::try_parse(s).ok().and_then(|id| snap.security_groups.get(&id));
        if found.is_none() {
            return Err(EngineError::NotFound { kind: "SecurityGroupNotFound", message: format!("Security group {s} does not exist") });
        }
    }
    let mine = groups_of(snap, &port.spec);
    for a in atts {
        // The groups with this VLAN on these switch ports (by index, in id
        // order as a scan of every group would visit them).
        let near: BTreeSet<Uuid> = a.switch_ports.iter().flat_map(|p| snap.vpgs_on_switch_port_with_vlan(a.switch_id, p, a.vlan)).map(|g| g.id).collect();
        for g in near.iter().filter_map(|id| snap.vpgs.get(id)) {
            for other in g.spec.port_ids.iter().filter(|p| **p != port.id).filter_map(|p| snap.ports.get(p)) {
                let theirs = groups_of(snap, &other.spec);
                if theirs != mine {
                    let sw = snap.switches.get(&a.switch_id).map_or("?", |s| s.spec.name.as_str());
                    return Err(EngineError::Conflict(format!(
                        "port {} would share switch {sw:?} port {} VLAN {} with port {} whose security groups differ ({} vs {}): one switch ACL covers every VF of a network behind a PF, so all ports there need the same security groups",
                        port.id,
                        a.switch_ports.join("+"),
                        a.vlan,
                        other.id,
                        fmt_set(&mine),
                        fmt_set(&theirs)
                    )));
                }
            }
        }
    }
    Ok(())
}

fn fmt_set(s: &BTreeSet<Uuid>) -> String {
    let v: Vec<String> = s.iter().map(ToString::to_string).collect();
    format!("[{}]", v.join(", "))
}

/// Adds the ACLs of `here`, the groups bound on an endpoint's switches, to `d`.
pub fn compile_acls<'a>(snap: &Snapshot, here: impl IntoIterator<Item = &'a Object<VpgSpec>>, d: &mut DesiredVtep) {
    for g in here {
        let Some(groups) = vpg_groups(snap, &g.spec) else { continue };
        let Some(sw) = snap.switches.get(&g.spec.switch_id) else { continue };
        let key = acl_key(&groups);
        let acl = d.acls.entry(key).or_insert_with(|| DesiredAcl::new(entries(snap, &groups)));
        for p in &g.spec.switch_ports {
            acl.bindings.insert((sw.spec.name.clone(), p.clone(), g.spec.vlan));
        }
    }
}

/// The groups of a virtual port group's ports, or `None` if they have
/// none. Its bound ports decide (they agree, see [`check_port`]); only
/// when none is bound there do the ports draining from it (a move not yet
/// confirmed elsewhere) keep theirs, and then the ports with an inactive
/// (standby) binding there: a live-migration target is filtered before
/// it is activated. If stored state disagrees anyway, the lowest port id
/// decides, deterministically.
pub(crate) fn vpg_groups(snap: &Snapshot, g: &VpgSpec) -> Option<BTreeSet<Uuid>> {
    // The stored port with the lowest id decides (tried in id order: the
    // first is nearly always stored, so one lookup in the port table).
    let pick = |ids: &[Uuid]| {
        let first = ids.iter().min().and_then(|p| snap.ports.get(p));
        let port = first.or_else(|| {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.iter().find_map(|p| snap.ports.get(p))
        });
        port.map(|p| groups_of(snap, &p.spec))
    };
    pick(&g.port_ids).or_else(|| pick(&g.draining)).or_else(|| pick(&g.standby)).filter(|s| !s.is_empty())
}

/// Every entry of the ACL for a set of groups: permits, their mirrors,
/// then the final denies. Deterministic.
pub fn entries(snap: &Snapshot, groups: &BTreeSet<Uuid>) -> Vec<AclEntry> {
    let mut permits: BTreeSet<AclEntry> = BTreeSet::new();
    for r in groups.iter().filter_map(|g| snap.security_groups.get(g)).flat_map(|g| g.spec.rules.iter()) {
        permits.insert(forward(r));
        permits.extend(mirrors(r));
    }
    let mut out: Vec<AclEntry> = permits.into_iter().enumerate().map(|(i, e)| AclEntry { sequence: 100 + i as i64, ..e }).collect();
    let mut seq = DENY_SEQUENCE;
    for dir in ["ingress", "egress"] {
        for fam in [EtherType::IPv4, EtherType::IPv6] {
            let (ip, mask) = any(fam);
            out.push(AclEntry {
                sequence: seq,
                direction: dir.into(),
                action: "deny".into(),
                source_ip: Some(ip),
                source_mask: Some(mask),
                ..Default::default()
            });
            seq += 1;
        }
    }
    out
}

/// The all-addresses prefix of a family, as (ip, mask).
fn any(fam: EtherType) -> (String, String) {
    match fam {
        EtherType::IPv4 => ("0.0.0.0".into(), "0.0.0.0".into()),
        EtherType::IPv6 => ("::".into(), "::".into()),
    }
}

fn prefix(r: &SecurityGroupRule) -> (String, String) {
    match r.remote() {
        Some(c) => (c.network().to_string(), c.mask().to_string()),
        None => any(r.ethertype),
    }
}

/// ACL direction of traffic to the VM / from the VM.
fn acl_dir(to_vm: bool) -> String {
    if to_vm { "egress" } else { "ingress" }.into()
}

/// An entry between the VM and the rule's remote prefix: `to_vm` says
/// which way; `remote_ports`/`vm_ports` are the port ranges on each side.
fn between(r: &SecurityGroupRule, to_vm: bool, protocol: Option<u8>, remote_ports: Option<(u32, u32)>, vm_ports: Option<(u32, u32)>) -> AclEntry {
    let (ip, mask) = prefix(r);
    let mut e = AclEntry { direction: acl_dir(to_vm), action: "permit".into(), protocol: protocol.map(i64::from), ..Default::default() };
    let (src_ports, dst_ports) = if to_vm {
        e.source_ip = Some(ip);
        e.source_mask = Some(mask);
        (remote_ports, vm_ports)
    } else {
        e.dest_ip = Some(ip);
        e.dest_mask = Some(mask);
        (vm_ports, remote_ports)
    };
    if let Some((a, b)) = src_ports {
        e.source_port_min = Some(a.into());
        e.source_port_max = Some(b.into());
    }
    if let Some((a, b)) = dst_ports {
        e.dest_port_min = Some(a.into());
        e.dest_port_max = Some(b.into());
    }
    e
}

fn range(r: &SecurityGroupRule) -> Option<(u32, u32)> {
    r.port_range_min.map(|a| (a, r.port_range_max.unwrap_or(a)))
}

/// The rule itself. Ports: for traffic to the VM the range is the VM's
/// (destination) port; from the VM, the remote's (destination) port.
fn forward(r: &SecurityGroupRule) -> AclEntry {
    let to_vm = r.direction == RuleDirection::Ingress;
    let proto = r.protocol_number();
    match proto {
        Some(p) if has_ports(p) => {
            let (remote, vm) = if to_vm { (None, range(r)) } else { (range(r), None) };
            between(r, to_vm, proto, remote, vm)
        }
        Some(p) if is_icmp(p) => {
            let mut e = between(r, to_vm, proto, None, None);
            e.icmp_type = r.port_range_min.map(i64::from);
            e.icmp_code = r.port_range_max.map(i64::from);
            e
        }
        _ => between(r, to_vm, proto, None, None),
    }
}

/// The stateless stand-ins for the replies to what the rule permits.
fn mirrors(r: &SecurityGroupRule) -> Vec<AclEntry> {
    let to_vm = r.direction == RuleDirection::Ingress;
    let back = !to_vm;
    let icmp = if r.ethertype == EtherType::IPv4 { 1u8 } else { 58 };
    let ack = |mut e: AclEntry| {
        e.tcp_flags = Some(TCP_ACK);
        e.tcp_flags_mask = Some(TCP_ACK);
        e
    };
    match r.protocol_number() {
        None => vec![ack(between(r, back, Some(6), None, None)), between(r, back, Some(17), None, None), between(r, back, Some(icmp), None, None)],
        Some(p) if has_ports(p) => {
            // The reply comes from the port the request went to.
            let (remote, vm) = if to_vm { (None, range(r)) } else { (range(r), None) };
            let e = between(r, back, Some(p), remote, vm);
            if p == 6 { vec![ack(e)] } else { vec![e] }
        }
        Some(p) if is_icmp(p) => match (r.port_range_min, p) {
            (None, _) => vec![between(r, back, Some(p), None, None)],
            (Some(8), 1) | (Some(128), 58) => {
                let mut e = between(r, back, Some(p), None, None);
                e.icmp_type = Some(if p == 1 { 0 } else { 129 });
                vec![e]
            }
            _ => vec![],
        },
        Some(p) => vec![between(r, back, Some(p), None, None)],
    }
}
