//! `ProcessQueue`: the messages pulled from one queue and not yet consumed, ordered by queue
//! offset. It answers the three questions the push consumer keeps asking: may this queue be
//! pulled again (flow control), what is the lowest offset not yet consumed (what gets
//! committed), and — for orderly consumption — which messages come next.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::message::MessageExt;

/// How long an order lock is trusted after the broker granted it
/// (`rocketmq.client.rebalance.lockMaxLiveTime`, 30 s; brokers keep it 60 s).
pub const LOCK_MAX_LIVE: Duration = Duration::from_secs(30);

/// When a queue's cache is full (`pullThresholdForQueue`, `pullThresholdSizeForQueue`,
/// `consumeConcurrentlyMaxSpan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Most cached messages.
    pub count: usize,
    /// Most cached body bytes.
    pub bytes: usize,
    /// Widest distance between the first and last cached offsets; `None` for orderly
    /// consumption, where only the head is consumed anyway.
    pub span: Option<i64>,
}

/// Why a queue may not be pulled now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Count(usize),
    Bytes(usize),
    Span(i64),
}

#[derive(Debug, Default)]
struct State {
    /// Pulled and not finished; in concurrent mode this includes messages being consumed.
    cached: BTreeMap<i64, MessageExt>,
    /// Orderly mode: the batch handed to the listener.
    consuming: BTreeMap<i64, MessageExt>,
    bytes: usize,
    /// The next offset to pull: every offset below it was pulled, or filtered out.
    next_offset: i64,
    /// Listener calls under way.
    in_flight: usize,
    /// When the broker last granted this client the queue's order lock.
    locked_at: Option<Instant>,
}

/// One queue's cache of pulled messages.
#[derive(Debug, Default)]
pub struct ProcessQueue {
    state: Mutex<State>,
    dropped: AtomicBool,
    /// Woken when messages leave the cache or a listener call ends.
    freed: Notify,
    /// Woken when messages arrive, the queue is dropped, or its lock changes.
    arrived: Notify,
}

fn body_len(message: &MessageExt) -> usize {
    message.message.body.len()
}

impl ProcessQueue {
    /// An empty cache whose next pull starts at `offset`.
    pub fn new(offset: i64) -> ProcessQueue {
        let pq = ProcessQueue::default();
        pq.state().next_offset = offset;
        pq
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds pulled messages (a message already cached is kept as it is) and moves the pull
    /// position to `next_offset`. Returns how many were new.
    pub fn put(&self, messages: Vec<MessageExt>, next_offset: i64) -> usize {
        let mut added = 0;
        {
            let mut state = self.state();
            for message in messages {
                let offset = message.queue_offset;
                if state.cached.contains_key(&offset) || state.consuming.contains_key(&offset) {
                    continue;
                }
                state.bytes += body_len(&message);
                state.cached.insert(offset, message);
                added += 1;
            }
            state.next_offset = next_offset;
        }
        self.arrived.notify_waiters();
        added
    }

    /// Moves the pull position (after a pull found nothing, or nothing that matched).
    pub fn set_next_offset(&self, next_offset: i64) {
        self.state().next_offset = next_offset;
    }

    /// Where the next pull starts.
    pub fn next_offset(&self) -> i64 {
        self.state().next_offset
    }

    /// Removes consumed messages (concurrent mode); unknown offsets are ignored.
    pub fn remove(&self, offsets: &[i64]) {
        {
            let mut state = self.state();
            for offset in offsets {
                if let Some(message) = state.cached.remove(offset) {
                    state.bytes = state.bytes.saturating_sub(body_len(&message));
                }
            }
        }
        self.freed.notify_waiters();
    }

    /// Whether the message at `offset` is still waiting to be consumed.
    pub fn contains(&self, offset: i64) -> bool {
        self.state().cached.contains_key(&offset)
    }

    /// The offset to commit: the lowest one not consumed yet, else the pull position.
    pub fn commit_offset(&self) -> i64 {
        let state = self.state();
        let heads = [state.cached.keys().next(), state.consuming.keys().next()];
        heads.into_iter().flatten().min().copied().unwrap_or(state.next_offset)
    }

    /// Messages and body bytes cached (orderly batches being consumed included).
    pub fn size(&self) -> (usize, usize) {
        let state = self.state();
        (state.cached.len() + state.consuming.len(), state.bytes)
    }

    /// `Some(reason)` when the queue must not be pulled until messages are consumed.
    pub fn full(&self, limits: &Thresholds) -> Option<Full> {
        let state = self.state();
        let count = state.cached.len() + state.consuming.len();
        if count > limits.count {
            return Some(Full::Count(count));
        }
        if state.bytes > limits.bytes {
            return Some(Full::Bytes(state.bytes));
        }
        let span = match (state.cached.keys().next(), state.cached.keys().next_back()) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        };
        limits.span.filter(|max| span > *max).map(|_| Full::Span(span))
    }

    // ---- orderly consumption

    /// Takes the first `n` cached messages for the listener; they stay counted (and hold the
    /// commit offset back) until [`ProcessQueue::commit_taken`] or
    /// [`ProcessQueue::put_back`].
    pub fn take(&self, n: usize) -> Vec<MessageExt> {
        let mut state = self.state();
        let mut batch = Vec::with_capacity(n.min(state.cached.len()));
        while batch.len() < n {
            let Some((offset, message)) = state.cached.pop_first() else { break };
            state.consuming.insert(offset, message.clone());
            batch.push(message);
        }
        batch
    }

    /// The taken batch was consumed: forgets it and returns the offset to commit.
    pub fn commit_taken(&self) -> i64 {
        {
            let mut state = self.state();
            let taken = std::mem::take(&mut state.consuming);
            let freed: usize = taken.values().map(body_len).sum();
            state.bytes = state.bytes.saturating_sub(freed);
        }
        self.freed.notify_waiters();
        self.commit_offset()
    }

    /// The taken batch must be consumed again: it goes back to the head of the cache, as
    /// given (with its reconsume counts raised by the caller).
    pub fn put_back(&self, messages: Vec<MessageExt>) {
        let mut state = self.state();
        for message in messages {
            state.consuming.remove(&message.queue_offset);
            state.cached.insert(message.queue_offset, message);
        }
        // Whatever else was taken goes back too, so nothing stays out of the cache.
        let rest = std::mem::take(&mut state.consuming);
        state.cached.extend(rest);
    }

    // ---- listener calls, dropping, locks

    /// Counts a listener call about to start; false (and nothing counted) once the queue is
    /// dropped, so no new call starts on a queue being given up.
    pub fn begin_consume(&self) -> bool {
        let mut state = self.state();
        if self.is_dropped() {
            return false;
        }
        state.in_flight += 1;
        true
    }

    /// Counts a listener call that ended.
    pub fn end_consume(&self) {
        {
            let mut state = self.state();
            state.in_flight = state.in_flight.saturating_sub(1);
        }
        self.freed.notify_waiters();
    }

    /// Listener calls under way.
    pub fn in_flight(&self) -> usize {
        self.state().in_flight
    }

    /// Marks the queue given up: nothing more is pulled or handed to the listener.
    pub fn set_dropped(&self) {
        {
            let _state = self.state();
            self.dropped.store(true, Ordering::SeqCst);
        }
        self.arrived.notify_waiters();
        self.freed.notify_waiters();
    }

    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Records whether the broker granted (or refused) the order lock just now.
    pub fn set_locked(&self, locked: bool, now: Instant) {
        self.state().locked_at = locked.then_some(now);
        self.arrived.notify_waiters();
    }

    /// Whether this client holds the queue's order lock and it has not lapsed at `now`.
    pub fn is_locked(&self, now: Instant) -> bool {
        self.state().locked_at.is_some_and(|at| now.saturating_duration_since(at) < LOCK_MAX_LIVE)
    }

    /// Resolves when messages leave the cache or a listener call ends; create it before
    /// checking the condition it waits for, so no wake-up is missed.
    pub fn freed(&self) -> Notified<'_> {
        self.freed.notified()
    }

    /// Resolves when messages arrive, the queue is dropped or its lock changes; create it
    /// before checking the condition it waits for.
    pub fn arrived(&self) -> Notified<'_> {
        self.arrived.notified()
    }

    /// Waits until no listener call is under way, at most `limit`; true if none is.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let freed = self.freed.notified();
            if self.in_flight() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return self.in_flight() == 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use std::net::SocketAddr;

    fn message(offset: i64, body: &str) -> MessageExt {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        MessageExt {
            message: Message::new("T", body.to_string()),
            broker_name: "b".into(),
            queue_id: 0,
            queue_offset: offset,
            commit_log_offset: offset * 100,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            body_crc: 0,
            offset_msg_id: String::new(),
        }
    }

    fn batch(offsets: std::ops::Range<i64>) -> Vec<MessageExt> {
        offsets.map(|o| message(o, "abcd")).collect()
    }

    #[test]
    fn the_commit_offset_is_the_lowest_unconsumed_one() {
        let pq = ProcessQueue::new(10);
        assert_eq!(pq.commit_offset(), 10, "empty: the pull position");
        assert_eq!(pq.put(batch(10..15), 15), 5);
        assert_eq!(pq.commit_offset(), 10);
        pq.remove(&[11, 12]);
        assert_eq!(pq.commit_offset(), 10, "a gap does not move it");
        pq.remove(&[10]);
        assert_eq!(pq.commit_offset(), 13);
        pq.remove(&[13, 14, 99]);
        assert_eq!(pq.commit_offset(), 15, "all consumed: up to the pull position");
        pq.set_next_offset(20);
        assert_eq!(pq.commit_offset(), 20, "filtered-out messages are passed too");
        assert_eq!(pq.size(), (0, 0));
    }

    #[test]
    fn duplicates_are_not_counted_twice() {
        let pq = ProcessQueue::new(0);
        assert_eq!(pq.put(batch(0..3), 3), 3);
        assert_eq!(pq.put(batch(2..5), 5), 2);
        assert_eq!(pq.size(), (5, 20));
    }

    #[test]
    fn flow_control_by_count_bytes_and_span() {
        let limits = Thresholds { count: 3, bytes: 100, span: Some(10) };
        let pq = ProcessQueue::new(0);
        pq.put(batch(0..3), 3);
        assert_eq!(pq.full(&limits), None, "at the threshold is still fine, as in Java");
        pq.put(batch(3..4), 4);
        assert_eq!(pq.full(&limits), Some(Full::Count(4)));
        pq.remove(&[1, 2, 3]);
        assert_eq!(pq.full(&limits), None);
        pq.put(vec![message(50, "x")], 51);
        assert_eq!(pq.full(&limits), Some(Full::Span(50)), "a stuck head blocks pulling");
        assert_eq!(pq.full(&Thresholds { span: None, ..limits }), None);
        let big = ProcessQueue::new(0);
        big.put(vec![message(0, &"x".repeat(101))], 1);
        assert_eq!(big.full(&limits), Some(Full::Bytes(101)));
    }

    #[test]
    fn orderly_batches_are_taken_committed_or_put_back() {
        let pq = ProcessQueue::new(0);
        pq.put(batch(0..5), 5);
        let first = pq.take(2);
        assert_eq!(first.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(pq.commit_offset(), 0, "a batch being consumed holds the offset");
        assert_eq!(pq.size().0, 5);
        let mut again = first;
        for m in &mut again {
            m.reconsume_times += 1;
        }
        pq.put_back(again);
        let retaken = pq.take(2);
        assert!(retaken.iter().all(|m| m.reconsume_times == 1), "counts survive the put back");
        assert_eq!(pq.commit_taken(), 2);
        assert_eq!(pq.take(10).len(), 3);
        assert_eq!(pq.commit_taken(), 5);
        assert!(pq.take(1).is_empty());
        assert_eq!(pq.size(), (0, 0));
    }

    #[test]
    fn a_dropped_queue_starts_no_listener_call() {
        let pq = ProcessQueue::new(0);
        assert!(pq.begin_consume());
        pq.set_dropped();
        assert!(!pq.begin_consume());
        assert_eq!(pq.in_flight(), 1);
        pq.end_consume();
        assert_eq!(pq.in_flight(), 0);
    }

    #[test]
    fn locks_lapse() {
        let pq = ProcessQueue::new(0);
        let now = Instant::now();
        assert!(!pq.is_locked(now));
        pq.set_locked(true, now);
        assert!(pq.is_locked(now + Duration::from_secs(29)));
        assert!(!pq.is_locked(now + LOCK_MAX_LIVE));
        pq.set_locked(false, now);
        assert!(!pq.is_locked(now));
    }

    #[tokio::test]
    async fn waiting_for_idle_ends_when_the_last_call_ends() {
        let pq = std::sync::Arc::new(ProcessQueue::new(0));
        assert!(pq.wait_idle(Duration::from_millis(1)).await);
        assert!(pq.begin_consume());
        assert!(!pq.wait_idle(Duration::from_millis(10)).await, "bounded");
        let ender = std::sync::Arc::clone(&pq);
        let task = tokio::spawn(async move { ender.end_consume() });
        assert!(pq.wait_idle(Duration::from_secs(30)).await);
        task.await.unwrap();
    }
}
