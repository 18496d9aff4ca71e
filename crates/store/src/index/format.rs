//! The byte layout of one index file: header, append-only entries, slot table, footer.
//!
//! ```text
//! 0          64                         S = 64 + E*24           F = S + H*4       F + 32
//! +----------+--------------------------+-----------------------+-----------------+
//! | header   | entries: E slots × 24 B  | slot table: H × u32   | footer (32 B)   |
//! +----------+--------------------------+-----------------------+-----------------+
//!  written     appended one at a time;    written once, when the file is sealed,
//!  at create   each published on append   then the footer; then all is published
//! ```
//!
//! `E` = max entries, `H` = hash slots (both in the header, so each file keeps its own
//! geometry if the configuration changes). All integers are big-endian.
//!
//! Header (64 bytes):
//!
//! | Offset | Width | Field |
//! |---|---|---|
//! | 0 | 4 | magic `FMQI` |
//! | 4 | 4 | format version (1) |
//! | 8 | 4 | hash slots `H` |
//! | 12 | 4 | max entries `E` |
//! | 16 | 8 | base timestamp: store time (ms) of the first entry |
//! | 24 | 8 | commit-log offset of the first entry |
//! | 32 | 28 | zero |
//! | 60 | 4 | CRC-32 (masked) of bytes 0..60 |
//!
//! Entry number `n` (0-based) at `64 + n*24` (24 bytes):
//!
//! | Offset | Width | Field |
//! |---|---|---|
//! | 0 | 4 | key hash: `|String.hashCode(key)|` (0 for `i32::MIN`) |
//! | 4 | 4 | previous entry of the same slot, as its number + 1 (0 = none) |
//! | 8 | 8 | commit-log offset |
//! | 16 | 4 | store time − base timestamp, in ms (i32) |
//! | 20 | 4 | CRC-32 (masked) of bytes 0..20 |
//!
//! Slot `s` at `S + s*4`: the newest entry of slot `s` as its number + 1 (0 = empty).
//!
//! Footer (32 bytes, present only in a sealed file):
//!
//! | Offset | Width | Field |
//! |---|---|---|
//! | 0 | 4 | magic `SEAL` |
//! | 4 | 4 | entry count |
//! | 8 | 8 | commit-log offset of the last entry |
//! | 16 | 8 | store time of the last entry |
//! | 24 | 4 | zero |
//! | 28 | 4 | CRC-32 (masked) of bytes 0..28 |

use ferromq_protocol::message::{crc32_masked, java_string_hash};

/// Header length.
pub const HEADER_LEN: usize = 64;
/// Where the entries start.
pub const ENTRIES_POS: usize = HEADER_LEN;
/// One entry.
pub const ENTRY_LEN: usize = 24;
/// One slot of the slot table.
pub const SLOT_LEN: usize = 4;
/// Footer length.
pub const FOOTER_LEN: usize = 32;

const HEADER_MAGIC: [u8; 4] = *b"FMQI";
const FOOTER_MAGIC: [u8; 4] = *b"SEAL";
const VERSION: u32 = 1;
const HEADER_CRC_POS: usize = HEADER_LEN - 4;
const ENTRY_CRC_POS: usize = ENTRY_LEN - 4;
const FOOTER_CRC_POS: usize = FOOTER_LEN - 4;

/// The index hash of a key (`topic#key`): RocketMQ's `|String.hashCode|`, 0 for `i32::MIN`.
pub fn key_hash(key: &str) -> u32 {
    java_string_hash(key).checked_abs().map_or(0, i32::unsigned_abs)
}

/// Where the parts of a file with `hash_slots` slots and `max_entries` entries lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub hash_slots: u32,
    pub max_entries: u32,
}

impl Geometry {
    /// The geometry, if both counts are non-zero and the file length fits in memory.
    pub fn new(hash_slots: u32, max_entries: u32) -> Option<Geometry> {
        let geometry = Geometry { hash_slots, max_entries };
        (hash_slots > 0 && max_entries > 0 && geometry.checked_len()? <= isize::MAX as usize)
            .then_some(geometry)
    }

    fn checked_len(self) -> Option<usize> {
        let entries = usize::try_from(self.max_entries).ok()?.checked_mul(ENTRY_LEN)?;
        let slots = usize::try_from(self.hash_slots).ok()?.checked_mul(SLOT_LEN)?;
        ENTRIES_POS.checked_add(entries)?.checked_add(slots)?.checked_add(FOOTER_LEN)
    }

    /// Position of entry `n` (0-based).
    pub fn entry_pos(self, n: u32) -> usize {
        ENTRIES_POS + n as usize * ENTRY_LEN
    }

    /// Position of the slot table.
    pub fn slots_pos(self) -> usize {
        self.entry_pos(self.max_entries)
    }

    /// Length of the slot table.
    pub fn slots_len(self) -> usize {
        self.hash_slots as usize * SLOT_LEN
    }

    /// Position of the footer.
    pub fn footer_pos(self) -> usize {
        self.slots_pos() + self.slots_len()
    }

    /// Length of the whole file.
    pub fn file_len(self) -> usize {
        self.footer_pos() + FOOTER_LEN
    }

    /// The slot of a key hash.
    pub fn slot(self, hash: u32) -> u32 {
        hash % self.hash_slots
    }

    /// Position of the slot of `hash` in the slot table.
    pub fn slot_pos(self, hash: u32) -> usize {
        self.slots_pos() + self.slot(hash) as usize * SLOT_LEN
    }
}

/// The fixed part of a file, written when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub geometry: Geometry,
    pub base_timestamp: i64,
    pub first_offset: i64,
}

impl Header {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        put(&mut b, 0, &HEADER_MAGIC);
        put(&mut b, 4, &VERSION.to_be_bytes());
        put(&mut b, 8, &self.geometry.hash_slots.to_be_bytes());
        put(&mut b, 12, &self.geometry.max_entries.to_be_bytes());
        put(&mut b, 16, &self.base_timestamp.to_be_bytes());
        put(&mut b, 24, &self.first_offset.to_be_bytes());
        seal_crc(&mut b, HEADER_CRC_POS);
        b
    }

    /// The header, if `b` holds a valid one.
    pub fn decode(b: &[u8]) -> Option<Header> {
        if b.get(..4)? != HEADER_MAGIC || u32_at(b, 4)? != VERSION || !crc_ok(b, HEADER_CRC_POS) {
            return None;
        }
        Some(Header {
            geometry: Geometry::new(u32_at(b, 8)?, u32_at(b, 12)?)?,
            base_timestamp: i64_at(b, 16)?,
            first_offset: i64_at(b, 24)?,
        })
    }
}

/// One indexed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub hash: u32,
    /// Number + 1 of the previous entry in the same slot; 0 = none.
    pub prev: u32,
    pub offset: i64,
    pub time_delta: i32,
}

impl Entry {
    pub fn encode(&self) -> [u8; ENTRY_LEN] {
        let mut b = [0u8; ENTRY_LEN];
        put(&mut b, 0, &self.hash.to_be_bytes());
        put(&mut b, 4, &self.prev.to_be_bytes());
        put(&mut b, 8, &self.offset.to_be_bytes());
        put(&mut b, 16, &self.time_delta.to_be_bytes());
        seal_crc(&mut b, ENTRY_CRC_POS);
        b
    }

    /// The entry without checking its CRC (for lookups in published, trusted bytes).
    pub fn decode_unchecked(b: &[u8]) -> Option<Entry> {
        Some(Entry {
            hash: u32_at(b, 0)?,
            prev: u32_at(b, 4)?,
            offset: i64_at(b, 8)?,
            time_delta: i32_at(b, 16)?,
        })
    }

    /// The entry, if its CRC matches (recovery of a file that was not sealed).
    pub fn decode_checked(b: &[u8]) -> Option<Entry> {
        if !crc_ok(b, ENTRY_CRC_POS) {
            return None;
        }
        Self::decode_unchecked(b)
    }
}

/// What a sealed file records about its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    pub count: u32,
    pub last_offset: i64,
    pub last_timestamp: i64,
}

impl Footer {
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        put(&mut b, 0, &FOOTER_MAGIC);
        put(&mut b, 4, &self.count.to_be_bytes());
        put(&mut b, 8, &self.last_offset.to_be_bytes());
        put(&mut b, 16, &self.last_timestamp.to_be_bytes());
        seal_crc(&mut b, FOOTER_CRC_POS);
        b
    }

    /// The footer, if `b` holds a valid one.
    pub fn decode(b: &[u8]) -> Option<Footer> {
        if b.get(..4)? != FOOTER_MAGIC || !crc_ok(b, FOOTER_CRC_POS) {
            return None;
        }
        Some(Footer {
            count: u32_at(b, 4)?,
            last_offset: i64_at(b, 8)?,
            last_timestamp: i64_at(b, 16)?,
        })
    }
}

/// A big-endian u32 at `at`.
pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn i64_at(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// Copies `bytes` to `at` in `b`; the caller's constant offsets always fit.
fn put(b: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = b.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

fn crc_of(b: &[u8], crc_pos: usize) -> Option<u32> {
    Some(crc32_masked(b.get(..crc_pos)?).unsigned_abs())
}

fn seal_crc(b: &mut [u8], crc_pos: usize) {
    if let Some(crc) = crc_of(b, crc_pos) {
        put(b, crc_pos, &crc.to_be_bytes());
    }
}

fn crc_ok(b: &[u8], crc_pos: usize) -> bool {
    crc_of(b, crc_pos).is_some_and(|crc| u32_at(b, crc_pos) == Some(crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_derive_from_each_other() {
        let g = Geometry::new(5_000_000, 20_000_000).unwrap();
        assert_eq!(g.slots_pos(), 64 + 20_000_000 * 24);
        assert_eq!(g.footer_pos(), g.slots_pos() + 20_000_000);
        assert_eq!(g.file_len(), 500_000_096);
        assert_eq!(g.slot_pos(5_000_001), g.slots_pos() + 4);
        assert!(Geometry::new(0, 1).is_none());
        assert!(Geometry::new(1, 0).is_none());
    }

    #[test]
    fn records_round_trip_and_reject_damage() {
        let h = Header {
            geometry: Geometry::new(7, 9).unwrap(),
            base_timestamp: -5,
            first_offset: 1 << 40,
        };
        assert_eq!(Header::decode(&h.encode()), Some(h));
        let e = Entry { hash: i32::MAX.unsigned_abs(), prev: 3, offset: 123_456, time_delta: -7 };
        let mut bytes = e.encode();
        assert_eq!(Entry::decode_checked(&bytes), Some(e));
        bytes[9] ^= 1;
        assert_eq!(Entry::decode_checked(&bytes), None);
        assert_eq!(Entry::decode_checked(&[0u8; ENTRY_LEN]), None, "zeros are not an entry");
        let f = Footer { count: 4, last_offset: 99, last_timestamp: 1_700_000_000_000 };
        assert_eq!(Footer::decode(&f.encode()), Some(f));
        assert_eq!(Footer::decode(&[0u8; FOOTER_LEN]), None);
    }

    #[test]
    fn key_hash_is_rocketmq_s() {
        assert_eq!(key_hash(""), 0);
        // "TopicTest#key" hashes negative in Java; the index takes the absolute value.
        let java = java_string_hash("TopicTest#key");
        assert_eq!(i64::from(key_hash("TopicTest#key")), i64::from(java).abs());
        // Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(key_hash("polygenelubricants"), 0);
    }
}
