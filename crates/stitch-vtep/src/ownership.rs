//! Which rows are Stitch's.
//!
//! Stitch never touches rows written by others. The rule:
//!
//! * a `Logical_Switch` is Stitch's when its `other_config` has
//!   [`OWNER_KEY`]` = <instance id>` (the id of this Stitch deployment, so
//!   two deployments sharing a switch do not fight). Stitch writes that
//!   key on every logical switch it creates; `description` is for people
//!   ("managed by stitch" by default) and is never read for ownership;
//! * `Ucast_Macs_Remote` and `Mcast_Macs_Remote` rows are Stitch's when
//!   their logical switch is;
//! * in `Physical_Port.vlan_bindings`, Stitch adds and removes only the
//!   keys whose logical switch is Stitch's;
//! * `Physical_Switch`, `Physical_Port`, the `*_Local` tables and
//!   `Tunnel` are the switch's. The one exception: deleting a logical
//!   switch also deletes the `*_Local` MAC rows that reference it (the
//!   switch's view of a logical switch that is going away; the server
//!   would otherwise refuse the delete), as `vtep-ctl del-ls` does;
//! * an `ACL` is Stitch's when its `acl_name` is `<instance id>/<key>`
//!   with no `/` in the key (the table has no `other_config`; see
//!   [`Owner::acl_name`]); its `ACL_entry` rows are Stitch's as long as no
//!   foreign ACL references them too; in `Physical_Port.acl_bindings`
//!   Stitch adds and removes only the keys whose ACL is Stitch's;
//! * `Physical_Locator` and `Physical_Locator_Set` rows are shared and
//!   never deleted: the server garbage-collects them once unreferenced.

use std::fmt;

use crate::rows::{Acl, LogicalSwitch};

/// The `other_config` key that marks a logical switch as Stitch's.
pub const OWNER_KEY: &str = "stitch-owner";

/// The identity of one Stitch deployment (the value of [`OWNER_KEY`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner(String);

impl Owner {
    /// An owner id; it must be non-empty and printable (it is stored in
    /// the switch and shown by `vtep-ctl`).
    pub fn new(id: impl Into<String>) -> Result<Self, String> {
        let id = id.into();
        if id.is_empty() || id.chars().any(char::is_control) {
            return Err(format!("invalid Stitch owner id {id:?}: must be non-empty and printable"));
        }
        Ok(Owner(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if `ls` carries this owner's marker.
    pub fn owns(&self, ls: &LogicalSwitch) -> bool {
        ls.other_config.get(OWNER_KEY).is_some_and(|v| *v == self.0)
    }

    /// The `acl_name` of this owner's ACL `key` (`<owner>/<key>`).
    pub fn acl_name(&self, key: &str) -> String {
        format!("{}/{key}", self.0)
    }

    /// The key of one of this owner's ACLs, or `None` if `acl` is not
    /// this owner's (the part after the last `/` is the key, the part
    /// before must be exactly this owner's id).
    pub fn acl_key<'a>(&self, acl: &'a Acl) -> Option<&'a str> {
        let (owner, key) = acl.acl_name.rsplit_once('/')?;
        (owner == self.0 && !key.is_empty()).then_some(key)
    }

    /// True if `acl` is this owner's.
    pub fn owns_acl(&self, acl: &Acl) -> bool {
        self.acl_key(acl).is_some()
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_is_the_marker_for_this_instance_only() {
        let me = Owner::new("stitch-a").unwrap();
        let mut ls = LogicalSwitch { name: "n1".into(), ..Default::default() };
        assert!(!me.owns(&ls));
        ls.description = "managed by stitch".into();
        assert!(!me.owns(&ls), "description is not ownership");
        ls.other_config.insert(OWNER_KEY.into(), "stitch-b".into());
        assert!(!me.owns(&ls), "another deployment's switch");
        ls.other_config.insert(OWNER_KEY.into(), "stitch-a".into());
        assert!(me.owns(&ls));
        assert!(Owner::new("").is_err());
        assert!(Owner::new("a\nb").is_err());
    }

    #[test]
    fn acl_ownership_is_the_name_prefix_of_this_instance_only() {
        let me = Owner::new("stitch-a").unwrap();
        let acl = |n: &str| Acl { acl_name: n.into(), ..Default::default() };
        assert_eq!(me.acl_name("sg1"), "stitch-a/sg1");
        assert_eq!(me.acl_key(&acl("stitch-a/sg1")), Some("sg1"));
        assert!(!me.owns_acl(&acl("stitch-b/sg1")));
        assert!(!me.owns_acl(&acl("x/stitch-a/sg1")), "owner must match exactly");
        assert!(!me.owns_acl(&acl("stitch-a/")));
        assert!(!me.owns_acl(&acl("sg1")));
        let slashy = Owner::new("a/b").unwrap();
        assert!(slashy.owns_acl(&acl("a/b/k")));
        assert!(!me.owns_acl(&acl("a/b/k")));
    }
}
