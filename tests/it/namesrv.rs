//! The name server as a real process, driven over the wire the way brokers and RocketMQ
//! clients drive it.

use std::collections::BTreeMap;
use std::time::Duration;

use ferromq_protocol::body::{
    ClusterInfo, DataVersion, KvTable, RegisterBrokerBody, TopicConfig,
    TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use ferromq_protocol::headers::namesrv::*;
use ferromq_protocol::headers::CommandHeader;
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use ferromq_remoting::{ClientConfig, RemotingClient};
use ferromq_testkit::wait_until;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::Namesrv;

const CALL: Duration = Duration::from_secs(5);

fn topic_configs(names: &[&str], counter: i64) -> TopicConfigSerializeWrapper {
    let table: BTreeMap<String, TopicConfig> = names
        .iter()
        .map(|name| {
            let config = TopicConfig {
                topic_name: name.to_string(),
                read_queue_nums: 8,
                write_queue_nums: 8,
                perm: 6,
                ..TopicConfig::default()
            };
            (name.to_string(), config)
        })
        .collect();
    TopicConfigSerializeWrapper {
        topic_config_table: table,
        data_version: DataVersion { counter, timestamp: 1_700_000_000_000, state_version: 0 },
    }
}

fn register_request(name: &str, addr: &str, topics: &[&str], compressed: bool) -> RemotingCommand {
    let header = RegisterBrokerRequestHeader {
        broker_name: name.to_string(),
        broker_addr: addr.to_string(),
        cluster_name: "DefaultCluster".to_string(),
        ha_server_addr: addr.replace("10911", "10912"),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: Some(false),
        compressed,
        body_crc32: 0,
    };
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: topic_configs(topics, 1),
        filter_server_list: Vec::new(),
    }
    .encode(compressed)
    .unwrap();
    let mut request = with_header(RequestCode::REGISTER_BROKER, &header).with_body(body.clone());
    // Like a Java broker, guard the body with its CRC.
    request
        .ext_fields
        .insert("bodyCrc32", ferromq_protocol::message::crc32_masked(&body).to_string());
    request
}

fn route_request(topic: &str, version: i32, serialize_type: SerializeType) -> RemotingCommand {
    let header =
        GetRouteInfoRequestHeader { topic: topic.to_string(), accept_standard_json_only: None };
    let mut request = with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header)
        .with_serialize_type(serialize_type);
    request.version = version;
    request
}

fn with_header(code: RequestCode, header: &impl CommandHeader) -> RemotingCommand {
    RemotingCommand::request(code).with_ext_fields(header.to_ext())
}

async fn call(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, request, CALL).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_register_and_clients_read_routes() {
    let namesrv =
        Namesrv::start("scanNotActiveBrokerInterval = 100\nbrokerChannelExpiredTime = 1500");
    let addr = namesrv.addr.to_string();
    // Each broker on its own connection, as real brokers are.
    let broker_a = RemotingClient::new(ClientConfig::default());
    let broker_b = RemotingClient::new(ClientConfig::default());
    let client = RemotingClient::new(ClientConfig::default());

    let r = call(
        &broker_a,
        &addr,
        register_request("broker-a", "127.0.0.1:10911", &["TopicTest", "OnlyA"], false),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);
    let r = call(
        &broker_b,
        &addr,
        register_request("broker-b", "127.0.0.2:10911", &["TopicTest", "OnlyB"], true),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS, "{:?}", r.remark);

    // A 5.x client (version ≥ 401) gets standard JSON: strict parsers read it.
    let r = call(&client, &addr, route_request("TopicTest", 479, SerializeType::Json)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(r.serialize_type, SerializeType::Json);
    let strict: serde_json::Value = serde_json::from_slice(&r.body).expect("standard JSON");
    assert_eq!(strict["brokerDatas"][0]["brokerAddrs"]["0"], "127.0.0.1:10911");
    assert_eq!(strict["brokerDatas"][1]["brokerName"], "broker-b");
    assert_eq!(strict["queueDatas"][0]["writeQueueNums"], 8);
    assert_eq!(strict["queueDatas"][0]["perm"], 6);
    let route = TopicRouteData::from_json(&r.body).unwrap();
    assert_eq!(route.broker_datas.len(), 2);
    assert_eq!(route.queue_datas.len(), 2);

    // An older client (version < 401), asking in the binary header, gets fastjson's form,
    // byte for byte what a Java name server writes, answered in binary.
    let r = call(&client, &addr, route_request("OnlyA", 399, SerializeType::RocketMq)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(r.serialize_type, SerializeType::RocketMq);
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#
    );

    // Unknown topic: TOPIC_NOT_EXIST, as RocketMQ answers.
    let r = call(&client, &addr, route_request("NoSuchTopic", 479, SerializeType::RocketMq)).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
    assert!(r.remark.unwrap().contains("NoSuchTopic"));

    let r =
        call(&client, &addr, RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO)).await;
    let info = ClusterInfo::from_json(&r.body).unwrap();
    assert_eq!(
        info.cluster_addr_table["DefaultCluster"].iter().cloned().collect::<Vec<_>>(),
        vec!["broker-a", "broker-b"]
    );
    assert_eq!(info.broker_addr_table["broker-b"].broker_addrs[&0], "127.0.0.2:10911");
    // The cluster info keeps fastjson's unquoted integer keys, as Java clients expect.
    assert!(std::str::from_utf8(&r.body).unwrap().contains(r#"{0:"127.0.0.1:10911"}"#));

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    let list = TopicList::from_json(&r.body).unwrap();
    assert_eq!(
        list.topic_list.iter().cloned().collect::<Vec<_>>(),
        vec!["OnlyA", "OnlyB", "TopicTest"]
    );

    // broker-b stops heartbeating (its connection stays open); broker-a keeps registering.
    wait_until(Duration::from_secs(20), "broker-b to expire", || {
        let response = futures_block(call(
            &broker_a,
            &addr,
            register_request("broker-a", "127.0.0.1:10911", &["TopicTest", "OnlyA"], false),
        ));
        assert_eq!(response.response_code(), ResponseCode::SUCCESS);
        let route =
            futures_block(call(&client, &addr, route_request("OnlyB", 479, SerializeType::Json)));
        route.response_code() == ResponseCode::TOPIC_NOT_EXIST
    });
    let r = call(&client, &addr, route_request("TopicTest", 479, SerializeType::Json)).await;
    let route = TopicRouteData::from_json(&r.body).unwrap();
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.broker_datas[0].broker_name, "broker-a");
    assert!(namesrv.process.log().contains("expired"), "{}", namesrv.process.log());
}

/// Runs a future to completion from inside a polling closure (the test runtime has two
/// worker threads, so blocking one of them is fine).
fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistering_and_closing_connections_remove_brokers() {
    let namesrv = Namesrv::start("");
    let addr = namesrv.addr.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    {
        let broker = RemotingClient::new(ClientConfig::default());
        let r = call(
            &broker,
            &addr,
            register_request("broker-c", "127.0.0.3:10911", &["Gone", "Other"], false),
        )
        .await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS);
        assert_eq!(
            call(&client, &addr, route_request("Gone", 479, SerializeType::Json))
                .await
                .response_code(),
            ResponseCode::SUCCESS
        );
    } // The broker's connection closes here.
    wait_until(Duration::from_secs(10), "the closed broker to be dropped", || {
        futures_block(call(&client, &addr, route_request("Gone", 479, SerializeType::Json)))
            .response_code()
            == ResponseCode::TOPIC_NOT_EXIST
    });

    let r = call(
        &client,
        &addr,
        register_request("broker-d", "127.0.0.4:10911", &["Stay", "Other"], false),
    )
    .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let header = UnRegisterBrokerRequestHeader {
        broker_name: "broker-d".into(),
        broker_addr: "127.0.0.4:10911".into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    let r = call(&client, &addr, with_header(RequestCode::UNREGISTER_BROKER, &header)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = call(&client, &addr, route_request("Stay", 479, SerializeType::Json)).await;
    assert_eq!(r.response_code(), ResponseCode::TOPIC_NOT_EXIST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_config_and_write_permission() {
    let namesrv = Namesrv::start("");
    let addr = namesrv.addr.to_string();
    let client = RemotingClient::new(ClientConfig::default());

    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "OrderT".into(),
        value: "broker-a:4".into(),
    };
    let r = call(&client, &addr, with_header(RequestCode::PUT_KV_CONFIG, &put)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let key =
        KvConfigRequestHeader { namespace: "ORDER_TOPIC_CONFIG".into(), key: "OrderT".into() };
    let r = call(&client, &addr, with_header(RequestCode::GET_KV_CONFIG, &key)).await;
    assert_eq!(r.ext_fields.get("value"), Some("broker-a:4"));
    let list = GetKvListByNamespaceRequestHeader { namespace: "ORDER_TOPIC_CONFIG".into() };
    let r = call(&client, &addr, with_header(RequestCode::GET_KVLIST_BY_NAMESPACE, &list)).await;
    assert_eq!(KvTable::from_json(&r.body).unwrap().table["OrderT"], "broker-a:4");
    // A registering broker is handed the order-topic namespace.
    let r =
        call(&client, &addr, register_request("broker-a", "127.0.0.1:10911", &["T1", "T2"], false))
            .await;
    assert_eq!(KvTable::from_json(&r.body).unwrap().table["OrderT"], "broker-a:4");
    let r = call(&client, &addr, with_header(RequestCode::DELETE_KV_CONFIG, &key)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    let r = call(&client, &addr, with_header(RequestCode::GET_KV_CONFIG, &key)).await;
    assert_eq!(r.response_code(), ResponseCode::QUERY_NOT_FOUND);

    let wipe = WipeWritePermOfBrokerRequestHeader { broker_name: "broker-a".into() };
    let r = call(&client, &addr, with_header(RequestCode::WIPE_WRITE_PERM_OF_BROKER, &wipe)).await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);
    assert_eq!(r.ext_fields.get("wipeTopicCount"), Some("2"));
    let r = call(&client, &addr, route_request("T1", 479, SerializeType::Json)).await;
    assert_eq!(TopicRouteData::from_json(&r.body).unwrap().queue_datas[0].perm, 4);

    // A missing required field is refused with a reason, not a dropped connection.
    let r =
        call(&client, &addr, RemotingCommand::request(RequestCode::GET_ROUTEINFO_BY_TOPIC)).await;
    assert_eq!(r.response_code(), ResponseCode::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("topic"));
    // An unknown code: REQUEST_CODE_NOT_SUPPORTED.
    let r = call(&client, &addr, RemotingCommand::request(RequestCode(12_345))).await;
    assert_eq!(r.response_code(), ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_close_only_their_connection() {
    let namesrv = Namesrv::start("");
    let addr = namesrv.addr.to_string();
    let client = RemotingClient::new(ClientConfig::default());
    let r =
        call(&client, &addr, register_request("broker-a", "127.0.0.1:10911", &["T1", "T2"], false))
            .await;
    assert_eq!(r.response_code(), ResponseCode::SUCCESS);

    let mut over_limit = Vec::new();
    over_limit.extend_from_slice(&(64 * 1024 * 1024i32).to_be_bytes());
    over_limit.extend_from_slice(&[0u8; 32]);
    let garbage = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let mut truncated =
        ferromq_protocol::frame::encode_to_bytes(&route_request("T1", 479, SerializeType::Json))
            .unwrap()
            .to_vec();
    truncated.truncate(truncated.len() - 5);
    for (what, bytes, expect_close) in [
        ("over the limit", over_limit, true),
        ("garbage", garbage, true),
        ("truncated", truncated, false),
    ] {
        let mut raw = tokio::net::TcpStream::connect(namesrv.addr).await.unwrap();
        raw.write_all(&bytes).await.unwrap();
        if expect_close {
            let mut sink = [0u8; 256];
            let read = tokio::time::timeout(CALL, raw.read(&mut sink))
                .await
                .expect("server closes the connection");
            assert!(matches!(read, Ok(0) | Err(_)), "{what}: connection should be closed");
        } else {
            drop(raw); // the peer vanishes mid-frame
        }
        // Everyone else is still served.
        let r = call(&client, &addr, route_request("T1", 479, SerializeType::RocketMq)).await;
        assert_eq!(r.response_code(), ResponseCode::SUCCESS, "after {what}");
    }
    let log = namesrv.process.log();
    assert!(log.contains("malformed frame"), "{log}");
}
