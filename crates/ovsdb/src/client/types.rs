//! Client configuration, connection state and events.

use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::codec::DEFAULT_MAX_MESSAGE_SIZE;
use crate::monitor::{MonitorMethod, Updates};
use crate::transport::TlsConfig;

/// Reconnection backoff: exponential from `initial` to `max`, each delay
/// reduced by a random fraction of up to `jitter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
    /// Fraction (0.0–1.0) of each delay that is randomized away.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(8), jitter: 0.5 }
    }
}

impl Backoff {
    /// The delay before reconnection attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return base;
        }
        let cut = rand::random::<f64>() * jitter;
        base.mul_f64(1.0 - cut)
    }
}

/// How a [`Client`](super::Client) behaves.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// After this long without receiving anything, send an `echo`; if
    /// nothing arrives for another interval, drop the connection.
    /// `None` disables the probe. Default 5 s, as Open vSwitch.
    pub inactivity_probe: Option<Duration>,
    /// Reconnection backoff (active connections only).
    pub backoff: Backoff,
    /// Limit on connecting (including the TLS handshake).
    pub connect_timeout: Duration,
    /// Largest message accepted from the peer.
    pub max_message_size: usize,
    /// TLS settings for `ssl:` and `pssl:`.
    pub tls: Option<TlsConfig>,
    /// Send the OVS `set_db_change_aware` request on each connection
    /// (default true). ovsdb-server then answers a cancelled request with
    /// `"canceled"` and reports removed databases with `monitor_canceled`
    /// instead of dropping the connection; without it ovsdb-server (3.x)
    /// drops a cancelled request silently. Servers without the method
    /// answer with an error, which is ignored.
    pub db_change_aware: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            inactivity_probe: Some(Duration::from_secs(5)),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            tls: None,
            db_change_aware: true,
        }
    }
}

/// The connection's state, observable through
/// [`Client::state`](super::Client::state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Trying to connect.
    Connecting {
        /// Attempt number since the last established connection.
        attempt: u32,
    },
    /// Connected; `generation` counts connections made so far.
    Connected {
        /// 1 for the first connection, 2 after the first reconnect, ...
        generation: u64,
    },
    /// Waiting before the next attempt.
    Backoff {
        /// Attempt number that failed.
        attempt: u32,
        /// How long until the next attempt.
        delay: Duration,
        /// Why the last attempt or connection failed.
        error: String,
    },
    /// Shut down (closed by the caller, or a passive session that ended).
    Closed,
}

impl ConnectionState {
    /// True when connected.
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnectionState::Connected { .. })
    }
}

/// Identifies a monitor registered through [`Client::monitor`](super::Client::monitor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorId(pub u64);

impl std::fmt::Display for MonitorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "monitor {}", self.0)
    }
}

/// The answer to a successful monitor request.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorStarted {
    /// The monitor's id.
    pub id: MonitorId,
    /// The method the server accepted (after any fallback).
    pub method: MonitorMethod,
    /// `monitor_cond_since` only: the server resumed from the requested
    /// txn-id and `updates` holds only what changed since.
    pub found: bool,
    /// `monitor_cond_since` only: the last transaction reflected.
    pub last_txn_id: Option<Uuid>,
    /// The initial contents (or, if `found`, the changes since).
    pub updates: Updates,
}

/// Something the client tells its owner, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A connection was established (`generation` as in
    /// [`ConnectionState::Connected`]).
    Connected {
        /// Connection number.
        generation: u64,
    },
    /// The connection was lost; the client reconnects (active) or ends
    /// (passive). Requests in flight failed with
    /// [`Error::Disconnected`](crate::Error::Disconnected).
    Disconnected {
        /// Why.
        error: String,
    },
    /// Rows changed (`update`, `update2` or `update3`).
    Update {
        /// Which monitor.
        monitor: MonitorId,
        /// `update3` only: the transaction id.
        last_txn_id: Option<Uuid>,
        /// The changes.
        updates: Updates,
    },
    /// After a reconnect the monitor was set up again. If `found` is
    /// false, `updates` holds the full current contents: drop everything
    /// cached for this monitor first. If true (`monitor_cond_since`
    /// resumed), `updates` holds only the changes missed while away.
    MonitorRestarted {
        /// Which monitor.
        monitor: MonitorId,
        /// Method now in use.
        method: MonitorMethod,
        /// Whether the server resumed from the last txn-id.
        found: bool,
        /// Last transaction id, for `monitor_cond_since`.
        last_txn_id: Option<Uuid>,
        /// Initial contents or missed changes.
        updates: Updates,
    },
    /// The monitor is gone: the server cancelled it (`monitor_canceled`,
    /// e.g. the database was removed) or it could not be set up again
    /// after a reconnect.
    MonitorLost {
        /// Which monitor.
        monitor: MonitorId,
        /// Why.
        error: String,
    },
    /// `locked`: a lock requested earlier is now held (also sent when a
    /// lock is re-acquired after a reconnect).
    Locked {
        /// Lock name.
        lock: String,
    },
    /// `stolen`: another client took the lock.
    Stolen {
        /// Lock name.
        lock: String,
    },
    /// Any other notification from the server.
    Notification {
        /// Method.
        method: String,
        /// Params.
        params: Vec<Json>,
    },
}

/// The stream of [`Event`]s of one client. It ends when the client shuts
/// down. Unbounded, so the client never blocks on a slow reader: read it.
#[derive(Debug)]
pub struct Events(pub(crate) mpsc::UnboundedReceiver<Event>);

impl Events {
    /// The next event; `None` once the client has shut down.
    pub async fn recv(&mut self) -> Option<Event> {
        self.0.recv().await
    }

    /// The next event if one is ready.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.0.try_recv().ok()
    }

    /// The underlying receiver.
    pub fn into_inner(self) -> mpsc::UnboundedReceiver<Event> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_max_with_bounded_jitter() {
        let b = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1), jitter: 0.0 };
        let d: Vec<_> = (1..=6).map(|a| b.delay(a).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(1000), Duration::from_secs(1));
        let j = Backoff { jitter: 0.5, ..b };
        for a in 1..10 {
            let d = j.delay(a);
            assert!(d <= b.delay(a) && d >= b.delay(a) / 2, "{d:?}");
        }
    }
}
