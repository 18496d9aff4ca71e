//! Tests of the consume queue: behaviour, recovery, bounded handles, concurrency, and a
//! property test against an in-memory model.

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use super::*;

/// The entry the tests put at logical offset `i`: its message is `[i*100, i*100 + 100)`.
fn entry(i: i64) -> Entry {
    Entry { commit_log_offset: i * 100, size: 100, tags_code: i }
}

fn entries(range: std::ops::Range<i64>) -> Vec<Entry> {
    range.map(entry).collect()
}

/// A schedule that writes every append to file at once, as without tails: the tests of the
/// file logic see their appends on file.
fn through() -> Arc<WriteBehind> {
    Arc::new(WriteBehind::new(TailLimits { tail_bytes: 0, ..TailLimits::default() }))
}

fn open(dir: &Path, per_file: usize) -> ConsumeQueue {
    ConsumeQueue::open(dir, "T", 0, per_file, Arc::new(FileCache::new(16)), through()).unwrap()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn name(start: i64) -> String {
    format!("{:020}", start * ENTRY_SIZE as i64)
}

#[test]
fn a_periodic_flush_waits_for_enough_pages() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 10_000);
    // 100 entries are 2,000 bytes: less than the two pages a periodic pass asks for.
    cq.append(0, &entries(0..100)).unwrap();
    cq.flush(2).unwrap();
    assert_eq!(cq.flushed_offset(), 0);
    // A thorough pass syncs whatever there is.
    cq.flush(0).unwrap();
    assert_eq!(cq.flushed_offset(), 100);
    // 600 entries end in the third page, two past the flushed one.
    cq.append(100, &entries(100..600)).unwrap();
    cq.flush(2).unwrap();
    assert_eq!(cq.flushed_offset(), 600);
}

#[test]
fn appends_and_reads_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    assert_eq!((cq.topic(), cq.queue_id()), ("T", 0));
    assert_eq!((cq.min_offset(), cq.max_offset()), (0, 0));
    assert_eq!(cq.get(0).unwrap(), None);
    assert_eq!(cq.last_entry().unwrap(), None);
    for start in (0..10).step_by(3) {
        cq.append(start, &entries(start..(start + 3).min(10))).unwrap();
    }
    assert_eq!((cq.min_offset(), cq.max_offset()), (0, 10));
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..10));
    assert_eq!(cq.read(2, 7).unwrap(), entries(2..9));
    assert_eq!(cq.read(9, 7).unwrap(), entries(9..10));
    assert_eq!(cq.read(10, 7).unwrap(), vec![]);
    assert_eq!(cq.read(-1, 7).unwrap(), vec![]);
    assert_eq!(cq.read(3, 0).unwrap(), vec![]);
    assert_eq!(cq.get(7).unwrap(), Some(entry(7)));
    assert_eq!(cq.get(10).unwrap(), None);
    assert_eq!(cq.last_entry().unwrap(), Some(entry(9)));
    assert_eq!(file_names(dir.path()), vec![name(0), name(4), name(8)]);
    for n in file_names(dir.path()) {
        assert_eq!(std::fs::metadata(dir.path().join(n)).unwrap().len(), 80, "preallocated");
    }
    cq.flush(0).unwrap();
    cq.flush(0).unwrap();
}

#[test]
fn default_geometry_names_files_by_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cq = ConsumeQueue::open(
        dir.path(),
        "T",
        1,
        DEFAULT_ENTRIES_PER_FILE,
        Arc::new(FileCache::default()),
        through(),
    )
    .unwrap();
    cq.append(300_001, &entries(300_001..300_003)).unwrap();
    assert_eq!(file_names(dir.path()), vec!["00000000000006000000".to_owned()]);
    assert_eq!((cq.min_offset(), cq.max_offset()), (300_001, 300_003));
    cq.append(300_003, &entries(300_003..600_001)).unwrap();
    assert_eq!(
        file_names(dir.path()),
        vec!["00000000000006000000".to_owned(), "00000000000012000000".to_owned()]
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("00000000000012000000")).unwrap().len(),
        6_000_000
    );
    assert_eq!(cq.read(599_999, 5).unwrap(), entries(599_999..600_001));
    drop(cq);
    let cq = ConsumeQueue::open(
        dir.path(),
        "T",
        1,
        DEFAULT_ENTRIES_PER_FILE,
        Arc::new(FileCache::new(2)),
        through(),
    )
    .unwrap();
    assert_eq!((cq.min_offset(), cq.max_offset()), (300_001, 600_001));
}

#[test]
fn gaps_are_filled_with_fillers() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(0, &entries(0..3)).unwrap();
    cq.append(6, &entries(6..8)).unwrap();
    let mut expected = entries(0..3);
    expected.extend([Entry::FILLER; 3]);
    expected.extend(entries(6..8));
    assert_eq!(cq.read(0, 100).unwrap(), expected);
    assert_eq!(cq.max_offset(), 8);
    cq.append(20, &[]).unwrap();
    assert_eq!(cq.max_offset(), 8, "nothing to write, no gap filled");
}

#[test]
fn an_empty_queue_starts_at_the_file_of_its_first_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(10, &entries(10..11)).unwrap();
    assert_eq!((cq.min_offset(), cq.max_offset()), (10, 11));
    assert_eq!(file_names(dir.path()), vec![name(8)]);
    assert_eq!(cq.get(9).unwrap(), None, "below min");
    assert_eq!(cq.get(10).unwrap(), Some(entry(10)));
    drop(cq);
    let cq = open(dir.path(), 4);
    assert_eq!((cq.min_offset(), cq.max_offset()), (10, 11), "min skips the fillers");
    assert_eq!(cq.read(8, 10).unwrap(), vec![]);
    assert_eq!(cq.read(10, 10).unwrap(), entries(10..11));
}

#[test]
fn re_appending_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(0, &entries(0..5)).unwrap();
    let other = |i: i64| Entry { tags_code: -1, ..entry(i) };
    let again: Vec<_> = (2..8).map(other).collect();
    cq.append(2, &again).unwrap();
    let mut expected = entries(0..5);
    expected.extend((5..8).map(other));
    assert_eq!(cq.read(0, 100).unwrap(), expected, "present entries are skipped");
    cq.append(0, &entries(0..3)).unwrap();
    assert_eq!(cq.read(0, 100).unwrap(), expected);
    assert!(matches!(cq.append(-1, &entries(0..1)), Err(StoreError::Corrupt(_))));
}

#[test]
fn reopening_recovers_the_offsets() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cq = open(dir.path(), 4);
        cq.append(0, &entries(0..9)).unwrap();
        cq.flush(0).unwrap();
    }
    let cq = open(dir.path(), 4);
    assert_eq!((cq.min_offset(), cq.max_offset()), (0, 9));
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..9));
    cq.append(9, &entries(9..12)).unwrap();
    drop(cq);
    let cq = open(dir.path(), 4);
    assert_eq!(cq.max_offset(), 12, "a full last file");
    assert_eq!(file_names(dir.path()), vec![name(0), name(4), name(8)]);
    assert!(matches!(
        ConsumeQueue::open(dir.path(), "T", 0, 3, Arc::new(FileCache::new(4)), through()),
        Err(StoreError::Config(_))
    ));
    assert!(matches!(
        ConsumeQueue::open(dir.path(), "T", 0, 0, Arc::new(FileCache::new(4)), through()),
        Err(StoreError::Config(_))
    ));
}

#[test]
fn a_torn_entry_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), 4).append(0, &entries(0..6)).unwrap();
    // The last file holds entries 4 and 5; half of entry 6 made it, then the file was cut.
    let last = dir.path().join(name(4));
    let file = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    file.write_all_at(&entry(6).encode()[..11], 40).unwrap();
    file.set_len(51).unwrap();
    let cq = open(dir.path(), 4);
    assert_eq!(cq.max_offset(), 6);
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..6));
    assert_eq!(std::fs::metadata(&last).unwrap().len(), 80, "restored to full size");
    let reread = std::fs::read(&last).unwrap();
    assert!(reread[40..].iter().all(|b| *b == 0), "torn bytes zeroed");
    cq.append(6, &entries(6..8)).unwrap();
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..8));
}

#[test]
fn a_blank_entry_ends_the_queue_and_what_follows_is_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), 8).append(0, &entries(0..6)).unwrap();
    let path = dir.path().join(name(0));
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    // Entry 3 lost (zeros), entry 4 garbage with a negative size, entry 5 still there.
    file.write_all_at(&[0u8; 20], 60).unwrap();
    file.write_all_at(&Entry { size: -7, ..entry(4) }.encode(), 80).unwrap();
    let cq = open(dir.path(), 8);
    assert_eq!(cq.max_offset(), 3);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes[60..].iter().all(|b| *b == 0), "entry 5 cannot come back");
    // An entry with a negative commit-log offset ends the queue too.
    file.write_all_at(&Entry { commit_log_offset: -1, ..entry(2) }.encode(), 40).unwrap();
    drop(cq);
    assert_eq!(open(dir.path(), 8).max_offset(), 2);
}

#[test]
fn empty_files_and_files_after_a_gap_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), 4).append(0, &entries(0..6)).unwrap();
    // An empty newest file (created, never written), and a file after a gap.
    std::fs::write(dir.path().join(name(8)), [0u8; 80]).unwrap();
    std::fs::write(
        dir.path().join(name(16)),
        entries(16..20).iter().flat_map(|e| e.encode()).collect::<Vec<_>>(),
    )
    .unwrap();
    let cq = open(dir.path(), 4);
    assert_eq!(cq.max_offset(), 6);
    assert_eq!(file_names(dir.path()), vec![name(0), name(4)]);
    drop(cq);
    // A short middle file ends the run: what follows it is removed.
    let middle = std::fs::OpenOptions::new().write(true).open(dir.path().join(name(4))).unwrap();
    middle.set_len(20).unwrap();
    let cq = open(dir.path(), 4);
    assert_eq!(cq.max_offset(), 5);
    cq.append(5, &entries(5..9)).unwrap();
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..9));
    drop(cq);
    // Nothing written anywhere: no file stays.
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(dir2.path().join(name(4)), [0u8; 80]).unwrap();
    std::fs::write(dir2.path().join("README"), b"x").unwrap();
    let cq = open(dir2.path(), 4);
    assert_eq!((cq.min_offset(), cq.max_offset()), (4, 4));
    assert_eq!(file_names(dir2.path()), vec!["README".to_owned()]);
    cq.append(4, &entries(4..5)).unwrap();
    assert_eq!(cq.read(4, 9).unwrap(), entries(4..5));
}

#[test]
fn truncate_to_cuts_entries_past_the_commit_log_end() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(0, &entries(0..10)).unwrap();
    cq.flush(0).unwrap();
    cq.truncate_to(10_000).unwrap();
    assert_eq!(cq.max_offset(), 10, "nothing past the end");
    cq.truncate_to(650).unwrap(); // entry 5 ends at 600, entry 6 at 700
    assert_eq!(cq.max_offset(), 6);
    assert_eq!(cq.last_entry().unwrap(), Some(entry(5)));
    assert_eq!(file_names(dir.path()), vec![name(0), name(4)]);
    assert_eq!(cq.get(6).unwrap(), None);
    cq.flush(0).unwrap();
    drop(cq);
    let cq = open(dir.path(), 4);
    assert_eq!(cq.max_offset(), 6, "the cut entries stay gone");
    cq.append(4, &entries(4..9)).unwrap();
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..9));
    cq.truncate_to(400).unwrap();
    assert_eq!(cq.max_offset(), 4);
    assert_eq!(file_names(dir.path()), vec![name(0)]);
    cq.truncate_to(0).unwrap();
    assert_eq!((cq.min_offset(), cq.max_offset()), (0, 0));
    assert!(file_names(dir.path()).is_empty());
    cq.append(0, &entries(0..2)).unwrap();
    assert_eq!(cq.read(0, 100).unwrap(), entries(0..2));
}

#[test]
fn truncate_to_drops_trailing_fillers_and_keeps_entries_below_min() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(0, &entries(0..2)).unwrap();
    cq.append(5, &entries(5..7)).unwrap();
    cq.truncate_to(550).unwrap();
    assert_eq!(cq.max_offset(), 2, "entry 5 ends past 550; the fillers before it go too");
    cq.append(2, &entries(2..10)).unwrap();
    assert_eq!(cq.delete_below(600).unwrap(), 1);
    assert_eq!(cq.min_offset(), 6);
    cq.truncate_to(300).unwrap();
    assert_eq!((cq.min_offset(), cq.max_offset()), (6, 6), "no further back than min");
}

#[test]
fn delete_below_removes_expired_files_and_moves_min() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(0, &entries(0..10)).unwrap();
    assert_eq!(cq.delete_below(0).unwrap(), 0);
    assert_eq!(cq.min_offset(), 0);
    assert_eq!(cq.delete_below(450).unwrap(), 1, "file 0 ends with entry 3 at 300");
    assert_eq!((cq.min_offset(), cq.max_offset()), (5, 10));
    assert_eq!(file_names(dir.path()), vec![name(4), name(8)]);
    assert_eq!(cq.get(4).unwrap(), None);
    assert_eq!(cq.read(4, 10).unwrap(), vec![]);
    assert_eq!(cq.read(5, 10).unwrap(), entries(5..10));
    assert_eq!(cq.delete_below(450).unwrap(), 0, "idempotent");
    assert_eq!(cq.delete_below(100_000).unwrap(), 1, "the last file is kept");
    assert_eq!((cq.min_offset(), cq.max_offset()), (10, 10));
    assert_eq!(file_names(dir.path()), vec![name(8)]);
    assert_eq!(cq.last_entry().unwrap(), Some(entry(9)), "still known for recovery");
    drop(cq);
    let cq = open(dir.path(), 4);
    assert_eq!((cq.min_offset(), cq.max_offset()), (8, 10), "reopened: the first file's start");
    cq.delete_below(100_000).unwrap();
    assert_eq!(cq.min_offset(), 10);
    cq.append(10, &entries(10..13)).unwrap();
    assert_eq!(cq.read(10, 10).unwrap(), entries(10..13));
}

#[test]
fn delete_below_on_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    assert_eq!(cq.delete_below(1000).unwrap(), 0);
    assert_eq!((cq.min_offset(), cq.max_offset()), (0, 0));
}

/// Store time of the tests' entries: two messages per 10 ms, `[0, 0, 10, 10, 20, 20, ...]`.
fn store_time(e: &Entry) -> Option<i64> {
    Some(e.commit_log_offset / 100 / 2 * 10)
}

#[test]
fn offset_by_time_follows_rocketmq() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    assert_eq!(cq.offset_by_time(5, false, store_time).unwrap(), 0, "empty");
    assert_eq!(cq.offset_by_time(5, true, store_time).unwrap(), 0, "empty");
    cq.append(0, &entries(0..10)).unwrap(); // times 0,0,10,10,20,20,30,30,40,40
    let lower = |t| cq.offset_by_time(t, false, store_time).unwrap();
    let upper = |t| cq.offset_by_time(t, true, store_time).unwrap();
    assert_eq!((lower(10), upper(10)), (2, 3), "equal times: first and last");
    assert_eq!((lower(15), upper(15)), (4, 3), "between: next and previous");
    assert_eq!((lower(0), upper(0)), (0, 1));
    assert_eq!((lower(40), upper(40)), (8, 9));
    assert_eq!((lower(-5), upper(-5)), (0, 0), "before the first: min");
    assert_eq!((lower(45), upper(45)), (10, 9), "after the last: max, last");
    cq.delete_below(500).unwrap();
    assert_eq!(cq.min_offset(), 5);
    assert_eq!((lower(0), upper(0)), (5, 5), "clamped to min");
    assert_eq!((lower(20), upper(20)), (5, 5));
    // Deleted messages (no store time) count as older than any timestamp.
    let gone_below_7 = |e: &Entry| (e.commit_log_offset >= 700).then(|| store_time(e)).flatten();
    assert_eq!(cq.offset_by_time(0, false, gone_below_7).unwrap(), 7);
    assert_eq!(cq.offset_by_time(0, true, gone_below_7).unwrap(), 6);
    assert_eq!(cq.offset_by_time(100, true, gone_below_7).unwrap(), 9);
    cq.delete_below(5000).unwrap();
    assert_eq!((lower(20), upper(20)), (10, 10), "nothing left: min");
}

#[test]
fn offset_by_time_steps_over_fillers() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.append(0, &entries(0..3)).unwrap();
    cq.append(9, &entries(9..12)).unwrap(); // fillers at 3..9
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let time = |e: &Entry| {
        assert!(!e.is_filler(), "fillers have no store time");
        calls.fetch_add(1, Ordering::Relaxed);
        store_time(e)
    };
    assert_eq!(cq.offset_by_time(10, false, time).unwrap(), 2);
    assert_eq!(cq.offset_by_time(30, false, time).unwrap(), 9, "times 10 then 40: next");
    assert_eq!(cq.offset_by_time(30, true, time).unwrap(), 2, "previous real entry");
    assert_eq!(cq.offset_by_time(40, true, time).unwrap(), 9);
    assert_eq!(cq.offset_by_time(99, true, time).unwrap(), 11);
    assert!(calls.load(Ordering::Relaxed) > 0);
}

#[test]
fn discover_finds_every_queue() {
    let root = tempfile::tempdir().unwrap();
    assert!(discover(&root.path().join("missing")).unwrap().is_empty());
    let files = Arc::new(FileCache::new(8));
    for (topic, id) in [("B", 3), ("A", 1), ("A", 0), ("%RETRY%g", 0)] {
        let dir = queue_dir(root.path(), topic, id).unwrap();
        ConsumeQueue::open(&dir, topic, id, 4, Arc::clone(&files), through()).unwrap();
    }
    std::fs::create_dir(root.path().join("A").join("tmp")).unwrap();
    std::fs::write(root.path().join("stray"), b"x").unwrap();
    let found = discover(root.path()).unwrap();
    let names: Vec<_> = found.iter().map(|(t, q, _)| (t.as_str(), *q)).collect();
    assert_eq!(names, vec![("%RETRY%g", 0), ("A", 0), ("A", 1), ("B", 3)]);
    assert_eq!(found[2].2, root.path().join("A").join("1"));
    for bad in ["", ".", "..", "a/b"] {
        assert!(matches!(queue_dir(root.path(), bad, 0), Err(StoreError::Config(_))));
    }
}

#[test]
fn destroy_removes_the_files_and_folders() {
    let root = tempfile::tempdir().unwrap();
    let files = Arc::new(FileCache::new(8));
    let dir0 = queue_dir(root.path(), "T", 0).unwrap();
    let dir1 = queue_dir(root.path(), "T", 1).unwrap();
    let q0 = ConsumeQueue::open(&dir0, "T", 0, 4, Arc::clone(&files), through()).unwrap();
    let q1 = ConsumeQueue::open(&dir1, "T", 1, 4, Arc::clone(&files), through()).unwrap();
    q0.append(0, &entries(0..6)).unwrap();
    q1.append(0, &entries(0..2)).unwrap();
    q0.destroy().unwrap();
    assert!(!dir0.exists());
    assert!(root.path().join("T").exists(), "queue 1 is still there");
    assert_eq!((q0.min_offset(), q0.max_offset()), (0, 0));
    assert_eq!(files.len(), 1, "queue 0's handles are gone");
    q1.destroy().unwrap();
    assert!(!root.path().join("T").exists());
    q1.destroy().unwrap();
}

#[test]
fn flush_syncs_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let cq = open(dir.path(), 4);
    cq.flush(0).unwrap();
    cq.append(0, &entries(0..6)).unwrap();
    cq.flush(0).unwrap();
    assert_eq!(cq.flushed.load(Ordering::Relaxed), 6);
    cq.truncate_to(300).unwrap();
    assert_eq!(cq.flushed.load(Ordering::Relaxed), 3);
    cq.append(3, &entries(3..5)).unwrap();
    cq.flush(0).unwrap();
    assert_eq!(cq.flushed.load(Ordering::Relaxed), 5);
}

#[test]
fn a_queue_is_small_and_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<ConsumeQueue>();
    shareable::<FileCache>();
    shareable::<WriteBehind>();
    let size = std::mem::size_of::<ConsumeQueue>();
    eprintln!("ConsumeQueue: {size} bytes");
    // An empty tail (its lock, start and buffer header) is part of it: ~9 MiB for 50,000.
    assert!(size <= 192, "{size}");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn thousands_of_queues_share_a_bounded_number_of_handles() {
    let root = tempfile::tempdir().unwrap();
    let files = Arc::new(FileCache::new(64));
    let before = open_fds();
    let mut queues = Vec::new();
    let mut peak = 0;
    for id in 0..5000 {
        let dir = queue_dir(root.path(), "T", id).unwrap();
        let cq = ConsumeQueue::open(&dir, "T", id, 16, Arc::clone(&files), through()).unwrap();
        cq.append(0, &entries(0..3)).unwrap();
        if id % 500 == 0 {
            peak = peak.max(open_fds());
        }
        queues.push(cq);
    }
    for (i, cq) in queues.iter().enumerate().step_by(97) {
        assert_eq!(cq.read(0, 10).unwrap(), entries(0..3), "queue {i}");
    }
    queues.iter().step_by(13).try_for_each(|q| q.flush(0)).unwrap();
    peak = peak.max(open_fds());
    assert!(files.len() <= 64);
    // Other tests run in parallel and open files too: allow them some.
    assert!(peak <= before + 64 + 100, "{before} fds before, {peak} at peak");
}

#[test]
fn readers_never_see_a_partial_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cq = Arc::new(open(dir.path(), 64));
    let done = Arc::new(AtomicBool::new(false));
    // Readers count what they read, so the writer can make sure they overlap with it.
    let read_so_far = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (cq, done, read_so_far) =
                (Arc::clone(&cq), Arc::clone(&done), Arc::clone(&read_so_far));
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let mut step = r as i64;
                while !done.load(Ordering::Acquire) {
                    let max = cq.max_offset();
                    let min = cq.min_offset();
                    assert!(min <= max);
                    step = (step * 31 + 7) % 1000;
                    let from = (max - step).max(0);
                    let got = cq.read(from, 50).unwrap();
                    assert!(got.len() <= 50);
                    for (i, e) in got.iter().enumerate() {
                        assert_eq!(*e, entry(from + i as i64), "offset {}", from + i as i64);
                    }
                    if got.is_empty() {
                        assert!(from < cq.min_offset() || from >= max, "{from} {min} {max}");
                    } else {
                        assert_eq!(got[0].commit_log_offset, from * 100);
                    }
                    if max > 0 {
                        if let Some(e) = cq.get(max - 1).unwrap() {
                            assert_eq!(e, entry(max - 1));
                        }
                    }
                    seen += got.len() as u64;
                    read_so_far.fetch_add(got.len() as u64, Ordering::Relaxed);
                }
                seen
            })
        })
        .collect();
    let cleaner = {
        let (cq, done) = (Arc::clone(&cq), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                let keep_from = (cq.max_offset() - 500).max(0);
                cq.delete_below(keep_from * 100).unwrap();
                cq.flush(0).unwrap();
                std::thread::yield_now();
            }
        })
    };
    let mut next = 0i64;
    let mut size = 1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while next < 20_000 {
        if next >= 10_000 {
            // Halfway: wait until the readers have read while writes were going on.
            while read_so_far.load(Ordering::Relaxed) == 0 {
                assert!(std::time::Instant::now() < deadline, "readers never ran");
                std::thread::yield_now();
            }
        }
        size = size % 7 + 1;
        cq.append(next, &entries(next..next + size)).unwrap();
        next += size;
    }
    done.store(true, Ordering::Release);
    cleaner.join().unwrap();
    let seen: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(seen > 0);
    assert_eq!(cq.max_offset(), next);
    assert!(cq.min_offset() > 0, "the cleaner deleted files");
}

/// A `Vec`-like model of a queue, following the documented semantics.
#[derive(Debug)]
struct Model {
    per_file: i64,
    first_file: i64,
    min: i64,
    max: i64,
    slots: BTreeMap<i64, Entry>,
}

impl Model {
    fn file_start(&self, i: i64) -> i64 {
        i - i % self.per_file
    }

    fn non_filler(&self, lo: i64, hi: i64) -> impl DoubleEndedIterator<Item = (i64, Entry)> + '_ {
        self.slots.range(lo..hi.max(lo)).map(|(i, e)| (*i, *e)).filter(|(_, e)| !e.is_filler())
    }

    fn append(&mut self, first: i64, count: i64) {
        let first_kept = first.max(self.max);
        if first_kept >= first + count {
            return;
        }
        let fill_from = if first_kept > self.max && self.max == self.first_file {
            self.first_file = self.file_start(first_kept);
            self.min = first_kept;
            self.first_file
        } else {
            self.max
        };
        for i in fill_from..first_kept {
            self.slots.insert(i, Entry::FILLER);
        }
        for i in first_kept..first + count {
            self.slots.insert(i, entry(i));
        }
        self.max = first + count;
    }

    fn truncate_to(&mut self, end: i64) {
        let last = self.non_filler(self.first_file, self.max).rev().find(|(_, e)| e.end() <= end);
        let keep = last.map_or(self.first_file, |(i, _)| i + 1).max(self.min);
        if keep < self.max {
            self.max = keep;
            self.slots.retain(|i, _| *i < keep);
        }
    }

    fn delete_below(&mut self, threshold: i64) -> usize {
        if self.max <= self.first_file {
            return 0;
        }
        let last_file = self.file_start(self.max - 1);
        let mut deleted = 0;
        while self.first_file < last_file {
            let end = self.first_file + self.per_file;
            if self
                .non_filler(self.first_file, end)
                .last()
                .is_some_and(|(_, e)| e.commit_log_offset >= threshold)
            {
                break;
            }
            self.slots.retain(|i, _| *i >= end);
            self.first_file = end;
            self.min = self.min.max(end);
            deleted += 1;
        }
        let found =
            self.non_filler(self.min, self.max).find(|(_, e)| e.commit_log_offset >= threshold);
        self.min = found.map_or(self.max, |(i, _)| i);
        deleted
    }

    fn reopen(&mut self) {
        if self.max == self.first_file {
            (self.first_file, self.min, self.max) = (0, 0, 0);
        } else {
            let first = self.non_filler(self.first_file, self.max).next();
            self.min = first.map_or(self.max, |(i, _)| i);
        }
    }

    fn check(&self, cq: &ConsumeQueue, dir: &Path) {
        assert_eq!((cq.min_offset(), cq.max_offset()), (self.min, self.max), "{self:?}");
        let stored: Vec<_> = (self.min..self.max).map(|i| self.slots[&i]).collect();
        assert_eq!(cq.read(self.min, usize::MAX).unwrap(), stored);
        for i in (self.first_file - 2)..(self.max + 2) {
            let expected = (self.min..self.max).contains(&i).then(|| self.slots[&i]);
            assert_eq!(cq.get(i).unwrap(), expected, "offset {i}");
        }
        let last = self.non_filler(self.first_file, self.max).last().map(|(_, e)| e);
        assert_eq!(cq.last_entry().unwrap(), last);
        // On file below `written`, buffered from there to max.
        let written = cq.written.load(Ordering::Acquire);
        assert!((self.first_file..=self.max).contains(&written), "{written} {self:?}");
        assert_eq!(written + cq.buffered(), self.max);
        let files: Vec<_> =
            (self.first_file..written).step_by(self.per_file as usize).map(name).collect();
        assert_eq!(file_names(dir), files);
    }

    /// The process died with entries from `written` on only in memory: they are gone.
    fn crash(&mut self, written: i64) {
        if written < self.max {
            self.max = written;
            self.slots.retain(|i, _| *i < written);
        }
        self.reopen();
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Append `count` entries from `max + delta`.
    Append {
        delta: i64,
        count: i64,
    },
    /// Truncate to the end of the message `back` entries before max, plus `jitter`.
    Truncate {
        back: i64,
        jitter: i64,
    },
    /// Delete below the message `ahead` entries after min, plus `jitter`.
    Delete {
        ahead: i64,
        jitter: i64,
    },
    /// Flush, drop and open again.
    Reopen,
    /// Drop (losing the tail) and open again.
    Crash,
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (-4i64..9, 0i64..9).prop_map(|(delta, count)| Op::Append { delta, count }),
        1 => (0i64..12, 0i64..100).prop_map(|(back, jitter)| Op::Truncate { back, jitter }),
        2 => (-2i64..10, 0i64..100).prop_map(|(ahead, jitter)| Op::Delete { ahead, jitter }),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
        1 => Just(Op::Flush),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Written through (`tail_bytes` 0) and with tails of a few entries.
    #[test]
    fn behaves_like_the_model(
        per_file in 1usize..6,
        tail_bytes in prop_oneof![Just(0usize), Just(40), Just(100)],
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let files = Arc::new(FileCache::new(3));
        let limits = TailLimits { tail_bytes, ..TailLimits::default() };
        let behind = Arc::new(WriteBehind::new(limits));
        let reopen = || {
            let files = Arc::clone(&files);
            ConsumeQueue::open(dir.path(), "T", 0, per_file, files, Arc::clone(&behind)).unwrap()
        };
        let mut cq = reopen();
        let mut model = Model { per_file: per_file as i64, first_file: 0, min: 0, max: 0, slots: BTreeMap::new() };
        for op in ops {
            match op {
                Op::Append { delta, count } => {
                    let first = (model.max + delta).max(0);
                    cq.append(first, &entries(first..first + count)).unwrap();
                    model.append(first, count);
                }
                Op::Truncate { back, jitter } => {
                    let end = (model.max - back) * 100 + jitter;
                    cq.truncate_to(end).unwrap();
                    model.truncate_to(end);
                }
                Op::Delete { ahead, jitter } => {
                    let threshold = (model.min + ahead) * 100 + jitter;
                    prop_assert_eq!(cq.delete_below(threshold).unwrap(), model.delete_below(threshold));
                }
                Op::Reopen => {
                    cq.flush(0).unwrap();
                    drop(cq);
                    cq = reopen();
                    model.reopen();
                }
                Op::Crash => {
                    let written = cq.written.load(Ordering::Acquire);
                    drop(cq);
                    cq = reopen();
                    model.crash(written);
                }
                Op::Flush => cq.flush(0).unwrap(),
            }
            model.check(&cq, dir.path());
            let held = cq.tail.lock().unwrap().held();
            prop_assert_eq!(behind.held_bytes(), held, "the budget counts the tail's memory");
        }
        cq.flush(0).unwrap();
        drop(cq);
        model.reopen();
        model.check(&reopen(), dir.path());
    }
}
