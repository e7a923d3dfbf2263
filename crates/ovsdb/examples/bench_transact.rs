//! Pipelined `transact` throughput against a real ovsdb-server (started
//! here, in a temp dir), as a ratio to one-request-at-a-time.
//!
//! ```text
//! cargo run --release -p ovsdb --example bench_transact [N] [WINDOW] [unix|tcp]
//! ```
//!
//! Two workloads of N transactions (default 5000): each inserts one
//! `Logical_Switch` row (a write the server commits to its log), or each
//! selects one row by name (read-only, so the server's commit cost does not
//! hide the protocol's). The sequential baseline awaits each reply before
//! sending the next request; the pipelined run keeps up to WINDOW (default
//! 256) requests in flight on the same connection. Both runs use the same
//! server and connection; the table is emptied between insert runs.

#[path = "../tests/it/server.rs"]
mod server;

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use ovsdb::{Client, ClientConfig, Condition, Operation, Row};
use server::{DB, Opts, OvsdbServer};

#[derive(Clone, Copy)]
enum Workload {
    Insert,
    Select,
}

fn txn(w: Workload, prefix: &str, i: usize) -> Vec<Operation> {
    match w {
        Workload::Insert => {
            vec![Operation::insert("Logical_Switch", Row::new().with("name", format!("{prefix}-{i}")))]
        }
        Workload::Select => vec![Operation::select("Logical_Switch", vec![Condition::eq("name", format!("fixed-{}", i % 100))])],
    }
}

async fn clear(client: &Client) {
    client.transact(DB, &[Operation::delete("Logical_Switch", vec![])]).await.unwrap().into_result().unwrap();
}

async fn sequential(client: &Client, w: Workload, n: usize) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        client.transact(DB, &txn(w, "seq", i)).await.unwrap().into_result().unwrap();
    }
    start.elapsed()
}

async fn pipelined(client: &Client, w: Workload, n: usize, window: usize) -> Duration {
    let start = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut next = 0;
    let mut done = 0;
    while done < n {
        while next < n && in_flight.len() < window {
            in_flight.push(client.start_transact(DB, &txn(w, "pipe", next)).unwrap().into_future());
            next += 1;
        }
        if let Some(r) = in_flight.next().await {
            r.unwrap().into_result().unwrap();
            done += 1;
        }
    }
    start.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let window: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let tcp = args.next().as_deref() == Some("tcp");

    let server = OvsdbServer::start(Opts { tcp, ..Opts::default() });
    let remote = match server.tcp_port {
        Some(p) => format!("tcp:127.0.0.1:{p}"),
        None => server.unix_remote(),
    };
    let (client, _events) = Client::connect(remote.parse().unwrap(), ClientConfig::default()).unwrap();
    client.wait_connected().await.unwrap();

    println!("ovsdb-server {} over {remote}, {n} transactions per run, window {window}", version());
    for (w, name) in [(Workload::Insert, "insert"), (Workload::Select, "select")] {
        if let Workload::Select = w {
            let rows: Vec<_> = (0..100).map(|i| Operation::insert("Logical_Switch", Row::new().with("name", format!("fixed-{i}")))).collect();
            client.transact(DB, &rows).await.unwrap().into_result().unwrap();
        }
        // Warm up both paths.
        sequential(&client, w, 100).await;
        pipelined(&client, w, 100, window).await;
        if let Workload::Insert = w {
            clear(&client).await;
        }
        let seq = sequential(&client, w, n).await;
        if let Workload::Insert = w {
            clear(&client).await;
        }
        let pipe = pipelined(&client, w, n, window).await;
        clear(&client).await;
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        println!("{name:<6}  sequential {:>8.0} txn/s   pipelined {:>8.0} txn/s   ratio {:.2}x", rate(seq), rate(pipe), seq.as_secs_f64() / pipe.as_secs_f64());
    }
}

fn version() -> String {
    std::process::Command::new("ovsdb-server")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().last().map(str::to_owned))
        .unwrap_or_default()
}
