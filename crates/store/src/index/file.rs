//! One index file: appending entries, sealing, recovering an unsealed file, and lookups.
//!
//! A file is either *live* (the one being appended to: its slot heads are in memory, in an
//! array of atomics only this file has) or *sealed* (its slot table and footer are in the
//! file and everything is published). See the [`format`](super::format) module for the
//! bytes, and the [`index`](super) module for why this is sound with [`MappedFile`].

use std::fs::OpenOptions;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

use super::format::{Entry, Footer, Geometry, Header, ENTRY_LEN, FOOTER_LEN, HEADER_LEN, SLOT_LEN};
use crate::error::{Result, StoreError};
use crate::mmap::{MappedFile, Writer};

/// One index file, shared by the writer and readers.
pub struct IndexFile {
    map: Arc<MappedFile>,
    header: Header,
    /// The number the file is named by.
    name: u64,
    /// The newest entry of each slot (number + 1, 0 = none) while the file is live; `None`
    /// once sealed, when the slot table in the file holds them.
    heads: Option<Box<[AtomicU32]>>,
    /// Entries appended; stored after the entry is published, before its slot head.
    count: AtomicU32,
    last_offset: AtomicI64,
    last_timestamp: AtomicI64,
}

impl std::fmt::Debug for IndexFile {
    // Not derived: the live heads are millions of slots.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexFile")
            .field("path", &self.map.path())
            .field("header", &self.header)
            .field("live", &self.heads.is_some())
            .field("count", &self.count())
            .field("last_offset", &self.last_offset())
            .field("last_timestamp", &self.last_timestamp())
            .finish()
    }
}

/// What opening an existing file found.
#[derive(Debug)]
pub enum Opened {
    /// A sealed file, ready for lookups.
    Sealed(Arc<IndexFile>),
    /// A file that was not sealed, recovered up to its first invalid entry: live again.
    Unsealed(Appender),
    /// A valid header but no valid entry.
    Empty,
    /// No valid header (a file torn while being created), or inconsistent geometry.
    Invalid(String),
}

impl IndexFile {
    /// Creates file `name` in `dir` for entries starting at `first_offset`, stored at
    /// `base_timestamp`, and returns its appender. The header is published at once. Until
    /// the first entry lands, the file reports `previous` (offset, timestamp) as its last
    /// ones, as RocketMQ starts a new file from the previous file's end values.
    pub fn create(
        dir: &Path,
        name: u64,
        geometry: Geometry,
        (base_timestamp, first_offset): (i64, i64),
        previous: (i64, i64),
    ) -> Result<Appender> {
        let path = dir.join(file_name(name));
        let map = Arc::new(
            MappedFile::create(&path, geometry.file_len()).map_err(|e| StoreError::io(&path, e))?,
        );
        let mut writer =
            map.writer().ok_or_else(|| StoreError::Corrupt("index writer taken".into()))?;
        let header = Header { geometry, base_timestamp, first_offset };
        if !writer.write(&header.encode()) {
            return Err(StoreError::Corrupt(format!("{}: no room for the header", path.display())));
        }
        writer.publish();
        let file = IndexFile {
            map,
            header,
            name,
            heads: Some(zeroed_heads(geometry)),
            count: AtomicU32::new(0),
            last_offset: AtomicI64::new(previous.0),
            last_timestamp: AtomicI64::new(previous.1),
        };
        Ok(Appender { file: Arc::new(file), writer, flushed: 0 })
    }

    /// Opens the existing file `path` (named `name`): a sealed one as is, an unsealed one
    /// by scanning its entries up to the first invalid one.
    pub fn open(path: &Path, name: u64) -> Result<Opened> {
        let io_err = |e| StoreError::io(path, e);
        let mut raw = OpenOptions::new().read(true).write(true).open(path).map_err(io_err)?;
        let mut head = [0u8; HEADER_LEN];
        match raw.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(Opened::Invalid("shorter than a header".into()))
            }
            Err(e) => return Err(io_err(e)),
        }
        let Some(header) = Header::decode(&head) else {
            return Ok(Opened::Invalid("no valid header".into()));
        };
        let g = header.geometry;
        let len = raw.metadata().map_err(io_err)?.len();
        let want = g.file_len() as u64;
        if len > want {
            return Ok(Opened::Invalid(format!("{len} bytes, but its header says {want}")));
        }
        if len < want {
            // Cut short: it cannot hold a footer, so it is recovered by a scan. Grow it back
            // to its length (zeros) so it maps whole.
            raw.set_len(want).map_err(io_err)?;
        }
        drop(raw);

        // Map it all as published to read it; nothing writes through this mapping.
        let map = Arc::new(MappedFile::open(path, g.file_len()).map_err(io_err)?);
        let footer = map.read(g.footer_pos(), FOOTER_LEN).and_then(Footer::decode);
        if let Some(footer) = footer.filter(|f| f.count <= g.max_entries) {
            return Ok(Opened::Sealed(Arc::new(IndexFile {
                map,
                header,
                name,
                heads: None,
                count: AtomicU32::new(footer.count),
                last_offset: AtomicI64::new(footer.last_offset),
                last_timestamp: AtomicI64::new(footer.last_timestamp),
            })));
        }

        let scan = scan(&map, header);
        drop(map);
        if scan.count == 0 {
            return Ok(Opened::Empty);
        }
        tracing::info!(path = %path.display(), entries = scan.count, "recovered an unsealed index file");
        let map = Arc::new(MappedFile::open(path, g.entry_pos(scan.count)).map_err(io_err)?);
        let writer =
            map.writer().ok_or_else(|| StoreError::Corrupt("index writer taken".into()))?;
        let file = IndexFile {
            map,
            header,
            name,
            heads: Some(scan.heads),
            count: AtomicU32::new(scan.count),
            last_offset: AtomicI64::new(scan.last_offset),
            last_timestamp: AtomicI64::new(scan.last_timestamp),
        };
        // Recovered entries may be in the page cache only: the next flush covers them all.
        Ok(Opened::Unsealed(Appender { file: Arc::new(file), writer, flushed: 0 }))
    }

    /// The number the file is named by.
    pub fn name(&self) -> u64 {
        self.name
    }

    /// Store time of the first entry (RocketMQ's `beginTimestamp`).
    pub fn first_timestamp(&self) -> i64 {
        self.header.base_timestamp
    }

    /// Store time of the last entry (RocketMQ's `endTimestamp`).
    pub fn last_timestamp(&self) -> i64 {
        self.last_timestamp.load(Ordering::Acquire)
    }

    /// Commit-log offset of the last entry, the highest (RocketMQ's `endPhyOffset`).
    pub fn last_offset(&self) -> i64 {
        self.last_offset.load(Ordering::Acquire)
    }

    /// Entries in the file.
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Acquire)
    }

    /// Whether the file's time span overlaps `[begin, end]` (RocketMQ's `isTimeMatched`).
    pub fn time_matched(&self, begin: i64, end: i64) -> bool {
        begin <= self.last_timestamp() && end >= self.first_timestamp()
    }

    /// Removes the file once no reader holds it.
    pub fn delete(&self) {
        self.map.delete_when_unused();
    }

    /// Appends to `out`, newest first and until it holds `max`, the offsets of entries with
    /// key hash `hash` stored within `[begin, end]`. Walks the slot's chain and stops, as
    /// RocketMQ does, at its end, at a link that does not point backwards, or after the
    /// first entry older than `begin` (the chain is in store order).
    pub fn select(&self, out: &mut Vec<i64>, hash: u32, max: usize, begin: i64, end: i64) {
        let mut next = self.head(hash);
        // Loaded after the head: covers every entry the head can lead to.
        let count = self.count();
        while next != 0 && next <= count && out.len() < max {
            let Some(entry) = self.entry(next - 1) else { break };
            let time = self.header.base_timestamp.saturating_add(i64::from(entry.time_delta));
            if entry.hash == hash && (begin..=end).contains(&time) {
                out.push(entry.offset);
            }
            if entry.prev >= next || time < begin {
                break;
            }
            next = entry.prev;
        }
    }

    /// The newest entry of `hash`'s slot, as number + 1 (0 = none).
    fn head(&self, hash: u32) -> u32 {
        let g = self.header.geometry;
        match &self.heads {
            // Acquire: pairs with the release store made after the entry was published.
            Some(heads) => {
                heads.get(g.slot(hash) as usize).map_or(0, |h| h.load(Ordering::Acquire))
            }
            None => self
                .map
                .read(g.slot_pos(hash), SLOT_LEN)
                .and_then(|b| super::format::u32_at(b, 0))
                .unwrap_or(0),
        }
    }

    fn entry(&self, n: u32) -> Option<Entry> {
        self.map
            .read(self.header.geometry.entry_pos(n), ENTRY_LEN)
            .and_then(Entry::decode_unchecked)
    }
}

/// What a scan of an unsealed file recovered.
struct Scan {
    heads: Box<[AtomicU32]>,
    count: u32,
    last_offset: i64,
    last_timestamp: i64,
}

/// Rebuilds the slot heads from the entries, stopping at the first invalid one: a bad CRC,
/// a link that is not its slot's current head, or an offset going backwards.
fn scan(map: &MappedFile, header: Header) -> Scan {
    let g = header.geometry;
    let heads = zeroed_heads(g);
    let mut scan = Scan {
        heads,
        count: 0,
        last_offset: header.first_offset,
        last_timestamp: header.base_timestamp,
    };
    while scan.count < g.max_entries {
        let Some(entry) =
            map.read(g.entry_pos(scan.count), ENTRY_LEN).and_then(Entry::decode_checked)
        else {
            break;
        };
        let Some(head) = scan.heads.get(g.slot(entry.hash) as usize) else { break };
        let first = scan.count == 0;
        let valid = entry.hash <= i32::MAX.unsigned_abs()
            && entry.prev == head.load(Ordering::Relaxed)
            && entry.offset >= scan.last_offset
            && (!first || (entry.offset == header.first_offset && entry.time_delta == 0));
        if !valid {
            break;
        }
        scan.count += 1;
        head.store(scan.count, Ordering::Relaxed);
        scan.last_offset = entry.offset;
        scan.last_timestamp = header.base_timestamp.saturating_add(i64::from(entry.time_delta));
    }
    scan
}

/// The one writer of the live file.
#[derive(Debug)]
pub struct Appender {
    file: Arc<IndexFile>,
    writer: Writer,
    /// Bytes below this are known to be on disk.
    flushed: usize,
}

impl Appender {
    /// The live file.
    pub fn file(&self) -> &Arc<IndexFile> {
        &self.file
    }

    /// Appends an entry; `false` if the file is full or `timestamp` is too far from the
    /// file's base timestamp for an i32 of milliseconds (then the caller rolls to a new file).
    pub fn append(&mut self, hash: u32, offset: i64, timestamp: i64) -> Result<bool> {
        let file = &self.file;
        let g = file.header.geometry;
        let n = file.count.load(Ordering::Relaxed);
        let delta =
            timestamp.checked_sub(file.header.base_timestamp).and_then(|d| i32::try_from(d).ok());
        let Some(time_delta) = delta.filter(|_| n < g.max_entries) else {
            return Ok(false);
        };
        let head = file.heads.as_ref().and_then(|heads| heads.get(g.slot(hash) as usize));
        let Some(head) = head else {
            return Err(StoreError::Corrupt("appending to a sealed index file".into()));
        };
        let entry = Entry { hash, prev: head.load(Ordering::Relaxed), offset, time_delta };
        if self.writer.position() != g.entry_pos(n) || !self.writer.write(&entry.encode()) {
            return Err(StoreError::Corrupt(format!(
                "{}: index append out of place",
                file.map.path().display()
            )));
        }
        // Publish the entry, then the count, then the head that leads readers to it, then
        // the last-update values (so whoever sees those finds the entry).
        self.writer.publish();
        file.count.store(n + 1, Ordering::Release);
        head.store(n + 1, Ordering::Release);
        file.last_timestamp.store(timestamp, Ordering::Release);
        file.last_offset.store(offset, Ordering::Release);
        Ok(true)
    }

    /// The range written since the last flush: msync it, then call [`flushed`](Self::flushed).
    pub fn unflushed(&self) -> (Arc<MappedFile>, usize, usize) {
        (Arc::clone(&self.file.map), self.flushed, self.writer.position())
    }

    /// Records that everything below `to` of `map` is on disk.
    pub fn flushed(&mut self, map: &Arc<MappedFile>, to: usize) {
        if Arc::ptr_eq(map, &self.file.map) {
            self.flushed = self.flushed.max(to);
        }
    }

    /// Writes the slot table and then the footer, each made durable before the next step,
    /// publishes the rest of the file, and returns the sealed file (which replaces the live
    /// one: its in-memory heads are dropped when the last reader lets go).
    pub fn seal(mut self) -> Result<Arc<IndexFile>> {
        let file = &self.file;
        let map = &file.map;
        let io_err = |e| StoreError::io(map.path(), e);
        let g = file.header.geometry;
        let count = file.count.load(Ordering::Acquire);
        let heads = file
            .heads
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("index file sealed twice".into()))?;
        // Skip the unused entries: their bytes are never read, so they need no writing.
        self.writer.advance(g.slots_pos().saturating_sub(self.writer.position()));
        let table = self.writer.reserve(g.slots_len()).ok_or_else(|| {
            StoreError::Corrupt(format!("{}: no room for the slot table", map.path().display()))
        })?;
        // Only non-zero slots are written, so untouched pages of the table stay holes.
        for (slot, head) in table.chunks_exact_mut(SLOT_LEN).zip(heads.iter()) {
            let value = head.load(Ordering::Relaxed);
            if value != 0 {
                slot.copy_from_slice(&value.to_be_bytes());
            }
        }
        self.writer.advance(g.slots_len());
        map.flush_range(self.flushed, g.footer_pos() - self.flushed).map_err(io_err)?;
        let footer = Footer {
            count,
            last_offset: file.last_offset.load(Ordering::Acquire),
            last_timestamp: file.last_timestamp.load(Ordering::Acquire),
        };
        if !self.writer.write(&footer.encode()) {
            return Err(StoreError::Corrupt(format!(
                "{}: no room for the footer",
                map.path().display()
            )));
        }
        map.flush_range(g.footer_pos(), FOOTER_LEN).map_err(io_err)?;
        self.writer.publish();
        map.release_pages(0, map.len());
        Ok(Arc::new(IndexFile {
            map: Arc::clone(map),
            header: file.header,
            name: file.name,
            heads: None,
            count: AtomicU32::new(count),
            last_offset: AtomicI64::new(footer.last_offset),
            last_timestamp: AtomicI64::new(footer.last_timestamp),
        }))
    }
}

/// A file's name: its number as 20 zero-padded decimal digits.
pub fn file_name(name: u64) -> String {
    format!("{name:020}")
}

/// The number a file is named by, if `name` is one of ours.
pub fn parse_file_name(name: &str) -> Option<u64> {
    (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

fn zeroed_heads(g: Geometry) -> Box<[AtomicU32]> {
    (0..g.hash_slots).map(|_| AtomicU32::new(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(1_700_000_000_123), "00000001700000000123");
        assert_eq!(parse_file_name("00000001700000000123"), Some(1_700_000_000_123));
        assert_eq!(parse_file_name("1700000000123"), None);
        assert_eq!(parse_file_name("0000000170000000012x"), None);
    }
}
