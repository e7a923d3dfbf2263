//! Integration tests of stitch-vtep: against a real ovsdb-server (schema
//! check, scenarios checked with vtep-ctl, a few property cases) and an
//! in-memory simulation of its transaction semantics (many property cases).

mod acl;
mod cache_prop;
mod model;
mod prop;
mod scenario;
mod server;
mod sim;
