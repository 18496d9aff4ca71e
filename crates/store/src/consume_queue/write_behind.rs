//! `WriteBehind`: when the consume queues' in-memory tails are written to their files.
//!
//! A queue writes its own tail once it holds [`TailLimits::tail_bytes`], and before every
//! flush. For the rest, one `WriteBehind` shared by every queue of a store keeps the queues
//! whose tail holds entries in a list, oldest first (in the order their tails started to
//! fill), and writes them:
//!
//! - when they have waited [`TailLimits::max_age`] ([`WriteBehind::write_due`], called by
//!   the dispatcher after each round);
//! - when all tails together hold more than [`TailLimits::budget_bytes`]: the oldest are
//!   written until the tails are back under three quarters of it
//!   ([`WriteBehind::write_over_budget`]), so memory stays bounded with any number of queues.
//!
//! The list holds weak references: a deleted queue simply drops out. Each queue is listed at
//! most once (its tail's `listed` flag), so the list is no longer than the number of queues.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use super::ConsumeQueue;
use crate::error::Result;

/// When tails are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailLimits {
    /// A queue writes its tail once it holds this many bytes (0: every append is written at
    /// once, as without a tail).
    pub tail_bytes: usize,
    /// Most bytes all tails of a store may hold together.
    pub budget_bytes: usize,
    /// Longest a tail waits before it is written.
    pub max_age: Duration,
}

impl Default for TailLimits {
    /// 4 KiB per tail, 8 MiB in all, 200 ms.
    fn default() -> Self {
        TailLimits { tail_bytes: 4096, budget_bytes: 8 << 20, max_age: Duration::from_millis(200) }
    }
}

/// The store-wide schedule and memory budget of consume-queue tails.
#[derive(Debug)]
pub struct WriteBehind {
    limits: TailLimits,
    /// Bytes all tails hold now.
    held: AtomicUsize,
    /// Queues whose tail may hold entries, with when they were listed, oldest first.
    listed: Mutex<VecDeque<(Instant, Weak<ConsumeQueue>)>>,
}

impl WriteBehind {
    /// A schedule following `limits`.
    pub fn new(limits: TailLimits) -> WriteBehind {
        WriteBehind { limits, held: AtomicUsize::new(0), listed: Mutex::new(VecDeque::new()) }
    }

    /// The limits.
    pub fn limits(&self) -> TailLimits {
        self.limits
    }

    /// Bytes all tails hold now.
    pub fn held_bytes(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// How many queues are listed.
    pub fn listed_len(&self) -> usize {
        self.lock().len()
    }

    /// A tail's memory went from `before` to `after` bytes.
    pub(super) fn account(&self, before: usize, after: usize) {
        if after > before {
            self.held.fetch_add(after - before, Ordering::AcqRel);
        } else if before > after {
            self.held.fetch_sub(before - after, Ordering::AcqRel);
        }
    }

    /// Adds `queue` at the end of the list: its tail began to hold entries
    /// ([`ConsumeQueue::append`] said so).
    pub fn list(&self, queue: &Arc<ConsumeQueue>) {
        self.lock().push_back((Instant::now(), Arc::downgrade(queue)));
    }

    /// Whether the tails hold more than the budget.
    pub fn over_budget(&self) -> bool {
        self.held_bytes() > self.limits.budget_bytes
    }

    /// Writes the tails listed at least `max_age` before `now`; returns how many queues it
    /// wrote.
    pub fn write_due(&self, now: Instant) -> Result<usize> {
        let due = now.checked_sub(self.limits.max_age);
        self.write_oldest(|listed| due.is_some_and(|due| listed <= due))
    }

    /// If the tails hold more than the budget, writes the oldest until they hold at most
    /// three quarters of it; returns how many queues it wrote.
    pub fn write_over_budget(&self) -> Result<usize> {
        if !self.over_budget() {
            return Ok(0);
        }
        let low = self.limits.budget_bytes / 4 * 3;
        self.write_oldest(|_| self.held_bytes() > low)
    }

    /// Writes every listed tail (tests; a stop flushes every queue instead).
    pub fn write_all(&self) -> Result<usize> {
        self.write_oldest(|_| true)
    }

    /// Takes queues off the front of the list while `more` says so of the time they were
    /// listed, and writes their tails. A queue whose write fails goes back at the end.
    fn write_oldest(&self, more: impl Fn(Instant) -> bool) -> Result<usize> {
        let mut written = 0;
        loop {
            let next = {
                let mut listed = self.lock();
                match listed.front() {
                    Some((at, _)) if more(*at) => listed.pop_front(),
                    _ => None,
                }
            };
            let Some((_, queue)) = next else { return Ok(written) };
            let Some(queue) = queue.upgrade() else { continue };
            if let Err(e) = queue.write_listed_tail() {
                self.list(&queue);
                return Err(e);
            }
            written += 1;
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(Instant, Weak<ConsumeQueue>)>> {
        // Every update of the list is a single push or pop: a panicked holder leaves it whole.
        self.listed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for WriteBehind {
    /// A schedule with the default [`TailLimits`].
    fn default() -> Self {
        WriteBehind::new(TailLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::consume_queue::{queue_dir, Entry, FileCache, ENTRY_SIZE};

    fn entry(i: i64) -> Entry {
        Entry { commit_log_offset: i * 100, size: 100, tags_code: i }
    }

    fn entries(range: std::ops::Range<i64>) -> Vec<Entry> {
        range.map(entry).collect()
    }

    fn limits(tail_bytes: usize, budget_bytes: usize) -> TailLimits {
        TailLimits { tail_bytes, budget_bytes, max_age: Duration::from_millis(200) }
    }

    fn queue(root: &Path, id: i32, behind: &Arc<WriteBehind>) -> Arc<ConsumeQueue> {
        queue_sharing(root, id, behind, &Arc::new(FileCache::new(16)))
    }

    /// A queue whose files are opened through `files`, shared as a store shares it.
    fn queue_sharing(
        root: &Path,
        id: i32,
        behind: &Arc<WriteBehind>,
        files: &Arc<FileCache>,
    ) -> Arc<ConsumeQueue> {
        let dir = queue_dir(root, "T", id).unwrap();
        let files = Arc::clone(files);
        Arc::new(ConsumeQueue::open(&dir, "T", id, 8, files, Arc::clone(behind)).unwrap())
    }

    /// The entries the queue's files hold, read past the queue.
    fn on_file(root: &Path, id: i32) -> Vec<Entry> {
        let dir = queue_dir(root, "T", id).unwrap();
        let mut names: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        let bytes: Vec<u8> = names.iter().flat_map(|p| std::fs::read(p).unwrap()).collect();
        Entry::decode_all(&bytes).take_while(Entry::is_written).collect()
    }

    /// Appends and lists the queue as the queue table does.
    fn append(behind: &WriteBehind, q: &Arc<ConsumeQueue>, range: std::ops::Range<i64>) {
        if q.append(range.start, &entries(range)).unwrap() {
            behind.list(q);
        }
    }

    #[test]
    fn buffered_entries_are_readable_before_they_are_on_file() {
        let root = tempfile::tempdir().unwrap();
        let behind = Arc::new(WriteBehind::new(limits(4096, 1 << 20)));
        let q = queue(root.path(), 0, &behind);
        append(&behind, &q, 0..3);
        q.append(5, &entries(5..11)).unwrap(); // a gap, and across a file boundary
        assert!(on_file(root.path(), 0).is_empty(), "nothing written yet");
        assert_eq!(q.buffered(), 11);
        assert!(behind.held_bytes() >= 11 * ENTRY_SIZE);
        let expected: Vec<_> =
            entries(0..3).into_iter().chain([Entry::FILLER; 2]).chain(entries(5..11)).collect();
        assert_eq!((q.min_offset(), q.max_offset()), (0, 11));
        assert_eq!(q.read(0, 100).unwrap(), expected);
        assert_eq!(q.get(10).unwrap(), Some(entry(10)));
        assert_eq!(q.last_entry().unwrap(), Some(entry(10)));
        let time = |e: &Entry| Some(e.commit_log_offset);
        assert_eq!(q.offset_by_time(650, false, time).unwrap(), 7);
        assert_eq!(q.offset_by_time(650, true, time).unwrap(), 6);

        assert_eq!(behind.write_all().unwrap(), 1);
        assert_eq!((q.buffered(), behind.held_bytes()), (0, 0));
        assert_eq!(on_file(root.path(), 0), expected);
        assert_eq!(q.read(0, 100).unwrap(), expected);
    }

    #[test]
    fn a_full_tail_is_written_in_one_go() {
        let root = tempfile::tempdir().unwrap();
        let behind = Arc::new(WriteBehind::new(limits(5 * ENTRY_SIZE, 1 << 20)));
        let q = queue(root.path(), 0, &behind);
        append(&behind, &q, 0..4);
        assert_eq!(q.buffered(), 4);
        append(&behind, &q, 4..5);
        assert_eq!(q.buffered(), 0, "five entries reach the tail size");
        assert_eq!(on_file(root.path(), 0), entries(0..5));
        append(&behind, &q, 5..7);
        assert_eq!(q.read(3, 10).unwrap(), entries(3..7), "half on file, half buffered");
    }

    #[test]
    fn tails_are_written_once_due_and_by_a_flush() {
        let root = tempfile::tempdir().unwrap();
        let behind = Arc::new(WriteBehind::new(limits(4096, 1 << 20)));
        let (q0, q1) = (queue(root.path(), 0, &behind), queue(root.path(), 1, &behind));
        append(&behind, &q0, 0..2);
        append(&behind, &q1, 0..3);
        append(&behind, &q0, 2..4); // already listed
        assert_eq!(behind.listed_len(), 2);
        let now = Instant::now();
        assert_eq!(behind.write_due(now).unwrap(), 0, "not due yet");
        assert_eq!(behind.write_due(now + Duration::from_millis(250)).unwrap(), 2);
        assert_eq!((q0.buffered(), q1.buffered(), behind.listed_len()), (0, 0, 0));
        assert_eq!(on_file(root.path(), 0), entries(0..4));

        append(&behind, &q1, 3..5);
        assert_eq!(behind.listed_len(), 1, "listed again once it buffers again");
        q1.flush(0).unwrap();
        assert_eq!(q1.buffered(), 0);
        assert_eq!(q1.flushed.load(Ordering::Acquire), 5, "written, then synced");
        assert_eq!(on_file(root.path(), 1), entries(0..5));
    }

    #[test]
    fn the_budget_writes_the_oldest_tails_first() {
        let root = tempfile::tempdir().unwrap();
        // Each tail holds 2 entries (capacity 40 bytes): the budget is 10 tails' worth.
        let behind = Arc::new(WriteBehind::new(limits(4096, 400)));
        let queues: Vec<_> = (0..20).map(|id| queue(root.path(), id, &behind)).collect();
        for q in &queues {
            append(&behind, q, 0..2);
            behind.write_over_budget().unwrap();
            assert!(behind.held_bytes() <= 400, "{}", behind.held_bytes());
        }
        let buffered: Vec<_> = queues.iter().map(|q| q.buffered()).collect();
        assert!(buffered.iter().take(5).all(|b| *b == 0), "the oldest were written: {buffered:?}");
        assert!(buffered.iter().rev().take(5).all(|b| *b == 2), "the newest wait: {buffered:?}");
        for (id, q) in queues.iter().enumerate() {
            assert_eq!(q.read(0, 10).unwrap(), entries(0..2), "queue {id}");
        }
    }

    #[test]
    fn many_queues_round_robin_stay_within_the_budget() {
        let root = tempfile::tempdir().unwrap();
        let budget = 64 * 1024;
        let behind = Arc::new(WriteBehind::new(limits(4096, budget)));
        // One bounded handle cache, as in a store (3,000 caches would hold 3,000 files open,
        // and tests running alongside count open files).
        let files = Arc::new(FileCache::new(64));
        let queues: Vec<_> =
            (0..3000).map(|id| queue_sharing(root.path(), id, &behind, &files)).collect();
        let mut peak = 0;
        for round in 0..10 {
            for q in &queues {
                append(&behind, q, round..round + 1);
                behind.write_over_budget().unwrap();
                peak = peak.max(behind.held_bytes());
            }
        }
        assert!(peak <= budget, "{peak} bytes held at most");
        assert!(behind.listed_len() <= queues.len());
        for (id, q) in queues.iter().enumerate().step_by(101) {
            assert_eq!(q.read(0, 20).unwrap(), entries(0..10), "queue {id}");
        }
        // Dropped queues give their memory back and drop out of the list.
        drop(queues);
        assert_eq!(behind.held_bytes(), 0);
        assert_eq!(behind.write_all().unwrap(), 0);
    }

    #[test]
    fn a_destroyed_queue_drops_its_tail() {
        let root = tempfile::tempdir().unwrap();
        let behind = Arc::new(WriteBehind::new(limits(4096, 1 << 20)));
        let q = queue(root.path(), 0, &behind);
        append(&behind, &q, 0..3);
        q.destroy().unwrap();
        assert_eq!((q.buffered(), behind.held_bytes(), q.max_offset()), (0, 0, 0));
        behind.write_all().unwrap();
        assert!(!queue_dir(root.path(), "T", 0).unwrap().exists(), "not brought back");
    }
}
