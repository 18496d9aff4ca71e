//! Opening and stopping: a clean stop skips recovery, a crash does not; consume-queue
//! entries only buffered in memory are written at a stop and rebuilt after a crash; arrivals
//! are announced; message ids lead back to their messages.

use std::sync::{Arc, Mutex};

use ferromq_store::{AllMessages, ArrivalListener, GetStatus, Store, StoreConfig};

use crate::support::*;

#[derive(Default)]
struct Arrivals(Mutex<Vec<(String, i32, i64)>>);

impl ArrivalListener for Arrivals {
    fn arrived(&self, topic: &str, queue_id: i32, max_offset: i64) {
        self.0.lock().unwrap().push((topic.to_string(), queue_id, max_offset));
    }
}

#[test]
fn a_clean_stop_skips_recovery_and_a_crash_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path()), None).unwrap();
    assert!(store.recovered_after_crash(), "a new store has no checkpoint");
    store.put(&message("T", 0, 0, 10)).unwrap();
    store.shutdown().unwrap();
    let store = Store::open(small_config(dir.path()), None).unwrap();
    assert!(!store.recovered_after_crash(), "clean stop: no scan");
    assert_eq!(store.max_offset("T", 0), 1);
    drop(store); // no clean stop
    let store = Store::open(small_config(dir.path()), None).unwrap();
    assert!(store.recovered_after_crash());
    assert_eq!(store.max_offset("T", 0), 1);
}

/// The bodies of queue `queue_id` of `topic`, read through the consume queue.
fn bodies(store: &Store, topic: &str, queue_id: i32) -> Vec<bytes::Bytes> {
    let got = store.get_messages(topic, queue_id, 0, 1000, usize::MAX, &AllMessages).unwrap();
    assert!(matches!(got.status, GetStatus::Found), "{topic}-{queue_id}: {:?}", got.status);
    got.messages.iter().map(|m| decode(m).body).collect()
}

/// The consume-queue entries of `Tail`-`queue_id` on file (written ones, from the first file).
fn entries_on_file(dir: &std::path::Path, queue_id: i32) -> usize {
    let file = dir.join("consumequeue/Tail").join(queue_id.to_string()).join(format!("{:020}", 0));
    let bytes = std::fs::read(file).unwrap_or_default();
    bytes.chunks_exact(20).take_while(|e| e.iter().any(|b| *b != 0)).count()
}

#[test]
fn buffered_entries_are_written_at_a_clean_stop_and_rebuilt_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        // Only a stop (or a full tail) writes consume-queue entries to their files.
        flush_interval_consume_queue: 3_600_000,
        consume_queue_tail_interval: 3_600_000,
        ..small_config(dir.path())
    };
    let expected = |queue_id: i32, count: u64| -> Vec<bytes::Bytes> {
        (0..count).filter(|i| i % 4 == queue_id as u64).map(|i| body(i, 10)).collect()
    };
    let store = Store::open(config.clone(), None).unwrap();
    for i in 0..100 {
        store.put(&message("Tail", (i % 4) as i32, i, 10)).unwrap();
    }
    wait_dispatched(&store);
    for q in 0..4 {
        assert_eq!(bodies(&store, "Tail", q), expected(q, 100), "readable while buffered");
        assert_eq!(entries_on_file(dir.path(), q), 0, "not on file yet");
    }
    store.shutdown().unwrap();
    assert!((0..4).all(|q| entries_on_file(dir.path(), q) == 25), "written at the stop");

    let store = Store::open(config.clone(), None).unwrap();
    assert!(!store.recovered_after_crash());
    for i in 100..200 {
        store.put(&message("Tail", (i % 4) as i32, i, 10)).unwrap();
    }
    wait_dispatched(&store);
    assert_eq!(bodies(&store, "Tail", 1), expected(1, 200));
    assert_eq!(entries_on_file(dir.path(), 1), 25, "the new entries are only in memory");
    drop(store); // a crash: the buffered entries are lost, the commit log is not

    let store = Store::open(config, None).unwrap();
    assert!(store.recovered_after_crash());
    for q in 0..4 {
        assert_eq!(store.max_offset("Tail", q), 50);
        assert_eq!(bodies(&store, "Tail", q), expected(q, 200), "rebuilt from the checkpoint");
    }
    store.shutdown().unwrap();
}

#[test]
fn arrivals_are_announced_after_dispatch() {
    let dir = tempfile::tempdir().unwrap();
    let arrivals = Arc::new(Arrivals::default());
    let store = Store::open(small_config(dir.path()), Some(arrivals.clone())).unwrap();
    for i in 0..3 {
        store.put(&message("Heard", 2, i, 10)).unwrap();
    }
    wait_dispatched(&store);
    let heard = arrivals.0.lock().unwrap().clone();
    assert!(heard.iter().all(|(t, q, _)| t == "Heard" && *q == 2));
    assert_eq!(heard.last().map(|h| h.2), Some(3), "the last announcement covers every message");
}

#[test]
fn message_ids_lead_back_to_their_messages() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(small_config(dir.path()), None).unwrap();
    let single = store.put(&message("Ids", 0, 7, 10)).unwrap();
    assert_eq!(single.msg_ids.len(), 1);
    assert_eq!(single.msg_ids[0].len(), 32, "IPv4 offset ids are 32 hex characters");
    assert_eq!(decode(&store.message_by_id(&single.msg_ids[0]).unwrap()).body, body(7, 10));
    let batch: Vec<_> = (10..15).map(|i| message("Ids", 1, i, 10)).collect();
    let put = store.put_batch(&batch).unwrap();
    assert_eq!(put.msg_ids.len(), 5);
    for (i, id) in (10..15).zip(&put.msg_ids) {
        assert_eq!(decode(&store.message_by_id(id).unwrap()).body, body(i, 10));
    }
    assert_eq!(
        put.appended.iter().map(|a| a.queue_offset).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert!(store.message_by_id("not an id").is_none());
    let mixed = vec![message("Ids", 1, 20, 10), message("Ids", 2, 21, 10)];
    assert!(store.put_batch(&mixed).is_err(), "a batch targets one queue");
}
