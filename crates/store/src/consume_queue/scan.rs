//! Reading runs of entries from a queue's files and tail, and the scans and searches built
//! on it.
//!
//! Every function here expects the caller to hold the queue's `removal` lock (shared or
//! exclusive), so the files of the range it reads cannot be deleted under it, and to pass a
//! range inside `[first_file, max)`: below `written` every file exists at full length, the
//! rest is in the tail.

use std::os::unix::fs::FileExt;
use std::sync::atomic::Ordering;
use std::sync::PoisonError;

use super::entry::{Entry, ENTRY_SIZE};
use super::ConsumeQueue;
use crate::error::{Result, StoreError};

/// Most entries read at once (80 KiB).
pub(super) const CHUNK: i64 = 4096;

/// Entries a scan reads first; each further read doubles, up to [`CHUNK`]. Most scans stop
/// at the first or second entry they look at.
const FIRST_READ: i64 = 8;

impl ConsumeQueue {
    /// Appends the entries `[from, from + count)` to `out`: those on file with one read per
    /// file touched, the rest copied from the tail.
    pub(super) fn read_into(&self, from: i64, count: i64, out: &mut Vec<Entry>) -> Result<()> {
        let end = from.saturating_add(count);
        let mut on_file = self.written.load(Ordering::Acquire);
        let mut buffered = Vec::new();
        if end > on_file {
            // Copied first: once the tail lock is released its entries may move to a file,
            // but what was on file then stays there (removal needs the lock the caller holds).
            let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
            on_file = tail.start();
            tail.read(from, end, &mut buffered);
        }
        self.read_files(from, end.min(on_file), out)?;
        out.append(&mut buffered);
        Ok(())
    }

    /// Appends the entries `[from, end)`, all on file, to `out`, one read per file touched.
    fn read_files(&self, from: i64, end: i64, out: &mut Vec<Entry>) -> Result<()> {
        let mut buf = Vec::new();
        let mut at = from;
        while at < end {
            let start = self.layout.file_start(at);
            let n = (start + self.layout.per_file()).min(end) - at;
            buf.resize(usize::try_from(n).unwrap_or(0) * ENTRY_SIZE, 0);
            let path = self.layout.path(&self.dir, start);
            let file = self.files.open(&path).map_err(|e| StoreError::io(&path, e))?;
            file.read_exact_at(&mut buf, self.layout.byte_pos(at))
                .map_err(|e| StoreError::io(&path, e))?;
            out.extend(Entry::decode_all(&buf));
            at += n;
        }
        Ok(())
    }

    /// The first entry of `[lo, hi)` for which `pred` holds, reading forwards in chunks.
    pub(super) fn find(
        &self,
        lo: i64,
        hi: i64,
        pred: impl Fn(&Entry) -> bool,
    ) -> Result<Option<(i64, Entry)>> {
        let mut chunk = Vec::new();
        let mut at = lo;
        let mut step = FIRST_READ;
        while at < hi {
            let n = (hi - at).min(step);
            step = (step * 2).min(CHUNK);
            chunk.clear();
            self.read_into(at, n, &mut chunk)?;
            if let Some(i) = chunk.iter().position(&pred) {
                return Ok(chunk.get(i).map(|e| (at + i as i64, *e)));
            }
            at += n;
        }
        Ok(None)
    }

    /// The last entry of `[lo, hi)` for which `pred` holds, reading backwards in chunks.
    pub(super) fn rfind(
        &self,
        lo: i64,
        hi: i64,
        pred: impl Fn(&Entry) -> bool,
    ) -> Result<Option<(i64, Entry)>> {
        let mut chunk = Vec::new();
        let mut end = hi;
        let mut step = FIRST_READ;
        while end > lo {
            let at = (end - step).max(lo);
            step = (step * 2).min(CHUNK);
            chunk.clear();
            self.read_into(at, end - at, &mut chunk)?;
            if let Some(i) = chunk.iter().rposition(&pred) {
                return Ok(chunk.get(i).map(|e| (at + i as i64, *e)));
            }
            end = at;
        }
        Ok(None)
    }

    /// The first non-filler entry of `[lo, hi)` for which `pred` holds, by binary search:
    /// `pred` must be monotone (false, then true) over the non-filler entries, which the
    /// search steps over (fillers point at no message, so they have no place in the order).
    pub(super) fn first_match(
        &self,
        lo: i64,
        hi: i64,
        pred: impl Fn(&Entry) -> bool,
    ) -> Result<Option<(i64, Entry)>> {
        // Invariant: every non-filler entry in [lo, a) fails `pred`; `found` is the first
        // non-filler entry at or after `b` (None: there is none before `hi`) and it passes.
        let (mut a, mut b) = (lo, hi);
        let mut found = None;
        while a < b {
            let mid = a + (b - a) / 2;
            match self.find(mid, b, |e| !e.is_filler())? {
                None => b = mid,
                Some((i, e)) if pred(&e) => {
                    b = mid;
                    found = Some((i, e));
                }
                Some((i, _)) => a = i + 1,
            }
        }
        Ok(found)
    }
}
