//! Crash tests of the store with real processes: a child appends and prints every append it
//! was told succeeded; it is killed with SIGKILL at a random moment; the store reopened here
//! must hold every acknowledged message, byte for byte, findable by queue offset and by key.
//! SYNC_FLUSH acknowledges only what is on disk; ASYNC_FLUSH what is in the page cache,
//! which a process crash does not lose either.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferromq_protocol::message::{property, StoredMessage};
use ferromq_store::{AllMessages, FlushDiskType, GetStatus, Store, StoreConfig};
use ferromq_testkit::{ferromq_bin, temp_dir, ChildProcess};

struct Ack {
    queue_id: i32,
    queue_offset: i64,
    physical_offset: i64,
    key: String,
    body: Vec<u8>,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.split(' ');
    if parts.next()? != "ack" {
        return None;
    }
    let queue_id = parts.next()?.parse().ok()?;
    let queue_offset = parts.next()?.parse().ok()?;
    let physical_offset = parts.next()?.parse().ok()?;
    let key = parts.next()?.to_string();
    let hex = parts.next()?;
    let body = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(Ack { queue_id, queue_offset, physical_offset, key, body })
}

/// A pseudo-random number in `[low, high)` from the clock (no RNG dependency needed).
fn random_between(low: usize, high: usize) -> usize {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
        as usize;
    low + nanos % (high - low)
}

fn crash_and_verify(flush: &str, flush_type: FlushDiskType) {
    let dir = temp_dir();
    let store_dir = dir.path().join("store");
    let store_dir_text = store_dir.display().to_string();
    let args = [
        "bench",
        "store",
        "--dir",
        &store_dir_text,
        "--flush",
        flush,
        "--messages",
        "100000000",
        "--threads",
        "2",
        "--queues",
        "4",
        "--size",
        "64",
        "--segment-mb",
        "1",
        "--print-acks",
        "--no-read",
    ];
    let (mut child, stdout) =
        ChildProcess::spawn_piped("store-writer", &ferromq_bin(), &args, dir.path());
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(ack) = parse_ack(&line) {
                if tx.send(ack).is_err() {
                    break;
                }
            }
        }
    });
    let kill_after = random_between(2_000, 20_000);
    let mut acks = Vec::new();
    while acks.len() < kill_after {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(ack) => acks.push(ack),
            Err(_) => panic!("the writer stopped acknowledging: {}", child.log()),
        }
    }
    child.kill9();
    reader.join().unwrap();
    // Acknowledgements printed before the kill count too.
    acks.extend(rx.try_iter());
    assert!(acks.len() >= kill_after);

    let config = StoreConfig {
        store_path_root_dir: store_dir,
        mapped_file_size_commit_log: 1024 * 1024,
        max_message_size: 512 * 1024,
        flush_disk_type: flush_type,
        disk_max_used_space_ratio: 100,
        disk_space_clean_forcibly_ratio: 100,
        disk_space_warning_level_ratio: 100,
        delete_when: String::new(),
        ..StoreConfig::default()
    };
    let store = Store::open(config, None).unwrap();
    for ack in &acks {
        let record =
            store.message_at(ack.physical_offset).unwrap_or_else(|| panic!("lost {}", ack.key));
        let msg = StoredMessage::decode(&mut record.clone()).unwrap();
        assert_eq!(msg.body.as_ref(), ack.body.as_slice(), "{} intact", ack.key);
        assert_eq!((msg.queue_id, msg.queue_offset), (ack.queue_id, ack.queue_offset));
        assert_eq!(msg.properties.get(property::KEYS), Some(ack.key.as_str()));
        let got = store
            .get_messages(
                "BenchmarkStore",
                ack.queue_id,
                ack.queue_offset,
                1,
                1 << 20,
                &AllMessages,
            )
            .unwrap();
        assert_eq!(got.status, GetStatus::Found, "{} by queue offset", ack.key);
        assert_eq!(got.messages[0], record);
    }
    // A sample by key through the rebuilt index.
    for ack in acks.iter().step_by(997) {
        let found = store.query_by_key("BenchmarkStore", &ack.key, 4, 0, i64::MAX).unwrap();
        assert_eq!(found.messages.len(), 1, "{} by key", ack.key);
    }
    store.shutdown().unwrap();
}

#[test]
fn sync_flush_keeps_every_acknowledged_message_through_kill_9() {
    crash_and_verify("sync", FlushDiskType::SyncFlush);
}

#[test]
fn async_flush_keeps_every_acknowledged_message_through_a_process_crash() {
    crash_and_verify("async", FlushDiskType::AsyncFlush);
}
