//! Long polling: pulls that find nothing new are held until a message arrives in their queue
//! or their suspend time runs out. The store's dispatcher announces arrivals; each waiting
//! pull watches its queue's latest max offset.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ferromq_store::ArrivalListener;
use tokio::sync::watch;

/// Queues that held pulls are waiting on.
#[derive(Debug, Default)]
pub struct LongPolling {
    /// topic → queue id → latest max offset; only queues someone waits on.
    queues: Mutex<HashMap<String, HashMap<i32, watch::Sender<i64>>>>,
}

impl LongPolling {
    /// Waits until `topic`/`queue_id` holds messages past `offset` (its max offset is above
    /// it), at most `timeout`; true if messages arrived. `current_max` is checked after the
    /// watch is registered, so an arrival between the pull's read and the wait is not missed.
    pub async fn wait(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        timeout: Duration,
        current_max: impl Fn() -> i64,
    ) -> bool {
        let mut receiver = {
            let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
            queues
                .entry(topic.to_string())
                .or_default()
                .entry(queue_id)
                .or_insert_with(|| watch::channel(0).0)
                .subscribe()
        };
        if current_max() > offset {
            return true;
        }
        let arrived = tokio::time::timeout(timeout, receiver.wait_for(|max| *max > offset)).await;
        matches!(arrived, Ok(Ok(_)))
    }

    /// Forgets queues nobody waits on (called periodically to keep the table small).
    pub fn prune(&self) {
        let mut queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        for senders in queues.values_mut() {
            senders.retain(|_, sender| sender.receiver_count() > 0);
        }
        queues.retain(|_, senders| !senders.is_empty());
    }

    /// Queues currently watched.
    #[cfg(test)]
    pub fn watched(&self) -> usize {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner).values().map(HashMap::len).sum()
    }
}

impl ArrivalListener for LongPolling {
    fn arrived(&self, topic: &str, queue_id: i32, max_offset: i64) {
        // Looked up by `&str`: an arrival for a queue nobody waits on allocates nothing.
        let queues = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queues.get(topic).and_then(|q| q.get(&queue_id)) {
            sender.send_replace(max_offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn a_held_pull_wakes_on_arrival_and_times_out_otherwise() {
        let polling = Arc::new(LongPolling::default());
        let waiter = {
            let polling = Arc::clone(&polling);
            tokio::spawn(
                async move { polling.wait("T", 1, 5, Duration::from_secs(30), || 5).await },
            )
        };
        while polling.watched() == 0 {
            tokio::task::yield_now().await;
        }
        polling.arrived("T", 2, 100); // another queue: no wake-up
        polling.arrived("T", 1, 6);
        assert!(waiter.await.unwrap());
        assert!(
            !polling.wait("T", 1, 6, Duration::from_millis(20), || 6).await,
            "nothing new: timed out"
        );
        assert!(polling.wait("T", 1, 6, Duration::from_secs(30), || 7).await, "already there");
        polling.prune();
        assert_eq!(polling.watched(), 0);
    }
}
