//! The lite pull consumer's bookkeeping, with no I/O and no timers: the assigned queues,
//! each with its pause flag, pull position, seek epoch and buffer of pulled batches not yet
//! polled (RocketMQ's `AssignedMessageQueue` and its consume-request cache).
//!
//! The caller holds one lock around [`Assigned`], so a seek and a pull answer can never
//! interleave: every pull is stamped with the queue's *epoch* when it starts, a seek (or a
//! new assignment) gives the queue a fresh epoch and empties its buffer, and an answer is
//! taken only while its epoch is current and the pull position is still the offset it
//! pulled from. RocketMQ keeps a per-queue seek offset and a dropped flag for the same job.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::sync::Arc;

use ferromq_protocol::body::MessageQueue;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::message::MessageExt;

/// When pulling stops for flow control (`pullThresholdForAll`, `pullThresholdForQueue`,
/// `pullThresholdSizeForQueue`, `consumeMaxSpan`). A pull may overshoot by one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most buffered messages over all queues.
    pub total: usize,
    /// Most buffered messages of one queue.
    pub count: usize,
    /// Most buffered body bytes of one queue.
    pub bytes: usize,
    /// Widest distance between a queue's first and last buffered offsets.
    pub span: i64,
}

/// Why a queue is not pulled now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Total(usize),
    Count(usize),
    Bytes(usize),
    Span(i64),
}

/// What a queue's pull task does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The queue is no longer assigned: the task ends.
    Gone,
    /// Paused: wait for a resume.
    Paused,
    /// The buffer is full: wait until it drains.
    Full(Full),
    /// The start offset is unknown: find it, then [`Assigned::set_start`].
    Start { epoch: u64 },
    /// Pull from `offset`, then [`Assigned::accept`] the answer with `epoch`.
    Pull { epoch: u64, offset: i64 },
}

/// What became of a pull answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The queue was sought, reassigned or released since the pull started: ignored.
    Stale,
    /// The pull position moved; nothing to buffer.
    Moved,
    /// This many messages were buffered.
    Buffered(usize),
}

/// How the bookkeeping tells a queue's pull task that something changed.
#[derive(Debug)]
pub struct Signals {
    /// A seek, a resume or a release: drop a pull under way and look again.
    pub interrupt: Notify,
    /// Polls took messages from the queue's buffer.
    pub freed: Notify,
    /// Cancelled when the queue is released.
    pub stop: CancellationToken,
}

/// A queue given up, with the offset to commit for it (if its position was known).
#[derive(Debug)]
pub struct Released {
    pub queue: MessageQueue,
    pub commit_offset: Option<i64>,
}

#[derive(Debug)]
struct QueueState {
    epoch: u64,
    paused: bool,
    /// The next offset to pull; `None` until the start offset is known.
    pull_offset: Option<i64>,
    /// Pulled batches not polled yet, oldest first; none is empty.
    batches: VecDeque<Vec<MessageExt>>,
    count: usize,
    bytes: usize,
    signals: Arc<Signals>,
}

impl QueueState {
    fn clear(&mut self) -> usize {
        let dropped = self.count;
        self.batches.clear();
        self.count = 0;
        self.bytes = 0;
        dropped
    }

    /// The lowest offset not polled yet: the head of the buffer, else the pull position.
    fn commit_offset(&self) -> Option<i64> {
        let head = self.batches.front().and_then(|b| b.first()).map(|m| m.queue_offset);
        head.or(self.pull_offset)
    }

    fn span(&self) -> i64 {
        let first = self.batches.front().and_then(|b| b.first());
        let last = self.batches.back().and_then(|b| b.last());
        match (first, last) {
            (Some(first), Some(last)) => last.queue_offset - first.queue_offset,
            _ => 0,
        }
    }
}

fn body_len(messages: &[MessageExt]) -> usize {
    messages.iter().map(|m| m.message.body.len()).sum()
}

/// Every assigned queue and what it has buffered.
#[derive(Debug, Default)]
pub struct Assigned {
    queues: BTreeMap<MessageQueue, QueueState>,
    next_epoch: u64,
    /// Buffered messages over all queues.
    total: usize,
    /// The queue polled last; polls go round the queues from there.
    cursor: Option<MessageQueue>,
}

impl Assigned {
    fn fresh_epoch(&mut self) -> u64 {
        self.next_epoch += 1;
        self.next_epoch
    }

    /// Adds `queue` (its start offset unknown) with a stop token made from `parent`; returns
    /// the signals for its new pull task, or `None` if it was assigned already.
    pub fn add(
        &mut self,
        queue: &MessageQueue,
        parent: &CancellationToken,
    ) -> Option<Arc<Signals>> {
        if self.queues.contains_key(queue) {
            return None;
        }
        let signals = Arc::new(Signals {
            interrupt: Notify::new(),
            freed: Notify::new(),
            stop: parent.child_token(),
        });
        let state = QueueState {
            epoch: self.fresh_epoch(),
            paused: false,
            pull_offset: None,
            batches: VecDeque::new(),
            count: 0,
            bytes: 0,
            signals: Arc::clone(&signals),
        };
        self.queues.insert(queue.clone(), state);
        Some(signals)
    }

    /// Releases every queue `release` picks: its buffer is dropped and its pull task stopped.
    pub fn remove_where(
        &mut self,
        mut release: impl FnMut(&MessageQueue) -> bool,
    ) -> Vec<Released> {
        let gone: Vec<MessageQueue> = self.queues.keys().filter(|q| release(q)).cloned().collect();
        let mut released = Vec::with_capacity(gone.len());
        for queue in gone {
            let Some(mut state) = self.queues.remove(&queue) else { continue };
            let commit_offset = state.commit_offset();
            self.total = self.total.saturating_sub(state.clear());
            state.signals.stop.cancel();
            state.signals.interrupt.notify_one();
            released.push(Released { queue, commit_offset });
        }
        released
    }

    pub fn contains(&self, queue: &MessageQueue) -> bool {
        self.queues.contains_key(queue)
    }

    /// The assigned queues, in order.
    pub fn queues(&self) -> Vec<MessageQueue> {
        self.queues.keys().cloned().collect()
    }

    /// Each queue with the signals of its pull task (to start the tasks of queues assigned
    /// before the consumer started).
    pub fn signals(&self) -> Vec<(MessageQueue, Arc<Signals>)> {
        self.queues.iter().map(|(q, s)| (q.clone(), Arc::clone(&s.signals))).collect()
    }

    /// Pauses (or resumes) the assigned queues among `queues`; a resumed queue's pull task is
    /// woken. Unassigned queues are ignored, as RocketMQ does.
    pub fn set_paused(&mut self, queues: &[MessageQueue], paused: bool) {
        for queue in queues {
            if let Some(state) = self.queues.get_mut(queue) {
                state.paused = paused;
                if !paused {
                    state.signals.interrupt.notify_one();
                }
            }
        }
    }

    pub fn is_paused(&self, queue: &MessageQueue) -> bool {
        self.queues.get(queue).is_some_and(|s| s.paused)
    }

    /// Moves `queue`'s pull position to `offset`: what it buffered is dropped, pulls under
    /// way become stale, and its task is interrupted. False if the queue is not assigned.
    pub fn seek(&mut self, queue: &MessageQueue, offset: i64) -> bool {
        let epoch = self.fresh_epoch();
        let Some(state) = self.queues.get_mut(queue) else { return false };
        state.epoch = epoch;
        state.pull_offset = Some(offset);
        let dropped = state.clear();
        state.signals.interrupt.notify_one();
        self.total = self.total.saturating_sub(dropped);
        true
    }

    /// What `queue`'s pull task does next.
    pub fn plan(&self, queue: &MessageQueue, limits: &Limits) -> Plan {
        let Some(state) = self.queues.get(queue) else { return Plan::Gone };
        if state.paused {
            return Plan::Paused;
        }
        if self.total > limits.total {
            return Plan::Full(Full::Total(self.total));
        }
        if state.count > limits.count {
            return Plan::Full(Full::Count(state.count));
        }
        if state.bytes > limits.bytes {
            return Plan::Full(Full::Bytes(state.bytes));
        }
        let span = state.span();
        if span > limits.span {
            return Plan::Full(Full::Span(span));
        }
        match state.pull_offset {
            None => Plan::Start { epoch: state.epoch },
            Some(offset) => Plan::Pull { epoch: state.epoch, offset },
        }
    }

    /// Records where `queue` starts, unless it was sought or reassigned meanwhile.
    pub fn set_start(&mut self, queue: &MessageQueue, epoch: u64, offset: i64) -> bool {
        match self.queues.get_mut(queue) {
            Some(state) if state.epoch == epoch && state.pull_offset.is_none() => {
                state.pull_offset = Some(offset);
                true
            }
            _ => false,
        }
    }

    /// Takes the answer of a pull from `offset` started under `epoch`: buffers `messages`
    /// and moves the pull position to `next_offset` — or, if the queue moved on since,
    /// ignores it all.
    pub fn accept(
        &mut self,
        queue: &MessageQueue,
        epoch: u64,
        offset: i64,
        next_offset: i64,
        messages: Vec<MessageExt>,
    ) -> Accepted {
        let Some(state) = self.queues.get_mut(queue) else { return Accepted::Stale };
        if state.epoch != epoch || state.pull_offset != Some(offset) {
            return Accepted::Stale;
        }
        state.pull_offset = Some(next_offset);
        if messages.is_empty() {
            return Accepted::Moved;
        }
        let n = messages.len();
        state.count += n;
        state.bytes += body_len(&messages);
        state.batches.push_back(messages);
        self.total += n;
        Accepted::Buffered(n)
    }

    /// The oldest batch of the next queue (round robin) that has one and is not paused; its
    /// pull task is told the buffer drained.
    pub fn take(&mut self) -> Option<(MessageQueue, Vec<MessageExt>)> {
        let ready = |s: &QueueState| !s.paused && !s.batches.is_empty();
        let queue = match &self.cursor {
            Some(cursor) => self
                .queues
                .range::<MessageQueue, _>((Excluded(cursor), Unbounded))
                .chain(self.queues.range::<MessageQueue, _>((Unbounded, Included(cursor))))
                .find(|(_, s)| ready(s)),
            None => self.queues.iter().find(|(_, s)| ready(s)),
        }
        .map(|(q, _)| q.clone())?;
        let state = self.queues.get_mut(&queue)?;
        let batch = state.batches.pop_front()?;
        state.count = state.count.saturating_sub(batch.len());
        state.bytes = state.bytes.saturating_sub(body_len(&batch));
        state.signals.freed.notify_one();
        self.total = self.total.saturating_sub(batch.len());
        self.cursor = Some(queue.clone());
        Some((queue, batch))
    }

    /// The offset to commit for `queue`: the lowest offset not polled yet.
    #[cfg(test)]
    pub fn commit_offset(&self, queue: &MessageQueue) -> Option<i64> {
        self.queues.get(queue).and_then(QueueState::commit_offset)
    }

    /// The offsets to commit of every queue whose position is known.
    pub fn commit_offsets(&self) -> Vec<(MessageQueue, i64)> {
        self.queues.iter().filter_map(|(q, s)| s.commit_offset().map(|o| (q.clone(), o))).collect()
    }

    /// Buffered messages and body bytes of `queue`.
    pub fn buffered(&self, queue: &MessageQueue) -> (usize, usize) {
        self.queues.get(queue).map_or((0, 0), |s| (s.count, s.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use futures::FutureExt;

    const LIMITS: Limits = Limits { total: 100, count: 10, bytes: 1000, span: 50 };

    fn queue(id: i32) -> MessageQueue {
        MessageQueue::new("T", "b", id)
    }

    fn message(queue_id: i32, offset: i64, body: &str) -> MessageExt {
        let host = "127.0.0.1:1".parse().unwrap();
        MessageExt {
            message: Message::new("T", body.to_string()),
            broker_name: "b".into(),
            queue_id,
            queue_offset: offset,
            commit_log_offset: 0,
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

    fn batch(queue_id: i32, offsets: std::ops::Range<i64>) -> Vec<MessageExt> {
        offsets.map(|o| message(queue_id, o, "xx")).collect()
    }

    fn offsets(batch: &[MessageExt]) -> Vec<i64> {
        batch.iter().map(|m| m.queue_offset).collect()
    }

    /// Adds `queue` started at `offset`; returns its epoch.
    fn started(assigned: &mut Assigned, q: &MessageQueue, offset: i64) -> u64 {
        assigned.add(q, &CancellationToken::new()).unwrap();
        let Plan::Start { epoch } = assigned.plan(q, &LIMITS) else { panic!("not new") };
        assert!(assigned.set_start(q, epoch, offset));
        assert_eq!(assigned.plan(q, &LIMITS), Plan::Pull { epoch, offset });
        epoch
    }

    #[test]
    fn pulls_buffer_polls_drain_and_the_commit_offset_follows_the_polls() {
        let mut assigned = Assigned::default();
        let q = queue(0);
        let epoch = started(&mut assigned, &q, 5);
        assert!(assigned.add(&q, &CancellationToken::new()).is_none(), "added once");
        assert_eq!(assigned.commit_offset(&q), Some(5));
        assert_eq!(assigned.accept(&q, epoch, 5, 8, batch(0, 5..8)), Accepted::Buffered(3));
        assert_eq!(assigned.accept(&q, epoch, 8, 10, batch(0, 8..10)), Accepted::Buffered(2));
        assert_eq!(assigned.buffered(&q), (5, 10));
        assert_eq!(assigned.commit_offset(&q), Some(5), "nothing polled yet");
        let (taken_from, first) = assigned.take().unwrap();
        assert_eq!((taken_from, offsets(&first)), (q.clone(), vec![5, 6, 7]));
        assert_eq!(assigned.commit_offset(&q), Some(8));
        assert_eq!(offsets(&assigned.take().unwrap().1), vec![8, 9]);
        assert_eq!(assigned.commit_offset(&q), Some(10), "all polled: the pull position");
        assert!(assigned.take().is_none());
        // A pull that found only filtered-out messages moves the position, and so the commit.
        assert_eq!(assigned.accept(&q, epoch, 10, 14, Vec::new()), Accepted::Moved);
        assert_eq!(assigned.commit_offsets(), vec![(q, 14)]);
    }

    #[test]
    fn a_seek_drops_the_buffer_and_every_answer_of_an_older_pull() {
        let mut assigned = Assigned::default();
        let q = queue(0);
        let epoch = started(&mut assigned, &q, 0);
        assert_eq!(assigned.accept(&q, epoch, 0, 10, batch(0, 0..10)), Accepted::Buffered(10));
        // A pull from 10 is under way when the application seeks back to 3.
        let signals = assigned.signals().pop().unwrap().1;
        assert!(assigned.seek(&q, 3));
        assert!(signals.interrupt.notified().now_or_never().is_some(), "the task is interrupted");
        assert_eq!(assigned.buffered(&q), (0, 0));
        assert!(assigned.take().is_none(), "buffered messages from before the seek are gone");
        assert_eq!(assigned.accept(&q, epoch, 10, 20, batch(0, 10..20)), Accepted::Stale);
        assert!(assigned.take().is_none(), "the late answer is not buffered");
        assert_eq!(assigned.commit_offset(&q), Some(3));
        let Plan::Pull { epoch: new, offset: 3 } = assigned.plan(&q, &LIMITS) else {
            panic!("pull from the sought offset")
        };
        assert_ne!(new, epoch);
        // Even an answer stamped with the current epoch counts only from the current position.
        assert_eq!(assigned.accept(&q, new, 0, 10, batch(0, 0..10)), Accepted::Stale);
        assert_eq!(assigned.accept(&q, new, 3, 6, batch(0, 3..6)), Accepted::Buffered(3));
        assert_eq!(offsets(&assigned.take().unwrap().1), vec![3, 4, 5]);
        assert!(!assigned.seek(&queue(9), 0), "unassigned queues cannot be sought");
    }

    #[test]
    fn a_seek_before_the_start_offset_is_found_wins() {
        let mut assigned = Assigned::default();
        let q = queue(0);
        assigned.add(&q, &CancellationToken::new()).unwrap();
        let Plan::Start { epoch } = assigned.plan(&q, &LIMITS) else { panic!() };
        assert!(assigned.seek(&q, 42));
        assert!(!assigned.set_start(&q, epoch, 7), "the start found late is ignored");
        assert!(matches!(assigned.plan(&q, &LIMITS), Plan::Pull { offset: 42, .. }));
    }

    #[test]
    fn released_queues_stop_their_task_and_ignore_late_answers() {
        let mut assigned = Assigned::default();
        let (a, b) = (queue(0), queue(1));
        let epoch_a = started(&mut assigned, &a, 0);
        started(&mut assigned, &b, 0);
        let signals_a = assigned.signals().remove(0).1;
        assert_eq!(assigned.accept(&a, epoch_a, 0, 4, batch(0, 0..4)), Accepted::Buffered(4));
        let released = assigned.remove_where(|q| q.queue_id == 0);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].commit_offset, Some(0), "nothing polled: commit the start");
        assert!(signals_a.stop.is_cancelled());
        assert_eq!(assigned.plan(&a, &LIMITS), Plan::Gone);
        assert_eq!(assigned.accept(&a, epoch_a, 4, 8, batch(0, 4..8)), Accepted::Stale);
        assert!(assigned.take().is_none());
        assert_eq!(assigned.queues(), vec![b.clone()]);
        // Assigned again: a new epoch, so answers of the old task stay stale.
        let epoch_again = started(&mut assigned, &a, 4);
        assert_ne!(epoch_again, epoch_a);
        assert_eq!(assigned.accept(&a, epoch_a, 4, 8, batch(0, 4..8)), Accepted::Stale);
    }

    #[test]
    fn flow_control_by_count_bytes_span_and_total() {
        let mut assigned = Assigned::default();
        let q = queue(0);
        let epoch = started(&mut assigned, &q, 0);
        assigned.accept(&q, epoch, 0, 11, batch(0, 0..11));
        assert_eq!(assigned.plan(&q, &LIMITS), Plan::Full(Full::Count(11)));
        assigned.take();
        assert!(matches!(assigned.plan(&q, &LIMITS), Plan::Pull { offset: 11, .. }));

        let big = vec![message(0, 11, &"x".repeat(1001))];
        assigned.accept(&q, epoch, 11, 12, big);
        assert_eq!(assigned.plan(&q, &LIMITS), Plan::Full(Full::Bytes(1001)));
        assigned.take();

        let sparse = vec![message(0, 12, "a"), message(0, 90, "b")];
        assigned.accept(&q, epoch, 12, 91, sparse);
        assert_eq!(assigned.plan(&q, &LIMITS), Plan::Full(Full::Span(78)));
        assigned.take();

        let other = queue(1);
        let epoch_other = started(&mut assigned, &other, 0);
        for start in (0..110).step_by(10) {
            assigned.accept(&other, epoch_other, start, start + 10, batch(1, start..start + 10));
            // Keep `other` under its own limit so that only the total is over.
            if start < 100 {
                let _ = assigned.take();
            }
        }
        let limits = Limits { total: 5, ..LIMITS };
        assert_eq!(assigned.plan(&q, &limits), Plan::Full(Full::Total(10)));
    }

    #[test]
    fn polls_go_round_the_queues_and_skip_paused_ones() {
        let mut assigned = Assigned::default();
        let (a, b) = (queue(0), queue(1));
        let (ea, eb) = (started(&mut assigned, &a, 0), started(&mut assigned, &b, 0));
        assigned.accept(&a, ea, 0, 2, batch(0, 0..2));
        assigned.accept(&a, ea, 2, 4, batch(0, 2..4));
        assigned.accept(&b, eb, 0, 2, batch(1, 0..2));
        assigned.accept(&b, eb, 2, 4, batch(1, 2..4));
        let order: Vec<(i32, i64)> = std::iter::from_fn(|| assigned.take())
            .map(|(q, batch)| (q.queue_id, batch[0].queue_offset))
            .collect();
        assert_eq!(order, vec![(0, 0), (1, 0), (0, 2), (1, 2)]);

        assigned.accept(&a, ea, 4, 6, batch(0, 4..6));
        assigned.accept(&b, eb, 4, 6, batch(1, 4..6));
        assigned.set_paused(std::slice::from_ref(&a), true);
        assert!(assigned.is_paused(&a));
        assert_eq!(assigned.plan(&a, &LIMITS), Plan::Paused);
        assert_eq!(assigned.take().map(|(q, _)| q), Some(b.clone()));
        assert!(assigned.take().is_none(), "a's buffered batch waits for the resume");
        assert_eq!(assigned.commit_offset(&a), Some(4), "and holds its commit offset back");
        let signals_a = assigned.signals().remove(0).1;
        assigned.set_paused(std::slice::from_ref(&a), false);
        assert!(signals_a.interrupt.notified().now_or_never().is_some(), "resume wakes the task");
        assert_eq!(assigned.take().map(|(q, _)| q), Some(a));
    }
}
