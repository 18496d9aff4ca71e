//! `ferromq_client::PushConsumer` against real processes: a clustering group whose members
//! come and go while messages flow loses nothing; broadcasting delivers everything to
//! everyone and its local offsets survive a restart; orderly listeners see each key in
//! order; tags filter; a broker restart mid-stream is survived, and so is a name server's;
//! failed messages come back;
//! an administrator's offset reset replays a queue.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::{
    Admin, ClientConfig, ConsumeConcurrentlyStatus, ConsumeFromWhere, ConsumeOrderlyStatus,
    Message, MessageListener, MessageModel, Producer, ProducerConfig, PushConsumer,
    PushConsumerConfig, SelectByHash,
};

use crate::support::{BrokerProcess, Namesrv, Standalone};

/// How long any one condition may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(90);

/// A consumer's settings for tests: generous timeouts, short periods.
fn consumer_config(group: &str, namesrv: impl ToString) -> PushConsumerConfig {
    let mut config = PushConsumerConfig::new(group, namesrv.to_string());
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    config.client.mq_client_api_timeout = Duration::from_secs(10);
    config.client.heartbeat_broker_interval = Duration::from_secs(2);
    config.client.persist_consumer_offset_interval = Duration::from_secs(1);
    config.client.poll_name_server_interval = Duration::from_secs(2);
    config.rebalance_interval = Duration::from_secs(2);
    config.lock_interval = Duration::from_secs(5);
    config.await_termination_when_shutdown = Duration::from_secs(20);
    config
}

fn producer_config(group: &str, namesrv: impl ToString) -> ProducerConfig {
    let mut config = ProducerConfig::new(group, namesrv.to_string());
    config.send_msg_timeout = Duration::from_secs(10);
    config.client.mq_client_api_timeout = Duration::from_secs(10);
    config.default_topic_queue_nums = 8;
    config
}

/// Polls `condition` until it holds, panicking with `what` after [`PATIENCE`].
async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One delivery: (consumer, message id, body, reconsume times).
type Delivery = (String, String, String, i32);

/// Deliveries seen by listeners.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Delivery>>>);

impl Seen {
    fn record(&self, consumer: &str, message: &ferromq_client::MessageExt) {
        let body = String::from_utf8_lossy(message.body()).into_owned();
        let entry =
            (consumer.to_string(), message.msg_id().to_string(), body, message.reconsume_times);
        self.0.lock().unwrap().push(entry);
    }

    fn all(&self) -> Vec<Delivery> {
        self.0.lock().unwrap().clone()
    }

    fn ids(&self) -> BTreeSet<String> {
        self.all().into_iter().map(|(_, id, _, _)| id).collect()
    }

    fn by(&self, consumer: &str) -> Vec<String> {
        self.all().into_iter().filter(|(c, ..)| c == consumer).map(|(_, id, ..)| id).collect()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// A started consumer named `name` that records every delivery in `seen` and succeeds.
async fn recording_consumer(
    config: PushConsumerConfig,
    topic: &str,
    expression: &str,
    name: &str,
    seen: &Seen,
) -> PushConsumer {
    let consumer = PushConsumer::new(config).unwrap();
    consumer.subscribe(topic, expression).unwrap();
    let (seen, name) = (seen.clone(), name.to_string());
    consumer
        .register_message_listener(MessageListener::concurrently(move |messages, _| {
            for message in &messages {
                seen.record(&name, message);
            }
            async { ConsumeConcurrentlyStatus::ConsumeSuccess }
        }))
        .unwrap();
    consumer.start().await.unwrap();
    consumer
}

/// Sends `count` messages to `topic` (or fewer, if `stop` is set first), retrying each
/// until the broker takes it; returns the ids of those acknowledged.
async fn send_all(producer: Producer, topic: String, count: usize, prefix: &str) -> Vec<String> {
    send_until(producer, topic, count, prefix, Arc::default()).await
}

async fn send_until(
    producer: Producer,
    topic: String,
    count: usize,
    prefix: &str,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            match producer.send(Message::new(topic.clone(), format!("{prefix} {i}"))).await {
                Ok(result) => {
                    ids.push(result.msg_id);
                    break;
                }
                Err(e) => {
                    assert!(Instant::now() < deadline, "send {i} never succeeded: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        // Pace the flow so that it lasts while consumers come and go.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    ids
}

/// A flow of messages in the background until stopped (at most `limit`).
struct Flow {
    stop: Arc<AtomicBool>,
    sender: tokio::task::JoinHandle<Vec<String>>,
}

impl Flow {
    fn start(producer: &Producer, topic: &str, limit: usize, prefix: &'static str) -> Flow {
        let stop = Arc::new(AtomicBool::new(false));
        let sender = tokio::spawn(send_until(
            producer.clone(),
            topic.to_string(),
            limit,
            prefix,
            Arc::clone(&stop),
        ));
        Flow { stop, sender }
    }

    /// Stops sending; returns the ids of the messages acknowledged.
    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.sender.await.unwrap()
    }
}

/// Creates `topic` with a first message (tagged `warm-up`, retried: the broker may not have
/// registered with the name server yet).
async fn warm_up(producer: &Producer, topic: &str) {
    let deadline = Instant::now() + PATIENCE;
    while let Err(e) = producer.send(Message::new(topic, "warm-up").with_tags("warm-up")).await {
        assert!(Instant::now() < deadline, "cannot create {topic}: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn duplicates(seen: &Seen) -> usize {
    seen.len() - seen.ids().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clustering_members_join_and_leave_while_messages_flow() {
    const TOPIC: &str = "PushClustering";
    const GROUP: &str = "push-clustering";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("push-cl-producer", standalone.namesrv)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let seen = Seen::default();
    let config = || consumer_config(GROUP, standalone.namesrv);
    let c1 = recording_consumer(config(), TOPIC, "*", "c1", &seen).await;
    // Messages flow until the last member is alone again.
    let flow = Flow::start(&producer, TOPIC, 20_000, "cl");

    wait_for("c1 to consume", || seen.by("c1").len() >= 100).await;
    let c2 = recording_consumer(config(), TOPIC, "*", "c2", &seen).await;
    wait_for("c2 to consume", || seen.by("c2").len() >= 100).await;
    let c3 = recording_consumer(config(), TOPIC, "*", "c3", &seen).await;
    wait_for("c3 to consume", || seen.by("c3").len() >= 100).await;
    c1.shutdown().await;
    let c3_before = seen.by("c3").len();
    wait_for("c3 to consume more after c1 left", || seen.by("c3").len() >= c3_before + 100).await;
    c2.shutdown().await;
    let c3_before = seen.by("c3").len();
    wait_for("c3 to consume more after c2 left", || seen.by("c3").len() >= c3_before + 100).await;

    let sent = flow.stop().await;
    wait_for("every message to be consumed", || {
        let ids = seen.ids();
        sent.iter().all(|id| ids.contains(id))
    })
    .await;
    c3.shutdown().await;
    let per_consumer: BTreeMap<&str, usize> =
        ["c1", "c2", "c3"].iter().map(|c| (*c, seen.by(c).len())).collect();
    println!(
        "clustering: {} sent, {} deliveries, {} duplicates, per consumer {per_consumer:?}",
        sent.len(),
        seen.len(),
        duplicates(&seen)
    );
    assert!(per_consumer.values().all(|n| *n > 0), "every member consumed: {per_consumer:?}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broadcasting_reaches_every_member_and_local_offsets_survive_a_restart() {
    const TOPIC: &str = "PushBroadcast";
    const GROUP: &str = "push-broadcast";
    let standalone = Standalone::start();
    let offsets = ferromq_testkit::temp_dir();
    let producer =
        Producer::start(producer_config("push-bc-producer", standalone.namesrv)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let config = |instance: &str| {
        let mut config = consumer_config(GROUP, standalone.namesrv);
        config.message_model = MessageModel::Broadcasting;
        config.client.instance_name = instance.to_string();
        config.offset_store_dir = offsets.path().to_path_buf();
        config
    };
    let seen = Seen::default();
    let a = recording_consumer(config("bc-a"), TOPIC, "*", "a", &seen).await;
    let b = recording_consumer(config("bc-b"), TOPIC, "*", "b", &seen).await;
    let first = send_all(producer.clone(), TOPIC.to_string(), 100, "first").await;
    wait_for("both members to get every message", || {
        let (got_a, got_b): (BTreeSet<String>, BTreeSet<String>) =
            (seen.by("a").into_iter().collect(), seen.by("b").into_iter().collect());
        first.iter().all(|id| got_a.contains(id) && got_b.contains(id))
    })
    .await;
    let a_id = a.client_id().unwrap();
    a.shutdown().await;
    b.shutdown().await;
    let file = offsets.path().join(&a_id).join(GROUP).join("offsets.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(text.contains(TOPIC), "{text}");

    let second = send_all(producer.clone(), TOPIC.to_string(), 50, "second").await;
    let again = Seen::default();
    let a = recording_consumer(config("bc-a"), TOPIC, "*", "a", &again).await;
    wait_for("the restarted member to get the new messages", || {
        let got = again.ids();
        second.iter().all(|id| got.contains(id))
    })
    .await;
    a.shutdown().await;
    let repeated: Vec<String> = again.ids().into_iter().filter(|id| first.contains(id)).collect();
    assert!(repeated.is_empty(), "consumed before the restart, delivered again: {repeated:?}");
    producer.shutdown().await;
}

/// Per key, (step, reconsume times) in delivery order.
type Steps = BTreeMap<String, Vec<(usize, i32)>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orderly_listeners_see_each_key_in_send_order() {
    const TOPIC: &str = "PushOrderly";
    const GROUP: &str = "push-orderly";
    const KEYS: usize = 8;
    const STEPS: usize = 25;
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("push-or-producer", standalone.namesrv)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let queues = producer.publish_queues(TOPIC).await.unwrap().len();

    let seen: Arc<Mutex<Steps>> = Arc::default();
    let start = |name: &'static str| {
        let seen = Arc::clone(&seen);
        let consumer = PushConsumer::new(consumer_config(GROUP, standalone.namesrv)).unwrap();
        consumer.subscribe(TOPIC, "*").unwrap();
        consumer
            .register_message_listener(MessageListener::orderly(move |messages, _| {
                let mut status = ConsumeOrderlyStatus::Success;
                for message in &messages {
                    let body = String::from_utf8_lossy(message.body()).into_owned();
                    let Some((key, step)) = body.split_once(' ') else { continue };
                    let step: usize = step.parse().unwrap();
                    seen.lock()
                        .unwrap()
                        .entry(key.to_string())
                        .or_default()
                        .push((step, message.reconsume_times));
                    // Step 5 of every key asks to be suspended once.
                    if step == 5 && message.reconsume_times == 0 {
                        status = ConsumeOrderlyStatus::SuspendCurrentQueueAMoment;
                    }
                }
                let _ = name;
                async move { status }
            }))
            .unwrap();
        consumer
    };
    let (c1, c2) = (start("c1"), start("c2"));
    c1.start().await.unwrap();
    c2.start().await.unwrap();
    let topic_queues =
        |c: &PushConsumer| c.assigned_queues().iter().filter(|q| q.topic == TOPIC).count();
    wait_for("both members to hold their share of the locked queues", || {
        let (a, b) = (topic_queues(&c1), topic_queues(&c2));
        a > 0 && b > 0 && a + b == queues
    })
    .await;

    for step in 0..STEPS {
        for key in 0..KEYS {
            let key = format!("key-{key}");
            let message = Message::new(TOPIC, format!("{key} {step}")).with_keys([key.as_str()]);
            producer.send_with_selector(message, &SelectByHash(key)).await.unwrap();
        }
    }
    wait_for("every key's last step", || {
        let seen = seen.lock().unwrap();
        seen.len() == KEYS && seen.values().all(|steps| steps.iter().any(|(s, _)| *s == STEPS - 1))
    })
    .await;
    c1.shutdown().await;
    c2.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    for (key, deliveries) in seen.iter() {
        let mut expected: Vec<(usize, i32)> = (0..STEPS).map(|s| (s, 0)).collect();
        expected.insert(6, (5, 1));
        assert_eq!(deliveries, &expected, "{key}: in order, step 5 twice");
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tags_filter_what_arrives() {
    const TOPIC: &str = "PushTags";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("push-tag-producer", standalone.namesrv)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let seen = Seen::default();
    let config = consumer_config("push-tags", standalone.namesrv);
    let consumer = recording_consumer(config, TOPIC, "TagA || TagB", "c", &seen).await;
    let mut wanted = BTreeSet::new();
    for i in 0..40 {
        let message = Message::new(TOPIC, format!("m{i}"));
        let message = match i % 4 {
            0 => message.with_tags("TagA"),
            1 => message.with_tags("TagB"),
            2 => message.with_tags("TagC"),
            _ => message,
        };
        let result = producer.send(message).await.unwrap();
        if i % 4 < 2 {
            wanted.insert(result.msg_id);
        }
    }
    let last = producer.send(Message::new(TOPIC, "last").with_tags("TagB")).await.unwrap();
    wanted.insert(last.msg_id.clone());
    wait_for("the last TagB message", || seen.ids().contains(&last.msg_id)).await;
    wait_for("every TagA and TagB message", || seen.ids() == wanted).await;
    consumer.shutdown().await;
    let bodies: Vec<String> = seen.all().into_iter().map(|(_, _, body, _)| body).collect();
    assert_eq!(seen.ids(), wanted, "only TagA and TagB: {bodies:?}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_restart_mid_stream_loses_nothing() {
    const TOPIC: &str = "PushRestart";
    let namesrv = Namesrv::start("");
    let mut broker = BrokerProcess::start(namesrv.addr, "broker-r", "");
    let producer =
        Producer::start(producer_config("push-rs-producer", namesrv.addr)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let seen = Seen::default();
    let consumer =
        recording_consumer(consumer_config("push-restart", namesrv.addr), TOPIC, "*", "c", &seen)
            .await;
    let flow = Flow::start(&producer, TOPIC, 20_000, "rs");
    wait_for("consumption to start", || seen.len() >= 100).await;
    let consumed_before = seen.len();
    broker.kill_and_restart();
    wait_for("consumption after the restart", || seen.len() >= consumed_before + 100).await;
    let sent = flow.stop().await;
    wait_for("every acknowledged message", || {
        let ids = seen.ids();
        sent.iter().all(|id| ids.contains(id))
    })
    .await;
    consumer.shutdown().await;
    println!(
        "broker restart: {} sent, {consumed_before} consumed before the restart, {} deliveries, {} duplicates",
        sent.len(),
        seen.len(),
        duplicates(&seen)
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_name_server_restart_is_survived() {
    const TOPIC: &str = "PushNamesrvRestart";
    const LATER: &str = "PushAfterNamesrvRestart";
    let mut namesrv = Namesrv::start("");
    // The broker registers every 10 s (the shortest period allowed), so it is soon known to
    // the restarted name server.
    let broker = BrokerProcess::start(namesrv.addr, "broker-n", "registerNameServerPeriod = 10000");
    let producer =
        Producer::start(producer_config("push-ns-producer", namesrv.addr)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let seen = Seen::default();
    let consumer =
        recording_consumer(consumer_config("push-ns", namesrv.addr), TOPIC, "*", "c", &seen).await;
    let flow = Flow::start(&producer, TOPIC, 20_000, "ns");
    wait_for("consumption to start", || seen.len() >= 100).await;

    namesrv.kill_and_restart();
    // Known routes keep working while the name server knows nothing.
    let consumed = seen.len();
    wait_for("consumption while the name server is empty", || seen.len() >= consumed + 100).await;
    namesrv.wait_for_broker(broker.addr, Duration::from_secs(60));
    // Once the broker registered again, the clients reach the new name server: a topic
    // first used now gets its route from it, and a consumer started now finds it.
    warm_up(&producer, LATER).await;
    let later_seen = Seen::default();
    let later = recording_consumer(
        consumer_config("push-ns-later", namesrv.addr),
        LATER,
        "*",
        "later",
        &later_seen,
    )
    .await;
    let later_ids = send_all(producer.clone(), LATER.to_string(), 50, "later").await;
    let sent = flow.stop().await;
    wait_for("every acknowledged message of the first topic", || {
        let ids = seen.ids();
        sent.iter().all(|id| ids.contains(id))
    })
    .await;
    wait_for("every message of the later topic", || {
        let ids = later_seen.ids();
        later_ids.iter().all(|id| ids.contains(id))
    })
    .await;
    consumer.shutdown().await;
    later.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_and_panicking_deliveries_come_back() {
    const TOPIC: &str = "PushRetry";
    const GROUP: &str = "push-retry";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("push-re-producer", standalone.namesrv)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    // (message id, topic seen, reconsume times) of each successful delivery; attempts.
    let done: Arc<Mutex<Vec<(String, String, i32)>>> = Arc::default();
    let attempts: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let consumer = PushConsumer::new(consumer_config(GROUP, standalone.namesrv)).unwrap();
    consumer.subscribe(TOPIC, "*").unwrap();
    let (done_in, attempts_in) = (Arc::clone(&done), Arc::clone(&attempts));
    consumer
        .register_message_listener(MessageListener::concurrently(move |messages, _| {
            let (done, attempts) = (Arc::clone(&done_in), Arc::clone(&attempts_in));
            async move {
                let message = messages.into_iter().next().unwrap();
                *attempts.lock().unwrap().entry(message.msg_id().to_string()).or_default() += 1;
                let first = message.reconsume_times == 0;
                let body = String::from_utf8_lossy(message.body()).into_owned();
                if first && body.starts_with("panic") {
                    panic!("listener bug on first delivery");
                }
                if first && body.starts_with("fail") {
                    return ConsumeConcurrentlyStatus::ReconsumeLater;
                }
                let entry = (
                    message.msg_id().to_string(),
                    message.topic().to_string(),
                    message.reconsume_times,
                );
                done.lock().unwrap().push(entry);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        }))
        .unwrap();
    consumer.start().await.unwrap();
    let mut failing = Vec::new();
    for i in 0..10 {
        let kind = if i % 5 == 0 { "panic" } else { "fail" };
        failing
            .push(producer.send(Message::new(TOPIC, format!("{kind} {i}"))).await.unwrap().msg_id);
    }
    wait_for("every failed message to be consumed again", || {
        let done = done.lock().unwrap();
        failing.iter().all(|id| done.iter().any(|(d, ..)| d == id))
    })
    .await;
    consumer.shutdown().await;
    let done = done.lock().unwrap().clone();
    for id in &failing {
        let (_, topic, reconsume) = done.iter().find(|(d, ..)| d == id).unwrap();
        assert_eq!(topic, TOPIC, "the original topic is restored");
        assert!(*reconsume >= 1, "{id} came back through the retry topic");
        assert!(attempts.lock().unwrap()[id] >= 2);
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_offset_reset_by_an_administrator_replays_the_queue() {
    const TOPIC: &str = "PushReset";
    const GROUP: &str = "push-reset";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("push-rst-producer", standalone.namesrv)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let seen = Seen::default();
    let consumer =
        recording_consumer(consumer_config(GROUP, standalone.namesrv), TOPIC, "*", "c", &seen)
            .await;
    let sent = send_all(producer.clone(), TOPIC.to_string(), 40, "reset").await;
    wait_for("every message once", || {
        let ids = seen.ids();
        sent.iter().all(|id| ids.contains(id))
    })
    .await;

    let mut admin_config = ClientConfig::with_namesrv(standalone.namesrv.to_string());
    admin_config.mq_client_api_timeout = Duration::from_secs(10);
    let admin = Admin::new(admin_config).unwrap();
    admin.reset_offset_by_time(TOPIC, GROUP, 0, true).await.unwrap();
    wait_for("every message a second time", || {
        let all = seen.all();
        sent.iter().all(|id| all.iter().filter(|(_, seen_id, ..)| seen_id == id).count() >= 2)
    })
    .await;
    consumer.shutdown().await;
    admin.shutdown().await;
    producer.shutdown().await;
}
