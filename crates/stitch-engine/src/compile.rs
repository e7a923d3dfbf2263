//! `compile`: the desired content of every switch database, derived purely
//! from a snapshot (and the MACs switches have learned).
//!
//! Per OVSDB endpoint (one database, possibly several `Physical_Switch`
//! rows): a `Logical_Switch` per network present (name = network id,
//! `tunnel_key` = VNI, `source_node` replication), the VLAN bindings of
//! every group on its switches, a remote unicast MAC for every bound port
//! behind another VTEP, the `unknown-dst` flood list of the other VTEPs
//! carrying the network, and MACs learned by other switches.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use stitch_model::inventory::{Object, SwitchSpec};
use stitch_model::neutron::VpgSpec;
use stitch_model::{MacAddr, Snapshot, VecMap};
use stitch_vtep::{DesiredLogicalSwitch, DesiredVtep, Name, Owner, RemoteMac, ReplicationMode, UNKNOWN_DST, of_logical_switch};
use uuid::Uuid;

/// Identifies one OVSDB endpoint (one database). Switches with the same
/// `ovsdb` target share it; each passive switch is its own.
pub fn endpoint_key(sw: &Object<SwitchSpec>) -> String {
    sw.spec.endpoint_key()
}

/// MACs the switches learned (`Ucast_Macs_Local`), per endpoint:
/// (logical switch name, MAC) → the learning VTEP's tunnel IP.
pub type Learned = BTreeMap<String, BTreeMap<(String, MacAddr), IpAddr>>;

/// The logical switch name of a network.
pub fn ls_name(network: Uuid) -> String {
    network.to_string()
}

/// [`ls_name`] as a desired state's [`Name`]: the copy `d` already holds
/// when it has the logical switch (every map of a desired state then points
/// at one allocation per network), else a new one.
fn ls_key(d: &DesiredVtep, network: Uuid) -> Name {
    let mut buf = Uuid::encode_buffer();
    let s: &str = network.hyphenated().encode_lower(&mut buf);
    d.logical_switches.get_key_value(s).map_or_else(|| Name::from(s), |(k, _)| k.clone())
}

/// Every endpoint and the switches behind it.
pub fn endpoints(snap: &Snapshot) -> BTreeMap<String, Vec<Uuid>> {
    let mut m: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for sw in snap.switches.iter() {
        m.entry(endpoint_key(sw)).or_default().push(sw.id);
    }
    m
}

/// The desired state of every endpoint.
pub fn compile(snap: &Snapshot, learned: &Learned, owner: &Owner) -> BTreeMap<String, DesiredVtep> {
    endpoints(snap)
        .into_keys()
        .map(|k| {
            let d = compile_endpoint(snap, learned, owner, &k);
            (k, d)
        })
        .collect()
}

/// The switches of one endpoint: their ids and tunnel IPs.
struct Local {
    ids: BTreeSet<Uuid>,
    ips: BTreeSet<IpAddr>,
}

impl Local {
    fn of(snap: &Snapshot, key: &str) -> Local {
        let local: Vec<&Object<SwitchSpec>> = snap.switches_at_endpoint(key).collect();
        Local { ids: local.iter().map(|s| s.id).collect(), ips: local.iter().map(|s| s.spec.tunnel_ip).collect() }
    }
}

/// The desired state of one endpoint.
pub fn compile_endpoint(snap: &Snapshot, learned: &Learned, owner: &Owner, key: &str) -> DesiredVtep {
    compile_endpoint_checked(snap, learned, owner, key).0
}

/// [`compile_endpoint`], and whether it had to resolve a clash: groups of
/// two networks binding the same (switch port, VLAN), which the binding
/// engine refuses but stored state could still hold. The group with the
/// higher id wins, as a scan of every group in id order would have it; a
/// desired state with a clash cannot be patched ([`patch_endpoint`]).
pub fn compile_endpoint_checked(snap: &Snapshot, learned: &Learned, owner: &Owner, key: &str) -> (DesiredVtep, bool) {
    let mut d = DesiredVtep::empty(owner.clone());
    let local = Local::of(snap, key);
    let mut clash = false;

    // Networks present here, with their bindings: only the groups on this
    // endpoint's switches (by index), visited in id order so that clashing
    // bindings resolve as a scan of every group would.
    let mut here: Vec<&Object<VpgSpec>> = local.ids.iter().flat_map(|s| snap.vpgs_on_switch(*s)).collect();
    here.sort_by_key(|g| g.id);
    // Few switches, many groups: each switch is looked up once.
    let mut switch_names: BTreeMap<Uuid, Option<Name>> = BTreeMap::new();
    let mut nets: BTreeMap<Uuid, (u32, Name)> = BTreeMap::new();
    for g in &here {
        let sw = switch_names.entry(g.spec.switch_id).or_insert_with(|| snap.switches.get(&g.spec.switch_id).map(|s| Name::from(s.spec.name.as_str())));
        let Some(sw) = sw.clone() else { continue };
        let ls = match nets.get(&g.spec.network_id) {
            Some((_, ls)) => ls.clone(),
            None => {
                let Some(n) = snap.networks.get(&g.spec.network_id) else { continue };
                let ls = ls_key(&d, n.id);
                nets.insert(n.id, (n.spec.vni.get(), ls.clone()));
                ls
            }
        };
        for port in &g.spec.switch_ports {
            if d.port_bindings.insert(sw.clone(), Name::from(port.as_str()), g.spec.vlan, ls.clone()).is_some_and(|prev| prev != ls) {
                clash = true;
            }
        }
    }
    for (vni, ls) in nets.values() {
        d.logical_switches.insert(ls.clone(), logical_switch(*vni));
    }
    let nets: BTreeSet<Uuid> = nets.into_keys().collect();

    // Every group of those networks, wherever it is (by index): the work is
    // proportional to what this endpoint carries, not to the fabric.
    let bound = remote_macs(snap, nets.iter().flat_map(|n| snap.vpgs_of_network(*n)), &local.ids, &local.ips, &mut d);

    // MACs learned elsewhere, unless a binding says where the MAC lives.
    for n in &nets {
        learned_macs(learned, key, *n, &local, &bound, &mut d);
    }
    crate::acl::compile_acls(snap, here, &mut d);
    (d, clash)
}

/// The logical switch of a network with this VNI.
fn logical_switch(vni: u32) -> DesiredLogicalSwitch {
    let mut ls = DesiredLogicalSwitch::new(i64::from(vni));
    ls.replication_mode = Some(ReplicationMode::SourceNode);
    ls
}

/// Brings `d`, the desired state of endpoint `key` compiled from an
/// earlier snapshot, to what [`compile_endpoint`] gives for `snap`,
/// recompiling only the networks in `changed`: the caller guarantees that
/// nothing else `compile_endpoint` reads for this endpoint differs between
/// the two snapshots (the same switch generation and learned MACs, and
/// equal generations for every other network present; see
/// [`crate::fingerprint::EndpointInputs`]). Every entry of a network is
/// keyed by its logical switch name, so a network's part is removed and
/// rebuilt on its own; the work is proportional to the changed networks
/// (plus one walk over the port bindings, which are a few per network).
///
/// `changed` may name networks that are not present here, before or
/// after: they are skipped. Returns the networks whose part was rebuilt
/// (present before or after), or `None`, leaving `d` unspecified, when it
/// cannot patch: `d` holds ACLs (security groups are compiled across
/// networks), or a changed network's group clashes with another network's
/// on a (switch port, VLAN) — then compile from scratch. A property test
/// holds it to [`compile_endpoint`] over random histories.
pub fn patch_endpoint(snap: &Snapshot, learned: &Learned, key: &str, d: &mut DesiredVtep, changed: &BTreeSet<Uuid>) -> Option<BTreeSet<Uuid>> {
    if !d.acls.is_empty() {
        return None;
    }
    let local = Local::of(snap, key);
    // Present before (the desired state has its logical switch) or now.
    let changed: BTreeSet<Uuid> = changed
        .iter()
        .copied()
        .filter(|n| d.logical_switches.contains_key(ls_name(*n).as_str()) || local.ids.iter().any(|sw| snap.vpgs_on_switch_for(*sw, *n).next().is_some()))
        .collect();
    if changed.is_empty() {
        return Some(changed);
    }
    let names: BTreeSet<String> = changed.iter().map(|n| ls_name(*n)).collect();
    for ls in &names {
        let ls = ls.as_str();
        d.logical_switches.remove(ls);
        d.ucast_remote.remove(ls);
        let mcast: Vec<(Name, Name)> = of_logical_switch(&d.mcast_remote, ls).map(|(k, _)| k.clone()).collect();
        for k in mcast {
            d.mcast_remote.remove(&k);
        }
        d.port_bindings.remove_logical_switch(ls);
    }

    for n in &changed {
        let Some(net) = snap.networks.get(n) else { continue };
        let ls = ls_key(d, net.id);
        let mut here: Vec<&Object<VpgSpec>> = local.ids.iter().flat_map(|sw| snap.vpgs_on_switch_for(*sw, *n)).collect();
        here.sort_by_key(|g| g.id);
        let mut present = false;
        for g in here {
            let Some(sw) = snap.switches.get(&g.spec.switch_id) else { continue };
            if crate::acl::vpg_groups(snap, &g.spec).is_some() {
                return None;
            }
            present = true;
            for port in &g.spec.switch_ports {
                let prev = d.port_bindings.insert(Name::from(sw.spec.name.as_str()), Name::from(port.as_str()), g.spec.vlan, ls.clone());
                if prev.is_some_and(|p| p != ls) {
                    return None;
                }
            }
        }
        if !present {
            continue;
        }
        d.logical_switches.insert(ls.clone(), logical_switch(net.spec.vni.get()));
        let bound = remote_macs(snap, snap.vpgs_of_network(*n), &local.ids, &local.ips, d);
        learned_macs(learned, key, *n, &local, &bound, d);
    }
    Some(changed)
}

/// The MACs other endpoints' switches learned in network `net`, as remote
/// MACs here — unless a binding says where the MAC lives (`bound`) or the
/// learning VTEP is this endpoint's own. The first endpoint (in key order)
/// that learned a MAC gives its locator; entries already in `d` stay.
fn learned_macs(learned: &Learned, key: &str, net: Uuid, local: &Local, bound: &BTreeSet<(Uuid, MacAddr)>, d: &mut DesiredVtep) {
    if learned.keys().all(|ep| ep == key) {
        return;
    }
    let ls = ls_name(net);
    let mut found = Vec::new();
    for (_, macs) in learned.iter().filter(|(ep, _)| ep.as_str() != key) {
        for ((_, mac), ip) in of_logical_switch(macs, &ls) {
            if local.ips.contains(ip) || bound.contains(&(net, *mac)) {
                continue;
            }
            found.push((*mac, RemoteMac::at(*ip)));
        }
    }
    if !found.is_empty() {
        let had = d.ucast_remote.remove(ls.as_str()).unwrap_or_default();
        d.ucast_remote.insert(ls_key(d, net), first_wins(had.into_iter().chain(found)));
    }
}

/// A MAC map of `entries` where the first entry of a MAC wins.
fn first_wins(entries: impl Iterator<Item = (MacAddr, RemoteMac)>) -> VecMap<MacAddr, RemoteMac> {
    // Collecting keeps the last of equal keys: collect them backwards.
    entries.collect::<Vec<_>>().into_iter().rev().collect()
}

/// The remote unicast MACs and flood lists an endpoint (its switches
/// `local_ids`, its tunnel IPs `local_ips`) gets from `groups`: every group
/// of the networks present there. A port's MAC is advertised where it is
/// active and confirmed; while its new place is pending, where it is
/// draining from (see `bind::moves`). Returns every (network, MAC) a binding
/// places, so learned MACs never contradict one.
pub fn remote_macs<'a>(
    snap: &'a Snapshot,
    groups: impl Iterator<Item = &'a Object<VpgSpec>>,
    local_ids: &BTreeSet<Uuid>,
    local_ips: &BTreeSet<IpAddr>,
    d: &mut DesiredVtep,
) -> BTreeSet<(Uuid, MacAddr)> {
    // A network at a time, its groups in the order given: everything
    // below is a few entries per network, so small vectors do.
    let mut by_network: BTreeMap<Uuid, Vec<&Object<VpgSpec>>> = BTreeMap::new();
    for g in groups {
        by_network.entry(g.spec.network_id).or_default().push(g);
    }
    // Few switches, many groups: each switch is looked up once.
    let mut ips: BTreeMap<Uuid, Option<IpAddr>> = BTreeMap::new();
    let mut ip_of = |sw: &Uuid| *ips.entry(*sw).or_insert_with(|| snap.switches.get(sw).map(|s| s.spec.tunnel_ip));
    // Collected, then built into a set at once: an insert per port into
    // a set of every port here was a fifth of a compile (issue 8).
    let mut bound: Vec<(Uuid, MacAddr)> = Vec::new();
    let mut macs: Vec<(Uuid, MacAddr)> = Vec::new();
    // (port, index of the group in the network's list)
    let mut advertised: Vec<(Uuid, usize)> = Vec::new();
    let mut draining: Vec<(Uuid, usize)> = Vec::new();
    for (net, gs) in by_network {
        // The MACs of the network's ports, from the snapshot's index (one
        // range instead of a lookup per port in a big table); a member of
        // another network (none is, when stored through the engine) is
        // looked up.
        macs.clear();
        macs.extend(snap.port_macs_of_network(net));
        macs.sort_unstable_by_key(|(p, _)| *p);
        let mac_of = |p: &Uuid| match macs.binary_search_by_key(p, |(q, _)| *q) {
            Ok(i) => Some(macs[i].1),
            Err(_) => snap.ports.get(p).map(|o| o.spec.mac_address),
        };
        advertised.clear();
        draining.clear();
        let mut remotes: BTreeSet<IpAddr> = BTreeSet::new();
        for (i, g) in gs.iter().enumerate() {
            let s = &g.spec;
            for p in s.port_ids.iter().chain(&s.draining).chain(&s.standby) {
                if let Some(mac) = mac_of(p) {
                    bound.push((net, mac));
                }
            }
            advertised.extend(s.port_ids.iter().filter(|p| !s.pending.contains(p)).map(|p| (*p, i)));
            draining.extend(s.draining.iter().map(|p| (*p, i)));
            let Some(ip) = ip_of(&s.switch_id) else { continue };
            if !local_ids.contains(&s.switch_id) && !local_ips.contains(&ip) {
                remotes.insert(ip);
            }
        }
        // A port advertised by no group is advertised where it drains from.
        // (Stable sorts: a port's groups keep their order, and the first
        // one gives its locator.)
        advertised.sort_by_key(|(p, _)| *p);
        let before = advertised.len();
        for &(p, i) in &draining {
            if advertised[..before].binary_search_by_key(&p, |(q, _)| *q).is_err() {
                advertised.push((p, i));
            }
        }
        advertised.sort_by_key(|(p, _)| *p);
        let ls = ls_key(d, net);
        let mut here: Vec<(MacAddr, RemoteMac)> = d.ucast_remote.remove(&ls).unwrap_or_default().into_iter().collect();
        for &(p, i) in &advertised {
            let Some(mac) = mac_of(&p) else { continue };
            let g = gs[i];
            let Some(ip) = ip_of(&g.spec.switch_id) else { continue };
            if local_ids.contains(&g.spec.switch_id) || local_ips.contains(&ip) {
                continue;
            }
            here.push((mac, RemoteMac::at(ip)));
        }
        let here = first_wins(here.into_iter());
        if !here.is_empty() {
            d.ucast_remote.insert(ls.clone(), here);
        }
        if !remotes.is_empty() {
            d.mcast_remote.insert((ls, Name::new_static(UNKNOWN_DST)), remotes.into_iter().collect());
        }
    }
    bound.into_iter().collect()
}

/// Learned MACs that contradict a binding (the MAC is bound to a port
/// elsewhere): never spread, counted and logged by the caller.
pub fn contradicting(snap: &Snapshot, learned: &Learned) -> Vec<(String, String, MacAddr)> {
    learned.keys().flat_map(|ep| contradicting_at(snap, learned, ep)).collect()
}

/// [`contradicting`] for the MACs one endpoint learned: O(its learned MACs),
/// each looked up by (network, MAC) in the snapshot's index.
pub fn contradicting_at(snap: &Snapshot, learned: &Learned, key: &str) -> Vec<(String, String, MacAddr)> {
    let mut out = Vec::new();
    let Some(macs) = learned.get(key) else { return out };
    for ((ls, mac), ip) in macs {
        let Ok(net) = Uuid::try_parse(ls) else { continue };
        // Where bindings put this MAC: the switches of the groups whose
        // members carry it.
        let mut ips = BTreeSet::new();
        for p in snap.ports_with_mac(net, *mac) {
            // Where the port is or is leaving (a move in progress is no contradiction).
            for g in snap.vpgs_of_port(p.id).filter(|g| g.spec.network_id == net && (g.spec.port_ids.contains(&p.id) || g.spec.draining.contains(&p.id))) {
                if let Some(sw) = snap.switches.get(&g.spec.switch_id) {
                    ips.insert(sw.spec.tunnel_ip);
                }
            }
        }
        if !ips.is_empty() && !ips.contains(ip) {
            out.push((key.to_string(), ls.clone(), *mac));
        }
    }
    out
}
