//! Consumer groups: subscription-group settings on brokers
//! (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, DELETE_SUBSCRIPTIONGROUP) and who is connected
//! (GET_CONSUMER_CONNECTION_LIST).

use bytes::Bytes;
use ferromq_protocol::body::{ConsumerConnection, SubscriptionGroupConfig};
use ferromq_protocol::headers::{
    CommandHeader, DeleteSubscriptionGroupRequestHeader, GetConsumerConnectionListRequestHeader,
};
use ferromq_protocol::{topic, RemotingCommand, RequestCode, ResponseCode};

use super::{refused_with, Admin, Target};
use crate::error::{ClientError, Result};

impl Admin {
    /// Creates or updates a subscription group on every broker of `target`; returns the
    /// brokers written to.
    pub async fn create_subscription_group(
        &self,
        target: &Target,
        config: &SubscriptionGroupConfig,
    ) -> Result<Vec<String>> {
        let name = &config.group_name;
        topic::validate_group(name)
            .map_err(|e| ClientError::InvalidArgument(format!("group {name}: {e}")))?;
        let body = Bytes::from(config.to_json());
        let addrs = self.target_addrs(target).await?;
        for addr in &addrs {
            let request =
                RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                    .with_body(body.clone());
            self.call_broker(addr, request).await?;
            tracing::info!(group = %name, broker = %addr, "subscription group created or updated");
        }
        Ok(addrs)
    }

    /// Deletes a subscription group (and, with `clean_offset`, its committed offsets) from
    /// every broker of `target`; returns the brokers it was deleted from.
    pub async fn delete_subscription_group(
        &self,
        target: &Target,
        group: &str,
        clean_offset: bool,
    ) -> Result<Vec<String>> {
        let header =
            DeleteSubscriptionGroupRequestHeader { group_name: group.to_string(), clean_offset };
        let addrs = self.target_addrs(target).await?;
        for addr in &addrs {
            let request = RemotingCommand::request(RequestCode::DELETE_SUBSCRIPTIONGROUP)
                .with_ext_fields(header.to_ext());
            self.call_broker(addr, request).await?;
            tracing::info!(%group, broker = %addr, "subscription group deleted");
        }
        Ok(addrs)
    }

    /// The clients connected in `group`, and how the group consumes. Asked of a broker
    /// serving the group's retry topic (as Java does), else of every broker in turn.
    pub async fn consumer_connections(&self, group: &str) -> Result<ConsumerConnection> {
        let addrs = self.group_brokers(group).await?;
        let header = GetConsumerConnectionListRequestHeader { consumer_group: group.to_string() };
        for addr in &addrs {
            let request = RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST)
                .with_ext_fields(header.to_ext());
            match self.call_broker(addr, request).await {
                Ok(response) => return Ok(ConsumerConnection::from_json(&response.body)?),
                Err(e) if refused_with(&e, ResponseCode::CONSUMER_NOT_ONLINE) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::UnknownGroup {
            group: group.to_string(),
            reason: "has no consumer online".into(),
        })
    }

    /// The brokers that may know `group`: those serving its retry topic, else every broker
    /// group's master or first slave.
    pub(super) async fn group_brokers(&self, group: &str) -> Result<Vec<String>> {
        match self.topic_brokers(&topic::retry_topic(group)).await {
            Ok(brokers) if !brokers.is_empty() => {
                return Ok(brokers.into_iter().map(|(_, a)| a).collect())
            }
            Ok(_) | Err(ClientError::UnknownTopic(_)) => {}
            Err(e) => return Err(e),
        }
        let info = self.cluster_info().await?;
        Ok(info
            .broker_addr_table
            .values()
            .filter_map(super::select_addr)
            .map(String::from)
            .collect())
    }
}
