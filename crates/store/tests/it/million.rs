//! A million small messages, appended and read back across many segment rolls: by queue
//! offset, by key, by unique id and by commit-log offset, before and after a restart.

use ferromq_protocol::message::OffsetMsgId;
use ferromq_store::{AllMessages, GetStatus, Store};

use crate::support::*;

const COUNT: u64 = 1_000_000;
const QUEUES: i32 = 8;
const TOPIC: &str = "Million";

#[test]
fn a_million_messages_over_many_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(dir.path());
    let mut physical = Vec::with_capacity(COUNT as usize);
    {
        let store = Store::open(config.clone(), None).unwrap();
        for i in 0..COUNT {
            let queue_id = (i % QUEUES as u64) as i32;
            let put = store.put(&message(TOPIC, queue_id, i, 32)).unwrap();
            let placed = put.appended[0];
            assert_eq!(placed.queue_offset, (i / QUEUES as u64) as i64);
            physical.push(placed.physical_offset);
        }
        wait_dispatched(&store);
        let (min, max) = store.commit_log_range();
        assert_eq!(min, 0);
        assert!(
            max > 20 * config.mapped_file_size_commit_log as i64,
            "rolled through many segments"
        );
        check_everything(&store, &physical);
        store.shutdown().unwrap();
    }
    // A clean restart serves the same data without scanning.
    let store = Store::open(config, None).unwrap();
    check_everything(&store, &physical);
}

fn check_everything(store: &Store, physical: &[i64]) {
    // Every message by queue offset, in order, with the right body.
    let mut seen = 0u64;
    for queue_id in 0..QUEUES {
        assert_eq!(store.max_offset(TOPIC, queue_id), (COUNT / QUEUES as u64) as i64);
        let mut offset = 0;
        loop {
            let got =
                store.get_messages(TOPIC, queue_id, offset, 32, 256 * 1024, &AllMessages).unwrap();
            if got.status != GetStatus::Found {
                assert_eq!(got.status, GetStatus::OffsetOverflowOne);
                break;
            }
            for (record, queue_offset) in got.messages.iter().zip(&got.queue_offsets) {
                let msg = decode(record);
                let i = *queue_offset as u64 * QUEUES as u64 + queue_id as u64;
                assert_eq!(msg.body, body(i, 32));
                assert_eq!(msg.queue_offset, *queue_offset);
                seen += 1;
            }
            offset = got.next_begin_offset;
        }
    }
    assert_eq!(seen, COUNT);
    // A sample by key, by unique id and by offset message id.
    for i in (0..COUNT).step_by(9_973) {
        let by_key = store.query_by_key(TOPIC, &format!("key-{i}"), 32, 0, i64::MAX).unwrap();
        assert_eq!(by_key.messages.len(), 1, "key-{i}");
        assert_eq!(decode(&by_key.messages[0]).body, body(i, 32));
        let by_uniq = store.query_by_key(TOPIC, &format!("uniq-{i}"), 32, 0, i64::MAX).unwrap();
        assert_eq!(by_uniq.messages.len(), 1, "uniq-{i}");
        let id =
            OffsetMsgId::new("127.0.0.1:10911".parse().unwrap(), physical[i as usize]).encode();
        let offset = OffsetMsgId::decode(&id).unwrap().commit_log_offset;
        let by_id = store.message_at(offset).unwrap();
        assert_eq!(decode(&by_id).body, body(i, 32));
    }
}
