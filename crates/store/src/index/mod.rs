//! The message index: commit-log offsets by message key (`topic#key`), for QUERY_MESSAGE.
//!
//! The dispatcher calls [`Index::put`] for each `UNIQ_KEY` and each `KEYS` token of a message,
//! in commit-log order; QUERY_MESSAGE calls [`Index::query`]. Lookups behave as RocketMQ's
//! `IndexService`: files are searched newest first, each file's hash chain newest first,
//! filtered by key hash and store time, stopping at `max` results, after the first entry
//! older than the range in a chain, and after the first file that began before the range.
//!
//! Results are *candidates*: entries match by the key's hash (Java `String.hashCode`, absolute
//! value), and different keys can share a hash, so the caller must read each message and
//! keep only those whose key really matches (as RocketMQ's `queryMessage` does).
//!
//! # Files and why writing them is sound
//!
//! Files live in `<root>/index/`, named by the epoch milliseconds of their creation as 20
//! zero-padded digits (raised to one more than the previous file's number if the clock did
//! not move on, so names are unique and sort in creation order). Layout: see [`format`].
//!
//! [`MappedFile`](crate::mmap::MappedFile) allows writes only at or above the published
//! position, and RocketMQ's format updates its slot table (at the front of the file) in place,
//! so the layout is changed so that every byte is written once, in file order:
//!
//! - the header is written and published when the file is created (with its first entry's
//!   store time and offset, so it never changes);
//! - entries are appended after it, each published (release) as soon as it is written;
//! - while the file is live, its slot heads are an in-memory array of `AtomicU32` (4 bytes ×
//!   hash slots, only for the one live file). The writer stores a head (release) after
//!   publishing the entry it points to, so a reader that loads a head (acquire) can read the
//!   whole chain from it;
//! - when the file is full (or too far in time from its base for i32 milliseconds), or on
//!   [`Index::close`] (also run on drop), it is *sealed*: the slot table is written after the
//!   entry area, made durable, then the footer, made durable, then everything is published
//!   and the file object is swapped for one that reads heads from the file;
//! - an unsealed file found at start-up (a crash) is recovered by scanning its entries, each
//!   checked by CRC and by its link being its slot's current head, up to the first invalid
//!   one. The last file is then appended to again; an unsealed older file is sealed at once.
//!
//! Every write goes to bytes no reader can yet see, and readers only follow published links,
//! so no byte is ever read while it is written. Only one `Index` may be open on a directory
//! (the store's lock file guarantees it across processes).
//!
//! Memory: one small struct per file plus the live file's heads; nothing grows with entries.
//! Disk: files are created at full length but sparse; sealing writes only the non-empty
//! slots, so a file that sealed early (at a clean shutdown) costs little more than its
//! entries. Sealing runs on the dispatcher thread (two msyncs, once per full file).
//!
//! Differences from RocketMQ: entries are 24 bytes (a CRC added) and record store time in
//! milliseconds (RocketMQ: whole seconds from the file's begin time, so its time filter is
//! fuzzy by up to a second; ours is exact); `max_entries` counts usable entries (RocketMQ's
//! `maxIndexNum` includes an unused entry 0); a file also rolls when an entry's store time is
//! more than ±24.8 days from the file's first; a clean restart starts a new file (the old one
//! is sealed); `max` is not clamped here (RocketMQ clamps it to `maxMsgsNumBatch`, 64: the
//! caller's job).

mod file;
pub mod format;
mod set;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

pub use set::Index;

/// Index geometry, per file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexConfig {
    /// Hash slots per file (`maxHashSlotNum`, RocketMQ 5,000,000).
    #[serde(rename = "maxHashSlotNum")]
    pub max_hash_slots: usize,
    /// Entries per file (`maxIndexNum`, RocketMQ 20,000,000).
    #[serde(rename = "maxIndexNum")]
    pub max_entries: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig { max_hash_slots: 5_000_000, max_entries: 20_000_000 }
    }
}

impl IndexConfig {
    /// The file geometry, or why the values cannot make a file.
    pub fn validate(&self) -> Result<format::Geometry> {
        let slots = u32::try_from(self.max_hash_slots).ok();
        let entries = u32::try_from(self.max_entries).ok();
        slots.zip(entries).and_then(|(s, e)| format::Geometry::new(s, e)).ok_or_else(|| {
            StoreError::Config(format!(
                "index maxHashSlotNum {} and maxIndexNum {} must be in 1..=4294967295 and make a \
                 file that fits in memory",
                self.max_hash_slots, self.max_entries
            ))
        })
    }
}

/// What [`Index::query`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexQueryResult {
    /// Candidate commit-log offsets, newest first (re-check each message's key).
    pub offsets: Vec<i64>,
    /// Store time of the newest indexed entry (`indexLastUpdateTimestamp`); 0 when empty.
    pub last_update_timestamp: i64,
    /// Commit-log offset of the newest indexed entry (`indexLastUpdatePhyoffset`); 0 when
    /// empty, as RocketMQ.
    pub last_update_commit_log_offset: i64,
}
