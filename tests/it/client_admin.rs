//! `ferromq_client::Admin` where the CLI tests do not reach: a reset reaches the group's
//! online consumers (RESET_CONSUMER_CLIENT_OFFSET), connections are listed, and a consumer
//! that starts after a reset finds the new committed offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferromq_client::admin::{PeekOptions, Target};
use ferromq_client::{Admin, ClientConfig, ClientError, Message};
use ferromq_protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ResetOffsetBody,
    SubscriptionData, TopicConfig,
};
use ferromq_protocol::headers::{
    CommandHeader, QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    ResetOffsetRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use ferromq_remoting::{Channel, RemotingClient, RequestProcessor};
use tokio::sync::mpsc;

use crate::support::Standalone;

/// A consumer stand-in that hands every request the broker sends it to the test.
struct Recorder(mpsc::UnboundedSender<RemotingCommand>);

impl RequestProcessor for Recorder {
    async fn process(&self, _: &Channel, request: RemotingCommand) -> Option<RemotingCommand> {
        let _ = self.0.send(request);
        None
    }
}

fn admin_for(standalone: &Standalone) -> Admin {
    let config = ClientConfig {
        mq_client_api_timeout: Duration::from_secs(20),
        ..ClientConfig::with_namesrv(standalone.namesrv.to_string())
    };
    Admin::new(config).unwrap()
}

/// Waits until the standalone broker has registered with the name server.
async fn wait_for_cluster(admin: &Admin) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while admin.cluster_masters("DefaultCluster").await.map_or(true, |m| m.is_empty()) {
        assert!(Instant::now() < deadline, "the broker never registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_for_route(admin: &Admin, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while admin.topic_route(topic).await.is_err() {
        assert!(Instant::now() < deadline, "{topic} never routed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn committed(
    client: &RemotingClient<Recorder>,
    broker: &str,
    group: &str,
    topic: &str,
    queue_id: i32,
) -> i64 {
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group.into(),
        topic: topic.into(),
        queue_id,
        set_zero_if_not_found: Some(false),
    };
    let request = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
        .with_ext_fields(header.to_ext());
    let response = client.invoke(broker, request, Duration::from_secs(20)).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS, "{:?}", response.remark);
    QueryConsumerOffsetResponseHeader::from_command(&response).unwrap().offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_reaches_online_consumers_and_later_ones() {
    const TOPIC: &str = "AdminResetTopic";
    const GROUP: &str = "AdminResetGroup";
    let standalone = Standalone::start();
    let broker = standalone.broker.to_string();
    let admin = admin_for(&standalone);
    wait_for_cluster(&admin).await;
    let config = TopicConfig { read_queue_nums: 2, write_queue_nums: 2, ..TopicConfig::new(TOPIC) };
    let written =
        admin.create_topic(&Target::Cluster("DefaultCluster".into()), &config).await.unwrap();
    assert_eq!(written, vec![broker.clone()]);
    wait_for_route(&admin, TOPIC).await;
    for i in 0..8 {
        admin.send_message(Message::new(TOPIC, format!("m{i}")), None).await.unwrap();
    }
    // Sends are acknowledged before the consume queues are built: poll until all are read.
    let deadline = Instant::now() + Duration::from_secs(60);
    while admin.peek_messages(TOPIC, &PeekOptions::default()).await.unwrap().len() < 8 {
        assert!(Instant::now() < deadline, "the 8 messages never became readable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let limited = PeekOptions { max_messages: 3, ..PeekOptions::default() };
    assert_eq!(admin.peek_messages(TOPIC, &limited).await.unwrap().len(), 3);

    // A consumer of the group is online (a heartbeat over a connection we watch).
    let (tx, mut received) = mpsc::unbounded_channel();
    let consumer = RemotingClient::with_processor(
        ferromq_remoting::ClientConfig::default(),
        Arc::new(Recorder(tx)),
    );
    let heartbeat = HeartbeatData {
        client_id: "127.0.0.1@admin-test".into(),
        producer_data_set: Vec::new(),
        consumer_data_set: vec![ConsumerData {
            group_name: GROUP.into(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscription_data_set: vec![SubscriptionData::new(TOPIC, "*")],
            unit_mode: false,
        }],
        heartbeat_fingerprint: 0,
        without_sub: false,
    };
    let request = RemotingCommand::request(RequestCode::HEART_BEAT).with_body(heartbeat.to_json());
    let response = consumer.invoke(&broker, request, Duration::from_secs(20)).await.unwrap();
    assert_eq!(response.response_code(), ResponseCode::SUCCESS);
    let connections = admin.consumer_connections(GROUP).await.unwrap();
    assert_eq!(connections.connection_set.len(), 1);
    assert_eq!(connections.connection_set[0].client_id, "127.0.0.1@admin-test");
    assert!(connections.subscription_table.contains_key(TOPIC));
    let namesrv = standalone.namesrv.to_string();
    let cli = tokio::task::spawn_blocking(move || {
        std::process::Command::new(ferromq_testkit::ferromq_bin())
            .args(["admin", "consumerConnection", "-g", GROUP, "-n", &namesrv])
            .args(["--timeout-ms", "20000"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{stdout}{}", String::from_utf8_lossy(&cli.stderr));
    assert!(stdout.starts_with("#ClientId"), "{stdout}");
    assert!(
        stdout.contains("127.0.0.1@admin-test") && stdout.contains("MessageModel: CLUSTERING"),
        "{stdout}"
    );

    // Reset to the end: the broker commits and tells the consumer.
    let offsets = admin.reset_offset_by_time(TOPIC, GROUP, -1, true).await.unwrap();
    assert_eq!(offsets.len(), 2);
    assert_eq!(offsets.values().sum::<i64>(), 8);
    let notice = loop {
        let request = tokio::time::timeout(Duration::from_secs(60), received.recv())
            .await
            .expect("no reset notice within 60 s")
            .unwrap();
        if request.request_code() == RequestCode::RESET_CONSUMER_CLIENT_OFFSET {
            break request;
        }
    };
    let header = ResetOffsetRequestHeader::from_command(&notice).unwrap();
    assert_eq!((header.group.as_str(), header.topic.as_str()), (GROUP, TOPIC));
    let body = ResetOffsetBody::from_json(&notice.body).unwrap();
    assert_eq!(body.offset_table, offsets);

    // A consumer asking afterwards finds the committed offsets there.
    for (queue, offset) in &offsets {
        assert_eq!(committed(&consumer, &broker, GROUP, TOPIC, queue.queue_id).await, *offset);
    }
    let progress = admin.consumer_progress(GROUP, Some(TOPIC)).await.unwrap();
    assert_eq!(progress.diff_total(), 0);

    // The heartbeat made the group's retry topic, so the CLI's summary lists the group.
    let namesrv = standalone.namesrv.to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ns = namesrv.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(ferromq_testkit::ferromq_bin())
                .args(["admin", "consumerProgress", "--json", "-n", &ns, "--timeout-ms", "20000"])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let row =
            summary["groups"].as_array().unwrap().iter().find(|g| g["group"] == GROUP).cloned();
        if let Some(row) = row {
            assert_eq!(row["count"], 1);
            assert_eq!(row["messageModel"], "CLUSTERING");
            assert_eq!(row["diffTotal"], 0);
            break;
        }
        assert!(Instant::now() < deadline, "{GROUP} never listed: {summary}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Unknown names are their own errors.
    let error = admin.reset_offset_by_time("NoSuchTopic", GROUP, 0, true).await.unwrap_err();
    assert!(matches!(error, ClientError::UnknownTopic(ref t) if t == "NoSuchTopic"), "{error}");
    let error = admin.consumer_progress("NoSuchGroup", None).await.unwrap_err();
    assert!(matches!(error, ClientError::UnknownGroup { .. }), "{error}");
    let error = admin.view_message("00000000").await.unwrap_err();
    assert!(matches!(error, ClientError::InvalidArgument(_)), "{error}");
    consumer.shutdown();
    admin.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_name_server_is_named() {
    let nowhere = format!("127.0.0.1:{}", ferromq_testkit::free_port());
    let admin = Admin::new(ClientConfig::with_namesrv(nowhere.clone())).unwrap();
    for error in [
        admin.topic_list().await.unwrap_err(),
        admin.topic_route("T").await.unwrap_err(),
        admin.cluster_info().await.unwrap_err(),
    ] {
        assert!(matches!(error, ClientError::NamesrvUnreachable { .. }), "{error}");
        assert!(error.to_string().contains(&nowhere), "{error}");
    }
}
