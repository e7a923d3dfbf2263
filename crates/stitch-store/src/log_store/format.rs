//! The log's file format: framing, the records, and reading a file back
//! (see the parent module's doc).

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;

use super::{Slot, be};
use crate::types::StoreError;

pub(super) const MAGIC: &[u8] = b"stitch-log/1";
pub(super) const T_HEADER: u8 = 0;
pub(super) const T_TXN: u8 = 1;
pub(super) const T_BASE: u8 = 2;
pub(super) const T_ENTRY: u8 = 3;
pub(super) const FRAME: u64 = 8;
/// No record is this big; a length above it is damage, not data.
pub(super) const MAX_RECORD: u32 = 1 << 30;

/// Append a record's frame and payload to `out`; `payload` writes the payload.
pub(super) fn record(out: &mut Vec<u8>, payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME as usize]);
    payload(out);
    let len = (out.len() - start) as u64 - FRAME;
    let crc = crc32fast::hash(&out[start + FRAME as usize..]);
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

pub(super) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

pub(super) fn header(out: &mut Vec<u8>) {
    record(out, |p| {
        p.push(T_HEADER);
        p.extend_from_slice(MAGIC);
    });
}

pub(super) fn base(out: &mut Vec<u8>, revision: u64) {
    record(out, |p| {
        p.push(T_BASE);
        p.extend_from_slice(&revision.to_le_bytes());
    });
}

/// An `Entry` record; returns the offset of its value within `out`.
pub(super) fn entry(out: &mut Vec<u8>, key: &str, s: &Slot, value: &[u8]) -> usize {
    let mut at = 0;
    record(out, |p| {
        p.push(T_ENTRY);
        put_bytes(p, key.as_bytes());
        for n in [s.create, s.modrev, s.version] {
            p.extend_from_slice(&n.to_le_bytes());
        }
        p.extend_from_slice(&(value.len() as u32).to_le_bytes());
        at = p.len();
        p.extend_from_slice(value);
    });
    at
}

/// Reads a payload field by field; `None` when it runs out.
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn key(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

/// One write of a decoded `Txn` record; `at` is the value's offset in the payload.
pub(super) enum Logged<'a> {
    Put { key: &'a str, create: u64, version: u64, value: &'a [u8], at: usize },
    Delete { key: &'a str, create: u64, version: u64 },
}

/// A decoded payload.
pub(super) enum Payload<'a> {
    Header,
    Txn { revision: u64, writes: Vec<Logged<'a>> },
    Base { revision: u64 },
    Entry { key: &'a str, create: u64, modrev: u64, version: u64, value: &'a [u8], at: usize },
}

pub(super) fn decode(payload: &[u8]) -> Option<Payload<'_>> {
    let mut c = Cursor { buf: payload, pos: 0 };
    let p = match c.u8()? {
        T_HEADER => {
            let magic = c.take(MAGIC.len())?;
            (magic == MAGIC).then_some(Payload::Header)?
        }
        T_TXN => {
            let revision = c.u64()?;
            let n = c.u32()?;
            let mut writes = Vec::with_capacity((n as usize).min(payload.len() / 21));
            for _ in 0..n {
                let kind = c.u8()?;
                let key = c.key()?;
                let (create, version) = (c.u64()?, c.u64()?);
                writes.push(match kind {
                    0 => {
                        let n = c.u32()? as usize;
                        let at = c.pos;
                        Logged::Put { key, create, version, value: c.take(n)?, at }
                    }
                    1 => Logged::Delete { key, create, version },
                    _ => return None,
                });
            }
            Payload::Txn { revision, writes }
        }
        T_BASE => Payload::Base { revision: c.u64()? },
        T_ENTRY => {
            let key = c.key()?;
            let (create, modrev, version) = (c.u64()?, c.u64()?, c.u64()?);
            let n = c.u32()? as usize;
            let at = c.pos;
            Payload::Entry { key, create, modrev, version, value: c.take(n)?, at }
        }
        _ => return None,
    };
    c.done().then_some(p)
}

/// How a scan of the file ended.
pub(super) enum End {
    /// At the end of the file, after a whole record.
    Clean,
    /// At a record that was never completely written: the file's valid
    /// part ends at this offset.
    Torn(u64, String),
}

/// Read every record from offset `from` to `end`, handing each payload and
/// its offset to `f`. Errs on damage that is not a torn final write, or
/// when `f` refuses a record.
pub(super) fn scan(file: &File, from: u64, end: u64, mut f: impl FnMut(u64, &[u8]) -> Result<(), String>) -> Result<End, StoreError> {
    let corrupt = |off: u64, why: &str| {
        StoreError::Backend(format!("the store log is damaged at byte {off}: {why}; refusing to open it (records after it would be lost)"))
    };
    let mut r = BufReader::with_capacity(1 << 20, ReadAt { file, pos: from });
    let mut off = from;
    let mut payload = Vec::new();
    while off < end {
        let left = end - off;
        if left < FRAME {
            return Ok(End::Torn(off, format!("{left} bytes after the last record")));
        }
        let mut frame = [0u8; FRAME as usize];
        r.read_exact(&mut frame).map_err(be)?;
        let len = u32::from_le_bytes(frame[..4].try_into().expect("four bytes"));
        let crc = u32::from_le_bytes(frame[4..].try_into().expect("four bytes"));
        if len == 0 || len > MAX_RECORD {
            // A zeroed tail (space allocated, data never written) is torn;
            // anything else is a length nobody wrote.
            return if frame.iter().all(|b| *b == 0) && zeros(&mut r, left - FRAME)? {
                Ok(End::Torn(off, "a zeroed tail".into()))
            } else {
                Err(corrupt(off, &format!("a record of {len} bytes")))
            };
        }
        if off + FRAME + len as u64 > end {
            // A write cut short, or a damaged length that points past the
            // end: only the first leaves no whole record behind it.
            if let Some(at) = whole_record_within(file, off + 1, end)? {
                return Err(corrupt(off, &format!("a record of {len} bytes runs past the end, but a whole record starts at byte {at}")));
            }
            return Ok(End::Torn(off, format!("a record of {len} bytes with {} written", left - FRAME)));
        }
        payload.resize(len as usize, 0);
        r.read_exact(&mut payload).map_err(be)?;
        if crc32fast::hash(&payload) != crc {
            if off + FRAME + len as u64 == end {
                return Ok(End::Torn(off, "the last record fails its checksum".into()));
            }
            return Err(corrupt(off, "a record fails its checksum"));
        }
        f(off, &payload).map_err(|why| corrupt(off, &why))?;
        off += FRAME + len as u64;
    }
    Ok(End::Clean)
}

/// The first offset in `from..end` where a whole record (a length that
/// fits and a payload matching its checksum) starts, if any. Only run on
/// the tail after a record that claims to run past the end: a torn write
/// leaves at most one record's bytes there.
pub(super) fn whole_record_within(file: &File, from: u64, end: u64) -> Result<Option<u64>, StoreError> {
    let mut tail = vec![0; end.saturating_sub(from) as usize];
    file.read_exact_at(&mut tail, from).map_err(be)?;
    for i in 0..tail.len().saturating_sub(FRAME as usize) {
        let len = u32::from_le_bytes(tail[i..i + 4].try_into().expect("four bytes")) as usize;
        let body = i + FRAME as usize;
        if len == 0 || len as u64 > MAX_RECORD as u64 || body + len > tail.len() {
            continue;
        }
        let crc = u32::from_le_bytes(tail[i + 4..body].try_into().expect("four bytes"));
        if crc32fast::hash(&tail[body..body + len]) == crc {
            return Ok(Some(from + i as u64));
        }
    }
    Ok(None)
}

/// Whether the next `n` bytes of `r` are all zero.
pub(super) fn zeros(r: &mut impl Read, mut n: u64) -> Result<bool, StoreError> {
    let mut b = [0u8; 8192];
    while n > 0 {
        let k = n.min(b.len() as u64) as usize;
        r.read_exact(&mut b[..k]).map_err(be)?;
        if b[..k].iter().any(|x| *x != 0) {
            return Ok(false);
        }
        n -= k as u64;
    }
    Ok(true)
}

/// A `Read` over a file by offset, so that scanning shares no cursor.
pub(super) struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
