//! INVOKE_BROKER_TO_RESET_OFFSET: moves a consumer group's committed offsets on a topic to
//! a point in time (or one queue to a given offset), then tells the group's connected
//! consumers with RESET_CONSUMER_CLIENT_OFFSET so they continue from there.
//!
//! This follows Java's two flows at once: like the server-side reset
//! (`AdminBrokerProcessor.resetOffsetInner`) the broker commits the offsets itself, so a
//! consumer started later begins there even when none is online; like `Broker2Client.
//! resetOffset` it honours `isForce` (without it an offset only moves back) and notifies the
//! online members.

use std::collections::BTreeMap;

use bytes::Bytes;
use ferromq_protocol::body::{MessageQueue, ResetOffsetBody};
use ferromq_protocol::headers::{CommandHeader, ResetOffsetRequestHeader};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, info};

use super::{success, Reply};
use crate::error::BrokerError;
use crate::state::BrokerState;

/// INVOKE_BROKER_TO_RESET_OFFSET.
pub async fn reset_offset(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = ResetOffsetRequestHeader::from_command(request)?;
    let config = state.config.get();
    if config.broker_id != 0 {
        return Err(BrokerError::refused(
            ResponseCode::SYSTEM_ERROR,
            "Can not reset offset in slave broker",
        ));
    }
    let Some(topic) = state.topics.get(&h.topic) else {
        return Err(BrokerError::refused(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("Topic {} does not exist", h.topic),
        ));
    };
    let online = state.clients.consumer_group(&h.group);
    let known = state.groups.contains(&h.group)
        || online.is_some()
        || !state.offsets.queue_offsets(&h.group, &h.topic).is_empty();
    if !known {
        return Err(BrokerError::refused(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("Group {} does not exist", h.group),
        ));
    }
    let queues: Vec<i32> =
        if h.queue_id >= 0 { vec![h.queue_id] } else { (0..topic.read_queue_nums).collect() };
    if queues.is_empty() {
        return Err(BrokerError::refused(ResponseCode::SYSTEM_ERROR, "No queues to reset."));
    }
    let explicit = h.offset.filter(|o| *o != -1 && h.queue_id >= 0);
    let mut offsets = BTreeMap::new();
    for queue_id in queues {
        let target = match explicit {
            Some(offset) => {
                let (min, max) = (
                    state.store.min_offset(&h.topic, queue_id),
                    state.store.max_offset(&h.topic, queue_id),
                );
                if offset < min || offset > max {
                    return Err(BrokerError::refused(
                        ResponseCode::SYSTEM_ERROR,
                        format!("Target offset {offset} not in consume queue range [{min}-{max}]"),
                    ));
                }
                offset
            }
            None if h.timestamp < 0 => state.store.max_offset(&h.topic, queue_id),
            None => state.store.offset_by_time(&h.topic, queue_id, h.timestamp, false)?,
        };
        let current = state.offsets.query(&h.group, &h.topic, queue_id);
        offsets.insert(queue_id, new_offset(current, target.max(0), h.is_force));
    }
    let broker_name = config.broker_name.clone();
    let body = ResetOffsetBody {
        offset_table: offsets
            .iter()
            .map(|(queue_id, offset)| {
                (MessageQueue::new(h.topic.clone(), broker_name.clone(), *queue_id), *offset)
            })
            .collect(),
    };
    for (queue_id, offset) in &offsets {
        state.offsets.commit(&h.group, &h.topic, *queue_id, *offset);
    }
    info!(topic = %h.topic, group = %h.group, timestamp = h.timestamp, ?offsets, "offsets reset by admin");
    let body = Bytes::from(body.to_json());
    if let Some(group) = online {
        let notice = ResetOffsetRequestHeader { queue_id: -1, offset: None, ..h };
        for member in group.members.values() {
            let request = RemotingCommand::request(RequestCode::RESET_CONSUMER_CLIENT_OFFSET)
                .with_ext_fields(notice.to_ext())
                .with_body(body.clone());
            if let Err(e) = member.channel.invoke_oneway(request).await {
                debug!(client = %member.client_id, "cannot tell consumer of the reset: {e}");
            }
        }
    }
    Ok(Some(success().with_body(body)))
}

/// The offset a queue is reset to: the target when forced, when the group has none, or when
/// it moves back; otherwise the group stays where it is (Java `Broker2Client.resetOffset`).
fn new_offset(current: Option<i64>, target: i64, force: bool) -> i64 {
    match current {
        Some(current) if !force && target >= current => current,
        _ => target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_force_offsets_only_move_back() {
        assert_eq!(new_offset(Some(10), 4, false), 4);
        assert_eq!(new_offset(Some(10), 12, false), 10);
        assert_eq!(new_offset(Some(10), 12, true), 12);
        assert_eq!(new_offset(None, 7, false), 7);
    }
}
