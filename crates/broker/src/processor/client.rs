//! Client management: HEART_BEAT (producer and consumer groups with their subscriptions),
//! UNREGISTER_CLIENT and GET_CONSUMER_LIST_BY_GROUP.

use std::time::Instant;

use ferromq_protocol::body::{
    Connection, ConsumerConnection, GetConsumerListByGroupResponseBody, HeartbeatData, MessageModel,
};
use ferromq_protocol::headers::{
    CommandHeader, GetConsumerConnectionListRequestHeader, GetConsumerListByGroupRequestHeader,
    HeartbeatResponseHeader, UnregisterClientRequestHeader,
};
use ferromq_protocol::{RemotingCommand, ResponseCode};
use ferromq_remoting::Channel;

use super::{success, Reply};
use crate::clients::Member;
use crate::error::BrokerError;
use crate::state::BrokerState;

/// HEART_BEAT: records the client in each of its groups; consumer groups whose membership
/// changed are told so.
pub async fn heartbeat(state: &BrokerState, channel: &Channel, request: &RemotingCommand) -> Reply {
    let data = HeartbeatData::from_json(&request.body)?;
    let member = Member {
        client_id: data.client_id.clone(),
        channel: channel.clone(),
        language: request.language,
        version: request.version,
        last_update: Instant::now(),
    };
    let mut any_sub_change = false;
    let mut changed_groups = Vec::new();
    for consumer in &data.consumer_data_set {
        let group = state.groups.find_or_auto_create(
            &consumer.group_name,
            state.config.get().auto_create_subscription_group,
        )?;
        if let Some(group) = &group {
            if consumer.message_model == MessageModel::Clustering {
                let retry = state
                    .topics
                    .create_retry_topic(&consumer.group_name, group.retry_queue_nums.max(1))?;
                if retry.created() {
                    state.register_now.notify_one();
                }
            }
        }
        let (joined, subs_changed) =
            state.clients.register_consumer(consumer, member.clone(), data.without_sub);
        any_sub_change |= subs_changed;
        if joined {
            changed_groups.push(consumer.group_name.clone());
        }
    }
    for producer in &data.producer_data_set {
        state.clients.register_producer(&producer.group_name, member.clone());
    }
    for group in changed_groups {
        state.clients.notify_ids_changed(&group).await;
    }
    let header =
        HeartbeatResponseHeader { is_support_heart_beat_v2: true, is_sub_change: any_sub_change };
    Ok(Some(success().with_ext_fields(header.to_ext())))
}

/// UNREGISTER_CLIENT: removes the client from the named groups.
pub async fn unregister(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let header = UnregisterClientRequestHeader::from_command(request)?;
    let changed = state.clients.unregister(
        &header.client_id,
        header.producer_group.as_deref(),
        header.consumer_group.as_deref(),
    );
    for group in changed {
        state.clients.notify_ids_changed(&group).await;
    }
    Ok(Some(success()))
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids of a group, for rebalancing.
pub fn consumer_list(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let header = GetConsumerListByGroupRequestHeader::from_command(request)?;
    let ids = state.clients.consumer_ids(&header.consumer_group);
    if ids.is_empty() {
        return Err(BrokerError::refused(
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", header.consumer_group),
        ));
    }
    let body = GetConsumerListByGroupResponseBody { consumer_id_list: ids }.to_json();
    Ok(Some(success().with_body(body)))
}

/// GET_CONSUMER_CONNECTION_LIST: a group's members and subscriptions, for admin tools.
pub fn consumer_connections(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let header = GetConsumerConnectionListRequestHeader::from_command(request)?;
    let Some(group) = state.clients.consumer_group(&header.consumer_group) else {
        return Err(BrokerError::refused(
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", header.consumer_group),
        ));
    };
    let body = ConsumerConnection {
        connection_set: group
            .members
            .values()
            .map(|m| Connection {
                client_id: m.client_id.clone(),
                client_addr: m.channel.peer_addr().to_string(),
                language: m.language.name().to_string(),
                version: m.version,
            })
            .collect(),
        subscription_table: group.subscriptions,
        consume_type: group.consume_type,
        message_model: group.message_model,
        consume_from_where: group.consume_from_where,
    };
    Ok(Some(success().with_body(body.to_json())))
}
