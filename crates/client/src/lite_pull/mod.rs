//! The lite pull consumer: the application asks for messages — RocketMQ's
//! `DefaultLitePullConsumer`. Either [`subscribe`](LitePullConsumer::subscribe) to topics
//! and let the group's rebalance share their queues, or [`assign`](LitePullConsumer::assign)
//! queues yourself. Each queue is long-polled in the background into a bounded buffer;
//! [`poll`](LitePullConsumer::poll) hands out one pulled batch at a time; offsets are
//! committed automatically (what earlier polls returned) or by the application, to the
//! brokers (clustering) or a local file (broadcasting).
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | `LitePullConsumerConfig` and its defaults |
//! | `assigned` | assigned queues, buffers, pause flags and seek epochs (pure) |
//! | `core` | the state the handle and the tasks share; commits, start offsets |
//! | `request` | the LITE_PULL_MESSAGE request |
//! | `pull_task` | one queue's pull task |
//! | `rebalance` | subscribe mode's rebalance |
//! | `queue_watch` | fetching a topic's queues; queue-change listeners |

mod assigned;
pub mod config;
mod core;
mod pull_task;
mod queue_watch;
mod rebalance;
mod request;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::body::{MessageModel, MessageQueue, SubscriptionData};
use ferromq_protocol::topic;

pub use config::LitePullConsumerConfig;

use self::core::{Core, Mode, Phase, Subscriptions, Watched};
use crate::consumer::calls;
use crate::consumer::offset_store::local::LocalOffsetStore;
use crate::consumer::offset_store::remote::RemoteOffsetStore;
use crate::consumer::offset_store::OffsetStore;
use crate::consumer::start_offset::StoredOffset;
use crate::consumer::DEFAULT_INSTANCE_NAME;
use crate::error::{ClientError, Result};
use crate::instance::{Instance, Member};
use crate::message::MessageExt;

/// How long shutdown waits for background work (commits of released queues, say).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

/// A lite pull consumer. Cheap to clone; clones share the consumer. Once started it pulls
/// until [`LitePullConsumer::shutdown`]; dropping the handles does not stop it.
#[derive(Clone)]
pub struct LitePullConsumer {
    core: Arc<Core>,
}

impl std::fmt::Debug for LitePullConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LitePullConsumer")
            .field("group", &self.core.config.group)
            .field("client_id", &self.core.instance.client_id)
            .finish_non_exhaustive()
    }
}

/// Switches the subscription mode, refusing to mix `subscribe` and `assign`.
fn set_mode(subscriptions: &mut Subscriptions, mode: Mode) -> Result<()> {
    match subscriptions.mode {
        Mode::None => {
            subscriptions.mode = mode;
            Ok(())
        }
        current if current == mode => Ok(()),
        Mode::Assign => {
            Err(ClientError::State("using assign(); subscribe and assign are mutually exclusive"))
        }
        Mode::Subscribe => Err(ClientError::State(
            "using subscribe(); subscribe and assign are mutually exclusive",
        )),
    }
}

impl LitePullConsumer {
    /// A consumer with these settings; subscribe or assign, then start it.
    pub fn new(config: LitePullConsumerConfig) -> Result<LitePullConsumer> {
        config.validate()?;
        let mut client = config.client.clone();
        let broadcasting = config.message_model == MessageModel::Broadcasting;
        if broadcasting && client.instance_name.is_empty() {
            client.instance_name = DEFAULT_INSTANCE_NAME.into();
        }
        let instance = Instance::new(client)?;
        let offsets = if broadcasting {
            let dir = &config.offset_store_dir;
            OffsetStore::Local(LocalOffsetStore::new(dir, &instance.client_id, &config.group))
        } else {
            OffsetStore::Remote(RemoteOffsetStore::new(Arc::clone(&instance), &config.group))
        };
        Ok(LitePullConsumer { core: Arc::new(Core::new(config, instance, offsets)) })
    }

    /// The consumer's settings.
    pub fn config(&self) -> &LitePullConsumerConfig {
        &self.core.config
    }

    /// This client's id as brokers see it.
    pub fn client_id(&self) -> &str {
        &self.core.instance.client_id
    }

    /// Whether the consumer has started and not shut down.
    pub fn is_running(&self) -> bool {
        *self.core.phase() == Phase::Running
    }

    // ---- choosing queues

    /// Subscribes to `topic`'s messages whose tag matches `expression` (`*` for all, or
    /// `TagA || TagB`); the group's rebalance decides which of its queues this member
    /// reads. Allowed before and after start; a new expression replaces the old. Fails if
    /// queues were [`assign`](Self::assign)ed.
    pub fn subscribe(&self, topic_name: &str, expression: &str) -> Result<()> {
        topic::validate_topic(topic_name)
            .map_err(|e| ClientError::Config(format!("topic {topic_name:?}: {e}")))?;
        let core = &self.core;
        let phase = *core.phase();
        if phase == Phase::Stopped {
            return Err(ClientError::State("shut down"));
        }
        {
            let mut subscriptions = core.subscriptions();
            set_mode(&mut subscriptions, Mode::Subscribe)?;
            let subscription = SubscriptionData::new(topic_name, expression);
            subscriptions.topics.insert(topic_name.to_string(), subscription);
        }
        if phase == Phase::Running {
            let instance = Arc::clone(&core.instance);
            core.tasks.spawn(async move { instance.heartbeat().await });
            core.rebalance_now.notify_one();
        }
        Ok(())
    }

    /// Stops reading `topic`: its queues are released (polled offsets committed).
    pub fn unsubscribe(&self, topic_name: &str) {
        let core = &self.core;
        let running = *core.phase() == Phase::Running;
        let released = {
            let mut subscriptions = core.subscriptions();
            subscriptions.topics.remove(topic_name);
            core.assigned().remove_where(|q| q.topic == topic_name)
        };
        if running {
            core.release_later(released);
            let instance = Arc::clone(&core.instance);
            core.tasks.spawn(async move { instance.heartbeat().await });
        }
    }

    /// Reads exactly `queues` (replacing any assigned before), without rebalancing; queues
    /// dropped from the assignment are released. Allowed before and after start; fails if
    /// topics were [`subscribe`](Self::subscribe)d. Find a topic's queues with
    /// [`fetch_message_queues`](Self::fetch_message_queues).
    pub fn assign(&self, queues: impl IntoIterator<Item = MessageQueue>) -> Result<()> {
        let queues: BTreeSet<MessageQueue> = queues.into_iter().collect();
        if queues.is_empty() {
            return Err(ClientError::InvalidArgument("no message queue to assign".into()));
        }
        let core = &self.core;
        let phase = core.phase();
        if *phase == Phase::Stopped {
            return Err(ClientError::State("shut down"));
        }
        set_mode(&mut core.subscriptions(), Mode::Assign)?;
        let released = core.assigned().remove_where(|q| !queues.contains(q));
        if *phase == Phase::Running {
            for queue in &queues {
                core.start_queue(queue);
            }
            core.release_later(released);
        } else {
            // Their pull tasks start with the consumer.
            for queue in &queues {
                core.add_queue(queue);
            }
        }
        Ok(())
    }

    /// The tag expression assigned queues of `topic` are pulled with (`*` unless set).
    /// Only before start (`setSubExpressionForAssign`).
    pub fn set_sub_expression_for_assign(&self, topic_name: &str, expression: &str) -> Result<()> {
        if expression.trim().is_empty() {
            return Err(ClientError::InvalidArgument("empty sub expression".into()));
        }
        if *self.core.phase() != Phase::Created {
            return Err(ClientError::State("started; set the expression before start"));
        }
        let mut subscriptions = self.core.subscriptions();
        set_mode(&mut subscriptions, Mode::Assign)?;
        subscriptions.assign_expressions.insert(topic_name.to_string(), expression.to_string());
        Ok(())
    }

    /// The queues this consumer reads now.
    pub fn assignment(&self) -> Vec<MessageQueue> {
        self.core.assigned().queues()
    }

    /// `topic`'s readable queues, from the name servers (`fetchMessageQueues`).
    pub async fn fetch_message_queues(&self, topic_name: &str) -> Result<Vec<MessageQueue>> {
        if *self.core.phase() == Phase::Stopped {
            return Err(ClientError::State("shut down"));
        }
        queue_watch::fetch_queues(&self.core.instance, topic_name).await
    }

    /// Calls `listener` with `topic`'s queues whenever they change (the topic grew or
    /// shrank), checked every `topic_metadata_check_interval`
    /// (`registerTopicMessageQueueChangeListener`). A listener registered again replaces the
    /// old one.
    pub async fn register_topic_message_queue_change_listener(
        &self,
        topic_name: &str,
        listener: impl Fn(&str, &[MessageQueue]) + Send + Sync + 'static,
    ) -> Result<()> {
        let running = match *self.core.phase() {
            Phase::Stopped => return Err(ClientError::State("shut down")),
            phase => phase == Phase::Running,
        };
        let queues = if running {
            Some(queue_watch::fetch_queues(&self.core.instance, topic_name).await?)
        } else {
            None
        };
        let watched = Watched { listener: Arc::new(listener), queues };
        if self.core.watched().insert(topic_name.to_string(), watched).is_some() {
            tracing::warn!(topic = topic_name, "queue-change listener replaced");
        }
        Ok(())
    }

    // ---- lifecycle

    /// Starts: joins the group on every broker, then pulls the assigned queues or
    /// rebalances the subscribed topics.
    pub async fn start(&self) -> Result<()> {
        let core = &self.core;
        match std::mem::replace(&mut *core.phase(), Phase::Starting) {
            Phase::Created => {}
            Phase::Starting | Phase::Running => {
                *core.phase() = Phase::Running;
                return Err(ClientError::State("already started"));
            }
            Phase::Stopped => {
                *core.phase() = Phase::Stopped;
                return Err(ClientError::State("shut down"));
            }
        }
        if let OffsetStore::Local(store) = &core.offsets {
            if let Err(e) = store.load().await {
                *core.phase() = Phase::Created;
                return Err(e);
            }
            tracing::debug!(path = %store.path().display(), "broadcasting offsets file");
        }
        let instance = &core.instance;
        instance.add_member(core.group(), Arc::clone(core) as Arc<dyn Member>);
        instance.start();
        let mut topics: BTreeSet<String> = core.topics().into_iter().collect();
        topics.extend(core.assigned().queues().into_iter().map(|q| q.topic));
        topics.extend(core.watched().keys().cloned());
        for topic_name in &topics {
            if let Err(e) = instance.update_route(topic_name).await {
                tracing::debug!(topic = %topic_name, error = %e, "route lookup failed at start");
            }
        }
        instance.heartbeat().await;
        let watched: Vec<String> = core.watched().keys().cloned().collect();
        for topic_name in watched {
            if let Ok(queues) = queue_watch::fetch_queues(instance, &topic_name).await {
                if let Some(entry) = core.watched().get_mut(&topic_name) {
                    entry.queues.get_or_insert(queues);
                }
            }
        }
        let stopped_meanwhile = {
            let mut phase = core.phase();
            let stopped = *phase != Phase::Starting;
            if !stopped {
                *phase = Phase::Running;
                for (queue, signals) in core.assigned().signals() {
                    core.spawn_pull(queue, signals);
                }
            }
            stopped
        };
        if stopped_meanwhile {
            // `shutdown` came while starting: undo what was started.
            core.stop.cancel();
            instance.shutdown().await;
            return Err(ClientError::State("shut down"));
        }
        core.tasks.spawn(rebalance::run(Arc::clone(core)));
        core.tasks.spawn(persist_offsets(Arc::clone(core)));
        core.tasks.spawn(queue_watch::run(Arc::clone(core)));
        tracing::info!(group = core.group(), client_id = %instance.client_id, "lite pull consumer started");
        Ok(())
    }

    /// Stops without losing anything: pulling stops, what was polled is committed (with
    /// auto-commit; otherwise what the application committed) and waited for, and the
    /// client leaves the group on every broker. Buffered messages not polled yet are read
    /// again by whoever takes the queues next.
    pub async fn shutdown(&self) {
        let core = &self.core;
        let was = std::mem::replace(&mut *core.phase(), Phase::Stopped);
        if was != Phase::Running {
            return;
        }
        core.stop.cancel();
        let released = core.assigned().remove_where(|_| true);
        let queues: Vec<MessageQueue> = released.iter().map(|r| r.queue.clone()).collect();
        if core.config.auto_commit {
            for one in &released {
                if let Some(offset) = one.commit_offset {
                    core.offsets.update(&one.queue, offset, false);
                }
            }
        }
        if let Err(e) = core.offsets.persist_all(&queues, false).await {
            tracing::warn!(group = core.group(), error = %e, "offset commit at shutdown failed");
        }
        core.tasks.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, core.tasks.wait()).await.is_err() {
            tracing::warn!(group = core.group(), "background tasks still running at shutdown");
        }
        core.instance.shutdown().await;
        tracing::info!(group = core.group(), "lite pull consumer shut down");
    }

    // ---- reading

    /// The next pulled batch (at most `pullBatchSize` messages of one queue, in queue
    /// order), waiting up to `timeout` for one; empty if none came. Queues take turns.
    /// With auto-commit, what earlier polls returned is committed first once
    /// `auto_commit_interval` has passed. `config().poll_timeout` is RocketMQ's default
    /// timeout.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<MessageExt>> {
        let core = &self.core;
        core.check_running()?;
        core.maybe_auto_commit();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Made before looking, so an arrival in between still wakes this poll.
            let arrived = core.arrived.notified();
            if let Some((_, batch)) = core.assigned().take() {
                return Ok(batch);
            }
            tokio::select! {
                _ = arrived => {}
                _ = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
                _ = core.stop.cancelled() => return Ok(Vec::new()),
            }
        }
    }

    /// Stops pulling `queues` and holds back what they buffered until they are resumed.
    /// (RocketMQ keeps handing out what a paused queue buffered; FerroMQ stops at once.)
    /// Unassigned queues are ignored.
    pub fn pause(&self, queues: &[MessageQueue]) {
        self.core.assigned().set_paused(queues, true);
    }

    /// Resumes paused `queues`.
    pub fn resume(&self, queues: &[MessageQueue]) {
        self.core.assigned().set_paused(queues, false);
        self.core.arrived.notify_waiters();
    }

    /// Whether `queue` is assigned and paused.
    pub fn is_paused(&self, queue: &MessageQueue) -> bool {
        self.core.assigned().is_paused(queue)
    }

    /// Reads `queue` from `offset` on: what it buffered and pulls under way are dropped. The
    /// offset must lie in the queue's [min, max] offsets and the queue must be assigned.
    pub async fn seek(&self, queue: &MessageQueue, offset: i64) -> Result<()> {
        let core = &self.core;
        core.check_running()?;
        self.check_assigned(queue)?;
        let min = calls::min_offset(&core.instance, queue).await?;
        let max = calls::max_offset(&core.instance, queue).await?;
        if offset < min || offset > max {
            return Err(ClientError::InvalidArgument(format!(
                "seek offset {offset} is outside the queue's offsets [{min}, {max}]"
            )));
        }
        self.seek_unchecked(queue, offset)
    }

    /// Reads `queue` from its first stored message.
    pub async fn seek_to_begin(&self, queue: &MessageQueue) -> Result<()> {
        self.core.check_running()?;
        self.check_assigned(queue)?;
        let min = calls::min_offset(&self.core.instance, queue).await?;
        self.seek_unchecked(queue, min)
    }

    /// Reads `queue` from the next message sent.
    pub async fn seek_to_end(&self, queue: &MessageQueue) -> Result<()> {
        self.core.check_running()?;
        self.check_assigned(queue)?;
        let max = calls::max_offset(&self.core.instance, queue).await?;
        self.seek_unchecked(queue, max)
    }

    fn check_assigned(&self, queue: &MessageQueue) -> Result<()> {
        if self.core.assigned().contains(queue) {
            return Ok(());
        }
        let rebalancing = self.core.subscriptions().mode == Mode::Subscribe;
        let hint = if rebalancing { " (it may be rebalancing)" } else { "" };
        Err(ClientError::InvalidArgument(format!("queue {queue:?} is not assigned{hint}")))
    }

    fn seek_unchecked(&self, queue: &MessageQueue, offset: i64) -> Result<()> {
        if !self.core.assigned().seek(queue, offset) {
            return self.check_assigned(queue);
        }
        tracing::debug!(?queue, offset, "sought");
        Ok(())
    }

    /// The first offset stored at or after `timestamp_ms` (`offsetForTimestamp`).
    pub async fn offset_for_timestamp(
        &self,
        queue: &MessageQueue,
        timestamp_ms: i64,
    ) -> Result<i64> {
        self.core.check_running()?;
        calls::search_offset(&self.core.instance, queue, timestamp_ms).await
    }

    // ---- offsets

    /// The group's committed offset of `queue`: this client's latest commit, else the
    /// broker's (or the local file's); `None` if the group never committed one.
    pub async fn committed(&self, queue: &MessageQueue) -> Result<Option<i64>> {
        let core = &self.core;
        core.check_running()?;
        if let Some(offset) = core.offsets.read_memory(queue) {
            return Ok(Some(offset));
        }
        Ok(match core.offsets.read_store(queue).await? {
            StoredOffset::Found(offset) => Some(offset),
            StoredOffset::NotFound => None,
        })
    }

    /// Commits what `poll` returned from every assigned queue and waits until the brokers
    /// (or the local file) have it.
    pub async fn commit_sync(&self) -> Result<()> {
        let core = &self.core;
        core.check_running()?;
        let queues = core.commit_polled();
        core.offsets.persist_all(&queues, false).await
    }

    /// Commits these offsets (the next offset to read, per queue) of assigned queues; others
    /// are ignored. With `persist` it waits until the brokers (or the file) have them,
    /// otherwise they go with the next periodic commit.
    pub async fn commit(
        &self,
        offsets: impl IntoIterator<Item = (MessageQueue, i64)>,
        persist: bool,
    ) -> Result<()> {
        let core = &self.core;
        core.check_running()?;
        let queues = core.commit_offsets(offsets);
        if persist {
            core.offsets.persist_all(&queues, false).await?;
        }
        Ok(())
    }

    /// What is buffered (pulled, not polled) per assigned queue: messages and body bytes.
    pub fn buffered(&self) -> BTreeMap<MessageQueue, (usize, usize)> {
        let assigned = self.core.assigned();
        assigned
            .queues()
            .into_iter()
            .map(|q| {
                let b = assigned.buffered(&q);
                (q, b)
            })
            .collect()
    }
}

/// Sends the offsets held in memory every `persistConsumerOffsetInterval` until the
/// consumer stops.
async fn persist_offsets(core: Arc<Core>) {
    loop {
        tokio::select! {
            _ = core.stop.cancelled() => return,
            _ = tokio::time::sleep(core.instance.config.persist_consumer_offset_interval) => {}
        }
        let queues = core.assigned().queues();
        if let Err(e) = core.offsets.persist_all(&queues, true).await {
            tracing::debug!(group = core.group(), error = %e, "offset commit failed");
        }
    }
}
