//! Replays the seed corpus of the `ovsdb_decode` fuzz target
//! (`tests/corpus/`): captured ovsdb-server traffic must decode and parse;
//! malformed streams must fail to decode; valid JSON-RPC with hostile
//! OVSDB content must be rejected by the typed layer. Nothing may panic.
//!
//! File name prefixes: `ok-` (valid), `err-` (decoding fails), `bad-`
//! (decodes, typed parsing fails).

use std::path::PathBuf;

use ovsdb::codec::decode_all;
use ovsdb::message::Message;
use ovsdb::monitor::{CondSinceReply, UpdateNotification};
use ovsdb::{DatabaseSchema, Error, TransactResponse};
use serde_json::Value as Json;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Runs every typed parser that fits the message; returns the errors.
fn interpret(name: &str, msg: &Message) -> Vec<String> {
    let mut errors = Vec::new();
    match msg {
        Message::Notification { method, params } => {
            if let Some(Err(e)) = UpdateNotification::from_params(method, params) {
                errors.push(e.to_string());
            }
        }
        Message::Response { result: Ok(result), .. } => {
            let mut check = |r: Result<(), Error>| {
                if let Err(e) = r {
                    errors.push(e.to_string());
                }
            };
            if name.contains("schema") {
                check(DatabaseSchema::from_json(result).map(|_| ()).map_err(Into::into));
            } else if name.contains("cond-since") {
                check(CondSinceReply::from_json(result).map(|_| ()).map_err(Into::into));
            } else if let Json::Array(a) = result {
                if name.contains("transact") {
                    check(TransactResponse::from_json(result, a.len()).map(|_| ()).map_err(Into::into));
                }
            }
        }
        _ => {}
    }
    errors
}

#[test]
fn corpus_replays_without_panics() {
    let files = corpus();
    assert!(files.len() >= 20, "corpus is present");
    for (name, bytes) in files {
        let decoded = decode_all(&bytes, 1 << 20);
        if name.starts_with("err-") {
            assert!(decoded.is_err(), "{name} decoded: {decoded:?}");
            continue;
        }
        let msgs = decoded.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!msgs.is_empty(), "{name}");
        let errors: Vec<String> = msgs.iter().flat_map(|m| interpret(&name, m)).collect();
        if name.starts_with("ok-") {
            assert!(errors.is_empty(), "{name}: {errors:?}");
        } else {
            assert!(!errors.is_empty(), "{name}: hostile content accepted");
        }
    }
}

#[test]
fn captured_traffic_has_the_expected_content() {
    let files: std::collections::BTreeMap<_, _> = corpus().into_iter().collect();
    let msgs = decode_all(&files["ok-get-schema-reply.json"], 1 << 20).unwrap();
    let Message::Response { result: Ok(schema), .. } = &msgs[0] else { panic!() };
    let schema = DatabaseSchema::from_json(schema).unwrap();
    assert_eq!((schema.name.as_str(), schema.tables.len()), ("hardware_vtep", 18));

    let msgs = decode_all(&files["ok-transact-and-update3-stream.json"], 1 << 20).unwrap();
    let updates = msgs
        .iter()
        .filter_map(|m| match m {
            Message::Notification { method, params } => UpdateNotification::from_params(method, params),
            _ => None,
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert!(updates.len() >= 2, "{msgs:?}");
    assert!(updates.iter().all(|u| u.last_txn_id.is_some()));

    let msgs = decode_all(&files["ok-lock-echo-errors.json"], 1 << 20).unwrap();
    let errors: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            Message::Response { result: Err(e), .. } => Some(e.error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(errors, ["unknown database", "unknown method"]);
}

mod random {
    use super::*;
    use proptest::prelude::*;

    fn arb_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::from),
            (-1e9f64..1e9).prop_map(Json::from),
            prop_oneof![
                Just("uuid"),
                Just("named-uuid"),
                Just("set"),
                Just("map"),
                Just("insert"),
                Just("modify"),
                Just("36bd5ca4-0ab4-4b3d-9dfb-b5b2a1e6c6a1"),
                Just("string"),
            ]
            .prop_map(|s| Json::String(s.to_owned())),
        ];
        leaf.prop_recursive(5, 48, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("new"),
                        Just("old"),
                        Just("initial"),
                        Just("delete"),
                        Just("type"),
                        Just("key"),
                        Just("columns"),
                        Just("name"),
                        Just("tables"),
                        Just("uuid"),
                        Just("rows")
                    ],
                    inner,
                    0..4,
                )
                .prop_map(|m| Json::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    fn arb_message() -> impl Strategy<Value = Json> {
        (
            prop_oneof![Just("update"), Just("update2"), Just("update3"), Just("echo"), Just("locked")],
            proptest::collection::vec(arb_json(), 0..4),
            arb_json(),
            any::<u8>(),
        )
            .prop_map(|(method, params, result, kind)| match kind % 3 {
                0 => serde_json::json!({"id": null, "method": method, "params": params}),
                1 => serde_json::json!({"id": kind, "result": result, "error": null}),
                _ => serde_json::json!({"id": kind, "result": null, "error": result}),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(msgs) = decode_all(&bytes, 256) {
                for m in &msgs {
                    let _ = interpret("transact schema cond-since", m);
                }
            }
        }

        /// Random JSON shaped like JSON-RPC messages, with OVSDB-ish keys.
        #[test]
        fn random_json_messages_never_panic(j in arb_message()) {
            if let Ok(m) = Message::from_json(j) {
                let _ = interpret("transact schema cond-since", &m);
                prop_assert_eq!(Message::from_json(m.to_json()), Ok(m));
            }
        }

        /// Corpus files with random bytes flipped.
        #[test]
        fn mutated_corpus_never_panics(idx in 0usize..32, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let files = corpus();
            let (name, mut bytes) = files[idx % files.len()].clone();
            for (pos, b) in flips {
                if !bytes.is_empty() {
                    let i = pos % bytes.len();
                    bytes[i] = b;
                }
            }
            if let Ok(msgs) = decode_all(&bytes, 1 << 20) {
                for m in &msgs {
                    let _ = interpret(&name, m);
                }
            }
        }
    }
}
