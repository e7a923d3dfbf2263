//! L2 gateway connections: a legacy VLAN domain joined to an overlay
//! network. A connection materializes as manual (non-automatic) virtual
//! port groups, one per gateway interface and VLAN, which it lists and so
//! owns: compile treats them like any group (the VLAN binding maps the
//! legacy VLAN to the network's VNI; MACs learned there are spread like any
//! other), they cannot be deleted by hand, and they go with the connection.

use std::collections::BTreeSet;

use stitch_model::inventory::Object;
use stitch_model::neutron::*;
use stitch_model::snapshot::Change;
use stitch_model::{AnyObject, Kind, Snapshot};
use uuid::Uuid;

use super::check_ports;
use crate::EngineError;

const GW_NAMESPACE: Uuid = Uuid::from_u128(0x5717_c4a7_0000_4000_8000_0000_0000_0003);

/// The connection using a gateway, if any.
pub fn l2gw_in_use(snap: &Snapshot, gateway: Uuid) -> Option<Uuid> {
    snap.l2gw_connections.iter().find(|c| c.spec.l2_gateway_id == gateway).map(|c| c.id)
}

/// Store a new connection and the groups it owns. The VLAN of each
/// interface is its own `segmentation_id`, else the connection's; giving
/// both or neither is refused (400), as is a VLAN another network already
/// uses on one of those switch ports (409, naming the owner).
pub fn connect_l2gw(snap: &Snapshot, mut conn: Object<L2gwConnectionSpec>) -> Result<Vec<Change>, EngineError> {
    let gw_id = conn.spec.l2_gateway_id;
    let gw = snap
        .l2_gateways
        .get(&gw_id)
        .ok_or_else(|| EngineError::NotFound { kind: "L2GatewayNotFound", message: format!("L2 Gateway {gw_id} could not be found") })?;
    let net = snap.networks.get(&conn.spec.network_id).ok_or(EngineError::NetworkNotFound(conn.spec.network_id))?;
    match (gw.spec.has_vlans(), conn.spec.segmentation_id) {
        (true, Some(_)) => {
            return Err(EngineError::Invalid {
                field: "segmentation_id".into(),
                message: format!("the interfaces of L2 gateway {gw_id} carry their own segmentation_id; a connection may not give one too"),
            });
        }
        (false, None) => {
            return Err(EngineError::Invalid {
                field: "segmentation_id".into(),
                message: format!("the interfaces of L2 gateway {gw_id} have no segmentation_id; the connection must give one"),
            });
        }
        _ => {}
    }
    if let Some(other) = snap.l2gw_connections.iter().find(|c| c.spec.l2_gateway_id == gw_id && c.spec.network_id == net.id) {
        return Err(EngineError::InUse {
            kind: "L2GatewayConnectionExists",
            message: format!("The L2 Gateway Connection {} already exists for L2 gateway {gw_id} and network {}", other.id, net.id),
        });
    }
    let mut changes = Vec::new();
    let mut ids = BTreeSet::new();
    for d in &gw.spec.devices {
        let sw = snap.switches.get(&d.switch_id).ok_or_else(|| EngineError::NotFound {
            kind: "L2GatewayDeviceNotFound",
            message: format!("L2 Gateway Device {} could not be found", d.device_name),
        })?;
        for it in &d.interfaces {
            let vlans: Vec<u16> = if it.segmentation_id.is_empty() { conn.spec.segmentation_id.into_iter().collect() } else { it.segmentation_id.clone() };
            for vlan in vlans {
                let ports = vec![it.name.clone()];
                check_ports(snap, sw, net.id, &ports, vlan, None, &BTreeSet::new())
                    .map_err(|m| EngineError::InUse { kind: "L2GatewaySegmentationIdInUse", message: format!("L2 gateway {:?}: {m}", gw.spec.name) })?;
                let key = format!("{}|{}|{}|{}", conn.id, sw.id, it.name, vlan);
                let id = Uuid::new_v5(&GW_NAMESPACE, key.as_bytes());
                if !ids.insert(id) {
                    continue;
                }
                let short = conn.id.simple().to_string();
                changes.push(Change::Put(AnyObject::VirtualPortGroup(Object {
                    id,
                    created_at: conn.created_at,
                    updated_at: conn.updated_at,
                    spec: VpgSpec {
                        name: format!("l2gw:{}:{}:{}:vlan{vlan}:{}", gw.spec.name, sw.spec.name, it.name, &short[..8]),
                        switch_id: sw.id,
                        switch_ports: ports,
                        network_id: net.id,
                        vlan,
                        port_ids: Vec::new(),
                        pending: Vec::new(),
                        draining: Vec::new(),
                        standby: Vec::new(),
                        automatic: false,
                        dictated: true,
                    },
                })));
            }
        }
    }
    conn.spec.vpg_ids = ids.into_iter().collect();
    changes.push(Change::Put(AnyObject::L2GatewayConnection(conn)));
    Ok(changes)
}

/// Delete a connection and the groups it owns.
pub fn disconnect_l2gw(snap: &Snapshot, id: Uuid) -> Result<Vec<Change>, EngineError> {
    let c = snap
        .l2gw_connections
        .get(&id)
        .ok_or_else(|| EngineError::NotFound { kind: "L2GatewayConnectionNotFound", message: format!("The L2 Gateway Connection {id} could not be found") })?;
    let mut changes = vec![Change::Delete(Kind::L2GatewayConnection, id)];
    changes.extend(c.spec.vpg_ids.iter().filter(|g| snap.vpgs.get(g).is_some()).map(|g| Change::Delete(Kind::VirtualPortGroup, *g)));
    Ok(changes)
}
