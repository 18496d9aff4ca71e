//! The checkpoint: how far the commit log and the consume queues and index built from it are
//! known to be on disk, so a restart knows where to begin verifying. Plus the `abort` marker
//! (present while the store is open: found at start, the last stop was a crash) and the
//! `lock` file that keeps a second process off the same folder.
//!
//! ```text
//! offset  width  field
//!  0      8      magic "FMQCKPT1"
//!  8      8      commit_log_flushed (i64): commit-log offset below which data is durable
//! 16      8      dispatched (i64): commit-log offset below which consume queues and the
//!                index are durable
//! 24      8      commit_log_end (i64): end of the commit log when written at a clean stop
//! 32      4      CRC-32 of bytes 0..32
//! ```
//! The file is replaced atomically (write a temporary sibling, fsync, rename, fsync the
//! folder), so a crash leaves the old checkpoint or the new one, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

const MAGIC: &[u8; 8] = b"FMQCKPT1";
const LEN: usize = 36;

/// The recorded progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub commit_log_flushed: i64,
    pub dispatched: i64,
    pub commit_log_end: i64,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.commit_log_flushed.to_be_bytes());
        out.extend_from_slice(&self.dispatched.to_be_bytes());
        out.extend_from_slice(&self.commit_log_end.to_be_bytes());
        let sum = crc32fast::hash(&out);
        out.extend_from_slice(&sum.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Checkpoint> {
        let field = |at: usize| -> Option<i64> {
            Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
        };
        if bytes.len() != LEN || bytes.get(..8)? != MAGIC {
            return None;
        }
        let stored = u32::from_be_bytes(bytes.get(32..36)?.try_into().ok()?);
        if crc32fast::hash(bytes.get(..32)?) != stored {
            return None;
        }
        Some(Checkpoint {
            commit_log_flushed: field(8)?,
            dispatched: field(16)?,
            commit_log_end: field(24)?,
        })
    }

    /// Reads `<root>/checkpoint`; `None` if absent or damaged.
    pub fn load(root: &Path) -> Option<Checkpoint> {
        std::fs::read(root.join("checkpoint")).ok().and_then(|b| Self::decode(&b))
    }

    /// Replaces `<root>/checkpoint` atomically.
    pub fn store(&self, root: &Path) -> Result<()> {
        let path = root.join("checkpoint");
        let tmp = root.join("checkpoint.tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&self.encode())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(root)?.sync_all()
        };
        write().map_err(|e| StoreError::io(&path, e))
    }
}

/// The `abort` marker: created when the store opens, removed after a clean stop.
#[derive(Debug)]
pub struct AbortMarker {
    path: PathBuf,
}

impl AbortMarker {
    /// Whether the last run ended without a clean stop.
    pub fn was_left(root: &Path) -> bool {
        root.join("abort").exists()
    }

    /// Creates the marker (durably) for this run.
    pub fn create(root: &Path) -> Result<AbortMarker> {
        let path = root.join("abort");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&path)?;
            file.write_all(std::process::id().to_string().as_bytes())?;
            file.sync_all()?;
            std::fs::File::open(root)?.sync_all()
        };
        write().map_err(|e| StoreError::io(&path, e))?;
        Ok(AbortMarker { path })
    }

    /// Removes the marker: the stop was clean.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(|e| StoreError::io(&self.path, e))
    }
}

/// An exclusive lock on the data folder, held while the store is open.
#[derive(Debug)]
pub struct FolderLock {
    _file: std::fs::File,
}

impl FolderLock {
    /// Locks `<root>/lock`; fails if another process holds it.
    pub fn acquire(root: &Path) -> Result<FolderLock> {
        let path = root.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(FolderLock { _file: file }),
            Err(_) => Err(StoreError::Config(format!(
                "{} is locked: another process uses this store folder",
                root.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Checkpoint::load(dir.path()), None);
        let c = Checkpoint { commit_log_flushed: 10, dispatched: 7, commit_log_end: 12 };
        c.store(dir.path()).unwrap();
        assert_eq!(Checkpoint::load(dir.path()), Some(c));
        let mut bytes = std::fs::read(dir.path().join("checkpoint")).unwrap();
        bytes[9] ^= 1;
        std::fs::write(dir.path().join("checkpoint"), &bytes).unwrap();
        assert_eq!(Checkpoint::load(dir.path()), None);
    }

    #[test]
    fn abort_marker_and_folder_lock() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!AbortMarker::was_left(dir.path()));
        let marker = AbortMarker::create(dir.path()).unwrap();
        assert!(AbortMarker::was_left(dir.path()));
        marker.remove().unwrap();
        assert!(!AbortMarker::was_left(dir.path()));
        let lock = FolderLock::acquire(dir.path()).unwrap();
        assert!(FolderLock::acquire(dir.path()).is_err());
        drop(lock);
        assert!(FolderLock::acquire(dir.path()).is_ok());
    }
}
