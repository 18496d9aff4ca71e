//! PULL_MESSAGE: checks, tag filtering by hash code, RocketMQ's status mapping and offset
//! corrections, the commit-offset flag, and long polling (a pull that finds nothing new is
//! held until a message arrives or its suspend time passes).

use std::time::Duration;

use bytes::BytesMut;
use ferromq_protocol::body::SubscriptionData;
use ferromq_protocol::headers::{
    CommandHeader, PullMessageRequestHeader, PullMessageResponseHeader, PullSysFlag,
};
use ferromq_protocol::{perm, RemotingCommand, ResponseCode};
use ferromq_store::{GetResult, GetStatus};

use super::Reply;
use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::state::BrokerState;

/// Handles one pull.
pub async fn pull(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let config = state.config.get();
    let header = PullMessageRequestHeader::from_command(request)?;
    let flags = header.pull_sys_flag();
    let subscription = check(state, &config, &header)?;
    let filter = move |tags_code: i64| {
        subscription.is_sub_all() || subscription.code_set.contains(&(tags_code as i32))
    };
    let max_count = usize::try_from(header.max_msg_nums.max(1))
        .unwrap_or(1)
        .min(config.max_transfer_count_on_message_in_memory);
    let max_bytes = header
        .max_msg_bytes
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or(usize::MAX)
        .min(config.max_transfer_bytes_on_message_in_memory);
    let read = || {
        state.store.get_messages(
            &header.topic,
            header.queue_id,
            header.queue_offset,
            max_count,
            max_bytes,
            &filter,
        )
    };
    // The piggy-backed commit counts when the pull arrives, as in RocketMQ: committing after
    // a long hold could overwrite a newer commit (an admin offset reset, say).
    if flags.has(PullSysFlag::COMMIT_OFFSET) && config.broker_id == 0 {
        state.offsets.commit(
            &header.consumer_group,
            &header.topic,
            header.queue_id,
            header.commit_offset,
        );
    }
    let mut result = read()?;
    let mut code = status_code(result.status, header.queue_offset);
    if code != ResponseCode::SUCCESS && catch_up_dispatch(state).await {
        // Messages acknowledged before this pull were not in the consume queue yet.
        result = read()?;
        code = status_code(result.status, header.queue_offset);
        if code == ResponseCode::PULL_OFFSET_MOVED
            && state.store.dispatched() < state.store.commit_log_range().1
        {
            // The queue is not built up to date yet, so the offset may well be valid:
            // have the consumer come back rather than move its offset.
            code = ResponseCode::PULL_NOT_FOUND;
        }
    }
    if code == ResponseCode::PULL_NOT_FOUND && flags.has(PullSysFlag::SUSPEND) {
        let hold = if config.long_polling_enable {
            Duration::from_millis(u64::try_from(header.suspend_timeout_millis).unwrap_or(0))
        } else {
            Duration::from_millis(config.short_polling_time_mills)
        };
        let arrived = state
            .pulls
            .wait(&header.topic, header.queue_id, header.queue_offset, hold, || {
                state.store.max_offset(&header.topic, header.queue_id)
            })
            .await;
        if arrived {
            result = read()?;
            code = status_code(result.status, header.queue_offset);
        }
    }
    if code == ResponseCode::SUCCESS && !result.messages.is_empty() {
        state.stats.record_get(&header.consumer_group, &header.topic, result.messages.len() as u64);
    }
    Ok(Some(response(code, &result)))
}

/// Longest a pull waits for the dispatcher to index messages already appended.
const DISPATCH_CATCH_UP: Duration = Duration::from_secs(5);

/// Waits (briefly) until everything appended before now is in the consume queues, so a pull
/// sees every message whose send was acknowledged before it; true if there was a gap.
async fn catch_up_dispatch(state: &BrokerState) -> bool {
    let appended = state.store.commit_log_range().1;
    if state.store.dispatched() >= appended {
        return false;
    }
    let deadline = tokio::time::Instant::now() + DISPATCH_CATCH_UP;
    while state.store.dispatched() < appended && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    true
}

/// The checks RocketMQ makes before reading, in its order; returns the subscription to filter by.
fn check(
    state: &BrokerState,
    config: &BrokerConfig,
    header: &PullMessageRequestHeader,
) -> Result<SubscriptionData, BrokerError> {
    if !config.readable() {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{}] pulling message is forbidden", config.broker_addr()),
        ));
    }
    let group = state
        .groups
        .find_or_auto_create(&header.consumer_group, config.auto_create_subscription_group)?
        .ok_or_else(|| {
            BrokerError::refused(
                ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{}] does not exist", header.consumer_group),
            )
        })?;
    if !group.consume_enable {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", header.consumer_group),
        ));
    }
    let topic = state.topics.get(&header.topic).ok_or_else(|| {
        BrokerError::refused(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", header.topic),
        )
    })?;
    if !perm::is_readable(topic.perm) {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", header.topic),
        ));
    }
    if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
        return Err(BrokerError::refused(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}]",
                header.queue_id, header.topic, topic.read_queue_nums
            ),
        ));
    }
    if header.pull_sys_flag().has(PullSysFlag::SUBSCRIPTION) {
        let expression = header.subscription.as_deref().unwrap_or("*");
        let kind = header.expression_type.as_deref().unwrap_or("TAG");
        if !kind.eq_ignore_ascii_case("TAG") {
            return Err(BrokerError::refused(
                ResponseCode::SUBSCRIPTION_PARSE_FAILED,
                format!("expression type {kind} is not supported; use TAG"),
            ));
        }
        return Ok(SubscriptionData::new(header.topic.clone(), expression));
    }
    let subscription =
        state.clients.subscription(&header.consumer_group, &header.topic).ok_or_else(|| {
            BrokerError::refused(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "consumer's group info not exist or its subscription of {} not exist",
                    header.topic
                ),
            )
        })?;
    if subscription.sub_version < header.sub_version {
        return Err(BrokerError::refused(
            ResponseCode::SUBSCRIPTION_NOT_LATEST,
            format!("the consumer's subscription not latest, {}", subscription.sub_string),
        ));
    }
    Ok(subscription)
}

/// RocketMQ's mapping of a read's status to the pull response code.
pub fn status_code(status: GetStatus, requested: i64) -> ResponseCode {
    match status {
        GetStatus::Found => ResponseCode::SUCCESS,
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
            ResponseCode::PULL_RETRY_IMMEDIATELY
        }
        GetStatus::NoMessageInQueue | GetStatus::NoMatchedLogicQueue => {
            if requested != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        GetStatus::OffsetFoundNull | GetStatus::OffsetOverflowOne => ResponseCode::PULL_NOT_FOUND,
        GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall => {
            ResponseCode::PULL_OFFSET_MOVED
        }
    }
}

fn response(code: ResponseCode, result: &GetResult) -> RemotingCommand {
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: None,
    };
    let mut body = BytesMut::with_capacity(result.total_bytes());
    for message in &result.messages {
        body.extend_from_slice(message);
    }
    RemotingCommand::response(code)
        .with_remark(result.status.name())
        .with_ext_fields(header.to_ext())
        .with_body(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_as_rocketmq() {
        assert_eq!(status_code(GetStatus::Found, 5), ResponseCode::SUCCESS);
        assert_eq!(
            status_code(GetStatus::NoMatchedMessage, 5),
            ResponseCode::PULL_RETRY_IMMEDIATELY
        );
        assert_eq!(status_code(GetStatus::NoMessageInQueue, 0), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(status_code(GetStatus::NoMessageInQueue, 3), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(status_code(GetStatus::OffsetOverflowOne, 3), ResponseCode::PULL_NOT_FOUND);
        assert_eq!(status_code(GetStatus::OffsetTooSmall, 3), ResponseCode::PULL_OFFSET_MOVED);
        assert_eq!(status_code(GetStatus::OffsetOverflowBadly, 3), ResponseCode::PULL_OFFSET_MOVED);
    }
}
