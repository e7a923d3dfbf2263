//! Feeds arbitrary bytes to the OVSDB framing decoder (in chunks chosen by
//! the input itself, so split and merged messages are explored), then runs
//! every typed parser that fits each decoded message. Nothing may panic.
//! Seed corpus: crates/ovsdb/tests/corpus (replayed by `cargo test -p ovsdb`).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ovsdb::codec::MessageCodec;
use ovsdb::message::Message;
use ovsdb::monitor::{CondSinceReply, UpdateNotification};
use ovsdb::{DatabaseSchema, TransactResponse};
use tokio_util::codec::Decoder;

fn interpret(msg: &Message) {
    match msg {
        Message::Notification { method, params } | Message::Request { method, params, .. } => {
            let _ = UpdateNotification::from_params(method, params);
        }
        Message::Response { result: Ok(result), .. } => {
            let _ = DatabaseSchema::from_json(result);
            let _ = CondSinceReply::from_json(result);
            if let Some(a) = result.as_array() {
                let _ = TransactResponse::from_json(result, a.len());
                let _ = TransactResponse::from_json(result, a.len().saturating_sub(1));
            }
        }
        Message::Response { result: Err(_), .. } => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // First byte picks the read size, so one input is split many ways.
    let (chunk, data) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => return,
    };
    let mut codec = MessageCodec::new(1 << 16);
    let mut buf = BytesMut::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(msg)) => {
                    interpret(&msg);
                    assert_eq!(Message::from_json(msg.to_json()).as_ref(), Ok(&msg));
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = codec.decode_eof(&mut buf);
});
