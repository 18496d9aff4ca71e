//! `ferromq admin …` against a running `ferromq standalone`: every command once with its
//! table and JSON output checked, offsets reset by time as consumerProgress shows, and the
//! errors an operator meets (unreachable name server, unknown topic, group or cluster).

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Standalone;

/// How long a condition polled through the CLI may take on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(60);

/// One finished `ferromq admin` run.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `ferromq admin <args> -n <namesrv>` with a generous call timeout.
fn admin(namesrv: SocketAddr, args: &[&str]) -> Run {
    let output = Command::new(ferromq_testkit::ferromq_bin())
        .arg("admin")
        .args(args)
        .args(["-n", &namesrv.to_string(), "--timeout-ms", "20000"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs a command that must succeed; returns its stdout.
fn ok(namesrv: SocketAddr, args: &[&str]) -> String {
    let run = admin(namesrv, args);
    assert!(run.ok, "admin {args:?} failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.is_empty(), "admin {args:?} wrote to stderr: {}", run.stderr);
    run.stdout
}

/// Runs a command with `--json`; returns the parsed output.
fn json(namesrv: SocketAddr, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let stdout = ok(namesrv, &args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
}

/// Runs a command that must fail; returns its stderr.
fn fails(namesrv: SocketAddr, args: &[&str]) -> String {
    let run = admin(namesrv, args);
    assert!(!run.ok, "admin {args:?} succeeded:\n{}", run.stdout);
    run.stderr
}

/// Polls `condition` over CLI runs until it holds.
fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the standalone broker has registered with the name server.
fn wait_for_broker(namesrv: SocketAddr) {
    wait_for("the broker in clusterList", || {
        json(namesrv, &["clusterList"])["brokers"].as_array().is_some_and(|b| !b.is_empty())
    });
}

/// Waits until `topic`'s queues hold `count` messages in all (sends are acknowledged before
/// the consume queues are built).
fn wait_for_messages(namesrv: SocketAddr, topic: &str, count: i64) {
    wait_for(&format!("{count} messages in {topic}"), || {
        sum(&json(namesrv, &["topicStatus", "-t", topic]), "queues", "maxOffset") == count
    });
}

/// Creates `topic` with 4 queues on the standalone broker and waits until it is routed.
fn create_topic(namesrv: SocketAddr, topic: &str) {
    wait_for_broker(namesrv);
    let out =
        ok(namesrv, &["updateTopic", "-t", topic, "-c", "DefaultCluster", "-r", "4", "-w", "4"]);
    assert!(out.contains("create topic to") && out.contains("success"), "{out}");
    wait_for(&format!("{topic} in the topic list"), || {
        ok(namesrv, &["topicList"]).lines().any(|l| l == topic)
    });
}

fn sum(value: &Value, list: &str, field: &str) -> i64 {
    value[list].as_array().unwrap().iter().map(|q| q[field].as_i64().unwrap()).sum()
}

#[test]
fn topics_clusters_groups_and_messages() {
    let standalone = Standalone::start();
    let ns = standalone.namesrv;
    let broker = standalone.broker.to_string();
    const TOPIC: &str = "AdminTopic";

    // clusterList / brokerStatus.
    wait_for_broker(ns);
    let clusters = json(ns, &["clusterList"]);
    let first = &clusters["brokers"][0];
    assert_eq!(first["cluster"], "DefaultCluster");
    assert_eq!(first["brokerName"], "broker-a");
    assert_eq!(first["addr"], broker.as_str());
    assert_eq!(first["activated"], true);
    let table = ok(ns, &["clusterList"]);
    assert!(table.starts_with("#Cluster Name"), "{table}");
    assert!(table.contains("broker-a") && table.contains(&broker), "{table}");
    let status = json(ns, &["brokerStatus", "-b", &broker]);
    assert_eq!(status["brokerVersion"], "479");
    assert!(ok(ns, &["brokerStatus", "-b", &broker]).contains("msgPutTotalTodayNow"));

    // updateTopic, topicList, topicRoute.
    create_topic(ns, TOPIC);
    assert!(json(ns, &["topicList"])["topics"].as_array().unwrap().iter().any(|t| t == TOPIC));
    let clustered = json(ns, &["topicList", "-c"]);
    let row = clustered["topics"].as_array().unwrap().iter().find(|r| r["topic"] == TOPIC).cloned();
    assert_eq!(row.unwrap()["cluster"], "DefaultCluster");
    let route = json(ns, &["topicRoute", "-t", TOPIC]);
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 4);
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4);
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], broker.as_str());
    let table = ok(ns, &["topicRoute", "-t", TOPIC]);
    assert!(
        table.contains("DefaultCluster")
            && table.contains("0=")
            && table.contains("Total: 1 broker(s), 4 read queue(s), 4 write queue(s)"),
        "{table}"
    );

    // sendMessage, anywhere and to a chosen queue.
    let sent = json(
        ns,
        &["sendMessage", "-t", TOPIC, "-p", "hello admin", "-k", "order-1 k2", "-c", "TagA"],
    );
    assert_eq!(sent["sendStatus"], "SendOk");
    let (msg_id, offset_id) = (
        sent["msgId"].as_str().unwrap().to_string(),
        sent["offsetMsgId"].as_str().unwrap().to_string(),
    );
    let table =
        ok(ns, &["sendMessage", "-t", TOPIC, "-p", "to queue 2", "-b", "broker-a", "-i", "2"]);
    assert!(table.starts_with("#Broker Name") && table.contains("SendOk"), "{table}");
    let line = table.lines().nth(1).unwrap();
    assert_eq!(line.split_whitespace().nth(1), Some("2"), "{table}");
    for i in 0..3 {
        ok(ns, &["sendMessage", "-t", TOPIC, "-p", &format!("more {i}"), "-k", "order-1"]);
    }

    // topicStatus: five messages over four queues.
    wait_for_messages(ns, TOPIC, 5);
    let status = json(ns, &["topicStatus", "-t", TOPIC]);
    assert_eq!(status["queues"].as_array().unwrap().len(), 4);
    assert_eq!(sum(&status, "queues", "maxOffset"), 5);
    assert!(status["queues"][2]["maxOffset"].as_i64().unwrap() >= 1);
    let table = ok(ns, &["topicStatus", "-t", TOPIC]);
    assert!(
        table.starts_with("#Broker Name  #QID  #Min Offset  #Max Offset  #Last Updated"),
        "{table}"
    );
    assert!(table.contains("Topic Put TPS:"), "{table}");

    // queryMsgById by the broker's offset id and by the producer's unique id.
    let text = ok(ns, &["queryMsgById", "-t", TOPIC, "-i", &offset_id]);
    assert!(text.contains("hello admin") && text.contains("[TagA]"), "{text}");
    assert!(text.contains(&format!("OffsetID:            {offset_id}")), "{text}");
    let found = json(ns, &["queryMsgById", "-t", TOPIC, "-i", &msg_id]);
    assert_eq!(found["body"], "hello admin");
    assert_eq!(found["offsetMsgId"], offset_id.as_str());
    assert_eq!(found["keys"], serde_json::json!(["order-1", "k2"]));
    let by_offset_id = json(ns, &["queryMsgById", "-t", TOPIC, "-i", &offset_id]);
    assert_eq!(by_offset_id["msgId"], msg_id.as_str());
    assert_eq!(by_offset_id["brokerName"], "broker-a");
    let unique = json(ns, &["queryMsgByUniqueKey", "-t", TOPIC, "-i", &msg_id]);
    assert_eq!(unique["messages"][0]["msgId"], msg_id.as_str());

    // queryMsgByKey: four messages carry order-1, one carries k2.
    let by_key = json(ns, &["queryMsgByKey", "-t", TOPIC, "-k", "order-1"]);
    assert_eq!(by_key["messages"].as_array().unwrap().len(), 4);
    let table = ok(ns, &["queryMsgByKey", "-t", TOPIC, "-k", "k2"]);
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains(&msg_id) && table.contains("hello admin"), "{table}");

    // consumeMessage: everything, one queue from an offset, and a count limit.
    let all = json(ns, &["consumeMessage", "-t", TOPIC]);
    assert_eq!(all["messages"].as_array().unwrap().len(), 5);
    let queue2 = json(ns, &["consumeMessage", "-t", TOPIC, "-b", "broker-a", "-i", "2", "-o", "0"]);
    assert!(queue2["messages"].as_array().unwrap().iter().any(|m| m["body"] == "to queue 2"));
    assert!(queue2["messages"].as_array().unwrap().iter().all(|m| m["queueId"] == 2));
    let table = ok(ns, &["consumeMessage", "-t", TOPIC, "-c", "2"]);
    assert!(table.contains("2 message(s)"), "{table}");
    // Peeking commits nothing: the topic's groups still have no progress.
    let stderr = fails(ns, &["consumerProgress", "-g", "TOOLS_CONSUMER"]);
    assert!(stderr.contains("consumer group TOOLS_CONSUMER"), "{stderr}");

    // updateSubGroup / deleteSubGroup.
    let group =
        json(ns, &["updateSubGroup", "-g", "AdminGroup", "-c", "DefaultCluster", "-r", "3"]);
    assert_eq!(group["brokers"], serde_json::json!([broker]));
    assert_eq!(group["retryMaxTimes"], 3);
    assert_eq!(group["consumeBroadcastEnable"], false);
    let out = ok(ns, &["updateSubGroup", "-g", "AdminGroup", "-b", &broker, "-s", "false"]);
    assert_eq!(out, format!("create subscription group to {broker} success.\n"));
    let out = ok(ns, &["deleteSubGroup", "-g", "AdminGroup", "-b", &broker, "-r", "true"]);
    assert_eq!(
        out,
        format!("delete subscription group [AdminGroup] from broker [{broker}] success.\n")
    );
    let stderr = fails(ns, &["updateSubGroup", "-g", "AdminGroup"]);
    assert!(stderr.contains("--brokerAddr") || stderr.contains("-b"), "{stderr}");

    // deleteTopic: gone from the broker and the name server.
    let out = ok(ns, &["deleteTopic", "-t", TOPIC, "-c", "DefaultCluster"]);
    assert!(
        out.contains("delete topic [AdminTopic] from cluster [DefaultCluster] success."),
        "{out}"
    );
    assert!(out.contains("from NameServer success."), "{out}");
    let stderr = fails(ns, &["topicRoute", "-t", TOPIC]);
    assert!(stderr.contains("topic AdminTopic does not exist"), "{stderr}");
    assert!(!ok(ns, &["topicList"]).lines().any(|l| l == TOPIC));
}

#[test]
fn reset_offset_by_time_moves_consumer_progress() {
    let standalone = Standalone::start();
    let ns = standalone.namesrv;
    const TOPIC: &str = "ResetTopic";
    const GROUP: &str = "ResetGroup";
    create_topic(ns, TOPIC);
    ok(ns, &["updateSubGroup", "-g", GROUP, "-c", "DefaultCluster"]);
    for i in 0..6 {
        ok(ns, &["sendMessage", "-t", TOPIC, "-p", &format!("early {i}")]);
    }
    wait_for_messages(ns, TOPIC, 6);
    // The store time just after the early messages; later ones are stored after it.
    let early = json(ns, &["consumeMessage", "-t", TOPIC]);
    let early_end = early["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["storeTimestamp"].as_i64().unwrap())
        .max()
        .unwrap()
        + 1;
    while now_ms() <= early_end {
        std::thread::sleep(Duration::from_millis(1));
    }
    for i in 0..4 {
        ok(ns, &["sendMessage", "-t", TOPIC, "-p", &format!("late {i}")]);
    }
    wait_for_messages(ns, TOPIC, 10);

    // To the end: nothing left to consume.
    let reset = json(ns, &["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", "-1"]);
    assert_eq!(reset["offsets"].as_array().unwrap().len(), 4);
    assert_eq!(sum(&reset, "offsets", "offset"), 10);
    let progress = json(ns, &["consumerProgress", "-g", GROUP, "-t", TOPIC]);
    assert_eq!(progress["diffTotal"], 0);
    assert_eq!(sum(&progress, "queues", "consumerOffset"), 10);

    // Back to just after the early messages: the late ones are left.
    let reset =
        json(ns, &["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", &early_end.to_string()]);
    assert_eq!(sum(&reset, "offsets", "offset"), 6);
    let progress = json(ns, &["consumerProgress", "-g", GROUP]);
    assert_eq!(progress["diffTotal"], 4);
    assert_eq!(sum(&progress, "queues", "brokerOffset"), 10);
    let table = ok(ns, &["consumerProgress", "-g", GROUP, "-t", TOPIC]);
    assert!(table.starts_with("#Topic"), "{table}");
    assert!(table.contains("Consume Diff Total: 4"), "{table}");

    // Without force an offset only moves back: a later time changes nothing.
    let reset =
        json(ns, &["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", "now", "-f", "false"]);
    assert_eq!(sum(&reset, "offsets", "offset"), 6);

    // To the start, written as a local time in mqadmin's format.
    let text =
        ok(ns, &["resetOffsetByTime", "-g", GROUP, "-t", TOPIC, "-s", "2000-01-01#00:00:00:000"]);
    assert!(text.contains("#Broker Name  #QID  #Offset"), "{text}");
    let progress = json(ns, &["consumerProgress", "-g", GROUP, "-t", TOPIC]);
    assert_eq!(progress["diffTotal"], 10);
    assert_eq!(sum(&progress, "queues", "consumerOffset"), 0);

    // The summary lists groups with retry topics only; this one has none, so it is empty.
    let summary = json(ns, &["consumerProgress"]);
    assert!(summary["groups"].is_array());
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    let nowhere: SocketAddr =
        format!("127.0.0.1:{}", ferromq_testkit::free_port()).parse().unwrap();
    let stderr = fails(nowhere, &["topicList"]);
    assert!(stderr.contains("cannot reach any name server"), "{stderr}");
    assert!(stderr.contains(&nowhere.to_string()), "{stderr}");
    let stderr = fails(nowhere, &["resetOffsetByTime", "-g", "G", "-t", "T", "-s", "yesterday"]);
    assert!(stderr.contains("bad timestamp"), "{stderr}");

    let standalone = Standalone::start();
    let ns = standalone.namesrv;
    for args in [
        &["topicRoute", "-t", "NoSuchTopic"][..],
        &["topicStatus", "-t", "NoSuchTopic"],
        &["queryMsgByKey", "-t", "NoSuchTopic", "-k", "k"],
        &["consumeMessage", "-t", "NoSuchTopic"],
        &["consumerProgress", "-g", "AnyGroup", "-t", "NoSuchTopic"],
    ] {
        let stderr = fails(ns, args);
        assert!(stderr.contains("topic NoSuchTopic does not exist"), "{args:?}: {stderr}");
    }
    create_topic(ns, "ErrorsTopic");
    let stderr = fails(ns, &["consumerProgress", "-g", "NoSuchGroup"]);
    assert!(stderr.contains("consumer group NoSuchGroup"), "{stderr}");
    let stderr =
        fails(ns, &["resetOffsetByTime", "-g", "NoSuchGroup", "-t", "ErrorsTopic", "-s", "now"]);
    assert!(stderr.contains("consumer group NoSuchGroup does not exist"), "{stderr}");
    let stderr = fails(ns, &["consumerConnection", "-g", "NoSuchGroup"]);
    assert!(stderr.contains("consumer group NoSuchGroup has no consumer online"), "{stderr}");
    let stderr = fails(ns, &["updateTopic", "-t", "T2", "-c", "NoSuchCluster"]);
    assert!(stderr.contains("cluster NoSuchCluster does not exist"), "{stderr}");
    let stderr = fails(ns, &["queryMsgByKey", "-t", "ErrorsTopic", "-k", "missing"]);
    assert!(stderr.contains("no message found"), "{stderr}");
    let stderr = fails(ns, &["queryMsgById", "-t", "ErrorsTopic", "-i", "not-an-id"]);
    assert!(stderr.contains("no message found"), "{stderr}");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
