//! What the three metadata tables share: a dirty flag, one writer at a time, poison-tolerant
//! locks, and the mapping of JSON errors to [`StoreError::Corrupt`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ferromq_protocol::error::ProtocolError;

use super::file::write_atomically;
use crate::error::{Result, StoreError};

/// A table's file: written only when something changed since the last successful write.
#[derive(Debug)]
pub(crate) struct Persisted {
    path: PathBuf,
    dirty: AtomicBool,
    /// Serializes writers, so the file always ends with the newest snapshot: each writer
    /// takes its snapshot after it holds this lock.
    writing: Mutex<()>,
}

impl Persisted {
    pub(crate) fn new(path: PathBuf) -> Self {
        Persisted { path, dirty: AtomicBool::new(false), writing: Mutex::new(()) }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Records a change; call it after the change is visible to `encode`.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
    }

    #[cfg(test)]
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::SeqCst)
    }

    /// Writes `encode()` if anything changed; `Ok(false)` when there was nothing to write.
    /// A failed write leaves the table dirty, so the next call tries again.
    pub(crate) fn persist(&self, encode: impl FnOnce() -> Vec<u8>) -> Result<bool> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return Ok(false);
        }
        let bytes = encode();
        write_atomically(&self.path, &bytes).inspect_err(|_| self.mark_dirty())?;
        Ok(true)
    }
}

/// Reads `lock`, ignoring poison: every writer leaves the tables consistent between
/// statements, so a panic elsewhere cannot leave half an update behind.
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Writes `lock`, ignoring poison (see [`read`]).
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// A JSON body in `path` that did not decode.
pub(crate) fn corrupt(path: &Path, e: ProtocolError) -> StoreError {
    StoreError::Corrupt(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_when_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let p = Persisted::new(dir.path().join("x.json"));
        assert!(!p.persist(|| b"{}".to_vec()).unwrap());
        assert!(!p.path().exists());
        p.mark_dirty();
        assert!(p.persist(|| b"{}".to_vec()).unwrap());
        assert!(!p.is_dirty());
        assert!(!p.persist(|| b"{}".to_vec()).unwrap());
    }

    #[test]
    fn a_failed_write_stays_dirty() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"").unwrap();
        // The parent of the target is a plain file: the write must fail.
        let p = Persisted::new(blocker.join("x.json"));
        p.mark_dirty();
        assert!(matches!(p.persist(|| b"{}".to_vec()), Err(StoreError::Io { .. })));
        assert!(p.is_dirty());
    }
}
