//! `BrokerConfig`: the broker's settings under RocketMQ's names, with the store's settings
//! in the same flat namespace, as in RocketMQ's `broker.conf`; and, below, how they change
//! while the broker runs.

pub mod live;
pub mod overlay;
pub mod properties;
pub mod update;

use std::time::Duration;

use ferromq_store::meta::SystemTopicOptions;
use ferromq_store::StoreConfig;
use serde::{Deserialize, Serialize};

use crate::error::BrokerError;

/// Settings of one broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerConfig {
    /// Cluster the broker belongs to (`brokerClusterName`, "DefaultCluster").
    pub broker_cluster_name: String,
    /// Broker group name (`brokerName`; RocketMQ defaults to the host name).
    pub broker_name: String,
    /// 0 for the master (`brokerId`).
    pub broker_id: i64,
    /// Name servers, `;`-separated `host:port` (`namesrvAddr`).
    pub namesrv_addr: String,
    /// Address to listen on (FerroMQ; RocketMQ listens on all interfaces).
    pub listen_addr: String,
    /// Port clients connect to (`listenPort`, 10911).
    pub listen_port: u16,
    /// Address published to name servers and written into message ids (`brokerIP1`).
    #[serde(rename = "brokerIP1")]
    pub broker_ip1: String,
    /// Whether sending to an unknown topic creates it from TBW102 (`autoCreateTopicEnable`;
    /// RocketMQ: true; FerroMQ: false, and true in `standalone`).
    pub auto_create_topic_enable: bool,
    /// Whether unknown consumer groups are created on use (`autoCreateSubscriptionGroup`, true).
    pub auto_create_subscription_group: bool,
    /// Queues of an auto-created topic (`defaultTopicQueueNums`, 8).
    pub default_topic_queue_nums: i32,
    /// The broker's permission bits (`brokerPermission`, 6 = read and write).
    pub broker_permission: i32,
    /// Period of registration with the name servers, ms (`registerNameServerPeriod`, 30000).
    pub register_name_server_period: u64,
    /// Whether pulls are held until a message arrives (`longPollingEnable`, true).
    pub long_polling_enable: bool,
    /// Hold time when long polling is off, ms (`shortPollingTimeMills`, 1000).
    pub short_polling_time_mills: u64,
    /// A client not heard from for this long is dropped, ms (`channelExpiredTimeout`, 120000).
    pub channel_expired_timeout: u64,
    /// Consumer offsets persisted every, ms (`flushConsumerOffsetInterval`, 5000).
    pub flush_consumer_offset_interval: u64,
    /// Messages returned by one pull at most (`maxTransferCountOnMessageInMemory`, 32).
    pub max_transfer_count_on_message_in_memory: usize,
    /// Bytes returned by one pull at most (`maxTransferBytesOnMessageInMemory`, 256 KiB).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// Region written into send responses (`regionId`, "DefaultRegion").
    pub region_id: String,
    /// Whether message tracing is announced in send responses (`traceOn`, true).
    pub trace_on: bool,
    /// Order lock lifetime, ms (`rocketmq.broker.rebalance.lockMaxLiveTime`, 60000).
    pub rebalance_lock_max_live_time: u64,
    /// `;`-separated settings UPDATE_BROKER_CONFIG may not change (`configBlackList`,
    /// "configBlackList;brokerConfigPath"; those two and `rocketmqHome` are always refused).
    pub config_black_list: String,
    /// The storage engine's settings, in the same file.
    #[serde(flatten)]
    pub store: StoreConfig,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            namesrv_addr: String::new(),
            listen_addr: "0.0.0.0".into(),
            listen_port: 10911,
            broker_ip1: "127.0.0.1".into(),
            auto_create_topic_enable: false,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            broker_permission: 6,
            register_name_server_period: 30_000,
            long_polling_enable: true,
            short_polling_time_mills: 1_000,
            channel_expired_timeout: 120_000,
            flush_consumer_offset_interval: 5_000,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            rebalance_lock_max_live_time: 60_000,
            config_black_list: "configBlackList;brokerConfigPath".into(),
            store: StoreConfig::default(),
        }
    }
}

impl BrokerConfig {
    /// Checks the values before the broker starts.
    pub fn validate(&self) -> Result<(), BrokerError> {
        let fail = |m: String| Err(BrokerError::Config(m));
        if self.broker_name.trim().is_empty() || self.broker_cluster_name.trim().is_empty() {
            return fail("brokerName and brokerClusterName must be set".into());
        }
        if self.broker_id < 0 {
            return fail("brokerId must be 0 (master) or above (slave)".into());
        }
        if !(1..=1024).contains(&self.default_topic_queue_nums) {
            return fail("defaultTopicQueueNums must be 1..=1024".into());
        }
        if !ferromq_protocol::perm::is_valid(self.broker_permission) {
            return fail(format!(
                "brokerPermission {} is not a valid permission",
                self.broker_permission
            ));
        }
        if self.max_transfer_count_on_message_in_memory == 0
            || self.max_transfer_bytes_on_message_in_memory == 0
        {
            return fail(
                "maxTransferCountOnMessageInMemory and maxTransferBytesOnMessageInMemory must be \
                 at least 1"
                    .into(),
            );
        }
        if self.broker_ip1.parse::<std::net::IpAddr>().is_err() {
            return fail(format!("brokerIP1 {} is not an IP address", self.broker_ip1));
        }
        self.store.validate().map_err(|e| BrokerError::Config(e.to_string()))
    }

    /// Whether the broker accepts writes (`brokerPermission`).
    pub fn writeable(&self) -> bool {
        ferromq_protocol::perm::is_writeable(self.broker_permission)
    }

    /// Whether the broker serves reads (`brokerPermission`).
    pub fn readable(&self) -> bool {
        ferromq_protocol::perm::is_readable(self.broker_permission)
    }

    /// The name servers to register with.
    pub fn name_servers(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect()
    }

    /// `brokerIP1:listenPort`: the address clients are told to use.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    /// `listenAddr:listenPort`.
    pub fn bind_addr(&self) -> String {
        format!("{}:{}", self.listen_addr, self.listen_port)
    }

    /// The system topics this broker keeps, by its settings.
    pub fn system_topic_options(&self) -> SystemTopicOptions {
        let mut options = SystemTopicOptions::new(&self.broker_cluster_name, &self.broker_name);
        options.auto_create_topic_enable = self.auto_create_topic_enable;
        options.default_topic_queue_nums = self.default_topic_queue_nums;
        options
    }

    /// Every setting as properties text (`key=value` lines, sorted), as GET_BROKER_CONFIG
    /// answers.
    pub fn to_properties(&self) -> Result<String, BrokerError> {
        let map = update::to_map(self)?;
        let values: Vec<(&str, String)> =
            map.iter().map(|(k, v)| (k.as_str(), properties::value_text(v))).collect();
        Ok(properties::render(values.iter().map(|(k, v)| (*k, v.as_str()))))
    }

    /// `registerNameServerPeriod`, clamped to RocketMQ's 10–60 s.
    pub fn register_period(&self) -> Duration {
        Duration::from_millis(self.register_name_server_period.clamp(10_000, 60_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_and_store_settings_share_one_namespace() {
        let config: BrokerConfig = serde_json::from_str(
            r#"{"brokerName":"b1","brokerIP1":"10.0.0.7","listenPort":20911,"flushDiskType":"SYNC_FLUSH","namesrvAddr":"a:1; b:2"}"#,
        )
        .unwrap();
        assert_eq!(config.broker_name, "b1");
        assert_eq!(config.broker_addr(), "10.0.0.7:20911");
        assert_eq!(config.store.flush_disk_type, ferromq_store::FlushDiskType::SyncFlush);
        assert_eq!(config.name_servers(), vec!["a:1", "b:2"]);
        assert!(config.validate().is_ok());
        let bad = BrokerConfig { broker_ip1: "not-an-ip".into(), ..BrokerConfig::default() };
        assert!(bad.validate().is_err());
    }
}
