//! The etcd backend: [`Store`] on an etcd v3 cluster, through etcd's JSON
//! gateway (`/v3/kv/range`, `/v3/kv/txn`, `/v3/watch`, `/v3/kv/compaction`)
//! so no protobuf toolchain is needed to build it.
//!
//! Every key lives under a prefix (default `/stitch/`), so several
//! installations can share a cluster. Revisions are etcd's, shifted by one
//! so that a fresh cluster starts at 0 like the embedded store (etcd's own
//! counter starts at 1). etcd's revision is cluster-wide: writes by other
//! users of the cluster move it too, so revisions have gaps then (nothing in
//! Stitch assumes they do not).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::types::*;

/// etcd's first revision (an empty cluster is at 1, Stitch's stores at 0).
const BASE: u64 = 1;

/// A [`Store`] on an etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    http: reqwest::Client,
    endpoints: Vec<String>,
    prefix: String,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn num(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

fn ours(etcd_rev: u64) -> u64 {
    etcd_rev.saturating_sub(BASE)
}

/// The end of the range of keys that start with `key` (etcd's `range_end`).
fn prefix_end(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0] // every key
}

impl EtcdStore {
    /// Connect to `endpoints` (`http://host:port`; tried in order), keeping
    /// every key under `prefix`. Checks that the cluster answers.
    pub async fn connect(endpoints: Vec<String>, prefix: &str) -> Result<EtcdStore, StoreError> {
        if endpoints.is_empty() {
            return Err(backend("no etcd endpoint given"));
        }
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().map_err(backend)?;
        let s = EtcdStore { http, endpoints: endpoints.iter().map(|e| e.trim_end_matches('/').to_string()).collect(), prefix: prefix.to_string() };
        s.revision().await?;
        Ok(s)
    }

    fn full(&self, key: &str) -> String {
        B64.encode(format!("{}{key}", self.prefix))
    }

    fn strip(&self, b64: &Value) -> Result<String, StoreError> {
        let raw = B64.decode(b64.as_str().unwrap_or_default()).map_err(backend)?;
        let s = String::from_utf8(raw).map_err(backend)?;
        s.strip_prefix(&self.prefix).map(str::to_string).ok_or_else(|| backend(format!("key {s:?} outside prefix")))
    }

    fn kv(&self, v: &Value) -> Result<KeyValue, StoreError> {
        Ok(KeyValue {
            key: self.strip(&v["key"])?,
            value: B64.decode(v["value"].as_str().unwrap_or_default()).map_err(backend)?,
            create_revision: ours(num(&v["create_revision"])),
            mod_revision: ours(num(&v["mod_revision"])),
            version: num(&v["version"]),
        })
    }

    /// POST a gateway call to the first endpoint that answers.
    async fn call(&self, path: &str, body: Value) -> Result<Value, StoreError> {
        let mut last = None;
        for e in &self.endpoints {
            match self.http.post(format!("{e}{path}")).json(&body).send().await {
                Ok(r) => {
                    let status = r.status();
                    let v: Value = r.json().await.map_err(backend)?;
                    if !status.is_success() {
                        return Err(backend(format!("etcd {path}: {status}: {}", v["message"].as_str().unwrap_or(&v.to_string()))));
                    }
                    return Ok(v);
                }
                Err(err) => last = Some(err),
            }
        }
        Err(backend(format!("no etcd endpoint answered: {}", last.map(|e| e.to_string()).unwrap_or_default())))
    }

    fn range_body(&self, prefix: &str) -> Value {
        let key = format!("{}{prefix}", self.prefix);
        json!({"key": B64.encode(&key), "range_end": B64.encode(prefix_end(key.as_bytes()))})
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn revision(&self) -> Result<u64, StoreError> {
        let v = self.call("/v3/kv/range", json!({"key": self.full(""), "count_only": true})).await?;
        Ok(ours(num(&v["header"]["revision"])))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let v = self.call("/v3/kv/range", json!({"key": self.full(key)})).await?;
        v["kvs"].as_array().and_then(|a| a.first()).map(|kv| self.kv(kv)).transpose()
    }

    async fn range(&self, prefix: &str) -> Result<(Vec<KeyValue>, u64), StoreError> {
        let v = self.call("/v3/kv/range", self.range_body(prefix)).await?;
        let kvs = v["kvs"].as_array().into_iter().flatten().map(|kv| self.kv(kv)).collect::<Result<Vec<_>, _>>()?;
        Ok((kvs, ours(num(&v["header"]["revision"]))))
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult, StoreError> {
        let compare: Vec<Value> = compares
            .iter()
            .map(|c| match c {
                Compare::ModRevision(k, 0) | Compare::Absent(k) => {
                    json!({"target": "CREATE", "key": self.full(k), "result": "EQUAL", "create_revision": "0"})
                }
                Compare::ModRevision(k, r) => json!({"target": "MOD", "key": self.full(k), "result": "EQUAL", "mod_revision": (r + BASE).to_string()}),
                Compare::Exists(k) => json!({"target": "CREATE", "key": self.full(k), "result": "GREATER", "create_revision": "0"}),
            })
            .collect();
        let success: Vec<Value> = ops
            .iter()
            .map(|o| match o {
                Op::Put { key, value } => json!({"request_put": {"key": self.full(key), "value": B64.encode(value)}}),
                Op::Delete { key } => json!({"request_delete_range": {"key": self.full(key)}}),
            })
            .collect();
        let v = self.call("/v3/kv/txn", json!({"compare": compare, "success": success})).await?;
        Ok(TxnResult { succeeded: v["succeeded"].as_bool().unwrap_or(false), revision: ours(num(&v["header"]["revision"])) })
    }

    async fn watch(&self, prefix: &str, after_revision: u64) -> Result<WatchStream, StoreError> {
        let mut create = self.range_body(prefix);
        create["start_revision"] = json!((after_revision + 1 + BASE).to_string());
        let endpoint = self.endpoints.first().cloned().unwrap_or_default();
        let resp = self.http.post(format!("{endpoint}/v3/watch")).json(&json!({"create_request": create})).send().await.map_err(backend)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let me = self.clone();
        tokio::spawn(async move {
            let mut body = resp.bytes_stream();
            let mut buf: Vec<u8> = Vec::new();
            let mut pending: Option<WatchBatch> = None;
            while let Some(chunk) = body.next().await {
                let Ok(chunk) = chunk else { break };
                buf.extend_from_slice(&chunk);
                // The gateway streams one JSON object per message.
                while let Some((msg, used)) = next_json(&buf) {
                    buf.drain(..used);
                    let r = &msg["result"];
                    if r["canceled"].as_bool() == Some(true) {
                        let compacted = num(&r["compact_revision"]);
                        let err = if compacted > 0 {
                            StoreError::Compacted { requested: after_revision, compacted: ours(compacted) }
                        } else {
                            backend(format!("watch canceled: {}", r["cancel_reason"].as_str().unwrap_or("")))
                        };
                        let _ = tx.send(Err(err));
                        return;
                    }
                    for e in r["events"].as_array().into_iter().flatten() {
                        let kind = if e["type"].as_str() == Some("DELETE") { EventKind::Delete } else { EventKind::Put };
                        let kv = match me.kv(&e["kv"]) {
                            Ok(kv) => kv,
                            Err(err) => {
                                let _ = tx.send(Err(err));
                                return;
                            }
                        };
                        let rev = kv.mod_revision;
                        if pending.as_ref().is_some_and(|p| p.revision != rev) {
                            if tx.send(Ok(pending.take().unwrap_or_else(|| unreachable!()))).is_err() {
                                return;
                            }
                        }
                        pending.get_or_insert_with(|| WatchBatch { revision: rev, events: Vec::new() }).events.push(Event { kind, kv });
                    }
                    // One gateway message never splits a revision: flush.
                    if let Some(p) = pending.take() {
                        if tx.send(Ok(p)).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Err(StoreError::Closed));
        });
        Ok(rx)
    }

    async fn compact(&self, revision: u64) -> Result<(), StoreError> {
        self.call("/v3/kv/compaction", json!({"revision": (revision + BASE).to_string()})).await.map(|_| ())
    }
}

/// The first complete JSON value in `buf` and how many bytes it used.
fn next_json(buf: &[u8]) -> Option<(Value, usize)> {
    let start = buf.iter().position(|b| !b.is_ascii_whitespace())?;
    let mut it = serde_json::Deserializer::from_slice(&buf[start..]).into_iter::<Value>();
    match it.next() {
        Some(Ok(v)) => Some((v, start + it.byte_offset())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_and_stream_framing() {
        assert_eq!(prefix_end(b"/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b""), vec![0]);
        let buf = br#" {"a":1}{"b":2"#;
        let (v, used) = next_json(buf).unwrap();
        assert_eq!(v, json!({"a": 1}));
        assert!(next_json(&buf[used..]).is_none(), "an incomplete value waits for more bytes");
    }
}
