//! Retention and disk-full refusal, with thresholds small enough to trigger on any disk.

use ferromq_store::{AllMessages, GetStatus, Store, StoreConfig, StoreError};

use crate::support::*;

const TOPIC: &str = "Retained";

fn fill(store: &Store, count: u64) {
    for i in 0..count {
        store.put(&message(TOPIC, 0, i, 4_000)).unwrap();
    }
    wait_dispatched(store);
}

#[test]
fn expired_segments_are_deleted_at_a_delete_hour() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        file_reserved_time: 0,
        delete_when: (0..24).map(|h| h.to_string()).collect::<Vec<_>>().join(";"),
        delete_file_batch_max: 3,
        ..small_config(dir.path())
    };
    let store = Store::open(config.clone(), None).unwrap();
    fill(&store, 6_000); // about 6 segments of 4 MiB
    store.run_retention();
    let (min, _) = store.commit_log_range();
    assert_eq!(
        min,
        3 * config.mapped_file_size_commit_log as i64,
        "the batch maximum is respected"
    );
    // Reading below the new minimum is corrected forward, as RocketMQ does.
    let got = store.get_messages(TOPIC, 0, 0, 32, 1 << 20, &AllMessages).unwrap();
    assert_eq!(got.status, GetStatus::OffsetTooSmall);
    let first_kept = store.min_offset(TOPIC, 0);
    assert!(first_kept > 0);
    assert_eq!(got.next_begin_offset, first_kept);
    let got = store.get_messages(TOPIC, 0, first_kept, 1, 1 << 20, &AllMessages).unwrap();
    assert_eq!(got.status, GetStatus::Found);
    assert!(decode(&got.messages[0]).physical_offset >= min);
    // Segment files are gone from disk.
    assert!(!dir.path().join("commitlog").join(format!("{:020}", 0)).exists());
    // After a restart (with nothing more to delete) the queue still starts at the first
    // message kept, not at an entry pointing into a deleted segment.
    store.shutdown().unwrap();
    let store = Store::open(small_config(dir.path()), None).unwrap();
    assert_eq!(store.min_offset(TOPIC, 0), first_kept);
    let got = store.get_messages(TOPIC, 0, 0, 32, 1 << 20, &AllMessages).unwrap();
    assert_eq!((got.status, got.next_begin_offset), (GetStatus::OffsetTooSmall, first_kept));
}

#[test]
fn segments_go_whatever_their_age_when_the_disk_is_past_the_forcible_ratio() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        disk_max_used_space_ratio: 1,
        disk_space_clean_forcibly_ratio: 1,
        delete_file_batch_max: 100,
        ..small_config(dir.path())
    };
    let store = Store::open(config, None).unwrap();
    fill(&store, 6_000);
    let segments_before = store.commit_log_range();
    store.run_retention();
    let (min, max) = store.commit_log_range();
    assert!(min > segments_before.0);
    assert_eq!(max, segments_before.1, "the segment being written stays");
    assert!(store.put(&message(TOPIC, 0, 6_000, 100)).is_ok(), "not full: appends go on");
}

#[test]
fn appends_are_refused_past_the_hard_ratio_and_reads_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(small_config(dir.path()), None).unwrap();
        fill(&store, 10);
        store.shutdown().unwrap();
    }
    let full = StoreConfig { disk_space_warning_level_ratio: 1, ..small_config(dir.path()) };
    let store = Store::open(full, None).unwrap();
    let err = store.put(&message(TOPIC, 0, 10, 100)).unwrap_err();
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err}");
    assert!(err.to_string().contains("disk full"));
    let got = store.get_messages(TOPIC, 0, 0, 32, 1 << 20, &AllMessages).unwrap();
    assert_eq!(got.status, GetStatus::Found);
    assert_eq!(got.messages.len(), 10);
    store.shutdown().unwrap();
    // With room again, appends are accepted.
    let store = Store::open(small_config(dir.path()), None).unwrap();
    assert_eq!(store.put(&message(TOPIC, 0, 10, 100)).unwrap().appended[0].queue_offset, 10);
}
