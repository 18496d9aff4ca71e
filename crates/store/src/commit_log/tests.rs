use bytes::Bytes;
use ferromq_protocol::message::{StoredMessage, BLANK_MAGIC_CODE};

use super::*;

const SEG: usize = 64 * 1024;

fn msg(topic: &str, queue_id: i32, body: &[u8]) -> StoredMessage {
    StoredMessage {
        topic: topic.into(),
        queue_id,
        body: Bytes::copy_from_slice(body),
        born_host: "127.0.0.1:5000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        ..StoredMessage::default()
    }
}

fn open(dir: &Path, start: RecoveryStart) -> CommitLog {
    CommitLog::open(dir, SEG, start, true, false).unwrap()
}

fn append(log: &CommitLog, m: &StoredMessage) -> Appended {
    log.append(Encoded::new(m).unwrap(), 1_700_000_000_000).unwrap()
}

#[test]
fn appends_are_read_back_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
    let mut placed = Vec::new();
    for i in 0..2_000u32 {
        let body = format!("message {i} {}", "x".repeat((i % 100) as usize));
        let a = append(&log, &msg("T", (i % 3) as i32, body.as_bytes()));
        placed.push((a, body));
    }
    assert!(log.segments().len() > 3, "rolled several times");
    for (i, (a, body)) in placed.iter().enumerate() {
        let record = log.read_record(a.physical_offset).unwrap();
        let decoded = StoredMessage::decode(&mut record.clone()).unwrap();
        assert_eq!(&decoded.body[..], body.as_bytes());
        assert_eq!(decoded.physical_offset, a.physical_offset);
        assert_eq!(decoded.queue_offset, (i / 3) as i64, "queue offsets count per queue");
        assert_eq!(decoded.queue_id, (i % 3) as i32);
        assert!(decoded.body_crc_matches());
    }
    // A roll leaves a BLANK record at the end of the segment.
    let first = &log.segments()[0];
    let last_record =
        placed.iter().map(|(a, _)| a).rfind(|a| a.physical_offset < first.end()).unwrap();
    let blank_at = last_record.physical_offset + i64::from(last_record.size);
    let blank = log.read(blank_at, 8).unwrap();
    assert_eq!(&blank[4..8], &BLANK_MAGIC_CODE.to_be_bytes());
}

#[test]
fn batches_take_consecutive_queue_offsets_in_one_segment() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
    append(&log, &msg("T", 0, b"single"));
    let batch: Vec<Encoded> =
        (0..10).map(|i| Encoded::new(&msg("T", 0, format!("b{i}").as_bytes())).unwrap()).collect();
    let placed = log.append_batch(batch, 5).unwrap();
    assert_eq!(
        placed.iter().map(|a| a.queue_offset).collect::<Vec<_>>(),
        (1..11).collect::<Vec<_>>()
    );
    for pair in placed.windows(2) {
        assert_eq!(pair[0].physical_offset + i64::from(pair[0].size), pair[1].physical_offset);
    }
    let too_big: Vec<Encoded> =
        (0..100).map(|_| Encoded::new(&msg("T", 0, &[7u8; 1024])).unwrap()).collect();
    assert!(matches!(log.append_batch(too_big, 5), Err(StoreError::MessageTooLarge(_))));
}

#[test]
fn prepared_transactions_take_no_queue_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
    let mut half = msg("T", 0, b"half");
    half.sys_flag = ferromq_protocol::message::sys_flag::TRANSACTION_PREPARED_TYPE;
    assert_eq!(append(&log, &half).queue_offset, 0);
    assert_eq!(append(&log, &msg("T", 0, b"normal")).queue_offset, 0);
    assert_eq!(append(&log, &msg("T", 0, b"normal")).queue_offset, 1);
}

#[test]
fn store_times_never_go_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
    let a = log.append(Encoded::new(&msg("T", 0, b"a")).unwrap(), 100).unwrap();
    let b = log.append(Encoded::new(&msg("T", 0, b"b")).unwrap(), 50).unwrap();
    assert_eq!((a.store_timestamp, b.store_timestamp), (100, 100));
}

#[test]
fn reopening_after_a_clean_stop_and_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (end, last) = {
        let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
        let mut last = None;
        for i in 0..500 {
            last = Some(append(&log, &msg("T", 0, format!("m{i}").as_bytes())));
        }
        log.flush().unwrap();
        (log.max_offset(), last.unwrap())
    };
    let clean = open(dir.path(), RecoveryStart::Clean { end });
    assert_eq!(clean.max_offset(), end);
    drop(clean);
    let crashed = open(dir.path(), RecoveryStart::Crash { from: 0 });
    assert_eq!(crashed.max_offset(), end);
    assert!(crashed.read_record(last.physical_offset).is_some());
    // Appending after reopening continues at the end.
    let next = append(&crashed, &msg("T", 0, b"after"));
    assert_eq!(next.physical_offset, end);
}

#[test]
fn a_torn_tail_is_cut_at_the_last_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let (good_end, torn_at) = {
        let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
        for i in 0..50 {
            append(&log, &msg("T", 0, format!("m{i}").as_bytes()));
        }
        let good_end = log.max_offset();
        let torn = append(&log, &msg("T", 0, b"this one gets torn"));
        log.flush().unwrap();
        (good_end, torn.physical_offset)
    };
    // Damage the last record's body on disk.
    let path = segment::path(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[torn_at as usize + 100] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
    assert_eq!(log.max_offset(), good_end);
    assert!(log.read_record(torn_at).is_none(), "nothing torn is ever served");
    // The cut bytes were zeroed: a second crash-recovery finds the same end.
    drop(log);
    let again = open(dir.path(), RecoveryStart::Crash { from: 0 });
    assert_eq!(again.max_offset(), good_end);
}

#[test]
fn deleting_old_segments_keeps_the_one_written() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), RecoveryStart::Crash { from: 0 });
    for _ in 0..300 {
        append(&log, &msg("T", 0, &[1u8; 1000]));
    }
    log.flush().unwrap();
    let before = log.segments().len();
    assert!(before >= 4);
    let (deleted, min) = log.delete_oldest(2, |_| true);
    assert_eq!(deleted, 2);
    assert_eq!(min, 2 * SEG as i64);
    assert_eq!(log.min_offset(), min);
    assert!(!segment::path(dir.path(), 0).exists());
    let (deleted, _) = log.delete_oldest(100, |_| true);
    assert_eq!(deleted, before - 3, "the written segment stays");
}
