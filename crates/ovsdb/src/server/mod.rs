//! A lightweight in-process OVSDB server speaking the real protocol over
//! TCP: for tests and for fabric-scale simulations where starting a
//! thousand `ovsdb-server` processes is not practical.
//!
//! What it does (RFC 7047 and ovsdb-server(7)):
//!
//! * methods `list_dbs`, `get_schema`, `echo` (and it sends its own `echo`
//!   probe after [`ServerConfig::inactivity_probe`] of silence, dropping
//!   the peer after two), `transact`, `monitor`, `monitor_cond`,
//!   `monitor_cond_since`, `monitor_cancel`, `set_db_change_aware`;
//!   notifications `update`, `update2`, `update3`; `cancel` is ignored;
//! * every operation: insert (with `uuid-name`, forward references and the
//!   OVS `uuid` member), select, update, mutate, delete, wait, commit,
//!   abort, comment; each transaction commits atomically or not at all,
//!   after garbage collection of unreferenced rows of non-root tables,
//!   referential integrity of strong references (weak ones are removed),
//!   unique indexes and `maxRows`;
//! * malformed input gets a JSON-RPC error or an operation error, never a
//!   panic; a byte stream that is not JSON closes the connection, as with
//!   ovsdb-server.
//!
//! What it does not do: persistence (memory only), clustering, TLS and unix
//! sockets, locks (`lock`/`steal`/`unlock` answer "unknown method" and
//! `assert` fails with "not owner"), `monitor_cond_change`, `convert`,
//! blocking `wait` (a wait that does not hold fails with "timed out" at
//! once, whatever its timeout), transaction history
//! (`monitor_cond_since` resumes — `found` true — only from the latest
//! transaction id, otherwise it sends everything), `ephemeral` columns
//! are stored like the others.

mod db;
mod monitor;
mod mutate;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value as Json, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_util::codec::{FramedRead, FramedWrite};

pub use db::{Change, Database, OpError, Outcome};

use crate::codec::{DEFAULT_MAX_MESSAGE_SIZE, FrameCodec, MessageCodec, write_batched};
use crate::message::Message;
use crate::monitor::MonitorMethod;
use monitor::Monitor;

/// How a [`Server`] behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Send an `echo` after this long without hearing from a peer; drop it
    /// after twice as long. `None`: never. Default 5 s, as ovsdb-server.
    pub inactivity_probe: Option<Duration>,
    /// Largest message accepted.
    pub max_message_size: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { inactivity_probe: Some(Duration::from_secs(5)), max_message_size: DEFAULT_MAX_MESSAGE_SIZE }
    }
}

/// Counters of what a server received and did (monotonic; compare two
/// [`Server::stats`] snapshots).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted.
    pub connections: u64,
    /// Requests received (every method).
    pub requests: u64,
    /// `transact` requests received.
    pub transactions: u64,
    /// Transactions that committed at least one row change.
    pub writing_transactions: u64,
    /// insert/update/mutate/delete operations received.
    pub write_ops: u64,
    /// Rows inserted, modified or deleted by committed transactions
    /// (garbage collection included).
    pub rows_changed: u64,
    /// `echo` probes this server sent.
    pub echoes_sent: u64,
    /// Replies to those probes.
    pub echo_replies: u64,
    /// Malformed messages and requests answered with an error.
    pub errors: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    requests: AtomicU64,
    transactions: AtomicU64,
    writing_transactions: AtomicU64,
    write_ops: AtomicU64,
    rows_changed: AtomicU64,
    echoes_sent: AtomicU64,
    echo_replies: AtomicU64,
    errors: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

struct Session {
    out: mpsc::UnboundedSender<Message>,
    monitors: Vec<Monitor>,
}

struct State {
    dbs: Vec<Database>,
    sessions: HashMap<u64, Session>,
    next_session: u64,
}

struct Shared {
    state: Mutex<State>,
    counters: Counters,
    config: ServerConfig,
}

/// A running server. Dropping it stops it and closes its connections.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Server {
    /// Listens on `addr` (e.g. `127.0.0.1:0`) serving `dbs`. Must run in a
    /// tokio runtime.
    pub async fn start(addr: &str, dbs: Vec<Database>, config: ServerConfig) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared { state: Mutex::new(State { dbs, sessions: HashMap::new(), next_session: 0 }), counters: Counters::default(), config });
        let (stop, stopped) = watch::channel(false);
        let s = shared.clone();
        tokio::spawn(async move {
            let mut stopped = stopped;
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    r = listener.accept() => match r {
                        Ok((stream, _)) => {
                            bump(&s.counters.connections, 1);
                            tokio::spawn(serve(s.clone(), stream, stopped.clone()));
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    },
                }
            }
        });
        Ok(Server { shared, addr, stop })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The remote to give clients: `tcp:IP:PORT`.
    pub fn target(&self) -> String {
        format!("tcp:{}", self.addr)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            connections: g(&c.connections),
            requests: g(&c.requests),
            transactions: g(&c.transactions),
            writing_transactions: g(&c.writing_transactions),
            write_ops: g(&c.write_ops),
            rows_changed: g(&c.rows_changed),
            echoes_sent: g(&c.echoes_sent),
            echo_replies: g(&c.echo_replies),
            errors: g(&c.errors),
        }
    }

    /// Reads a database in place (e.g. to check what landed).
    pub fn read<R>(&self, db: &str, f: impl FnOnce(&Database) -> R) -> Option<R> {
        let st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.dbs.iter().find(|d| d.name() == db).map(f)
    }

    /// Runs a transaction in-process (as a connected client's would run,
    /// monitors notified, counted in [`stats`](Self::stats)). Returns the
    /// `result` array, or `None` for an unknown database.
    pub fn transact(&self, db: &str, ops: &[crate::ops::Operation]) -> Option<Vec<Json>> {
        let ops: Vec<Json> = ops.iter().map(crate::ops::Operation::to_json).collect();
        transact(&self.shared, db, &ops).ok()
    }
}

/// Runs one transaction and notifies every monitor of the database, all
/// under the state lock (so notifications keep commit order).
fn transact(shared: &Shared, db: &str, ops: &[Json]) -> Result<Vec<Json>, OpError> {
    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let st = &mut *st;
    let d = st.dbs.iter_mut().find(|d| d.name() == db).ok_or_else(|| OpError::new("unknown database", format!("no database named {db}")))?;
    bump(&shared.counters.transactions, 1);
    let outcome = d.transact(ops);
    bump(&shared.counters.write_ops, outcome.write_ops);
    if !outcome.changes.is_empty() {
        bump(&shared.counters.writing_transactions, 1);
        bump(&shared.counters.rows_changed, outcome.changes.len() as u64);
        let txn = d.last_txn_id().hyphenated().to_string();
        for s in st.sessions.values() {
            for m in s.monitors.iter().filter(|m| m.db == db) {
                let Some(u) = m.updates(d, &outcome.changes) else { continue };
                let note = match m.method {
                    MonitorMethod::Monitor => Message::notification("update", vec![m.id.clone(), u]),
                    MonitorMethod::MonitorCond => Message::notification("update2", vec![m.id.clone(), u]),
                    MonitorMethod::MonitorCondSince => Message::notification("update3", vec![m.id.clone(), Json::String(txn.clone()), u]),
                };
                let _ = s.out.send(note);
            }
        }
    }
    Ok(outcome.results)
}

fn rpc_error(e: OpError) -> Json {
    e.to_json()
}

/// Answers one request of session `sid`.
fn handle(shared: &Shared, sid: u64, method: &str, params: &[Json]) -> Result<Json, Json> {
    let db_param = || {
        params.first().and_then(Json::as_str).ok_or_else(|| rpc_error(OpError::new("syntax error", format!("{method}: first param is not a database name"))))
    };
    match method {
        "echo" => Ok(Json::Array(params.to_vec())),
        "list_dbs" => {
            let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            Ok(Json::Array(st.dbs.iter().map(|d| Json::String(d.name().to_owned())).collect()))
        }
        "get_schema" => {
            let name = db_param()?;
            let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            st.dbs
                .iter()
                .find(|d| d.name() == name)
                .map(|d| d.schema_json().clone())
                .ok_or_else(|| rpc_error(OpError::new("unknown database", format!("no database named {name}"))))
        }
        "transact" => {
            let name = db_param()?;
            transact(shared, name, &params[1..]).map(Json::Array).map_err(rpc_error)
        }
        "monitor" | "monitor_cond" | "monitor_cond_since" => {
            let m = match method {
                "monitor" => MonitorMethod::Monitor,
                "monitor_cond" => MonitorMethod::MonitorCond,
                _ => MonitorMethod::MonitorCondSince,
            };
            start_monitor(shared, sid, m, params)
        }
        "monitor_cancel" => {
            let id = params.first().ok_or_else(|| rpc_error(OpError::new("syntax error", "monitor_cancel needs a monitor id")))?;
            let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            let s = st.sessions.get_mut(&sid).ok_or_else(|| json!("session gone"))?;
            let before = s.monitors.len();
            s.monitors.retain(|m| m.id != *id);
            if s.monitors.len() == before { Err(rpc_error(OpError::new("unknown monitor", format!("no monitor {id}")))) } else { Ok(json!({})) }
        }
        "set_db_change_aware" => Ok(json!({})),
        _ => Err(rpc_error(OpError::new("unknown method", format!("{method} is not implemented by this server")))),
    }
}

fn start_monitor(shared: &Shared, sid: u64, method: MonitorMethod, params: &[Json]) -> Result<Json, Json> {
    let want = if method == MonitorMethod::MonitorCondSince { 4 } else { 3 };
    if params.len() != want && !(method == MonitorMethod::MonitorCondSince && params.len() == 3) {
        return Err(rpc_error(OpError::new("syntax error", format!("{} takes {want} params, got {}", method.as_str(), params.len()))));
    }
    let name = params[0].as_str().ok_or_else(|| rpc_error(OpError::new("syntax error", "first param is not a database name")))?;
    let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let st = &mut *st;
    let d = st.dbs.iter().find(|d| d.name() == name).ok_or_else(|| rpc_error(OpError::new("unknown database", format!("no database named {name}"))))?;
    let m = Monitor::parse(method, params[1].clone(), d, &params[2]).map_err(rpc_error)?;
    let s = st.sessions.get_mut(&sid).ok_or_else(|| json!("session gone"))?;
    if s.monitors.iter().any(|x| x.id == m.id) {
        return Err(rpc_error(OpError::new("duplicate monitor ID", format!("monitor {} already exists", m.id))));
    }
    let reply = match method {
        MonitorMethod::MonitorCondSince => {
            let last = d.last_txn_id();
            let asked = params.get(3).and_then(Json::as_str).and_then(|s| crate::notation::parse_uuid(s).ok());
            let found = asked == Some(last);
            let updates = if found { json!({}) } else { m.initial(d) };
            json!([found, last.hyphenated().to_string(), updates])
        }
        _ => m.initial(d),
    };
    s.monitors.push(m);
    Ok(reply)
}

/// One connection: a reader (this task) and a writer fed by a channel, so
/// notifications from other sessions' commits interleave safely.
async fn serve(shared: Arc<Shared>, stream: TcpStream, mut stopped: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut reader = FramedRead::new(r, FrameCodec::new(shared.config.max_message_size));
    let (out, mut queue) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        let _ = write_batched(FramedWrite::new(w, MessageCodec::default()), &mut queue).await;
    });
    let sid = {
        let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.next_session += 1;
        let sid = st.next_session;
        st.sessions.insert(sid, Session { out: out.clone(), monitors: Vec::new() });
        sid
    };
    let probe = shared.config.inactivity_probe;
    let mut probing = false;
    loop {
        let wait = probe.unwrap_or(Duration::from_secs(86400));
        let frame = tokio::select! {
            _ = stopped.changed() => break,
            f = tokio::time::timeout(wait, reader.next()) => f,
        };
        let frame = match frame {
            Err(_) if probe.is_some() && !probing => {
                probing = true;
                bump(&shared.counters.echoes_sent, 1);
                let _ = out.send(Message::request("echo", "echo", vec![]));
                continue;
            }
            Err(_) => {
                tracing::debug!("OVSDB peer silent for two probe intervals: dropping it");
                break;
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "OVSDB peer sent a malformed stream: closing");
                bump(&shared.counters.errors, 1);
                break;
            }
            Ok(Some(Ok(f))) => f,
        };
        probing = false;
        let json: Json = match serde_json::from_slice(&frame) {
            Ok(j) => j,
            Err(e) => {
                tracing::debug!(error = %e, "invalid JSON: closing");
                bump(&shared.counters.errors, 1);
                break;
            }
        };
        let id = json.get("id").cloned();
        match Message::from_json(json) {
            Ok(Message::Request { id, method, params }) => {
                bump(&shared.counters.requests, 1);
                let reply = handle(&shared, sid, &method, &params);
                let msg = match reply {
                    Ok(r) => Message::response(id, r),
                    Err(e) => {
                        bump(&shared.counters.errors, 1);
                        Message::error_response(id, e)
                    }
                };
                let _ = out.send(msg);
            }
            Ok(Message::Notification { .. }) => {} // cancel and friends
            Ok(Message::Response { id, .. }) => {
                if id == json!("echo") {
                    bump(&shared.counters.echo_replies, 1);
                }
            }
            Err(e) => {
                bump(&shared.counters.errors, 1);
                // A JSON object that is no JSON-RPC message: answer it if
                // it has an id to answer, else ignore it.
                if let Some(id) = id.filter(|i| !i.is_null()) {
                    let _ = out.send(Message::error_response(id, OpError::new("syntax error", e.to_string()).to_json()));
                }
            }
        }
    }
    shared.state.lock().unwrap_or_else(|e| e.into_inner()).sessions.remove(&sid);
    drop(out);
    let _ = writer.await;
}
