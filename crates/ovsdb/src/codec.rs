//! JSON-RPC 1.0 framing over a byte stream.
//!
//! OVSDB sends JSON texts back to back with no delimiter (ovsdb-server adds
//! none; some peers add newlines). [`FrameCodec`] finds where each top-level
//! JSON object ends with a small resumable scanner that tracks nesting depth
//! and string/escape state, so a message split over many reads and several
//! messages in one read are both handled, and the scan never revisits bytes.
//! The complete slice is then handed to `serde_json`. [`MessageCodec`] adds
//! JSON-RPC interpretation on top ([`crate::message::Message`]).
//!
//! Both are pure (`tokio_util::codec` traits over `BytesMut`) and never panic
//! on any input; see the byte-boundary tests below and the `ovsdb_decode`
//! fuzz target.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{Error, FrameError};
use crate::message::Message;

/// Default bound on one message: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// A read or write buffer that grew past this for one big message (a
/// monitor's initial contents, a bulk transaction) is given back once that
/// message is through, so that each connection does not keep the biggest
/// message it ever carried: a controller holds a connection per switch
/// (issue 8: +100 MiB after a restart against 100 switches at 100,000 ports).
const RELEASE_ABOVE: usize = 256 * 1024;

/// Replaces a buffer that is big and now holds little by an exactly sized
/// copy of what it holds (the codec's `Framed` grows it again as needed).
fn release_if_big(buf: &mut BytesMut) {
    if buf.capacity() > RELEASE_ABOVE && buf.len() <= RELEASE_ABOVE / 8 {
        *buf = BytesMut::from(&buf[..]);
    }
}

/// serde_json refuses to nest deeper than this; the scanner refuses
/// earlier, before buffering a pathological message.
const MAX_DEPTH: u32 = 128;

#[derive(Debug, Default, Clone)]
struct Scanner {
    /// Bytes of the current message scanned so far.
    pos: usize,
    depth: u32,
    /// Bit `i` is set when nesting level `i` is an object (else an array).
    kinds: u128,
    in_string: bool,
    escape: bool,
}

impl Scanner {
    /// Continues scanning `buf` (which starts at the message's first byte).
    /// Returns the message length once its closing brace is seen.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        while self.pos < buf.len() {
            let b = buf[self.pos];
            self.pos += 1;
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    if self.depth >= MAX_DEPTH {
                        return Err(FrameError::Json(format!("nesting deeper than {MAX_DEPTH}")));
                    }
                    let bit = 1u128 << self.depth;
                    if b == b'{' {
                        self.kinds |= bit;
                    } else {
                        self.kinds &= !bit;
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    // depth >= 1 here: a message starts with '{' and ends
                    // when depth returns to 0.
                    self.depth = self.depth.saturating_sub(1);
                    let is_object = self.kinds & (1u128 << self.depth) != 0;
                    if is_object != (b == b'}') {
                        return Err(FrameError::Json(format!("mismatched '{}' at byte {}", b as char, self.pos - 1)));
                    }
                    if self.depth == 0 {
                        return Ok(Some(self.pos));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }
}

fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Splits a byte stream into complete top-level JSON objects (raw bytes).
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_size: usize,
    scanner: Scanner,
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_SIZE)
    }
}

impl FrameCodec {
    /// A framer that rejects messages longer than `max_size` bytes.
    pub fn new(max_size: usize) -> Self {
        FrameCodec { max_size, scanner: Scanner::default() }
    }

    /// The configured maximum message size.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    fn decode_frame(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.scanner.pos == 0 {
            // Between messages: skip whitespace, insist on '{'.
            let skip = src.iter().take_while(|b| is_json_ws(**b)).count();
            src.advance(skip);
            match src.first() {
                None => return Ok(None),
                Some(b'{') => {}
                Some(&byte) => return Err(FrameError::UnexpectedByte { byte }),
            }
        }
        match self.scanner.scan(src)? {
            Some(len) => {
                self.scanner = Scanner::default();
                if len > self.max_size {
                    return Err(FrameError::TooLarge { limit: self.max_size });
                }
                let frame = src.split_to(len).freeze();
                release_if_big(src);
                Ok(Some(frame))
            }
            None => {
                if src.len() > self.max_size {
                    return Err(FrameError::TooLarge { limit: self.max_size });
                }
                Ok(None)
            }
        }
    }

    fn eof_check(&mut self, src: &mut BytesMut) -> Result<(), FrameError> {
        let skip = src.iter().take_while(|b| is_json_ws(**b)).count();
        if self.scanner.pos == 0 {
            src.advance(skip);
        }
        if src.is_empty() { Ok(()) } else { Err(FrameError::Truncated { pending: src.len() }) }
    }
}

impl Decoder for FrameCodec {
    type Item = Bytes;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        Ok(self.decode_frame(src)?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        match self.decode_frame(src)? {
            Some(frame) => Ok(Some(frame)),
            None => {
                self.eof_check(src)?;
                Ok(None)
            }
        }
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), Error> {
        release_if_big(dst);
        dst.extend_from_slice(&item);
        Ok(())
    }
}

/// Frames and parses JSON-RPC 1.0 messages; encodes [`Message`]s.
#[derive(Debug, Clone, Default)]
pub struct MessageCodec {
    frames: FrameCodec,
}

impl MessageCodec {
    /// A codec that rejects messages longer than `max_size` bytes.
    pub fn new(max_size: usize) -> Self {
        MessageCodec { frames: FrameCodec::new(max_size) }
    }
}

fn parse_frame(frame: &[u8]) -> Result<Message, Error> {
    let json: serde_json::Value = serde_json::from_slice(frame).map_err(|e| FrameError::Json(e.to_string()))?;
    Ok(Message::from_json(json)?)
}

impl Decoder for MessageCodec {
    type Item = Message;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        match self.frames.decode(src)? {
            Some(frame) => parse_frame(&frame).map(Some),
            None => Ok(None),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Message>, Error> {
        match self.frames.decode_eof(src)? {
            Some(frame) => parse_frame(&frame).map(Some),
            None => Ok(None),
        }
    }
}

impl Encoder<Message> for MessageCodec {
    type Error = Error;

    fn encode(&mut self, item: Message, dst: &mut BytesMut) -> Result<(), Error> {
        release_if_big(dst);
        serde_json::to_writer((&mut *dst).writer(), &item).map_err(|e| Error::Io(std::io::Error::other(e)))?;
        Ok(())
    }
}

/// Decodes every message in `bytes` (a whole stream), as a fuzz target or
/// a test would. Stops at the first error.
pub fn decode_all(bytes: &[u8], max_size: usize) -> Result<Vec<Message>, Error> {
    let mut codec = MessageCodec::new(max_size);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(msg) = codec.decode_eof(&mut buf)? {
        out.push(msg);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn buffers_grown_by_a_big_message_are_given_back() {
        // A big message, then the start of a small one in the same read.
        let big = format!(r#"{{"id":1,"result":"{}","error":null}}"#, "x".repeat(4 * RELEASE_ABOVE));
        let small = r#"{"id":2,"result":[],"error":null}"#;
        let mut buf = BytesMut::from(format!("{big}{}", &small[..10]).as_bytes());
        let mut codec = MessageCodec::default();
        let m = codec.decode(&mut buf).unwrap().expect("the big message");
        assert!(matches!(m, Message::Response { .. }));
        assert!(buf.capacity() <= RELEASE_ABOVE, "kept {} bytes for {} pending", buf.capacity(), buf.len());
        assert_eq!(&buf[..], &small.as_bytes()[..10], "the pending bytes stay");
        buf.extend_from_slice(&small.as_bytes()[10..]);
        assert!(codec.decode(&mut buf).unwrap().is_some(), "the next message decodes");

        // A write buffer that carried a big message, then was flushed.
        let mut out = BytesMut::new();
        codec.encode(Message::from_json(serde_json::from_str(&big).unwrap()).unwrap(), &mut out).unwrap();
        assert!(out.capacity() > RELEASE_ABOVE);
        out.clear();
        codec.encode(Message::from_json(serde_json::from_str(small).unwrap()).unwrap(), &mut out).unwrap();
        assert!(out.capacity() <= RELEASE_ABOVE, "kept {}", out.capacity());
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&out).unwrap(), serde_json::from_str::<serde_json::Value>(small).unwrap());
    }

    fn stream() -> Vec<u8> {
        // Strings with braces, escaped quotes and backslashes, unicode, nested
        // arrays, whitespace between messages.
        let msgs = [
            r#"{"id":1,"method":"echo","params":["{not a brace}", "a\"b", "c\\", "\u00e9\\\""]}"#,
            "  \n",
            r#"{"id":1,"result":[{"a":[1,[2,{"b":"]}"}]]}],"error":null}"#,
            r#"{"id":null,"method":"update","params":["x",{"T":{}}]}"#,
            "\r\n\t",
            r#"{"id":"echo","method":"echo","params":[]}"#,
        ];
        msgs.concat().into_bytes()
    }

    fn expected() -> Vec<Message> {
        decode_all(&stream(), 1 << 20).unwrap()
    }

    #[test]
    fn decodes_back_to_back_messages() {
        let msgs = expected();
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[0].to_json(), json!({"id":1,"method":"echo","params":["{not a brace}", "a\"b", "c\\", "é\\\""]}));
        assert_eq!(msgs[3].to_json(), json!({"id":"echo","method":"echo","params":[]}));
    }

    /// Split the stream into two reads at every byte boundary.
    #[test]
    fn split_at_every_byte_boundary() {
        let bytes = stream();
        let want = expected();
        for cut in 0..=bytes.len() {
            let mut codec = MessageCodec::new(1 << 20);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for chunk in [&bytes[..cut], &bytes[cut..]] {
                buf.extend_from_slice(chunk);
                while let Some(m) = codec.decode(&mut buf).unwrap() {
                    got.push(m);
                }
            }
            assert!(codec.decode_eof(&mut buf).unwrap().is_none());
            assert_eq!(got, want, "cut at {cut}");
        }
    }

    /// Feed the stream one byte per read.
    #[test]
    fn one_byte_at_a_time() {
        let bytes = stream();
        let mut codec = MessageCodec::new(1 << 20);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in &bytes {
            buf.put_u8(*b);
            while let Some(m) = codec.decode(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, expected());
    }

    /// Every pair of cut points: three reads of arbitrary sizes.
    #[test]
    fn split_into_three_at_every_pair_of_boundaries() {
        let bytes = stream();
        let want = expected();
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let mut codec = FrameCodec::new(1 << 20);
                let mut buf = BytesMut::new();
                let mut n = 0;
                for chunk in [&bytes[..a], &bytes[a..b], &bytes[b..]] {
                    buf.extend_from_slice(chunk);
                    while codec.decode(&mut buf).unwrap().is_some() {
                        n += 1;
                    }
                }
                assert_eq!(n, want.len(), "cuts at {a},{b}");
            }
        }
    }

    #[test]
    fn oversized_message_is_rejected_before_completion() {
        let mut codec = FrameCodec::new(16);
        let mut buf = BytesMut::from(&br#"{"id":1,"method":"echo""#[..]);
        assert!(matches!(codec.decode(&mut buf), Err(Error::Frame(FrameError::TooLarge { limit: 16 }))));
        // A complete one over the limit too.
        let mut codec = FrameCodec::new(4);
        let mut buf = BytesMut::from(&br#"{"a":1}"#[..]);
        assert!(matches!(codec.decode(&mut buf), Err(Error::Frame(FrameError::TooLarge { .. }))));
        // At the limit is fine.
        let mut codec = FrameCodec::new(7);
        let mut buf = BytesMut::from(&br#"{"a":1}"#[..]);
        assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), Bytes::from_static(br#"{"a":1}"#));
    }

    #[test]
    fn garbage_between_messages_is_an_error() {
        let err = decode_all(b"{\"id\":1,\"result\":[],\"error\":null} x", 1024).unwrap_err();
        assert!(matches!(err, Error::Frame(FrameError::UnexpectedByte { byte: b'x' })), "{err}");
        let err = decode_all(b"[1,2]", 1024).unwrap_err();
        assert!(matches!(err, Error::Frame(FrameError::UnexpectedByte { byte: b'[' })));
    }

    #[test]
    fn truncated_stream_is_an_error_at_eof() {
        let err = decode_all(br#"{"id":1,"res"#, 1024).unwrap_err();
        assert!(matches!(err, Error::Frame(FrameError::Truncated { pending: 12 })), "{err}");
        // Trailing whitespace is fine.
        assert_eq!(decode_all(b"{\"id\":1,\"result\":1}\n \n", 1024).unwrap().len(), 1);
    }

    #[test]
    fn invalid_json_inside_braces_is_an_error() {
        for bad in [&b"{]"[..], b"{\"a\":}", b"{\"a\" 1}", b"{\"\xff\":1}", b"{\"a\":tru}"] {
            let err = decode_all(bad, 1024).unwrap_err();
            assert!(matches!(err, Error::Frame(FrameError::Json(_))), "{err}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let mut s = String::from("{\"a\":");
        s.push_str(&"[".repeat(100_000));
        s.push_str(&"]".repeat(100_000));
        s.push('}');
        let err = decode_all(s.as_bytes(), usize::MAX).unwrap_err();
        assert!(matches!(err, Error::Frame(FrameError::Json(_))), "{err}");
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let msgs = expected();
        let mut codec = MessageCodec::default();
        let mut buf = BytesMut::new();
        for m in &msgs {
            codec.encode(m.clone(), &mut buf).unwrap();
        }
        assert_eq!(decode_all(&buf, 1 << 20).unwrap(), msgs);
    }
}

/// Writes the messages `queue` brings to `sink` until the queue closes,
/// feeding everything already queued before one flush (a burst of
/// messages costs one write, not one each). Returns the first write error.
/// The writer half of the client's and the in-process server's
/// connections.
pub(crate) async fn write_batched<S>(mut sink: S, queue: &mut tokio::sync::mpsc::UnboundedReceiver<Message>) -> Result<(), Error>
where
    S: futures::Sink<Message, Error = Error> + Unpin,
{
    use futures::SinkExt;
    while let Some(m) = queue.recv().await {
        sink.feed(m).await?;
        while let Ok(m) = queue.try_recv() {
            sink.feed(m).await?;
        }
        sink.flush().await?;
    }
    Ok(())
}
