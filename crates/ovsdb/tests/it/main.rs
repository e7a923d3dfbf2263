//! Integration tests of the `ovsdb` crate against a real ovsdb-server
//! (vtep schema), a scripted fake server, and the fuzz corpus.

mod certs;
mod fake;
mod server;

mod basic;
mod corpus;
mod inproc;
mod locks;
mod monitor;
mod passive;
mod reconnect;
mod scripted;
mod transports;

use std::time::Duration;

use ovsdb::{Backoff, Client, ClientConfig, Event, Events};

pub use server::{DB, Opts, OvsdbServer};

/// A hang guard for waiting on events; tests never assert on timing.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_test_writer().try_init();
}

/// Fast reconnects, for tests.
pub fn test_config() -> ClientConfig {
    ClientConfig { backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(400), jitter: 0.5 }, ..ClientConfig::default() }
}

pub async fn connect(remote: &str, config: ClientConfig) -> (Client, Events) {
    init_tracing();
    let (client, events) = Client::connect(remote.parse().expect("remote"), config).expect("client");
    tokio::time::timeout(PATIENCE, client.wait_connected()).await.expect("connected in time").expect("connected");
    (client, events)
}

/// Waits for the first event matching `pred`, skipping others.
pub async fn expect_event(events: &mut Events, what: &str, mut pred: impl FnMut(&Event) -> bool) -> Event {
    let fut = async {
        loop {
            match events.recv().await {
                Some(e) if pred(&e) => return e,
                Some(_) => {}
                None => panic!("event stream ended while waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, fut).await.unwrap_or_else(|_| panic!("no {what} event"))
}
