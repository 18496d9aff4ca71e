//! The broker requests a consumer makes besides pulling: member lists, queue offsets, order
//! locks and sending failed messages back. Each builds its header, calls, and checks the
//! answer; none keeps state.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferromq_protocol::body::{
    GetConsumerListByGroupResponseBody, LockBatchRequestBody, LockBatchResponseBody, MessageQueue,
    UnlockBatchRequestBody,
};
use ferromq_protocol::headers::{
    CommandHeader, ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode};

use crate::error::{ClientError, Result};
use crate::instance::Instance;
use crate::route::{TopicRoute, MASTER_ID};

/// The master address of `queue`'s broker, looking the topic up again if it is unknown.
pub async fn master_of(instance: &Instance, queue: &MessageQueue) -> Result<String> {
    if let Some(addr) = instance.master_addr(&queue.broker_name) {
        return Ok(addr);
    }
    instance.update_route(&queue.topic).await?;
    instance.master_addr(&queue.broker_name).ok_or_else(|| ClientError::NoRoute {
        topic: queue.topic.clone(),
        reason: format!("broker {} has no master", queue.broker_name),
    })
}

/// The client ids of `group`'s members, as the broker at `addr` knows them.
pub async fn consumer_ids(instance: &Instance, addr: &str, group: &str) -> Result<Vec<String>> {
    let header = GetConsumerListByGroupRequestHeader { consumer_group: group.to_string() };
    let request = RemotingCommand::request(RequestCode::GET_CONSUMER_LIST_BY_GROUP)
        .with_ext_fields(header.to_ext());
    let response = instance.call_ok(addr, request, instance.config.mq_client_api_timeout).await?;
    Ok(GetConsumerListByGroupResponseBody::from_json(&response.body)?.consumer_id_list)
}

/// The group's member ids, sorted, from any broker of `topic`'s route (masters first).
pub async fn group_member_ids(
    instance: &Instance,
    group: &str,
    topic: &str,
    route: &TopicRoute,
) -> Result<Vec<String>> {
    let mut addrs: Vec<(i64, &str)> = route
        .data
        .broker_datas
        .iter()
        .flat_map(|b| b.broker_addrs.iter().map(|(id, addr)| (*id, addr.as_str())))
        .collect();
    addrs.sort_by_key(|(id, _)| *id != MASTER_ID);
    let mut last_error = None;
    for (_, addr) in addrs {
        match consumer_ids(instance, addr, group).await {
            Ok(mut ids) if !ids.is_empty() => {
                ids.sort();
                return Ok(ids);
            }
            Ok(_) => {}
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ClientError::NoRoute {
        topic: topic.to_string(),
        reason: "no broker knows the group's members yet".into(),
    }))
}

/// The offset of the queue's first message still stored (GET_MIN_OFFSET).
pub async fn min_offset(instance: &Instance, queue: &MessageQueue) -> Result<i64> {
    let addr = master_of(instance, queue).await?;
    let header = GetMinOffsetRequestHeader { topic: queue.topic.clone(), queue_id: queue.queue_id };
    let request =
        RemotingCommand::request(RequestCode::GET_MIN_OFFSET).with_ext_fields(header.to_ext());
    let response = instance.call_ok(&addr, request, instance.config.mq_client_api_timeout).await?;
    Ok(GetMinOffsetResponseHeader::from_command(&response)?.offset)
}

/// The offset the queue's next message will get (GET_MAX_OFFSET).
pub async fn max_offset(instance: &Instance, queue: &MessageQueue) -> Result<i64> {
    let addr = master_of(instance, queue).await?;
    let header = GetMaxOffsetRequestHeader {
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        committed: true,
    };
    let request =
        RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_ext_fields(header.to_ext());
    let response = instance.call_ok(&addr, request, instance.config.mq_client_api_timeout).await?;
    Ok(GetMaxOffsetResponseHeader::from_command(&response)?.offset)
}

/// The first offset stored at or after `timestamp_ms` (SEARCH_OFFSET_BY_TIMESTAMP).
pub async fn search_offset(
    instance: &Instance,
    queue: &MessageQueue,
    timestamp_ms: i64,
) -> Result<i64> {
    let addr = master_of(instance, queue).await?;
    let header = SearchOffsetRequestHeader {
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        timestamp: timestamp_ms,
        boundary_type: None,
    };
    let request = RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP)
        .with_ext_fields(header.to_ext());
    let response = instance.call_ok(&addr, request, instance.config.mq_client_api_timeout).await?;
    Ok(SearchOffsetResponseHeader::from_command(&response)?.offset)
}

/// Asks the broker at `addr` for the order locks of `queues`; returns those granted.
pub async fn lock_batch(
    instance: &Arc<Instance>,
    addr: &str,
    group: &str,
    queues: BTreeSet<MessageQueue>,
) -> Result<BTreeSet<MessageQueue>> {
    let body = LockBatchRequestBody {
        consumer_group: group.to_string(),
        client_id: instance.client_id.clone(),
        mq_set: queues,
        only_this_broker: false,
    };
    let request = RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(body.to_json());
    let response = instance.call_ok(addr, request, instance.config.mq_client_api_timeout).await?;
    Ok(LockBatchResponseBody::from_json(&response.body)?.lock_ok_mq_set)
}

/// Releases the order locks of `queues` at the broker at `addr`.
pub async fn unlock_batch(
    instance: &Arc<Instance>,
    addr: &str,
    group: &str,
    queues: BTreeSet<MessageQueue>,
) -> Result<()> {
    let body = UnlockBatchRequestBody {
        consumer_group: group.to_string(),
        client_id: instance.client_id.clone(),
        mq_set: queues,
        only_this_broker: false,
    };
    let request = RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(body.to_json());
    instance.call_ok(addr, request, instance.config.mq_client_api_timeout).await.map(drop)
}

/// CONSUMER_SEND_MSG_BACK to the broker at `addr`.
pub async fn send_back(
    instance: &Instance,
    addr: &str,
    header: ConsumerSendMsgBackRequestHeader,
    broker_name: &str,
) -> Result<()> {
    let mut ext = header.to_ext();
    ext.insert("bname", broker_name);
    let request =
        RemotingCommand::request(RequestCode::CONSUMER_SEND_MSG_BACK).with_ext_fields(ext);
    instance.call_ok(addr, request, instance.config.mq_client_api_timeout).await.map(drop)
}
