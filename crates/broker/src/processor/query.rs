//! Lookups: QUERY_MESSAGE (by key, or by unique id with `_UNIQUE_KEY_QUERY`) and
//! VIEW_MESSAGE_BY_ID (by commit-log offset, from an offset message id).

use bytes::BytesMut;
use ferromq_protocol::headers::{
    CommandHeader, QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use ferromq_protocol::{RemotingCommand, ResponseCode};

use super::{success, Reply};
use crate::error::BrokerError;
use crate::state::BrokerState;

/// Messages returned for a unique-id query (`defaultQueryMaxNum`).
const UNIQUE_QUERY_MAX: i32 = 32;

/// QUERY_MESSAGE.
pub fn query_message(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = QueryMessageRequestHeader::from_command(request)?;
    let max = if h.unique_key_query == Some(true) { UNIQUE_QUERY_MAX } else { h.max_num };
    let max = usize::try_from(max.clamp(1, 64)).unwrap_or(1);
    let found =
        state.store.query_by_key(&h.topic, &h.key, max, h.begin_timestamp, h.end_timestamp)?;
    if found.messages.is_empty() {
        return Err(BrokerError::refused(
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: found.index_last_update_timestamp,
        index_last_update_phyoffset: found.index_last_update_commit_log_offset,
    };
    let mut body = BytesMut::new();
    for message in &found.messages {
        body.extend_from_slice(message);
    }
    Ok(Some(success().with_ext_fields(header.to_ext()).with_body(body.freeze())))
}

/// VIEW_MESSAGE_BY_ID: the record at a commit-log offset.
pub fn view_message(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let h = ViewMessageRequestHeader::from_command(request)?;
    match state.store.message_at(h.offset) {
        Some(record) => Ok(Some(success().with_body(record))),
        None => Err(BrokerError::refused(
            ResponseCode::SYSTEM_ERROR,
            format!("can not find message by the offset, {}", h.offset),
        )),
    }
}
