//! `DelayOffsets`: how far the broker's scheduler has delivered each delay level's queue of
//! `SCHEDULE_TOPIC_XXXX` (the next queue offset to look at), kept in `config/delayOffset.json`
//! the way Java's `ScheduleMessageService` writes it (`DelayOffsetSerializeWrapper`).
//!
//! ```text
//! {
//! →"dataVersion":{…},
//! →"offsetTable":{1:120,2:0,3:7
//! →}
//! }
//! ```
//! Keys are delay levels (unquoted integers, as fastjson writes an `Integer`-keyed map).
//! Updates only touch memory; the broker calls [`DelayOffsets::persist`], which writes only
//! when something changed. As in Java the data version moves once every
//! `delayOffsetUpdateVersionStep` (200) updates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use ferromq_protocol::body::fastjson::{self, Fields, FromJsonValue, Json, JsonStyle, ToJson};
use ferromq_protocol::body::DataVersion;
use serde_json::Value;

use super::file::load_json;
use super::persisted::{corrupt, read, write, Persisted};
use super::pretty;
use crate::error::Result;

/// Updates per data-version bump (`delayOffsetUpdateVersionStep`).
pub const DEFAULT_VERSION_STEP: u64 = 200;

#[derive(Debug)]
struct State {
    offsets: BTreeMap<i32, i64>,
    data_version: DataVersion,
}

/// What is read back: the offsets, and the version if the file has one (4.x files do not).
struct Loaded {
    offsets: BTreeMap<i32, i64>,
    data_version: Option<DataVersion>,
}

impl FromJsonValue for Loaded {
    fn from_json_value(v: &Value) -> ferromq_protocol::Result<Self> {
        let f = Fields::of(v)?;
        Ok(Loaded { offsets: f.get("offsetTable")?, data_version: f.opt("dataVersion")? })
    }
}

/// Delivered offsets per delay level. `Send + Sync`.
#[derive(Debug)]
pub struct DelayOffsets {
    state: RwLock<State>,
    file: Persisted,
    updates: AtomicU64,
}

impl DelayOffsets {
    /// Loads `path` (or its `.bak`); a missing file gives an empty table.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let loaded = load_json(&path, |bytes| {
            fastjson::decode::<Loaded>(bytes).map_err(|e| corrupt(&path, e))
        })?;
        let (offsets, data_version) = match loaded {
            Some(l) => (l.offsets, l.data_version.unwrap_or_else(DataVersion::new)),
            None => (BTreeMap::new(), DataVersion::new()),
        };
        Ok(DelayOffsets {
            state: RwLock::new(State { offsets, data_version }),
            file: Persisted::new(path),
            updates: AtomicU64::new(0),
        })
    }

    /// The file the table lives in.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The next offset of `level`'s queue to deliver, if recorded.
    pub fn get(&self, level: i32) -> Option<i64> {
        read(&self.state).offsets.get(&level).copied()
    }

    /// Records `offset` as the next offset of `level`'s queue to deliver.
    pub fn update(&self, level: i32, offset: i64) {
        let updates = self.updates.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut state = write(&self.state);
        if state.offsets.insert(level, offset) == Some(offset) {
            return;
        }
        if updates.is_multiple_of(DEFAULT_VERSION_STEP) {
            state.data_version.next();
        }
        drop(state);
        self.file.mark_dirty();
    }

    /// Every recorded offset, by level.
    pub fn all(&self) -> BTreeMap<i32, i64> {
        read(&self.state).offsets.clone()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        read(&self.state).data_version
    }

    /// The table as Java's `encode()` gives it, compact (the GET_ALL_DELAY_OFFSET body).
    pub fn to_json(&self) -> Vec<u8> {
        self.tree().render(JsonStyle::Fastjson)
    }

    /// Writes the file if an offset changed since the last write; `Ok(false)` if none did.
    pub fn persist(&self) -> Result<bool> {
        self.file.persist(|| pretty::render(&self.tree()))
    }

    fn tree(&self) -> Json {
        let state = read(&self.state);
        Json::bean([
            ("dataVersion", state.data_version.to_json_tree()),
            ("offsetTable", state.offsets.to_json_tree()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets() -> (tempfile::TempDir, DelayOffsets) {
        let dir = tempfile::tempdir().unwrap();
        let table = DelayOffsets::open(dir.path().join("delayOffset.json")).unwrap();
        (dir, table)
    }

    #[test]
    fn golden_file_round_trip() {
        let (_dir, o) = offsets();
        assert!(!o.persist().unwrap(), "nothing to write yet");
        o.update(3, 7);
        o.update(1, 120);
        o.update(2, 0);
        assert!(o.persist().unwrap());
        assert!(!o.persist().unwrap(), "clean");
        let v = o.data_version();
        let want = format!(
            "{{\n\t\"dataVersion\":{{\n\t\t\"counter\":0,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":{}\n\t}},\n\t\"offsetTable\":{{1:120,2:0,3:7\n\t}}\n}}",
            v.timestamp
        );
        assert_eq!(String::from_utf8(std::fs::read(o.path()).unwrap()).unwrap(), want);
        assert!(String::from_utf8(o.to_json())
            .unwrap()
            .ends_with(r#""offsetTable":{1:120,2:0,3:7}}"#));
        let reopened = DelayOffsets::open(o.path()).unwrap();
        assert_eq!(reopened.all(), BTreeMap::from([(1, 120), (2, 0), (3, 7)]));
        assert_eq!(reopened.get(1), Some(120));
        assert_eq!(reopened.get(4), None);
        assert_eq!(reopened.data_version(), v);
    }

    #[test]
    fn an_unchanged_offset_writes_nothing() {
        let (_dir, o) = offsets();
        o.update(1, 5);
        assert!(o.persist().unwrap());
        o.update(1, 5);
        assert!(!o.persist().unwrap());
    }

    #[test]
    fn reads_a_java_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("delayOffset.json");
        let java = "{\n\t\"dataVersion\":{\n\t\t\"counter\":3,\n\t\t\"stateVersion\":0,\n\t\t\"timestamp\":1700000000000\n\t},\n\t\"offsetTable\":{1:12,3:4,18:0\n\t}\n}";
        std::fs::write(&path, java).unwrap();
        let o = DelayOffsets::open(&path).unwrap();
        assert_eq!(o.all(), BTreeMap::from([(1, 12), (3, 4), (18, 0)]));
        assert_eq!(o.data_version().counter, 3);
        std::fs::write(&path, r#"{"offsetTable":{"2":9}}"#).unwrap();
        assert_eq!(DelayOffsets::open(&path).unwrap().get(2), Some(9), "4.x, quoted keys");
    }

    #[test]
    fn version_moves_every_step_updates() {
        let (_dir, o) = offsets();
        for i in 0..(2 * DEFAULT_VERSION_STEP as i64) {
            o.update(1, i + 1);
        }
        assert_eq!(o.data_version().counter, 2);
    }
}
