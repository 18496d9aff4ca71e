//! Acceptance with a third-party client: the crates.io `rocketmq-client-rust` (pinned) drives
//! `ferromq standalone` exactly as it would drive Apache RocketMQ — sends with keys, tags and
//! properties, a push consumer group of two, lookups by id and key, an orderly consumer,
//! long polling, and kill -9 of the server while sending.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferromq_protocol::body::TopicFilterType;
use ferromq_protocol::headers::{
    CommandHeader, CreateTopicRequestHeader, GetRouteInfoRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::RemotingClient;
use rocketmq_client_rust::MessageQueueListener;
use rocketmq_client_rust::{
    ClientConfig, ClientResult, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQProducer,
    DefaultMQPushConsumer, MQPushConsumer, MessageListenerConcurrently, MessageListenerOrderly,
    TelemetryHandle,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

use ferromq_testkit::cluster::Standalone;

/// A user property every test message carries.
const USER_PROPERTY: &str = "color";

/// The client's own Tokio runtime, which version 1.0.0 requires for every producer and consumer.
struct ClientEnv {
    owner: RuntimeOwner,
    runtime: Arc<ClientRuntime>,
}

impl ClientEnv {
    fn new() -> ClientEnv {
        let owner = RuntimeOwner::plan(RuntimeConfig {
            thread_name: "rmq-client".into(),
            worker_threads: 2,
            ..Default::default()
        })
        .unwrap()
        .build()
        .unwrap();
        let runtime = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig::default(),
            TelemetryHandle::noop(),
        )
        .unwrap();
        ClientEnv { owner, runtime }
    }

    /// The client's settings for tests: its shortest allowed periods.
    fn config(namesrv: &str) -> ClientConfig {
        let mut config = ClientConfig {
            poll_name_server_interval: 10_000,
            heartbeat_broker_interval: 10_000,
            persist_consumer_offset_interval: 1_000,
            ..Default::default()
        };
        config.set_namesrv_addr(namesrv.into());
        config
    }

    async fn producer(&self, namesrv: &str, group: &str) -> DefaultMQProducer {
        let mut producer = DefaultMQProducer::builder(self.runtime.clone())
            .client_config(Self::config(namesrv))
            .name_server_addr(namesrv.to_string())
            .producer_group(group.to_string())
            .send_msg_timeout(5_000)
            .build();
        producer.start().await.unwrap();
        producer
    }

    /// A CLUSTERING push consumer of `group` reading `topic` from its first offset, whose queue
    /// assignment is reported to `assigned`.
    fn consumer(&self, namesrv: &str, group: &str, assigned: &Assignment) -> DefaultMQPushConsumer {
        DefaultMQPushConsumer::builder(self.runtime.clone())
            .client_config(Self::config(namesrv))
            .name_server_addr(namesrv.to_string())
            .consumer_group(group.to_string())
            .message_model(MessageModel::Clustering)
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .message_queue_listener(Some(Arc::new(assigned.clone())))
            .build()
    }

    async fn shutdown(self) {
        assert!(self.runtime.shutdown().await.is_healthy());
        self.owner.shutdown_tasks().await;
        self.owner.shutdown_background();
    }
}

/// The queues of one topic a consumer is assigned, as its rebalancing reports them.
#[derive(Clone, Default)]
struct Assignment {
    topic: String,
    queues: Arc<Mutex<BTreeSet<i32>>>,
}

impl Assignment {
    fn of(topic: &str) -> Assignment {
        Assignment { topic: topic.into(), queues: Arc::default() }
    }

    fn queues(&self) -> BTreeSet<i32> {
        self.queues.lock().unwrap().clone()
    }
}

impl MessageQueueListener for Assignment {
    fn message_queue_changed(
        &self,
        topic: &str,
        _all: &HashSet<MessageQueue>,
        assigned: &HashSet<MessageQueue>,
    ) {
        if topic == self.topic {
            *self.queues.lock().unwrap() = assigned.iter().map(MessageQueue::queue_id).collect();
        }
    }
}

/// One delivery to a listener, with the fields a user depends on.
#[derive(Debug, Clone)]
struct Delivery {
    member: usize,
    topic: String,
    queue_id: i32,
    uniq_id: String,
    body: Vec<u8>,
    keys: Option<String>,
    tags: Option<String>,
    user_property: Option<String>,
}

impl Delivery {
    fn of(member: usize, message: &MessageExt) -> Delivery {
        let property = |name: &str| message.properties().get(name).map(|v| v.to_string());
        Delivery {
            member,
            topic: message.topic().to_string(),
            queue_id: message.queue_id(),
            uniq_id: property("UNIQ_KEY").unwrap_or_default(),
            body: message.body().map(|b| b.to_vec()).unwrap_or_default(),
            keys: property("KEYS"),
            tags: message.get_tags().map(|t| t.to_string()),
            user_property: property(USER_PROPERTY),
        }
    }
}

/// Every delivery to the listeners sharing it, in arrival order.
#[derive(Clone, Default)]
struct Deliveries(Arc<Mutex<Vec<Delivery>>>);

impl Deliveries {
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn all(&self) -> Vec<Delivery> {
        self.0.lock().unwrap().clone()
    }
}

/// A concurrent listener that records and acknowledges every message.
struct Recorder {
    member: usize,
    deliveries: Deliveries,
}

impl MessageListenerConcurrently for Recorder {
    fn consume_message(
        &self,
        messages: &[&MessageExt],
        _context: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut log = self.deliveries.0.lock().unwrap();
        log.extend(messages.iter().map(|m| Delivery::of(self.member, m)));
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

/// An orderly listener that records every message.
struct OrderlyRecorder(Deliveries);

impl MessageListenerOrderly for OrderlyRecorder {
    fn consume_message(
        &self,
        messages: &[&MessageExt],
        context: &mut ConsumeOrderlyContext,
    ) -> ClientResult<ConsumeOrderlyStatus> {
        context.set_auto_commit(true);
        let mut log = self.0 .0.lock().unwrap();
        log.extend(messages.iter().map(|m| Delivery::of(0, m)));
        Ok(ConsumeOrderlyStatus::Success)
    }
}

/// What the producer was told about one message it sent.
#[derive(Debug, Clone)]
struct Sent {
    uniq_id: String,
    offset_msg_id: String,
    key: String,
    tag: String,
    body: Vec<u8>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Polls `condition` every 50 ms until it holds, failing the test after `timeout`.
async fn eventually(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates `topic` with `queues` queues through the broker's admin code and waits until the
/// name server serves its route (clients look routes up there).
async fn create_topic(standalone: &Standalone, topic: &str, queues: i32) {
    let client = RemotingClient::new(ferromq_remoting::ClientConfig::default());
    let header = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_filter_type: TopicFilterType::SingleTag,
        topic_sys_flag: None,
        order: false,
        attributes: None,
        force: false,
    };
    let timeout = Duration::from_secs(10);
    let broker = standalone.broker.to_string();
    let created = client
        .invoke(
            &broker,
            RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC)
                .with_ext_fields(header.to_ext()),
            timeout,
        )
        .await
        .unwrap();
    assert_eq!(created.response_code(), ResponseCode::SUCCESS, "{:?}", created.remark);
    let route = GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
    let namesrv = standalone.namesrv.to_string();
    let deadline = Instant::now() + timeout;
    loop {
        let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .with_ext_fields(route.to_ext());
        let response = client.invoke(&namesrv, request, timeout).await.unwrap();
        if response.response_code() == ResponseCode::SUCCESS {
            return;
        }
        assert!(Instant::now() < deadline, "the route of {topic} never reached the name server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn message(topic: &str, key: &str, tag: &str, body: Vec<u8>) -> Message {
    Message::builder()
        .topic(topic)
        .tags(tag)
        .keys(vec![key.to_string(), format!("{key}-alt")])
        .raw_property(USER_PROPERTY, format!("blue-{key}"))
        .unwrap()
        .body_slice(&body)
        .build_unchecked()
}

/// Sends `count` messages with `senders` concurrent senders; message i has key `{prefix}{i}`,
/// tag TagA or TagB, and a body naming it.
async fn send_all(
    producer: &DefaultMQProducer,
    topic: &str,
    prefix: &str,
    count: usize,
    senders: usize,
) -> Vec<Sent> {
    let mut tasks = Vec::new();
    for sender in 0..senders {
        let producer = producer.clone();
        let (topic, prefix) = (topic.to_string(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            for i in (sender..count).step_by(senders) {
                let key = format!("{prefix}{i}");
                let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
                let body = format!("message {i} of {count}: {}", "x".repeat(i % 300)).into_bytes();
                let result = producer
                    .send(message(&topic, &key, tag, body.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("send of {key} failed: {e:?}"))
                    .unwrap();
                sent.push(Sent {
                    uniq_id: result.msg_id.unwrap().to_string(),
                    offset_msg_id: result.offset_msg_id.unwrap(),
                    key,
                    tag: tag.into(),
                    body,
                });
            }
            sent
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_reach_a_push_group_of_two_exactly_once() {
    const TOPIC: &str = "RustClientTopic";
    const GROUP: &str = "rust-client-group";
    const COUNT: usize = 10_000;
    let standalone = Standalone::start();
    let namesrv = standalone.namesrv.to_string();
    create_topic(&standalone, TOPIC, 8).await;
    let env = ClientEnv::new();

    // Two members join the group; wait until they split the eight queues between them, so
    // that no queue changes hands while messages flow (which may redeliver, by design).
    let deliveries = Deliveries::default();
    let mut members = Vec::new();
    let mut assignments = Vec::new();
    for member in 0..2 {
        let assigned = Assignment::of(TOPIC);
        let mut consumer = env.consumer(&namesrv, GROUP, &assigned);
        consumer.subscribe(TOPIC, "TagA||TagB").await.unwrap();
        consumer.register_message_listener_concurrently(Recorder {
            member,
            deliveries: deliveries.clone(),
        });
        consumer.start().await.unwrap();
        members.push(consumer);
        assignments.push(assigned);
    }
    eventually(Duration::from_secs(60), "the two members to split the queues", || {
        let (a, b) = (assignments[0].queues(), assignments[1].queues());
        a.len() == 4 && b.len() == 4 && a.union(&b).count() == 8
    })
    .await;

    // 10,000 messages, plus some with a tag the group does not subscribe to.
    let producer = env.producer(&namesrv, "rust-client-producer").await;
    let sent = send_all(&producer, TOPIC, "K", COUNT, 8).await;
    for i in 0..20 {
        let filtered = message(TOPIC, &format!("C{i}"), "TagC", b"not for this group".to_vec());
        producer.send(filtered).await.unwrap().unwrap();
    }
    assert_eq!(sent.len(), COUNT);

    eventually(Duration::from_secs(180), "every message to be consumed", || {
        deliveries.len() >= COUNT
    })
    .await;
    let assigned: Vec<BTreeSet<i32>> = assignments.iter().map(Assignment::queues).collect();
    for member in &mut members {
        member.shutdown().await;
    }

    // Exactly once, with everything intact.
    let delivered = deliveries.all();
    let mut by_id: HashMap<&str, Vec<&Delivery>> = HashMap::new();
    for delivery in &delivered {
        by_id.entry(delivery.uniq_id.as_str()).or_default().push(delivery);
    }
    for message in &sent {
        let copies = by_id.get(message.uniq_id.as_str()).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(copies.len(), 1, "{} was delivered {} times", message.key, copies.len());
        let got = copies[0];
        assert_eq!(got.topic, TOPIC);
        assert_eq!(got.body, message.body, "body of {}", message.key);
        assert_eq!(got.keys.as_deref(), Some(format!("{0} {0}-alt", message.key).as_str()));
        assert_eq!(got.tags.as_deref(), Some(message.tag.as_str()));
        assert_eq!(got.user_property.as_deref(), Some(format!("blue-{}", message.key).as_str()));
    }
    assert_eq!(delivered.len(), COUNT, "deliveries beyond the messages sent (TagC or duplicates)");
    for (member, expected) in assigned.iter().enumerate() {
        let queues: BTreeSet<i32> =
            delivered.iter().filter(|d| d.member == member).map(|d| d.queue_id).collect();
        assert_eq!(&queues, expected, "member {member} read its own queues");
    }

    // Found again by the broker's offset id, by the producer's unique id, and by key.
    let mut producer = producer;
    for message in [&sent[0], &sent[COUNT / 2], &sent[COUNT - 1]] {
        let viewed = producer.view_message(TOPIC, &message.offset_msg_id).await.unwrap();
        assert_eq!(viewed.body().unwrap().as_ref(), message.body.as_slice());
        let by_uniq = producer
            .default_mq_producer_impl()
            .unwrap()
            .query_message_by_uniq_key(TOPIC, &message.uniq_id)
            .await
            .unwrap();
        assert_eq!(by_uniq.body().unwrap().as_ref(), message.body.as_slice());
        let by_key =
            producer.query_message(TOPIC, &message.key, 32, 0, now_ms() + 60_000).await.unwrap();
        let bodies: Vec<Vec<u8>> = by_key
            .message_list()
            .iter()
            .map(|m| m.body().map(|b| b.to_vec()).unwrap_or_default())
            .collect();
        assert_eq!(bodies, vec![message.body.clone()], "query by key {}", message.key);
    }
    producer.shutdown().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_with_a_key_selector_arrive_in_order_per_key() {
    const TOPIC: &str = "RustOrderTopic";
    const KEYS: usize = 12;
    const STEPS: usize = 60;
    let standalone = Standalone::start();
    let namesrv = standalone.namesrv.to_string();
    create_topic(&standalone, TOPIC, 4).await;
    let env = ClientEnv::new();
    let producer = env.producer(&namesrv, "rust-order-producer").await;

    // Keys interleaved step by step; a key's messages all go to the queue its number selects.
    let send_steps = |steps: std::ops::Range<usize>| {
        let producer = producer.clone();
        async move {
            for step in steps {
                for key in 0..KEYS {
                    let msg = message(
                        TOPIC,
                        &format!("order-{key}"),
                        "TagA",
                        format!("{key}:{step}").into_bytes(),
                    );
                    let selector = |queues: &[MessageQueue], _: &Message, key: &usize| {
                        Some(queues[key % queues.len()].clone())
                    };
                    producer.send_with_selector(msg, selector, key).await.unwrap().unwrap();
                }
            }
        }
    };
    // Half are waiting before the consumer starts, half arrive while it consumes.
    send_steps(0..STEPS / 2).await;
    let deliveries = Deliveries::default();
    let assigned = Assignment::of(TOPIC);
    let mut consumer = env.consumer(&namesrv, "rust-order-group", &assigned);
    consumer.subscribe(TOPIC, "*").await.unwrap();
    consumer.register_message_listener_orderly(OrderlyRecorder(deliveries.clone()));
    consumer.start().await.unwrap();
    send_steps(STEPS / 2..STEPS).await;

    eventually(Duration::from_secs(120), "every ordered message", || {
        deliveries.len() >= KEYS * STEPS
    })
    .await;
    consumer.shutdown().await;

    let mut steps_by_key: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for delivery in deliveries.all() {
        let text = String::from_utf8(delivery.body).unwrap();
        let (key, step) = text.split_once(':').unwrap();
        let key: usize = key.parse().unwrap();
        assert_eq!(delivery.queue_id, (key % 4) as i32, "key {key} stays on its queue");
        steps_by_key.entry(key).or_default().push(step.parse().unwrap());
    }
    let in_order: Vec<usize> = (0..STEPS).collect();
    for key in 0..KEYS {
        assert_eq!(steps_by_key.get(&key), Some(&in_order), "steps of key {key}");
    }
    drop(producer);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_waiting_on_an_empty_queue_gets_a_new_message_promptly() {
    const TOPIC: &str = "RustLongPollTopic";
    let standalone = Standalone::start();
    let namesrv = standalone.namesrv.to_string();
    create_topic(&standalone, TOPIC, 1).await;
    let env = ClientEnv::new();
    let deliveries = Deliveries::default();
    let assigned = Assignment::of(TOPIC);
    let mut consumer = env.consumer(&namesrv, "rust-long-poll-group", &assigned);
    consumer.subscribe(TOPIC, "*").await.unwrap();
    consumer.register_message_listener_concurrently(Recorder {
        member: 0,
        deliveries: deliveries.clone(),
    });
    consumer.start().await.unwrap();
    eventually(Duration::from_secs(60), "the queue to be assigned", || {
        assigned.queues().len() == 1
    })
    .await;
    let producer = env.producer(&namesrv, "rust-long-poll-producer").await;

    for round in 1..=3 {
        // Let the consumer's pull wait on the empty queue (the broker holds it for up to
        // 15 s), then send: the held pull must be answered when the message arrives.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let sent_at = Instant::now();
        let msg = message(TOPIC, &format!("poll-{round}"), "TagA", b"wake up".to_vec());
        producer.send(msg).await.unwrap().unwrap();
        eventually(Duration::from_secs(60), "the message to arrive", || deliveries.len() >= round)
            .await;
        // A loose functional bound: far below the 15 s hold, far above any scheduling noise.
        let waited = sent_at.elapsed();
        assert!(waited < Duration::from_secs(5), "round {round}: delivered after {waited:?}");
    }
    consumer.shutdown().await;
    drop(producer);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sends_survive_kill_9_and_are_consumed_after_restart() {
    const TOPIC: &str = "RustCrashTopic";
    let standalone = Standalone::start();
    create_topic(&standalone, TOPIC, 4).await;
    let env = ClientEnv::new();
    let producer = env.producer(&standalone.namesrv.to_string(), "rust-crash-producer").await;

    // Four senders keep sending; the server is killed under them once 2,000 sends succeeded.
    let acknowledged: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let mut senders = Vec::new();
    for sender in 0..4 {
        let (producer, acknowledged) = (producer.clone(), acknowledged.clone());
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("crash-{sender}-{i}");
                let body = key.clone().into_bytes();
                let result =
                    producer.send_with_timeout(message(TOPIC, &key, "TagA", body.clone()), 2_000);
                match result.await {
                    Ok(Some(result)) => acknowledged.lock().unwrap().push(Sent {
                        uniq_id: result.msg_id.unwrap().to_string(),
                        offset_msg_id: result.offset_msg_id.unwrap_or_default(),
                        key,
                        tag: "TagA".into(),
                        body,
                    }),
                    _ => return,
                }
            }
        }));
    }
    eventually(Duration::from_secs(120), "2,000 acknowledged sends", || {
        acknowledged.lock().unwrap().len() >= 2_000
    })
    .await;
    let standalone = standalone.kill_and_restart();
    for sender in senders {
        sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // A new consumer on the restarted server reads every acknowledged message.
    let namesrv = standalone.namesrv.to_string();
    let deliveries = Deliveries::default();
    let assigned = Assignment::of(TOPIC);
    let mut consumer = env.consumer(&namesrv, "rust-crash-group", &assigned);
    consumer.subscribe(TOPIC, "*").await.unwrap();
    consumer.register_message_listener_concurrently(Recorder {
        member: 0,
        deliveries: deliveries.clone(),
    });
    consumer.start().await.unwrap();
    let wanted: HashSet<String> = acknowledged.iter().map(|s| s.uniq_id.clone()).collect();
    eventually(Duration::from_secs(120), "every acknowledged message after the restart", || {
        let seen: HashSet<String> = deliveries.all().into_iter().map(|d| d.uniq_id).collect();
        wanted.is_subset(&seen)
    })
    .await;
    let bodies: HashMap<String, Vec<u8>> =
        deliveries.all().into_iter().map(|d| (d.uniq_id, d.body)).collect();
    for sent in &acknowledged {
        assert_eq!(bodies.get(&sent.uniq_id), Some(&sent.body), "{}", sent.key);
    }
    consumer.shutdown().await;
    drop(producer);
    env.shutdown().await;
}
