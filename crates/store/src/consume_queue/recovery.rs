//! Recovering a queue's state from its files when it is opened.
//!
//! 1. Keep the run of files from the oldest whose names follow one another without a gap,
//!    up to and including the first one shorter than the file size (torn); remove the rest.
//! 2. From the newest file back, find the last one whose first entry is written; remove the
//!    files after it.
//! 3. Scan that file from its start: the max offset is its first entry that is not written
//!    (`commit_log_offset < 0 || size <= 0`) or not wholly in the file. If anything but
//!    zeros follows, cut and zero the tail so it cannot come back.
//! 4. The min offset is the first non-filler entry.
//!
//! Like RocketMQ, the files before the last are trusted without a scan.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;

use super::entry::{Entry, ENTRY_SIZE};
use super::scan::CHUNK;
use super::segment::Listed;
use super::ConsumeQueue;
use crate::error::{Result, StoreError};

impl ConsumeQueue {
    /// Sets the state from the files `listed` in the folder (oldest first); see the module
    /// documentation.
    pub(super) fn recover(&mut self, listed: &[Listed]) -> Result<()> {
        let per_file = self.layout.per_file();
        let full = self.layout.file_bytes();
        let mut run = 0;
        for (i, file) in listed.iter().enumerate() {
            let expected = listed.first().map_or(0, |f| f.start) + per_file * i as i64;
            if file.start != expected {
                break;
            }
            run += 1;
            if file.len < full {
                break;
            }
        }
        let (run, stray) = listed.split_at(run);
        self.remove_all(stray, "after a gap or a torn file")?;

        let mut last = None;
        for (i, file) in run.iter().enumerate().rev() {
            if self.starts_written(file)? {
                last = Some(i);
                break;
            }
        }
        let Some(first) = run.first() else { return Ok(()) };
        let Some((last, empty)) = last.and_then(|i| run.get(i).zip(run.get(i + 1..))) else {
            self.remove_all(run, "holding no entry")?;
            self.set_empty(first.start);
            return Ok(());
        };
        self.remove_all(empty, "past the last entry")?;

        let (count, dirty_tail) = self.scan(last)?;
        let max = last.start + count;
        let mut flushed = max;
        if dirty_tail || last.len < full {
            let path = self.layout.path(&self.dir, last.start);
            let file = self.files.open(&path).map_err(|e| StoreError::io(&path, e))?;
            let cut = count.unsigned_abs() * ENTRY_SIZE as u64;
            file.set_len(cut)
                .and_then(|()| file.set_len(full))
                .map_err(|e| StoreError::io(&path, e))?;
            tracing::info!(path = %path.display(), entries = count, "consume queue tail cut");
            flushed = last.start;
        }
        self.first_file.store(first.start, Ordering::Release);
        self.max.store(max, Ordering::Release);
        self.written.store(max, Ordering::Release);
        self.lock_tail().reset(max);
        self.flushed.store(flushed, Ordering::Release);
        let min = self.find(first.start, max, |e| !e.is_filler())?.map_or(max, |(i, _)| i);
        self.min.store(min, Ordering::Release);
        Ok(())
    }

    fn set_empty(&self, at: i64) {
        for value in [&self.first_file, &self.min, &self.max, &self.written, &self.flushed] {
            value.store(at, Ordering::Release);
        }
        self.lock_tail().reset(at);
    }

    fn remove_all(&self, files: &[Listed], why: &str) -> Result<()> {
        for file in files {
            tracing::warn!(
                path = %self.layout.path(&self.dir, file.start).display(),
                "removing consume queue file {why}"
            );
            self.remove_file(file.start)?;
        }
        Ok(())
    }

    /// Whether the file's first entry is written.
    fn starts_written(&self, listed: &Listed) -> Result<bool> {
        let path = self.layout.path(&self.dir, listed.start);
        let file = self.files.open(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut buf = [0u8; ENTRY_SIZE];
        let n = read_up_to(&file, &mut buf, 0).map_err(|e| StoreError::io(&path, e))?;
        Ok(n == ENTRY_SIZE && Entry::decode(&buf).is_some_and(|e| e.is_written()))
    }

    /// How many entries from the file's start are written, and whether anything but zeros
    /// follows them in the chunk where they stop.
    fn scan(&self, listed: &Listed) -> Result<(i64, bool)> {
        let path = self.layout.path(&self.dir, listed.start);
        let file = self.files.open(&path).map_err(|e| StoreError::io(&path, e))?;
        let mut buf = vec![0u8; CHUNK.unsigned_abs() as usize * ENTRY_SIZE];
        let mut count = 0i64;
        while count < self.layout.per_file() {
            let want = (self.layout.per_file() - count).min(CHUNK).unsigned_abs() as usize;
            let chunk = buf.get_mut(..want * ENTRY_SIZE).unwrap_or_default();
            let pos = count.unsigned_abs() * ENTRY_SIZE as u64;
            let got = read_up_to(&file, chunk, pos).map_err(|e| StoreError::io(&path, e))?;
            let whole = chunk.get(..got - got % ENTRY_SIZE).unwrap_or_default();
            let written = Entry::decode_all(whole).take_while(Entry::is_written).count();
            count += written as i64;
            if written * ENTRY_SIZE < chunk.len() {
                let rest = chunk.get(written * ENTRY_SIZE..got).unwrap_or_default();
                return Ok((count, rest.iter().any(|b| *b != 0)));
            }
        }
        Ok((count, false))
    }
}

/// Reads into `buf` from `pos` until it is full or the file ends; returns the bytes read.
fn read_up_to(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        match file.read_at(rest, pos + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
