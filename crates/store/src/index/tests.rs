//! Index tests: rolls, time ranges, collisions, recovery, retention, concurrency, and a
//! model-based property test.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

use super::format::{key_hash, Geometry, ENTRY_LEN, HEADER_LEN};
use super::{Index, IndexConfig};

const T0: i64 = 1_700_000_000_000;

fn config(slots: usize, entries: usize) -> IndexConfig {
    IndexConfig { max_hash_slots: slots, max_entries: entries }
}

fn index_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> =
        std::fs::read_dir(root.join("index")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// What the index must return: entries of the same hash, newest first.
#[derive(Default)]
struct Model {
    entries: Vec<(String, i64, i64)>,
}

impl Model {
    fn put(&mut self, key: &str, offset: i64, time: i64) {
        if self.entries.last().is_none_or(|(_, last, _)| offset >= *last) {
            self.entries.push((key.to_string(), offset, time));
        }
    }

    fn query(&self, key: &str, max: usize, begin: i64, end: i64) -> Vec<i64> {
        let hash = key_hash(key);
        self.entries
            .iter()
            .rev()
            .filter(|(k, _, t)| key_hash(k) == hash && (begin..=end).contains(t))
            .map(|(_, o, _)| *o)
            .take(max)
            .collect()
    }
}

fn fill(index: &Index, model: &mut Model, n: i64) {
    for i in 0..n {
        let key = format!("TopicTest#key{}", i % 13);
        index.put(&key, i * 100, T0 + i * 10).unwrap();
        model.put(&key, i * 100, T0 + i * 10);
    }
}

fn assert_same(index: &Index, model: &Model) {
    for k in 0..13 {
        let key = format!("TopicTest#key{k}");
        for (max, begin, end) in
            [(1000, 0, i64::MAX), (3, 0, i64::MAX), (1000, T0 + 500, T0 + 2500)]
        {
            let got = index.query(&key, max, begin, end).unwrap();
            assert_eq!(
                got.offsets,
                model.query(&key, max, begin, end),
                "{key} {max} {begin} {end}"
            );
        }
    }
}

#[test]
fn empty_index() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(8, 8)).unwrap();
    assert_eq!(index.max_commit_log_offset(), -1);
    let r = index.query("t#k", 32, 0, i64::MAX).unwrap();
    assert!(r.offsets.is_empty());
    assert_eq!((r.last_update_timestamp, r.last_update_commit_log_offset), (0, 0));
    index.flush().unwrap();
    assert_eq!(index.delete_below(i64::MAX).unwrap(), 0);
    index.truncate_to(0).unwrap();
}

#[test]
fn many_keys_across_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 300);
    assert_eq!(index_files(dir.path()).len(), 15, "300 entries, 20 per file");
    assert_same(&index, &model);
    assert_eq!(index.max_commit_log_offset(), 299 * 100);
    let r = index.query("TopicTest#key0", 5, 0, i64::MAX).unwrap();
    assert_eq!(r.last_update_timestamp, T0 + 2990);
    assert_eq!(r.last_update_commit_log_offset, 29_900);
    // Newest first, at most max.
    assert_eq!(r.offsets, vec![29_900, 28_600, 27_300, 26_000, 24_700]);
    assert!(index.query("TopicTest#key0", 0, 0, i64::MAX).unwrap().offsets.is_empty());
    assert!(index.query("TopicTest#absent", 10, 0, i64::MAX).unwrap().offsets.is_empty());
}

#[test]
fn time_range_is_inclusive_and_exact_to_the_millisecond() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(4, 5)).unwrap();
    for i in 0..20 {
        index.put("t#k", i, T0 + i * 1000 + 1).unwrap();
    }
    let q = |b, e| index.query("t#k", 100, b, e).unwrap().offsets;
    assert_eq!(q(T0 + 3001, T0 + 6001), vec![6, 5, 4, 3]);
    assert_eq!(q(T0 + 3002, T0 + 6000), vec![5, 4]);
    assert_eq!(q(T0 + 19_002, i64::MAX), Vec::<i64>::new());
    assert_eq!(q(0, T0), Vec::<i64>::new());
    assert_eq!(q(T0 + 6001, T0 + 3001), Vec::<i64>::new(), "begin after end");
    assert_eq!(q(0, i64::MAX).len(), 20);
}

#[test]
fn an_offset_below_the_highest_is_ignored_an_equal_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(4, 5)).unwrap();
    index.put("t#a", 500, T0).unwrap();
    index.put("t#b", 500, T0).unwrap();
    index.put("t#a", 400, T0).unwrap();
    assert_eq!(index.query("t#a", 10, 0, i64::MAX).unwrap().offsets, vec![500]);
    assert_eq!(index.query("t#b", 10, 0, i64::MAX).unwrap().offsets, vec![500]);
}

#[test]
fn colliding_keys_are_candidates_other_slot_mates_are_not() {
    // "Aa" and "BB" have the same Java hash; with one slot every key shares the chain.
    assert_eq!(key_hash("t#Aa"), key_hash("t#BB"));
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(1, 100)).unwrap();
    index.put("t#Aa", 10, T0).unwrap();
    index.put("t#other", 20, T0 + 1).unwrap();
    index.put("t#BB", 30, T0 + 2).unwrap();
    index.put("t#other", 40, T0 + 3).unwrap();
    assert_eq!(index.query("t#Aa", 10, 0, i64::MAX).unwrap().offsets, vec![30, 10]);
    assert_eq!(index.query("t#BB", 10, 0, i64::MAX).unwrap().offsets, vec![30, 10]);
    assert_eq!(index.query("t#other", 10, 0, i64::MAX).unwrap().offsets, vec![40, 20]);
}

#[test]
fn rolls_when_time_leaves_the_i32_millisecond_range() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(4, 100)).unwrap();
    index.put("t#k", 1, T0).unwrap();
    index.put("t#k", 2, T0 + i64::from(i32::MAX)).unwrap();
    index.put("t#k", 3, T0 + i64::from(i32::MAX) + 1).unwrap();
    assert_eq!(index_files(dir.path()).len(), 2);
    assert_eq!(index.query("t#k", 10, 0, i64::MAX).unwrap().offsets, vec![3, 2, 1]);
    assert_eq!(index.query("t#k", 10, T0 + 1, i64::MAX).unwrap().offsets, vec![3, 2]);
}

#[test]
fn reopen_after_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::default();
    {
        let index = Index::open(dir.path(), config(7, 20)).unwrap();
        fill(&index, &mut model, 50);
        index.close().unwrap();
    }
    assert_eq!(index_files(dir.path()).len(), 3);
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert_same(&index, &model);
    assert_eq!(index.max_commit_log_offset(), 4900);
    // The last file was sealed: new entries go to a new file.
    index.put("TopicTest#key0", 5000, T0 + 500).unwrap();
    model.put("TopicTest#key0", 5000, T0 + 500);
    assert_eq!(index_files(dir.path()).len(), 4);
    assert_same(&index, &model);
    drop(index);
    // Dropping seals too; a different configuration only affects new files.
    let index = Index::open(dir.path(), config(3, 4)).unwrap();
    assert_same(&index, &model);
}

#[test]
fn reopen_after_a_crash_continues_the_unsealed_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::default();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    fill(&index, &mut model, 50);
    index.flush().unwrap();
    index.crash();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert_same(&index, &model);
    for i in 50..60 {
        index.put("TopicTest#key1", i * 100, T0 + i * 10).unwrap();
        model.put("TopicTest#key1", i * 100, T0 + i * 10);
    }
    assert_eq!(index_files(dir.path()).len(), 3, "10 + 10 entries fill the recovered file");
    assert_same(&index, &model);
}

/// Entry `n` of the last index file under `root` (geometry `g`), overwritten with `bytes`.
fn overwrite_entry(root: &Path, g: Geometry, n: u32, bytes: &[u8]) {
    let path = index_files(root).pop().unwrap();
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(g.entry_pos(n) as u64)).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn a_torn_tail_is_cut_at_the_first_invalid_entry() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geometry::new(7, 20).unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 35);
    index.crash();
    // Garbage over entry 12 of the last file (the 33rd entry) and beyond.
    overwrite_entry(dir.path(), g, 12, &[0xA5; ENTRY_LEN * 3]);
    model.entries.truncate(32);
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert_eq!(index.max_commit_log_offset(), 3100);
    assert_same(&index, &model);
    // The dispatcher re-indexes from there, over the garbage.
    for i in 32..45 {
        let key = format!("TopicTest#key{}", i % 13);
        index.put(&key, i * 100, T0 + i * 10).unwrap();
        model.put(&key, i * 100, T0 + i * 10);
    }
    assert_same(&index, &model);
    index.crash();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert_same(&index, &model);
}

#[test]
fn a_stale_entry_after_a_hole_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geometry::new(7, 20).unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 10);
    index.crash();
    // A page that never reached the disk: zeros at entry 5, valid entries after it.
    overwrite_entry(dir.path(), g, 5, &[0; ENTRY_LEN]);
    model.entries.truncate(5);
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert_same(&index, &model);
    assert_eq!(index.max_commit_log_offset(), 400);
}

#[test]
fn a_truncated_file_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geometry::new(7, 20).unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 30);
    index.crash();
    let path = index_files(dir.path()).pop().unwrap();
    // Cut in the middle of entry 4 of the last file.
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(g.entry_pos(4) as u64 + 7).unwrap();
    drop(f);
    model.entries.truncate(24);
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert_same(&index, &model);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), g.file_len() as u64, "grown back");
}

#[test]
fn a_last_file_torn_at_creation_is_deleted_an_older_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = Model::default();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    fill(&index, &mut model, 25);
    // Left unsealed: no longer last once the torn file appears, so it is sealed at open.
    index.crash();
    let torn = dir.path().join("index").join("09999999999999999999");
    std::fs::write(&torn, [0u8; HEADER_LEN / 2]).unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    assert!(!torn.exists());
    assert_same(&index, &model);
    drop(index);

    let first = index_files(dir.path()).remove(0);
    overwrite_entry_at(&first, 3, b"junk");
    assert!(matches!(Index::open(dir.path(), config(7, 20)), Err(crate::StoreError::Corrupt(_))));
}

fn overwrite_entry_at(path: &Path, pos: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn default_geometry_files_are_sparse() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), IndexConfig::default()).unwrap();
    for i in 0..1000 {
        index.put(&format!("TopicTest#{i}"), i * 10, T0 + i).unwrap();
    }
    index.close().unwrap();
    let path = index_files(dir.path()).pop().unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), 500_000_096);
    assert!(meta.blocks() * 512 < 16 << 20, "{} bytes on disk", meta.blocks() * 512);
    drop(index);
    let index = Index::open(dir.path(), IndexConfig::default()).unwrap();
    assert_eq!(index.query("TopicTest#7", 32, 0, i64::MAX).unwrap().offsets, vec![70]);
    assert_eq!(index.max_commit_log_offset(), 9990);
}

#[test]
fn truncate_to_drops_whole_files_from_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 70); // files hold offsets 0..1900, ..3900, ..5900, 6000..6900 (live)
    index.truncate_to(4500).unwrap();
    assert_eq!(index.max_commit_log_offset(), 3900);
    model.entries.truncate(40);
    assert_same(&index, &model);
    // Re-dispatch from there.
    for i in 40..50 {
        let key = format!("TopicTest#key{}", i % 13);
        index.put(&key, i * 100, T0 + i * 10).unwrap();
        model.put(&key, i * 100, T0 + i * 10);
    }
    assert_same(&index, &model);
    index.truncate_to(i64::MAX).unwrap();
    assert_same(&index, &model);
    index.truncate_to(0).unwrap();
    assert_eq!(index.max_commit_log_offset(), -1);
    drop(index);
    assert!(index_files(dir.path()).is_empty());
}

#[test]
fn delete_below_removes_old_files_but_never_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 70);
    assert_eq!(index.delete_below(1900).unwrap(), 0, "the first file ends at 1900");
    assert_eq!(index.delete_below(1901).unwrap(), 1);
    assert_eq!(index_files(dir.path()).len(), 3);
    assert_eq!(index.delete_below(i64::MAX).unwrap(), 2);
    assert_eq!(index_files(dir.path()).len(), 1);
    model.entries.drain(..60);
    assert_same(&index, &model);
    assert_eq!(index.max_commit_log_offset(), 6900);
}

#[test]
fn readers_held_across_deletion_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::open(dir.path(), config(7, 20)).unwrap();
    let mut model = Model::default();
    fill(&index, &mut model, 30);
    let snapshot = index.snapshot();
    index.truncate_to(0).unwrap();
    let mut out = Vec::new();
    snapshot[0].select(&mut out, key_hash("TopicTest#key0"), 10, 0, i64::MAX);
    assert_eq!(out, vec![1300, 0]);
    assert_eq!(index_files(dir.path()).len(), 2, "kept until the snapshot goes");
    drop(snapshot);
    assert!(index_files(dir.path()).is_empty());
}

#[test]
fn concurrent_readers_see_consistent_chains_while_the_writer_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let index = Arc::new(Index::open(dir.path(), config(5, 64)).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (index, done) = (Arc::clone(&index), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut seen = 0;
                while !done.load(Ordering::Acquire) {
                    let floor = index.max_commit_log_offset();
                    let got = index.query("t#hot", 50, 0, i64::MAX).unwrap().offsets;
                    if let Some(first) = got.first() {
                        assert!(*first >= floor - floor % 20, "newest {first} older than {floor}");
                    }
                    assert!(got.windows(2).all(|w| w[0] - w[1] == 20), "gap in {got:?}");
                    assert!(got.len() == 50 || got.last().is_none_or(|o| *o == 0), "{got:?}");
                    seen = seen.max(got.len());
                }
                seen
            })
        })
        .collect();
    for i in 0..3000 {
        index.put("t#hot", i * 20, T0 + i).unwrap();
        index.put("t#cold", i * 20 + 10, T0 + i).unwrap();
        if i % 500 == 0 {
            index.flush().unwrap();
        }
    }
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

#[test]
fn config_defaults_names_and_validation() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Index>();
    let c = IndexConfig::default();
    assert_eq!((c.max_hash_slots, c.max_entries), (5_000_000, 20_000_000));
    assert!(c.validate().is_ok());
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, r#"{"maxHashSlotNum":5000000,"maxIndexNum":20000000}"#);
    let c: IndexConfig = serde_json::from_str(r#"{"maxIndexNum":9}"#).unwrap();
    assert_eq!((c.max_hash_slots, c.max_entries), (5_000_000, 9));
    let dir = tempfile::tempdir().unwrap();
    for bad in [config(0, 10), config(10, 0), config(1 << 33, 10)] {
        assert!(matches!(Index::open(dir.path(), bad), Err(crate::StoreError::Config(_))));
    }
}

#[derive(Debug, Clone)]
enum Op {
    Put { key: usize, step: i64, dt: i64 },
    Query { key: usize, max: usize, begin: i64, len: i64 },
    Reopen { crash: bool },
    Flush,
}

const KEYS: [&str; 6] = ["T#a", "T#b", "T#c", "T#Aa", "T#BB", "T#longer key ü"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..KEYS.len(), prop_oneof![Just(0i64), 1..500i64], 0..3000i64)
            .prop_map(|(key, step, dt)| Op::Put { key, step, dt }),
        4 => (0..KEYS.len(), 0..12usize, -1000..200_000i64, 0..100_000i64)
            .prop_map(|(key, max, begin, len)| Op::Query { key, max, begin, len }),
        1 => any::<bool>().prop_map(|crash| Op::Reopen { crash }),
        1 => Just(Op::Flush),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn behaves_like_the_model(ops in proptest::collection::vec(op(), 1..150), slots in 1..6usize, entries in 1..12usize) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(slots, entries);
        let mut index = Index::open(dir.path(), cfg).unwrap();
        let mut model = Model::default();
        let (mut offset, mut time) = (0i64, T0);
        for op in ops {
            match op {
                Op::Put { key, step, dt } => {
                    offset += step;
                    time += dt;
                    index.put(KEYS[key], offset, time).unwrap();
                    model.put(KEYS[key], offset, time);
                }
                Op::Query { key, max, begin, len } => {
                    let (begin, end) = (T0 + begin, T0 + begin + len);
                    let got = index.query(KEYS[key], max, begin, end).unwrap();
                    prop_assert_eq!(got.offsets, model.query(KEYS[key], max, begin, end));
                    let last = model.entries.last();
                    prop_assert_eq!(got.last_update_commit_log_offset, last.map_or(0, |e| e.1));
                    prop_assert_eq!(got.last_update_timestamp, last.map_or(0, |e| e.2));
                }
                Op::Reopen { crash } => {
                    if crash { index.crash() } else { drop(index) }
                    index = Index::open(dir.path(), cfg).unwrap();
                }
                Op::Flush => index.flush().unwrap(),
            }
            prop_assert_eq!(index.max_commit_log_offset(), model.entries.last().map_or(-1, |e| e.1));
        }
    }
}
