//! An immutable-by-clone view of every stored object, with the rules that keep
//! it consistent. Cloning is O(1) (persistent maps), so the API validates a
//! whole request against a private copy and the engine compiles from a copy
//! while writes go on.

use imbl::OrdMap;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ModelError;
use crate::index::Indexes;
use crate::inventory::*;
use crate::net::MacAddr;

mod table;
pub use table::Table;

/// A write to the model: store or replace an object, or delete one.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Put(AnyObject),
    Delete(Kind, Uuid),
}

/// Where new ids and the current time come from, so that validation stays pure.
pub trait Context {
    fn new_id(&mut self) -> Uuid;
    fn now(&self) -> OffsetDateTime;
}

/// The production context: random v4 ids and the wall clock.
#[derive(Debug, Default)]
pub struct SystemContext;

impl Context for SystemContext {
    fn new_id(&mut self) -> Uuid {
        Uuid::new_v4()
    }
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Every stored object, at one store revision.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The store revision this snapshot reflects.
    pub revision: u64,
    pub fabrics: Table<FabricSpec>,
    pub switches: Table<SwitchSpec>,
    pub switch_ports: Table<SwitchPortSpec>,
    pub hardware: Table<HardwareSpec>,
    pub cards: Table<CardSpec>,
    pub node_profiles: Table<NodeProfileSpec>,
    pub nodes: Table<NodeSpec>,
    pub networks: Table<NetworkSpec>,
    pub segments: Table<SegmentSpec>,
    pub ports: Table<PortSpec>,
    pub trunks: Table<TrunkSpec>,
    pub l2_gateways: Table<L2GatewaySpec>,
    pub vpgs: Table<VpgSpec>,
    pub l2gw_connections: Table<L2gwConnectionSpec>,
    pub security_groups: Table<SecurityGroupSpec>,
    pub qos_policies: Table<QosPolicySpec>,
    pub port_profiles: Table<PortProfileSpec>,
    /// The store revision at which each object (by id) was last written.
    pub mod_revisions: OrdMap<Uuid, u64>,
    /// Secondary indexes over the tables above (see [`crate::index`]).
    idx: Indexes,
}

macro_rules! each_kind {
    ($self:ident, $kind:expr, |$t:ident| $body:expr) => {
        match $kind {
            Kind::Fabric => {
                let $t = &$self.fabrics;
                $body
            }
            Kind::Switch => {
                let $t = &$self.switches;
                $body
            }
            Kind::SwitchPort => {
                let $t = &$self.switch_ports;
                $body
            }
            Kind::Hardware => {
                let $t = &$self.hardware;
                $body
            }
            Kind::Card => {
                let $t = &$self.cards;
                $body
            }
            Kind::NodeProfile => {
                let $t = &$self.node_profiles;
                $body
            }
            Kind::Node => {
                let $t = &$self.nodes;
                $body
            }
            Kind::Network => {
                let $t = &$self.networks;
                $body
            }
            Kind::Segment => {
                let $t = &$self.segments;
                $body
            }
            Kind::Port => {
                let $t = &$self.ports;
                $body
            }
            Kind::Trunk => {
                let $t = &$self.trunks;
                $body
            }
            Kind::L2Gateway => {
                let $t = &$self.l2_gateways;
                $body
            }
            Kind::VirtualPortGroup => {
                let $t = &$self.vpgs;
                $body
            }
            Kind::L2GatewayConnection => {
                let $t = &$self.l2gw_connections;
                $body
            }
            Kind::SecurityGroup => {
                let $t = &$self.security_groups;
                $body
            }
            Kind::QosPolicy => {
                let $t = &$self.qos_policies;
                $body
            }
            Kind::PortProfile => {
                let $t = &$self.port_profiles;
                $body
            }
        }
    };
}

impl Snapshot {
    pub fn table<S: Spec>(&self) -> &Table<S> {
        S::table(self)
    }

    pub fn contains(&self, kind: Kind, id: &Uuid) -> bool {
        each_kind!(self, kind, |t| t.get(id).is_some())
    }

    pub fn get_any(&self, kind: Kind, id: &Uuid) -> Option<AnyObject> {
        each_kind!(self, kind, |t| t.get(id).cloned().map(Spec::wrap))
    }

    /// All objects of a kind, ordered by id.
    pub fn list_any(&self, kind: Kind) -> Vec<AnyObject> {
        each_kind!(self, kind, |t| t.iter().cloned().map(Spec::wrap).collect())
    }

    /// Find an object by name (global names only; switch ports need a scope).
    pub fn id_by_name(&self, kind: Kind, scope: Option<Uuid>, name: &str) -> Option<Uuid> {
        each_kind!(self, kind, |t| t.by_name(scope, name).map(|o| o.id))
    }

    pub fn len(&self, kind: Kind) -> usize {
        each_kind!(self, kind, |t| t.len())
    }

    /// Insert without checks: for loading what the store already holds.
    pub fn load(&mut self, o: AnyObject) {
        match o {
            AnyObject::Fabric(o) => self.fabrics.insert(o),
            AnyObject::Switch(o) => {
                self.idx.switch(self.switches.get(&o.id), Some(&o));
                self.switches.insert(o)
            }
            AnyObject::SwitchPort(o) => self.switch_ports.insert(o),
            AnyObject::Hardware(o) => self.hardware.insert(o),
            AnyObject::Card(o) => self.cards.insert(o),
            AnyObject::NodeProfile(o) => self.node_profiles.insert(o),
            AnyObject::Node(o) => self.nodes.insert(o),
            AnyObject::Network(o) => {
                self.idx.network(self.networks.get(&o.id), Some(&o));
                self.networks.insert(o)
            }
            AnyObject::Segment(o) => {
                self.idx.segment(self.segments.get(&o.id), Some(&o));
                self.segments.insert(o)
            }
            AnyObject::Port(o) => {
                self.idx.port(self.ports.get(&o.id), Some(&o));
                self.touch_groups_of(o.id);
                self.ports.insert(o)
            }
            AnyObject::Trunk(o) => {
                self.idx.trunk(self.trunks.get(&o.id), Some(&o));
                self.trunks.insert(o)
            }
            AnyObject::L2Gateway(o) => self.l2_gateways.insert(o),
            AnyObject::VirtualPortGroup(o) => {
                self.idx.vpg(self.vpgs.get(&o.id), Some(&o));
                self.vpgs.insert(o)
            }
            AnyObject::L2GatewayConnection(o) => self.l2gw_connections.insert(o),
            AnyObject::SecurityGroup(o) => self.security_groups.insert(o),
            AnyObject::QosPolicy(o) => self.qos_policies.insert(o),
            AnyObject::PortProfile(o) => self.port_profiles.insert(o),
        }
    }

    /// A port changed: so did what the groups holding it mean.
    fn touch_groups_of(&mut self, port: Uuid) {
        let nets: Vec<Uuid> = self.vpgs_of_port(port).map(|g| g.spec.network_id).collect();
        for n in nets {
            self.idx.touch(n);
        }
    }

    /// A number that changes whenever the network, one of its groups, or a
    /// port of it or of its groups is written (0: never written in this
    /// line of snapshots). Cheap change detection for one network.
    pub fn network_generation(&self, network: Uuid) -> u64 {
        self.idx.network_gen.get(&network).copied().unwrap_or(0)
    }

    /// A number that changes whenever any switch is written.
    pub fn switch_generation(&self) -> u64 {
        self.idx.switch_gen
    }

    /// True when no table but networks, ports and virtual port groups
    /// was written between `earlier` and this snapshot (both of one line
    /// of snapshots); writes to those three are in
    /// [`Snapshot::networks_written_since`]. May say false for tables
    /// written back to what they were.
    pub fn only_networks_written_since(&self, earlier: &Snapshot) -> bool {
        let Snapshot {
            revision: _,
            fabrics,
            switches,
            switch_ports,
            hardware,
            cards,
            node_profiles,
            nodes,
            networks: _,
            segments,
            ports: _,
            trunks,
            l2_gateways,
            vpgs: _,
            l2gw_connections,
            security_groups,
            qos_policies,
            port_profiles,
            mod_revisions: _,
            idx: _,
        } = self;
        fabrics.same_as(&earlier.fabrics)
            && switches.same_as(&earlier.switches)
            && switch_ports.same_as(&earlier.switch_ports)
            && hardware.same_as(&earlier.hardware)
            && cards.same_as(&earlier.cards)
            && node_profiles.same_as(&earlier.node_profiles)
            && nodes.same_as(&earlier.nodes)
            && segments.same_as(&earlier.segments)
            && trunks.same_as(&earlier.trunks)
            && l2_gateways.same_as(&earlier.l2_gateways)
            && l2gw_connections.same_as(&earlier.l2gw_connections)
            && security_groups.same_as(&earlier.security_groups)
            && qos_policies.same_as(&earlier.qos_policies)
            && port_profiles.same_as(&earlier.port_profiles)
            && self.generation() >= earlier.generation()
    }

    /// The write counter of this line of snapshots (every generation
    /// above is at most this).
    pub fn generation(&self) -> u64 {
        self.idx.generation
    }

    /// The networks whose generation is above `generation` (written since
    /// a snapshot whose [`Snapshot::generation`] it was), oldest first:
    /// O(log n + answer).
    pub fn networks_written_since(&self, generation: u64) -> impl Iterator<Item = Uuid> + '_ {
        self.idx.gen_log.range(generation + 1..).map(|(_, n)| *n)
    }

    /// Networks with a group on `switch`, each once, ordered by id.
    pub fn networks_on_switch(&self, switch: Uuid) -> impl Iterator<Item = Uuid> + '_ {
        self.idx.networks_on_switch(switch)
    }

    /// The store revision at which an object was last written (0 if unknown).
    pub fn mod_revision(&self, id: &Uuid) -> u64 {
        self.mod_revisions.get(id).copied().unwrap_or(0)
    }

    fn unload(&mut self, kind: Kind, id: &Uuid) {
        self.mod_revisions.remove(id);
        match kind {
            Kind::Fabric => drop(self.fabrics.remove(id)),
            Kind::Switch => {
                if let Some(o) = self.switches.remove(id) {
                    self.idx.switch(Some(&o), None);
                }
            }
            Kind::SwitchPort => drop(self.switch_ports.remove(id)),
            Kind::Hardware => drop(self.hardware.remove(id)),
            Kind::Card => drop(self.cards.remove(id)),
            Kind::NodeProfile => drop(self.node_profiles.remove(id)),
            Kind::Node => drop(self.nodes.remove(id)),
            Kind::Network => {
                if let Some(o) = self.networks.remove(id) {
                    self.idx.network(Some(&o), None);
                }
            }
            Kind::Segment => {
                if let Some(o) = self.segments.remove(id) {
                    self.idx.segment(Some(&o), None);
                }
            }
            Kind::Port => {
                if let Some(o) = self.ports.remove(id) {
                    self.idx.port(Some(&o), None);
                    self.touch_groups_of(o.id);
                }
            }
            Kind::Trunk => {
                if let Some(o) = self.trunks.remove(id) {
                    self.idx.trunk(Some(&o), None);
                }
            }
            Kind::L2Gateway => drop(self.l2_gateways.remove(id)),
            Kind::VirtualPortGroup => {
                if let Some(o) = self.vpgs.remove(id) {
                    self.idx.vpg(Some(&o), None);
                }
            }
            Kind::L2GatewayConnection => drop(self.l2gw_connections.remove(id)),
            Kind::SecurityGroup => drop(self.security_groups.remove(id)),
            Kind::QosPolicy => drop(self.qos_policies.remove(id)),
            Kind::PortProfile => drop(self.port_profiles.remove(id)),
        }
    }

    /// Check `changes` in order against this snapshot and return the snapshot
    /// they produce together with every change to store, including the ones
    /// they imply (switch-port records created for new cabling, uncabled
    /// switch ports deleted with their switch). On error nothing is changed
    /// and the error names the first offending item (`items[i]...`) when
    /// there are several.
    pub fn apply(&self, changes: Vec<Change>, ctx: &mut dyn Context) -> Result<(Snapshot, Vec<Change>), ModelError> {
        let mut next = self.clone();
        let effective = next.apply_in_place(changes, ctx)?;
        Ok((next, effective))
    }

    /// [`Snapshot::apply`] to this snapshot itself: no copy of it is made,
    /// so tree nodes only this snapshot holds are changed where they are.
    /// On error the snapshot holds the changes before the failing one: the
    /// caller must discard it or restore it ([`crate::Draft`] does).
    pub(crate) fn apply_in_place(&mut self, changes: Vec<Change>, ctx: &mut dyn Context) -> Result<Vec<Change>, ModelError> {
        let mut effective = Vec::with_capacity(changes.len());
        let many = changes.len() > 1;
        for (i, c) in changes.into_iter().enumerate() {
            let res = match c {
                Change::Put(o) => self.put(o, ctx, &mut effective),
                Change::Delete(k, id) => self.delete(k, id, &mut effective),
            };
            res.map_err(|e| if many { e.within(&format!("items[{i}]")) } else { e })?;
        }
        Ok(effective)
    }

    fn put(&mut self, o: AnyObject, ctx: &mut dyn Context, out: &mut Vec<Change>) -> Result<(), ModelError> {
        match o {
            AnyObject::Fabric(o) => self.put_checked(o, out),
            AnyObject::Switch(o) => self.put_checked(o, out),
            AnyObject::SwitchPort(o) => {
                if let Some(old) = self.switch_ports.get(&o.id) {
                    if old.spec.switch_id != o.spec.switch_id || old.spec.name != o.spec.name {
                        if let Some(node) = self.node_cabled_to(old.spec.switch_id, &old.spec.name) {
                            return Err(ModelError::Conflict {
                                field: "name".into(),
                                message: format!(
                                    "switch port {:?} is cabled to node {:?} ({}); change that node's ports first",
                                    old.spec.name, node.spec.name, node.id
                                ),
                            });
                        }
                    }
                }
                self.put_checked(o, out)
            }
            AnyObject::Hardware(o) => self.put_checked(o, out),
            AnyObject::Card(o) => self.put_checked(o, out),
            AnyObject::NodeProfile(o) => self.put_checked(o, out),
            AnyObject::Network(o) => self.put_checked(o, out),
            AnyObject::Segment(o) => self.put_checked(o, out),
            AnyObject::Port(o) => self.put_checked(o, out),
            AnyObject::Trunk(o) => self.put_checked(o, out),
            AnyObject::L2Gateway(o) => self.put_checked(o, out),
            AnyObject::VirtualPortGroup(o) => self.put_checked(o, out),
            AnyObject::L2GatewayConnection(o) => self.put_checked(o, out),
            AnyObject::SecurityGroup(o) => self.put_checked(o, out),
            AnyObject::QosPolicy(o) => self.put_checked(o, out),
            AnyObject::PortProfile(o) => self.put_checked(o, out),
            AnyObject::Node(o) => {
                // Create the switch-port records this cabling names, so that a
                // port exists in the inventory before the switch reports it.
                o.spec.validate()?;
                for (i, p) in o.spec.ports.iter().enumerate() {
                    if self.switches.get(&p.switch_id).is_none() {
                        return Err(ModelError::MissingReference { field: format!("ports[{i}].switch_id"), kind: "switch", id: p.switch_id.to_string() });
                    }
                    if self.switch_ports.by_name(Some(p.switch_id), &p.switch_port).is_none() {
                        let now = ctx.now();
                        let sp = Object {
                            id: ctx.new_id(),
                            created_at: now,
                            updated_at: now,
                            spec: SwitchPortSpec { switch_id: p.switch_id, name: p.switch_port.clone(), discovered: false },
                        };
                        self.put_checked(sp, out)?;
                    }
                }
                self.put_checked(o, out)
            }
        }
    }

    fn put_checked<S: Spec>(&mut self, o: Object<S>, out: &mut Vec<Change>) -> Result<(), ModelError> {
        o.spec.validate()?;
        for r in o.spec.references() {
            if !self.contains(r.kind, &r.id) {
                return Err(ModelError::MissingReference { field: r.field, kind: r.kind.singular(), id: r.id.to_string() });
            }
        }
        if let Some(existing) = S::table(self).by_name(o.spec.name_scope(), o.spec.name()).filter(|_| S::UNIQUE_NAMES) {
            if existing.id != o.id {
                return Err(ModelError::DuplicateName {
                    kind: S::KIND.singular(),
                    name: o.spec.name().to_string(),
                    existing: existing.id.to_string(),
                    field: "name".into(),
                });
            }
        }
        let any = S::wrap(o);
        self.cross_checks(&any)?;
        self.load(any.clone());
        out.push(Change::Put(any));
        Ok(())
    }

    /// Rules that span objects, checked after references are known to exist.
    fn cross_checks(&self, o: &AnyObject) -> Result<(), ModelError> {
        match o {
            AnyObject::Fabric(f) => {
                for sw in self.switches_of_fabric(f.id) {
                    if let Some(r) = sw.spec.vlan_range {
                        if !f.spec.vlan_range.covers(&r) {
                            return Err(ModelError::Unprocessable {
                                field: "vlan_range".into(),
                                message: format!("switch {:?} uses VLANs [{}, {}], outside the new fabric range", sw.spec.name, r.first, r.last),
                            });
                        }
                    }
                }
            }
            AnyObject::Switch(s) => {
                if let (Some(r), Some(f)) = (s.spec.vlan_range, self.fabrics.get(&s.spec.fabric_id)) {
                    if !f.spec.vlan_range.covers(&r) {
                        return Err(ModelError::Unprocessable {
                            field: "vlan_range".into(),
                            message: format!(
                                "VLAN range [{}, {}] is outside fabric {:?}'s range [{}, {}]",
                                r.first, r.last, f.spec.name, f.spec.vlan_range.first, f.spec.vlan_range.last
                            ),
                        });
                    }
                }
            }
            AnyObject::Node(n) => {
                for (i, a) in std::iter::once(&n.spec.name).chain(n.spec.aliases.iter()).enumerate() {
                    if let Some(other) = self.node_by_host(a) {
                        if other.id != n.id {
                            return Err(ModelError::DuplicateName {
                                kind: "node",
                                name: a.clone(),
                                existing: other.id.to_string(),
                                field: if i == 0 { "name".into() } else { format!("aliases[{}]", i - 1) },
                            });
                        }
                    }
                }
                for (i, p) in n.spec.ports.iter().enumerate() {
                    if let Some(other) = self.node_cabled_to(p.switch_id, &p.switch_port) {
                        if other.id != n.id {
                            return Err(ModelError::Conflict {
                                field: format!("ports[{i}].switch_port"),
                                message: format!("switch port {:?} is already cabled to node {:?} ({})", p.switch_port, other.spec.name, other.id),
                            });
                        }
                    }
                }
            }
            AnyObject::Trunk(t) => {
                for p in t.spec.all_ports() {
                    if let Some(other) = self.trunk_of(p).filter(|o| o.id != t.id) {
                        return Err(ModelError::Conflict {
                            field: "sub_ports".into(),
                            message: format!("port {p} is already in trunk {:?} ({})", other.spec.name, other.id),
                        });
                    }
                }
            }
            AnyObject::L2GatewayConnection(c) => {
                if let Some(other) = self
                    .l2gw_connections
                    .iter()
                    .find(|o| o.id != c.id && o.spec.l2_gateway_id == c.spec.l2_gateway_id && o.spec.network_id == c.spec.network_id)
                {
                    return Err(ModelError::Conflict {
                        field: "network_id".into(),
                        message: format!(
                            "L2 gateway {} is already connected to network {} by connection {}",
                            c.spec.l2_gateway_id, c.spec.network_id, other.id
                        ),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The trunk a port belongs to, as parent or subport (by index).
    pub fn trunk_of(&self, port: Uuid) -> Option<&Object<TrunkSpec>> {
        self.idx.trunks_of_port(port).find_map(|t| self.trunks.get(&t))
    }

    /// The trunk whose parent port is `port`.
    pub fn trunk_with_parent(&self, port: Uuid) -> Option<&Object<TrunkSpec>> {
        self.idx.trunks_of_port(port).filter_map(|t| self.trunks.get(&t)).find(|t| t.spec.port_id == port)
    }

    /// The MAC of every port of `network`, as (port, MAC), by index: one
    /// range of the index instead of a lookup per port in the port table.
    pub fn port_macs_of_network(&self, network: Uuid) -> impl Iterator<Item = (Uuid, MacAddr)> + '_ {
        self.idx.port_macs_of_network(network)
    }

    /// Ports of `network` with this MAC (at most one once stored through
    /// the engine, which keeps MACs unique per network).
    pub fn ports_with_mac(&self, network: Uuid, mac: MacAddr) -> impl Iterator<Item = &Object<PortSpec>> + '_ {
        self.idx.ports_with_mac(network, mac).filter_map(|p| self.ports.get(&p))
    }

    /// Virtual port groups on a switch, ordered by (network, id).
    pub fn vpgs_on_switch(&self, switch: Uuid) -> impl Iterator<Item = &Object<VpgSpec>> + '_ {
        self.idx.vpgs_on_switch(switch).filter_map(|g| self.vpgs.get(&g))
    }

    /// Virtual port groups of one network on one switch.
    pub fn vpgs_on_switch_for(&self, switch: Uuid, network: Uuid) -> impl Iterator<Item = &Object<VpgSpec>> + '_ {
        self.idx.vpgs_on_switch_for(switch, network).filter_map(|g| self.vpgs.get(&g))
    }

    /// Virtual port groups of a network, on every switch, ordered by id.
    pub fn vpgs_of_network(&self, network: Uuid) -> impl Iterator<Item = &Object<VpgSpec>> + '_ {
        self.idx.vpgs_of_network(network).filter_map(|g| self.vpgs.get(&g))
    }

    /// Virtual port groups a port is a member of or drains from.
    pub fn vpgs_of_port(&self, port: Uuid) -> impl Iterator<Item = &Object<VpgSpec>> + '_ {
        self.idx.vpgs_of_port(port).filter_map(|g| self.vpgs.get(&g))
    }

    /// Virtual port groups using one port of a switch, ordered by (VLAN, id).
    pub fn vpgs_on_switch_port<'a>(&'a self, switch: Uuid, port: &str) -> impl Iterator<Item = &'a Object<VpgSpec>> + 'a {
        self.idx.vpgs_on_switch_port(switch, port).filter_map(|g| self.vpgs.get(&g))
    }

    /// Virtual port groups using one port of a switch with one VLAN (0:
    /// untagged), ordered by id: O(log n + answer) however many other VLANs
    /// the port carries.
    pub fn vpgs_on_switch_port_with_vlan<'a>(&'a self, switch: Uuid, port: &str, vlan: u16) -> impl Iterator<Item = &'a Object<VpgSpec>> + 'a {
        self.idx.vpgs_on_switch_port_vlan(switch, port, vlan).filter_map(|g| self.vpgs.get(&g))
    }

    /// Tagged VLANs in use on a switch by any group, in VLAN order (a VLAN
    /// appears once per group using it), with the group.
    pub fn vlans_on_switch(&self, switch: Uuid) -> impl Iterator<Item = (u16, &Object<VpgSpec>)> + '_ {
        self.idx.vlans_on_switch(switch).filter_map(|(v, g)| self.vpgs.get(&g).map(|g| (v, g)))
    }

    /// Tagged VLANs in use on a switch, ascending (once per group using
    /// it), read from the index alone: no group is looked up.
    pub fn vlans_used_on_switch(&self, switch: Uuid) -> impl Iterator<Item = u16> + '_ {
        self.idx.vlans_on_switch(switch).map(|(v, _)| v)
    }

    /// The lowest VLAN at or above `from` that no group on `switch` uses
    /// (tagged groups, as [`Snapshot::vlans_used_on_switch`] lists them):
    /// O(log n), from the index of runs of VLANs in use. It may lie above
    /// any VLAN range; the caller checks it against its own.
    pub fn vlan_free_from(&self, switch: Uuid, from: u32) -> Option<u32> {
        self.idx.vlan_free_from(switch, from)
    }

    /// The lowest VNI at or above `from` that no network uses: O(log n).
    pub fn vni_free_from(&self, from: u32) -> Option<u32> {
        self.idx.vni_free_from(from)
    }

    /// Networks with a VLAN segment (their own, for a `vlan` network, or a
    /// stored segment) on this physical network and VLAN, in id order,
    /// each once (by index).
    pub fn networks_with_vlan(&self, physical_network: Option<&str>, vlan: u16) -> impl Iterator<Item = &Object<NetworkSpec>> + '_ {
        self.idx.networks_with_vlan(physical_network, vlan).filter_map(|n| self.networks.get(&n))
    }

    /// Stored segments of a network, ordered by id.
    pub fn segments_of_network(&self, network: Uuid) -> impl Iterator<Item = &Object<SegmentSpec>> + '_ {
        self.idx.segments_of_network(network).filter_map(|s| self.segments.get(&s))
    }

    /// How many ports are bound (kept on every write: O(1)).
    pub fn bound_port_count(&self) -> usize {
        self.idx.bound_ports
    }

    /// Groups with a move in progress (pending or draining ports), ordered by id.
    pub fn vpgs_moving(&self) -> impl Iterator<Item = &Object<VpgSpec>> + '_ {
        self.idx.vpg_moving.iter().filter_map(|g| self.vpgs.get(g))
    }

    /// Networks whose VNI lies in `[first, last]`, in VNI order.
    pub fn networks_with_vni_in(&self, first: u32, last: u32) -> impl Iterator<Item = (u32, &Object<NetworkSpec>)> + '_ {
        self.idx.networks_with_vni_in(first, last).filter_map(|(v, n)| self.networks.get(&n).map(|n| (v, n)))
    }

    /// Switches served by one OVSDB endpoint ([`SwitchSpec::endpoint_key`]),
    /// ordered by id.
    pub fn switches_at_endpoint<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Object<SwitchSpec>> + 'a {
        self.idx.switches_at_endpoint(key).filter_map(|s| self.switches.get(&s))
    }

    /// Switches of a fabric, ordered by id.
    pub fn switches_of_fabric(&self, fabric: Uuid) -> impl Iterator<Item = &Object<SwitchSpec>> + '_ {
        self.idx.switches_of_fabric(fabric).filter_map(|s| self.switches.get(&s))
    }

    fn delete(&mut self, kind: Kind, id: Uuid, out: &mut Vec<Change>) -> Result<(), ModelError> {
        if !self.contains(kind, &id) {
            return Err(ModelError::NotFound { kind: kind.singular(), id: id.to_string() });
        }
        // A switch's uncabled port records go with it: they are its children.
        let children: Vec<Uuid> =
            if kind == Kind::Switch { self.switch_ports.iter().filter(|p| p.spec.switch_id == id).map(|p| p.id).collect() } else { Vec::new() };
        let referrers: Vec<String> =
            self.referrers(kind, &id).into_iter().filter(|(k, rid, _)| !(*k == Kind::SwitchPort && children.contains(rid))).map(|(_, _, d)| d).collect();
        if !referrers.is_empty() {
            return Err(ModelError::StillReferenced { kind: kind.singular(), id: id.to_string(), referrers: referrers.join(", ") });
        }
        for c in children {
            self.unload(Kind::SwitchPort, &c);
            out.push(Change::Delete(Kind::SwitchPort, c));
        }
        self.unload(kind, &id);
        out.push(Change::Delete(kind, id));
        Ok(())
    }

    /// Who points at `(kind, id)`: (their kind, their id, a description).
    pub fn referrers(&self, kind: Kind, id: &Uuid) -> Vec<(Kind, Uuid, String)> {
        let mut out = Vec::new();
        for k in Kind::ALL {
            for o in self.list_any(*k) {
                let refs = match &o {
                    AnyObject::Fabric(o) => o.spec.references(),
                    AnyObject::Switch(o) => o.spec.references(),
                    AnyObject::SwitchPort(o) => o.spec.references(),
                    AnyObject::Hardware(o) => o.spec.references(),
                    AnyObject::Card(o) => o.spec.references(),
                    AnyObject::NodeProfile(o) => o.spec.references(),
                    AnyObject::Node(o) => o.spec.references(),
                    AnyObject::Network(o) => o.spec.references(),
                    AnyObject::Segment(o) => o.spec.references(),
                    AnyObject::Port(o) => o.spec.references(),
                    AnyObject::Trunk(o) => o.spec.references(),
                    AnyObject::L2Gateway(o) => o.spec.references(),
                    AnyObject::VirtualPortGroup(o) => o.spec.references(),
                    AnyObject::L2GatewayConnection(o) => o.spec.references(),
                    AnyObject::SecurityGroup(o) => o.spec.references(),
                    AnyObject::QosPolicy(o) => o.spec.references(),
                    AnyObject::PortProfile(o) => o.spec.references(),
                };
                if refs.iter().any(|r| r.kind == kind && r.id == *id) {
                    out.push((*k, o.id(), format!("{} {:?} ({})", k.singular(), o.name(), o.id())));
                }
            }
        }
        if kind == Kind::SwitchPort {
            if let Some(p) = self.switch_ports.get(id) {
                if let Some(n) = self.node_cabled_to(p.spec.switch_id, &p.spec.name) {
                    out.push((Kind::Node, n.id, format!("node {:?} ({})", n.spec.name, n.id)));
                }
            }
        }
        out
    }

    /// The node whose cabling uses this switch port.
    pub fn node_cabled_to(&self, switch_id: Uuid, port: &str) -> Option<&Object<NodeSpec>> {
        self.nodes.iter().find(|n| n.spec.ports.iter().any(|p| p.switch_id == switch_id && p.switch_port == port))
    }

    /// The node an orchestrator means by `host`: its name or one of its aliases.
    pub fn node_by_host(&self, host: &str) -> Option<&Object<NodeSpec>> {
        self.nodes.by_name(None, host).or_else(|| self.nodes.iter().find(|n| n.spec.aliases.iter().any(|a| a == host)))
    }
}
