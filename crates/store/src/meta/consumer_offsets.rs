//! `ConsumerOffsets`: each consumer group's committed offset per topic and queue, kept in
//! `config/consumerOffset.json` the way Java's `ConsumerOffsetManager` writes it.
//!
//! ```text
//! {
//! →"dataVersion":{…},
//! →"groupTopicMap":{"CG":["TopicTest"]},       (derived; ignored when read)
//! →"offsetTable":{
//! →→"TopicTest@CG":{0:123,1:456
//! →→}
//! →}
//! }
//! ```
//! Keys are `topic@group`; queue ids are unquoted integers (fastjson). Commits only touch
//! memory; the broker calls [`ConsumerOffsets::persist`] every `flushConsumerOffsetInterval`
//! (5 s), which writes only when something changed. As in Java the data version moves once
//! every `consumerOffsetUpdateVersionStep` (500) commits, not on each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use ferromq_protocol::body::fastjson::{self, Fields, FromJsonValue, Json, JsonStyle, ToJson};
use ferromq_protocol::body::{ConsumerOffsetSerializeWrapper, DataVersion};
use serde_json::Value;

use super::file::load_json;
use super::persisted::{corrupt, read, write, Persisted};
use super::pretty;
use crate::error::Result;

/// Separates topic and group in the table's keys.
pub const TOPIC_GROUP_SEPARATOR: char = '@';
/// Commits per data-version bump (`consumerOffsetUpdateVersionStep`).
pub const DEFAULT_VERSION_STEP: u64 = 500;

type OffsetTable = BTreeMap<String, BTreeMap<i32, i64>>;

fn key(group: &str, topic: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

/// `(topic, group)` of a key, if it has exactly one separator (Java skips other keys).
fn split_key(key: &str) -> Option<(&str, &str)> {
    let (topic, group) = key.split_once(TOPIC_GROUP_SEPARATOR)?;
    (!group.contains(TOPIC_GROUP_SEPARATOR)).then_some((topic, group))
}

#[derive(Debug)]
struct State {
    offsets: OffsetTable,
    data_version: DataVersion,
}

/// The file's content: Java serializes the manager's getters.
struct OffsetFile<'a> {
    offsets: &'a OffsetTable,
    data_version: DataVersion,
}

impl ToJson for OffsetFile<'_> {
    fn to_json_tree(&self) -> Json {
        let mut group_topics: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (topic, group) in self.offsets.keys().filter_map(|k| split_key(k)) {
            group_topics.entry(group.to_owned()).or_default().insert(topic.to_owned());
        }
        Json::bean([
            ("dataVersion", self.data_version.to_json_tree()),
            ("groupTopicMap", group_topics.to_json_tree()),
            ("offsetTable", self.offsets.to_json_tree()),
        ])
    }
}

/// What is read back: the offsets, and the version if the file has one (4.x files do not).
struct LoadedOffsets {
    offsets: OffsetTable,
    data_version: Option<DataVersion>,
}

impl FromJsonValue for LoadedOffsets {
    fn from_json_value(v: &Value) -> ferromq_protocol::Result<Self> {
        let f = Fields::of(v)?;
        Ok(LoadedOffsets { offsets: f.get("offsetTable")?, data_version: f.opt("dataVersion")? })
    }
}

/// Committed consumer offsets. `Send + Sync`; one entry per (group, topic, queue).
#[derive(Debug)]
pub struct ConsumerOffsets {
    state: RwLock<State>,
    file: Persisted,
    commits: AtomicU64,
    version_step: u64,
}

impl ConsumerOffsets {
    /// Loads `path` (or its `.bak`); a missing file gives an empty table.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let loaded = load_json(&path, |bytes| {
            fastjson::decode::<LoadedOffsets>(bytes).map_err(|e| corrupt(&path, e))
        })?;
        let (offsets, data_version) = match loaded {
            Some(l) => (l.offsets, l.data_version.unwrap_or_else(DataVersion::new)),
            None => (OffsetTable::new(), DataVersion::new()),
        };
        Ok(ConsumerOffsets {
            state: RwLock::new(State { offsets, data_version }),
            file: Persisted::new(path),
            commits: AtomicU64::new(0),
            version_step: DEFAULT_VERSION_STEP,
        })
    }

    /// Bumps the data version every `step` commits instead of every 500 (0 counts as 1).
    pub fn with_version_step(mut self, step: u64) -> Self {
        self.version_step = step.max(1);
        self
    }

    /// The file the table lives in.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Records `offset` as the next offset `group` will consume from `topic`'s queue
    /// `queue_id`. A smaller offset than the stored one is accepted (and logged), as in Java.
    pub fn commit(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        let commits = self.commits.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let bump = commits.checked_rem(self.version_step) == Some(0);
        let mut state = write(&self.state);
        let previous = state.offsets.entry(key(group, topic)).or_default().insert(queue_id, offset);
        if bump {
            state.data_version.next();
        }
        drop(state);
        self.file.mark_dirty();
        if let Some(stored) = previous.filter(|stored| offset < *stored) {
            tracing::warn!(
                "offset of {group} on {topic}:{queue_id} moved back from {stored} to {offset}"
            );
        }
    }

    /// The committed offset, if any.
    pub fn query(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        read(&self.state).offsets.get(&key(group, topic))?.get(&queue_id).copied()
    }

    /// Every committed offset of `group` on `topic`, by queue id.
    pub fn queue_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        read(&self.state).offsets.get(&key(group, topic)).cloned().unwrap_or_default()
    }

    /// The groups with offsets on `topic`.
    pub fn groups_of_topic(&self, topic: &str) -> BTreeSet<String> {
        let state = read(&self.state);
        let keys = state.offsets.keys().filter_map(|k| split_key(k));
        keys.filter(|(t, _)| *t == topic).map(|(_, g)| g.to_owned()).collect()
    }

    /// The topics on which `group` has offsets.
    pub fn topics_of_group(&self, group: &str) -> BTreeSet<String> {
        let state = read(&self.state);
        let keys = state.offsets.keys().filter_map(|k| split_key(k));
        keys.filter(|(_, g)| *g == group).map(|(t, _)| t.to_owned()).collect()
    }

    /// Drops every offset of `group`; returns how many topics it had.
    pub fn remove_group(&self, group: &str) -> usize {
        self.remove_where(|_, g| g == group)
    }

    /// Drops every group's offsets on `topic`; returns how many groups had some.
    pub fn remove_topic(&self, topic: &str) -> usize {
        self.remove_where(|t, _| t == topic)
    }

    fn remove_where(&self, doomed: impl Fn(&str, &str) -> bool) -> usize {
        let mut state = write(&self.state);
        let before = state.offsets.len();
        state.offsets.retain(|k, _| !split_key(k).is_some_and(|(t, g)| doomed(t, g)));
        let removed = before - state.offsets.len();
        drop(state);
        if removed > 0 {
            self.file.mark_dirty();
        }
        removed
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        read(&self.state).data_version
    }

    /// A snapshot of every offset (the `offsetTable` alone).
    pub fn all(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper { offset_table: read(&self.state).offsets.clone() }
    }

    /// The table as Java's `encode()` gives it, compact: the GET_ALL_CONSUMER_OFFSET body.
    pub fn to_json(&self) -> Vec<u8> {
        self.tree().render(JsonStyle::Fastjson)
    }

    /// Writes the file if any offset changed since the last write; `Ok(false)` if none did.
    pub fn persist(&self) -> Result<bool> {
        self.file.persist(|| pretty::render(&self.tree()))
    }

    fn tree(&self) -> Json {
        let state = read(&self.state);
        OffsetFile { offsets: &state.offsets, data_version: state.data_version }.to_json_tree()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::meta::file::backup_path;

    fn offsets() -> (tempfile::TempDir, ConsumerOffsets) {
        let dir = tempfile::tempdir().unwrap();
        let table = ConsumerOffsets::open(dir.path().join("consumerOffset.json")).unwrap();
        (dir, table)
    }

    #[test]
    fn commit_and_query() {
        let (_dir, o) = offsets();
        assert_eq!(o.query("CG", "T", 0), None);
        o.commit("CG", "T", 0, 10);
        o.commit("CG", "T", 1, 20);
        o.commit("CG", "T", 0, 5);
        o.commit("CG2", "T", 0, 7);
        o.commit("CG", "U", 3, 1);
        assert_eq!(o.query("CG", "T", 0), Some(5));
        assert_eq!(o.queue_offsets("CG", "T"), BTreeMap::from([(0, 5), (1, 20)]));
        assert!(o.queue_offsets("CG", "none").is_empty());
        assert_eq!(o.groups_of_topic("T"), BTreeSet::from(["CG".into(), "CG2".into()]));
        assert_eq!(o.topics_of_group("CG"), BTreeSet::from(["T".into(), "U".into()]));
        assert_eq!(o.remove_group("CG"), 2);
        assert_eq!(o.topics_of_group("CG"), BTreeSet::new());
        assert_eq!(o.remove_topic("T"), 1);
        assert!(o.all().offset_table.is_empty());
    }

    #[test]
    fn golden_file_with_unquoted_queue_ids() {
        let (_dir, o) = offsets();
        o.commit("CG", "TopicTest", 0, 123);
        o.commit("CG", "TopicTest", 1, 456);
        o.commit("CG", "%RETRY%CG", 0, 0);
        assert!(o.persist().unwrap());
        let v = o.data_version();
        let version = format!(
            "{{\n\t\t\"counter\":0,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":{}\n\t}}",
            v.timestamp
        );
        let want = format!(
            "{{\n\t\"dataVersion\":{version},\n\t\"groupTopicMap\":{{\n\t\t\"CG\":[\"%RETRY%CG\",\"TopicTest\"]\n\t}},\n\t\"offsetTable\":{{\n\t\t\"%RETRY%CG@CG\":{{0:0\n\t\t}},\n\t\t\"TopicTest@CG\":{{0:123,1:456\n\t\t}}\n\t}}\n}}"
        );
        assert_eq!(String::from_utf8(std::fs::read(o.path()).unwrap()).unwrap(), want);
        let compact = String::from_utf8(o.to_json()).unwrap();
        assert!(compact
            .ends_with(r#""offsetTable":{"%RETRY%CG@CG":{0:0},"TopicTest@CG":{0:123,1:456}}}"#));
    }

    #[test]
    fn round_trip_and_cheap_persist() {
        let (_dir, o) = offsets();
        assert!(!o.persist().unwrap(), "nothing to write yet");
        assert!(!o.path().exists());
        o.commit("CG", "T", 0, 1);
        assert!(o.persist().unwrap());
        assert!(!o.persist().unwrap(), "clean");
        o.commit("CG", "T", 0, 2);
        assert!(o.persist().unwrap());
        let reopened = ConsumerOffsets::open(o.path()).unwrap();
        assert_eq!(reopened.all(), o.all());
        assert_eq!(reopened.data_version(), o.data_version());
        // The previous file is the backup.
        let backup = ConsumerOffsets::open(backup_path(o.path())).unwrap();
        assert_eq!(backup.query("CG", "T", 0), Some(1));
    }

    #[test]
    fn torn_file_falls_back_to_backup() {
        let (_dir, o) = offsets();
        o.commit("CG", "T", 0, 1);
        o.persist().unwrap();
        o.commit("CG", "T", 0, 2);
        o.persist().unwrap();
        let bytes = std::fs::read(o.path()).unwrap();
        std::fs::write(o.path(), &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(ConsumerOffsets::open(o.path()).unwrap().query("CG", "T", 0), Some(1));
    }

    #[test]
    fn reads_a_4x_file_without_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        let java = "{\n\t\"offsetTable\":{\n\t\t\"TopicTest@please_rename_unique_group_name_4\":{0:250,1:250,2:250,3:250\n\t\t},\n\t\t\"odd\":{0:1\n\t\t}\n\t}\n}";
        std::fs::write(&path, java).unwrap();
        let o = ConsumerOffsets::open(&path).unwrap();
        assert_eq!(o.query("please_rename_unique_group_name_4", "TopicTest", 3), Some(250));
        assert!(o.data_version().timestamp > 0, "a fresh version, as Java's constructor makes");
        // A key without a separator is kept but belongs to no group.
        assert_eq!(o.all().offset_table.len(), 2);
        assert_eq!(o.groups_of_topic("odd"), BTreeSet::new());
    }

    #[test]
    fn version_moves_every_step_commits() {
        let (_dir, o) = offsets();
        let o = o.with_version_step(3);
        for i in 0..7 {
            o.commit("CG", "T", 0, i);
        }
        assert_eq!(o.data_version().counter, 2);
    }

    #[test]
    fn concurrent_commit_and_query() {
        let (_dir, o) = offsets();
        let o = Arc::new(o);
        let writers: Vec<_> = (0..4)
            .map(|queue| {
                let o = Arc::clone(&o);
                std::thread::spawn(move || {
                    for offset in 1..=500 {
                        o.commit("CG", "T", queue, offset);
                        let seen = o.query("CG", "T", queue).unwrap();
                        assert!(seen >= offset, "own commits are visible");
                    }
                })
            })
            .collect();
        let persister = {
            let o = Arc::clone(&o);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    o.persist().unwrap();
                }
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        persister.join().unwrap();
        o.persist().unwrap();
        let expected: BTreeMap<i32, i64> = (0..4).map(|q| (q, 500)).collect();
        assert_eq!(o.queue_offsets("CG", "T"), expected);
        let reopened = ConsumerOffsets::open(o.path()).unwrap();
        assert_eq!(reopened.queue_offsets("CG", "T"), expected);
        assert_eq!(o.data_version().counter, 4, "2000 commits / 500");
    }
}
