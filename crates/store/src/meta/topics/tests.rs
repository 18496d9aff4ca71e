use std::sync::Arc;

use ferromq_protocol::body::TopicFilterType;

use super::*;
use crate::meta::file::backup_path;

fn table() -> (tempfile::TempDir, TopicTable) {
    let dir = tempfile::tempdir().unwrap();
    let table = TopicTable::open(dir.path().join("config").join("topics.json")).unwrap();
    (dir, table)
}

fn defaults() -> SystemTopicOptions {
    SystemTopicOptions::new("DefaultCluster", "broker-a")
}

#[test]
fn system_topics_exist_after_first_open_with_rocketmq_queue_counts() {
    let (_dir, t) = table();
    assert!(t.is_empty());
    assert_eq!(t.data_version().counter, 0);
    assert_eq!(t.ensure_system_topics(&defaults()), 13);
    let queues = |name: &str| t.get(name).map(|c| (c.read_queue_nums, c.write_queue_nums, c.perm));
    assert_eq!(queues("SCHEDULE_TOPIC_XXXX"), Some((18, 18, 6)));
    assert_eq!(queues("TBW102"), Some((8, 8, 7)));
    assert_eq!(queues("BenchmarkTest"), Some((1024, 1024, 6)));
    assert_eq!(queues("SELF_TEST_TOPIC"), Some((1, 1, 6)));
    assert_eq!(queues("OFFSET_MOVED_EVENT"), Some((1, 1, 6)));
    assert_eq!(queues("RMQ_SYS_TRANS_HALF_TOPIC"), Some((1, 1, 6)));
    assert_eq!(queues("RMQ_SYS_TRANS_OP_HALF_TOPIC"), Some((1, 1, 6)));
    assert_eq!(queues("DefaultCluster"), Some((16, 16, 7)));
    assert_eq!(queues("broker-a"), Some((1, 1, 7)));
    // Not bumped, as in Java, but written by the next persist.
    assert_eq!(t.data_version().counter, 0);
    assert!(t.persist().unwrap());
    assert!(!t.persist().unwrap(), "nothing changed since");
    assert_eq!(t.ensure_system_topics(&defaults()), 0);
}

#[test]
fn stored_configs_win_over_system_defaults() {
    let (_dir, t) = table();
    let custom = TopicConfig { perm: PERM_READ, ..TopicConfig::new("SCHEDULE_TOPIC_XXXX") };
    t.upsert(custom.clone()).unwrap();
    let reopened = TopicTable::open(t.path()).unwrap();
    reopened.ensure_system_topics(&defaults());
    assert_eq!(reopened.get("SCHEDULE_TOPIC_XXXX"), Some(custom));
}

#[test]
fn round_trip_through_disk() {
    let (_dir, t) = table();
    t.ensure_system_topics(&defaults());
    let custom = TopicConfig {
        read_queue_nums: 4,
        write_queue_nums: 2,
        order: true,
        topic_filter_type: TopicFilterType::MultiTag,
        attributes: [("+message.type".to_owned(), "FIFO".to_owned())].into(),
        ..TopicConfig::new("TopicTest")
    };
    assert_eq!(t.upsert(custom.clone()).unwrap(), None);
    assert_eq!(t.data_version().counter, 1);
    assert_eq!(t.upsert(custom.clone()).unwrap(), Some(custom.clone()));
    assert!(t.delete("BenchmarkTest").unwrap());
    assert!(!t.delete("BenchmarkTest").unwrap());
    assert_eq!(t.data_version().counter, 3);
    t.bump_version().unwrap();
    assert_eq!(t.data_version().counter, 4, "a bump without a change");

    let reopened = TopicTable::open(t.path()).unwrap();
    assert_eq!(reopened.all(), t.all());
    assert_eq!(reopened.get("TopicTest"), Some(custom));
    assert!(!reopened.contains("BenchmarkTest"));
}

#[test]
fn topics_json_is_fastjson_pretty_with_java_keys() {
    let (_dir, t) = table();
    t.upsert(TopicConfig::new("T")).unwrap();
    let v = t.data_version();
    let want = format!(
        "{{\n\t\"dataVersion\":{{\n\t\t\"counter\":1,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":{}\n\t}},\n\t\"topicConfigTable\":{{\n\t\t\"T\":{{\n\t\t\t\"attributes\":{{}},\n\t\t\t\"order\":false,\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":16,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"T\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":16\n\t\t}}\n\t}}\n}}",
        v.timestamp
    );
    assert_eq!(String::from_utf8(std::fs::read(t.path()).unwrap()).unwrap(), want);
}

#[test]
fn reads_a_java_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("topics.json");
    // A 4.x file: no attributes, no stateVersion.
    let java = "{\n\t\"dataVersion\":{\n\t\t\"counter\":5,\n\t\t\"timestamp\":1574649425398\n\t},\n\t\"topicConfigTable\":{\n\t\t\"TopicTest\":{\n\t\t\t\"order\":false,\n\t\t\t\"perm\":6,\n\t\t\t\"readQueueNums\":4,\n\t\t\t\"topicFilterType\":\"SINGLE_TAG\",\n\t\t\t\"topicName\":\"TopicTest\",\n\t\t\t\"topicSysFlag\":0,\n\t\t\t\"writeQueueNums\":4\n\t\t}\n\t}\n}";
    std::fs::write(&path, java).unwrap();
    let t = TopicTable::open(&path).unwrap();
    assert_eq!(t.data_version().counter, 5);
    assert_eq!(t.data_version().timestamp, 1574649425398);
    assert_eq!(t.get("TopicTest").map(|c| c.write_queue_nums), Some(4));
}

#[test]
fn falls_back_to_the_backup_when_the_file_is_torn() {
    let (_dir, t) = table();
    t.upsert(TopicConfig::new("A")).unwrap();
    let first = t.all();
    t.upsert(TopicConfig::new("B")).unwrap();
    assert!(backup_path(t.path()).exists());
    let bytes = std::fs::read(t.path()).unwrap();
    std::fs::write(t.path(), &bytes[..bytes.len() / 2]).unwrap();
    let reopened = TopicTable::open(t.path()).unwrap();
    assert_eq!(reopened.all(), first);
}

#[test]
fn auto_create_needs_an_inheritable_template() {
    let (_dir, t) = table();
    assert_eq!(t.auto_create("New", "TBW102", 4, 0).unwrap(), None, "no template");
    t.upsert(TopicConfig { perm: PERM_READ | PERM_WRITE, ..TopicConfig::new("Plain") }).unwrap();
    assert_eq!(t.auto_create("New", "Plain", 4, 0).unwrap(), None, "no INHERIT");
    assert!(!t.contains("New"));
}

#[test]
fn auto_create_takes_min_queues_and_perm_without_inherit() {
    let (_dir, t) = table();
    t.ensure_system_topics(&defaults());
    let version = t.data_version().counter;
    let made = t.auto_create("New", "TBW102", 16, 3).unwrap().unwrap();
    assert!(made.created());
    let c = made.config();
    assert_eq!((c.read_queue_nums, c.write_queue_nums), (8, 8), "min(16, TBW102's 8)");
    assert_eq!(c.perm, PERM_READ | PERM_WRITE);
    assert_eq!(c.topic_sys_flag, 3);
    assert_eq!(t.data_version().counter, version + 1);
    assert_eq!(TopicTable::open(t.path()).unwrap().get("New").as_ref(), Some(c));

    let fewer = t.auto_create("Fewer", "TBW102", 2, 0).unwrap().unwrap();
    assert_eq!(fewer.config().write_queue_nums, 2);
    let again = t.auto_create("New", "TBW102", 1, 0).unwrap().unwrap();
    assert_eq!(again, Ensured::Existing(c.clone()));
    // A read-only template passes on read-only.
    t.upsert(TopicConfig { perm: PERM_INHERIT | PERM_READ, ..TopicConfig::new("RO") }).unwrap();
    let ro = t.auto_create("FromRo", "RO", 1, 0).unwrap().unwrap();
    assert_eq!(ro.config().perm, PERM_READ);
}

#[test]
fn tbw102_is_no_template_while_auto_create_is_off() {
    let (_dir, t) = table();
    t.ensure_system_topics(&defaults());
    let off = SystemTopicOptions { auto_create_topic_enable: false, ..defaults() };
    t.ensure_system_topics(&off);
    assert!(t.contains("TBW102"), "a stored TBW102 stays");
    assert_eq!(t.auto_create("New", "TBW102", 4, 0).unwrap(), None);
    // Other templates still work.
    let made = t.auto_create("New", "DefaultCluster", 4, 0).unwrap().unwrap();
    assert_eq!(made.config().write_queue_nums, 4);
}

#[test]
fn concurrent_auto_create_makes_the_topic_once() {
    let (_dir, t) = table();
    t.ensure_system_topics(&defaults());
    let t = Arc::new(t);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || t.auto_create("Raced", "TBW102", 4, 0).unwrap().unwrap())
        })
        .collect();
    let results: Vec<Ensured> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.created()).count(), 1);
    assert!(results.iter().all(|r| r.config().write_queue_nums == 4));
}

#[test]
fn retry_and_dlq_topics() {
    let (_dir, t) = table();
    let retry = t.create_retry_topic("CG", 1).unwrap();
    assert!(retry.created());
    let c = retry.config();
    assert_eq!(c.topic_name, "%RETRY%CG");
    assert_eq!((c.read_queue_nums, c.write_queue_nums, c.perm), (1, 1, 6));
    assert!(!t.create_retry_topic("CG", 3).unwrap().created());

    let dlq = t.create_dlq_topic("CG").unwrap().into_config();
    assert_eq!(dlq.topic_name, "%DLQ%CG");
    assert_eq!((dlq.read_queue_nums, dlq.write_queue_nums, dlq.perm), (1, 1, 6));

    // The heartbeat path marks a retry topic ordered; the send-back path clears it again.
    let version = t.data_version().counter;
    let ordered = t.create_send_back_topic("%RETRY%CG", 1, 6, true, 0).unwrap();
    assert!(!ordered.created() && ordered.config().order);
    assert_eq!(t.data_version().counter, version + 1);
    assert!(!t.create_retry_topic("CG", 1).unwrap().config().order);
}

#[test]
fn create_if_absent_keeps_an_existing_topic() {
    let (_dir, t) = table();
    let first = TopicConfig { write_queue_nums: 2, ..TopicConfig::new("X") };
    assert!(t.create_if_absent(first.clone()).unwrap().created());
    let second = t.create_if_absent(TopicConfig::new("X")).unwrap();
    assert_eq!(second, Ensured::Existing(first));
}
