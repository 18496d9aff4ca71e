//! Damaged commit-log tails after a crash: overwritten with garbage, or cut mid-message.
//! Recovery keeps every whole message before the damage, serves nothing torn, cuts the
//! consume queues to match, and appends continue right after.

use std::io::{Seek, SeekFrom, Write};

use ferromq_store::{AllMessages, GetStatus, Store};

use crate::support::*;

const TOPIC: &str = "Damaged";

/// Appends `count` messages to queue 0 and "crashes" (drops the store without a clean stop,
/// leaving the abort marker). Returns each message's commit-log offset and the log end.
fn write_and_crash(dir: &std::path::Path, count: u64) -> (Vec<i64>, i64) {
    let store = Store::open(small_config(dir), None).unwrap();
    let offsets: Vec<i64> = (0..count)
        .map(|i| store.put(&message(TOPIC, 0, i, 200)).unwrap().appended[0].physical_offset)
        .collect();
    wait_dispatched(&store);
    let end = store.commit_log_range().1;
    drop(store);
    assert!(dir.join("abort").exists(), "no clean stop was recorded");
    (offsets, end)
}

fn damage(dir: &std::path::Path, at: i64, bytes: &[u8]) {
    let segment_size = small_config(dir).mapped_file_size_commit_log as i64;
    let path = dir.join("commitlog").join(format!("{:020}", at - at % segment_size));
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start((at % segment_size) as u64)).unwrap();
    file.write_all(bytes).unwrap();
}

fn check_recovered(dir: &std::path::Path, offsets: &[i64], whole: u64) {
    let store = Store::open(small_config(dir), None).unwrap();
    assert_eq!(
        store.commit_log_range().1,
        offsets[whole as usize],
        "cut at the first damaged message"
    );
    assert_eq!(store.max_offset(TOPIC, 0), whole as i64, "consume queue cut to match");
    let mut offset = 0;
    let mut read = 0;
    loop {
        let got = store.get_messages(TOPIC, 0, offset, 32, 1 << 20, &AllMessages).unwrap();
        if got.status != GetStatus::Found {
            break;
        }
        for record in &got.messages {
            assert_eq!(decode(record).body, body(read, 200));
            read += 1;
        }
        offset = got.next_begin_offset;
    }
    assert_eq!(read, whole, "every whole message is served, nothing else");
    assert!(store.message_at(offsets[whole as usize]).is_none(), "nothing torn is served");
    // Appends continue where the log was cut, with the next queue offset.
    let put = store.put(&message(TOPIC, 0, whole, 200)).unwrap();
    assert_eq!(put.appended[0].queue_offset, whole as i64);
    assert_eq!(put.appended[0].physical_offset, offsets[whole as usize]);
    store.shutdown().unwrap();
}

#[test]
fn a_tail_overwritten_with_garbage_recovers_to_the_last_whole_message() {
    let dir = tempfile::tempdir().unwrap();
    let (offsets, _) = write_and_crash(dir.path(), 1_000);
    let garbage: Vec<u8> =
        (0..5_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    damage(dir.path(), offsets[900] + 37, &garbage);
    check_recovered(dir.path(), &offsets, 900);
}

#[test]
fn a_tail_cut_mid_message_recovers_to_the_last_whole_message() {
    let dir = tempfile::tempdir().unwrap();
    let (offsets, end) = write_and_crash(dir.path(), 1_000);
    let cut_at = offsets[950] + 120;
    damage(dir.path(), cut_at, &vec![0u8; (end - cut_at) as usize]);
    check_recovered(dir.path(), &offsets, 950);
}

#[test]
fn a_damaged_length_field_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (offsets, _) = write_and_crash(dir.path(), 100);
    damage(dir.path(), offsets[60], &i32::MAX.to_be_bytes());
    check_recovered(dir.path(), &offsets, 60);
}
