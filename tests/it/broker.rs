//! The broker over the wire, inside `ferromq standalone`, driven the way RocketMQ clients
//! drive it: send, route lookup, pull (with long polling), heartbeats, offsets, lookups,
//! locks, and bad requests.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::body::{
    ConsumerData, GetConsumerListByGroupResponseBody, HeartbeatData, LockBatchRequestBody,
    LockBatchResponseBody, MessageQueue, SubscriptionData, TopicRouteData,
};
use ferromq_protocol::headers::*;
use ferromq_protocol::message::{property, Properties, StoredMessage};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{ClientConfig, RemotingClient};

use crate::support::Standalone;

const CALL: Duration = Duration::from_secs(10);
const TOPIC: &str = "BrokerTest";
const GROUP: &str = "broker-test-group";

fn send_request(topic: &str, queue_id: i32, key: &str, tag: &str, body: &str) -> RemotingCommand {
    let mut properties = Properties::new();
    properties.insert(property::KEYS, key);
    properties.insert(property::TAGS, tag);
    properties.insert(property::UNIQ_KEY, format!("UNIQ-{key}"));
    properties.insert("userProp", "v1");
    let header = SendMessageRequestHeaderV2::from(SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(properties.encode()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: None,
        broker_name: None,
    });
    RemotingCommand::request(RequestCode::SEND_MESSAGE_V2)
        .with_ext_fields(header.to_ext())
        .with_body(Bytes::from(body.to_string()))
}

fn pull_request(
    topic: &str,
    queue_id: i32,
    offset: i64,
    expression: &str,
    suspend_ms: i64,
) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: GROUP.into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: PullSysFlag::SUSPEND | PullSysFlag::SUBSCRIPTION,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some(expression.into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    };
    RemotingCommand::request(RequestCode::PULL_MESSAGE).with_ext_fields(header.to_ext())
}

async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, CALL).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_route_pull_and_lookups() {
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let namesrv = standalone.namesrv.to_string();
    let client = RemotingClient::new(ClientConfig::default());

    // A send to a new topic creates it (standalone auto-creates) and answers as RocketMQ.
    let r = call(&client, &broker, send_request(TOPIC, 1, "k1", "TagA", "hello")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let sent = SendMessageResponseHeader::from_command(&r).unwrap();
    assert_eq!((sent.queue_id, sent.queue_offset), (1, 0));
    assert_eq!(sent.msg_id.len(), 32);
    assert_eq!(sent.transaction_id.as_deref(), Some("UNIQ-k1"));
    assert_eq!(r.ext_fields.get("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(r.ext_fields.get("TRACE_ON"), Some("true"));

    // The broker registered the new topic with the name server at once.
    let route_header =
        GetRouteInfoRequestHeader { topic: TOPIC.into(), accept_standard_json_only: Some(true) };
    let deadline = Instant::now() + CALL;
    let route = loop {
        let r = call(
            &client,
            &namesrv,
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
                .with_ext_fields(route_header.to_ext()),
        )
        .await;
        if r.response_code() == ResponseCode::SUCCESS {
            break TopicRouteData::from_json(&r.body).unwrap();
        }
        assert!(Instant::now() < deadline, "topic never reached the name server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(route.broker_datas[0].broker_addrs[&0], broker);
    assert_eq!(route.queue_datas[0].write_queue_nums, 4, "min(requested 4, TBW102's 8)");

    call(&client, &broker, send_request(TOPIC, 1, "k2", "TagB", "world")).await;
    // Pull everything, then only TagB: bodies, keys, tags and user properties intact.
    let r = call(&client, &broker, pull_request(TOPIC, 1, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let pulled = PullMessageResponseHeader::from_command(&r).unwrap();
    assert_eq!((pulled.next_begin_offset, pulled.min_offset, pulled.max_offset), (2, 0, 2));
    let messages = StoredMessage::decode_all(r.body.clone()).unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(&messages[0].body[..], b"hello");
    assert_eq!(messages[0].properties.get(property::KEYS), Some("k1"));
    assert_eq!(messages[0].properties.get("userProp"), Some("v1"));
    assert_eq!(messages[0].properties.get(property::CLUSTER), Some("DefaultCluster"));
    let r = call(&client, &broker, pull_request(TOPIC, 1, 0, "TagB", 0)).await;
    let messages = StoredMessage::decode_all(r.body.clone()).unwrap();
    assert_eq!(
        messages.iter().map(|m| m.body.clone()).collect::<Vec<_>>(),
        vec![Bytes::from("world")]
    );
    // Nothing new: PULL_NOT_FOUND with the four offsets filled in.
    let r = call(&client, &broker, pull_request(TOPIC, 1, 2, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_NOT_FOUND);
    assert_eq!(r.ext_fields.get("nextBeginOffset"), Some("2"));
    assert_eq!(r.ext_fields.get("suggestWhichBrokerId"), Some("0"));
    // Offset too large: moved.
    let r = call(&client, &broker, pull_request(TOPIC, 1, 99, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::PULL_OFFSET_MOVED);

    // By id and by key.
    let view = ViewMessageRequestHeader {
        topic: Some(TOPIC.into()),
        offset: ferromq_protocol::message::OffsetMsgId::decode(&sent.msg_id)
            .unwrap()
            .commit_log_offset,
    };
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID).with_ext_fields(view.to_ext()),
    )
    .await;
    assert_eq!(&StoredMessage::decode_all(r.body.clone()).unwrap()[0].body[..], b"hello");
    let query = QueryMessageRequestHeader {
        topic: TOPIC.into(),
        key: "k2".into(),
        max_num: 32,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        unique_key_query: None,
    };
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::QUERY_MESSAGE).with_ext_fields(query.to_ext()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(&StoredMessage::decode_all(r.body.clone()).unwrap()[0].body[..], b"world");

    // Offsets: committed, then read back; queue offsets.
    let update = UpdateConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 1,
        commit_offset: 2,
    };
    call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET)
            .with_ext_fields(update.to_ext()),
    )
    .await;
    let query = QueryConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: TOPIC.into(),
        queue_id: 1,
        set_zero_if_not_found: Some(false),
    };
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
            .with_ext_fields(query.to_ext()),
    )
    .await;
    assert_eq!(r.ext_fields.get("offset"), Some("2"));
    let max = GetMaxOffsetRequestHeader { topic: TOPIC.into(), queue_id: 1, committed: true };
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_ext_fields(max.to_ext()),
    )
    .await;
    assert_eq!(r.ext_fields.get("offset"), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_pull_is_answered_when_a_message_arrives() {
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let client = std::sync::Arc::new(RemotingClient::new(ClientConfig::default()));
    let r = call(&client, &broker, send_request("LongPoll", 0, "first", "T", "first")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let puller = {
        let (client, broker) = (client.clone(), broker.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let r = client
                .invoke(
                    &broker,
                    pull_request("LongPoll", 0, 1, "*", 20_000),
                    Duration::from_secs(30),
                )
                .await
                .unwrap();
            (r, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await; // let the pull be held
    call(&client, &broker, send_request("LongPoll", 0, "second", "T", "second")).await;
    let (r, waited) = puller.await.unwrap();
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    assert_eq!(&StoredMessage::decode_all(r.body.clone()).unwrap()[0].body[..], b"second");
    // Answered by the arrival, not by the 20 s suspend timeout (a loose functional bound).
    assert!(waited < Duration::from_secs(10), "held pull took {waited:?}");
}

/// More pulls held on one connection than a small in-flight cap would allow (a consumer of
/// a 1,100-queue topic holds one per queue) leave the connection free for other requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_held_pulls_do_not_block_other_requests() {
    const QUEUES: i32 = 1_100;
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let client = std::sync::Arc::new(RemotingClient::new(ClientConfig::default()));
    let create = CreateTopicRequestHeader {
        topic: "ManyQueues".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: QUEUES,
        write_queue_nums: QUEUES,
        perm: 6,
        topic_filter_type: TopicFilterType::SingleTag,
        topic_sys_flag: None,
        order: false,
        attributes: None,
        force: false,
    };
    let request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC)
        .with_ext_fields(create.to_ext());
    let r = call(&client, &broker, request).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    // Every queue gets a pull held for a minute.
    let held: Vec<_> = (0..QUEUES)
        .map(|queue_id| {
            let (client, broker) = (client.clone(), broker.clone());
            tokio::spawn(async move {
                let pull = pull_request("ManyQueues", queue_id, 0, "*", 60_000);
                client.invoke(&broker, pull, Duration::from_secs(90)).await
            })
        })
        .collect();
    // Let them reach the broker and be held (nothing to poll for: they answer nothing yet).
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Sent after them on the same connection, these are answered while they are held.
    let send = send_request("ManyQueues", QUEUES - 1, "late", "T", "late");
    let r = call(&client, &broker, send).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let offset = QueryConsumerOffsetRequestHeader {
        consumer_group: GROUP.into(),
        topic: "ManyQueues".into(),
        queue_id: 0,
        set_zero_if_not_found: None,
    };
    let request = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
        .with_ext_fields(offset.to_ext());
    call(&client, &broker, request).await;
    // The message wakes its queue's pull.
    let last = held.into_iter().last().unwrap().await.unwrap().unwrap();
    assert_eq!(last.response_code(), ResponseCode::SUCCESS, "{:?}", last.remark);
    assert_eq!(&StoredMessage::decode_all(last.body.clone()).unwrap()[0].body[..], b"late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_groups_and_locks() {
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let heartbeat = |client_id: &str| {
        let data = HeartbeatData {
            client_id: client_id.into(),
            consumer_data_set: vec![ConsumerData {
                group_name: GROUP.into(),
                subscription_data_set: vec![SubscriptionData::new(TOPIC, "*")],
                ..ConsumerData::default()
            }],
            ..HeartbeatData::default()
        };
        RemotingCommand::request(RequestCode::HEART_BEAT)
            .with_body(data.to_json())
            .with_serialize_type(SerializeType::RocketMq)
    };
    let r = call(&client, &broker, heartbeat("10.0.0.1@a")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(r.ext_fields.get("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
    call(&client, &broker, heartbeat("10.0.0.2@b")).await;
    let list = GetConsumerListByGroupRequestHeader { consumer_group: GROUP.into() };
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP)
            .with_ext_fields(list.to_ext()),
    )
    .await;
    let ids = GetConsumerListByGroupResponseBody::from_json(&r.body).unwrap().consumer_id_list;
    assert_eq!(ids, vec!["10.0.0.1@a", "10.0.0.2@b"]);

    let mqs: BTreeSet<MessageQueue> =
        (0..2).map(|i| MessageQueue::new(TOPIC, "broker-a", i)).collect();
    let lock = |client_id: &str| {
        let body = LockBatchRequestBody {
            consumer_group: GROUP.into(),
            client_id: client_id.into(),
            mq_set: mqs.clone(),
            only_this_broker: false,
        };
        RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(body.to_json())
    };
    let r = call(&client, &broker, lock("10.0.0.1@a")).await;
    assert_eq!(LockBatchResponseBody::from_json(&r.body).unwrap().lock_ok_mq_set, mqs);
    let r = call(&client, &broker, lock("10.0.0.2@b")).await;
    assert!(
        LockBatchResponseBody::from_json(&r.body).unwrap().lock_ok_mq_set.is_empty(),
        "held by a"
    );

    // Malformed requests: an error response, and the connection keeps serving.
    let r = call(&client, &broker, RemotingCommand::request(RequestCode::PULL_MESSAGE)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("consumerGroup"));
    let r = call(&client, &broker, RemotingCommand::request(RequestCode(4242))).await;
    assert_eq!(r.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    let r = call(&client, &broker, send_request("bad topic!", 0, "k", "t", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
    let r = call(&client, &broker, send_request(TOPIC, 100, "k", "t", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER);
    // Transactional messages are refused, not stored as plain ones (delayed messages are
    // served: see retry.rs).
    let mut request = send_request(TOPIC, 0, "k", "t", "x");
    let mut header = SendMessageRequestHeaderV2::from_ext(&request.ext_fields).unwrap();
    let mut properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    properties.insert("TRAN_MSG", "true");
    header.properties = Some(properties.encode());
    request.ext_fields = header.to_ext();
    let r = call(&client, &broker, request).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION, "{:?}", r.remark);
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::HEART_BEAT)
            .with_body(Bytes::from_static(b"{not json")),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sends_survive_kill_9_while_sending() {
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    // A sender keeps sending and records every send the broker acknowledged.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sender = {
        let (acked, broker) = (acked.clone(), broker.clone());
        tokio::spawn(async move {
            let client = RemotingClient::new(ClientConfig::default());
            for i in 0.. {
                let body = format!("body-{i}");
                match client
                    .invoke(
                        &broker,
                        send_request("Durable", 0, &format!("k{i}"), "T", &body),
                        Duration::from_secs(2),
                    )
                    .await
                {
                    Ok(r) if r.response_code() == ResponseCode::SUCCESS => {
                        acked.lock().unwrap().push(body)
                    }
                    _ => break, // the broker is gone
                }
            }
        })
    };
    let deadline = Instant::now() + CALL;
    while acked.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "sends did not get acknowledged");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let standalone = tokio::task::block_in_place(|| standalone.kill_and_restart());
    sender.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    let client = RemotingClient::new(ClientConfig::default());
    let broker = standalone.broker.to_string();
    let mut offset = 0;
    let mut bodies = Vec::new();
    loop {
        let r = call(&client, &broker, pull_request("Durable", 0, offset, "*", 0)).await;
        if r.response_code() != ResponseCode::SUCCESS {
            assert_eq!(r.response_code(), ResponseCode::PULL_NOT_FOUND, "{:?}", r.remark);
            break;
        }
        for m in StoredMessage::decode_all(r.body.clone()).unwrap() {
            bodies.push(String::from_utf8(m.body.to_vec()).unwrap());
        }
        offset = PullMessageResponseHeader::from_command(&r).unwrap().next_begin_offset;
    }
    // Every acknowledged send is there, in order; at most the one in flight at the kill is extra.
    assert!(bodies.len() >= acked.len(), "{} consumed, {} acknowledged", bodies.len(), acked.len());
    assert_eq!(&bodies[..acked.len()], &acked[..]);
    assert!(bodies.len() <= acked.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_codes_as_rocketmq_tools_use_them() {
    use ferromq_protocol::body::{
        ConsumeStats, ConsumerConnection, KvTable, SubscriptionGroupConfig,
        TopicConfigSerializeWrapper, TopicStatsTable,
    };
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let namesrv = standalone.namesrv.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let admin = |code: RequestCode, header: &dyn Fn(&mut ferromq_protocol::ExtFields)| {
        let mut fields = ferromq_protocol::ExtFields::new();
        header(&mut fields);
        RemotingCommand::request(code).with_ext_fields(fields)
    };

    // Create a topic of 3 queues; the name server learns it.
    let create = CreateTopicRequestHeader {
        topic: "AdminTopic".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 3,
        write_queue_nums: 3,
        perm: 6,
        topic_filter_type: TopicFilterType::SingleTag,
        topic_sys_flag: None,
        order: false,
        attributes: None,
        force: false,
    };
    let r = call(
        &client,
        &broker,
        admin(RequestCode::UPDATE_AND_CREATE_TOPIC, &|f| create.write_ext(f)),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r =
        call(&client, &broker, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG)).await;
    let all = TopicConfigSerializeWrapper::from_json(&r.body).unwrap();
    assert_eq!(all.topic_config_table["AdminTopic"].write_queue_nums, 3);
    assert!(all.topic_config_table.contains_key("TBW102"));
    let route =
        GetRouteInfoRequestHeader { topic: "AdminTopic".into(), accept_standard_json_only: None };
    let deadline = Instant::now() + CALL;
    while call(
        &client,
        &namesrv,
        admin(RequestCode::GET_ROUTEINFO_BY_TOPIC, &|f| route.write_ext(f)),
    )
    .await
    .response_code()
        != ResponseCode::SUCCESS
    {
        assert!(Instant::now() < deadline, "the created topic never reached the name server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A system topic name is refused.
    let system = CreateTopicRequestHeader { topic: "SCHEDULE_TOPIC_XXXX".into(), ..create.clone() };
    let r = call(
        &client,
        &broker,
        admin(RequestCode::UPDATE_AND_CREATE_TOPIC, &|f| system.write_ext(f)),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);

    // Stats after sending and consuming a little.
    for i in 0..5 {
        call(&client, &broker, send_request("AdminTopic", 2, &format!("a{i}"), "T", "x")).await;
    }
    let stats = GetTopicStatsInfoRequestHeader { topic: "AdminTopic".into() };
    // Statistics follow the consume queues, which the dispatcher builds just after the sends.
    let deadline = Instant::now() + CALL;
    let table = loop {
        let r = call(
            &client,
            &broker,
            admin(RequestCode::GET_TOPIC_STATS_INFO, &|f| stats.write_ext(f)),
        )
        .await;
        let table = TopicStatsTable::from_json(&r.body).unwrap();
        if table.offset_table[&MessageQueue::new("AdminTopic", "broker-a", 2)].max_offset == 5 {
            break table;
        }
        assert!(Instant::now() < deadline, "stats never showed the sends");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(table.offset_table.len(), 3);
    let q2 = &table.offset_table[&MessageQueue::new("AdminTopic", "broker-a", 2)];
    assert_eq!((q2.min_offset, q2.max_offset), (0, 5));
    assert!(q2.last_update_timestamp > 0);
    let commit = UpdateConsumerOffsetRequestHeader {
        consumer_group: "admin-g".into(),
        topic: "AdminTopic".into(),
        queue_id: 2,
        commit_offset: 3,
    };
    call(&client, &broker, admin(RequestCode::UPDATE_CONSUMER_OFFSET, &|f| commit.write_ext(f)))
        .await;
    let consume = GetConsumeStatsRequestHeader {
        consumer_group: "admin-g".into(),
        topic: None,
        topic_list: None,
    };
    let r =
        call(&client, &broker, admin(RequestCode::GET_CONSUME_STATS, &|f| consume.write_ext(f)))
            .await;
    let stats = ConsumeStats::from_json(&r.body).unwrap();
    let q2 = &stats.offset_table[&MessageQueue::new("AdminTopic", "broker-a", 2)];
    assert_eq!((q2.broker_offset, q2.consumer_offset), (5, 3), "a lag of 2");

    // Groups: create, then delete with offsets.
    let group = SubscriptionGroupConfig::new("admin-g2");
    let r = call(
        &client,
        &broker,
        RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(group.to_json()),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let delete =
        DeleteSubscriptionGroupRequestHeader { group_name: "admin-g".into(), clean_offset: true };
    call(&client, &broker, admin(RequestCode::DELETE_SUBSCRIPTIONGROUP, &|f| delete.write_ext(f)))
        .await;
    let query = QueryConsumerOffsetRequestHeader {
        consumer_group: "admin-g".into(),
        topic: "AdminTopic".into(),
        queue_id: 2,
        set_zero_if_not_found: Some(false),
    };
    let r =
        call(&client, &broker, admin(RequestCode::QUERY_CONSUMER_OFFSET, &|f| query.write_ext(f)))
            .await;
    assert_eq!(r.response_code(), ResponseCode::QUERY_NOT_FOUND, "offsets went with the group");

    // Runtime info and config.
    let r = call(&client, &broker, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO))
        .await;
    let info = KvTable::from_json(&r.body).unwrap();
    assert!(info.table["commitLogMaxOffset"].parse::<i64>().unwrap() > 0);
    let r = call(&client, &broker, RemotingCommand::request(RequestCode::GET_BROKER_CONFIG)).await;
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(text.lines().any(|l| l == "brokerName=broker-a"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("flushDiskType=")));

    // No consumer online: CONSUMER_NOT_ONLINE.
    let connections = GetConsumerConnectionListRequestHeader { consumer_group: "nobody".into() };
    let r = call(
        &client,
        &broker,
        admin(RequestCode::GET_CONSUMER_CONNECTION_LIST, &|f| connections.write_ext(f)),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::CONSUMER_NOT_ONLINE);
    let _ = ConsumerConnection::default();

    // Delete the topic: gone from the broker, and from the name server's routes.
    let delete = DeleteTopicRequestHeader { topic: "AdminTopic".into() };
    let r = call(
        &client,
        &broker,
        admin(RequestCode::DELETE_TOPIC_IN_BROKER, &|f| delete.write_ext(f)),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = call(&client, &broker, pull_request("AdminTopic", 2, 0, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
}

/// A send then a pull on `client` both succeed: the broker still serves.
async fn assert_serving(client: &RemotingClient, broker: &str, key: &str) {
    let r = call(client, broker, send_request("StillServing", 0, key, "T", key)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "send after {key}: {:?}", r.remark);
    let offset = SendMessageResponseHeader::from_command(&r).unwrap().queue_offset;
    let r = call(client, broker, pull_request("StillServing", 0, offset, "*", 0)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "pull after {key}: {:?}", r.remark);
    let messages = StoredMessage::decode_all(r.body.clone()).unwrap();
    assert_eq!(&messages[0].body[..], key.as_bytes());
}

/// Writes `bytes` on a fresh connection and waits until the broker closes it.
async fn assert_closed_after(broker: &str, bytes: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(broker).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(CALL, async {
        // Whatever comes first is ignored: the point is the end of the stream.
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the broker kept the connection open after {bytes:02x?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_do_not_disturb_other_clients() {
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    // The bystander is connected before, and stays connected through, every bad request.
    let bystander = RemotingClient::new(ClientConfig::default());
    assert_serving(&bystander, &broker, "before").await;
    let client = RemotingClient::new(ClientConfig::default());

    // SEND_MESSAGE whose header lacks the topic, and one whose queueId is not a number:
    // SYSTEM_ERROR naming the field, as Java answers a header it cannot decode.
    let v1 = |edit: &dyn Fn(&mut ferromq_protocol::ExtFields)| {
        let v2 = SendMessageRequestHeaderV2::from_ext(
            &send_request("StillServing", 0, "k", "T", "x").ext_fields,
        )
        .unwrap();
        let mut fields = SendMessageRequestHeader::from(v2).to_ext();
        edit(&mut fields);
        RemotingCommand::request(RequestCode::SEND_MESSAGE)
            .with_ext_fields(fields)
            .with_body(Bytes::from_static(b"x"))
    };
    let r = call(&client, &broker, v1(&|_| {})).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "the unedited V1 request is valid");
    let r = call(
        &client,
        &broker,
        v1(&|f| {
            f.remove("topic");
        }),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.as_deref().is_some_and(|m| m.contains("topic")), "{:?}", r.remark);
    assert_serving(&bystander, &broker, "no-topic").await;
    let r = call(&client, &broker, v1(&|f| f.insert("queueId", "one"))).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.as_deref().is_some_and(|m| m.contains("queueId")), "{:?}", r.remark);
    assert_serving(&bystander, &broker, "bad-queue-id").await;

    // An unknown request code.
    let r = call(&client, &broker, RemotingCommand::request(RequestCode(31_337))).await;
    assert_eq!(r.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert_serving(&bystander, &broker, "unknown-code").await;

    // Garbage (a length of 16, then text: no valid serialization type or header length).
    assert_closed_after(&broker, b"\x00\x00\x00\x10GARBAGE-GARBAGE!").await;
    assert_serving(&bystander, &broker, "garbage").await;
    // A length field claiming 1 GiB: closed at once, not after buffering.
    assert_closed_after(&broker, &[0x40, 0, 0, 0, 0, 0, 0, 0]).await;
    assert_serving(&bystander, &broker, "one-gib").await;
    // A negative length.
    assert_closed_after(&broker, &[0xff, 0xff, 0xff, 0xf0]).await;
    assert_serving(&bystander, &broker, "negative").await;
    // The client that sent the bad headers is still served on its connection too.
    assert_serving(&client, &broker, "after").await;
}

fn update_config(text: &str) -> RemotingCommand {
    RemotingCommand::request(RequestCode::UPDATE_BROKER_CONFIG)
        .with_body(Bytes::from(text.to_string()))
}

async fn broker_config(client: &RemotingClient, broker: &str) -> String {
    let r = call(client, broker, RemotingCommand::request(RequestCode::GET_BROKER_CONFIG)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    String::from_utf8(r.body.to_vec()).unwrap()
}

/// Polls the name server until `topic`'s route shows `perm`.
async fn wait_for_route_perm(client: &RemotingClient, namesrv: &str, topic: &str, perm: i32) {
    let header = GetRouteInfoRequestHeader { topic: topic.into(), accept_standard_json_only: None };
    let deadline = Instant::now() + CALL;
    loop {
        let r = call(
            client,
            namesrv,
            RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)
                .with_ext_fields(header.to_ext()),
        )
        .await;
        if r.response_code() == ResponseCode::SUCCESS
            && TopicRouteData::from_json(&r.body).unwrap().queue_datas[0].perm == perm
        {
            return;
        }
        assert!(Instant::now() < deadline, "the route of {topic} never showed perm {perm}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_config_changes_at_runtime_and_survives_a_restart() {
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let namesrv = standalone.namesrv.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let r = call(&client, &broker, send_request("Existing", 0, "k", "T", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "standalone auto-creates topics");

    // Auto-creation off: a send to a new topic fails, and the config says so.
    let r = call(&client, &broker, update_config("autoCreateTopicEnable=false\n")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = call(&client, &broker, send_request("BrandNew", 0, "k", "T", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST, "{:?}", r.remark);
    let text = broker_config(&client, &broker).await;
    assert!(text.lines().any(|l| l == "autoCreateTopicEnable=false"), "{text}");

    // Refusals change nothing: a black-listed key (Java's code and remark), a setting read
    // only at start, a bad value.
    let r = call(&client, &broker, update_config("brokerConfigPath=/tmp/x\ntraceOn=false")).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION);
    assert_eq!(r.remark.as_deref(), Some("Can not update config in black list."));
    let r = call(&client, &broker, update_config("listenPort=1\ntraceOn=false")).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION);
    assert!(r.remark.as_deref().is_some_and(|m| m.contains("restart")), "{:?}", r.remark);
    let r = call(&client, &broker, update_config("brokerPermission=9\ntraceOn=false")).await;
    assert_eq!(r.response_code(), ResponseCode::INVALID_PARAMETER, "{:?}", r.remark);
    let text = broker_config(&client, &broker).await;
    assert!(text.lines().any(|l| l == "traceOn=true"), "{text}");
    // Unknown keys are ignored, as in Java, and named in the remark.
    let r = call(&client, &broker, update_config("noSuchSetting=1")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert!(r.remark.as_deref().is_some_and(|m| m.contains("noSuchSetting")), "{:?}", r.remark);

    // Read only: sends are refused, and the name server learns the masked permission.
    wait_for_route_perm(&client, &namesrv, "Existing", 6).await;
    let r = call(&client, &broker, update_config("brokerPermission=4")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = call(&client, &broker, send_request("Existing", 0, "k", "T", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::NO_PERMISSION, "{:?}", r.remark);
    wait_for_route_perm(&client, &namesrv, "Existing", 4).await;
    let r = call(&client, &broker, update_config("brokerPermission=6")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    wait_for_route_perm(&client, &namesrv, "Existing", 6).await;

    // After a restart (standalone's default is auto-creation on) the change holds.
    let standalone = tokio::task::block_in_place(|| standalone.kill_and_restart());
    let broker = standalone.broker.to_string();
    let r = call(&client, &broker, send_request("BrandNew", 0, "k", "T", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST, "{:?}", r.remark);
    let text = broker_config(&client, &broker).await;
    assert!(text.lines().any(|l| l == "autoCreateTopicEnable=false"), "{text}");
    let r = call(&client, &broker, send_request("Existing", 0, "k", "T", "x")).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_consume_rates_are_reported() {
    use ferromq_protocol::body::{ConsumeStats, KvTable, TopicStatsTable};
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    for i in 0..5 {
        let r = call(&client, &broker, send_request("Rates", 0, &format!("k{i}"), "T", "x")).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    }
    // Pull all five (the consume queue may trail the sends by a moment).
    let (mut offset, deadline) = (0, Instant::now() + CALL);
    while offset < 5 {
        let r = call(&client, &broker, pull_request("Rates", 0, offset, "*", 1_000)).await;
        if r.response_code() == ResponseCode::SUCCESS {
            offset = PullMessageResponseHeader::from_command(&r).unwrap().next_begin_offset;
        }
        assert!(Instant::now() < deadline, "pulled up to {offset} of 5");
    }

    let stats = GetTopicStatsInfoRequestHeader { topic: "Rates".into() };
    let consume = GetConsumeStatsRequestHeader {
        consumer_group: GROUP.into(),
        topic: Some("Rates".into()),
        topic_list: None,
    };
    let deadline = Instant::now() + CALL;
    loop {
        let r = call(
            &client,
            &broker,
            RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO)
                .with_ext_fields(stats.to_ext()),
        )
        .await;
        let put_tps = TopicStatsTable::from_json(&r.body).unwrap().topic_put_tps;
        let r = call(
            &client,
            &broker,
            RemotingCommand::request(RequestCode::GET_CONSUME_STATS)
                .with_ext_fields(consume.to_ext()),
        )
        .await;
        let consume_tps = ConsumeStats::from_json(&r.body).unwrap().consume_tps;
        if put_tps > 0.0 && consume_tps > 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "rates stayed at {put_tps} and {consume_tps}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let r = call(&client, &broker, RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO))
        .await;
    let info = KvTable::from_json(&r.body).unwrap().table;
    assert_eq!(info["msgPutTotalTodayNow"], "5");
    assert_eq!(info["msgGetTotalTodayNow"], "5");
    for key in ["putTps", "getTransferredTps"] {
        let rates: Vec<f64> = info[key].split(' ').map(|v| v.parse().unwrap()).collect();
        assert_eq!(rates.len(), 3, "{key}: {}", info[key]);
        assert!(rates[0] > 0.0, "{key}: {}", info[key]);
    }
}
