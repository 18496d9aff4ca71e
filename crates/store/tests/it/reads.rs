//! Reads as consumers make them: statuses and offset corrections, tag filtering, size
//! limits, and lookups by time.

use ferromq_protocol::message::java_string_hash;
use ferromq_store::{AllMessages, GetStatus, Store};

use crate::support::*;

const TOPIC: &str = "Reads";

fn store_with(dir: &std::path::Path, count: u64) -> Store {
    let store = Store::open(small_config(dir), None).unwrap();
    for i in 0..count {
        store.put(&message(TOPIC, 0, i, 100)).unwrap();
    }
    wait_dispatched(&store);
    store
}

#[test]
fn statuses_and_next_offsets_follow_rocketmq() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 10);
    let get = |queue: i32, offset: i64| {
        store.get_messages(TOPIC, queue, offset, 32, 1 << 20, &AllMessages).unwrap()
    };
    let found = get(0, 3);
    assert_eq!(
        (found.status, found.messages.len(), found.next_begin_offset),
        (GetStatus::Found, 7, 10)
    );
    assert_eq!((found.min_offset, found.max_offset), (0, 10));
    assert_eq!(found.queue_offsets, (3..10).collect::<Vec<i64>>());
    let at_end = get(0, 10);
    assert_eq!((at_end.status, at_end.next_begin_offset), (GetStatus::OffsetOverflowOne, 10));
    let past = get(0, 50);
    assert_eq!((past.status, past.next_begin_offset), (GetStatus::OffsetOverflowBadly, 0));
    let unknown = get(7, 0);
    assert_eq!(unknown.status, GetStatus::NoMatchedLogicQueue);
    assert_eq!(GetStatus::OffsetOverflowOne.name(), "OFFSET_OVERFLOW_ONE");
}

#[test]
fn tag_filters_and_size_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 10);
    let even = i64::from(java_string_hash("even"));
    let only_even = move |code: i64| code == even;
    let got = store.get_messages(TOPIC, 0, 0, 32, 1 << 20, &only_even).unwrap();
    assert_eq!(got.status, GetStatus::Found);
    assert_eq!(got.queue_offsets, vec![0, 2, 4, 6, 8]);
    assert_eq!(got.next_begin_offset, 10, "filtered entries are consumed too");
    let none = |_code: i64| false;
    let got = store.get_messages(TOPIC, 0, 0, 32, 1 << 20, &none).unwrap();
    assert_eq!((got.status, got.next_begin_offset), (GetStatus::NoMatchedMessage, 10));
    // A byte limit below two messages returns one; a limit below one still returns one.
    let one_size = store.get_messages(TOPIC, 0, 0, 1, 1 << 20, &AllMessages).unwrap().total_bytes();
    let got = store.get_messages(TOPIC, 0, 0, 32, one_size + one_size / 2, &AllMessages).unwrap();
    assert_eq!((got.messages.len(), got.next_begin_offset), (1, 1));
    let got = store.get_messages(TOPIC, 0, 0, 32, 1, &AllMessages).unwrap();
    assert_eq!(got.messages.len(), 1);
    let got = store.get_messages(TOPIC, 0, 0, 4, 1 << 20, &AllMessages).unwrap();
    assert_eq!((got.messages.len(), got.next_begin_offset), (4, 4));
}

#[test]
fn offsets_by_time_and_the_earliest_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path()), None).unwrap();
    let mut times = Vec::new();
    for i in 0..5 {
        let put = store.put(&message(TOPIC, 0, i, 10)).unwrap();
        times.push(put.appended[0].store_timestamp);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    wait_dispatched(&store);
    assert_eq!(store.earliest_message_time(TOPIC, 0).unwrap(), Some(times[0]));
    assert_eq!(store.earliest_message_time("nothing", 0).unwrap(), None);
    assert_eq!(store.offset_by_time(TOPIC, 0, times[2], false).unwrap(), 2);
    assert_eq!(store.offset_by_time(TOPIC, 0, times[2], true).unwrap(), 2);
    assert_eq!(store.offset_by_time(TOPIC, 0, times[2] + 1, false).unwrap(), 3);
    assert_eq!(store.offset_by_time(TOPIC, 0, times[2] + 1, true).unwrap(), 2);
    assert_eq!(store.offset_by_time(TOPIC, 0, 0, false).unwrap(), 0);
    assert_eq!(store.offset_by_time(TOPIC, 0, i64::MAX, false).unwrap(), 5);
}

#[test]
fn schedule_entries_carry_their_deliver_time() {
    use ferromq_protocol::message::property;
    use ferromq_protocol::topic::SCHEDULE_TOPIC;

    let dir = tempfile::tempdir().unwrap();
    let config = ferromq_store::StoreConfig {
        message_delay_level: "1s 5s 10s".into(),
        ..small_config(dir.path())
    };
    let store = Store::open(config.clone(), None).unwrap();
    let scheduled = |queue_id: i32, delay: &str| {
        let mut msg = message(SCHEDULE_TOPIC, queue_id, 1, 10);
        msg.properties.insert(property::DELAY, delay);
        store.put(&msg).unwrap().appended[0].store_timestamp
    };
    let at_level_2 = scheduled(1, "2");
    let above_max = scheduled(2, "9");
    let level_0 = scheduled(2, "0");
    // Outside the schedule topic a DELAY property changes nothing.
    let mut plain = message(TOPIC, 0, 1, 10);
    plain.properties.insert(property::DELAY, "2");
    store.put(&plain).unwrap();
    wait_dispatched(&store);
    let odd = i64::from(java_string_hash("odd"));
    let codes = |topic: &str, queue_id: i32| -> Vec<i64> {
        let entries = store.queue_entries(topic, queue_id, 0, 10).unwrap();
        entries.iter().map(|e| e.tags_code).collect()
    };
    assert_eq!(codes(SCHEDULE_TOPIC, 1), vec![at_level_2 + 5_000]);
    assert_eq!(codes(SCHEDULE_TOPIC, 2), vec![above_max + 10_000, odd]);
    assert_eq!(codes(TOPIC, 0), vec![odd]);
    assert!(level_0 > 0);
    assert!(store.queue_entries(SCHEDULE_TOPIC, 1, 1, 10).unwrap().is_empty(), "past the end");
    assert!(store.queue_entries("none", 0, 0, 10).unwrap().is_empty());
    // Entries rebuilt from the commit log (no checkpoint, no consume queues) are the same.
    drop(store);
    // A checkpoint is written by the thorough flush passes (every minute) and at a clean
    // stop: there may be none yet.
    let _ = std::fs::remove_file(dir.path().join("checkpoint"));
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    let store = Store::open(config, None).unwrap();
    let entries = store.queue_entries(SCHEDULE_TOPIC, 2, 0, 10).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.tags_code).collect::<Vec<_>>(),
        vec![above_max + 10_000, odd]
    );
}
