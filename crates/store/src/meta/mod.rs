//! Broker metadata kept in `<storePathRootDir>/config/` as RocketMQ's JSON files: topics,
//! consumer offsets, subscription groups and the delay levels' progress.
//!
//! ```text
//! config/topics.json              TopicTable          (+ .bak, replaced atomically)
//! config/consumerOffset.json      ConsumerOffsets
//! config/subscriptionGroup.json   SubscriptionGroups
//! config/delayOffset.json         DelayOffsets
//! ```
//! Files are written in fastjson's pretty form (tabs, unquoted integer keys) as a Java broker
//! writes them, except that map entries come sorted where Java's hash order is arbitrary,
//! and read leniently, so a Java broker's folder can be taken over and the other way round.
//! Each file is replaced through `<name>.tmp` and a rename, with the previous version kept
//! as `<name>.bak` ([`file`]).

pub mod consumer_offsets;
pub mod delay_offsets;
pub mod file;
pub mod groups;
mod persisted;
pub mod pretty;
pub mod system_topics;
pub mod topics;

use std::path::{Path, PathBuf};

pub use consumer_offsets::ConsumerOffsets;
pub use delay_offsets::DelayOffsets;
pub use groups::{SubscriptionGroupSnapshot, SubscriptionGroups};
pub use system_topics::SystemTopicOptions;
pub use topics::{Ensured, TopicTable};

/// The metadata folder under the store root.
pub const CONFIG_DIR: &str = "config";
/// The topic table's file name.
pub const TOPICS_FILE: &str = "topics.json";
/// The consumer offsets' file name.
pub const CONSUMER_OFFSET_FILE: &str = "consumerOffset.json";
/// The subscription groups' file name.
pub const SUBSCRIPTION_GROUP_FILE: &str = "subscriptionGroup.json";

/// The delay levels' progress file name.
pub const DELAY_OFFSET_FILE: &str = "delayOffset.json";

/// `<store_root>/config/topics.json`.
pub fn topics_path(store_root: &Path) -> PathBuf {
    store_root.join(CONFIG_DIR).join(TOPICS_FILE)
}

/// `<store_root>/config/consumerOffset.json`.
pub fn consumer_offset_path(store_root: &Path) -> PathBuf {
    store_root.join(CONFIG_DIR).join(CONSUMER_OFFSET_FILE)
}

/// `<store_root>/config/subscriptionGroup.json`.
pub fn subscription_group_path(store_root: &Path) -> PathBuf {
    store_root.join(CONFIG_DIR).join(SUBSCRIPTION_GROUP_FILE)
}

/// `<store_root>/config/delayOffset.json`.
pub fn delay_offset_path(store_root: &Path) -> PathBuf {
    store_root.join(CONFIG_DIR).join(DELAY_OFFSET_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Send + Sync>() {}

    #[test]
    fn tables_are_shareable_and_live_under_config() {
        shareable::<TopicTable>();
        shareable::<ConsumerOffsets>();
        shareable::<SubscriptionGroups>();
        shareable::<DelayOffsets>();
        let root = Path::new("/store");
        assert_eq!(topics_path(root), Path::new("/store/config/topics.json"));
        assert_eq!(consumer_offset_path(root), Path::new("/store/config/consumerOffset.json"));
        assert_eq!(
            subscription_group_path(root),
            Path::new("/store/config/subscriptionGroup.json")
        );
        assert_eq!(delay_offset_path(root), Path::new("/store/config/delayOffset.json"));
    }
}
