//! The consume-queue table: every (topic, queue id) of the store and its consume queue,
//! created on first dispatch, loaded from disk at start; and the appends to them, which
//! keep the queues' in-memory tails on their write-behind schedule.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use crate::consume_queue::{self, ConsumeQueue, Entry, FileCache, TailLimits, WriteBehind};
use crate::error::Result;

/// All consume queues of a store.
#[derive(Debug)]
pub struct QueueTable {
    root: PathBuf,
    entries_per_file: usize,
    files: Arc<FileCache>,
    behind: Arc<WriteBehind>,
    map: RwLock<HashMap<String, HashMap<i32, Arc<ConsumeQueue>>>>,
}

impl QueueTable {
    /// Loads every queue found under `root` (`<store>/consumequeue`).
    pub fn load(
        root: PathBuf,
        entries_per_file: usize,
        max_open_files: usize,
        tails: TailLimits,
    ) -> Result<QueueTable> {
        std::fs::create_dir_all(&root).map_err(|e| crate::StoreError::io(&root, e))?;
        let files = Arc::new(FileCache::new(max_open_files));
        let behind = Arc::new(WriteBehind::new(tails));
        let mut map: HashMap<String, HashMap<i32, Arc<ConsumeQueue>>> = HashMap::new();
        for (topic, queue_id, dir) in consume_queue::discover(&root)? {
            let queue = ConsumeQueue::open(
                &dir,
                &topic,
                queue_id,
                entries_per_file,
                Arc::clone(&files),
                Arc::clone(&behind),
            )?;
            map.entry(topic).or_default().insert(queue_id, Arc::new(queue));
        }
        Ok(QueueTable { root, entries_per_file, files, behind, map: RwLock::new(map) })
    }

    /// Appends `entries` at `first` to the queue (created if new), readable at once; writes
    /// the oldest tails if the store's tails now hold more than their budget. Returns the
    /// queue.
    pub fn append(
        &self,
        topic: &str,
        queue_id: i32,
        first: i64,
        entries: &[Entry],
    ) -> Result<Arc<ConsumeQueue>> {
        let queue = self.get_or_create(topic, queue_id)?;
        if queue.append(first, entries)? {
            self.behind.list(&queue);
        }
        self.behind.write_over_budget()?;
        Ok(queue)
    }

    /// Writes the tails that have waited their longest; returns how many queues it wrote.
    pub fn write_due_tails(&self) -> Result<usize> {
        self.behind.write_due(Instant::now())
    }

    /// The write-behind schedule of the tails (its budget, what they hold).
    pub fn write_behind(&self) -> &WriteBehind {
        &self.behind
    }

    /// The queue, if it exists.
    pub fn get(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.map.read().unwrap_or_else(PoisonError::into_inner).get(topic)?.get(&queue_id).cloned()
    }

    /// The queue, created if it does not exist yet.
    pub fn get_or_create(&self, topic: &str, queue_id: i32) -> Result<Arc<ConsumeQueue>> {
        if let Some(queue) = self.get(topic, queue_id) {
            return Ok(queue);
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        let queues = map.entry(topic.to_string()).or_default();
        if let Some(queue) = queues.get(&queue_id) {
            return Ok(Arc::clone(queue));
        }
        let dir = self.root.join(topic).join(queue_id.to_string());
        let queue = Arc::new(ConsumeQueue::open(
            &dir,
            topic,
            queue_id,
            self.entries_per_file,
            Arc::clone(&self.files),
            Arc::clone(&self.behind),
        )?);
        queues.insert(queue_id, Arc::clone(&queue));
        Ok(queue)
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .flat_map(|q| q.values().cloned())
            .collect()
    }

    /// The queues of one topic.
    pub fn of_topic(&self, topic: &str) -> Vec<Arc<ConsumeQueue>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(topic)
            .map(|q| q.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes a topic's queues from the table and deletes their files.
    pub fn remove_topic(&self, topic: &str) -> Result<()> {
        let removed = self.map.write().unwrap_or_else(PoisonError::into_inner).remove(topic);
        for queue in removed.into_iter().flat_map(|q| q.into_values()) {
            queue.destroy()?;
        }
        let dir = self.root.join(topic);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| crate::StoreError::io(&dir, e))?;
        }
        Ok(())
    }

    /// Number of queues.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(PoisonError::into_inner).values().map(HashMap::len).sum()
    }

    /// Whether there are no queues.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
