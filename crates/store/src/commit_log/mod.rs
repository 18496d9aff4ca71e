//! The commit log: every message of every topic, appended to one sequence of fixed-size
//! segments. One append point for all queues keeps writes sequential however many queues
//! exist; consume queues and the index point into it.
//!
//! Appends are serialized by one short lock that assigns the physical offset, the queue
//! offset and the store time, and copies the already-encoded record into the mapped segment.
//! Encoding (and the body CRC) happens before the lock. Readers never lock the append path:
//! they read published bytes of the mapped segments.

mod allocator;
pub mod recovery;
pub mod segment;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use ferromq_protocol::message::layout::BLANK_RECORD_LEN;
use ferromq_protocol::message::{
    patch_physical_offset, patch_queue_offset, patch_store_timestamp, StoredMessage,
    TransactionType, BLANK_MAGIC_CODE,
};
use tracing::{info, warn};

use self::allocator::Allocator;
pub use self::segment::Segment;
use crate::error::{Result, StoreError};
use crate::mmap::{MappedFile, Writer, PAGE_SIZE};

/// Where the commit log ends, and how that was learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryStart {
    /// Clean shutdown: the recorded end is exact, no scan needed.
    Clean { end: i64 },
    /// After a crash: scan and verify from the segment holding `from`.
    Crash { from: i64 },
}

/// Where one appended message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Commit-log offset of the record.
    pub physical_offset: i64,
    /// Record length.
    pub size: i32,
    /// Offset in its consume queue (0 for prepared and rolled-back transaction records).
    pub queue_offset: i64,
    /// The store time written into the record.
    pub store_timestamp: i64,
}

/// A message encoded outside the append lock, ready to be placed.
#[derive(Debug)]
pub struct Encoded {
    record: Vec<u8>,
    topic: String,
    queue_id: i32,
    takes_queue_offset: bool,
}

impl Encoded {
    /// Encodes `msg` (its offsets and store time are filled in at append).
    pub fn new(msg: &StoredMessage) -> Result<Encoded> {
        let len = msg.encoded_len().map_err(|e| StoreError::IllegalMessage(e.to_string()))?;
        let mut record = vec![0u8; len];
        msg.encode_to_slice(&mut record).map_err(|e| StoreError::IllegalMessage(e.to_string()))?;
        let takes_queue_offset = !matches!(
            TransactionType::from_sys_flag(msg.sys_flag),
            TransactionType::Prepared | TransactionType::Rollback
        );
        Ok(Encoded { record, topic: msg.topic.clone(), queue_id: msg.queue_id, takes_queue_offset })
    }

    /// Record length.
    pub fn len(&self) -> usize {
        self.record.len()
    }

    /// Whether the record is empty (never: a record has a fixed header).
    pub fn is_empty(&self) -> bool {
        self.record.is_empty()
    }
}

struct AppendState {
    /// Writer of the last segment.
    writer: Writer,
    /// Start offset of the segment being written.
    start: i64,
    /// Next queue offset per topic and queue.
    queue_offsets: HashMap<String, HashMap<i32, i64>>,
    /// The last store time handed out, so times never go backwards.
    last_timestamp: i64,
}

/// The commit log of one store.
pub struct CommitLog {
    dir: PathBuf,
    segment_size: usize,
    segments: RwLock<Vec<Segment>>,
    append: Mutex<AppendState>,
    allocator: Allocator,
    /// End of published records.
    max_offset: AtomicI64,
    /// Offset below which everything is on disk.
    flushed: AtomicI64,
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("dir", &self.dir)
            .field("max_offset", &self.max_offset())
            .field("flushed", &self.flushed())
            .finish()
    }
}

impl CommitLog {
    /// Opens the commit log in `dir`, finding its end as `start` says, cutting whatever
    /// follows it.
    pub fn open(
        dir: &Path,
        segment_size: usize,
        start: RecoveryStart,
        check_crc: bool,
        warm: bool,
    ) -> Result<CommitLog> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let files = segment::list(dir).map_err(|e| StoreError::io(dir, e))?;
        let mut segments = Vec::with_capacity(files.len());
        for (start_offset, path) in &files {
            let file = MappedFile::open(path, 0).map_err(|e| StoreError::io(path, e))?;
            if file.len() != segment_size {
                return Err(StoreError::Corrupt(format!(
                    "{} is {} bytes, not the configured segment size {segment_size}",
                    path.display(),
                    file.len()
                )));
            }
            segments.push((*start_offset, path.clone()));
        }
        let end = find_end(dir, &segments, segment_size, start, check_crc)?;
        // The writable segment is the one holding `end` (or a new one starting there); any
        // later one holds only cut data or is a prepared empty file.
        let write_start = end - end % segment_size as i64;
        let mut kept = Vec::new();
        for (start_offset, path) in segments {
            if start_offset > write_start {
                info!(path = %path.display(), "removing a commit-log segment past the end");
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
            } else {
                kept.push((start_offset, path));
            }
        }
        let allocator = Allocator::start(dir.to_path_buf(), segment_size, warm)?;
        let mut opened = Vec::with_capacity(kept.len());
        let mut writer = None;
        for (start_offset, path) in kept {
            if start_offset == write_start {
                let local = (end - start_offset) as usize;
                zero_dirty_tail(&path, local)?;
                let file =
                    Arc::new(MappedFile::open(&path, local).map_err(|e| StoreError::io(&path, e))?);
                writer = file.writer();
                opened.push(Segment { start: start_offset, file });
            } else {
                let file =
                    MappedFile::open(&path, segment_size).map_err(|e| StoreError::io(&path, e))?;
                opened.push(Segment { start: start_offset, file: Arc::new(file) });
            }
        }
        let writer = match writer {
            Some(writer) => writer,
            None => {
                let writer = allocator.take(write_start)?;
                opened.push(Segment { start: write_start, file: Arc::clone(writer.file()) });
                writer
            }
        };
        allocator.set_current(Arc::clone(writer.file()));
        allocator.prepare(write_start + segment_size as i64);
        info!(dir = %dir.display(), end, segments = opened.len(), "commit log opened");
        Ok(CommitLog {
            dir: dir.to_path_buf(),
            segment_size,
            segments: RwLock::new(opened),
            append: Mutex::new(AppendState {
                writer,
                start: write_start,
                queue_offsets: HashMap::new(),
                last_timestamp: 0,
            }),
            allocator,
            max_offset: AtomicI64::new(end),
            flushed: AtomicI64::new(end),
        })
    }

    /// Sets the next queue offset of every queue (from the consume queues, after recovery).
    pub fn set_queue_offsets(&self, offsets: impl IntoIterator<Item = (String, i32, i64)>) {
        let mut state = self.lock_append();
        state.queue_offsets.clear();
        for (topic, queue_id, next) in offsets {
            state.queue_offsets.entry(topic).or_default().insert(queue_id, next);
        }
    }

    /// Forgets a topic's queue offsets (the topic was deleted).
    pub fn remove_topic(&self, topic: &str) {
        self.lock_append().queue_offsets.remove(topic);
    }

    /// Appends one message. `now` is the store time (it never goes backwards).
    pub fn append(&self, mut encoded: Encoded, now: i64) -> Result<Appended> {
        let mut state = self.lock_append();
        let placed = self.place(&mut state, &mut encoded, now)?;
        state.writer.publish();
        self.max_offset.store(state.start + state.writer.position() as i64, Ordering::Release);
        Ok(placed)
    }

    /// Appends messages of one topic and queue, consecutively, in one segment.
    pub fn append_batch(&self, mut batch: Vec<Encoded>, now: i64) -> Result<Vec<Appended>> {
        let total: usize = batch.iter().map(Encoded::len).sum();
        if total + BLANK_RECORD_LEN > self.segment_size {
            return Err(StoreError::MessageTooLarge(format!(
                "batch of {total} bytes does not fit a commit-log segment"
            )));
        }
        let mut state = self.lock_append();
        if total + BLANK_RECORD_LEN > state.writer.remaining() {
            self.roll(&mut state)?;
        }
        let mut placed = Vec::with_capacity(batch.len());
        for encoded in &mut batch {
            placed.push(self.place(&mut state, encoded, now)?);
        }
        state.writer.publish();
        self.max_offset.store(state.start + state.writer.position() as i64, Ordering::Release);
        Ok(placed)
    }

    /// Places one record at the append point, rolling to a new segment if it does not fit.
    fn place(&self, state: &mut AppendState, encoded: &mut Encoded, now: i64) -> Result<Appended> {
        let len = encoded.record.len();
        if len + BLANK_RECORD_LEN > self.segment_size {
            return Err(StoreError::MessageTooLarge(format!(
                "record of {len} bytes does not fit a segment"
            )));
        }
        if len + BLANK_RECORD_LEN > state.writer.remaining() {
            self.roll(state)?;
        }
        let physical_offset = state.start + state.writer.position() as i64;
        let store_timestamp = now.max(state.last_timestamp);
        state.last_timestamp = store_timestamp;
        let queue_offset = if encoded.takes_queue_offset {
            let queues = match state.queue_offsets.get_mut(encoded.topic.as_str()) {
                Some(queues) => queues,
                None => state.queue_offsets.entry(encoded.topic.clone()).or_default(),
            };
            let next = queues.entry(encoded.queue_id).or_insert(0);
            let assigned = *next;
            *next += 1;
            assigned
        } else {
            0
        };
        let record = &mut encoded.record;
        let patched = patch_queue_offset(record, queue_offset)
            .and_then(|()| patch_physical_offset(record, physical_offset))
            .and_then(|()| patch_store_timestamp(record, store_timestamp));
        if let Err(e) = patched {
            return Err(StoreError::IllegalMessage(e.to_string()));
        }
        if !state.writer.write(record) {
            return Err(StoreError::Corrupt("record does not fit after the roll check".into()));
        }
        Ok(Appended { physical_offset, size: len as i32, queue_offset, store_timestamp })
    }

    /// Pads the current segment with a BLANK record and moves to the next one.
    fn roll(&self, state: &mut AppendState) -> Result<()> {
        let remaining = state.writer.remaining();
        let mut blank = [0u8; BLANK_RECORD_LEN];
        blank[..4].copy_from_slice(&(remaining as i32).to_be_bytes());
        blank[4..].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
        state.writer.write(&blank);
        state.writer.advance(remaining - BLANK_RECORD_LEN);
        state.writer.publish();
        let next_start = state.start + self.segment_size as i64;
        let writer = self.allocator.take(next_start)?;
        self.segments
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Segment { start: next_start, file: Arc::clone(writer.file()) });
        state.writer = writer;
        state.start = next_start;
        Ok(())
    }

    fn lock_append(&self) -> std::sync::MutexGuard<'_, AppendState> {
        self.append.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offset just past the last published record.
    pub fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// Offset of the first byte still stored.
    pub fn min_offset(&self) -> i64 {
        self.read_segments().first().map(|s| s.start).unwrap_or(0)
    }

    /// Offset below which everything is durable.
    pub fn flushed(&self) -> i64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// The segment size.
    pub fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// The published bytes `[offset, offset + len)`, zero-copy, if they lie in one segment.
    pub fn read(&self, offset: i64, len: usize) -> Option<Bytes> {
        let segment = self.segment_at(offset)?;
        segment.file.read_bytes((offset - segment.start) as usize, len)
    }

    /// The whole record at `offset` (its length read from its first field).
    pub fn read_record(&self, offset: i64) -> Option<Bytes> {
        let segment = self.segment_at(offset)?;
        let local = (offset - segment.start) as usize;
        let size = segment.file.read(local, 4)?;
        let size = i32::from_be_bytes(size.try_into().ok()?);
        let size = usize::try_from(size).ok().filter(|s| *s >= 8)?;
        segment.file.read_bytes(local, size)
    }

    /// The published bytes from `offset` to the end of its segment's published part: what
    /// the dispatcher walks. `None` if nothing is published there yet.
    pub fn read_from(&self, offset: i64) -> Option<(Bytes, bool)> {
        let segment = self.segment_at(offset)?;
        let local = (offset - segment.start) as usize;
        let published = segment.file.published();
        if published <= local {
            return None;
        }
        let sealed = published == segment.file.len();
        Some((segment.file.read_bytes(local, published - local)?, sealed))
    }

    /// The segment holding `offset`.
    fn segment_at(&self, offset: i64) -> Option<Segment> {
        let segments = self.read_segments();
        let at = segments.partition_point(|s| s.start <= offset);
        let segment = segments.get(at.checked_sub(1)?)?;
        segment.contains(offset).then(|| segment.clone())
    }

    /// A snapshot of the segments, oldest first.
    pub fn segments(&self) -> Vec<Segment> {
        self.read_segments().clone()
    }

    fn read_segments(&self) -> std::sync::RwLockReadGuard<'_, Vec<Segment>> {
        self.segments.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes every published byte to disk; returns the new durable offset. On failure the
    /// caller must poison the store: what reached the disk is unknown.
    pub fn flush(&self) -> Result<i64> {
        let target = self.max_offset();
        let from = self.flushed();
        if target <= from {
            return Ok(from);
        }
        for segment in self.read_segments().iter().filter(|s| s.end() > from && s.start < target) {
            let local_from = (from.max(segment.start) - segment.start) as usize;
            let local_to = (target.min(segment.end()) - segment.start) as usize;
            segment
                .file
                .flush_range(local_from, local_to - local_from)
                .map_err(|e| StoreError::io(segment.file.path(), e))?;
        }
        self.flushed.fetch_max(target, Ordering::AcqRel);
        Ok(target)
    }

    /// Bytes written but not yet flushed.
    pub fn unflushed(&self) -> i64 {
        self.max_offset() - self.flushed()
    }

    /// Drops pages from this process's memory (they stay in the page cache, so nothing is
    /// lost and a later read maps them again): every flushed page of earlier segments, and
    /// those of the current segment more than `keep` bytes behind the append point. Called
    /// after each flush, it keeps RSS bounded whatever has been written or read.
    pub fn release_flushed_pages(&self, keep: i64) {
        let flushed = self.flushed();
        let limit = flushed.min(self.max_offset() - keep);
        for segment in self.read_segments().iter() {
            if segment.end() <= flushed {
                segment.file.release_pages(0, segment.file.len());
            } else if segment.start < limit {
                segment.file.release_pages(0, (limit - segment.start) as usize);
            }
        }
    }

    /// Deletes the oldest segments, keeping the one being written, while `expired` says
    /// so; at most `max` of them. Returns the new minimum offset.
    pub fn delete_oldest(
        &self,
        max: usize,
        mut expired: impl FnMut(&Segment) -> bool,
    ) -> (usize, i64) {
        let mut segments = self.segments.write().unwrap_or_else(PoisonError::into_inner);
        let mut deleted = 0;
        while deleted < max && segments.len() > 1 {
            let Some(oldest) = segments.first() else { break };
            if !expired(oldest) {
                break;
            }
            info!(path = %oldest.file.path().display(), "deleting commit-log segment");
            oldest.file.delete_when_unused();
            segments.remove(0);
            deleted += 1;
        }
        (deleted, segments.first().map(|s| s.start).unwrap_or(0))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Finds the end of the log: exact after a clean shutdown, scanned after a crash.
fn find_end(
    dir: &Path,
    segments: &[(i64, PathBuf)],
    size: usize,
    start: RecoveryStart,
    check_crc: bool,
) -> Result<i64> {
    let Some(&(first, _)) = segments.first() else {
        return Ok(match start {
            RecoveryStart::Clean { end } if end > 0 => end - end % size as i64,
            _ => 0,
        });
    };
    let from = match start {
        RecoveryStart::Clean { end } => {
            let last_start = segments.last().map(|(s, _)| *s).unwrap_or(first);
            if end >= first && end <= last_start + size as i64 {
                return Ok(end);
            }
            warn!(end, "recorded commit-log end is outside the segments; scanning instead");
            first
        }
        RecoveryStart::Crash { from } => from.max(first),
    };
    // Scan from the start of the segment holding `from`, segment after segment.
    let mut index = segments.partition_point(|(s, _)| *s <= from).saturating_sub(1);
    loop {
        let Some((seg_start, path)) = segments.get(index) else {
            // Every segment is full: the log continues at the next (absent) one.
            return Ok(segments.last().map(|(s, _)| s + size as i64).unwrap_or(0));
        };
        let file = MappedFile::open(path, size).map_err(|e| StoreError::io(path, e))?;
        let bytes =
            file.read(0, size).ok_or_else(|| StoreError::Corrupt("segment unreadable".into()))?;
        let outcome = recovery::scan_segment(bytes, check_crc);
        if !outcome.full {
            let end = seg_start + outcome.end as i64;
            info!(dir = %dir.display(), end, records = outcome.records, "commit log recovered after a crash");
            return Ok(end);
        }
        index += 1;
    }
}

/// Zeroes leftovers after `end` in the segment at `path`, so they can never be read back as
/// records by a later recovery.
fn zero_dirty_tail(path: &Path, end: usize) -> Result<()> {
    let file = Arc::new(MappedFile::open(path, end).map_err(|e| StoreError::io(path, e))?);
    let dirty = {
        let whole = MappedFile::open(path, file.len()).map_err(|e| StoreError::io(path, e))?;
        let bytes = whole.read(0, whole.len()).unwrap_or_default();
        recovery::dirty_tail_len(bytes, end, PAGE_SIZE)
    };
    if dirty > 0 {
        let mut writer = file.writer().ok_or_else(|| StoreError::Corrupt("writer taken".into()))?;
        let zeros = [0u8; 64 * 1024];
        let mut left = dirty;
        while left > 0 {
            let chunk = left.min(zeros.len());
            writer.write(zeros.get(..chunk).unwrap_or_default());
            left -= chunk;
        }
        file.flush_range(end, dirty).map_err(|e| StoreError::io(path, e))?;
        warn!(path = %path.display(), end, bytes = dirty, "cut a torn commit-log tail");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
