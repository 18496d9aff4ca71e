//! `ferromq_client::Producer` against real processes: every send mode stores what was sent,
//! a dead broker is retried elsewhere, and missing routes are clear errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_client::admin::Target;
use ferromq_client::{ClientError, Message, MessageQueue, Producer, ProducerConfig, SelectByHash};
use ferromq_protocol::body::{TopicConfig, TopicRouteData};
use ferromq_protocol::headers::{
    CommandHeader, GetRouteInfoRequestHeader, PullMessageRequestHeader,
};
use ferromq_protocol::message::{decompress_body, property, StoredMessage};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::RemotingClient;

use crate::support::{BrokerProcess, Namesrv, Standalone};

/// Every message stored in `topic` queues `0..queues` of the broker at `broker`, by queue.
async fn read_topic(broker: &str, topic: &str, queues: i32) -> BTreeMap<i32, Vec<StoredMessage>> {
    let client = RemotingClient::new(ferromq_remoting::ClientConfig::default());
    let mut all = BTreeMap::new();
    for queue_id in 0..queues {
        let mut offset = 0;
        let mut messages = Vec::new();
        loop {
            let header = PullMessageRequestHeader::peek("reader", topic, queue_id, offset, 32);
            let request = RemotingCommand::request(RequestCode::PULL_MESSAGE)
                .with_ext_fields(header.to_ext());
            let response = client.invoke(broker, request, Duration::from_secs(10)).await.unwrap();
            if response.response_code() != ResponseCode::SUCCESS {
                break;
            }
            let batch = StoredMessage::decode_all(response.body.clone()).unwrap();
            offset += batch.len() as i64;
            messages.extend(batch);
        }
        all.insert(queue_id, messages);
    }
    all
}

/// Waits until the name server routes `topic` to `count` broker groups.
async fn wait_for_brokers(namesrv: std::net::SocketAddr, topic: &str, count: usize) {
    let client = RemotingClient::new(ferromq_remoting::ClientConfig::default());
    let header = GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let request = RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
            .with_ext_fields(header.to_ext());
        let response = client.invoke(&namesrv.to_string(), request, Duration::from_secs(5)).await;
        let brokers = response
            .ok()
            .filter(|r| r.response_code() == ResponseCode::SUCCESS)
            .and_then(|r| TopicRouteData::from_json(&r.body).ok())
            .map_or(0, |route| route.broker_datas.len());
        if brokers >= count {
            return;
        }
        assert!(Instant::now() < deadline, "{topic} never reached {count} brokers");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A producer's settings for tests: generous timeouts, for loaded CI machines.
fn producer_config(group: &str, namesrv: impl ToString) -> ProducerConfig {
    let mut config = ProducerConfig::new(group, namesrv.to_string());
    config.send_msg_timeout = Duration::from_secs(10);
    config.client.mq_client_api_timeout = Duration::from_secs(10);
    config
}

fn uniq(message: &StoredMessage) -> &str {
    message.properties.get(property::UNIQ_KEY).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_mode_stores_what_was_sent() {
    const TOPIC: &str = "ProducerModes";
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let config = producer_config("modes-producer", standalone.namesrv);
    let producer = Producer::start(config).await.unwrap();

    // Sync, to a new topic (auto-created through TBW102's route).
    let message = Message::new(TOPIC, "sync body")
        .with_tags("TagA")
        .with_keys(["k1", "k2"])
        .with_property("color", "blue")
        .unwrap();
    let sync = producer.send(message).await.unwrap();
    assert_eq!(sync.status, ferromq_client::SendStatus::SendOk);
    assert_eq!(sync.queue.topic, TOPIC);

    // A large body travels compressed and is stored as sent (compressed, flagged).
    let large: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let compressed = producer.send(Message::new(TOPIC, large.clone())).await.unwrap();

    // To a chosen queue; by key selector; as a batch.
    let queues = producer.publish_queues(TOPIC).await.unwrap();
    assert_eq!(queues.len(), 4, "defaultTopicQueueNums");
    let chosen = MessageQueue::new(TOPIC, queues[2].broker_name.clone(), 2);
    let to_queue =
        producer.send_to_queue(Message::new(TOPIC, "to queue 2"), &chosen).await.unwrap();
    assert_eq!(to_queue.queue.queue_id, 2);
    let mut ordered = Vec::new();
    for step in 0..10 {
        let message = Message::new(TOPIC, format!("order-7 step {step}"));
        ordered.push(
            producer.send_with_selector(message, &SelectByHash("order-7".into())).await.unwrap(),
        );
    }
    assert!(ordered.iter().all(|r| r.queue == ordered[0].queue), "one key, one queue");
    assert!(ordered.windows(2).all(|w| w[1].queue_offset == w[0].queue_offset + 1));
    let batch: Vec<Message> = (0..10).map(|i| Message::new(TOPIC, format!("batch {i}"))).collect();
    let batch = producer.send_batch(batch).await.unwrap();
    assert_eq!(batch.msg_id.split(',').count(), 10);

    // Callback sends: every callback reports its outcome.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..100 {
        let tx = tx.clone();
        let message = Message::new(TOPIC, format!("callback {i}"));
        producer.send_with_callback(message, move |r| tx.send(r).unwrap()).await.unwrap();
    }
    let mut callbacks = Vec::new();
    for _ in 0..100 {
        callbacks.push(rx.recv().await.unwrap().unwrap());
    }

    // One-way sends: no answer, but they are stored.
    for i in 0..10 {
        producer.send_oneway(Message::new(TOPIC, format!("oneway {i}"))).await.unwrap();
    }

    // A message the broker would refuse is refused before it is sent.
    let empty = producer.send(Message::new(TOPIC, Bytes::new())).await.unwrap_err();
    assert!(matches!(empty, ClientError::InvalidMessage(_)), "{empty}");

    // Everything is in the broker, as sent.
    let expected_total = 1 + 1 + 1 + 10 + 10 + 100 + 10;
    let deadline = Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let stored = read_topic(&broker, TOPIC, 4).await;
        let total: usize = stored.values().map(Vec::len).sum();
        if total == expected_total || Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let by_id: BTreeMap<&str, &StoredMessage> =
        stored.values().flatten().map(|m| (uniq(m), m)).collect();
    assert_eq!(by_id.len(), expected_total, "every message stored once");
    let first = by_id[sync.msg_id.as_str()];
    assert_eq!(first.body.as_ref(), b"sync body");
    assert_eq!(first.properties.tags(), Some("TagA"));
    assert_eq!(first.properties.get(property::KEYS), Some("k1 k2"));
    assert_eq!(first.properties.get("color"), Some("blue"));
    assert_eq!(first.queue_offset, sync.queue_offset);
    let big = by_id[compressed.msg_id.as_str()];
    assert!(big.body.len() < large.len(), "stored compressed");
    let (_, inflated) = decompress_body(big.sys_flag, big.body.clone(), 1 << 20).unwrap();
    assert_eq!(inflated.as_ref(), large.as_slice());
    assert_eq!(by_id[to_queue.msg_id.as_str()].queue_id, 2);
    let in_queue: Vec<&str> = stored[&ordered[0].queue.queue_id]
        .iter()
        .filter(|m| m.body.starts_with(b"order-7"))
        .map(|m| std::str::from_utf8(&m.body).unwrap())
        .collect();
    let sent: Vec<String> = (0..10).map(|s| format!("order-7 step {s}")).collect();
    assert_eq!(in_queue, sent, "stored in send order");
    for (i, id) in batch.msg_id.split(',').enumerate() {
        let message = by_id[id];
        assert_eq!(message.body, format!("batch {i}").as_bytes());
        assert_eq!(message.queue_offset, batch.queue_offset + i as i64);
    }
    for result in &callbacks {
        assert!(by_id.contains_key(result.msg_id.as_str()));
    }
    producer.shutdown().await;
    let after = producer.send(Message::new(TOPIC, "late")).await.unwrap_err();
    assert!(matches!(after, ClientError::State(_)), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_broker_is_retried_elsewhere() {
    const TOPIC: &str = "ProducerFailover";
    let namesrv = Namesrv::start("");
    let mut a = BrokerProcess::start(namesrv.addr, "broker-a", "");
    let b = BrokerProcess::start(namesrv.addr, "broker-b", "");
    wait_for_brokers(namesrv.addr, "TBW102", 2).await;
    // The topic is created on both brokers first: auto-created by sends, it would live on
    // whichever broker took the first one once the producer refreshed its route, as in
    // RocketMQ.
    let admin = ferromq_client::Admin::new(ferromq_client::ClientConfig {
        mq_client_api_timeout: Duration::from_secs(10),
        ..ferromq_client::ClientConfig::with_namesrv(namesrv.addr.to_string())
    })
    .unwrap();
    let topic = TopicConfig { read_queue_nums: 4, write_queue_nums: 4, ..TopicConfig::new(TOPIC) };
    let written = admin.create_topic(&Target::Cluster("DefaultCluster".into()), &topic).await;
    assert_eq!(written.unwrap().len(), 2, "created on both brokers");
    wait_for_brokers(namesrv.addr, TOPIC, 2).await;
    let config = producer_config("failover-producer", namesrv.addr);
    let producer = Producer::start(config).await.unwrap();
    assert_eq!(producer.publish_queues(TOPIC).await.unwrap().len(), 8, "4 queues on each");
    // Sends go round the queues of both brokers. (A broker whose first answer was slow, as
    // on a loaded machine, is avoided for a few seconds: keep sending until both were used.)
    let mut brokers_used = std::collections::BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut i = 0;
    while brokers_used.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "only {brokers_used:?} took sends");
        let result = producer.send(Message::new(TOPIC, format!("before {i}"))).await.unwrap();
        brokers_used.insert(result.queue.broker_name);
        i += 1;
    }

    // broker-a dies; the name server still lists it, so the producer must retry elsewhere.
    a.process.kill9();
    for i in 0..40 {
        let result = producer.send(Message::new(TOPIC, format!("after {i}"))).await.unwrap();
        assert_eq!(result.queue.broker_name, "broker-b", "send {i}");
    }
    let stored: usize = read_topic(&b.addr.to_string(), TOPIC, 4)
        .await
        .values()
        .flatten()
        .filter(|m| m.body.starts_with(b"after"))
        .count();
    assert_eq!(stored, 40);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_routes_and_name_servers_are_clear_errors() {
    let namesrv = Namesrv::start("");
    let _broker = BrokerProcess::start(namesrv.addr, "broker-x", "autoCreateTopicEnable = false");
    let config = producer_config("route-producer", namesrv.addr);
    let producer = Producer::start(config).await.unwrap();
    let error = producer.send(Message::new("NobodyServesThis", "x")).await.unwrap_err();
    assert!(matches!(error, ClientError::NoRoute { .. }), "{error}");
    producer.shutdown().await;

    let nowhere = format!("127.0.0.1:{}", ferromq_testkit::free_port());
    let producer = Producer::start(ProducerConfig::new("lost-producer", nowhere)).await.unwrap();
    let error = producer.send(Message::new("AnyTopic", "x")).await.unwrap_err();
    assert!(matches!(error, ClientError::Remoting(_)), "{error}");
    producer.shutdown().await;

    let bad = ProducerConfig::new("bad group name!", namesrv.addr.to_string());
    assert!(matches!(Producer::start(bad).await.unwrap_err(), ClientError::Config(_)));
}
