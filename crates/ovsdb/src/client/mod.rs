//! The tokio OVSDB client.
//!
//! A [`Client`] is a cheap, cloneable handle to a background task that owns
//! the connection. The task matches responses to requests by id (so any
//! number of requests can be in flight), answers the server's `echo`,
//! probes an idle connection, reconnects with backoff, re-establishes
//! monitors (resuming with `monitor_cond_since` where the server allows)
//! and re-requests locks. Notifications arrive on [`Events`]; the
//! connection state is a [`tokio::sync::watch`] channel.
//!
//! The same type serves passive connections (the switch connects to us):
//! see [`crate::passive::PassiveListener`]. Such a session does not
//! reconnect; it ends ([`ConnectionState::Closed`]) when the peer leaves.

mod driver;
mod types;

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot, watch};

pub use types::{Backoff, ClientConfig, ConnectionState, Event, Events, MonitorId, MonitorStarted};

use crate::endpoint::Endpoint;
use crate::error::{Error, ProtocolError};
use crate::monitor::{MonitorMethod, MonitorRequests};
use crate::ops::{Condition, Operation, TransactResponse, transact_params};
use crate::schema::DatabaseSchema;
use crate::transport::BoxStream;
use driver::{Command, Driver, Source};

/// Handle to an OVSDB connection. Clone freely; the connection closes when
/// the last handle is dropped or [`close`](Self::close) is called.
#[derive(Clone, Debug)]
pub struct Client {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cmd: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<ConnectionState>,
    next_id: Arc<AtomicU64>,
}

/// A request in flight. Await it for the result; its [`id`](Self::id) can
/// be passed to [`Client::cancel`].
#[derive(Debug)]
pub struct PendingRequest {
    id: u64,
    rx: oneshot::Receiver<Result<Json, Error>>,
}

impl PendingRequest {
    /// The JSON-RPC id of the request.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Future for PendingRequest {
    type Output = Result<Json, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(r)) => Poll::Ready(r),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A `transact` in flight (see [`Client::start_transact`]).
#[derive(Debug)]
pub struct PendingTransact {
    request: PendingRequest,
    n_ops: usize,
}

impl PendingTransact {
    /// The JSON-RPC id, for [`Client::cancel`].
    pub fn id(&self) -> u64 {
        self.request.id
    }
}

impl IntoFuture for PendingTransact {
    type Output = Result<TransactResponse, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let json = self.request.await?;
            Ok(TransactResponse::from_json(&json, self.n_ops)?)
        })
    }
}

impl Client {
    /// Starts a client for an active endpoint (`unix:`, `tcp:`, `ssl:`).
    /// Returns at once; the connection is made in the background (watch
    /// [`state`](Self::state) or call
    /// [`wait_connected`](Self::wait_connected)). Must be called inside a
    /// tokio runtime.
    pub fn connect(endpoint: Endpoint, config: ClientConfig) -> Result<(Client, Events), Error> {
        if endpoint.is_passive() {
            return Err(Error::Endpoint(crate::endpoint::EndpointError {
                remote: endpoint.to_string(),
                reason: "a passive remote cannot be connected to; use PassiveListener".into(),
            }));
        }
        if endpoint.is_tls() && config.tls.is_none() {
            return Err(Error::Tls("ssl: remote needs ClientConfig::tls".into()));
        }
        Ok(Self::spawn(Source::Active(endpoint), config))
    }

    /// Runs a single session over an already established stream (used for
    /// passive connections, and usable for custom transports). The session
    /// does not reconnect.
    pub fn from_stream(stream: BoxStream, config: ClientConfig) -> (Client, Events) {
        Self::spawn(Source::Passive(Some(stream)), config)
    }

    fn spawn(source: Source, config: ClientConfig) -> (Client, Events) {
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let initial = match source {
            Source::Active(_) => ConnectionState::Connecting { attempt: 1 },
            Source::Passive(_) => ConnectionState::Connected { generation: 1 },
        };
        let (state_tx, state_rx) = watch::channel(initial);
        let next_id = Arc::new(AtomicU64::new(1));
        let driver = Driver::new(source, config, cmd_rx, state_tx, ev_tx, next_id.clone());
        tokio::spawn(driver.run());
        let client = Client { shared: Arc::new(Shared { cmd: cmd_tx, state: state_rx, next_id }) };
        (client, Events(ev_rx))
    }

    /// A receiver of the connection state.
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.clone()
    }

    /// Waits until connected. Fails with [`Error::Closed`] if the client
    /// shuts down first. Wrap it in `tokio::time::timeout` to bound it.
    pub async fn wait_connected(&self) -> Result<(), Error> {
        let mut rx = self.state();
        let state = rx.wait_for(|s| s.is_connected() || *s == ConnectionState::Closed).await.map_err(|_| Error::Closed)?;
        if state.is_connected() { Ok(()) } else { Err(Error::Closed) }
    }

    /// Shuts the client down: the connection closes, requests in flight
    /// fail, [`Events`] ends.
    pub fn close(&self) {
        let _ = self.shared.cmd.send(Command::Close);
    }

    fn send(&self, cmd: Command) -> Result<(), Error> {
        self.shared.cmd.send(cmd).map_err(|_| Error::Closed)
    }

    /// Sends a request and returns it in flight. Fails at once with
    /// [`Error::NotConnected`] (delivered when awaited) if the client is
    /// between connections.
    pub fn start_request(&self, method: &str, params: Vec<Json>) -> Result<PendingRequest, Error> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.send(Command::Request { id, method: method.to_owned(), params, reply: tx })?;
        Ok(PendingRequest { id, rx })
    }

    /// Sends a request and waits for its result. JSON-RPC errors become
    /// [`Error::Rpc`].
    pub async fn request(&self, method: &str, params: Vec<Json>) -> Result<Json, Error> {
        self.start_request(method, params)?.await
    }

    /// Sends a notification (no response).
    pub fn notify(&self, method: &str, params: Vec<Json>) -> Result<(), Error> {
        self.send(Command::Notify { method: method.to_owned(), params })
    }

    /// §4.1.1 `list_dbs`.
    pub async fn list_dbs(&self) -> Result<Vec<String>, Error> {
        let r = self.request("list_dbs", vec![]).await?;
        serde_json::from_value(r).map_err(|e| ProtocolError::new(format!("list_dbs reply: {e}")).into())
    }

    /// §4.1.2 `get_schema`.
    pub async fn get_schema(&self, db: &str) -> Result<DatabaseSchema, Error> {
        let r = self.request("get_schema", vec![db.into()]).await?;
        Ok(DatabaseSchema::from_json(&r)?)
    }

    /// §4.1.3 `transact`, started: the returned value can be cancelled by
    /// id and awaited (`.await`) for the parsed result.
    pub fn start_transact(&self, db: &str, ops: &[Operation]) -> Result<PendingTransact, Error> {
        let request = self.start_request("transact", transact_params(db, ops))?;
        Ok(PendingTransact { request, n_ops: ops.len() })
    }

    /// §4.1.3 `transact`. Per-operation failures are inside the
    /// [`TransactResponse`]; use
    /// [`into_result`](TransactResponse::into_result) to turn them into an
    /// error.
    pub async fn transact(&self, db: &str, ops: &[Operation]) -> Result<TransactResponse, Error> {
        self.start_transact(db, ops)?.await
    }

    /// §4.1.4 `cancel`: asks the server to abandon request `id` (it then
    /// answers that request with the error `"canceled"`, if it has not
    /// completed already). ovsdb-server only answers cancelled requests on
    /// sessions that are `set_db_change_aware` (see
    /// [`ClientConfig::db_change_aware`]).
    pub fn cancel(&self, id: u64) -> Result<(), Error> {
        self.notify("cancel", vec![id.into()])
    }

    /// Sets up a monitor (§4.1.5 `monitor`, or the OVS `monitor_cond` /
    /// `monitor_cond_since`). With `method` = `MonitorCondSince` or
    /// `MonitorCond`, a server that answers "unknown method" is retried
    /// with the next older method. The monitor is re-established after
    /// every reconnect ([`Event::MonitorRestarted`]); later changes arrive
    /// as [`Event::Update`].
    pub async fn monitor(&self, db: &str, requests: MonitorRequests, method: MonitorMethod) -> Result<MonitorStarted, Error> {
        self.monitor_inner(db, requests, method, true).await
    }

    /// Like [`monitor`](Self::monitor) but never falls back to an older
    /// method.
    pub async fn monitor_exact(&self, db: &str, requests: MonitorRequests, method: MonitorMethod) -> Result<MonitorStarted, Error> {
        self.monitor_inner(db, requests, method, false).await
    }

    async fn monitor_inner(&self, db: &str, requests: MonitorRequests, method: MonitorMethod, fallback: bool) -> Result<MonitorStarted, Error> {
        let (tx, rx) = oneshot::channel();
        let monitor = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        self.send(Command::Monitor { monitor, db: db.to_owned(), requests, method, fallback, reply: tx })?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// §4.1.7 `monitor_cancel`. The monitor is forgotten even if the
    /// client is disconnected.
    pub async fn monitor_cancel(&self, monitor: MonitorId) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::MonitorCancel { monitor: monitor.0, reply: tx })?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// OVS `monitor_cond_change`: replaces the `where` conditions of the
    /// given tables of a `monitor_cond`/`monitor_cond_since` monitor. The
    /// server then sends an update with the rows that entered and left the
    /// monitored set. The new conditions are used after reconnects too.
    pub async fn monitor_cond_change(&self, monitor: MonitorId, changes: BTreeMap<String, Vec<Condition>>) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::MonitorCondChange { monitor: monitor.0, changes, reply: tx })?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// §4.1.8 `lock`. Returns true if the lock was granted at once;
    /// otherwise [`Event::Locked`] follows when it is. The lock is
    /// requested again after a reconnect.
    pub async fn lock(&self, name: &str) -> Result<bool, Error> {
        let r = self.request("lock", vec![name.into()]).await?;
        locked_member(&r)
    }

    /// §4.1.9 `steal`. Always succeeds; the previous owner gets
    /// [`Event::Stolen`].
    pub async fn steal(&self, name: &str) -> Result<bool, Error> {
        let r = self.request("steal", vec![name.into()]).await?;
        locked_member(&r)
    }

    /// §4.1.10 `unlock`.
    pub async fn unlock(&self, name: &str) -> Result<(), Error> {
        self.request("unlock", vec![name.into()]).await.map(|_| ())
    }

    /// §4.1.11 `echo`: returns the params the server echoed.
    pub async fn echo(&self, params: Vec<Json>) -> Result<Vec<Json>, Error> {
        match self.request("echo", params).await? {
            Json::Array(a) => Ok(a),
            other => Err(ProtocolError::new(format!("echo reply is not an array: {other}")).into()),
        }
    }
}

fn locked_member(r: &Json) -> Result<bool, Error> {
    r.get("locked").and_then(Json::as_bool).ok_or_else(|| ProtocolError::new(format!("lock reply has no \"locked\": {r}")).into())
}
