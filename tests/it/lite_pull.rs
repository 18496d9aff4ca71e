//! `ferromq_client::LitePullConsumer` against a real `ferromq standalone`: assigned queues
//! are read completely and in queue order, and seeks (back, to the beginning, to the end,
//! out of range) move exactly where asked even with batches buffered; two subscribed members
//! share a topic's queues and its tagged messages; committed offsets are where a new member
//! of the group resumes, and auto-commit commits at shutdown; paused queues hand out nothing
//! until resumed; a broker restart mid-stream loses nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferromq_client::{
    ClientError, ConsumeFromWhere, LitePullConsumer, LitePullConsumerConfig, Message, MessageExt,
    MessageQueue, Producer, ProducerConfig,
};

use crate::support::{BrokerProcess, Namesrv, Standalone};

/// How long any one condition may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(90);
/// How long one poll waits in these tests.
const POLL: Duration = Duration::from_millis(200);

fn consumer_config(group: &str, namesrv: impl ToString) -> LitePullConsumerConfig {
    let mut config = LitePullConsumerConfig::new(group, namesrv.to_string());
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    config.client.mq_client_api_timeout = Duration::from_secs(10);
    config.client.heartbeat_broker_interval = Duration::from_secs(2);
    config.client.persist_consumer_offset_interval = Duration::from_secs(1);
    config.client.poll_name_server_interval = Duration::from_secs(2);
    config.rebalance_interval = Duration::from_secs(2);
    config
}

fn producer_config(group: &str, namesrv: impl ToString) -> ProducerConfig {
    let mut config = ProducerConfig::new(group, namesrv.to_string());
    config.send_msg_timeout = Duration::from_secs(10);
    config.client.mq_client_api_timeout = Duration::from_secs(10);
    config.default_topic_queue_nums = 4;
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

/// Creates `topic` with a first message (retried: the broker may not be registered yet);
/// returns the topic's queues and where the first message went.
async fn warm_up(producer: &Producer, topic: &str) -> (Vec<MessageQueue>, Place) {
    let deadline = Instant::now() + PATIENCE;
    let first = loop {
        match producer.send(Message::new(topic, "warm-up").with_tags("warm-up")).await {
            Ok(result) => break (result.queue.queue_id, result.queue_offset),
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot create {topic}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let mut queues = producer.publish_queues(topic).await.unwrap();
    queues.sort();
    (queues, first)
}

/// A message's place: (queue id, queue offset).
type Place = (i32, i64);

fn place(message: &MessageExt) -> Place {
    (message.queue_id, message.queue_offset)
}

fn body(message: &MessageExt) -> String {
    String::from_utf8_lossy(message.body()).into_owned()
}

/// Sends `count` messages to `queue` with bodies `<prefix> <i>`; returns place → body.
async fn send_to(
    producer: &Producer,
    queue: &MessageQueue,
    count: usize,
    prefix: &str,
) -> BTreeMap<Place, String> {
    let mut sent = BTreeMap::new();
    for i in 0..count {
        let text = format!("{prefix} {i}");
        let message = Message::new(queue.topic.clone(), text.clone());
        let result = producer.send_to_queue(message, queue).await.unwrap();
        sent.insert((result.queue.queue_id, result.queue_offset), text);
    }
    sent
}

/// Polls until `done` says the messages polled so far are enough; returns them in poll
/// order, checking that every batch comes from one queue.
async fn poll_until(
    consumer: &LitePullConsumer,
    what: &str,
    mut done: impl FnMut(&[MessageExt]) -> bool,
) -> Vec<MessageExt> {
    let deadline = Instant::now() + PATIENCE;
    let mut got = Vec::new();
    while !done(&got) {
        assert!(Instant::now() < deadline, "timed out polling for {what}; got {}", got.len());
        let batch = consumer.poll(POLL).await.unwrap();
        assert!(batch.len() <= consumer.config().pull_batch_size as usize);
        let queues: BTreeSet<i32> = batch.iter().map(|m| m.queue_id).collect();
        assert!(queues.len() <= 1, "one batch, one queue: {queues:?}");
        got.extend(batch);
    }
    got
}

/// Asserts each queue's messages came in strictly increasing offset order.
fn assert_queue_order(messages: &[MessageExt]) {
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for message in messages {
        if let Some(previous) = last.insert(message.queue_id, message.queue_offset) {
            assert!(
                previous < message.queue_offset,
                "queue {} went {previous} → {}",
                message.queue_id,
                message.queue_offset
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn assigned_queues_are_read_in_order_and_seeks_move_exactly() {
    const TOPIC: &str = "LiteAssign";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("lite-as-producer", standalone.namesrv)).await.unwrap();
    let (queues, warm) = warm_up(&producer, TOPIC).await;
    assert_eq!(queues.len(), 4);
    let mut sent: BTreeMap<Place, String> = BTreeMap::new();
    for queue in &queues {
        sent.extend(send_to(&producer, queue, 12, &format!("q{}", queue.queue_id)).await);
    }

    let mut config = consumer_config("lite-assign", standalone.namesrv);
    config.pull_batch_size = 3;
    let consumer = LitePullConsumer::new(config).unwrap();
    consumer.start().await.unwrap();
    let found = consumer.fetch_message_queues(TOPIC).await.unwrap();
    assert_eq!(found, queues);
    consumer.assign(found.clone()).unwrap();
    assert!(consumer.subscribe(TOPIC, "*").is_err(), "subscribe and assign are exclusive");

    // Everything, each queue in order.
    sent.insert(warm, "warm-up".into());
    let all = poll_until(&consumer, "every message", |got| got.len() >= sent.len()).await;
    assert_eq!(all.len(), sent.len(), "nothing twice");
    assert_queue_order(&all);
    let got: BTreeMap<Place, String> = all.iter().map(|m| (place(m), body(m))).collect();
    assert_eq!(got, sent);

    // Back to the 4th message of a queue whose everything was polled.
    let q = found[1].clone();
    let of_q: Vec<(i64, String)> = sent
        .iter()
        .filter(|((id, _), _)| *id == q.queue_id)
        .map(|((_, o), b)| (*o, b.clone()))
        .collect();
    let (last_offset, _) = of_q.last().cloned().unwrap();
    let from = of_q[3].0;
    consumer.seek(&q, from).await.unwrap();
    let again = poll_until(&consumer, "q again from the sought offset", |got| {
        got.last().is_some_and(|m| m.queue_offset == last_offset)
    })
    .await;
    let again: Vec<(i64, String)> = again.iter().map(|m| (m.queue_offset, body(m))).collect();
    assert_eq!(again, of_q[3..].to_vec(), "exactly the messages from the sought offset on");

    // From the beginning, with batches buffered when seeking forward again: what was
    // buffered before the seek must not come out.
    consumer.seek_to_begin(&q).await.unwrap();
    let q_count = of_q.len();
    assert_eq!(of_q[0].0, 0);
    wait_for("q's messages to be buffered again", || {
        consumer.buffered().get(&q).is_some_and(|(n, _)| *n == q_count)
    })
    .await;
    let first = consumer.poll(POLL).await.unwrap();
    assert_eq!(first.first().map(|m| m.queue_offset), Some(0), "from the beginning");
    let from = of_q[6].0;
    consumer.seek(&q, from).await.unwrap();
    let after = poll_until(&consumer, "q from the second seek", |got| {
        got.last().is_some_and(|m| m.queue_offset == last_offset)
    })
    .await;
    let after: Vec<(i64, String)> = after.iter().map(|m| (m.queue_offset, body(m))).collect();
    assert_eq!(after, of_q[6..].to_vec(), "nothing buffered before the seek came out");

    // To the end: only what is sent later.
    consumer.seek_to_begin(&q).await.unwrap();
    consumer.seek_to_end(&q).await.unwrap();
    let later = send_to(&producer, &q, 1, "later").await;
    let next =
        poll_until(&consumer, "the message sent after seek_to_end", |got| !got.is_empty()).await;
    let next: BTreeMap<Place, String> = next.iter().map(|m| (place(m), body(m))).collect();
    assert_eq!(next, later);

    // Out of range, and unassigned queues, are errors.
    let end = last_offset + 2;
    for bad in [-1, end + 1] {
        let err = consumer.seek(&q, bad).await.unwrap_err();
        assert!(matches!(err, ClientError::InvalidArgument(_)), "{bad}: {err}");
    }
    let stranger = MessageQueue::new(TOPIC, q.broker_name.clone(), 99);
    assert!(matches!(consumer.seek(&stranger, 0).await, Err(ClientError::InvalidArgument(_))));
    consumer.shutdown().await;
    assert!(matches!(consumer.poll(POLL).await, Err(ClientError::State(_))));
    producer.shutdown().await;
}

/// One polled message: (member, msg id, tag).
type Polled = (String, String, Option<String>);

/// Polled messages of a group.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Polled>>>);

impl Seen {
    fn ids(&self) -> BTreeSet<String> {
        self.0.lock().unwrap().iter().map(|(_, id, _)| id.clone()).collect()
    }

    fn by(&self, member: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|(m, ..)| m == member).count()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Polls `consumer` into `seen` until `stop` is set.
fn poll_in_background(
    consumer: LitePullConsumer,
    name: &str,
    seen: &Seen,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (name, seen, stop) = (name.to_string(), seen.clone(), Arc::clone(stop));
    tokio::spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            let batch = consumer.poll(POLL).await.unwrap();
            let mut seen = seen.0.lock().unwrap();
            for message in batch {
                let tag = message.tags().map(String::from);
                seen.push((name.clone(), message.msg_id().to_string(), tag));
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribed_members_share_the_queues_and_the_tagged_messages() {
    const TOPIC: &str = "LiteSubscribe";
    const GROUP: &str = "lite-subscribe";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("lite-sub-producer", standalone.namesrv)).await.unwrap();
    let (queues, _) = warm_up(&producer, TOPIC).await;
    let start = |name: &str| {
        let mut config = consumer_config(GROUP, standalone.namesrv);
        config.client.instance_name = name.to_string();
        let consumer = LitePullConsumer::new(config).unwrap();
        consumer.subscribe(TOPIC, "TagA || TagB").unwrap();
        consumer
    };
    let (c1, c2) = (start("lite-c1"), start("lite-c2"));
    assert!(c1.assign(queues.clone()).is_err(), "subscribe and assign are exclusive");
    let (seen, stop) = (Seen::default(), Arc::new(AtomicBool::new(false)));
    c1.start().await.unwrap();
    let p1 = poll_in_background(c1.clone(), "c1", &seen, &stop);

    let mut wanted = BTreeSet::new();
    // Message i, and whether the subscription wants it.
    let send = |i: usize| {
        let message = Message::new(TOPIC, format!("m{i}"));
        match i % 4 {
            0 => (true, message.with_tags("TagA")),
            1 => (true, message.with_tags("TagB")),
            2 => (false, message.with_tags("TagC")),
            _ => (false, message),
        }
    };
    // Half while c1 is alone, then c2 joins while the rest is sent.
    for i in 0..200 {
        let (want, message) = send(i);
        let result = producer.send(message).await.unwrap();
        if want {
            wanted.insert(result.msg_id);
        }
    }
    wait_for("c1 to poll", || seen.by("c1") > 0).await;
    c2.start().await.unwrap();
    let p2 = poll_in_background(c2.clone(), "c2", &seen, &stop);
    for i in 200..400 {
        let (want, message) = send(i);
        let result = producer.send(message).await.unwrap();
        if want {
            wanted.insert(result.msg_id);
        }
    }
    wait_for("the queues to be split", || {
        let (a, b): (BTreeSet<_>, BTreeSet<_>) =
            (c1.assignment().into_iter().collect(), c2.assignment().into_iter().collect());
        !a.is_empty() && !b.is_empty() && a.is_disjoint(&b) && a.len() + b.len() == queues.len()
    })
    .await;
    // After the split, more for both.
    for i in 400..600 {
        let (want, message) = send(i);
        let result = producer.send(message).await.unwrap();
        if want {
            wanted.insert(result.msg_id);
        }
    }
    wait_for("every TagA and TagB message", || seen.ids() == wanted).await;
    stop.store(true, Ordering::SeqCst);
    p1.await.unwrap();
    p2.await.unwrap();
    c1.shutdown().await;
    c2.shutdown().await;

    let all = seen.0.lock().unwrap().clone();
    let tags: BTreeSet<Option<String>> = all.iter().map(|(_, _, t)| t.clone()).collect();
    let expected_tags: BTreeSet<Option<String>> =
        [Some("TagA".to_string()), Some("TagB".to_string())].into_iter().collect();
    assert_eq!(tags, expected_tags, "only TagA and TagB");
    assert_eq!(seen.ids(), wanted, "nothing lost, nothing else");
    let duplicates = seen.len() - wanted.len();
    println!(
        "lite subscribe: {} wanted, c1 {} c2 {}, {duplicates} duplicates",
        wanted.len(),
        seen.by("c1"),
        seen.by("c2")
    );
    assert!(seen.by("c2") > 0, "c2 took part");
    // Duplicates come only from the moment both members held a queue.
    assert!(duplicates <= wanted.len() / 2, "{duplicates} duplicates");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_member_resumes_from_the_committed_offsets() {
    const TOPIC: &str = "LiteCommit";
    const GROUP: &str = "lite-commit";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("lite-cm-producer", standalone.namesrv)).await.unwrap();
    let (queues, warm) = warm_up(&producer, TOPIC).await;
    let mut sent: BTreeMap<Place, String> = BTreeMap::new();
    for queue in &queues {
        sent.extend(send_to(&producer, queue, 10, &format!("q{}", queue.queue_id)).await);
    }
    sent.insert(warm, "warm-up".into());
    let total = sent.len();
    let config = |auto_commit: bool| {
        let mut config = consumer_config(GROUP, standalone.namesrv);
        config.auto_commit = auto_commit;
        config.pull_batch_size = 4;
        config
    };

    // A commits part of what it read by hand, reads more, and leaves without committing it.
    let a = LitePullConsumer::new(config(false)).unwrap();
    a.subscribe(TOPIC, "*").unwrap();
    a.start().await.unwrap();
    let read = poll_until(&a, "half of the messages", |got| got.len() >= total / 2).await;
    a.commit_sync().await.unwrap();
    let mut committed = BTreeMap::new();
    for queue in &queues {
        // A queue not started yet has nothing committed: it starts at 0 (FIRST).
        let offset = a.committed(queue).await.unwrap().unwrap_or(0);
        let polled = read.iter().filter(|m| m.queue_id == queue.queue_id).map(|m| m.queue_offset);
        assert_eq!(offset, polled.max().map_or(0, |o| o + 1), "{queue:?}: what was polled");
        committed.insert(queue.queue_id, offset);
    }
    let more = poll_until(&a, "a few more", |got| !got.is_empty()).await;
    assert!(!more.is_empty());
    a.shutdown().await;

    // B, same group, resumes exactly at the committed offsets: the uncommitted tail again,
    // nothing before it.
    let expected: BTreeSet<Place> =
        sent.keys().filter(|(id, offset)| *offset >= committed[id]).cloned().collect();
    let b = LitePullConsumer::new(config(true)).unwrap();
    b.subscribe(TOPIC, "*").unwrap();
    b.start().await.unwrap();
    let read = poll_until(&b, "the uncommitted messages", |got| {
        let places: BTreeSet<Place> = got.iter().map(place).collect();
        places.is_superset(&expected)
    })
    .await;
    assert_queue_order(&read);
    let places: Vec<Place> = read.iter().map(place).collect();
    let distinct: BTreeSet<Place> = places.iter().cloned().collect();
    assert_eq!(distinct, expected, "resumed at the committed offsets");
    assert_eq!(places.len(), expected.len(), "nothing twice");
    // B commits what it polled when it shuts down (auto-commit).
    b.shutdown().await;

    let c = LitePullConsumer::new(config(true)).unwrap();
    c.subscribe(TOPIC, "*").unwrap();
    c.start().await.unwrap();
    wait_for("c to hold every queue", || c.assignment().len() == queues.len()).await;
    let last = send_to(&producer, &queues[0], 1, "after").await;
    let next = poll_until(&c, "the message sent after b left", |got| !got.is_empty()).await;
    let next: BTreeMap<Place, String> = next.iter().map(|m| (place(m), body(m))).collect();
    assert_eq!(next, last, "b's reads were committed at shutdown");
    c.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paused_queues_hand_out_nothing_until_resumed() {
    const TOPIC: &str = "LitePause";
    let standalone = Standalone::start();
    let producer =
        Producer::start(producer_config("lite-pa-producer", standalone.namesrv)).await.unwrap();
    let (queues, warm) = warm_up(&producer, TOPIC).await;
    let (q0, q1) = (queues[0].clone(), queues[1].clone());

    let consumer =
        LitePullConsumer::new(consumer_config("lite-pause", standalone.namesrv)).unwrap();
    // Assigned before start: the pull tasks start with the consumer.
    consumer.assign([q0.clone(), q1.clone()]).unwrap();
    consumer.pause(std::slice::from_ref(&q0));
    consumer.start().await.unwrap();
    assert!(consumer.is_paused(&q0) && !consumer.is_paused(&q1));

    let mut sent0 = send_to(&producer, &q0, 10, "paused").await;
    let mut sent1 = send_to(&producer, &q1, 10, "running").await;
    for (queue, sent) in [(&q0, &mut sent0), (&q1, &mut sent1)] {
        if warm.0 == queue.queue_id {
            sent.insert(warm, "warm-up".into());
        }
    }
    let got = poll_until(&consumer, "q1's messages", |got| {
        got.iter().filter(|m| m.queue_id == q1.queue_id).count() >= sent1.len()
    })
    .await;
    // And some more polls while q0 is paused.
    let mut got = got;
    for _ in 0..5 {
        got.extend(consumer.poll(POLL).await.unwrap());
    }
    assert!(got.iter().all(|m| m.queue_id == q1.queue_id), "nothing from the paused queue");
    let got1: BTreeMap<Place, String> = got.iter().map(|m| (place(m), body(m))).collect();
    assert_eq!(got1, sent1);

    consumer.resume(std::slice::from_ref(&q0));
    assert!(!consumer.is_paused(&q0));
    let got =
        poll_until(&consumer, "q0's messages after the resume", |got| got.len() >= sent0.len())
            .await;
    assert_queue_order(&got);
    let got0: BTreeMap<Place, String> = got.iter().map(|m| (place(m), body(m))).collect();
    assert_eq!(got0, sent0);
    consumer.shutdown().await;
    producer.shutdown().await;
}

/// Sends `count` messages to `topic`, retrying each until the broker takes it; returns the
/// ids acknowledged.
async fn send_retrying(producer: Producer, topic: &str, count: usize) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for i in 0..count {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match producer.send(Message::new(topic, format!("rs {i}"))).await {
                Ok(result) => {
                    ids.insert(result.msg_id);
                    break;
                }
                Err(e) => {
                    assert!(Instant::now() < deadline, "send {i} never succeeded: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        // Pace the flow so that it lasts across the restart.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_restart_mid_stream_loses_nothing() {
    const TOPIC: &str = "LiteRestart";
    let namesrv = Namesrv::start("");
    let mut broker = BrokerProcess::start(namesrv.addr, "broker-lr", "");
    let producer =
        Producer::start(producer_config("lite-rs-producer", namesrv.addr)).await.unwrap();
    warm_up(&producer, TOPIC).await;
    let consumer = LitePullConsumer::new(consumer_config("lite-restart", namesrv.addr)).unwrap();
    consumer.subscribe(TOPIC, "*").unwrap();
    consumer.start().await.unwrap();
    let (seen, stop) = (Seen::default(), Arc::new(AtomicBool::new(false)));
    let poller = poll_in_background(consumer.clone(), "c", &seen, &stop);
    let sender = tokio::spawn(send_retrying(producer.clone(), TOPIC, 1500));
    wait_for("consumption to start", || seen.len() >= 100).await;
    let before = seen.len();
    broker.kill_and_restart();
    wait_for("consumption after the restart", || seen.len() >= before + 100).await;
    let sent = sender.await.unwrap();
    wait_for("every acknowledged message", || seen.ids().is_superset(&sent)).await;
    stop.store(true, Ordering::SeqCst);
    poller.await.unwrap();
    consumer.shutdown().await;
    println!(
        "lite restart: {} sent, {before} polled before the restart, {} polls",
        sent.len(),
        seen.len()
    );
    producer.shutdown().await;
}
