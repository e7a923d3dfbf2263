//! The task behind a [`Client`](super::Client): one event loop owning the
//! connection, all pending requests and the registered monitors and locks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::Framed;
use uuid::Uuid;

use super::types::{ClientConfig, ConnectionState, Event, MonitorId, MonitorStarted};
use crate::codec::MessageCodec;
use crate::endpoint::Endpoint;
use crate::error::{Error, ProtocolError, RpcError};
use crate::message::Message;
use crate::monitor::{CondSinceReply, MonitorMethod, MonitorRequests, UpdateNotification, Updates, monitor_params};
use crate::ops::Condition;
use crate::transport::{self, BoxStream};

/// One connection. Reading and writing are independent: a writer task
/// drains the outgoing queue while the event loop keeps reading, so a peer
/// that stops reading until its replies are read (ovsdb-server does, once
/// its output backlog grows) can never deadlock a deep pipeline.
struct Conn {
    rx: futures::stream::SplitStream<Framed<BoxStream, MessageCodec>>,
    out: mpsc::UnboundedSender<Message>,
    write_failed: oneshot::Receiver<Error>,
    writer: tokio::task::JoinHandle<()>,
}

impl Conn {
    fn new(stream: BoxStream, codec: MessageCodec) -> Conn {
        let (sink, rx) = Framed::new(stream, codec).split();
        let (out, mut queue) = mpsc::unbounded_channel::<Message>();
        let (fail, write_failed) = oneshot::channel();
        let writer = tokio::spawn(async move {
            if let Err(e) = crate::codec::write_batched(sink, &mut queue).await {
                let _ = fail.send(e);
            }
        });
        Conn { rx, out, write_failed, writer }
    }

    /// Queue a message; the writer sends it (batched with whatever else is queued).
    async fn feed(&mut self, m: Message) -> Result<(), Error> {
        self.out.send(m).map_err(|_| Error::Disconnected)
    }

    async fn send(&mut self, m: Message) -> Result<(), Error> {
        self.feed(m).await
    }

    /// Nothing to do: the writer flushes whenever its queue runs dry.
    async fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

pub(crate) enum Command {
    Request {
        id: u64,
        method: String,
        params: Vec<Json>,
        reply: oneshot::Sender<Result<Json, Error>>,
    },
    Notify {
        method: String,
        params: Vec<Json>,
    },
    Monitor {
        monitor: u64,
        db: String,
        requests: MonitorRequests,
        method: MonitorMethod,
        fallback: bool,
        reply: oneshot::Sender<Result<MonitorStarted, Error>>,
    },
    MonitorCancel {
        monitor: u64,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    MonitorCondChange {
        monitor: u64,
        changes: BTreeMap<String, Vec<Condition>>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Close,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Request { id, method, .. } => write!(f, "Request({id}, {method})"),
            Command::Notify { method, .. } => write!(f, "Notify({method})"),
            Command::Monitor { monitor, .. } => write!(f, "Monitor({monitor})"),
            Command::MonitorCancel { monitor, .. } => write!(f, "MonitorCancel({monitor})"),
            Command::MonitorCondChange { monitor, .. } => write!(f, "MonitorCondChange({monitor})"),
            Command::Close => write!(f, "Close"),
        }
    }
}

pub(crate) enum Source {
    Active(Endpoint),
    Passive(Option<BoxStream>),
}

struct MonitorEntry {
    json_id: Json,
    db: String,
    requests: MonitorRequests,
    method: MonitorMethod,
    fallback: bool,
    last_txn_id: Option<Uuid>,
}

enum Pending {
    User(oneshot::Sender<Result<Json, Error>>),
    MonitorStart {
        monitor: u64,
        reply: Option<oneshot::Sender<Result<MonitorStarted, Error>>>,
    },
    MonitorCancel {
        monitor: u64,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    CondChange {
        monitor: u64,
        changes: BTreeMap<String, Vec<Condition>>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Relock {
        lock: String,
    },
    /// Our own request whose answer does not matter (echo probe,
    /// set_db_change_aware).
    Internal,
}

/// Why a connection loop ended.
enum End {
    /// The caller closed the client (or dropped every handle).
    Closed,
    /// The connection failed.
    Lost(Error),
}

pub(crate) struct Driver {
    source: Source,
    config: ClientConfig,
    cmd_rx: mpsc::UnboundedReceiver<Command>,
    state: watch::Sender<ConnectionState>,
    events: mpsc::UnboundedSender<Event>,
    next_id: Arc<AtomicU64>,
    monitors: BTreeMap<u64, MonitorEntry>,
    locks: BTreeSet<String>,
    pending: HashMap<u64, Pending>,
    generation: u64,
}

impl Driver {
    pub(crate) fn new(
        source: Source,
        config: ClientConfig,
        cmd_rx: mpsc::UnboundedReceiver<Command>,
        state: watch::Sender<ConnectionState>,
        events: mpsc::UnboundedSender<Event>,
        next_id: Arc<AtomicU64>,
    ) -> Self {
        Driver { source, config, cmd_rx, state, events, next_id, monitors: BTreeMap::new(), locks: BTreeSet::new(), pending: HashMap::new(), generation: 0 }
    }

    fn set_state(&self, s: ConnectionState) {
        self.state.send_replace(s);
    }

    fn emit(&self, e: Event) {
        // The owner may have dropped Events; that is fine.
        let _ = self.events.send(e);
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) async fn run(mut self) {
        match std::mem::replace(&mut self.source, Source::Passive(None)) {
            Source::Passive(Some(stream)) => {
                self.generation = 1;
                self.emit(Event::Connected { generation: 1 });
                if let End::Lost(e) = self.run_connection(stream).await {
                    tracing::debug!(error = %e, "passive OVSDB session ended");
                    self.emit(Event::Disconnected { error: e.to_string() });
                }
            }
            Source::Passive(None) => {}
            Source::Active(endpoint) => self.run_active(endpoint).await,
        }
        self.set_state(ConnectionState::Closed);
        self.fail_pending();
        // Fail whatever is still queued.
        self.cmd_rx.close();
        while let Ok(cmd) = self.cmd_rx.try_recv() {
            self.reply_offline(cmd, || Error::Closed);
        }
    }

    async fn run_active(&mut self, endpoint: Endpoint) {
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            self.set_state(ConnectionState::Connecting { attempt });
            let tls = self.config.tls.clone();
            let connect = tokio::time::timeout(self.config.connect_timeout, async { transport::connect(&endpoint, tls.as_ref()).await });
            tokio::pin!(connect);
            let result = loop {
                tokio::select! {
                    r = &mut connect => break r,
                    cmd = self.cmd_rx.recv() => if !self.handle_offline(cmd) { return },
                }
            };
            let error = match result {
                Ok(Ok(stream)) => {
                    self.generation += 1;
                    tracing::debug!(%endpoint, generation = self.generation, "OVSDB connected");
                    self.set_state(ConnectionState::Connected { generation: self.generation });
                    self.emit(Event::Connected { generation: self.generation });
                    let started = Instant::now();
                    let e = match self.run_connection(stream).await {
                        End::Closed => return,
                        End::Lost(e) => e,
                    };
                    tracing::info!(%endpoint, error = %e, "OVSDB connection lost");
                    self.emit(Event::Disconnected { error: e.to_string() });
                    if started.elapsed() >= self.config.backoff.max {
                        attempt = 1;
                    }
                    e
                }
                Ok(Err(e)) => e,
                Err(_) => Error::ConnectTimeout,
            };
            let delay = self.config.backoff.delay(attempt);
            tracing::debug!(%endpoint, attempt, ?delay, error = %error, "OVSDB backing off");
            self.set_state(ConnectionState::Backoff { attempt, delay, error: error.to_string() });
            let sleep = tokio::time::sleep(delay);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    _ = &mut sleep => break,
                    cmd = self.cmd_rx.recv() => if !self.handle_offline(cmd) { return },
                }
            }
        }
    }

    /// Handles a command while not connected. Returns false to shut down.
    fn handle_offline(&mut self, cmd: Option<Command>) -> bool {
        match cmd {
            None | Some(Command::Close) => false,
            Some(cmd) => {
                self.reply_offline(cmd, || Error::NotConnected);
                true
            }
        }
    }

    fn reply_offline(&mut self, cmd: Command, err: impl Fn() -> Error) {
        match cmd {
            Command::Request { reply, .. } => {
                let _ = reply.send(Err(err()));
            }
            Command::Monitor { reply, .. } => {
                let _ = reply.send(Err(err()));
            }
            Command::MonitorCancel { monitor, reply } => {
                let known = self.monitors.remove(&monitor).is_some();
                let _ = reply.send(if known { Ok(()) } else { Err(Error::UnknownMonitor(monitor)) });
            }
            Command::MonitorCondChange { reply, .. } => {
                let _ = reply.send(Err(err()));
            }
            Command::Notify { .. } | Command::Close => {}
        }
    }

    /// Fails every pending request after a connection ends. Monitors that
    /// were being set up for the first time are dropped; established ones
    /// are kept for the next connection.
    fn fail_pending(&mut self) {
        for (_, p) in self.pending.drain() {
            match p {
                Pending::User(tx) => {
                    let _ = tx.send(Err(Error::Disconnected));
                }
                Pending::MonitorStart { monitor, reply: Some(tx) } => {
                    self.monitors.remove(&monitor);
                    let _ = tx.send(Err(Error::Disconnected));
                }
                Pending::MonitorCancel { monitor, reply } => {
                    self.monitors.remove(&monitor);
                    let _ = reply.send(Ok(()));
                }
                Pending::CondChange { reply, .. } => {
                    let _ = reply.send(Err(Error::Disconnected));
                }
                Pending::MonitorStart { reply: None, .. } | Pending::Relock { .. } | Pending::Internal => {}
            }
        }
    }

    async fn run_connection(&mut self, stream: BoxStream) -> End {
        let mut conn = Conn::new(stream, MessageCodec::new(self.config.max_message_size));
        let end = self.connection_loop(&mut conn).await;
        self.fail_pending();
        end
    }

    async fn connection_loop(&mut self, conn: &mut Conn) -> End {
        if let Err(e) = self.reestablish(conn).await {
            return End::Lost(e);
        }
        let probe = self.config.inactivity_probe;
        let mut last_rx = Instant::now();
        let mut probe_sent = false;
        loop {
            let deadline = probe.map(|p| last_rx + if probe_sent { p * 2 } else { p });
            let deadline = deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(86400));
            tokio::select! {
                biased;
                e = &mut conn.write_failed => {
                    return End::Lost(e.unwrap_or(Error::Disconnected));
                }
                msg = conn.rx.next() => {
                    let msg = match msg {
                        None => return End::Lost(Error::Io(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof, "connection closed by peer"))),
                        Some(Err(e)) => return End::Lost(e),
                        Some(Ok(m)) => m,
                    };
                    last_rx = Instant::now();
                    probe_sent = false;
                    if let Err(e) = self.handle_incoming(conn, msg).await {
                        return End::Lost(e);
                    }
                    if let Err(e) = conn.flush().await {
                        return End::Lost(e);
                    }
                }
                cmd = self.cmd_rx.recv() => {
                    let Some(cmd) = cmd else { return End::Closed };
                    match self.handle_commands(conn, cmd).await {
                        Ok(true) => {}
                        Ok(false) => return End::Closed,
                        Err(e) => return End::Lost(e),
                    }
                }
                _ = tokio::time::sleep_until(deadline), if probe.is_some() => {
                    if probe_sent {
                        return End::Lost(Error::InactivityTimeout(probe.unwrap_or_default() * 2));
                    }
                    let id = self.next_id();
                    self.pending.insert(id, Pending::Internal);
                    if let Err(e) = conn.send(Message::request(id, "echo", vec![])).await {
                        return End::Lost(e);
                    }
                    probe_sent = true;
                }
            }
        }
    }

    /// Re-sends every registered monitor and lock on a new connection.
    async fn reestablish(&mut self, conn: &mut Conn) -> Result<(), Error> {
        if self.config.db_change_aware {
            let id = self.next_id();
            self.pending.insert(id, Pending::Internal);
            conn.feed(Message::request(id, "set_db_change_aware", vec![Json::Bool(true)])).await?;
        }
        let monitors: Vec<u64> = self.monitors.keys().copied().collect();
        for m in monitors {
            self.send_monitor(conn, m, None).await?;
        }
        for lock in self.locks.clone() {
            let id = self.next_id();
            self.pending.insert(id, Pending::Relock { lock: lock.clone() });
            conn.feed(Message::request(id, "lock", vec![lock.into()])).await?;
        }
        conn.flush().await
    }

    async fn send_monitor(&mut self, conn: &mut Conn, monitor: u64, reply: Option<oneshot::Sender<Result<MonitorStarted, Error>>>) -> Result<(), Error> {
        let Some(m) = self.monitors.get(&monitor) else { return Ok(()) };
        let params = monitor_params(m.method, &m.db, &m.json_id, &m.requests, m.last_txn_id);
        let method = m.method.as_str();
        let id = self.next_id();
        self.pending.insert(id, Pending::MonitorStart { monitor, reply });
        conn.feed(Message::request(id, method, params)).await
    }

    /// Handles `first` and then whatever else is already queued, flushing
    /// once (this is what makes pipelining cheap). Returns false to close.
    async fn handle_commands(&mut self, conn: &mut Conn, first: Command) -> Result<bool, Error> {
        let mut next = Some(first);
        let mut n = 0;
        while let Some(cmd) = next.take() {
            match cmd {
                Command::Close => return Ok(false),
                Command::Request { id, method, params, reply } => {
                    match method.as_str() {
                        "lock" | "steal" => {
                            if let Some(Json::String(l)) = params.first() {
                                self.locks.insert(l.clone());
                            }
                        }
                        "unlock" => {
                            if let Some(Json::String(l)) = params.first() {
                                self.locks.remove(l);
                            }
                        }
                        _ => {}
                    }
                    self.pending.insert(id, Pending::User(reply));
                    conn.feed(Message::request(id, method, params)).await?;
                }
                Command::Notify { method, params } => {
                    conn.feed(Message::notification(method, params)).await?;
                }
                Command::Monitor { monitor, db, requests, method, fallback, reply } => {
                    self.monitors
                        .insert(monitor, MonitorEntry { json_id: Json::String(format!("mon-{monitor}")), db, requests, method, fallback, last_txn_id: None });
                    self.send_monitor(conn, monitor, Some(reply)).await?;
                }
                Command::MonitorCancel { monitor, reply } => match self.monitors.get(&monitor) {
                    None => {
                        let _ = reply.send(Err(Error::UnknownMonitor(monitor)));
                    }
                    Some(m) => {
                        let id = self.next_id();
                        let params = vec![m.json_id.clone()];
                        self.pending.insert(id, Pending::MonitorCancel { monitor, reply });
                        conn.feed(Message::request(id, "monitor_cancel", params)).await?;
                    }
                },
                Command::MonitorCondChange { monitor, changes, reply } => match self.monitors.get(&monitor) {
                    None => {
                        let _ = reply.send(Err(Error::UnknownMonitor(monitor)));
                    }
                    Some(m) if m.method == MonitorMethod::Monitor => {
                        let _ = reply.send(Err(Error::Protocol(ProtocolError::new("monitor_cond_change needs a monitor_cond or monitor_cond_since monitor"))));
                    }
                    Some(m) => {
                        let id = self.next_id();
                        let reqs: serde_json::Map<String, Json> = changes
                            .iter()
                            .map(|(t, w)| {
                                let w = Json::Array(w.iter().map(Condition::to_json).collect());
                                (t.clone(), serde_json::json!([{ "where": w }]))
                            })
                            .collect();
                        let params = vec![m.json_id.clone(), m.json_id.clone(), Json::Object(reqs)];
                        self.pending.insert(id, Pending::CondChange { monitor, changes, reply });
                        conn.feed(Message::request(id, "monitor_cond_change", params)).await?;
                    }
                },
            }
            n += 1;
            if n < 256 {
                next = self.cmd_rx.try_recv().ok();
            }
        }
        conn.flush().await?;
        Ok(true)
    }

    async fn handle_incoming(&mut self, conn: &mut Conn, msg: Message) -> Result<(), Error> {
        match msg {
            Message::Request { id, method, params } => {
                let reply = if method == "echo" {
                    Message::response(id, Json::Array(params))
                } else {
                    Message::error_response(id, Json::String("unknown method".into()))
                };
                conn.feed(reply).await?;
            }
            Message::Notification { method, params } => self.handle_notification(method, params)?,
            Message::Response { id, result } => {
                let Some(p) = id.as_u64().and_then(|id| self.pending.remove(&id)) else {
                    tracing::debug!(%id, "response to an unknown request");
                    return Ok(());
                };
                self.handle_response(conn, p, result).await?;
            }
        }
        Ok(())
    }

    fn monitor_by_json_id(&self, id: &Json) -> Option<u64> {
        self.monitors.iter().find(|(_, m)| m.json_id == *id).map(|(k, _)| *k)
    }

    fn handle_notification(&mut self, method: String, params: Vec<Json>) -> Result<(), Error> {
        if let Some(parsed) = UpdateNotification::from_params(&method, &params) {
            let n = parsed?;
            match self.monitor_by_json_id(&n.monitor_id) {
                Some(m) => {
                    if let (Some(t), Some(entry)) = (n.last_txn_id, self.monitors.get_mut(&m)) {
                        entry.last_txn_id = Some(t);
                    }
                    self.emit(Event::Update { monitor: MonitorId(m), last_txn_id: n.last_txn_id, updates: n.updates });
                }
                None => tracing::debug!(id = %n.monitor_id, "update for an unknown monitor"),
            }
            return Ok(());
        }
        let first_str = params.first().and_then(Json::as_str).map(str::to_owned);
        match (method.as_str(), first_str) {
            ("locked", Some(lock)) => self.emit(Event::Locked { lock }),
            ("stolen", Some(lock)) => {
                self.locks.remove(&lock);
                self.emit(Event::Stolen { lock });
            }
            ("monitor_canceled", _) => {
                if let Some(m) = params.first().and_then(|id| self.monitor_by_json_id(id)) {
                    self.monitors.remove(&m);
                    self.emit(Event::MonitorLost { monitor: MonitorId(m), error: "monitor canceled by the server".into() });
                }
            }
            _ => self.emit(Event::Notification { method, params }),
        }
        Ok(())
    }

    async fn handle_response(&mut self, conn: &mut Conn, pending: Pending, result: Result<Json, RpcError>) -> Result<(), Error> {
        match pending {
            Pending::User(tx) => {
                let _ = tx.send(result.map_err(Error::Rpc));
            }
            Pending::Internal => {}
            Pending::Relock { lock } => {
                if let Ok(r) = result {
                    if r.get("locked").and_then(Json::as_bool) == Some(true) {
                        self.emit(Event::Locked { lock });
                    }
                }
            }
            Pending::MonitorCancel { monitor, reply } => {
                self.monitors.remove(&monitor);
                let _ = reply.send(result.map(|_| ()).map_err(Error::Rpc));
            }
            Pending::MonitorStart { monitor, reply } => {
                self.handle_monitor_reply(conn, monitor, reply, result).await?;
            }
            Pending::CondChange { monitor, changes, reply } => {
                if result.is_ok() {
                    // Remember the new conditions for re-establishment.
                    if let Some(m) = self.monitors.get_mut(&monitor) {
                        for (table, where_) in changes {
                            for r in m.requests.0.entry(table).or_default().iter_mut() {
                                r.where_ = Some(where_.clone());
                            }
                        }
                    }
                }
                let _ = reply.send(result.map(|_| ()).map_err(Error::Rpc));
            }
        }
        Ok(())
    }

    async fn handle_monitor_reply(
        &mut self,
        conn: &mut Conn,
        monitor: u64,
        reply: Option<oneshot::Sender<Result<MonitorStarted, Error>>>,
        result: Result<Json, RpcError>,
    ) -> Result<(), Error> {
        let Some(entry) = self.monitors.get_mut(&monitor) else {
            // Cancelled meanwhile.
            if let Some(tx) = reply {
                let _ = tx.send(Err(Error::UnknownMonitor(monitor)));
            }
            return Ok(());
        };
        let method = entry.method;
        let parsed = match result {
            Err(e) if e.error == "unknown method" && entry.fallback && method.fallback().is_some() => {
                let next = method.fallback().unwrap_or(MonitorMethod::Monitor);
                tracing::debug!(from = method.as_str(), to = next.as_str(), "server lacks monitor method, falling back");
                entry.method = next;
                entry.last_txn_id = None;
                return self.send_monitor(conn, monitor, reply).await;
            }
            Err(e) => Err(Error::Rpc(e)),
            Ok(json) => parse_monitor_reply(method, &json),
        };
        match parsed {
            Ok((found, last_txn_id, updates)) => {
                if last_txn_id.is_some() {
                    entry.last_txn_id = last_txn_id;
                }
                let id = MonitorId(monitor);
                match reply {
                    Some(tx) => {
                        let _ = tx.send(Ok(MonitorStarted { id, method, found, last_txn_id, updates }));
                    }
                    None => self.emit(Event::MonitorRestarted { monitor: id, method, found, last_txn_id, updates }),
                }
            }
            Err(e) => {
                self.monitors.remove(&monitor);
                match reply {
                    Some(tx) => {
                        let _ = tx.send(Err(e));
                    }
                    None => self.emit(Event::MonitorLost { monitor: MonitorId(monitor), error: e.to_string() }),
                }
            }
        }
        Ok(())
    }
}

fn parse_monitor_reply(method: MonitorMethod, json: &Json) -> Result<(bool, Option<Uuid>, Updates), Error> {
    match method {
        MonitorMethod::MonitorCondSince => {
            let r = CondSinceReply::from_json(json)?;
            Ok((r.found, Some(r.last_txn_id), Updates::V2(r.updates)))
        }
        m => {
            let u = Updates::from_json(json, m).map_err(|e| ProtocolError::new(e.to_string()))?;
            Ok((false, None, u))
        }
    }
}
