//! Cutting a queue: at the end when the commit log was cut short (recovery), at the start
//! when commit-log files expired (retention).

use std::sync::atomic::Ordering;

use super::entry::Entry;
use super::ConsumeQueue;
use crate::error::{Result, StoreError};

impl ConsumeQueue {
    /// Removes every entry from the first (fillers aside) whose message ends past
    /// `commit_log_end`, as well as the fillers before it: the commit log was cut there.
    /// Entries below the min offset stay. Files wholly past the new end are deleted and the
    /// cut file's tail is zeroed, so a later recovery cannot bring the entries back.
    pub fn truncate_to(&self, commit_log_end: i64) -> Result<()> {
        let _writer = self.lock_writer();
        let _files = self.files_exclusive();
        // Rare (recovery): cut on file only.
        self.write_tail(&mut self.lock_tail())?;
        let max = self.max.load(Ordering::Acquire);
        let min = self.min.load(Ordering::Acquire);
        let first_file = self.first_file.load(Ordering::Acquire);
        let kept = |e: &Entry| !e.is_filler() && e.end() <= commit_log_end;

        // Newest file first: one whose first message is past the end goes whole.
        let mut keep = first_file;
        let mut hi = max;
        while hi > first_file {
            let start = self.layout.file_start(hi - 1);
            if let Some((_, oldest)) = self.find(start, hi, |e| !e.is_filler())? {
                if kept(&oldest) {
                    keep = self.rfind(start, hi, kept)?.map_or(start, |(i, _)| i + 1);
                    break;
                }
            }
            hi = start;
        }
        let keep = keep.max(min);
        if keep >= max {
            return Ok(());
        }

        self.max.store(keep, Ordering::Release);
        self.written.store(keep, Ordering::Release);
        self.lock_tail().reset(keep);
        self.flushed.fetch_min(keep, Ordering::AcqRel);
        let mut start = self.layout.file_start(max - 1);
        while start >= keep {
            self.remove_file(start)?;
            start -= self.layout.per_file();
        }
        let cut = self.layout.byte_pos(keep);
        if cut != 0 {
            let path = self.layout.path(&self.dir, self.layout.file_start(keep));
            let file = self.files.open(&path).map_err(|e| StoreError::io(&path, e))?;
            // Durable now: flush() only syncs what lies below max. Truncation is rare (recovery).
            file.set_len(cut)
                .and_then(|()| file.set_len(self.layout.file_bytes()))
                .and_then(|()| file.sync_data())
                .map_err(|e| StoreError::io(&path, e))?;
        }
        Ok(())
    }

    /// Retention: deletes the oldest files (never the last one) all of whose messages lie
    /// below `min_commit_log_offset`, then moves the min offset to the first entry whose
    /// message starts at or above it, or to the max offset if there is none. Returns how
    /// many files were deleted.
    pub fn delete_below(&self, min_commit_log_offset: i64) -> Result<usize> {
        let _writer = self.lock_writer();
        let _files = self.files_exclusive();
        // Buffered entries of a file deleted here would bring it back when written.
        self.write_tail(&mut self.lock_tail())?;
        let max = self.max.load(Ordering::Acquire);
        let min = self.min.load(Ordering::Acquire);
        let first_file = self.first_file.load(Ordering::Acquire);
        if max <= first_file {
            return Ok(0);
        }
        let live = |e: &Entry| e.commit_log_offset >= min_commit_log_offset;

        let last_file = self.layout.file_start(max - 1);
        let mut deleted = 0;
        let mut start = first_file;
        while start < last_file {
            let end = start + self.layout.per_file();
            if self.rfind(start, end, |e| !e.is_filler())?.is_some_and(|(_, e)| live(&e)) {
                break;
            }
            self.remove_file(start)?;
            start = end;
            self.first_file.store(start, Ordering::Release);
            if self.min.load(Ordering::Acquire) < start {
                self.min.store(start, Ordering::Release);
            }
            deleted += 1;
        }

        let from = min.max(start);
        let new_min = match self.find(from, max, |e| !e.is_filler())? {
            // Usually the min is still right: one read.
            Some((i, e)) if live(&e) => i,
            Some((i, _)) => self.first_match(i + 1, max, live)?.map_or(max, |(i, _)| i),
            None => max,
        };
        self.min.store(new_min, Ordering::Release);
        Ok(deleted)
    }
}
