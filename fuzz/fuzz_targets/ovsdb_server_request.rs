//! Feeds arbitrary bytes to the in-process OVSDB server's request path:
//! framing, JSON-RPC classification, operation parsing and transaction
//! execution against a small schema with strong references, a non-root
//! table and a unique index. Nothing may panic, and a failed transaction
//! must leave the database as it was.
//! Seed corpus: crates/ovsdb/tests/corpus (JSON-RPC messages).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ovsdb::codec::MessageCodec;
use ovsdb::message::Message;
use ovsdb::server::Database;
use ovsdb::Operation;
use tokio_util::codec::Decoder;

const SCHEMA: &str = r#"{"name": "fz", "version": "1.0.0", "tables": {
  "Root": {"isRoot": true, "indexes": [["name"]], "columns": {
    "name": {"type": "string"},
    "n": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4094}, "min": 0, "max": 1}},
    "kids": {"type": {"key": {"type": "uuid", "refTable": "Kid"}, "min": 0, "max": "unlimited"}},
    "byvlan": {"type": {"key": "integer", "value": {"type": "uuid", "refTable": "Kid"}, "min": 0, "max": "unlimited"}},
    "weak": {"type": {"key": {"type": "uuid", "refTable": "Kid", "refType": "weak"}, "min": 0, "max": "unlimited"}},
    "cfg": {"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}}}},
  "Kid": {"columns": {
    "ip": {"type": "string", "mutable": false},
    "x": {"type": {"key": "real", "min": 0, "max": 3}}}}}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = serde_json::from_str(SCHEMA) else { return };
    let Ok(mut db) = Database::new(schema) else { return };
    let mut codec = MessageCodec::new(1 << 16);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(msg)) = codec.decode_eof(&mut buf) {
        let (Message::Request { params, .. } | Message::Notification { params, .. }) = msg else { continue };
        for p in &params {
            let _ = Operation::from_json(p);
        }
        let before: Vec<_> = db.table("Root").chain(db.table("Kid")).map(|(u, r)| (*u, r.clone())).collect();
        let out = db.transact(&params);
        assert_eq!(out.results.len() >= params.len(), true);
        if !out.committed {
            let after: Vec<_> = db.table("Root").chain(db.table("Kid")).map(|(u, r)| (*u, r.clone())).collect();
            assert_eq!(before, after, "a failed transaction changed the database");
        }
    }
});
