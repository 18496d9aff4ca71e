//! Consumer retry and delay levels over the wire, inside `ferromq standalone` with short
//! delay levels: a delayed send reaches its queue later; a sent-back message comes back in
//! the group's retry topic, or lands in its dead-letter topic once it failed too often;
//! delayed messages survive a kill -9.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::headers::*;
use ferromq_protocol::message::{property, Properties, StoredMessage};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{ClientConfig, RemotingClient};
use ferromq_store::meta::DelayOffsets;

use crate::support::Standalone;

const CALL: Duration = Duration::from_secs(10);
/// How long a delayed message may take to show up (levels are seconds; the machine is busy).
const ARRIVAL: Duration = Duration::from_secs(60);
const GROUP: &str = "retry-test-group";
/// Short levels for speed, and quick progress writes for the restart test.
const CONFIG: &str = "autoCreateTopicEnable = true\n\
                      messageDelayLevel = \"1s 2s 3s\"\n\
                      flushDelayOffsetInterval = 200\n\
                      flushCommitLogThoroughInterval = 1000\n";

struct Send<'a> {
    topic: &'a str,
    queue_id: i32,
    key: &'a str,
    body: &'a str,
    delay: Option<&'a str>,
    reconsume_times: i32,
}

impl<'a> Send<'a> {
    fn new(topic: &'a str, key: &'a str, body: &'a str) -> Self {
        Send { topic, queue_id: 0, key, body, delay: None, reconsume_times: 0 }
    }

    fn request(&self) -> RemotingCommand {
        let mut properties = Properties::new();
        properties.insert(property::KEYS, self.key);
        properties.insert(property::TAGS, "TagA");
        properties.insert(property::UNIQ_KEY, format!("UNIQ-{}", self.key));
        if let Some(delay) = self.delay {
            properties.insert(property::DELAY, delay);
        }
        let header = SendMessageRequestHeaderV2::from(SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: self.topic.into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: self.queue_id,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some(properties.encode()),
            reconsume_times: Some(self.reconsume_times),
            unit_mode: Some(false),
            batch: Some(false),
            max_reconsume_times: None,
            broker_name: None,
        });
        RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
            .with_ext_fields(header.to_ext())
            .with_body(Bytes::from(self.body.to_string()))
    }
}

fn send_back(msg: &StoredMessage, delay_level: i32, max: Option<i32>) -> RemotingCommand {
    send_back_as(GROUP, msg.physical_offset, delay_level, max)
}

fn send_back_as(group: &str, offset: i64, delay_level: i32, max: Option<i32>) -> RemotingCommand {
    let header = ConsumerSendMsgBackRequestHeader {
        offset,
        group: group.into(),
        delay_level,
        origin_msg_id: None,
        origin_topic: None,
        unit_mode: false,
        max_reconsume_times: max,
    };
    RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK).with_ext_fields(header.to_ext())
}

async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, CALL).await.unwrap()
}

/// Sends and checks the answer is SUCCESS; returns the response header.
async fn send_ok(
    client: &RemotingClient,
    broker: &str,
    send: Send<'_>,
) -> SendMessageResponseHeader {
    let r = call(client, broker, send.request()).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    SendMessageResponseHeader::from_command(&r).unwrap()
}

/// Every message of `topic`'s queue 0 from offset 0 (no long polling).
async fn pull_all(client: &RemotingClient, broker: &str, topic: &str) -> Vec<StoredMessage> {
    let mut all = Vec::new();
    loop {
        let header = PullMessageRequestHeader::peek(GROUP, topic, 0, all.len() as i64, 32);
        let request =
            RemotingCommand::request(RequestCode::PULL_MESSAGE).with_ext_fields(header.to_ext());
        let r = call(client, broker, request).await;
        if r.response_code() != ResponseCode::SUCCESS {
            return all;
        }
        let got = StoredMessage::decode_all(r.body.clone()).unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

/// Polls `topic`'s queue 0 until it holds at least `count` messages.
async fn wait_for(
    client: &RemotingClient,
    broker: &str,
    topic: &str,
    count: usize,
) -> Vec<StoredMessage> {
    let deadline = Instant::now() + ARRIVAL;
    loop {
        let all = pull_all(client, broker, topic).await;
        if all.len() >= count {
            return all;
        }
        assert!(Instant::now() < deadline, "{topic}: {} of {count} messages arrived", all.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_message_reaches_its_queue_later() {
    let standalone = Standalone::start_with_config(CONFIG);
    let broker = standalone.broker.to_string();
    let client = RemotingClient::new(ClientConfig::default());

    let mut send = Send::new("DelayTopic", "k1", "later");
    send.delay = Some("1");
    let sent = send_ok(&client, &broker, send).await;
    assert_eq!(sent.queue_id, 0, "the answer names the real queue");
    assert!(pull_all(&client, &broker, "DelayTopic").await.is_empty(), "not there at once");

    let arrived = wait_for(&client, &broker, "DelayTopic", 1).await;
    assert_eq!(arrived.len(), 1);
    let msg = &arrived[0];
    assert_eq!((&msg.body[..], msg.queue_id), (&b"later"[..], 0));
    assert_eq!(msg.properties.get(property::KEYS), Some("k1"));
    assert_eq!(msg.properties.get(property::UNIQ_KEY), Some("UNIQ-k1"));
    // As a Java broker writes it: the schedule record's properties, REAL_* and DELAY kept.
    assert_eq!(msg.properties.get(property::REAL_TOPIC), Some("DelayTopic"));
    assert_eq!(msg.properties.get(property::REAL_QUEUE_ID), Some("0"));
    assert_eq!(msg.properties.get(property::DELAY), Some("1"));

    // A level above the highest waits the highest (3 s here).
    let mut send = Send::new("DelayTopic", "k2", "clamped");
    send.delay = Some("99");
    send_ok(&client, &broker, send).await;
    let arrived = wait_for(&client, &broker, "DelayTopic", 2).await;
    assert_eq!(arrived[1].properties.get(property::DELAY), Some("3"));

    // The progress as RocketMQ's tools read it.
    let deadline = Instant::now() + ARRIVAL;
    loop {
        let request = RemotingCommand::request(RequestCode::GET_ALL_DELAY_OFFSET);
        let r = call(&client, &broker, request).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        let text = String::from_utf8(r.body.to_vec()).unwrap();
        if text.contains(r#""offsetTable":{1:1,3:1}"#) {
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_back_message_comes_back_in_the_retry_topic() {
    let standalone = Standalone::start_with_config(CONFIG);
    let broker = standalone.broker.to_string();
    let client = RemotingClient::new(ClientConfig::default());

    let sent = send_ok(&client, &broker, Send::new("RetryTopic", "k1", "payload")).await;
    let original = wait_for(&client, &broker, "RetryTopic", 1).await.remove(0);
    let r = call(&client, &broker, send_back(&original, 1, Some(16))).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let retry_topic = format!("%RETRY%{GROUP}");
    assert!(pull_all(&client, &broker, &retry_topic).await.is_empty(), "delayed, not at once");

    let retried = wait_for(&client, &broker, &retry_topic, 1).await.remove(0);
    assert_eq!(retried.reconsume_times, 1);
    assert_eq!(&retried.body[..], b"payload");
    let p = &retried.properties;
    assert_eq!(p.get(property::RETRY_TOPIC), Some("RetryTopic"));
    assert_eq!((p.get(property::KEYS), p.get(property::UNIQ_KEY)), (Some("k1"), Some("UNIQ-k1")));
    assert_eq!(p.get(property::ORIGIN_MESSAGE_ID), Some(sent.msg_id.as_str()));
    assert_eq!(p.get(property::TAGS), Some("TagA"));
    assert_eq!(retried.born_timestamp, original.born_timestamp);
    assert_eq!(retried.born_host, original.born_host);

    // Failing again: back once more (level 0 lets the broker choose: 3 + 1, clamped to 3).
    let r = call(&client, &broker, send_back(&retried, 0, Some(16))).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let again = wait_for(&client, &broker, &retry_topic, 2).await.remove(1);
    assert_eq!(again.reconsume_times, 2);
    assert_eq!(again.properties.get(property::RETRY_TOPIC), Some("RetryTopic"));
    assert_eq!(again.properties.get(property::ORIGIN_MESSAGE_ID), Some(sent.msg_id.as_str()));
    assert_eq!(again.properties.get(property::DELAY), Some("3"));

    // An offset where no message starts.
    let r = call(&client, &broker, send_back_as(GROUP, 1 << 40, 1, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap_or_default().contains("look message by offset failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_failures_land_in_the_dead_letter_queue() {
    let standalone = Standalone::start_with_config(CONFIG);
    let broker = standalone.broker.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let dlq = format!("%DLQ%{GROUP}");
    let retry_topic = format!("%RETRY%{GROUP}");

    // The consumer asks for the DLQ (delay level below 0): there at once.
    send_ok(&client, &broker, Send::new("DlqTopic", "k1", "first")).await;
    let first = wait_for(&client, &broker, "DlqTopic", 1).await.remove(0);
    let r = call(&client, &broker, send_back(&first, -1, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let dead = wait_for(&client, &broker, &dlq, 1).await.remove(0);
    assert_eq!((&dead.body[..], dead.reconsume_times), (&b"first"[..], 1));
    assert_eq!(dead.properties.get(property::RETRY_TOPIC), Some("DlqTopic"));
    assert_eq!(dead.properties.get(property::DELAY), Some("0"));

    // Reconsumed once already, with a max of one: the DLQ, not another retry.
    send_ok(&client, &broker, Send::new("DlqTopic", "k2", "second")).await;
    let second = wait_for(&client, &broker, "DlqTopic", 2).await.remove(1);
    call(&client, &broker, send_back(&second, 1, Some(1))).await;
    let retried = wait_for(&client, &broker, &retry_topic, 1).await.remove(0);
    assert_eq!(retried.reconsume_times, 1);
    let r = call(&client, &broker, send_back(&retried, 1, Some(1))).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let dead = wait_for(&client, &broker, &dlq, 2).await.remove(1);
    assert_eq!((&dead.body[..], dead.reconsume_times), (&b"second"[..], 2));
    assert_eq!(dead.properties.get(property::RETRY_TOPIC), Some("DlqTopic"));

    // The client's fallback, a plain send to the retry topic: past the group's max (16) it
    // goes to the DLQ (DELAY=-1); below it, to the retry topic after its delay.
    let mut fallback = Send::new(&retry_topic, "k3", "third");
    fallback.reconsume_times = 17;
    fallback.delay = Some("1");
    send_ok(&client, &broker, fallback).await;
    let dead = wait_for(&client, &broker, &dlq, 3).await.remove(2);
    assert_eq!((&dead.body[..], dead.properties.get(property::DELAY)), (&b"third"[..], Some("-1")));
    let mut fallback = Send::new(&retry_topic, "k4", "fourth");
    fallback.reconsume_times = 3;
    fallback.delay = Some("1");
    send_ok(&client, &broker, fallback).await;
    let retried = wait_for(&client, &broker, &retry_topic, 2).await.remove(1);
    assert_eq!((&retried.body[..], retried.reconsume_times), (&b"fourth"[..], 3));

    // Unknown groups are refused once the broker may no longer create them.
    let off = RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(Bytes::from("autoCreateSubscriptionGroup=false\n"));
    assert_eq!(call(&client, &broker, off).await.response_code(), ResponseCode::SUCCESS);
    let r =
        call(&client, &broker, send_back_as("nobody-group", first.physical_offset, 1, None)).await;
    assert_eq!(r.response_code(), ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_messages_survive_a_kill_and_are_delivered_after_it() {
    const TOPIC: &str = "DelayCrashTopic";
    let standalone = Standalone::start_with_config(CONFIG);
    let client = RemotingClient::new(ClientConfig::default());
    let broker = standalone.broker.to_string();
    let delivered_before: Vec<String> = (0..5).map(|i| format!("a{i}")).collect();
    let waiting: Vec<String> = (0..5).map(|i| format!("b{i}")).collect();

    // A first lot is delivered, and its progress reaches delayOffset.json.
    for body in &delivered_before {
        let mut send = Send::new(TOPIC, body, body);
        send.delay = Some("1");
        send_ok(&client, &broker, send).await;
    }
    wait_for(&client, &broker, TOPIC, delivered_before.len()).await;
    let offsets = standalone.dir.path().join("data/store/config/delayOffset.json");
    let deadline = Instant::now() + ARRIVAL;
    while !offsets.exists() || DelayOffsets::open(&offsets).unwrap().get(1) != Some(5) {
        assert!(Instant::now() < deadline, "the level-1 progress was never written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A second lot waits 3 s; the broker is killed before it is due.
    for body in &waiting {
        let mut send = Send::new(TOPIC, body, body);
        send.delay = Some("3");
        send_ok(&client, &broker, send).await;
    }
    let standalone = standalone.kill_and_restart();
    let broker = standalone.broker.to_string();
    let all = wait_for(&client, &broker, TOPIC, delivered_before.len() + waiting.len()).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for msg in &all {
        *seen.entry(String::from_utf8(msg.body.to_vec()).unwrap()).or_default() += 1;
    }
    for body in &delivered_before {
        assert_eq!(seen.get(body), Some(&1), "{body}: delivered and recorded before the kill");
    }
    for body in &waiting {
        assert!(seen.get(body).is_some_and(|n| *n >= 1), "{body}: never delivered");
    }
}
