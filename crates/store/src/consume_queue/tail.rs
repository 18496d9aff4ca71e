//! `Tail`: the newest entries of one consume queue, held in memory until they are written to
//! the queue's files.
//!
//! Writing each 20-byte entry with its own `pwrite(2)` costs a system call and an mtime
//! update per message. A queue instead keeps the entries past what is on file here, encoded
//! as they will be on disk, and writes them out in one `pwrite` per file they touch (see
//! `write_behind` for when). Readers copy entries from here for offsets at or past
//! [`Tail::start`]; everything below it is on file.
//!
//! ```text
//!  on file                         tail (memory)
//!  [first_file ........ start)     [start ........ end = max)
//! ```
//!
//! Memory is counted as the buffer's capacity: [`TailGuard`] reports every change of it to
//! the store-wide [`WriteBehind`] budget when it is released.

use std::ops::{Deref, DerefMut};
use std::sync::MutexGuard;

use super::entry::{Entry, ENTRY_SIZE};
use super::write_behind::WriteBehind;

/// Entries of one queue not yet written to its files.
#[derive(Debug, Default)]
pub(super) struct Tail {
    /// Logical offset of the first buffered entry: everything below it is on file.
    start: i64,
    /// The buffered entries, encoded (a whole number of [`ENTRY_SIZE`] records).
    bytes: Vec<u8>,
    /// Whether the queue is in the write-behind list, which will write it out in time.
    pub listed: bool,
}

impl Tail {
    /// The offset of the first buffered entry (the end of what is on file).
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The offset past the last buffered entry.
    pub fn end(&self) -> i64 {
        self.start + self.len()
    }

    /// Buffered entries.
    pub fn len(&self) -> i64 {
        (self.bytes.len() / ENTRY_SIZE) as i64
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded entries, from [`start`](Self::start) on.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes of memory the tail holds.
    pub fn held(&self) -> usize {
        self.bytes.capacity()
    }

    /// Buffers `entry` at [`end`](Self::end).
    pub fn push(&mut self, entry: &Entry) {
        entry.encode_into(&mut self.bytes);
    }

    /// Appends the buffered entries of `[from, to)` to `out`.
    pub fn read(&self, from: i64, to: i64, out: &mut Vec<Entry>) {
        let pos = |at: i64| {
            usize::try_from(at.clamp(self.start, self.end()) - self.start).unwrap_or(0) * ENTRY_SIZE
        };
        if let Some(bytes) = self.bytes.get(pos(from)..pos(to)) {
            out.extend(Entry::decode_all(bytes));
        }
    }

    /// The first `count` buffered entries are now on file: the tail starts after them. An
    /// emptied tail gives its memory back (a store may hold tens of thousands of tails).
    pub fn consume(&mut self, count: i64) {
        let count = count.clamp(0, self.len());
        if count == self.len() {
            self.bytes = Vec::new();
        } else {
            self.bytes.drain(..count.unsigned_abs() as usize * ENTRY_SIZE);
        }
        self.start += count;
    }

    /// Drops whatever is buffered and starts the tail at `start`.
    pub fn reset(&mut self, start: i64) {
        self.start = start;
        self.bytes = Vec::new();
    }
}

/// A locked [`Tail`] that reports the change of its memory to the budget when dropped.
pub(super) struct TailGuard<'a> {
    tail: MutexGuard<'a, Tail>,
    held: usize,
    budget: &'a WriteBehind,
}

impl<'a> TailGuard<'a> {
    pub fn new(tail: MutexGuard<'a, Tail>, budget: &'a WriteBehind) -> TailGuard<'a> {
        let held = tail.held();
        TailGuard { tail, held, budget }
    }
}

impl Deref for TailGuard<'_> {
    type Target = Tail;

    fn deref(&self) -> &Tail {
        &self.tail
    }
}

impl DerefMut for TailGuard<'_> {
    fn deref_mut(&mut self) -> &mut Tail {
        &mut self.tail
    }
}

impl Drop for TailGuard<'_> {
    fn drop(&mut self) {
        self.budget.account(self.held, self.tail.held());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: i64) -> Entry {
        Entry { commit_log_offset: i * 100, size: 100, tags_code: i }
    }

    #[test]
    fn buffers_reads_and_consumes() {
        let mut tail = Tail::default();
        tail.reset(10);
        assert!(tail.is_empty());
        for i in 10..15 {
            tail.push(&entry(i));
        }
        assert_eq!((tail.start(), tail.end(), tail.len()), (10, 15, 5));
        assert_eq!(tail.bytes().len(), 5 * ENTRY_SIZE);
        let mut out = Vec::new();
        tail.read(0, 12, &mut out);
        tail.read(14, 99, &mut out);
        tail.read(13, 13, &mut out);
        assert_eq!(out, vec![entry(10), entry(11), entry(14)]);
        tail.consume(2);
        assert_eq!((tail.start(), tail.end()), (12, 15));
        out.clear();
        tail.read(0, 99, &mut out);
        assert_eq!(out, vec![entry(12), entry(13), entry(14)]);
        tail.consume(99);
        assert_eq!((tail.start(), tail.end(), tail.held()), (15, 15, 0));
    }
}
