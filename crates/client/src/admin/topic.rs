//! Topics: create or update on brokers (UPDATE_AND_CREATE_TOPIC), delete from brokers and
//! name servers (DELETE_TOPIC_IN_BROKER, DELETE_TOPIC_IN_NAMESRV), and each queue's offset
//! range (GET_TOPIC_STATS_INFO).

use ferromq_protocol::body::{MessageQueue, TopicConfig, TopicStatsTable};
use ferromq_protocol::headers::{
    CommandHeader, CreateTopicRequestHeader, DeleteTopicFromNamesrvRequestHeader,
    DeleteTopicRequestHeader, GetTopicStatsInfoRequestHeader,
};
use ferromq_protocol::{perm, topic, RemotingCommand, RequestCode, ResponseCode};

use super::{refused_with, Admin, Target};
use crate::error::{ClientError, Result};
use crate::instance::AUTO_CREATE_TOPIC_KEY;

/// One queue's offsets as its broker reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatus {
    pub queue: MessageQueue,
    /// The first offset still stored.
    pub min_offset: i64,
    /// The offset the next message will get.
    pub max_offset: i64,
    /// Store time of the last message (ms), 0 when the queue is empty.
    pub last_update_timestamp: i64,
}

/// A topic's queues over every broker that serves it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicStatus {
    /// Sorted by broker name, then queue id.
    pub queues: Vec<QueueStatus>,
    /// Messages put per second over the last minute, summed over the brokers.
    pub put_tps: f64,
}

impl Admin {
    /// Creates `config`'s topic, or updates it, on every broker of `target`; returns the
    /// brokers written to.
    pub async fn create_topic(&self, target: &Target, config: &TopicConfig) -> Result<Vec<String>> {
        let name = &config.topic_name;
        topic::validate_topic(name)
            .map_err(|e| ClientError::InvalidArgument(format!("topic {name}: {e}")))?;
        if config.read_queue_nums <= 0 || config.write_queue_nums <= 0 {
            return Err(ClientError::InvalidArgument("queue numbers must be above zero".into()));
        }
        if !perm::is_valid(config.perm) {
            return Err(ClientError::InvalidArgument(format!(
                "perm {} is not a permission (2 = write, 4 = read, 6 = both)",
                config.perm
            )));
        }
        let header = CreateTopicRequestHeader {
            topic: name.clone(),
            default_topic: AUTO_CREATE_TOPIC_KEY.into(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type,
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: attributes_text(config),
            force: false,
        };
        let addrs = self.target_addrs(target).await?;
        for addr in &addrs {
            let request = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC)
                .with_ext_fields(header.to_ext());
            self.call_broker(addr, request).await?;
            tracing::info!(topic = %name, broker = %addr, "topic created or updated");
        }
        Ok(addrs)
    }

    /// Deletes `topic` from the masters of `cluster` (or, without a cluster, from every
    /// broker its route names), then from every name server. Returns the brokers it was
    /// deleted from.
    pub async fn delete_topic(&self, topic: &str, cluster: Option<&str>) -> Result<Vec<String>> {
        let addrs = match cluster {
            Some(cluster) => self.target_addrs(&Target::Cluster(cluster.to_string())).await?,
            None => self.topic_brokers(topic).await?.into_iter().map(|(_, a)| a).collect(),
        };
        let header = DeleteTopicRequestHeader { topic: topic.to_string() };
        for addr in &addrs {
            let request = RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER)
                .with_ext_fields(header.to_ext());
            self.call_broker(addr, request).await?;
        }
        let header = DeleteTopicFromNamesrvRequestHeader {
            topic: topic.to_string(),
            cluster_name: cluster.map(String::from),
        };
        let timeout = self.instance.config.mq_client_api_timeout;
        for namesrv in self.instance.config.name_servers() {
            let request = RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_NAMESRV)
                .with_ext_fields(header.to_ext());
            self.instance.call_ok(&namesrv, request, timeout).await?;
        }
        tracing::info!(%topic, brokers = addrs.len(), "topic deleted");
        Ok(addrs)
    }

    /// Every queue of `topic` with its offset range and last store time.
    pub async fn topic_status(&self, topic: &str) -> Result<TopicStatus> {
        let mut status = TopicStatus { queues: Vec::new(), put_tps: 0.0 };
        let mut found = false;
        for (_, addr) in self.topic_brokers(topic).await? {
            let header = GetTopicStatsInfoRequestHeader { topic: topic.to_string() };
            let request = RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO)
                .with_ext_fields(header.to_ext());
            let table = match self.call_broker(&addr, request).await {
                Ok(response) => TopicStatsTable::from_json(&response.body)?,
                // A route not yet refreshed after a delete: this broker no longer has it.
                Err(e) if refused_with(&e, ResponseCode::TOPIC_NOT_EXIST) => continue,
                Err(e) => return Err(e),
            };
            found = true;
            status.put_tps += table.topic_put_tps;
            status.queues.extend(table.offset_table.into_iter().map(|(queue, o)| QueueStatus {
                queue,
                min_offset: o.min_offset,
                max_offset: o.max_offset,
                last_update_timestamp: o.last_update_timestamp,
            }));
        }
        if !found {
            return Err(ClientError::UnknownTopic(topic.to_string()));
        }
        status.queues.sort_by(|a, b| a.queue.cmp(&b.queue));
        Ok(status)
    }
}

/// RocketMQ's attribute string (`+key=value,…`), or `None` without attributes.
fn attributes_text(config: &TopicConfig) -> Option<String> {
    if config.attributes.is_empty() {
        return None;
    }
    let items: Vec<String> = config
        .attributes
        .iter()
        .map(|(k, v)| {
            let key = k.strip_prefix('+').unwrap_or(k);
            format!("+{key}={v}")
        })
        .collect();
    Some(items.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_written_as_additions() {
        let mut config = TopicConfig::new("T");
        assert_eq!(attributes_text(&config), None);
        config.attributes.insert("message.type".into(), "FIFO".into());
        config.attributes.insert("+queue.type".into(), "BatchCQ".into());
        assert_eq!(
            attributes_text(&config).as_deref(),
            Some("+queue.type=BatchCQ,+message.type=FIFO")
        );
    }
}
