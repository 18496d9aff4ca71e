//! `BrokerState`: everything the request processors share — the store, the metadata tables,
//! the connected clients, order locks and held pulls.

use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_store::meta::{self, ConsumerOffsets, SubscriptionGroups, TopicTable};
use ferromq_store::Store;
use tokio::sync::Notify;

use crate::clients::ClientManager;
use crate::config::BrokerConfig;
use crate::locks::RebalanceLocks;
use crate::long_polling::LongPolling;

/// State shared by the broker's processors and background tasks.
#[derive(Debug)]
pub struct BrokerState {
    pub config: BrokerConfig,
    pub store: Store,
    pub topics: TopicTable,
    pub offsets: ConsumerOffsets,
    pub groups: SubscriptionGroups,
    pub clients: ClientManager,
    pub locks: RebalanceLocks,
    pub pulls: Arc<LongPolling>,
    /// The address written into messages and message ids (`brokerIP1:listenPort`).
    pub store_host: SocketAddr,
    /// Wakes the registration task at once (a topic was created).
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

    /// Whether the broker accepts writes.
    pub fn writeable(&self) -> bool {
        ferromq_protocol::perm::is_writeable(self.config.broker_permission)
    }

    /// Whether the broker serves reads.
    pub fn readable(&self) -> bool {
        ferromq_protocol::perm::is_readable(self.config.broker_permission)
    }
}
