//! The tables of the `hardware_vtep` schema.

use std::fmt;

/// One table of the `hardware_vtep` database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// `Global` (root, one row).
    Global,
    /// `Manager` (non-root).
    Manager,
    /// `Physical_Switch` (non-root, referenced by `Global.switches`).
    PhysicalSwitch,
    /// `Physical_Port` (non-root, referenced by `Physical_Switch.ports`).
    PhysicalPort,
    /// `Tunnel` (non-root).
    Tunnel,
    /// `Logical_Switch` (root).
    LogicalSwitch,
    /// `Logical_Binding_Stats` (non-root).
    LogicalBindingStats,
    /// `Logical_Router` (root).
    LogicalRouter,
    /// `Ucast_Macs_Local` (root).
    UcastMacsLocal,
    /// `Ucast_Macs_Remote` (root).
    UcastMacsRemote,
    /// `Mcast_Macs_Local` (root).
    McastMacsLocal,
    /// `Mcast_Macs_Remote` (root).
    McastMacsRemote,
    /// `Arp_Sources_Local` (root).
    ArpSourcesLocal,
    /// `Arp_Sources_Remote` (root).
    ArpSourcesRemote,
    /// `Physical_Locator` (non-root, shared with the switch).
    PhysicalLocator,
    /// `Physical_Locator_Set` (non-root, immutable `locators`).
    PhysicalLocatorSet,
    /// `ACL` (root).
    Acl,
    /// `ACL_entry` (root).
    AclEntry,
}

impl Table {
    /// Every table, in a stable order.
    pub const ALL: [Table; 18] = [
        Table::Global,
        Table::Manager,
        Table::PhysicalSwitch,
        Table::PhysicalPort,
        Table::Tunnel,
        Table::LogicalSwitch,
        Table::LogicalBindingStats,
        Table::LogicalRouter,
        Table::UcastMacsLocal,
        Table::UcastMacsRemote,
        Table::McastMacsLocal,
        Table::McastMacsRemote,
        Table::ArpSourcesLocal,
        Table::ArpSourcesRemote,
        Table::PhysicalLocator,
        Table::PhysicalLocatorSet,
        Table::Acl,
        Table::AclEntry,
    ];

    /// The table's name in the schema.
    pub fn name(self) -> &'static str {
        match self {
            Table::Global => "Global",
            Table::Manager => "Manager",
            Table::PhysicalSwitch => "Physical_Switch",
            Table::PhysicalPort => "Physical_Port",
            Table::Tunnel => "Tunnel",
            Table::LogicalSwitch => "Logical_Switch",
            Table::LogicalBindingStats => "Logical_Binding_Stats",
            Table::LogicalRouter => "Logical_Router",
            Table::UcastMacsLocal => "Ucast_Macs_Local",
            Table::UcastMacsRemote => "Ucast_Macs_Remote",
            Table::McastMacsLocal => "Mcast_Macs_Local",
            Table::McastMacsRemote => "Mcast_Macs_Remote",
            Table::ArpSourcesLocal => "Arp_Sources_Local",
            Table::ArpSourcesRemote => "Arp_Sources_Remote",
            Table::PhysicalLocator => "Physical_Locator",
            Table::PhysicalLocatorSet => "Physical_Locator_Set",
            Table::Acl => "ACL",
            Table::AclEntry => "ACL_entry",
        }
    }

    /// The table with this schema name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether the table is in the root set (schema 1.7.0). Rows of
    /// non-root tables are garbage-collected by the server once nothing
    /// references them.
    pub fn is_root(self) -> bool {
        !matches!(
            self,
            Table::Manager
                | Table::PhysicalSwitch
                | Table::PhysicalPort
                | Table::Tunnel
                | Table::LogicalBindingStats
                | Table::PhysicalLocator
                | Table::PhysicalLocatorSet
        )
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_roots_match_the_schema() {
        let schema = crate::installed_schema().unwrap();
        assert_eq!(schema.tables.len(), Table::ALL.len());
        for t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
            let ts = schema.table(t.name()).unwrap_or_else(|| panic!("{t} not in the schema"));
            assert_eq!(ts.is_root, t.is_root(), "{t}");
        }
        assert_eq!(Table::from_name("Open_vSwitch"), None);
    }
}
