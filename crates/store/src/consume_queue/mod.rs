//! Consume queues: per (topic, queue id), the commit-log position of each message, by
//! logical offset.
//!
//! On disk (`<root>/consumequeue/<topic>/<queueId>/`) a queue is a run of segment files of
//! fixed-size [`Entry`] records (see `segment` for names, `entry` for the record layout);
//! logical offset `n` is the entry at byte `n * 20` of the queue.
//!
//! A broker holds tens of thousands of queues, so a [`ConsumeQueue`] keeps no file open or
//! mapped: it is a few atomics and locks, and a small in-memory `tail` of the newest entries.
//! Appends go to the tail, which is written to the files with one positional write when it
//! is large or old enough, when the store's budget of buffered bytes is spent (see
//! [`WriteBehind`]) and before every [`ConsumeQueue::flush`], which then makes it durable.
//! Files are read and written through a shared, bounded [`FileCache`]. Reads serve the
//! offsets past what is on file from the tail, so an entry is readable as soon as it is
//! appended.
//!
//! Concurrency: one writer at a time (appends, truncation, retention and destruction take
//! the `writer` mutex) and any number of readers in parallel with appends. The tail has its
//! own lock, under which entries are buffered, written out and copied by readers. The writer
//! publishes the max offset with a release store after the entries are buffered, and readers
//! load it with acquire, so a reader never sees an entry below max that is not complete.
//! Files are only removed under the exclusive `removal` lock, which every file access holds
//! shared (taken before the tail lock).
//!
//! State invariants (`first_file <= min <= max`, `first_file <= written <= max`): the files
//! on disk are exactly those starting at `first_file, first_file + entries_per_file, ...`
//! below `written`, and the tail holds `[written, max)`; when `max == first_file` there is
//! none and `min == max`.

mod entry;
mod file_cache;
mod recovery;
mod scan;
mod segment;
mod tail;
#[cfg(test)]
mod tests;
mod trim;
mod write_behind;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use entry::{Entry, ENTRY_SIZE};

/// The page size the least-pages rule counts in.
const PAGE_BYTES: u64 = 4096;
pub use file_cache::FileCache;
use scan::CHUNK;
use segment::Layout;
use tail::{Tail, TailGuard};
pub use write_behind::{TailLimits, WriteBehind};

use crate::error::{Result, StoreError};

/// Entries per segment file in RocketMQ's default configuration (6,000,000-byte files).
pub const DEFAULT_ENTRIES_PER_FILE: usize = 300_000;

/// The consume queue of one (topic, queue id).
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    dir: PathBuf,
    layout: Layout,
    files: Arc<FileCache>,
    /// When tails are written, and the memory they may hold.
    behind: Arc<WriteBehind>,
    /// Serializes the operations that change the queue.
    writer: Mutex<()>,
    /// Held shared by every file access, exclusively to remove files.
    removal: RwLock<()>,
    /// The entries past what is on file.
    tail: Mutex<Tail>,
    /// Logical offset of the first file's first entry.
    first_file: AtomicI64,
    /// First offset still stored (readable).
    min: AtomicI64,
    /// Next offset to write; entries below it are complete (on file or in the tail).
    max: AtomicI64,
    /// Entries below this are on file (the tail's start, published after the write).
    written: AtomicI64,
    /// Entries below this are durable (fsynced).
    flushed: AtomicI64,
}

impl ConsumeQueue {
    /// Opens the queue whose files are in `dir` (created if missing) and recovers it: the max
    /// offset is the first unwritten entry of the last file that starts with a written one
    /// (so a torn tail is cut and zeroed); files after a gap in the names, after a short
    /// file, or after the recovered end are removed. The min offset is the first non-filler
    /// entry: call [`delete_below`](Self::delete_below) with the commit log's min offset
    /// once it is known to move it past expired entries.
    pub fn open(
        dir: &Path,
        topic: &str,
        queue_id: i32,
        entries_per_file: usize,
        files: Arc<FileCache>,
        behind: Arc<WriteBehind>,
    ) -> Result<ConsumeQueue> {
        let layout = Layout::new(entries_per_file)?;
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let listed = layout.list(dir)?;
        let mut queue = ConsumeQueue {
            topic: topic.to_owned(),
            queue_id,
            dir: dir.to_path_buf(),
            layout,
            files,
            behind,
            writer: Mutex::new(()),
            removal: RwLock::new(()),
            tail: Mutex::new(Tail::default()),
            first_file: AtomicI64::new(0),
            min: AtomicI64::new(0),
            max: AtomicI64::new(0),
            written: AtomicI64::new(0),
            flushed: AtomicI64::new(0),
        };
        queue.recover(&listed)?;
        Ok(queue)
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The queue id.
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// The folder holding the queue's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `entries` at logical offsets `first, first + 1, ...`, readable at once. Entries
    /// below the max offset are already present and skipped (re-dispatch after recovery is
    /// idempotent). If `first` is past the max offset the gap is filled with
    /// [`Entry::FILLER`]; an empty queue instead starts at the file holding `first`, filled
    /// up to it, and its min offset becomes `first` (as RocketMQ does for a queue first
    /// written at a non-zero offset).
    ///
    /// The entries go to the queue's tail, which is written to file once it holds
    /// [`TailLimits::tail_bytes`]. Returns `true` when the tail began to hold entries that no
    /// [`WriteBehind`] list knows of: the caller should [`WriteBehind::list`] the queue so
    /// that they are written in time.
    pub fn append(&self, first: i64, entries: &[Entry]) -> Result<bool> {
        if first < 0 {
            return Err(StoreError::Corrupt(format!(
                "{}-{}: negative consume queue offset {first}",
                self.topic, self.queue_id
            )));
        }
        let _writer = self.lock_writer();
        let _files = self.files_shared();
        let max = self.max.load(Ordering::Acquire);
        let skip = usize::try_from(max.saturating_sub(first)).unwrap_or(0);
        let entries = entries.get(skip..).unwrap_or_default();
        if entries.is_empty() {
            return Ok(false);
        }
        let first = first.max(max);
        let first_file = self.first_file.load(Ordering::Acquire);
        let mut tail = self.lock_tail();
        let fill_from = if first > max && max == first_file {
            // Nothing on file nor buffered: restart at the file holding `first`. Readers see
            // the new min before the max that goes with it (see `min_offset`).
            let start = self.layout.file_start(first);
            tail.reset(start);
            self.written.store(start, Ordering::Release);
            self.first_file.store(start, Ordering::Release);
            self.min.store(first, Ordering::Release);
            start
        } else {
            max
        };
        let fillers = (0..first - fill_from).map(|_| Entry::FILLER);
        let buffered = self.buffer(&mut tail, fillers.chain(entries.iter().copied()));
        self.max.store(tail.end(), Ordering::Release);
        buffered?;
        if tail.bytes().len() >= self.behind.limits().tail_bytes {
            self.write_tail(&mut tail)?;
        }
        let unlisted = !tail.is_empty() && !tail.listed;
        tail.listed |= unlisted;
        Ok(unlisted)
    }

    /// Buffers `entries` in the tail, writing it out whenever it holds [`CHUNK`] entries (a
    /// long run, or fillers for a wide gap).
    fn buffer(&self, tail: &mut Tail, entries: impl Iterator<Item = Entry>) -> Result<()> {
        for entry in entries {
            if tail.len() >= CHUNK {
                self.write_tail(tail)?;
            }
            tail.push(&entry);
        }
        Ok(())
    }

    /// Writes the tail to the queue's files, one write per file it touches, creating a file
    /// when the tail reaches its start. The caller holds `removal` (shared or exclusive) and
    /// the tail's lock.
    fn write_tail(&self, tail: &mut Tail) -> Result<()> {
        while !tail.is_empty() {
            let at = tail.start();
            let start = self.layout.file_start(at);
            let count = (start + self.layout.per_file() - at).min(tail.len());
            let len = usize::try_from(count).unwrap_or(0) * ENTRY_SIZE;
            let bytes = tail.bytes().get(..len).unwrap_or_default();
            let path = self.layout.path(&self.dir, start);
            let file = if at == start {
                self.files.create(&path, self.layout.file_bytes())
            } else {
                self.files.open(&path)
            }
            .map_err(|e| StoreError::io(&path, e))?;
            file.write_all_at(bytes, self.layout.byte_pos(at))
                .map_err(|e| StoreError::io(&path, e))?;
            tail.consume(count);
            self.written.store(tail.start(), Ordering::Release);
        }
        Ok(())
    }

    /// Writes the tail to file now, if it holds anything.
    pub fn write_buffered(&self) -> Result<()> {
        let _files = self.files_shared();
        let mut tail = self.lock_tail();
        self.write_tail(&mut tail)
    }

    /// Writes the tail for the [`WriteBehind`] list, which took the queue off: the next
    /// append that buffers will list it again.
    fn write_listed_tail(&self) -> Result<()> {
        let _files = self.files_shared();
        let mut tail = self.lock_tail();
        tail.listed = false;
        let written = self.write_tail(&mut tail);
        if written.is_err() {
            tail.listed = true; // the caller lists it again
        }
        written
    }

    /// Entries held in memory, not yet on file.
    pub fn buffered(&self) -> i64 {
        self.tail.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The entry at `offset`, or `None` outside `[min_offset, max_offset)`.
    pub fn get(&self, offset: i64) -> Result<Option<Entry>> {
        Ok(self.read(offset, 1)?.into_iter().next())
    }

    /// Up to `max_count` entries from `offset` on, stopping at the max offset; empty if
    /// `offset` is outside `[min_offset, max_offset)`. One read per file touched.
    pub fn read(&self, offset: i64, max_count: usize) -> Result<Vec<Entry>> {
        let _files = self.files_shared();
        let max = self.max.load(Ordering::Acquire);
        let min = self.min.load(Ordering::Acquire);
        if offset < min || offset >= max || max_count == 0 {
            return Ok(Vec::new());
        }
        let count = (max - offset).min(i64::try_from(max_count).unwrap_or(i64::MAX));
        let mut out = Vec::with_capacity(usize::try_from(count.min(CHUNK)).unwrap_or(0));
        self.read_into(offset, count, &mut out)?;
        Ok(out)
    }

    /// The first logical offset still stored.
    pub fn min_offset(&self) -> i64 {
        // An append to an empty queue publishes its new min before the max that goes with
        // it: loading the max first and clamping keeps the pair consistent.
        let max = self.max.load(Ordering::Acquire);
        self.min.load(Ordering::Acquire).min(max)
    }

    /// The next logical offset to be written (the entry count, deleted ones included).
    pub fn max_offset(&self) -> i64 {
        self.max.load(Ordering::Acquire)
    }

    /// Entries below this offset are durable.
    pub fn flushed_offset(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// The newest entry other than a filler, even below the min offset (recovery uses it
    /// for the largest commit-log offset the queue refers to); `None` if there is none.
    pub fn last_entry(&self) -> Result<Option<Entry>> {
        let _files = self.files_shared();
        let max = self.max.load(Ordering::Acquire);
        let first_file = self.first_file.load(Ordering::Acquire);
        Ok(self.rfind(first_file, max, |e| !e.is_filler())?.map(|(_, e)| e))
    }

    /// The offset of a message stored at `timestamp`, by binary search over
    /// `[min_offset, max_offset)`, with RocketMQ's `getOffsetInQueueByTime` results:
    /// - lower (`upper == false`): the first offset whose store time is `>= timestamp`;
    ///   the max offset if every message is older;
    /// - upper: the last offset whose store time is `<= timestamp`; the min offset if every
    ///   message is newer;
    /// - the min offset when the queue holds nothing.
    ///
    /// `store_time_of` reads a message's store time from the commit log; a message it cannot
    /// find (`None`, deleted) counts as older than any timestamp. Fillers are skipped.
    pub fn offset_by_time(
        &self,
        timestamp: i64,
        upper: bool,
        store_time_of: impl Fn(&Entry) -> Option<i64>,
    ) -> Result<i64> {
        let _files = self.files_shared();
        let max = self.max.load(Ordering::Acquire);
        let min = self.min.load(Ordering::Acquire);
        if min >= max {
            return Ok(min.min(max));
        }
        if upper {
            let newer =
                self.first_match(min, max, |e| store_time_of(e).is_some_and(|t| t > timestamp))?;
            let end = newer.map_or(max, |(i, _)| i);
            Ok(self.rfind(min, end, |e| !e.is_filler())?.map_or(min, |(i, _)| i))
        } else {
            let at_or_after =
                self.first_match(min, max, |e| store_time_of(e).is_some_and(|t| t >= timestamp))?;
            Ok(at_or_after.map_or(max, |(i, _)| i))
        }
    }

    /// Makes every entry appended so far durable: writes the tail, then fsyncs the files
    /// written since the last flush, and the folders if a file was created.
    ///
    /// With `least_pages` above 0 a queue with fewer unflushed 4 KiB pages than that is left for
    /// a later pass (RocketMQ's `flushConsumeQueueLeastPages`): a queue that gains a few entries
    /// a second is synced at the thorough passes only, not once a second each.
    pub fn flush(&self, least_pages: usize) -> Result<()> {
        if least_pages > 0 {
            let page = |offset: i64| offset.max(0) as u64 * ENTRY_SIZE as u64 / PAGE_BYTES;
            let max = self.max.load(Ordering::Acquire);
            let flushed = self.flushed.load(Ordering::Acquire);
            if page(max).saturating_sub(page(flushed)) < least_pages as u64 {
                return Ok(());
            }
        }
        let _files = self.files_shared();
        self.write_tail(&mut self.lock_tail())?;
        let written = self.written.load(Ordering::Acquire);
        let first_file = self.first_file.load(Ordering::Acquire);
        let from = self.flushed.load(Ordering::Acquire).max(first_file);
        if from >= written {
            return Ok(());
        }
        let mut start = self.layout.file_start(from);
        let mut created = false;
        while start < written {
            let path = self.layout.path(&self.dir, start);
            let file = self.files.open(&path).map_err(|e| StoreError::io(&path, e))?;
            file.sync_data().map_err(|e| StoreError::io(&path, e))?;
            // Files are created when the first entry is written at their start.
            created |= start >= from;
            start += self.layout.per_file();
        }
        if created {
            sync_dir(&self.dir)?;
            if first_file >= from {
                // The queue's first file: its folder may be new as well.
                for dir in self.dir.ancestors().skip(1).take(2) {
                    sync_dir(dir)?;
                }
            }
        }
        self.flushed.fetch_max(written, Ordering::AcqRel);
        Ok(())
    }

    /// Deletes every file of the queue and its folder (the topic was deleted), and the topic
    /// folder too if that is now empty; what the tail held is dropped. The queue must not be
    /// written afterwards.
    pub fn destroy(&self) -> Result<()> {
        let _writer = self.lock_writer();
        let _files = self.files_exclusive();
        self.lock_tail().reset(0);
        match std::fs::read_dir(&self.dir) {
            Ok(items) => {
                for item in items.flatten() {
                    self.files.forget(&item.path());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&self.dir, e)),
        }
        for value in [&self.first_file, &self.min, &self.max, &self.written, &self.flushed] {
            value.store(0, Ordering::Release);
        }
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&self.dir, e)),
        }
        if let Some(topic_dir) = self.dir.parent() {
            if topic_dir.file_name().is_some_and(|n| n == self.topic.as_str()) {
                // Fails (and is left alone) while other queues of the topic remain.
                let _ = std::fs::remove_dir(topic_dir);
            }
        }
        Ok(())
    }

    /// Removes the segment file starting at `start`.
    fn remove_file(&self, start: i64) -> Result<()> {
        let path = self.layout.path(&self.dir, start);
        self.files.forget(&path);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    fn lock_writer(&self) -> MutexGuard<'_, ()> {
        // Guards no data: a panicked holder leaves nothing half-updated behind the lock.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tail, locked; the change of its memory is reported to the budget on release.
    fn lock_tail(&self) -> TailGuard<'_> {
        // Every change of the tail is complete before it returns: a panicked holder leaves
        // whole entries behind.
        TailGuard::new(self.tail.lock().unwrap_or_else(PoisonError::into_inner), &self.behind)
    }

    fn files_shared(&self) -> RwLockReadGuard<'_, ()> {
        self.removal.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn files_exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.removal.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ConsumeQueue {
    /// What the tail held is dropped (a queue is dropped without a flush only when the
    /// store is, as in a crash) and no longer counts against the budget.
    fn drop(&mut self) {
        let held = self.tail.get_mut().unwrap_or_else(PoisonError::into_inner).held();
        self.behind.account(held, 0);
    }
}

/// fsyncs a folder, making the creation of the files in it durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| StoreError::io(dir, e))
}

/// The folder of queue `queue_id` of `topic` under `<root>/consumequeue`. Refuses topic
/// names that would leave that folder (empty, `.`, `..`, or containing `/` or NUL).
pub fn queue_dir(consume_queue_root: &Path, topic: &str, queue_id: i32) -> Result<PathBuf> {
    if topic.is_empty() || topic == "." || topic == ".." || topic.contains(['/', '\0']) {
        return Err(StoreError::Config(format!("topic {topic:?} cannot name a folder")));
    }
    Ok(consume_queue_root.join(topic).join(queue_id.to_string()))
}

/// Every queue under `consume_queue_root` (`<root>/consumequeue/`): (topic, queue id,
/// folder), sorted. Folders whose name is not a queue id are skipped; a missing root holds
/// no queue.
pub fn discover(consume_queue_root: &Path) -> Result<Vec<(String, i32, PathBuf)>> {
    let topics = match std::fs::read_dir(consume_queue_root) {
        Ok(topics) => topics,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(consume_queue_root, e)),
    };
    let mut found = Vec::new();
    for topic in topics {
        let topic = topic.map_err(|e| StoreError::io(consume_queue_root, e))?;
        let topic_dir = topic.path();
        let Some(name) = topic.file_name().to_str().map(str::to_owned) else { continue };
        if !topic_dir.is_dir() {
            continue;
        }
        for queue in std::fs::read_dir(&topic_dir).map_err(|e| StoreError::io(&topic_dir, e))? {
            let queue = queue.map_err(|e| StoreError::io(&topic_dir, e))?;
            let id = queue.file_name().to_str().and_then(|n| n.parse::<i32>().ok());
            match id {
                Some(id) if queue.path().is_dir() => found.push((name.clone(), id, queue.path())),
                _ => {
                    tracing::warn!(path = %queue.path().display(), "not a consume queue folder, skipped")
                }
            }
        }
    }
    found.sort();
    Ok(found)
}
