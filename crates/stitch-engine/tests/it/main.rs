//! Engine tests: binding decisions and their invariants, on in-memory snapshots.

mod acl;
mod bind;
mod fixture;
mod migration;
mod naive;
mod props;
mod runtime;
mod scenarios;
mod service;
mod service_runtime;
