//! `GroupMember`: this client's membership in a consumer group while the push consumer
//! runs — its subscriptions, its assigned queues and their caches, its offsets, the
//! listener, and the background work (rebalancing, offset commits, order-lock renewal).
//! The instance reaches it through the [`Member`] trait for heartbeats and notices.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use ferromq_protocol::body::{
    ConsumeType, ConsumerData, MessageModel, MessageQueue, SubscriptionData,
};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::PushConsumerConfig;
use super::listener::MessageListener;
use super::offset_store::OffsetStore;
use super::process_queue::{ProcessQueue, Thresholds};
use crate::instance::{Instance, Member};
use crate::producer::Producer;

/// How long to wait before pulling again after an error (`pullTimeDelayMillsWhenException`).
pub const PULL_DELAY_ON_ERROR: Duration = Duration::from_secs(3);
/// How long to wait before re-checking a queue whose cache is full
/// (`PULL_TIME_DELAY_MILLS_WHEN_CACHE_FLOW_CONTROL`).
pub const PULL_DELAY_ON_FLOW_CONTROL: Duration = Duration::from_millis(50);
/// One assigned queue being pulled and consumed.
#[derive(Debug, Clone)]
pub struct QueueRun {
    pub queue: MessageQueue,
    pub pq: Arc<ProcessQueue>,
    /// Cancelled when the queue is given up: its pull loop and consumers stop.
    pub stop: CancellationToken,
}

/// This client as a member of one consumer group.
pub struct GroupMember {
    pub config: PushConsumerConfig,
    pub instance: Arc<Instance>,
    pub listener: MessageListener,
    pub offsets: OffsetStore,
    /// Sends failed messages to the retry topic when the broker cannot take them back.
    pub retry_producer: Producer,
    subscriptions: RwLock<BTreeMap<String, SubscriptionData>>,
    queues: Mutex<BTreeMap<MessageQueue, QueueRun>>,
    /// Queues given up whose last listener calls and offset commit are not done yet.
    draining: Mutex<BTreeSet<MessageQueue>>,
    /// Where released queues start when taken again, after their offset was moved (reset by
    /// an administrator, or out of range): this client's word, not the broker's, since a
    /// pull held by the broker may still commit the old offset there.
    pinned: Mutex<BTreeMap<MessageQueue, i64>>,
    /// Listener calls allowed at once (`consumeThreadMax`).
    pub consume_slots: Semaphore,
    pub rebalance_now: Notify,
    pub stop: CancellationToken,
    pub tasks: TaskTracker,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("group", &self.config.group)
            .field("client_id", &self.instance.client_id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GroupMember {
    pub fn new(
        config: PushConsumerConfig,
        instance: Arc<Instance>,
        listener: MessageListener,
        offsets: OffsetStore,
        retry_producer: Producer,
        subscriptions: BTreeMap<String, SubscriptionData>,
    ) -> GroupMember {
        GroupMember {
            consume_slots: Semaphore::new(config.consume_thread_max),
            config,
            instance,
            listener,
            offsets,
            retry_producer,
            subscriptions: RwLock::new(subscriptions),
            queues: Mutex::default(),
            draining: Mutex::default(),
            pinned: Mutex::default(),
            rebalance_now: Notify::new(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub fn group(&self) -> &str {
        &self.config.group
    }

    pub fn is_clustering(&self) -> bool {
        self.config.message_model == MessageModel::Clustering
    }

    pub fn is_orderly(&self) -> bool {
        self.listener.is_orderly()
    }

    /// Orderly consumption in clustering mode needs the brokers' order locks.
    pub fn needs_locks(&self) -> bool {
        self.is_orderly() && self.is_clustering()
    }

    /// The cache limits of each queue.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            count: self.config.pull_threshold_for_queue,
            bytes: self.config.pull_threshold_size_for_queue.saturating_mul(1 << 20),
            span: (!self.is_orderly()).then_some(self.config.consume_concurrently_max_span),
        }
    }

    // ---- subscriptions

    pub fn subscription(&self, topic: &str) -> Option<SubscriptionData> {
        self.subscriptions.read().unwrap_or_else(PoisonError::into_inner).get(topic).cloned()
    }

    pub fn topics(&self) -> Vec<String> {
        self.subscriptions.read().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect()
    }

    pub fn set_subscription(&self, subscription: SubscriptionData) {
        let mut subscriptions = self.subscriptions.write().unwrap_or_else(PoisonError::into_inner);
        subscriptions.insert(subscription.topic.clone(), subscription);
    }

    pub fn remove_subscription(&self, topic: &str) {
        self.subscriptions.write().unwrap_or_else(PoisonError::into_inner).remove(topic);
    }

    // ---- assigned queues

    pub fn assigned(&self) -> Vec<MessageQueue> {
        lock(&self.queues).keys().cloned().collect()
    }

    pub fn run_of(&self, queue: &MessageQueue) -> Option<QueueRun> {
        lock(&self.queues).get(queue).cloned()
    }

    pub fn is_draining(&self, queue: &MessageQueue) -> bool {
        lock(&self.draining).contains(queue)
    }

    /// Records a newly started queue; false (nothing recorded) once the member is stopping,
    /// so shutdown, which takes every queue after stopping, cannot miss one.
    pub fn insert_run(&self, run: QueueRun) -> bool {
        let mut queues = lock(&self.queues);
        if self.stop.is_cancelled() {
            return false;
        }
        queues.insert(run.queue.clone(), run);
        true
    }

    /// Takes `queue` out of the assigned set (if `run` is still the one running it) and
    /// marks it draining; the caller then releases it.
    pub fn take_run(&self, queue: &MessageQueue, run: Option<&QueueRun>) -> Option<QueueRun> {
        let mut queues = lock(&self.queues);
        let current = queues.get(queue)?;
        if run.is_some_and(|r| !Arc::ptr_eq(&r.pq, &current.pq)) {
            return None;
        }
        let taken = queues.remove(queue)?;
        lock(&self.draining).insert(queue.clone());
        Some(taken)
    }

    /// Takes every queue out (at shutdown, after `stop` is cancelled), marking them draining.
    pub fn take_all_runs(&self) -> Vec<QueueRun> {
        let taken: Vec<QueueRun> = std::mem::take(&mut *lock(&self.queues)).into_values().collect();
        lock(&self.draining).extend(taken.iter().map(|r| r.queue.clone()));
        taken
    }

    /// Makes `queue` start at `offset` the next time it is taken.
    pub fn pin_start(&self, queue: &MessageQueue, offset: i64) {
        lock(&self.pinned).insert(queue.clone(), offset);
    }

    /// The pinned start of `queue`, forgotten once read.
    pub fn take_pinned(&self, queue: &MessageQueue) -> Option<i64> {
        lock(&self.pinned).remove(queue)
    }

    /// Forgets pins of `topic`'s queues that went to other members.
    pub fn unpin_except(&self, topic: &str, mine: &BTreeSet<MessageQueue>) {
        lock(&self.pinned).retain(|q, _| q.topic != topic || mine.contains(q));
    }

    pub fn finish_draining(&self, queue: &MessageQueue) {
        lock(&self.draining).remove(queue);
    }

    /// Sends a heartbeat now unless one was forced less than a second ago (a broker that
    /// restarted has forgotten the group's subscriptions until it gets one).
    pub fn heartbeat_soon(self: &Arc<Self>) {
        self.instance.heartbeat_soon();
    }

    /// Sleeps `pause` unless the member stops or `also` is cancelled first; false if so.
    pub async fn pause(&self, pause: Duration, also: &CancellationToken) -> bool {
        tokio::select! {
            _ = self.stop.cancelled() => false,
            _ = also.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }
}

impl Member for GroupMember {
    fn consumer_data(&self) -> ConsumerData {
        let subscriptions = self.subscriptions.read().unwrap_or_else(PoisonError::into_inner);
        ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: self.config.message_model,
            consume_from_where: self.config.consume_from_where,
            subscription_data_set: subscriptions.values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn consumer_ids_changed(&self) {
        self.rebalance_now.notify_one();
    }

    /// RocketMQ's `resetOffset`: each running queue of `topic` in the table is released with
    /// the new offset committed (what it cached is dropped), and the rebalance that follows
    /// starts it again from there.
    fn reset_offsets(self: Arc<Self>, topic: &str, offsets: BTreeMap<MessageQueue, i64>) {
        for (queue, offset) in offsets.into_iter().filter(|(q, _)| q.topic == topic) {
            if let Some(run) = self.run_of(&queue) {
                tracing::info!(?queue, offset, "offset reset by an administrator");
                super::rebalance::release_later(&self, &queue, Some((offset, &run)));
            }
        }
    }
}
