//! Resetting a consumer group's offsets on a topic to a point in time: Java's flow, one
//! INVOKE_BROKER_TO_RESET_OFFSET per broker serving the topic. Each broker finds the first
//! offset stored at or after the time in every queue, commits it for the group and tells
//! the group's connected consumers (RESET_CONSUMER_CLIENT_OFFSET).

use std::collections::BTreeMap;

use ferromq_protocol::body::{MessageQueue, ResetOffsetBody};
use ferromq_protocol::headers::{CommandHeader, ResetOffsetRequestHeader};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{refused_with, Admin};
use crate::error::{ClientError, Result};

/// The timestamp that means "the end of every queue" (skip everything stored).
pub const RESET_TO_END: i64 = -1;

impl Admin {
    /// Moves `group`'s offsets on every queue of `topic` to the first message stored at or
    /// after `timestamp` (ms; [`RESET_TO_END`] for the end). Without `force` an offset only
    /// moves back, never forward. Returns the new offset of each queue.
    pub async fn reset_offset_by_time(
        &self,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let header = ResetOffsetRequestHeader {
            group: group.to_string(),
            topic: topic.to_string(),
            queue_id: -1,
            offset: None,
            timestamp,
            is_force: force,
        };
        let mut offsets = BTreeMap::new();
        let mut any_broker_has_topic = false;
        for (broker_name, addr) in self.topic_brokers(topic).await? {
            let request = RemotingCommand::request(RequestCode::INVOKE_BROKER_TO_RESET_OFFSET)
                .with_ext_fields(header.to_ext());
            match self.call_broker(&addr, request).await {
                Ok(response) => {
                    any_broker_has_topic = true;
                    if !response.body.is_empty() {
                        offsets.extend(ResetOffsetBody::from_json(&response.body)?.offset_table);
                    }
                    tracing::info!(%topic, %group, broker = %broker_name, "offsets reset");
                }
                Err(e) if refused_with(&e, ResponseCode::TOPIC_NOT_EXIST) => {}
                Err(e) if refused_with(&e, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST) => {
                    return Err(ClientError::UnknownGroup {
                        group: group.to_string(),
                        reason: format!("does not exist on broker {broker_name} ({addr})"),
                    })
                }
                Err(e) if refused_with(&e, ResponseCode::CONSUMER_NOT_ONLINE) => {
                    return Err(ClientError::UnknownGroup {
                        group: group.to_string(),
                        reason: format!(
                            "has no consumer online, and broker {broker_name} ({addr}) resets \
                             offsets only through online consumers"
                        ),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        if !any_broker_has_topic {
            return Err(ClientError::UnknownTopic(topic.to_string()));
        }
        Ok(offsets)
    }
}
