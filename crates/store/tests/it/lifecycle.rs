//! Opening and stopping: a clean stop skips recovery, a crash does not; arrivals are
//! announced; message ids lead back to their messages.

use std::sync::{Arc, Mutex};

use ferromq_store::{ArrivalListener, Store};

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
