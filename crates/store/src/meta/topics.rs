//! `TopicTable`: the broker's topic configs and their data version, kept in
//! `config/topics.json` (`TopicConfigSerializeWrapper`, written as fastjson's pretty form).
//!
//! Every change bumps the data version (which the name server compares) and is written to
//! disk before the call returns, as Java's `TopicConfigManager` does. If that write fails the
//! change stays in memory, the call returns the error, and the next [`TopicTable::persist`]
//! writes it.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockWriteGuard};

use ferromq_protocol::body::fastjson::ToJson;
use ferromq_protocol::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use ferromq_protocol::perm::{self, PERM_INHERIT, PERM_READ, PERM_WRITE};
use ferromq_protocol::topic;

use super::file::load_json;
use super::persisted::{corrupt, read, write, Persisted};
use super::pretty;
use super::system_topics::{system_topics, SystemTopicOptions};
use crate::error::Result;

/// Queues of a group's dead-letter topic (`DLQ_NUMS_PER_GROUP`).
pub const DLQ_QUEUE_NUMS: i32 = 1;

/// What a create-if-absent call found: the topic as it already was, or the one it made.
/// A `Created` topic is new to the name servers: the broker registers it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ensured {
    Existing(TopicConfig),
    Created(TopicConfig),
}

impl Ensured {
    /// The topic's config either way.
    pub fn config(&self) -> &TopicConfig {
        match self {
            Ensured::Existing(c) | Ensured::Created(c) => c,
        }
    }

    /// Whether the call created the topic.
    pub fn created(&self) -> bool {
        matches!(self, Ensured::Created(_))
    }

    /// The topic's config either way.
    pub fn into_config(self) -> TopicConfig {
        match self {
            Ensured::Existing(c) | Ensured::Created(c) => c,
        }
    }
}

#[derive(Debug)]
struct State {
    topics: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
}

/// The broker's topics. Cheap to share (`Send + Sync`); reads take a shared lock.
#[derive(Debug)]
pub struct TopicTable {
    state: RwLock<State>,
    file: Persisted,
    /// `autoCreateTopicEnable`: whether `TBW102` may serve as a template. Set by
    /// [`TopicTable::ensure_system_topics`]; true until then.
    auto_create_topic_enable: AtomicBool,
}

impl TopicTable {
    /// Loads `path` (or its `.bak`); a missing file gives an empty table with a fresh
    /// version. Call [`TopicTable::ensure_system_topics`] next.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let loaded = load_json(&path, |bytes| {
            TopicConfigSerializeWrapper::from_json(bytes).map_err(|e| corrupt(&path, e))
        })?;
        let state = match loaded {
            Some(w) => State { topics: w.topic_config_table, data_version: w.data_version },
            None => State { topics: BTreeMap::new(), data_version: DataVersion::new() },
        };
        Ok(TopicTable {
            state: RwLock::new(state),
            file: Persisted::new(path),
            auto_create_topic_enable: AtomicBool::new(true),
        })
    }

    /// The file the table lives in.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Adds the broker's system topics that are missing (a topic already in the table keeps
    /// its stored config, as Java's load overrides its defaults) and remembers
    /// `autoCreateTopicEnable`. Like Java, this does not bump the data version; the additions
    /// are written by the next [`TopicTable::persist`]. Returns how many were added.
    pub fn ensure_system_topics(&self, options: &SystemTopicOptions) -> usize {
        self.auto_create_topic_enable.store(options.auto_create_topic_enable, Ordering::SeqCst);
        let mut added = 0;
        let mut state = write(&self.state);
        for (name, config) in system_topics(options) {
            if let Entry::Vacant(slot) = state.topics.entry(name) {
                slot.insert(config);
                added += 1;
            }
        }
        drop(state);
        if added > 0 {
            self.file.mark_dirty();
        }
        added
    }

    /// The config of `name`.
    pub fn get(&self, name: &str) -> Option<TopicConfig> {
        read(&self.state).topics.get(name).cloned()
    }

    /// Whether `name` exists.
    pub fn contains(&self, name: &str) -> bool {
        read(&self.state).topics.contains_key(name)
    }

    /// How many topics there are.
    pub fn len(&self) -> usize {
        read(&self.state).topics.len()
    }

    /// Whether there are no topics.
    pub fn is_empty(&self) -> bool {
        read(&self.state).topics.is_empty()
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        read(&self.state).data_version
    }

    /// A snapshot of every topic with the data version (GET_ALL_TOPIC_CONFIG, registration).
    pub fn all(&self) -> TopicConfigSerializeWrapper {
        let state = read(&self.state);
        TopicConfigSerializeWrapper {
            topic_config_table: state.topics.clone(),
            data_version: state.data_version,
        }
    }

    /// Creates or replaces a topic, bumps the version and writes the file. Returns the
    /// previous config.
    pub fn upsert(&self, config: TopicConfig) -> Result<Option<TopicConfig>> {
        let mut state = write(&self.state);
        let previous = state.topics.insert(config.topic_name.clone(), config);
        self.bump_and_persist(state)?;
        Ok(previous)
    }

    /// Removes a topic; bumps the version and writes the file if it existed.
    pub fn delete(&self, name: &str) -> Result<bool> {
        let mut state = write(&self.state);
        if state.topics.remove(name).is_none() {
            return Ok(false);
        }
        self.bump_and_persist(state)?;
        Ok(true)
    }

    /// Bumps the data version without changing a topic and writes the file, so that name
    /// servers take the next registration's topics again (RocketMQ does this when the
    /// broker's permission changes, which masks the permissions it registers).
    pub fn bump_version(&self) -> Result<()> {
        self.bump_and_persist(write(&self.state))
    }

    /// Writes the file if anything changed since the last write; `Ok(false)` if nothing had.
    pub fn persist(&self) -> Result<bool> {
        self.file.persist(|| pretty::render(&self.all().to_json_tree()))
    }

    /// Auto-creation on send (`createTopicInSendMessageMethod`): an existing `topic` is
    /// returned as it is. Otherwise `template` must exist and carry `PERM_INHERIT` (`TBW102`
    /// only while `autoCreateTopicEnable`), else `None`. The new topic gets
    /// min(`requested_queue_nums`, template write queues) read and write queues (at least 0),
    /// the template's perm without INHERIT and its filter type, and `topic_sys_flag`.
    pub fn auto_create(
        &self,
        topic: &str,
        template: &str,
        requested_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Result<Option<Ensured>> {
        let template_allowed = template != topic::AUTO_CREATE_TOPIC_KEY
            || self.auto_create_topic_enable.load(Ordering::SeqCst);
        let mut state = write(&self.state);
        if let Some(existing) = state.topics.get(topic) {
            return Ok(Some(Ensured::Existing(existing.clone())));
        }
        let Some(base) = state.topics.get(template) else {
            tracing::warn!("cannot create topic {topic}: template {template} does not exist");
            return Ok(None);
        };
        if !template_allowed || !perm::is_inherited(base.perm) {
            tracing::warn!("cannot create topic {topic}: template {template} lacks INHERIT");
            return Ok(None);
        }
        let queues = requested_queue_nums.min(base.write_queue_nums).max(0);
        let config = TopicConfig {
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm: base.perm & !PERM_INHERIT,
            topic_filter_type: base.topic_filter_type,
            topic_sys_flag,
            ..TopicConfig::new(topic)
        };
        tracing::info!("auto-created topic {topic} from template {template}: {config:?}");
        state.topics.insert(topic.to_owned(), config.clone());
        self.bump_and_persist(state)?;
        Ok(Some(Ensured::Created(config)))
    }

    /// Adds `config` unless its topic exists (`createTopicIfAbsent`).
    pub fn create_if_absent(&self, config: TopicConfig) -> Result<Ensured> {
        let mut state = write(&self.state);
        if let Some(existing) = state.topics.get(&config.topic_name) {
            return Ok(Ensured::Existing(existing.clone()));
        }
        state.topics.insert(config.topic_name.clone(), config.clone());
        self.bump_and_persist(state)?;
        Ok(Ensured::Created(config))
    }

    /// A topic the broker itself needs (`createTopicInSendMessageBackMethod`): created with
    /// `queue_nums` read and write queues, `perm`, `order` and `topic_sys_flag` if missing.
    /// An existing topic keeps its config, except that its order flag is set to `order`.
    pub fn create_send_back_topic(
        &self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
        order: bool,
        topic_sys_flag: i32,
    ) -> Result<Ensured> {
        let mut state = write(&self.state);
        if let Some(existing) = state.topics.get_mut(topic) {
            if existing.order == order {
                return Ok(Ensured::Existing(existing.clone()));
            }
            existing.order = order;
            let updated = existing.clone();
            self.bump_and_persist(state)?;
            return Ok(Ensured::Existing(updated));
        }
        let config = TopicConfig {
            read_queue_nums: queue_nums,
            write_queue_nums: queue_nums,
            perm,
            topic_sys_flag,
            order,
            ..TopicConfig::new(topic)
        };
        state.topics.insert(topic.to_owned(), config.clone());
        self.bump_and_persist(state)?;
        Ok(Ensured::Created(config))
    }

    /// The retry topic `%RETRY%<group>` as the send-back path creates it: `queue_nums`
    /// (the group's `retryQueueNums`) queues, read-write, not ordered.
    pub fn create_retry_topic(&self, group: &str, queue_nums: i32) -> Result<Ensured> {
        let name = topic::retry_topic(group);
        self.create_send_back_topic(&name, queue_nums, PERM_READ | PERM_WRITE, false, 0)
    }

    /// The dead-letter topic `%DLQ%<group>`: one queue, read-write (5.x).
    pub fn create_dlq_topic(&self, group: &str) -> Result<Ensured> {
        let name = topic::dlq_topic(group);
        self.create_send_back_topic(&name, DLQ_QUEUE_NUMS, PERM_READ | PERM_WRITE, false, 0)
    }

    /// Ends a change: bumps the version, releases the lock and writes the file.
    fn bump_and_persist(&self, mut state: RwLockWriteGuard<'_, State>) -> Result<()> {
        state.data_version.next();
        drop(state);
        self.file.mark_dirty();
        self.persist().map(drop)
    }
}

#[cfg(test)]
mod tests;
