//! `SubscriptionGroups`: consumer groups' broker-side settings, kept in
//! `config/subscriptionGroup.json` the way Java's `SubscriptionGroupManager` writes it.
//!
//! ```text
//! {
//! →"dataVersion":{…},
//! →"forbiddenTable":{"CG":{"TopicTest":1}},        group → topic → forbidden bits
//! →"subscriptionGroupTable":{
//! →→"CG":{…SubscriptionGroupConfig…}
//! →}
//! }
//! ```
//! RocketMQ's own groups are present from the first start. Changes bump the data version
//! and are written before the call returns; a failed write leaves the change in memory and
//! the table dirty for the next [`SubscriptionGroups::persist`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockWriteGuard};

use ferromq_protocol::body::fastjson::{self, Fields, FromJsonValue, Json, JsonStyle, ToJson};
use ferromq_protocol::body::{DataVersion, SubscriptionGroupConfig};
use ferromq_protocol::topic;
use serde_json::Value;

use super::file::load_json;
use super::persisted::{corrupt, read, write, Persisted};
use super::pretty;
use crate::error::Result;

/// Groups the broker creates for itself (`MixAll`: tools, filter server, self test, ONS
/// proxy and API groups, transactions), all with default settings.
pub const SYSTEM_GROUPS: [&str; 8] = [
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
];

/// Prefix of system consumer groups, which are created on demand while
/// `enableCreateSysGroup` (default true) even if `autoCreateSubscriptionGroup` is off.
pub const SYS_GROUP_PREFIX: &str = "CID_RMQ_SYS_";

/// Every group with the data version and the forbidden bits: the file's content, and what
/// Java's `encode()` returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubscriptionGroupSnapshot {
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// group → topic → forbidden bits (POP/ACL features).
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    pub data_version: DataVersion,
}

impl SubscriptionGroupSnapshot {
    /// Compact fastjson, as Java's `SubscriptionGroupManager.encode()`.
    pub fn to_json(&self) -> Vec<u8> {
        self.to_json_tree().render(JsonStyle::Fastjson)
    }

    /// Reads fastjson or standard JSON, leniently.
    pub fn from_json(bytes: &[u8]) -> ferromq_protocol::Result<Self> {
        fastjson::decode(bytes)
    }
}

impl ToJson for SubscriptionGroupSnapshot {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("dataVersion", self.data_version.to_json_tree()),
            ("forbiddenTable", self.forbidden_table.to_json_tree()),
            ("subscriptionGroupTable", self.subscription_group_table.to_json_tree()),
        ])
    }
}

impl FromJsonValue for SubscriptionGroupSnapshot {
    fn from_json_value(v: &Value) -> ferromq_protocol::Result<Self> {
        let f = Fields::of(v)?;
        Ok(SubscriptionGroupSnapshot {
            subscription_group_table: f.get("subscriptionGroupTable")?,
            forbidden_table: f.get("forbiddenTable")?,
            data_version: f.opt("dataVersion")?.unwrap_or_else(DataVersion::new),
        })
    }
}

/// The broker's consumer groups. `Send + Sync`.
#[derive(Debug)]
pub struct SubscriptionGroups {
    state: RwLock<SubscriptionGroupSnapshot>,
    file: Persisted,
}

impl SubscriptionGroups {
    /// Loads `path` (or its `.bak`) and adds the system groups that are missing (a stored
    /// group keeps its settings). A missing file gives the system groups and a fresh version.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let loaded = load_json(&path, |bytes| {
            SubscriptionGroupSnapshot::from_json(bytes).map_err(|e| corrupt(&path, e))
        })?;
        let mut state = loaded.unwrap_or_else(|| SubscriptionGroupSnapshot {
            data_version: DataVersion::new(),
            ..SubscriptionGroupSnapshot::default()
        });
        let file = Persisted::new(path);
        for name in SYSTEM_GROUPS {
            if !state.subscription_group_table.contains_key(name) {
                state
                    .subscription_group_table
                    .insert(name.to_owned(), SubscriptionGroupConfig::new(name));
                file.mark_dirty();
            }
        }
        Ok(SubscriptionGroups { state: RwLock::new(state), file })
    }

    /// The file the table lives in.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The settings of `group`.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        read(&self.state).subscription_group_table.get(group).cloned()
    }

    /// Whether `group` exists.
    pub fn contains(&self, group: &str) -> bool {
        read(&self.state).subscription_group_table.contains_key(group)
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        read(&self.state).data_version
    }

    /// A snapshot of every group, the forbidden bits and the version.
    pub fn all(&self) -> SubscriptionGroupSnapshot {
        read(&self.state).clone()
    }

    /// Creates or replaces a group, bumps the version and writes the file. Returns the
    /// previous settings.
    pub fn upsert(
        &self,
        config: SubscriptionGroupConfig,
    ) -> Result<Option<SubscriptionGroupConfig>> {
        let mut state = write(&self.state);
        let previous = state.subscription_group_table.insert(config.group_name.clone(), config);
        self.bump_and_persist(state)?;
        Ok(previous)
    }

    /// Removes a group and its forbidden bits; bumps the version and writes the file if the
    /// group existed.
    pub fn delete(&self, group: &str) -> Result<bool> {
        let mut state = write(&self.state);
        let had_forbidden = state.forbidden_table.remove(group).is_some();
        if state.subscription_group_table.remove(group).is_none() {
            drop(state);
            if had_forbidden {
                self.file.mark_dirty();
            }
            return Ok(false);
        }
        self.bump_and_persist(state)?;
        Ok(true)
    }

    /// The settings of `group`, creating it with the defaults when it is missing and
    /// `auto_create` holds (the broker passes `autoCreateSubscriptionGroup`, or
    /// `enableCreateSysGroup` for a name starting with [`SYS_GROUP_PREFIX`]). `None` when
    /// the group is missing and may not be created, or its name is invalid.
    pub fn find_or_auto_create(
        &self,
        group: &str,
        auto_create: bool,
    ) -> Result<Option<SubscriptionGroupConfig>> {
        if let Some(found) = self.get(group) {
            return Ok(Some(found));
        }
        if !auto_create || topic::validate_group(group).is_err() {
            return Ok(None);
        }
        let mut state = write(&self.state);
        if let Some(raced) = state.subscription_group_table.get(group) {
            return Ok(Some(raced.clone()));
        }
        let config = SubscriptionGroupConfig::new(group);
        state.subscription_group_table.insert(group.to_owned(), config.clone());
        tracing::info!("auto-created subscription group {group}");
        self.bump_and_persist(state)?;
        Ok(Some(config))
    }

    /// The forbidden bits of `group` on `topic` (0 when none).
    pub fn forbidden(&self, group: &str, topic: &str) -> i32 {
        let state = read(&self.state);
        let bits = state.forbidden_table.get(group).and_then(|t| t.get(topic)).copied();
        bits.unwrap_or(0).max(0)
    }

    /// Sets or clears bit `index` (0..31) of `group`'s forbidden bits on `topic`; bumps the
    /// version and writes the file.
    pub fn update_forbidden(&self, group: &str, topic: &str, index: u32, set: bool) -> Result<()> {
        let bit = 1i32.checked_shl(index).unwrap_or(0);
        let mut state = write(&self.state);
        let topics = state.forbidden_table.entry(group.to_owned()).or_default();
        let current = topics.get(topic).copied().unwrap_or(0).max(0);
        let bits = if set { current | bit } else { current & !bit };
        if bits > 0 {
            topics.insert(topic.to_owned(), bits);
        } else {
            topics.remove(topic);
            if topics.is_empty() {
                state.forbidden_table.remove(group);
            }
        }
        self.bump_and_persist(state)
    }

    /// Writes the file if anything changed since the last write; `Ok(false)` if nothing had.
    pub fn persist(&self) -> Result<bool> {
        self.file.persist(|| pretty::render(&read(&self.state).to_json_tree()))
    }

    fn bump_and_persist(
        &self,
        mut state: RwLockWriteGuard<'_, SubscriptionGroupSnapshot>,
    ) -> Result<()> {
        state.data_version.next();
        drop(state);
        self.file.mark_dirty();
        self.persist().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn groups() -> (tempfile::TempDir, SubscriptionGroups) {
        let dir = tempfile::tempdir().unwrap();
        let table = SubscriptionGroups::open(dir.path().join("subscriptionGroup.json")).unwrap();
        (dir, table)
    }

    #[test]
    fn system_groups_exist_from_the_start() {
        let (_dir, g) = groups();
        for name in SYSTEM_GROUPS {
            assert_eq!(g.get(name), Some(SubscriptionGroupConfig::new(name)), "{name}");
        }
        assert_eq!(g.all().subscription_group_table.len(), 8);
        assert!(g.persist().unwrap(), "the system groups are written on the first persist");
        let reopened = SubscriptionGroups::open(g.path()).unwrap();
        assert!(!reopened.persist().unwrap(), "nothing new");
    }

    #[test]
    fn round_trip_through_disk() {
        let (_dir, g) = groups();
        let custom = SubscriptionGroupConfig {
            retry_max_times: 3,
            consume_message_orderly: true,
            ..SubscriptionGroupConfig::new("CG")
        };
        assert_eq!(g.upsert(custom.clone()).unwrap(), None);
        g.update_forbidden("CG", "T", 0, true).unwrap();
        g.update_forbidden("CG", "T", 2, true).unwrap();
        assert_eq!(g.forbidden("CG", "T"), 5);
        assert_eq!(g.data_version().counter, 3);
        let reopened = SubscriptionGroups::open(g.path()).unwrap();
        assert_eq!(reopened.all(), g.all());
        assert_eq!(reopened.get("CG"), Some(custom));
        assert_eq!(reopened.forbidden("CG", "T"), 5);

        g.update_forbidden("CG", "T", 0, false).unwrap();
        g.update_forbidden("CG", "T", 2, false).unwrap();
        assert!(g.all().forbidden_table.is_empty());
        assert!(g.delete("CG").unwrap());
        assert!(!g.delete("CG").unwrap());
        assert_eq!(SubscriptionGroups::open(g.path()).unwrap().get("CG"), None);
    }

    #[test]
    fn file_has_java_wrapper_keys() {
        let (_dir, g) = groups();
        g.upsert(SubscriptionGroupConfig::new("CG")).unwrap();
        let text = String::from_utf8(std::fs::read(g.path()).unwrap()).unwrap();
        assert!(text.starts_with("{\n\t\"dataVersion\":{\n\t\t\"counter\":1,"), "{text}");
        assert!(text.contains("\n\t\"forbiddenTable\":{},\n\t\"subscriptionGroupTable\":{\n\t\t\"CG\":{\n\t\t\t\"attributes\":{},\n\t\t\t\"brokerId\":0,"));
        assert!(text
            .contains("\t\t\t\"groupRetryPolicy\":{\n\t\t\t\t\"type\":\"CUSTOMIZED\"\n\t\t\t},\n"));
        assert!(text.ends_with("\t\t\t\"whichBrokerWhenConsumeSlowly\":1\n\t\t}\n\t}\n}"));
        let compact = String::from_utf8(g.all().to_json()).unwrap();
        assert!(compact.starts_with(r#"{"dataVersion":{"counter":1,"stateVersion":0,"timestamp":"#));
        assert!(compact
            .contains(r#"},"forbiddenTable":{},"subscriptionGroupTable":{"CG":{"attributes":{},"#));
    }

    #[test]
    fn auto_create_on_demand() {
        let (_dir, g) = groups();
        assert_eq!(g.find_or_auto_create("CG", false).unwrap(), None);
        assert!(!g.contains("CG"));
        assert_eq!(g.find_or_auto_create("bad group", true).unwrap(), None);
        let made = g.find_or_auto_create("CG", true).unwrap();
        assert_eq!(made, Some(SubscriptionGroupConfig::new("CG")));
        assert_eq!(g.data_version().counter, 1);
        assert_eq!(g.find_or_auto_create("CG", false).unwrap(), made);
        assert_eq!(SubscriptionGroups::open(g.path()).unwrap().get("CG"), made);
    }

    #[test]
    fn concurrent_auto_create_bumps_once() {
        let (_dir, g) = groups();
        let g = Arc::new(g);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = Arc::clone(&g);
                std::thread::spawn(move || g.find_or_auto_create("CG", true).unwrap())
            })
            .collect();
        for h in handles {
            assert!(h.join().unwrap().is_some());
        }
        assert_eq!(g.data_version().counter, 1);
    }

    #[test]
    fn reads_a_file_without_forbidden_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        let java = "{\n\t\"dataVersion\":{\n\t\t\"counter\":2,\n\t\t\"timestamp\":1\n\t},\n\t\"subscriptionGroupTable\":{\n\t\t\"CG\":{\n\t\t\t\"brokerId\":0,\n\t\t\t\"consumeEnable\":false,\n\t\t\t\"groupName\":\"CG\",\n\t\t\t\"retryQueueNums\":1\n\t\t}\n\t}\n}";
        std::fs::write(&path, java).unwrap();
        let g = SubscriptionGroups::open(&path).unwrap();
        assert_eq!(g.data_version().counter, 2);
        assert_eq!(g.get("CG").map(|c| c.consume_enable), Some(false));
        assert!(g.contains("TOOLS_CONSUMER"));
    }
}
