//! `BrokerState`: everything the request processors share — the settings, the store, the
//! metadata tables, the connected clients, order locks, held pulls, the delay levels'
//! progress and statistics.

use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_store::meta::{self, ConsumerOffsets, SubscriptionGroups, TopicTable};
use ferromq_store::Store;
use tokio::sync::Notify;

use crate::clients::ClientManager;
use crate::config::live::LiveConfig;
use crate::config::BrokerConfig;
use crate::locks::RebalanceLocks;
use crate::long_polling::LongPolling;
use crate::schedule::Schedule;
use crate::stats::BrokerStats;

/// State shared by the broker's processors and background tasks.
#[derive(Debug)]
pub struct BrokerState {
    /// The settings: handlers take one snapshot per request (`config.get()`).
    pub config: LiveConfig,
    pub store: Store,
    pub topics: TopicTable,
    pub offsets: ConsumerOffsets,
    pub groups: SubscriptionGroups,
    pub clients: ClientManager,
    pub locks: RebalanceLocks,
    pub pulls: Arc<LongPolling>,
    /// Delay levels and the delivery progress of `SCHEDULE_TOPIC_XXXX`.
    pub schedule: Schedule,
    pub stats: BrokerStats,
    /// The address written into messages and message ids (`brokerIP1:listenPort`).
    pub store_host: SocketAddr,
    /// Wakes the registration task at once (a topic was created, the permission changed).
    pub register_now: Notify,
    /// When the broker started (ms since the epoch).
    pub boot_timestamp: i64,
}

impl BrokerState {
    /// Opens the metadata tables (topics, consumer offsets, groups) kept in the store folder.
    pub fn open_meta(
        config: &BrokerConfig,
    ) -> ferromq_store::Result<(TopicTable, ConsumerOffsets, SubscriptionGroups)> {
        let root = &config.store.store_path_root_dir;
        Ok((
            TopicTable::open(meta::topics_path(root))?,
            ConsumerOffsets::open(meta::consumer_offset_path(root))?,
            SubscriptionGroups::open(meta::subscription_group_path(root))?,
        ))
    }
}
