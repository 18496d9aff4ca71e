//! Offsets: a group's committed consumer offsets (QUERY/UPDATE_CONSUMER_OFFSET) and a
//! queue's offsets (GET_MAX/MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP,
//! GET_EARLIEST_MSG_STORETIME).

use ferromq_protocol::headers::*;
use ferromq_protocol::{RemotingCommand, ResponseCode};

use super::{success, Reply};
use crate::error::BrokerError;
use crate::state::BrokerState;

/// QUERY_CONSUMER_OFFSET, with RocketMQ's outcomes for a group that never committed.
pub fn query_consumer_offset(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = QueryConsumerOffsetRequestHeader::from_command(request)?;
    let offset = match state.offsets.query(&h.consumer_group, &h.topic, h.queue_id) {
        Some(offset) if offset >= 0 => offset,
        _ => {
            // Never committed: 0 if the queue still starts at 0 (and asked for), else unknown.
            let starts_at_zero = state.store.min_offset(&h.topic, h.queue_id) <= 0;
            if h.set_zero_if_not_found != Some(false) && starts_at_zero {
                0
            } else {
                return Err(BrokerError::refused(
                    ResponseCode::QUERY_NOT_FOUND,
                    "Not found, maybe this group consumer boot first",
                ));
            }
        }
    };
    Ok(Some(success().with_ext_fields(QueryConsumerOffsetResponseHeader { offset }.to_ext())))
}

/// UPDATE_CONSUMER_OFFSET (often one-way).
pub fn update_consumer_offset(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = UpdateConsumerOffsetRequestHeader::from_command(request)?;
    state.offsets.commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(Some(success()))
}

/// GET_MAX_OFFSET: the next offset the queue will be given.
pub fn max_offset(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = GetMaxOffsetRequestHeader::from_command(request)?;
    let offset = state.store.max_offset(&h.topic, h.queue_id);
    Ok(Some(success().with_ext_fields(GetMaxOffsetResponseHeader { offset }.to_ext())))
}

/// GET_MIN_OFFSET: the first offset still stored.
pub fn min_offset(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = GetMinOffsetRequestHeader::from_command(request)?;
    let offset = state.store.min_offset(&h.topic, h.queue_id);
    Ok(Some(success().with_ext_fields(GetMinOffsetResponseHeader { offset }.to_ext())))
}

/// SEARCH_OFFSET_BY_TIMESTAMP.
pub fn search_by_time(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = SearchOffsetRequestHeader::from_command(request)?;
    let upper = h.boundary() == BoundaryType::Upper;
    let offset = state.store.offset_by_time(&h.topic, h.queue_id, h.timestamp, upper)?;
    Ok(Some(success().with_ext_fields(SearchOffsetResponseHeader { offset }.to_ext())))
}

/// GET_EARLIEST_MSG_STORETIME.
pub fn earliest_time(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = GetEarliestMsgStoretimeRequestHeader::from_command(request)?;
    let timestamp = state.store.earliest_message_time(&h.topic, h.queue_id)?.unwrap_or(-1);
    Ok(Some(
        success().with_ext_fields(GetEarliestMsgStoretimeResponseHeader { timestamp }.to_ext()),
    ))
}
