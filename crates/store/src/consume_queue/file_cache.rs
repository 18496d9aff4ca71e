//! `FileCache`: a bounded LRU of open segment-file handles shared by every consume queue.
//!
//! A broker holds tens of thousands of queues, far more than the process may keep files open
//! (or mapped). Queues therefore hold no handle of their own: each read or write asks the
//! cache, which opens the file on a miss and closes the least recently used handle when
//! full. A handle evicted while an operation still uses it stays open until that operation
//! ends (it is an `Arc<File>`), so at most `capacity` plus the operations in flight are open.
//!
//! Deleting a file must go through [`FileCache::forget`] first, or a later file of the same
//! name would be served the deleted file's handle.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A shared, bounded cache of open files, keyed by path.
pub struct FileCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

/// The cache proper: handles by path, and paths by last use (oldest first).
#[derive(Default)]
struct Lru {
    by_path: HashMap<Arc<Path>, Slot>,
    by_use: BTreeMap<u64, Arc<Path>>,
    clock: u64,
}

struct Slot {
    file: Arc<File>,
    used: u64,
}

impl FileCache {
    /// The capacity used by [`FileCache::default`].
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A cache keeping at most `capacity` (at least 1) files open.
    pub fn new(capacity: usize) -> Self {
        FileCache { capacity: capacity.max(1), inner: Mutex::new(Lru::default()) }
    }

    /// How many handles the cache keeps at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many handles the cache holds now.
    pub fn len(&self) -> usize {
        self.lock().by_path.len()
    }

    /// Whether the cache holds no handle.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The existing file `path`, opened for reading and writing.
    pub(crate) fn open(&self, path: &Path) -> io::Result<Arc<File>> {
        if let Some(file) = self.lock().touch(path) {
            return Ok(file);
        }
        // Opened outside the lock so one slow open does not stall every queue.
        let file = Arc::new(OpenOptions::new().read(true).write(true).open(path)?);
        self.insert(path, Arc::clone(&file));
        Ok(file)
    }

    /// Creates `path` (or empties an existing file) as `len` zero bytes, sparse.
    pub(crate) fn create(&self, path: &Path, len: u64) -> io::Result<Arc<File>> {
        self.forget(path);
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        file.set_len(len)?;
        let file = Arc::new(file);
        self.insert(path, Arc::clone(&file));
        Ok(file)
    }

    /// Drops the handle of `path`, if cached. Call before deleting or replacing the file.
    pub(crate) fn forget(&self, path: &Path) {
        let mut lru = self.lock();
        if let Some(slot) = lru.by_path.remove(path) {
            lru.by_use.remove(&slot.used);
        }
    }

    fn insert(&self, path: &Path, file: Arc<File>) {
        let mut lru = self.lock();
        lru.clock += 1;
        let used = lru.clock;
        let key: Arc<Path> = Arc::from(path);
        if let Some(old) = lru.by_path.insert(Arc::clone(&key), Slot { file, used }) {
            lru.by_use.remove(&old.used);
        }
        lru.by_use.insert(used, key);
        while lru.by_path.len() > self.capacity {
            let Some((_, oldest)) = lru.by_use.pop_first() else { break };
            lru.by_path.remove(&oldest);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lru> {
        // The cache stays consistent even if a holder panicked: every update is complete
        // before the guard drops.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Lru {
    /// The cached handle of `path`, marked as just used.
    fn touch(&mut self, path: &Path) -> Option<Arc<File>> {
        self.clock += 1;
        let now = self.clock;
        let (key, slot) = self.by_path.get_key_value(path)?;
        let key = Arc::clone(key);
        let old = slot.used;
        let file = Arc::clone(&slot.file);
        if let Some(slot) = self.by_path.get_mut(path) {
            slot.used = now;
        }
        self.by_use.remove(&old);
        self.by_use.insert(now, key);
        Some(file)
    }
}

impl Default for FileCache {
    /// A cache of [`FileCache::DEFAULT_CAPACITY`] handles.
    fn default() -> Self {
        FileCache::new(FileCache::DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for FileCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(2);
        let paths: Vec<_> = (0..3).map(|i| dir.path().join(format!("f{i}"))).collect();
        for p in &paths {
            cache.create(p, 8).unwrap();
        }
        assert_eq!(cache.len(), 2, "f0 evicted");
        assert!(!cache.lock().by_path.contains_key(paths[0].as_path()));
        cache.open(&paths[1]).unwrap(); // f1 is now newer than f2
        cache.open(&paths[0]).unwrap(); // evicts f2
        let lru = cache.lock();
        assert!(lru.by_path.contains_key(paths[0].as_path()));
        assert!(lru.by_path.contains_key(paths[1].as_path()));
        assert!(!lru.by_path.contains_key(paths[2].as_path()));
        assert_eq!(lru.by_use.len(), 2);
    }

    #[test]
    fn forget_and_create_replace_the_handle() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::default();
        let path = dir.path().join("f");
        let first = cache.create(&path, 16).unwrap();
        assert!(Arc::ptr_eq(&first, &cache.open(&path).unwrap()));
        let second = cache.create(&path, 4).unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(second.metadata().unwrap().len(), 4);
        cache.forget(&path);
        assert!(cache.is_empty());
        std::fs::remove_file(&path).unwrap();
        assert!(cache.open(&path).is_err());
        assert_eq!(format!("{cache:?}"), "FileCache { capacity: 1024, len: 0 }");
    }
}
