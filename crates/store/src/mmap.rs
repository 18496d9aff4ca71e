//! `MappedFile`: a file mapped into memory, shared by one writer and many readers.
//!
//! This is the only module of the store that uses `unsafe`. The rule that makes it sound:
//! the mapping is split at the *published* position. Bytes below it are immutable and may be
//! read by anyone, as slices or as zero-copy `Bytes`; bytes at or above it belong to the one
//! [`Writer`], which is the only code that writes, and which moves the published position
//! forward (a release store) only after its writes are complete. Readers load the position
//! with acquire ordering, so they see every byte below it. Nothing ever writes below the
//! published position, so no read can race with a write.
//!
//! Safety notes:
//! - Another process truncating or rewriting the file while it is mapped would break these
//!   guarantees (SIGBUS or torn reads); the store holds the data folder's lock file so only
//!   one FerroMQ process opens it.
//! - The mapping lives as long as any `Arc<MappedFile>` (including every `Bytes` handed out
//!   by [`MappedFile::read_bytes`]), so deleting the file never invalidates a reader.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{Advice, MmapOptions, MmapRaw};

/// Page size used to pre-touch and to align flushes.
pub const PAGE_SIZE: usize = 4096;

/// A mapped file of fixed length.
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    map: MmapRaw,
    len: usize,
    /// Bytes below this are written and immutable.
    published: AtomicUsize,
    /// Whether the one writer has been handed out.
    writer_taken: AtomicBool,
    /// Set once the file should be removed when the last reference goes.
    delete_on_drop: AtomicBool,
}

impl MappedFile {
    /// Creates `path` (which must not exist) with `len` bytes and maps it; nothing published.
    pub fn create(path: &Path, len: usize) -> io::Result<MappedFile> {
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(path)?;
        file.set_len(len as u64)?;
        Self::map(path, &file, len, 0)
    }

    /// Maps the existing file `path`, with its first `published` bytes taken as written.
    pub fn open(path: &Path, published: usize) -> io::Result<MappedFile> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::other("file larger than the address space"))?;
        if published > len {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "published past the end"));
        }
        Self::map(path, &file, len, published)
    }

    fn map(path: &Path, file: &File, len: usize, published: usize) -> io::Result<MappedFile> {
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot map an empty file"));
        }
        let map = MmapOptions::new().len(len).map_raw(file)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
            len,
            published: AtomicUsize::new(published),
            writer_taken: AtomicBool::new(false),
            delete_on_drop: AtomicBool::new(false),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the file has no bytes (never true: empty files are not mapped).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes from the start are written and readable.
    pub fn published(&self) -> usize {
        self.published.load(Ordering::Acquire)
    }

    /// The published bytes in `[pos, pos + len)`, or `None` if any is not published.
    pub fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.published() {
            return None;
        }
        // SAFETY: `[pos, end)` lies below the published position (checked above, acquire
        // load), so it is inside the mapping and no writer touches it any more.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Like [`read`](Self::read), as `Bytes` that keep the mapping alive (no copy).
    pub fn read_bytes(self: &Arc<Self>, pos: usize, len: usize) -> Option<Bytes> {
        self.read(pos, len)?;
        Some(Bytes::from_owner(MappedSlice { file: Arc::clone(self), pos, len }))
    }

    /// The one writer of this file, if nobody took it yet.
    pub fn writer(self: &Arc<Self>) -> Option<Writer> {
        if self.writer_taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(Writer { file: Arc::clone(self), position: self.published() })
    }

    /// Writes dirty pages of `[pos, pos + len)` to disk (msync) and waits for it.
    pub fn flush_range(&self, pos: usize, len: usize) -> io::Result<()> {
        let end = pos.saturating_add(len).min(self.len);
        let start = pos - pos % PAGE_SIZE;
        if start >= end {
            return Ok(());
        }
        self.map.flush_range(start, end - start)
    }

    /// Drops the pages of `[pos, pos + len)` from this process's resident set. They stay in
    /// the page cache (dirty ones are still written back), so nothing is lost; a later read
    /// maps them again. Keeps RSS bounded however much has been written.
    pub fn release_pages(&self, pos: usize, len: usize) {
        let start = pos.next_multiple_of(PAGE_SIZE);
        let end = pos.saturating_add(len).min(self.len);
        let end = end - end % PAGE_SIZE;
        if start >= end {
            return;
        }
        // SAFETY: the range is inside the mapping and page aligned. For a shared file
        // mapping MADV_DONTNEED only unmaps the pages from this process; their contents
        // stay in the page cache and are faulted back on the next access, so no data is
        // lost and every outstanding slice still reads the same bytes.
        let ret = unsafe {
            libc::madvise(
                self.map.as_mut_ptr().add(start).cast::<libc::c_void>(),
                end - start,
                libc::MADV_DONTNEED,
            )
        };
        if ret != 0 {
            tracing::debug!(path = %self.path.display(), "madvise failed: {}", io::Error::last_os_error());
        }
    }

    /// Tells the kernel whether the file is being written. While it is, faults do not read
    /// ahead (`MADV_RANDOM`): a fault in a region not yet in memory maps one page, where
    /// read-ahead over a new segment's holes zeroed megabytes in one go that nothing could
    /// interrupt (10 ms on a core, about once a second at 10 MB/s of appends). Once sealed,
    /// normal read-ahead serves consumers catching up.
    pub fn set_writing(&self, writing: bool) {
        let advice = if writing { Advice::Random } else { Advice::Normal };
        if let Err(e) = self.map.advise(advice) {
            tracing::debug!(path = %self.path.display(), "madvise failed: {e}");
        }
    }

    /// Maps the pages of `[pos, pos + len)` writable ahead of time, so the writer does not
    /// take page faults there. Changes no byte (the kernel pre-faults the pages as a write
    /// would, without writing), so it is safe from any thread, even over the writer's region.
    /// A kernel without MADV_POPULATE_WRITE (before 5.14) just skips it.
    pub fn prefault(&self, pos: usize, len: usize) {
        let start = pos - pos % PAGE_SIZE;
        let end = pos.saturating_add(len).min(self.len);
        if start >= end {
            return;
        }
        // SAFETY: the range is inside the mapping and page aligned at its start;
        // MADV_POPULATE_WRITE only populates page tables and never modifies memory contents.
        unsafe {
            libc::madvise(
                self.map.as_mut_ptr().add(start).cast::<libc::c_void>(),
                end - start,
                libc::MADV_POPULATE_WRITE,
            );
        }
    }

    /// Removes the file once the last reference (reader or writer) is gone.
    pub fn delete_when_unused(&self) {
        self.delete_on_drop.store(true, Ordering::Release);
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if self.delete_on_drop.load(Ordering::Acquire) {
            if let Err(e) = std::fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), "cannot delete: {e}");
            }
        }
    }
}

/// The single writer of a [`MappedFile`]: writes at and above the published position.
#[derive(Debug)]
pub struct Writer {
    file: Arc<MappedFile>,
    position: usize,
}

impl Writer {
    /// The file written.
    pub fn file(&self) -> &Arc<MappedFile> {
        &self.file
    }

    /// Where the next write goes (equal to the published position after `publish`).
    pub fn position(&self) -> usize {
        self.position
    }

    /// Bytes left after the position.
    pub fn remaining(&self) -> usize {
        self.file.len - self.position
    }

    /// The next `len` unpublished bytes, to be filled in place; `None` if they do not fit.
    /// Call [`advance`](Self::advance) once they are filled.
    pub fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        let end = self.position.checked_add(len)?;
        if end > self.file.len {
            return None;
        }
        // SAFETY: `[position, end)` is inside the mapping and at or above the published
        // position, which only this writer (there is one per file, and `&mut self` makes the
        // borrow exclusive) may touch; readers never read past the published position.
        Some(unsafe {
            std::slice::from_raw_parts_mut(self.file.map.as_mut_ptr().add(self.position), len)
        })
    }

    /// Copies `bytes` at the position; false if they do not fit. Not yet published.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        match self.reserve(bytes.len()) {
            Some(slot) => {
                slot.copy_from_slice(bytes);
                self.position += bytes.len();
                true
            }
            None => false,
        }
    }

    /// Moves the position past `len` bytes filled through [`reserve`](Self::reserve).
    pub fn advance(&mut self, len: usize) {
        self.position = (self.position + len).min(self.file.len);
    }

    /// Makes everything written so far visible to readers.
    pub fn publish(&self) {
        self.file.published.store(self.position, Ordering::Release);
    }
}

/// Keeps a mapping alive for as long as `Bytes` refer into it.
struct MappedSlice {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for MappedSlice {
    fn as_ref(&self) -> &[u8] {
        // Published when the slice was made, and published bytes never change.
        self.file.read(self.pos, self.len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_see_only_published_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let file = Arc::new(MappedFile::create(&dir.path().join("f"), 3 * PAGE_SIZE).unwrap());
        let mut writer = file.writer().unwrap();
        assert!(file.writer().is_none(), "one writer only");
        assert!(writer.write(b"hello"));
        assert_eq!(file.read(0, 5), None, "not yet published");
        writer.publish();
        assert_eq!(file.read(0, 5), Some(&b"hello"[..]));
        assert_eq!(file.read(3, 5), None);
        let bytes = file.read_bytes(1, 3).unwrap();
        let slot = writer.reserve(3).unwrap();
        slot.copy_from_slice(b"abc");
        writer.advance(3);
        writer.publish();
        assert_eq!(&bytes[..], b"ell");
        assert_eq!(file.read(0, 8), Some(&b"helloabc"[..]));
        assert!(!writer.write(&vec![0u8; 3 * PAGE_SIZE]), "does not fit");
        file.flush_range(0, 8).unwrap();
        file.release_pages(0, 3 * PAGE_SIZE);
        assert_eq!(file.read(0, 8), Some(&b"helloabc"[..]), "released pages read back");
    }

    #[test]
    fn reopening_keeps_the_bytes_and_deletion_waits_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        {
            let file = Arc::new(MappedFile::create(&path, PAGE_SIZE).unwrap());
            let mut writer = file.writer().unwrap();
            writer.write(b"durable");
            writer.publish();
            file.flush_range(0, 7).unwrap();
        }
        let file = Arc::new(MappedFile::open(&path, 7).unwrap());
        let bytes = file.read_bytes(0, 7).unwrap();
        file.delete_when_unused();
        drop(file);
        assert!(path.exists(), "a reader still holds it");
        assert_eq!(&bytes[..], b"durable");
        drop(bytes);
        assert!(!path.exists());
        assert!(MappedFile::create(&path, 0).is_err());
    }
}
