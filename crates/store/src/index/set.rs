//! `Index`: the set of index files, the one writer (the dispatcher) and concurrent readers.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::file::{parse_file_name, Appender, IndexFile, Opened};
use super::format::{key_hash, Geometry};
use super::{IndexConfig, IndexQueryResult};
use crate::error::{Result, StoreError};

/// The message index over all its files. `Send + Sync`: one writer, any number of readers.
#[derive(Debug)]
pub struct Index {
    dir: PathBuf,
    geometry: Geometry,
    /// Oldest first. Readers clone the list (of `Arc`s) and search without the lock.
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// Taken by every change (put, roll, seal, truncate, delete); before `files` if both.
    writer: Mutex<WriterState>,
}

#[derive(Debug)]
struct WriterState {
    /// The live (last) file, if it is not sealed.
    appender: Option<Appender>,
    /// The highest file number used or seen, so a new name never reuses a deleted file's
    /// (whose deletion may still wait for a reader).
    last_name: u64,
}

impl Index {
    /// Opens `<root>/index/` (creating it) with the files found there. An unsealed last file
    /// (a crash) is recovered by scanning its entries up to the first invalid one and
    /// becomes the live file; an unsealed older one is sealed; a last file without a valid
    /// header or entry (torn at creation) is deleted. A damaged older file is an error.
    pub fn open(root: &Path, config: IndexConfig) -> Result<Index> {
        let geometry = config.validate()?;
        let dir = root.join("index");
        std::fs::create_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let mut found = Vec::new();
        for item in std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))? {
            let item = item.map_err(|e| StoreError::io(&dir, e))?;
            match item.file_name().to_str().and_then(parse_file_name) {
                Some(name) => found.push((name, item.path())),
                None => tracing::warn!(path = %item.path().display(), "not an index file, ignored"),
            }
        }
        found.sort_unstable();
        let last_name = found.last().map_or(0, |(name, _)| *name);

        let mut files = Vec::with_capacity(found.len());
        let mut appender = None;
        let total = found.len();
        for (i, (name, path)) in found.into_iter().enumerate() {
            let is_last = i + 1 == total;
            match IndexFile::open(&path, name)? {
                Opened::Sealed(file) => files.push(file),
                Opened::Unsealed(live) if is_last => {
                    files.push(Arc::clone(live.file()));
                    appender = Some(live);
                }
                Opened::Unsealed(live) => files.push(live.seal()?),
                Opened::Empty => remove(&path)?,
                Opened::Invalid(why) if is_last => {
                    tracing::warn!(path = %path.display(), "deleting a torn index file: {why}");
                    remove(&path)?;
                }
                Opened::Invalid(why) => {
                    return Err(StoreError::Corrupt(format!(
                        "index file {}: {why}",
                        path.display()
                    )))
                }
            }
        }
        Ok(Index {
            dir,
            geometry,
            files: RwLock::new(files),
            writer: Mutex::new(WriterState { appender, last_name }),
        })
    }

    /// Indexes one message key (`key` is already `topic#key`) at `commit_log_offset`, stored
    /// at `store_timestamp` (ms). Called in commit-log order; an offset below the highest one
    /// indexed is ignored (already indexed, as RocketMQ), an equal one is not (a message has
    /// several keys). Rolls to a new file when the live one is full.
    pub fn put(&self, key: &str, commit_log_offset: i64, store_timestamp: i64) -> Result<()> {
        let mut state = self.lock_writer();
        if commit_log_offset < self.max_commit_log_offset() {
            return Ok(());
        }
        let hash = key_hash(key);
        if let Some(live) = state.appender.as_mut() {
            if live.append(hash, commit_log_offset, store_timestamp)? {
                return Ok(());
            }
        }
        if let Some(live) = state.appender.take() {
            let sealed = live.seal()?;
            self.replace(sealed);
        }
        let name = now_millis().max(state.last_name.saturating_add(1));
        let previous = (self.max_commit_log_offset(), self.last_timestamp());
        let first = (store_timestamp, commit_log_offset);
        let mut live = IndexFile::create(&self.dir, name, self.geometry, first, previous)?;
        state.last_name = name;
        self.write_files().push(Arc::clone(live.file()));
        let appended = live.append(hash, commit_log_offset, store_timestamp)?;
        state.appender = Some(live);
        if appended {
            Ok(())
        } else {
            Err(StoreError::Corrupt("a new index file refused its first entry".into()))
        }
    }

    /// Candidate commit-log offsets of messages indexed under `key` (`topic#key`) whose store
    /// time is within `[begin, end]` (ms), newest first, at most `max`; with the newest
    /// entry's store time and offset. Candidates match by hash: re-check the key.
    pub fn query(&self, key: &str, max: usize, begin: i64, end: i64) -> Result<IndexQueryResult> {
        let files = self.files.read().unwrap_or_else(PoisonError::into_inner).clone();
        let hash = key_hash(key);
        let mut result = IndexQueryResult {
            offsets: Vec::with_capacity(max.min(64)),
            last_update_timestamp: files.last().map_or(0, |f| f.last_timestamp()),
            // A file created with no file before reports -1 until its first entry lands.
            last_update_commit_log_offset: files.last().map_or(0, |f| f.last_offset().max(0)),
        };
        for file in files.iter().rev() {
            if result.offsets.len() >= max {
                break;
            }
            if file.time_matched(begin, end) {
                file.select(&mut result.offsets, hash, max, begin, end);
            }
            if file.first_timestamp() < begin {
                break;
            }
        }
        Ok(result)
    }

    /// The highest commit-log offset indexed, or **-1** when the index is empty (so "skip
    /// offsets ≤ this" skips nothing). Messages at this offset may have more keys to index.
    pub fn max_commit_log_offset(&self) -> i64 {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .map_or(-1, |f| f.last_offset())
    }

    /// Store time of the newest entry, 0 when empty.
    fn last_timestamp(&self) -> i64 {
        self.files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .map_or(0, |f| f.last_timestamp())
    }

    /// The files, oldest first, as a reader sees them.
    #[cfg(test)]
    pub(crate) fn snapshot(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Recovery after the commit log was cut at `commit_log_end`: deletes every file that
    /// references an offset ≥ it (whole files, including the live one); the dispatcher then
    /// re-indexes from [`max_commit_log_offset`](Self::max_commit_log_offset).
    pub fn truncate_to(&self, commit_log_end: i64) -> Result<()> {
        let mut state = self.lock_writer();
        let mut files = self.write_files();
        let (gone, keep): (Vec<_>, Vec<_>) =
            files.drain(..).partition(|f| f.last_offset() >= commit_log_end);
        *files = keep;
        if state
            .appender
            .as_ref()
            .is_some_and(|live| gone.iter().any(|f| Arc::ptr_eq(f, live.file())))
        {
            state.appender = None;
        }
        for file in gone {
            tracing::info!(name = file.name(), "index file past the commit-log end, deleted");
            file.delete();
        }
        Ok(())
    }

    /// Retention: deletes the oldest files whose highest commit-log offset is below
    /// `min_commit_log_offset`, stopping at the first that is not, and never the newest (it
    /// holds the last-update values, as RocketMQ keeps it). Returns how many were deleted.
    pub fn delete_below(&self, min_commit_log_offset: i64) -> Result<usize> {
        let _state = self.lock_writer();
        let mut files = self.write_files();
        let deletable = files.len().saturating_sub(1);
        let n = files
            .iter()
            .take(deletable)
            .take_while(|f| f.last_offset() < min_commit_log_offset)
            .count();
        for file in files.drain(..n) {
            tracing::info!(name = file.name(), "index file expired, deleted");
            file.delete();
        }
        Ok(n)
    }

    /// Makes the live file's entries durable (sealed files were made durable when sealed).
    /// The msync runs without blocking `put`.
    pub fn flush(&self) -> Result<()> {
        let Some((map, from, to)) = self.lock_writer().appender.as_ref().map(Appender::unflushed)
        else {
            return Ok(());
        };
        if to > from {
            map.flush_range(from, to - from).map_err(|e| StoreError::io(map.path(), e))?;
            if let Some(live) = self.lock_writer().appender.as_mut() {
                live.flushed(&map, to);
            }
        }
        Ok(())
    }

    /// Seals the live file so the next start need not scan it; a later `put` starts a new
    /// file. Also run (errors logged) when the index is dropped.
    pub fn close(&self) -> Result<()> {
        let mut state = self.lock_writer();
        if let Some(live) = state.appender.take() {
            let sealed = live.seal()?;
            self.replace(sealed);
        }
        Ok(())
    }

    /// Test hook: drops the index as a crash would, leaving the live file unsealed.
    #[cfg(test)]
    pub(crate) fn crash(self) {
        self.lock_writer().appender = None;
    }

    /// Swaps a just-sealed file for its live version (same name) in the list.
    fn replace(&self, sealed: Arc<IndexFile>) {
        let mut files = self.write_files();
        if let Some(slot) = files.iter_mut().rev().find(|f| f.name() == sealed.name()) {
            *slot = sealed;
        }
    }

    fn lock_writer(&self) -> MutexGuard<'_, WriterState> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_files(&self) -> std::sync::RwLockWriteGuard<'_, Vec<Arc<IndexFile>>> {
        self.files.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Index {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::warn!(dir = %self.dir.display(), "cannot seal the live index file: {e}");
        }
    }
}

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).map_err(|e| StoreError::io(path, e))
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
