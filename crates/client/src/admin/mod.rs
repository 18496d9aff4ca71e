//! The admin client: what RocketMQ's `mqadmin` does over the wire — topics and subscription
//! groups on brokers and name servers, cluster and route information, topic and consumer
//! progress, message lookups, offset resets, and send/peek helpers for tools.
//!
//! ```no_run
//! # async fn demo() -> ferromq_client::Result<()> {
//! use ferromq_client::admin::{Admin, Target};
//! use ferromq_client::ClientConfig;
//! use ferromq_protocol::body::TopicConfig;
//!
//! let admin = Admin::new(ClientConfig::with_namesrv("127.0.0.1:9876"))?;
//! admin.create_topic(&Target::Cluster("DefaultCluster".into()), &TopicConfig::new("Orders")).await?;
//! for row in admin.consumer_progress("order-readers", Some("Orders")).await?.queues {
//!     println!("{} lag {}", row.queue.queue_id, row.diff);
//! }
//! admin.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Each module holds one group of commands: `cluster` (cluster info, routes, topic list,
//! runtime info), `topic`, `group`, `progress`, `lookup`, `reset`, `peek` and `send`.

mod cluster;
mod group;
mod lookup;
mod peek;
mod progress;
mod reset;
mod send;
mod topic;

use std::sync::Arc;

use ferromq_protocol::body::{BrokerData, TopicRouteData};
use ferromq_protocol::{RemotingCommand, ResponseCode};

pub use peek::PeekOptions;
pub use progress::{ConsumerProgress, QueueProgress};
pub use reset::RESET_TO_END;
pub use send::TOOLS_PRODUCER_GROUP;
pub use topic::{QueueStatus, TopicStatus};

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::{expect_success, Instance};
use crate::route::MASTER_ID;

/// The group RocketMQ's tools read messages as (`MixAll.TOOLS_CONSUMER_GROUP`).
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

/// Where a topic or subscription group is created, updated or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every master of this cluster.
    Cluster(String),
    /// The broker at this address.
    Broker(String),
}

/// Talks to name servers and brokers on an operator's behalf. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Admin {
    instance: Arc<Instance>,
}

impl Admin {
    /// An admin client for the name servers in `config`. It runs no background work; it
    /// connects on the first call.
    pub fn new(config: ClientConfig) -> Result<Admin> {
        Ok(Admin { instance: Instance::new(config)? })
    }

    /// The settings this admin client was made with.
    pub fn config(&self) -> &ClientConfig {
        &self.instance.config
    }

    /// Closes the connections.
    pub async fn shutdown(&self) {
        self.instance.shutdown().await;
    }

    /// Calls a name server; "none reachable" becomes [`ClientError::NamesrvUnreachable`].
    async fn call_namesrv(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        self.instance.call_namesrv(request).await.map_err(|e| match e {
            ClientError::Remoting(_) => ClientError::NamesrvUnreachable {
                addrs: self.instance.config.namesrv_addr.clone(),
                last: Box::new(e),
            },
            other => other,
        })
    }

    /// Calls a name server and expects SUCCESS.
    async fn call_namesrv_ok(&self, request: RemotingCommand) -> Result<RemotingCommand> {
        let response = self.call_namesrv(request).await?;
        expect_success("name server", response)
    }

    /// Calls the broker at `addr` and expects SUCCESS.
    async fn call_broker(&self, addr: &str, request: RemotingCommand) -> Result<RemotingCommand> {
        let timeout = self.instance.config.mq_client_api_timeout;
        self.instance.call_ok(addr, request, timeout).await
    }

    /// `topic`'s route from the name servers, or [`ClientError::UnknownTopic`].
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        match self.instance.fetch_route(topic).await {
            Ok(Some(route)) => Ok(route),
            Ok(None) => Err(ClientError::UnknownTopic(topic.to_string())),
            Err(ClientError::Remoting(e)) => Err(ClientError::NamesrvUnreachable {
                addrs: self.instance.config.namesrv_addr.clone(),
                last: Box::new(ClientError::Remoting(e)),
            }),
            Err(e) => Err(e),
        }
    }

    /// `(brokerName, address)` of every broker group serving `topic`: its master, else a
    /// slave (Java `BrokerData.selectBrokerAddr`).
    async fn topic_brokers(&self, topic: &str) -> Result<Vec<(String, String)>> {
        Ok(brokers_of(&self.topic_route(topic).await?))
    }
}

/// The address to ask about a broker group: its master, else its first slave.
pub(crate) fn select_addr(broker: &BrokerData) -> Option<&str> {
    broker
        .broker_addrs
        .get(&MASTER_ID)
        .or_else(|| broker.broker_addrs.values().next())
        .map(String::as_str)
}

/// `(brokerName, address)` of each broker group of a route, in broker-name order.
fn brokers_of(route: &TopicRouteData) -> Vec<(String, String)> {
    let mut brokers: Vec<(String, String)> = route
        .broker_datas
        .iter()
        .filter_map(|b| select_addr(b).map(|a| (b.broker_name.clone(), a.to_string())))
        .collect();
    brokers.sort();
    brokers.dedup();
    brokers
}

/// Whether `error` is a broker's refusal with `code`.
fn refused_with(error: &ClientError, code: ResponseCode) -> bool {
    error.response_code() == Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(name: &str, addrs: &[(i64, &str)]) -> BrokerData {
        BrokerData {
            cluster: "C".into(),
            broker_name: name.into(),
            broker_addrs: addrs.iter().map(|(id, a)| (*id, a.to_string())).collect(),
            enable_acting_master: false,
            zone_name: None,
        }
    }

    #[test]
    fn the_master_is_asked_else_a_slave() {
        assert_eq!(select_addr(&broker("a", &[(1, "s:1"), (0, "m:1")])), Some("m:1"));
        assert_eq!(select_addr(&broker("b", &[(2, "s:2"), (1, "s:1")])), Some("s:1"));
        assert_eq!(select_addr(&broker("c", &[])), None);
        let route = TopicRouteData {
            broker_datas: vec![broker("z", &[(0, "z:0")]), broker("a", &[(0, "a:0")])],
            ..TopicRouteData::default()
        };
        assert_eq!(
            brokers_of(&route),
            vec![("a".to_string(), "a:0".to_string()), ("z".to_string(), "z:0".to_string())]
        );
    }
}
