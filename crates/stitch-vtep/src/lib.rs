//! Stitch's view of one `hardware_vtep` database (a top-of-rack switch,
//! or an MLAG pair sharing one OVSDB endpoint).
//!
//! * [`rows`]: typed rows of every table, with conversion from and to
//!   [`ovsdb::notation::Row`]; [`check_schema`] validates our expectations
//!   against the schema the server reports.
//! * [`VtepCache`]: the observed state, every row by UUID, fed by monitor
//!   updates, with the indexes planning needs.
//! * [`DesiredVtep`]: what Stitch wants in the database, as plain data.
//! * [`ownership`]: which rows are Stitch's ([`Owner`], the
//!   `other_config:stitch-owner` marker).
//! * [`plan()`]: the minimal, dependency-ordered operations of one
//!   `transact`, plus the problems that prevent parts of it.
//! * [`apply()`]: sends a plan and interprets the results;
//!   [`read_all`] and [`monitor_requests`] feed the cache.
//!
//! ```no_run
//! # async fn demo(client: ovsdb::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use stitch_vtep::{DesiredLogicalSwitch, DesiredVtep, Owner, apply, check_schema, plan, read_all};
//! let schema = client.get_schema("hardware_vtep").await?;
//! check_schema(&schema)?;
//! let observed = read_all(&client, schema).await?;
//! let desired = DesiredVtep::empty(Owner::new("stitch-1")?)
//!     .with_logical_switch("net-a", DesiredLogicalSwitch::new(5001))
//!     .with_binding("tor1", "swp1", 100, "net-a");
//! let p = plan(&desired, &observed);
//! for problem in &p.problems {
//!     eprintln!("{problem}");
//! }
//! apply(&client, &p).await?;
//! # Ok(()) }
//! ```
//!
//! ACLs ([`DesiredAcl`]) are planned as `ACL`/`ACL_entry` rows and
//! `Physical_Port.acl_bindings`; whether a switch enforces them is up to
//! the switch (the `ovs-vtep` emulator ignores them).
//!
//! Not yet: `Logical_Router`, ARP sources (decoded, never planned).

mod apply;
mod cache;
mod desired;
pub mod ownership;
mod plan;
pub mod rows;
mod schema_check;
mod table;

pub use apply::{Applied, ApplyError, ReadError, apply, check_results, monitor_requests, read_all};
pub use cache::{CacheError, RemoteMacRow, RemoteMacRows, Tables, VtepCache, initial_updates, mac_key};
pub use desired::{
    DEFAULT_DESCRIPTION, DesiredAcl, DesiredLogicalSwitch, DesiredVtep, IpList, Lowest, Name, PortBindings, RemoteMac, UNKNOWN_DST, of_logical_switch,
};
pub use ownership::{OWNER_KEY, Owner};
pub use plan::{OpNote, Plan, PlanProblem, Scope, plan, plan_is_empty, plan_scoped};
pub use rows::{ReplicationMode, RowError, VtepRow};
pub use schema_check::{DATABASE, INSTALLED_SCHEMA_PATH, SchemaCheckError, SchemaMismatch, check_schema, expected_columns, installed_schema};
pub use table::Table;
