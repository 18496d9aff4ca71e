//! The producer: sync, callback and one-way sends, batches, sends to a chosen queue or by a
//! selector (ordered messages), retries on another broker with latency-based fault
//! avoidance, and an overall send timeout — RocketMQ's `DefaultMQProducer` behaviour.

mod fault;
mod request;
mod selector;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_protocol::body::MessageQueue;
use tokio::sync::Semaphore;

pub use selector::{QueueSelector, SelectByHash};

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::Instance;
use crate::message::{Message, SendResult};
use fault::FaultTable;
use request::{is_retryable, Outgoing};
use selector::RoundRobin;

/// A producer's settings (names as in RocketMQ's `DefaultMQProducer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `producerGroup`.
    pub group: String,
    pub client: ClientConfig,
    /// Whole-send timeout, retries included (`sendMsgTimeout`, 3 s).
    pub send_msg_timeout: Duration,
    /// Extra attempts of a sync send (`retryTimesWhenSendFailed`, 2).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of a callback send (`retryTimesWhenSendAsyncFailed`, 2).
    pub retry_times_when_send_async_failed: u32,
    /// Bodies larger than this are ZLIB-compressed (`compressMsgBodyOverHowmuch`, 4 KiB).
    pub compress_msg_body_over_howmuch: usize,
    /// Largest body, or batch (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Queues per broker of an auto-created topic (`defaultTopicQueueNums`, 4).
    pub default_topic_queue_nums: i32,
    /// Pass over slow or failing brokers for a while (`sendLatencyFaultEnable`; RocketMQ's
    /// default is off, FerroMQ's is on).
    pub send_latency_fault_enable: bool,
    /// Retry a sync send whose status is not SEND_OK (`retryAnotherBrokerWhenNotStoreOK`).
    pub retry_another_broker_when_not_store_ok: bool,
    /// Callback sends waiting for an answer at most; more wait for a slot
    /// (`backPressureForAsyncSendNum`, 10,000).
    pub back_pressure_for_async_send_num: usize,
}

impl ProducerConfig {
    /// Defaults for `group`, talking to the name servers `namesrv_addr`.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> ProducerConfig {
        ProducerConfig {
            group: group.into(),
            client: ClientConfig::with_namesrv(namesrv_addr),
            send_msg_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            compress_msg_body_over_howmuch: 4 * 1024,
            max_message_size: 4 * 1024 * 1024,
            default_topic_queue_nums: 4,
            send_latency_fault_enable: true,
            retry_another_broker_when_not_store_ok: false,
            back_pressure_for_async_send_num: 10_000,
        }
    }

    fn validate(&self) -> Result<()> {
        ferromq_protocol::topic::validate_group(&self.group)
            .map_err(|e| ClientError::Config(format!("producerGroup: {e}")))?;
        if self.back_pressure_for_async_send_num == 0 || self.send_msg_timeout.is_zero() {
            return Err(ClientError::Config(
                "sendMsgTimeout and backPressureForAsyncSendNum must be above zero".into(),
            ));
        }
        self.client.validate()
    }
}

/// Where a message goes.
enum Target<'a> {
    /// The producer chooses, round-robin, and may retry elsewhere.
    Any,
    /// This queue, one attempt.
    Queue(&'a MessageQueue),
    /// The selector's choice among the topic's queues, one attempt.
    Selector(&'a dyn QueueSelector, &'a Message),
}

/// Sends messages. Cheap to clone; clones share connections and state.
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ProducerConfig,
    instance: Arc<Instance>,
    round_robin: RoundRobin,
    faults: FaultTable,
    async_slots: Arc<Semaphore>,
}

impl Producer {
    /// Checks the settings and starts the producer (route refresh and heartbeats).
    pub async fn start(config: ProducerConfig) -> Result<Producer> {
        config.validate()?;
        let instance = Instance::new(config.client.clone())?;
        instance.add_producer_group(&config.group);
        instance.start();
        Ok(Producer::attached(config, instance))
    }

    /// A producer sending through an instance someone else started and shuts down (a push
    /// consumer's, for re-sending failed messages).
    pub(crate) fn attached(config: ProducerConfig, instance: Arc<Instance>) -> Producer {
        let async_slots = Arc::new(Semaphore::new(config.back_pressure_for_async_send_num));
        Producer {
            inner: Arc::new(Inner {
                config,
                instance,
                round_robin: RoundRobin::default(),
                faults: FaultTable::default(),
                async_slots,
            }),
        }
    }

    /// The producer's settings.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// This client's id as brokers see it (`clientIP@instanceName`).
    pub fn client_id(&self) -> &str {
        &self.inner.instance.client_id
    }

    /// Sends and waits for the broker's answer, retrying on other brokers within
    /// `sendMsgTimeout`.
    pub async fn send(&self, message: Message) -> Result<SendResult> {
        self.send_with_timeout(message, self.inner.config.send_msg_timeout).await
    }

    /// [`Producer::send`] with its own timeout.
    pub async fn send_with_timeout(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<SendResult> {
        let outgoing = self.prepare(message)?;
        let attempts = 1 + self.inner.config.retry_times_when_send_failed;
        self.inner.send(&outgoing, Target::Any, attempts, timeout).await
    }

    /// Sends to `queue` exactly (one attempt).
    pub async fn send_to_queue(
        &self,
        message: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult> {
        if message.topic != queue.topic {
            return Err(ClientError::InvalidMessage(format!(
                "message topic {} differs from the queue's {}",
                message.topic, queue.topic
            )));
        }
        let outgoing = self.prepare(message)?;
        let timeout = self.inner.config.send_msg_timeout;
        self.inner.send(&outgoing, Target::Queue(queue), 1, timeout).await
    }

    /// Sends to the queue `selector` picks among the topic's queues (one attempt): messages
    /// with the same key go to the same queue and are consumed in send order.
    pub async fn send_with_selector(
        &self,
        message: Message,
        selector: &dyn QueueSelector,
    ) -> Result<SendResult> {
        let probe = Message { body: bytes::Bytes::new(), ..message.clone() };
        let outgoing = self.prepare(message)?;
        let timeout = self.inner.config.send_msg_timeout;
        self.inner.send(&outgoing, Target::Selector(selector, &probe), 1, timeout).await
    }

    /// Sends without waiting for an answer (one attempt; nothing tells whether it was
    /// stored).
    pub async fn send_oneway(&self, message: Message) -> Result<()> {
        let outgoing = self.prepare(message)?;
        let inner = &self.inner;
        let route = inner
            .instance
            .publish_route(&outgoing.topic, inner.config.default_topic_queue_nums)
            .await?;
        let queue = inner
            .round_robin
            .pick(&route.publish_queues, None, inner.fault_table())
            .ok_or_else(|| no_queue(&outgoing.topic))?;
        let addr = inner.broker_addr(&queue.broker_name)?;
        inner.instance.call_oneway(&addr, outgoing.request(queue, &inner.config)).await
    }

    /// Sends in the background and calls `callback` with the outcome. Returns once the send
    /// has a slot: at most `backPressureForAsyncSendNum` callback sends are in flight.
    pub async fn send_with_callback<F>(&self, message: Message, callback: F) -> Result<()>
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let outgoing = self.prepare(message)?;
        let permit = Arc::clone(&self.inner.async_slots)
            .acquire_owned()
            .await
            .map_err(|_| ClientError::State("shut down"))?;
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let attempts = 1 + inner.config.retry_times_when_send_async_failed;
            let timeout = inner.config.send_msg_timeout;
            let result = inner.send(&outgoing, Target::Any, attempts, timeout).await;
            drop(permit);
            callback(result);
        });
        Ok(())
    }

    /// Sends messages of one topic as one request; they are stored together, in order, in
    /// one queue.
    pub async fn send_batch(&self, messages: Vec<Message>) -> Result<SendResult> {
        self.ensure_running()?;
        let instance = &self.inner.instance;
        let outgoing =
            Outgoing::batch(messages, &self.inner.config, &|| instance.uniq_ids.next_id())?;
        let attempts = 1 + self.inner.config.retry_times_when_send_failed;
        let timeout = self.inner.config.send_msg_timeout;
        self.inner.send(&outgoing, Target::Any, attempts, timeout).await
    }

    /// The queues messages of `topic` can be sent to (`fetchPublishMessageQueues`).
    pub async fn publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let config = &self.inner.config;
        let route =
            self.inner.instance.publish_route(topic, config.default_topic_queue_nums).await?;
        Ok(route.publish_queues.clone())
    }

    /// Stops the producer: waits for callback sends in flight, then unregisters from every
    /// broker and closes the connections.
    pub async fn shutdown(&self) {
        let slots = self.inner.config.back_pressure_for_async_send_num;
        let all = u32::try_from(slots).unwrap_or(u32::MAX);
        if let Ok(permits) = self.inner.async_slots.acquire_many(all).await {
            permits.forget();
        }
        self.inner.async_slots.close();
        self.inner.instance.shutdown().await;
    }

    fn ensure_running(&self) -> Result<()> {
        if self.inner.instance.is_stopped() {
            return Err(ClientError::State("shut down"));
        }
        Ok(())
    }

    fn prepare(&self, message: Message) -> Result<Outgoing> {
        self.ensure_running()?;
        let instance = &self.inner.instance;
        Outgoing::single(message, &self.inner.config, &|| instance.uniq_ids.next_id())
    }
}

fn no_queue(topic: &str) -> ClientError {
    ClientError::NoRoute { topic: topic.into(), reason: "no writable queue".into() }
}

impl Inner {
    fn fault_table(&self) -> Option<&FaultTable> {
        self.config.send_latency_fault_enable.then_some(&self.faults)
    }

    fn broker_addr(&self, broker_name: &str) -> Result<String> {
        self.instance.master_addr(broker_name).ok_or_else(|| ClientError::NoRoute {
            topic: String::new(),
            reason: format!("broker {broker_name} has no master"),
        })
    }

    /// The send loop: pick a queue, call its broker, and on a failure worth retrying try
    /// another broker, until `attempts` or `timeout` run out.
    async fn send(
        &self,
        outgoing: &Outgoing,
        target: Target<'_>,
        attempts: u32,
        timeout: Duration,
    ) -> Result<SendResult> {
        let started = Instant::now();
        let mut last_broker: Option<String> = None;
        let mut last_error: Option<ClientError> = None;
        let mut tried = 0;
        while tried < attempts {
            let Some(left) = timeout.checked_sub(started.elapsed()).filter(|d| !d.is_zero()) else {
                break;
            };
            tried += 1;
            let route = self
                .instance
                .publish_route(&outgoing.topic, self.config.default_topic_queue_nums)
                .await?;
            let queue = match &target {
                Target::Any => self
                    .round_robin
                    .pick(&route.publish_queues, last_broker.as_deref(), self.fault_table())
                    .cloned(),
                Target::Queue(queue) => Some((*queue).clone()),
                Target::Selector(selector, message) => {
                    let queues = &route.publish_queues;
                    (!queues.is_empty())
                        .then(|| queues[selector.select(queues, message) % queues.len()].clone())
                }
            };
            let queue = queue.ok_or_else(|| no_queue(&outgoing.topic))?;
            let addr = self.broker_addr(&queue.broker_name)?;
            let call_started = Instant::now();
            let response =
                self.instance.call(&addr, outgoing.request(&queue, &self.config), left).await;
            let latency = call_started.elapsed();
            let outcome = response.and_then(|r| outgoing.result(&addr, &queue, r));
            let failed_hard = matches!(&outcome, Err(ClientError::Remoting(_)));
            let refused = matches!(&outcome, Err(ClientError::Refused { .. }));
            self.faults.record(&queue.broker_name, latency, failed_hard || refused, Instant::now());
            match outcome {
                Ok(result) => {
                    let stored_ok = result.status == crate::message::SendStatus::SendOk;
                    if stored_ok || !self.config.retry_another_broker_when_not_store_ok {
                        return Ok(result);
                    }
                    last_error = Some(ClientError::Refused {
                        addr,
                        code: ferromq_protocol::ResponseCode::FLUSH_DISK_TIMEOUT,
                        remark: format!("stored with status {:?}", result.status),
                    });
                }
                Err(error) => {
                    let retry = match &error {
                        ClientError::Remoting(_) => true,
                        ClientError::Refused { code, .. } => is_retryable(*code),
                        _ => false,
                    };
                    tracing::debug!(broker = %addr, error = %error, retry, "send attempt failed");
                    if !retry {
                        return Err(error);
                    }
                    last_error = Some(error);
                }
            }
            last_broker = Some(queue.broker_name);
        }
        let last = last_error.unwrap_or_else(|| {
            ClientError::Remoting(ferromq_remoting::RemotingError::Timeout {
                addr: outgoing.topic.clone(),
                timeout,
            })
        });
        Err(ClientError::SendFailed { attempts: tried, last: Box::new(last) })
    }
}
