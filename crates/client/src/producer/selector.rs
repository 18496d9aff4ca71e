//! Queue selection: the round-robin choice the producer makes itself (skipping the broker
//! that just failed and brokers under fault avoidance), and the user's selectors for ordered
//! messages (`MessageQueueSelector`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::java_string_hash;

use super::fault::FaultTable;
use crate::message::Message;

/// Picks the queue for a message; messages that must stay in order pick by their key.
pub trait QueueSelector: Send + Sync {
    /// An index into `queues` (taken modulo its length).
    fn select(&self, queues: &[MessageQueue], message: &Message) -> usize;
}

impl<F> QueueSelector for F
where
    F: Fn(&[MessageQueue], &Message) -> usize + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], message: &Message) -> usize {
        self(queues, message)
    }
}

/// Same key, same queue: `|hashCode(key) % queues|` as RocketMQ's `SelectMessageQueueByHash`
/// computes it for a string argument, so Java and FerroMQ producers agree.
#[derive(Debug, Clone)]
pub struct SelectByHash(pub String);

impl QueueSelector for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _message: &Message) -> usize {
        let hash = java_string_hash(&self.0).unsigned_abs() as usize;
        hash % queues.len().max(1)
    }
}

/// The producer's own choice: round-robin over the queues, starting at a per-producer
/// position, preferring brokers that are neither the last one tried nor under avoidance.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    pub fn pick<'a>(
        &self,
        queues: &'a [MessageQueue],
        last_broker: Option<&str>,
        faults: Option<&FaultTable>,
    ) -> Option<&'a MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let nth = |i: usize| &queues[(start + i) % queues.len()];
        let fresh = |q: &MessageQueue| last_broker != Some(q.broker_name.as_str());
        let healthy = |q: &MessageQueue| faults.is_none_or(|f| f.is_available(&q.broker_name, now));
        (0..queues.len())
            .map(nth)
            .find(|q| fresh(q) && healthy(q))
            .or_else(|| (0..queues.len()).map(nth).find(|q| fresh(q)))
            .or_else(|| Some(nth(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn queues() -> Vec<MessageQueue> {
        ["a", "a", "b", "b"]
            .iter()
            .enumerate()
            .map(|(i, b)| MessageQueue::new("T", *b, i as i32 % 2))
            .collect()
    }

    #[test]
    fn round_robin_visits_every_queue() {
        let (rr, queues) = (RoundRobin::default(), queues());
        let picked: Vec<_> =
            (0..4).map(|_| rr.pick(&queues, None, None).unwrap().clone()).collect();
        assert_eq!(picked, queues);
    }

    #[test]
    fn a_retry_avoids_the_last_broker_and_faulty_ones() {
        let (rr, queues) = (RoundRobin::default(), queues());
        for _ in 0..4 {
            assert_eq!(rr.pick(&queues, Some("a"), None).unwrap().broker_name, "b");
        }
        let faults = FaultTable::default();
        faults.record("b", Duration::from_millis(1), true, Instant::now());
        for _ in 0..4 {
            assert_eq!(rr.pick(&queues, None, Some(&faults)).unwrap().broker_name, "a");
        }
        // Nothing else left: the last broker is still better than nothing.
        let only_a = &queues[..2];
        assert_eq!(rr.pick(only_a, Some("a"), None).unwrap().broker_name, "a");
    }

    #[test]
    fn hashing_matches_javas_string_hash() {
        // "order-1".hashCode() = -1207111310 in Java; Java's selector: |h % 4| = 2.
        let queues = queues();
        assert_eq!(SelectByHash("order-1".into()).select(&queues, &Message::new("T", "b")), 2);
    }
}
