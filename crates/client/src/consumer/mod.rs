//! The push consumer: subscribe to topics, register a listener, and messages arrive —
//! RocketMQ's `DefaultMQPushConsumer`. The group's queues are rebalanced among its members,
//! each assigned queue is long-polled into a bounded cache, the listener is called
//! concurrently or in order, failed messages are sent back for retry, and offsets are
//! committed to the brokers (clustering) or a local file (broadcasting).
//!
//! | module | owns |
//! |---|---|
//! | [`config`] | `PushConsumerConfig` and its defaults |
//! | [`listener`] | listener traits, statuses, closures as listeners |
//! | [`allocate`] | the queue allocation strategies (pure) |
//! | `start_offset` | where a new queue starts (`computePullFromWhere`, pure) |
//! | `process_queue` | one queue's cache: flow control, commit offset, orderly batches |
//! | `offset_store` | offsets in memory, on brokers or in a local file |
//! | `pull` | the PULL_MESSAGE request and the decoded answer |
//! | `calls` | the other broker requests (members, offsets, locks, send-back) |
//! | `group` | the running member's shared state and its `Member` face |
//! | `rebalance` | the rebalance loop; starting and releasing queues |
//! | `pull_loop` | one queue's pull loop |
//! | `concurrently`, `orderly` | the two ways of calling the listener |
//! | `send_back` | retrying failed messages through the broker |
//! | `order_lock` | order locks: take, renew, release |

pub mod allocate;
pub(crate) mod calls;
mod concurrently;
pub mod config;
mod group;
pub mod listener;
pub(crate) mod offset_store;
mod order_lock;
mod orderly;
mod process_queue;
pub(crate) mod pull;
mod pull_loop;
mod rebalance;
mod send_back;
pub(crate) mod start_offset;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ferromq_protocol::body::{MessageModel, MessageQueue, SubscriptionData};
use ferromq_protocol::topic;

pub use allocate::{AllocateStrategy, MachineRoomResolver, DEFAULT_VIRTUAL_NODES};
pub use config::{ConsumeFromWhere, PushConsumerConfig};
pub use listener::{
    ConsumeConcurrentlyStatus, ConsumeContext, ConsumeFuture, ConsumeOrderlyStatus,
    MessageListener, MessageListenerConcurrently, MessageListenerOrderly,
};

use crate::error::{ClientError, Result};
use crate::instance::Instance;
use crate::producer::{Producer, ProducerConfig};
use group::GroupMember;
use offset_store::local::LocalOffsetStore;
use offset_store::remote::RemoteOffsetStore;
use offset_store::OffsetStore;

/// The producer group of the producer consumers re-send failed messages with.
pub const INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";
/// The instance name broadcasting consumers use when none is set, as RocketMQ does, so the
/// local offsets folder is the same after a restart.
pub(crate) const DEFAULT_INSTANCE_NAME: &str = "DEFAULT";

enum Phase {
    Created { subscriptions: BTreeMap<String, SubscriptionData>, listener: Option<MessageListener> },
    Running(Arc<GroupMember>),
    Stopped,
}

/// A push consumer. Cheap to clone; clones share the consumer. Once started it consumes
/// until [`PushConsumer::shutdown`]; dropping the handles does not stop it.
#[derive(Clone)]
pub struct PushConsumer {
    config: Arc<PushConsumerConfig>,
    phase: Arc<Mutex<Phase>>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer").field("group", &self.config.group).finish_non_exhaustive()
    }
}

impl PushConsumer {
    /// A consumer with these settings; subscribe, register a listener, then start it.
    pub fn new(config: PushConsumerConfig) -> Result<PushConsumer> {
        config.validate()?;
        let phase = Phase::Created { subscriptions: BTreeMap::new(), listener: None };
        Ok(PushConsumer { config: Arc::new(config), phase: Arc::new(Mutex::new(phase)) })
    }

    /// The consumer's settings.
    pub fn config(&self) -> &PushConsumerConfig {
        &self.config
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes to `topic`'s messages whose tag matches `expression` (`*` for all, or
    /// `TagA || TagB`). Allowed before and after start; a new expression replaces the old.
    pub fn subscribe(&self, topic_name: &str, expression: &str) -> Result<()> {
        topic::validate_topic(topic_name)
            .map_err(|e| ClientError::Config(format!("topic {topic_name:?}: {e}")))?;
        let subscription = SubscriptionData::new(topic_name, expression);
        let member = match &mut *self.phase() {
            Phase::Created { subscriptions, .. } => {
                subscriptions.insert(topic_name.to_string(), subscription);
                return Ok(());
            }
            Phase::Running(member) => Arc::clone(member),
            Phase::Stopped => return Err(ClientError::State("shut down")),
        };
        member.set_subscription(subscription);
        member.heartbeat_soon();
        member.rebalance_now.notify_one();
        Ok(())
    }

    /// Stops consuming `topic`.
    pub fn unsubscribe(&self, topic_name: &str) {
        let member = match &mut *self.phase() {
            Phase::Created { subscriptions, .. } => {
                subscriptions.remove(topic_name);
                return;
            }
            Phase::Running(member) => Arc::clone(member),
            Phase::Stopped => return,
        };
        member.remove_subscription(topic_name);
        member.heartbeat_soon();
        member.rebalance_now.notify_one();
    }

    /// Sets the listener (before start).
    pub fn register_message_listener(&self, listener: MessageListener) -> Result<()> {
        match &mut *self.phase() {
            Phase::Created { listener: slot, .. } => {
                *slot = Some(listener);
                Ok(())
            }
            _ => Err(ClientError::State("started; the listener cannot change")),
        }
    }

    /// Starts consuming: joins the group on every broker, rebalances, and pulls.
    pub async fn start(&self) -> Result<()> {
        let (subscriptions, listener) = match &mut *self.phase() {
            Phase::Created { subscriptions, listener } => {
                let listener = listener.take().ok_or_else(|| {
                    ClientError::Config("register a message listener before starting".into())
                })?;
                (std::mem::take(subscriptions), listener)
            }
            Phase::Running(_) => return Err(ClientError::State("already started")),
            Phase::Stopped => return Err(ClientError::State("shut down")),
        };
        let member = match self.launch(subscriptions.clone(), listener.clone()).await {
            Ok(member) => member,
            Err(e) => {
                *self.phase() = Phase::Created { subscriptions, listener: Some(listener) };
                return Err(e);
            }
        };
        *self.phase() = Phase::Running(member);
        Ok(())
    }

    async fn launch(
        &self,
        mut subscriptions: BTreeMap<String, SubscriptionData>,
        listener: MessageListener,
    ) -> Result<Arc<GroupMember>> {
        let config = (*self.config).clone();
        let mut client = config.client.clone();
        let broadcasting = config.message_model == MessageModel::Broadcasting;
        if broadcasting && client.instance_name.is_empty() {
            client.instance_name = DEFAULT_INSTANCE_NAME.into();
        }
        let instance = Instance::new(client)?;
        let offsets = if broadcasting {
            let store =
                LocalOffsetStore::new(&config.offset_store_dir, &instance.client_id, &config.group);
            store.load().await?;
            tracing::debug!(path = %store.path().display(), "broadcasting offsets file");
            OffsetStore::Local(store)
        } else {
            let retry = topic::retry_topic(&config.group);
            subscriptions.insert(retry.clone(), SubscriptionData::new(retry, "*"));
            OffsetStore::Remote(RemoteOffsetStore::new(Arc::clone(&instance), &config.group))
        };
        let mut producer_config =
            ProducerConfig::new(INNER_PRODUCER_GROUP, &config.client.namesrv_addr);
        producer_config.client = config.client.clone();
        producer_config.send_msg_timeout =
            config.client.mq_client_api_timeout.max(Duration::from_secs(3));
        // The broker creates a retry topic with one queue.
        producer_config.default_topic_queue_nums = 1;
        let retry_producer = Producer::attached(producer_config, Arc::clone(&instance));
        let group = config.group.clone();
        let member = Arc::new(GroupMember::new(
            config,
            Arc::clone(&instance),
            listener,
            offsets,
            retry_producer,
            subscriptions,
        ));
        instance.add_member(&group, Arc::clone(&member) as Arc<dyn crate::instance::Member>);
        instance.add_producer_group(INNER_PRODUCER_GROUP);
        instance.start();
        for topic_name in member.topics() {
            if let Err(e) = instance.update_route(&topic_name).await {
                tracing::debug!(topic = %topic_name, error = %e, "route lookup failed at start");
            }
        }
        instance.heartbeat().await;
        member.tasks.spawn(rebalance::run(Arc::clone(&member)));
        member.tasks.spawn(persist_offsets(Arc::clone(&member)));
        if member.needs_locks() {
            member.tasks.spawn(order_lock::run(Arc::clone(&member)));
        }
        tracing::info!(%group, client_id = %instance.client_id, "push consumer started");
        Ok(member)
    }

    /// This client's id as brokers see it, once started.
    pub fn client_id(&self) -> Option<String> {
        match &*self.phase() {
            Phase::Running(member) => Some(member.instance.client_id.clone()),
            _ => None,
        }
    }

    /// The queues this member consumes now.
    pub fn assigned_queues(&self) -> Vec<MessageQueue> {
        match &*self.phase() {
            Phase::Running(member) => member.assigned(),
            _ => Vec::new(),
        }
    }

    /// Stops consuming without losing anything: pulling stops, listener calls under way
    /// finish (up to `await_termination_when_shutdown`), offsets are committed, order locks
    /// released, and the client leaves the group on every broker.
    pub async fn shutdown(&self) {
        let member = match std::mem::replace(&mut *self.phase(), Phase::Stopped) {
            Phase::Running(member) => member,
            _ => return,
        };
        member.stop.cancel();
        let runs = member.take_all_runs();
        futures::future::join_all(
            runs.into_iter().map(|run| rebalance::release(&member, run, None)),
        )
        .await;
        member.tasks.close();
        let bound = member.config.await_termination_when_shutdown + Duration::from_secs(5);
        if tokio::time::timeout(bound, member.tasks.wait()).await.is_err() {
            tracing::warn!(group = member.group(), "background tasks still running at shutdown");
        }
        member.instance.shutdown().await;
        tracing::info!(group = member.group(), "push consumer shut down");
    }
}

/// Commits offsets every `persistConsumerOffsetInterval` until the member stops.
async fn persist_offsets(member: Arc<GroupMember>) {
    loop {
        tokio::select! {
            _ = member.stop.cancelled() => return,
            _ = tokio::time::sleep(member.instance.config.persist_consumer_offset_interval) => {}
        }
        if let Err(e) = member.offsets.persist_all(&member.assigned(), true).await {
            tracing::debug!(group = member.group(), error = %e, "offset commit failed");
        }
    }
}
