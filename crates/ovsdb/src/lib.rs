//! An OVSDB protocol library: RFC 7047 plus the Open vSwitch extensions
//! (`monitor_cond`, `monitor_cond_since`, `update2`, `update3`,
//! `monitor_canceled`).
//!
//! Layers, from the wire up:
//!
//! * [`codec`]: JSON-RPC 1.0 framing over a byte stream (a resumable JSON
//!   object-boundary scanner, then `serde_json`), as `tokio_util` codecs.
//! * [`message`]: requests, notifications and responses.
//! * [`notation`]: atoms, sets, maps, values and rows (§5.1).
//! * [`schema`]: database schemas (§3.2) and type checking.
//! * [`ops`]: operations (§5.2), conditions, mutations, transaction results.
//! * [`monitor`]: monitor requests, update notifications, update2 diffs and a
//!   row [`Cache`](monitor::Cache).
//! * [`endpoint`]: `unix:`/`tcp:`/`ssl:`/`ptcp:`/`pssl:`/`punix:` remotes.
//! * [`transport`]: Unix, TCP and TLS (rustls, ring) streams.
//! * [`client`]: the tokio [`Client`]: pipelined requests, echo and
//!   inactivity probe, reconnect with backoff, monitors and locks that
//!   survive reconnects, events on a channel, state on a watch.
//! * [`passive`]: a listener that turns each inbound connection into a
//!   [`Client`].
//! * [`server`]: a lightweight in-process OVSDB server over TCP, for tests
//!   and fabric-scale simulations.
//!
//! ```no_run
//! use ovsdb::{Client, ClientConfig, Condition, Endpoint, MonitorMethod, MonitorRequests, Operation, Row};
//! # async fn demo() -> Result<(), ovsdb::Error> {
//! let (client, mut events) = Client::connect("unix:/run/openvswitch/db.sock".parse()?, ClientConfig::default())?;
//! client.wait_connected().await?;
//! let schema = client.get_schema("hardware_vtep").await?;
//! let started = client
//!     .monitor("hardware_vtep", MonitorRequests::all_tables(&schema), MonitorMethod::MonitorCondSince)
//!     .await?;
//! let mut cache = ovsdb::monitor::Cache::new(schema);
//! cache.apply(&started.updates)?;
//! let r = client
//!     .transact("hardware_vtep", &[Operation::insert("Logical_Switch", Row::new().with("name", "ls0"))])
//!     .await?
//!     .into_result()?;
//! while let Some(ev) = events.recv().await {
//!     if let ovsdb::Event::Update { updates, .. } = ev {
//!         cache.apply(&updates)?;
//!     }
//! }
//! # let _ = (r, Condition::eq("name", "ls0")); Ok(()) }
//! ```
//!
//! See [`compliance`] for what of RFC 7047 is implemented and where it is
//! tested.

pub mod client;
pub mod codec;
pub mod endpoint;
pub mod error;
pub mod message;
pub mod monitor;
pub mod notation;
pub mod ops;
pub mod passive;
pub mod schema;
pub mod server;
pub mod transport;

#[doc = include_str!("../COMPLIANCE.md")]
pub mod compliance {}

pub use client::{Backoff, Client, ClientConfig, ConnectionState, Event, Events, MonitorId, MonitorStarted, PendingRequest, PendingTransact};
pub use endpoint::Endpoint;
pub use error::{Error, RpcError};
pub use monitor::{MonitorMethod, MonitorRequest, MonitorRequests, RowUpdate, RowUpdate2, Updates};
pub use notation::{Atom, AtomicType, Row, Value};
pub use ops::{Condition, Function, Mutation, Mutator, Operation, OperationResult, TransactResponse, TransactionError, WaitUntil};
pub use passive::{PassiveListener, Peer, PeerAddr};
pub use schema::DatabaseSchema;
pub use transport::TlsConfig;
pub use uuid::Uuid;
