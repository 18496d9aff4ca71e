//! `Core`: what every handle, pull task and background task of one lite pull consumer
//! shares — settings, the instance, offsets, subscriptions, the assigned queues and their
//! buffers — with the operations more than one of them needs (start offsets, commits,
//! releasing a queue). The instance reaches it through [`Member`] for heartbeats and
//! notices.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use ferromq_protocol::body::{
    ConsumeType, ConsumerData, MessageModel, MessageQueue, SubscriptionData,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::assigned::{Assigned, Released, Signals};
use super::config::LitePullConsumerConfig;
use super::pull_task;
use crate::consumer::calls;
use crate::consumer::offset_store::OffsetStore;
use crate::consumer::start_offset::{start_from, StartFrom, StoredOffset};
use crate::error::{ClientError, Result};
use crate::instance::{Instance, Member};

/// How the application chose its queues; the two are mutually exclusive, as in RocketMQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    None,
    /// `subscribe`: the group's rebalance decides.
    Subscribe,
    /// `assign`: the application decides.
    Assign,
}

/// The lifecycle of the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Created,
    /// `start` is under way.
    Starting,
    Running,
    Stopped,
}

/// Subscriptions: the topics subscribed (subscribe mode) or the tag expressions of
/// assigned topics (assign mode, `setSubExpressionForAssign`).
#[derive(Debug)]
pub struct Subscriptions {
    pub mode: Mode,
    pub topics: BTreeMap<String, SubscriptionData>,
    pub assign_expressions: BTreeMap<String, String>,
}

/// Application callback for topics whose queues changed.
pub type QueueChangeListener = Arc<dyn Fn(&str, &[MessageQueue]) + Send + Sync>;

/// A registered queue-change listener and the queues last seen.
pub struct Watched {
    pub listener: QueueChangeListener,
    pub queues: Option<Vec<MessageQueue>>,
}

impl std::fmt::Debug for Watched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched").field("queues", &self.queues).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One lite pull consumer's shared state.
#[derive(Debug)]
pub struct Core {
    pub config: LitePullConsumerConfig,
    pub instance: Arc<Instance>,
    pub offsets: OffsetStore,
    /// Lock order: `phase`, then `subscriptions`, then `assigned`.
    pub phase: Mutex<Phase>,
    pub subscriptions: Mutex<Subscriptions>,
    assigned: Mutex<Assigned>,
    watched: Mutex<BTreeMap<String, Watched>>,
    /// Woken (all waiters) when batches become pollable.
    pub arrived: Notify,
    pub rebalance_now: Notify,
    pub stop: CancellationToken,
    pub tasks: TaskTracker,
    next_auto_commit: Mutex<Option<Instant>>,
}

impl Core {
    pub fn new(
        config: LitePullConsumerConfig,
        instance: Arc<Instance>,
        offsets: OffsetStore,
    ) -> Core {
        Core {
            config,
            instance,
            offsets,
            phase: Mutex::new(Phase::Created),
            subscriptions: Mutex::new(Subscriptions {
                mode: Mode::None,
                topics: BTreeMap::new(),
                assign_expressions: BTreeMap::new(),
            }),
            assigned: Mutex::default(),
            watched: Mutex::default(),
            arrived: Notify::new(),
            rebalance_now: Notify::new(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            next_auto_commit: Mutex::default(),
        }
    }

    pub fn group(&self) -> &str {
        &self.config.group
    }

    pub fn is_clustering(&self) -> bool {
        self.config.message_model == MessageModel::Clustering
    }

    pub fn phase(&self) -> MutexGuard<'_, Phase> {
        lock(&self.phase)
    }

    pub fn subscriptions(&self) -> MutexGuard<'_, Subscriptions> {
        lock(&self.subscriptions)
    }

    pub fn assigned(&self) -> MutexGuard<'_, Assigned> {
        lock(&self.assigned)
    }

    pub fn watched(&self) -> MutexGuard<'_, BTreeMap<String, Watched>> {
        lock(&self.watched)
    }

    /// Errs unless the consumer runs (RocketMQ's `checkServiceState`).
    pub fn check_running(&self) -> Result<()> {
        match *self.phase() {
            Phase::Running => Ok(()),
            Phase::Created | Phase::Starting => Err(ClientError::State("not started")),
            Phase::Stopped => Err(ClientError::State("shut down")),
        }
    }

    /// The subscription a queue of `topic` is pulled with.
    pub fn subscription_of(&self, topic: &str) -> Option<SubscriptionData> {
        let subscriptions = self.subscriptions();
        match subscriptions.mode {
            Mode::Subscribe => subscriptions.topics.get(topic).cloned(),
            Mode::Assign | Mode::None => {
                let expression = subscriptions.assign_expressions.get(topic).map(String::as_str);
                Some(SubscriptionData::new(topic, expression.unwrap_or("*")))
            }
        }
    }

    /// The subscribed topics (none in assign mode).
    pub fn topics(&self) -> Vec<String> {
        self.subscriptions().topics.keys().cloned().collect()
    }

    // ---- queues

    /// Assigns `queue` (its pull task not started); `None` if it was assigned already or
    /// the consumer is stopping.
    pub fn add_queue(&self, queue: &MessageQueue) -> Option<Arc<Signals>> {
        let mut assigned = self.assigned();
        if self.stop.is_cancelled() {
            return None;
        }
        assigned.add(queue, &self.stop)
    }

    /// Assigns `queue` and starts its pull task; false if it was assigned already or the
    /// consumer is stopping. Only while running.
    pub fn start_queue(self: &Arc<Self>, queue: &MessageQueue) -> bool {
        match self.add_queue(queue) {
            Some(signals) => {
                self.spawn_pull(queue.clone(), signals);
                true
            }
            None => false,
        }
    }

    pub fn spawn_pull(self: &Arc<Self>, queue: MessageQueue, signals: Arc<Signals>) {
        self.tasks.spawn(pull_task::run(Arc::clone(self), queue, signals));
    }

    /// Commits a released queue's offset (what was polled, with auto-commit; else what the
    /// application committed) and waits for the broker or the file.
    pub async fn release(&self, released: Released) {
        let queue = &released.queue;
        if let (true, Some(offset)) = (self.config.auto_commit, released.commit_offset) {
            self.offsets.update(queue, offset, false);
        }
        if let Err(e) = self.offsets.persist(queue).await {
            tracing::warn!(?queue, error = %e, "offset commit failed; messages may come again");
        }
        if !self.assigned().contains(queue) {
            self.offsets.remove(queue);
        }
        tracing::debug!(?queue, offset = ?released.commit_offset, "queue released");
    }

    /// Releases queues in the background (the caller cannot wait).
    pub fn release_later(self: &Arc<Self>, released: Vec<Released>) {
        if released.is_empty() {
            return;
        }
        let core = Arc::clone(self);
        self.tasks.spawn(async move {
            for one in released {
                core.release(one).await;
            }
        });
    }

    /// Where a newly assigned queue starts: the offset in memory or the store, else as
    /// `consumeFromWhere` says (RocketMQ's `computePullFromWhereWithException`).
    pub async fn start_offset(&self, queue: &MessageQueue) -> Result<i64> {
        let stored = match self.offsets.read_memory(queue) {
            Some(offset) => StoredOffset::Found(offset),
            None => self.offsets.read_store(queue).await?,
        };
        let config = &self.config;
        let offset = match start_from(
            config.consume_from_where,
            config.consume_timestamp_ms(),
            &queue.topic,
            stored,
        ) {
            StartFrom::Offset(offset) => offset,
            StartFrom::MaxOffset => calls::max_offset(&self.instance, queue).await?,
            StartFrom::Timestamp(ms) => calls::search_offset(&self.instance, queue, ms).await?,
        };
        Ok(offset.max(0))
    }

    // ---- commits

    /// Records in memory what was polled from every assigned queue; the periodic persist,
    /// a commit or shutdown sends it. Returns the queues recorded.
    pub fn commit_polled(&self) -> Vec<MessageQueue> {
        let assigned = self.assigned();
        let offsets = assigned.commit_offsets();
        for (queue, offset) in &offsets {
            self.offsets.update(queue, *offset, false);
        }
        offsets.into_iter().map(|(q, _)| q).collect()
    }

    /// With auto-commit, records the polled offsets once `autoCommitIntervalMillis` has passed
    /// since the last time (RocketMQ's `maybeAutoCommit`, run at each poll).
    pub fn maybe_auto_commit(&self) {
        if !self.config.auto_commit {
            return;
        }
        let now = Instant::now();
        {
            let mut next = lock(&self.next_auto_commit);
            if next.is_some_and(|at| now < at) {
                return;
            }
            *next = Some(now + self.config.auto_commit_interval);
        }
        self.commit_polled();
    }

    /// Records `offsets` of assigned queues in memory (others are ignored, as RocketMQ
    /// does); returns the queues recorded.
    pub fn commit_offsets(
        &self,
        offsets: impl IntoIterator<Item = (MessageQueue, i64)>,
    ) -> Vec<MessageQueue> {
        let assigned = self.assigned();
        let mut recorded = Vec::new();
        for (queue, offset) in offsets {
            if offset < 0 {
                tracing::warn!(?queue, offset, "negative offset not committed");
                continue;
            }
            if assigned.contains(&queue) {
                self.offsets.update(&queue, offset, false);
                recorded.push(queue);
            } else {
                tracing::debug!(?queue, "not assigned; offset not committed");
            }
        }
        recorded
    }

    // ---- heartbeats

    /// Sends a heartbeat now unless one was forced less than a second ago.
    pub fn heartbeat_soon(&self) {
        self.instance.heartbeat_soon();
    }

    /// Sleeps `pause` unless the consumer stops or `also` is cancelled first; false if so.
    pub async fn pause(&self, pause: Duration, also: &CancellationToken) -> bool {
        tokio::select! {
            _ = self.stop.cancelled() => false,
            _ = also.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }
}

impl Member for Core {
    /// The group as the broker lists it: pulled actively (`CONSUME_ACTIVELY`), with the
    /// subscriptions of subscribe mode (none in assign mode).
    fn consumer_data(&self) -> ConsumerData {
        let subscriptions = self.subscriptions();
        ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: ConsumeType::ConsumeActively,
            message_model: self.config.message_model,
            consume_from_where: self.config.consume_from_where,
            subscription_data_set: subscriptions.topics.values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn consumer_ids_changed(&self) {
        self.rebalance_now.notify_one();
    }

    /// An administrator moved the group's offsets (the broker committed them already): the
    /// queues this member holds continue from there, as after a seek.
    fn reset_offsets(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        let mut assigned = self.assigned();
        for (queue, offset) in offsets.into_iter().filter(|(q, _)| q.topic == topic) {
            if assigned.seek(&queue, offset) {
                tracing::info!(?queue, offset, "offset reset by an administrator");
                self.offsets.update(&queue, offset, false);
            }
        }
    }
}
