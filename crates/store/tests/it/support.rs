//! Building stores and messages for the tests.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferromq_protocol::message::{property, Properties, StoredMessage};
use ferromq_store::{Store, StoreConfig};

/// A store config in `dir` with small files, so tests roll segments often.
pub fn small_config(dir: &Path) -> StoreConfig {
    StoreConfig {
        store_path_root_dir: dir.to_path_buf(),
        mapped_file_size_commit_log: 4 * 1024 * 1024,
        consume_queue_entries_per_file: 10_000,
        max_message_size: 64 * 1024,
        max_hash_slot_num: 50_000,
        max_index_num: 200_000,
        // The test machine's disk may be fuller than RocketMQ's defaults allow.
        disk_max_used_space_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        disk_space_warning_level_ratio: 100,
        delete_when: String::new(),
        warm_mapped_file_enable: false,
        ..StoreConfig::default()
    }
}

/// Message `i` of queue `queue_id`, with key `key-<i>` and unique id `uniq-<i>`.
pub fn message(topic: &str, queue_id: i32, i: u64, body_len: usize) -> StoredMessage {
    let mut properties = Properties::new();
    properties.insert(property::KEYS, format!("key-{i}"));
    properties.insert(property::UNIQ_KEY, format!("uniq-{i}"));
    properties.insert(property::TAGS, if i.is_multiple_of(2) { "even" } else { "odd" });
    StoredMessage {
        topic: topic.into(),
        queue_id,
        body: body(i, body_len),
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        properties,
        ..StoredMessage::default()
    }
}

/// The body of message `i`: its number, padded with a pattern.
pub fn body(i: u64, len: usize) -> Bytes {
    let mut body = format!("{i:016}").into_bytes();
    body.resize(len.max(16), (i % 251) as u8);
    body.into()
}

/// Waits until everything appended is in the consume queues.
pub fn wait_dispatched(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.dispatched() < store.commit_log_range().1 {
        assert!(Instant::now() < deadline, "dispatch did not catch up");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Decodes one stored record.
pub fn decode(record: &Bytes) -> StoredMessage {
    StoredMessage::decode(&mut record.clone()).unwrap()
}
