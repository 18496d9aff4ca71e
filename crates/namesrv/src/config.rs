//! `NamesrvConfig`: the name server's settings, under RocketMQ's names.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::NamesrvError;

/// Settings of one name server. Keys in TOML are RocketMQ's (`listenPort`, `kvConfigPath`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NamesrvConfig {
    /// Address to listen on (RocketMQ listens on all interfaces).
    pub listen_addr: String,
    /// Port to listen on (`listenPort`, 9876).
    pub listen_port: u16,
    /// Where the KV config is kept (`kvConfigPath`, `~/namesrv/kvConfig.json`).
    pub kv_config_path: PathBuf,
    /// How often brokers are checked for expiry, ms (`scanNotActiveBrokerInterval`, 5000).
    pub scan_not_active_broker_interval: u64,
    /// A broker not heard from for this long is dropped, ms, unless its registration says
    /// otherwise (RocketMQ's `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`, 120000).
    pub broker_channel_expired_time: u64,
    /// Whether GET_ALL_TOPIC_LIST_FROM_NAMESERVER is served (`enableAllTopicList`, true).
    pub enable_all_topic_list: bool,
    /// Whether routes carry `orderTopicConf` from the KV config (`orderMessageEnable`, false).
    pub order_message_enable: bool,
    /// Whether REGISTER_BROKER answers with the ORDER_TOPIC_CONFIG namespace
    /// (`returnOrderTopicConfigToBroker`, true).
    pub return_order_topic_config_to_broker: bool,
    /// Largest frame accepted, bytes (`com.rocketmq.remoting.frameMaxLength`, 16 MiB).
    pub max_frame_size: usize,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        let home =
            std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        NamesrvConfig {
            listen_addr: "0.0.0.0".to_string(),
            listen_port: 9876,
            kv_config_path: home.join("namesrv").join("kvConfig.json"),
            scan_not_active_broker_interval: 5_000,
            broker_channel_expired_time: 120_000,
            enable_all_topic_list: true,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            max_frame_size: ferromq_protocol::frame::DEFAULT_MAX_FRAME_SIZE,
        }
    }
}

impl NamesrvConfig {
    /// Checks the values before the server starts.
    pub fn validate(&self) -> Result<(), NamesrvError> {
        if self.scan_not_active_broker_interval == 0 {
            return Err(NamesrvError::Config("scanNotActiveBrokerInterval must be above 0".into()));
        }
        if self.broker_channel_expired_time == 0 {
            return Err(NamesrvError::Config("brokerChannelExpiredTime must be above 0".into()));
        }
        if self.max_frame_size < 1024 {
            return Err(NamesrvError::Config("maxFrameSize must be at least 1024".into()));
        }
        Ok(())
    }

    /// `listenAddr:listenPort`.
    pub fn bind_addr(&self) -> String {
        format!("{}:{}", self.listen_addr, self.listen_port)
    }

    /// The expiry scan period.
    pub fn scan_interval(&self) -> Duration {
        Duration::from_millis(self.scan_not_active_broker_interval)
    }

    /// The default broker expiry.
    pub fn broker_expiry(&self) -> Duration {
        Duration::from_millis(self.broker_channel_expired_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rocketmq_names() {
        let config: NamesrvConfig = from_json(
            r#"{"listenPort": 19876, "scanNotActiveBrokerInterval": 100, "enableAllTopicList": false}"#,
        );
        assert_eq!(config.listen_port, 19876);
        assert_eq!(config.scan_not_active_broker_interval, 100);
        assert!(!config.enable_all_topic_list);
        assert_eq!(config.broker_channel_expired_time, 120_000);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn rejects_unknown_keys_and_bad_values() {
        assert!(serde_json::from_str::<NamesrvConfig>(r#"{"listenPrt": 1}"#).is_err());
        let config = NamesrvConfig { scan_not_active_broker_interval: 0, ..Default::default() };
        assert!(config.validate().is_err());
    }

    fn from_json(json: &str) -> NamesrvConfig {
        serde_json::from_str(json).unwrap()
    }
}
