//! `StoreConfig`: the storage engine's settings, under RocketMQ's names and defaults.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::consume_queue::TailLimits;
use crate::delay_level::{DelayLevels, DEFAULT_MESSAGE_DELAY_LEVEL};
use crate::error::{Result, StoreError};

/// When an append counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum FlushDiskType {
    /// Done once in the page cache; a flusher writes to disk every `flushIntervalCommitLog`.
    /// Survives a process crash, not a power cut.
    #[default]
    #[serde(rename = "ASYNC_FLUSH")]
    AsyncFlush,
    /// Done once on disk; concurrent appends share one flush (group commit).
    #[serde(rename = "SYNC_FLUSH")]
    SyncFlush,
}

/// Settings of one store (one broker's data folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreConfig {
    /// Data folder (`storePathRootDir`, `~/store`).
    pub store_path_root_dir: PathBuf,
    /// Commit-log segment size in bytes (`mappedFileSizeCommitLog`, 1 GiB).
    pub mapped_file_size_commit_log: usize,
    /// Consume-queue entries per file (`mappedFileSizeConsumeQueue` / 20: 300,000).
    pub consume_queue_entries_per_file: usize,
    /// `flushDiskType`: `ASYNC_FLUSH` or `SYNC_FLUSH`.
    pub flush_disk_type: FlushDiskType,
    /// Async flush period, ms (`flushIntervalCommitLog`, 500).
    pub flush_interval_commit_log: u64,
    /// Fewest dirty pages an async flush writes, unless thorough (`flushCommitLogLeastPages`, 4).
    pub flush_commit_log_least_pages: usize,
    /// Longest time between two complete flushes, ms (`flushCommitLogThoroughInterval`, 10000).
    pub flush_commit_log_thorough_interval: u64,
    /// Consume-queue and index flush period, ms (`flushIntervalConsumeQueue`, 1000).
    pub flush_interval_consume_queue: u64,
    /// Fewest unflushed 4 KiB pages a consume queue needs to be synced by a periodic pass,
    /// unless thorough (`flushConsumeQueueLeastPages`, 2).
    pub flush_consume_queue_least_pages: usize,
    /// Longest time between two thorough consume-queue passes, which sync every queue and the
    /// index and record the checkpoint, ms (`flushConsumeQueueThoroughInterval`, 60000).
    pub flush_consume_queue_thorough_interval: u64,
    /// How long a SYNC_FLUSH append waits for its flush, ms (`syncFlushTimeout`, 5000).
    pub sync_flush_timeout: u64,
    /// Largest message body in bytes (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Hours a commit-log segment is kept (`fileReservedTime`, 72).
    pub file_reserved_time: u64,
    /// Hours of the day (0-23, `;`-separated) when expired segments are deleted (`deleteWhen`, "04").
    pub delete_when: String,
    /// Disk use (%) above which expired-or-not segments are deleted at any hour
    /// (`diskMaxUsedSpaceRatio`, 75).
    pub disk_max_used_space_ratio: u32,
    /// Disk use (%) above which segments are deleted whatever their age
    /// (`diskSpaceCleanForciblyRatio`, 85).
    pub disk_space_clean_forcibly_ratio: u32,
    /// Disk use (%) above which appends are refused (`diskSpaceWarningLevelRatio`, 90).
    pub disk_space_warning_level_ratio: u32,
    /// Period of the retention check, ms (`cleanResourceInterval`, 10000).
    pub clean_resource_interval: u64,
    /// Most segments deleted per retention pass (`deleteFileBatchMax`, 10).
    pub delete_file_batch_max: usize,
    /// Whether messages are indexed by key and unique id (`messageIndexEnable`, true).
    pub message_index_enable: bool,
    /// Hash slots per index file (`maxHashSlotNum`, 5,000,000).
    pub max_hash_slot_num: usize,
    /// Entries per index file (`maxIndexNum`, 20,000,000).
    pub max_index_num: usize,
    /// Whether recovery verifies each message's body CRC (`checkCRCOnRecover`, true).
    #[serde(rename = "checkCRCOnRecover")]
    pub check_crc_on_recover: bool,
    /// Whether new segments are pre-touched page by page (`warmMapedFileEnable`; RocketMQ
    /// defaults to false, FerroMQ to true: a page fault on append is a latency spike).
    #[serde(rename = "warmMapedFileEnable")]
    pub warm_mapped_file_enable: bool,
    /// Consume-queue files kept open at once (FerroMQ: bounds descriptors with many queues).
    pub max_open_consume_queue_files: usize,
    /// Bytes of new entries a consume queue buffers before writing them to its file in one
    /// go (FerroMQ, 4096; 0 writes every dispatched entry at once).
    pub consume_queue_tail_bytes: usize,
    /// Most bytes all consume queues' buffered entries may hold together; past it the oldest
    /// are written (FerroMQ, 8 MiB).
    pub consume_queue_tails_max_bytes: usize,
    /// Longest a consume queue's buffered entries wait before they are written, ms (FerroMQ,
    /// 200; a consume-queue flush writes them in any case).
    pub consume_queue_tail_interval: u64,
    /// Delay of each delay level, level 1 first (`messageDelayLevel`,
    /// "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h").
    pub message_delay_level: String,
    /// Period of the delay-level progress writes to `config/delayOffset.json`, ms
    /// (`flushDelayOffsetInterval`, 10000).
    pub flush_delay_offset_interval: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home =
            std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        StoreConfig {
            store_path_root_dir: home.join("store"),
            mapped_file_size_commit_log: 1 << 30,
            consume_queue_entries_per_file: 300_000,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            flush_interval_consume_queue: 1_000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval: 60_000,
            sync_flush_timeout: 5_000,
            max_message_size: 4 * 1024 * 1024,
            file_reserved_time: 72,
            delete_when: "04".to_string(),
            disk_max_used_space_ratio: 75,
            disk_space_clean_forcibly_ratio: 85,
            disk_space_warning_level_ratio: 90,
            clean_resource_interval: 10_000,
            delete_file_batch_max: 10,
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            check_crc_on_recover: true,
            warm_mapped_file_enable: true,
            max_open_consume_queue_files: 1024,
            consume_queue_tail_bytes: 4096,
            consume_queue_tails_max_bytes: 8 << 20,
            consume_queue_tail_interval: 200,
            message_delay_level: DEFAULT_MESSAGE_DELAY_LEVEL.to_string(),
            flush_delay_offset_interval: 10_000,
        }
    }
}

impl StoreConfig {
    /// Checks the values before the store opens.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: &str| Err(StoreError::Config(m.to_string()));
        if self.mapped_file_size_commit_log < 64 * 1024 {
            return fail("mappedFileSizeCommitLog must be at least 64 KiB");
        }
        if self.max_message_size + 64 * 1024 > self.mapped_file_size_commit_log {
            return fail("maxMessageSize (plus 64 KiB of headers) must fit one commit-log segment");
        }
        if self.consume_queue_entries_per_file == 0 {
            return fail("consume queue files must hold at least one entry");
        }
        if !(1..=100).contains(&self.disk_max_used_space_ratio)
            || !(1..=100).contains(&self.disk_space_warning_level_ratio)
            || !(1..=100).contains(&self.disk_space_clean_forcibly_ratio)
        {
            return fail("disk ratios are percentages from 1 to 100");
        }
        if self.delete_hours().is_none() {
            return fail("deleteWhen must be hours 0-23 separated by ';'");
        }
        if self.max_hash_slot_num == 0 || self.max_index_num == 0 {
            return fail("index sizes must be above 0");
        }
        if self.max_open_consume_queue_files == 0 {
            return fail("maxOpenConsumeQueueFiles must be above 0");
        }
        self.delay_levels()?;
        Ok(())
    }

    /// The parsed `messageDelayLevel`.
    pub fn delay_levels(&self) -> Result<DelayLevels> {
        DelayLevels::parse(&self.message_delay_level)
    }

    /// The hours of `deleteWhen`.
    pub fn delete_hours(&self) -> Option<Vec<u32>> {
        self.delete_when
            .split(';')
            .filter(|h| !h.trim().is_empty())
            .map(|h| h.trim().parse::<u32>().ok().filter(|h| *h < 24))
            .collect()
    }

    /// When consume queues write their buffered entries.
    pub fn consume_queue_tail_limits(&self) -> TailLimits {
        TailLimits {
            tail_bytes: self.consume_queue_tail_bytes,
            budget_bytes: self.consume_queue_tails_max_bytes,
            max_age: Duration::from_millis(self.consume_queue_tail_interval),
        }
    }

    /// `syncFlushTimeout` as a duration.
    pub fn sync_flush_timeout(&self) -> Duration {
        Duration::from_millis(self.sync_flush_timeout)
    }

    /// The commit-log folder.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("commitlog")
    }

    /// The consume-queue folder.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// The metadata folder (`config/`).
    pub fn config_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("config")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocketmq_names_and_defaults() {
        let config: StoreConfig = serde_json::from_str(
            r#"{"flushDiskType":"SYNC_FLUSH","mappedFileSizeCommitLog":1048576,"checkCRCOnRecover":false,"deleteWhen":"04;16"}"#,
        )
        .unwrap();
        assert_eq!(config.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(config.mapped_file_size_commit_log, 1 << 20);
        assert!(!config.check_crc_on_recover);
        assert_eq!(config.delete_hours(), Some(vec![4, 16]));
        assert_eq!(config.file_reserved_time, 72);
        assert_eq!(config.delay_levels().unwrap().max_level(), 18);
        assert_eq!(config.flush_delay_offset_interval, 10_000);
        assert_eq!(config.consume_queue_tail_limits(), TailLimits::default());
        assert!(StoreConfig::default().validate().is_ok());
    }

    #[test]
    fn rejects_bad_values() {
        let bad = |f: fn(&mut StoreConfig)| {
            let mut config = StoreConfig::default();
            f(&mut config);
            config.validate().is_err()
        };
        assert!(bad(|c| c.delete_when = "25".into()));
        assert!(bad(|c| c.mapped_file_size_commit_log = 1024));
        assert!(bad(|c| c.disk_max_used_space_ratio = 0));
        assert!(bad(|c| c.max_message_size = 2 << 30));
        assert!(bad(|c| c.message_delay_level = "1s 2x".into()));
    }
}
