//! Retention: deleting whole old commit-log segments (and the consume-queue and index files
//! that only point into them), and refusing appends when the disk is nearly full.
//!
//! As RocketMQ: segments older than `fileReservedTime` go at a `deleteWhen` hour, or at any
//! hour once disk use passes `diskMaxUsedSpaceRatio`; past `diskSpaceCleanForciblyRatio`
//! they go whatever their age; past `diskSpaceWarningLevelRatio` appends are refused (reads
//! keep working) until space is freed.

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::Timelike;

use crate::config::StoreConfig;

/// What one retention check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Disk use of the commit-log folder's file system, percent.
    pub used_percent: u32,
    /// Whether appends must be refused.
    pub disk_full: bool,
    /// Whether expired segments may be deleted now.
    pub delete_expired: bool,
    /// Whether segments are deleted whatever their age.
    pub delete_any: bool,
}

/// Disk use of the file system holding `path`, percent (0 if it cannot be read).
pub fn used_percent(path: &Path) -> u32 {
    match fs4::statvfs(path) {
        Ok(stats) if stats.total_space() > 0 => {
            let used = stats.total_space().saturating_sub(stats.available_space());
            ((used as u128 * 100) / stats.total_space() as u128) as u32
        }
        _ => 0,
    }
}

/// Decides what to do at `hour` (local time) with the disk `used_percent` full.
pub fn decide(config: &StoreConfig, used_percent: u32, hour: u32) -> Decision {
    let hours = config.delete_hours().unwrap_or_default();
    let full = used_percent >= config.disk_space_warning_level_ratio;
    let forcibly = used_percent >= config.disk_space_clean_forcibly_ratio || full;
    Decision {
        used_percent,
        disk_full: full,
        delete_expired: hours.contains(&hour)
            || used_percent >= config.disk_max_used_space_ratio
            || forcibly,
        delete_any: forcibly,
    }
}

/// The local hour now.
pub fn local_hour() -> u32 {
    chrono::Local::now().hour()
}

/// Whether the file at `path` was last written more than `hours` ago.
pub fn older_than(path: &Path, hours: u64) -> bool {
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    age.is_some_and(|age| age >= Duration::from_secs(hours * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_the_ratios_and_hours() {
        let config = StoreConfig::default();
        let d = decide(&config, 10, 12);
        assert!(!d.delete_expired && !d.delete_any && !d.disk_full);
        assert!(decide(&config, 10, 4).delete_expired, "deleteWhen hour");
        let d = decide(&config, 80, 12);
        assert!(d.delete_expired && !d.delete_any);
        let d = decide(&config, 86, 12);
        assert!(d.delete_any && !d.disk_full);
        let d = decide(&config, 95, 12);
        assert!(d.delete_any && d.disk_full);
    }

    #[test]
    fn measures_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let used = used_percent(dir.path());
        assert!(used <= 100);
        assert!(!older_than(dir.path(), 1));
    }
}
