//! Order locks: an orderly consumer locks its queues on the broker so that one member of its
//! group consumes a queue at a time. A lock belongs to a client id and lapses after
//! `lockMaxLiveTime` (60 s) unless renewed; clients renew every 20 s.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ferromq_protocol::body::MessageQueue;

#[derive(Debug, Clone)]
struct Lock {
    client_id: String,
    renewed: Instant,
}

/// Queue locks per consumer group.
#[derive(Debug)]
pub struct RebalanceLocks {
    /// `lockMaxLiveTime` in ms; changeable while the broker runs.
    max_live_ms: AtomicU64,
    groups: Mutex<HashMap<String, HashMap<MessageQueue, Lock>>>,
}

impl RebalanceLocks {
    /// Locks that lapse after `max_live` without renewal.
    pub fn new(max_live: Duration) -> Self {
        let max_live_ms = AtomicU64::new(u64::try_from(max_live.as_millis()).unwrap_or(u64::MAX));
        RebalanceLocks { max_live_ms, groups: Mutex::new(HashMap::new()) }
    }

    /// Changes how long a lock lives without renewal (from the next check on).
    pub fn set_max_live(&self, max_live: Duration) {
        let ms = u64::try_from(max_live.as_millis()).unwrap_or(u64::MAX);
        self.max_live_ms.store(ms, Ordering::Relaxed);
    }

    fn max_live(&self) -> Duration {
        Duration::from_millis(self.max_live_ms.load(Ordering::Relaxed))
    }

    /// Locks (or renews) each queue for `client_id` unless another client holds a live lock
    /// on it; returns the queues now locked by `client_id`.
    pub fn lock(
        &self,
        group: &str,
        client_id: &str,
        queues: &BTreeSet<MessageQueue>,
    ) -> BTreeSet<MessageQueue> {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let locks = groups.entry(group.to_string()).or_default();
        let now = Instant::now();
        let max_live = self.max_live();
        let mut granted = BTreeSet::new();
        for queue in queues {
            let free = match locks.get(queue) {
                None => true,
                Some(lock) => {
                    lock.client_id == client_id || now.duration_since(lock.renewed) > max_live
                }
            };
            if free {
                locks
                    .insert(queue.clone(), Lock { client_id: client_id.to_string(), renewed: now });
                granted.insert(queue.clone());
            }
        }
        granted
    }

    /// Releases the queues `client_id` holds among `queues`.
    pub fn unlock(&self, group: &str, client_id: &str, queues: &BTreeSet<MessageQueue>) {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(locks) = groups.get_mut(group) {
            for queue in queues {
                if locks.get(queue).is_some_and(|l| l.client_id == client_id) {
                    locks.remove(queue);
                }
            }
            if locks.is_empty() {
                groups.remove(group);
            }
        }
    }

    /// Whether any member of `group` holds a live lock (the group consumes orderly; RocketMQ's
    /// `!isLockAllExpired`).
    pub fn has_live_lock(&self, group: &str) -> bool {
        let groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        let max_live = self.max_live();
        groups
            .get(group)
            .is_some_and(|locks| locks.values().any(|lock| lock.renewed.elapsed() <= max_live))
    }

    /// Whether `queue` is locked (live) by anyone in `group`.
    #[cfg(test)]
    pub fn is_locked(&self, group: &str, queue: &MessageQueue) -> bool {
        let groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        groups
            .get(group)
            .and_then(|locks| locks.get(queue))
            .is_some_and(|lock| lock.renewed.elapsed() <= self.max_live())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqs(ids: &[i32]) -> BTreeSet<MessageQueue> {
        ids.iter().map(|i| MessageQueue::new("T", "b", *i)).collect()
    }

    #[test]
    fn one_client_per_queue_until_released_or_lapsed() {
        let locks = RebalanceLocks::new(Duration::from_millis(50));
        assert_eq!(locks.lock("g", "c1", &mqs(&[0, 1])), mqs(&[0, 1]));
        assert_eq!(locks.lock("g", "c2", &mqs(&[1, 2])), mqs(&[2]), "queue 1 is c1's");
        assert_eq!(locks.lock("g", "c1", &mqs(&[1])), mqs(&[1]), "renewal by the holder");
        assert_eq!(locks.lock("other", "c2", &mqs(&[1])), mqs(&[1]), "groups are separate");
        locks.unlock("g", "c2", &mqs(&[1]));
        assert!(locks.is_locked("g", &MessageQueue::new("T", "b", 1)), "only the holder unlocks");
        assert!(locks.has_live_lock("g") && !locks.has_live_lock("nobody"));
        locks.unlock("g", "c1", &mqs(&[1]));
        assert_eq!(locks.lock("g", "c2", &mqs(&[1])), mqs(&[1]));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!locks.has_live_lock("other"), "lapsed");
        assert_eq!(locks.lock("g", "c3", &mqs(&[0])), mqs(&[0]), "a lapsed lock is free");
    }
}
