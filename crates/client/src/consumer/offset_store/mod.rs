//! Consumer offsets: the next offset to consume per queue, kept in memory as consumption
//! advances and persisted either on the brokers (clustering: `remote`) or in a local file
//! (broadcasting: `local`) — RocketMQ's `OffsetStore`.

pub mod local;
pub mod remote;

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use ferromq_protocol::body::MessageQueue;

use super::start_offset::StoredOffset;
use crate::error::Result;
use local::LocalOffsetStore;
use remote::RemoteOffsetStore;

/// Offsets in memory, per queue.
#[derive(Debug, Default)]
pub struct OffsetTable {
    offsets: Mutex<HashMap<MessageQueue, i64>>,
}

impl OffsetTable {
    fn lock(&self) -> MutexGuard<'_, HashMap<MessageQueue, i64>> {
        self.offsets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `offset`; with `increase_only`, a lower offset than the one held is ignored.
    pub fn update(&self, queue: &MessageQueue, offset: i64, increase_only: bool) {
        let mut offsets = self.lock();
        match offsets.get_mut(queue) {
            Some(held) if increase_only => *held = (*held).max(offset),
            Some(held) => *held = offset,
            None => {
                offsets.insert(queue.clone(), offset);
            }
        }
    }

    pub fn get(&self, queue: &MessageQueue) -> Option<i64> {
        self.lock().get(queue).copied()
    }

    pub fn remove(&self, queue: &MessageQueue) {
        self.lock().remove(queue);
    }

    /// The offsets of `queues` that are known.
    pub fn of(&self, queues: &[MessageQueue]) -> Vec<(MessageQueue, i64)> {
        let offsets = self.lock();
        queues.iter().filter_map(|q| offsets.get(q).map(|o| (q.clone(), *o))).collect()
    }
}

/// Where a group's offsets live.
#[derive(Debug)]
pub enum OffsetStore {
    Remote(RemoteOffsetStore),
    Local(LocalOffsetStore),
}

impl OffsetStore {
    fn table(&self) -> &OffsetTable {
        match self {
            OffsetStore::Remote(store) => &store.table,
            OffsetStore::Local(store) => &store.table,
        }
    }

    /// Records consumption progress in memory.
    pub fn update(&self, queue: &MessageQueue, offset: i64, increase_only: bool) {
        self.table().update(queue, offset, increase_only);
    }

    /// The offset held in memory, if any.
    pub fn read_memory(&self, queue: &MessageQueue) -> Option<i64> {
        self.table().get(queue)
    }

    /// The persisted offset (broker or file), also remembered in memory when found.
    pub async fn read_store(&self, queue: &MessageQueue) -> Result<StoredOffset> {
        let stored = match self {
            OffsetStore::Remote(store) => store.query(queue).await?,
            OffsetStore::Local(store) => store.read(queue).await?,
        };
        if let StoredOffset::Found(offset) = stored {
            self.table().update(queue, offset, false);
        }
        Ok(stored)
    }

    /// Persists one queue's offset and waits until it is (used when a queue is given up).
    pub async fn persist(&self, queue: &MessageQueue) -> Result<()> {
        let Some(offset) = self.table().get(queue) else { return Ok(()) };
        match self {
            OffsetStore::Remote(store) => store.commit(queue, offset, false).await,
            OffsetStore::Local(store) => store.write(&[(queue.clone(), offset)]).await,
        }
    }

    /// Persists the offsets of `queues` (the periodic commit and the one at shutdown);
    /// `oneway` sends remote commits without waiting for answers.
    pub async fn persist_all(&self, queues: &[MessageQueue], oneway: bool) -> Result<()> {
        let offsets = self.table().of(queues);
        match self {
            OffsetStore::Remote(store) => {
                let mut first_error = None;
                for (queue, offset) in offsets {
                    if let Err(e) = store.commit(&queue, offset, oneway).await {
                        tracing::debug!(?queue, error = %e, "offset commit failed");
                        first_error.get_or_insert(e);
                    }
                }
                first_error.map_or(Ok(()), Err)
            }
            OffsetStore::Local(store) => store.write(&offsets).await,
        }
    }

    /// Forgets a queue's in-memory offset (after the queue was given up).
    pub fn remove(&self, queue: &MessageQueue) {
        self.table().remove(queue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increase_only_updates_never_go_back() {
        let table = OffsetTable::default();
        let q = MessageQueue::new("T", "b", 0);
        table.update(&q, 10, true);
        table.update(&q, 5, true);
        assert_eq!(table.get(&q), Some(10));
        table.update(&q, 5, false);
        assert_eq!(table.get(&q), Some(5), "a forced update may move it back");
        let other = MessageQueue::new("T", "b", 1);
        assert_eq!(table.of(&[q.clone(), other]), vec![(q.clone(), 5)]);
        table.remove(&q);
        assert_eq!(table.get(&q), None);
    }
}
