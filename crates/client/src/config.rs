//! `ClientConfig`: what every producer, consumer and admin client shares — where the name
//! servers are, who this client is, and the periods of its background work. Names and
//! defaults follow RocketMQ's `ClientConfig`.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{ClientError, Result};

/// Settings shared by every client role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Name servers, `;`-separated `host:port` (`namesrvAddr`).
    pub namesrv_addr: String,
    /// The address this client reports (`clientIP`); found from the routing table when empty.
    pub client_ip: String,
    /// Distinguishes clients in one process (`instanceName`); unique per client when empty.
    pub instance_name: String,
    /// Route refresh period (`pollNameServerInterval`, 30 s).
    pub poll_name_server_interval: Duration,
    /// Heartbeat period (`heartbeatBrokerInterval`, 30 s).
    pub heartbeat_broker_interval: Duration,
    /// Consumer offset commit period (`persistConsumerOffsetInterval`, 5 s).
    pub persist_consumer_offset_interval: Duration,
    /// Timeout of administrative calls (`mqClientApiTimeout`, 3 s).
    pub mq_client_api_timeout: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addr: String::new(),
            client_ip: String::new(),
            instance_name: String::new(),
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            persist_consumer_offset_interval: Duration::from_secs(5),
            mq_client_api_timeout: Duration::from_secs(3),
        }
    }
}

impl ClientConfig {
    /// Defaults with these name servers.
    pub fn with_namesrv(namesrv_addr: impl Into<String>) -> Self {
        ClientConfig { namesrv_addr: namesrv_addr.into(), ..ClientConfig::default() }
    }

    /// The name servers, in the order given.
    pub fn name_servers(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect()
    }

    /// Checks the settings before a client starts.
    pub fn validate(&self) -> Result<()> {
        if self.name_servers().is_empty() {
            return Err(ClientError::Config("namesrvAddr is empty".into()));
        }
        if !self.client_ip.is_empty() && self.client_ip.parse::<IpAddr>().is_err() {
            return Err(ClientError::Config(format!("clientIP {} is not an IP", self.client_ip)));
        }
        let positive = [
            ("pollNameServerInterval", self.poll_name_server_interval),
            ("heartbeatBrokerInterval", self.heartbeat_broker_interval),
            ("persistConsumerOffsetInterval", self.persist_consumer_offset_interval),
            ("mqClientApiTimeout", self.mq_client_api_timeout),
        ];
        for (name, value) in positive {
            if value.is_zero() {
                return Err(ClientError::Config(format!("{name} must be above zero")));
            }
        }
        Ok(())
    }

    /// `clientIP@instanceName`: how brokers tell clients apart. An empty instance name
    /// becomes `pid#n`, unique for every client made in this process.
    pub fn client_id(&self, ip: IpAddr) -> String {
        static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(0);
        let ip = if self.client_ip.is_empty() { ip.to_string() } else { self.client_ip.clone() };
        if self.instance_name.is_empty() {
            let n = NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed);
            format!("{ip}@{}#{n}", std::process::id())
        } else {
            format!("{ip}@{}", self.instance_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_unique_without_an_instance_name() {
        let config = ClientConfig::with_namesrv("127.0.0.1:9876");
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let (a, b) = (config.client_id(ip), config.client_id(ip));
        assert_ne!(a, b);
        assert!(a.starts_with("10.0.0.1@"));
        let named = ClientConfig { instance_name: "orders".into(), ..config };
        assert_eq!(named.client_id(ip), "10.0.0.1@orders");
    }

    #[test]
    fn validation_names_the_bad_setting() {
        assert!(ClientConfig::default().validate().is_err());
        let config = ClientConfig::with_namesrv(" a:1 ; b:2 ");
        assert_eq!(config.name_servers(), vec!["a:1", "b:2"]);
        assert!(config.validate().is_ok());
        let bad = ClientConfig { mq_client_api_timeout: Duration::ZERO, ..config };
        assert!(bad.validate().unwrap_err().to_string().contains("mqClientApiTimeout"));
    }
}
