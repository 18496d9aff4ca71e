//! `Entry`: the fixed 20-byte consume-queue record and its big-endian codec.
//!
//! ```text
//!  0               8       12              20
//!  +---------------+-------+---------------+
//!  | commit-log    | size  | tags code     |
//!  | offset (i64)  | (i32) | (i64)         |
//!  +---------------+-------+---------------+
//! ```
//!
//! - `commit_log_offset`: where the message's record starts in the commit log.
//! - `size`: the record's length in bytes.
//! - `tags_code`: the tag hash (or a delay deliver time, or a CQ-ext address when
//!   `<= i32::MIN - 1`; the consume queue does not interpret it).
//!
//! An entry is *written* when `commit_log_offset >= 0 && size > 0`; anything else (zeros
//! from a preallocated file, a torn write) ends the queue during recovery. A *filler*
//! `{0, i32::MAX, 0}` stands in for slots the queue skipped (RocketMQ's "pre-blank").

use bytes::{Buf, BufMut};

/// Bytes per entry on disk.
pub const ENTRY_SIZE: usize = 20;

/// One consume-queue slot: where a message of this queue lives in the commit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Where the message's record starts in the commit log.
    pub commit_log_offset: i64,
    /// The record's length in bytes.
    pub size: i32,
    /// Tag hash, delay deliver time or CQ-ext address.
    pub tags_code: i64,
}

impl Entry {
    /// The entry written into slots the queue skipped: `{0, i32::MAX, 0}`.
    pub const FILLER: Entry = Entry { commit_log_offset: 0, size: i32::MAX, tags_code: 0 };

    /// Whether this slot holds data (`commit_log_offset >= 0 && size > 0`); zeros and torn
    /// writes do not.
    pub fn is_written(&self) -> bool {
        self.commit_log_offset >= 0 && self.size > 0
    }

    /// Whether this is [`Entry::FILLER`], a placeholder that points at no message.
    pub fn is_filler(&self) -> bool {
        *self == Entry::FILLER
    }

    /// The commit-log offset just past the message (saturating).
    pub fn end(&self) -> i64 {
        self.commit_log_offset.saturating_add(i64::from(self.size))
    }

    /// Appends the 20 big-endian bytes of this entry to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.put_i64(self.commit_log_offset);
        out.put_i32(self.size);
        out.put_i64(self.tags_code);
    }

    /// The 20 big-endian bytes of this entry.
    pub fn encode(&self) -> [u8; ENTRY_SIZE] {
        let mut out = [0u8; ENTRY_SIZE];
        let mut w = &mut out[..];
        w.put_i64(self.commit_log_offset);
        w.put_i32(self.size);
        w.put_i64(self.tags_code);
        out
    }

    /// Decodes the first [`ENTRY_SIZE`] bytes of `bytes`; `None` if there are fewer.
    pub fn decode(mut bytes: &[u8]) -> Option<Entry> {
        if bytes.len() < ENTRY_SIZE {
            return None;
        }
        Some(Entry {
            commit_log_offset: bytes.get_i64(),
            size: bytes.get_i32(),
            tags_code: bytes.get_i64(),
        })
    }

    /// Decodes every whole entry of `bytes` (a trailing partial entry is ignored).
    pub fn decode_all(bytes: &[u8]) -> impl Iterator<Item = Entry> + '_ {
        bytes.chunks_exact(ENTRY_SIZE).filter_map(Entry::decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_big_endian() {
        let e =
            Entry { commit_log_offset: 0x0102_0304_0506_0708, size: 0x0A0B_0C0D, tags_code: -2 };
        let bytes = e.encode();
        assert_eq!(&bytes[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&bytes[8..12], &[0x0A, 0x0B, 0x0C, 0x0D]);
        assert_eq!(&bytes[12..], &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]);
        assert_eq!(Entry::decode(&bytes), Some(e));
        let mut v = Vec::new();
        e.encode_into(&mut v);
        Entry::FILLER.encode_into(&mut v);
        v.push(7);
        assert_eq!(Entry::decode_all(&v).collect::<Vec<_>>(), vec![e, Entry::FILLER]);
        assert_eq!(Entry::decode(&bytes[..19]), None);
    }

    #[test]
    fn written_and_filler() {
        assert!(!Entry::decode(&[0; ENTRY_SIZE]).unwrap().is_written());
        assert!(Entry::FILLER.is_written() && Entry::FILLER.is_filler());
        assert_eq!(Entry::FILLER.end(), i64::from(i32::MAX));
        let neg = Entry { commit_log_offset: -1, size: 10, tags_code: 0 };
        assert!(!neg.is_written());
        let e = Entry { commit_log_offset: 100, size: 10, tags_code: 0 };
        assert!(e.is_written() && !e.is_filler());
        assert_eq!(e.end(), 110);
        assert_eq!(Entry { commit_log_offset: i64::MAX, size: 1, tags_code: 0 }.end(), i64::MAX);
    }
}
