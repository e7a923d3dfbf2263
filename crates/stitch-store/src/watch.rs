//! Fan-out of committed batches to watchers. Backends publish while holding
//! their commit lock, and register watchers under that same lock after
//! replaying history, so a watcher sees every revision exactly once, in order.

use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::types::{StoreError, WatchBatch, WatchStream};

struct Watcher {
    prefix: String,
    tx: mpsc::UnboundedSender<Result<WatchBatch, StoreError>>,
}

#[derive(Default)]
pub(crate) struct Hub {
    watchers: Mutex<Vec<Watcher>>,
}

pub(crate) fn filter(batch: &WatchBatch, prefix: &str) -> Option<WatchBatch> {
    let events: Vec<_> = batch.events.iter().filter(|e| e.kv.key.starts_with(prefix)).cloned().collect();
    (!events.is_empty()).then(|| WatchBatch { revision: batch.revision, events })
}

impl Hub {
    /// Deliver a committed batch to every live watcher whose prefix matches.
    pub(crate) fn publish(&self, batch: &WatchBatch) {
        let mut ws = self.watchers.lock().unwrap_or_else(|e| e.into_inner());
        ws.retain(|w| match filter(batch, &w.prefix) {
            Some(b) => w.tx.send(Ok(b)).is_ok(),
            None => !w.tx.is_closed(),
        });
    }

    /// Register a watcher after sending it `history` (already filtered or not).
    pub(crate) fn register(&self, prefix: &str, history: Vec<WatchBatch>) -> WatchStream {
        let (tx, rx) = mpsc::unbounded_channel();
        for b in history {
            if let Some(b) = filter(&b, prefix) {
                let _ = tx.send(Ok(b));
            }
        }
        self.watchers.lock().unwrap_or_else(|e| e.into_inner()).push(Watcher { prefix: prefix.to_string(), tx });
        rx
    }

    /// A watch that fails at once (e.g. its start revision was compacted).
    pub(crate) fn failed(err: StoreError) -> WatchStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Err(err));
        rx
    }
}
