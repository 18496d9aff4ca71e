//! Order locks: LOCK_BATCH_MQ and UNLOCK_BATCH_MQ.

use ferromq_protocol::body::{LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody};
use ferromq_protocol::RemotingCommand;

use super::{success, Reply};
use crate::state::BrokerState;

/// LOCK_BATCH_MQ: locks what is free (or already the client's); answers with what it holds.
pub fn lock(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let body = LockBatchRequestBody::from_json(&request.body)?;
    let locked = state.locks.lock(&body.consumer_group, &body.client_id, &body.mq_set);
    let response = LockBatchResponseBody { lock_ok_mq_set: locked }.to_json();
    Ok(Some(success().with_body(response)))
}

/// UNLOCK_BATCH_MQ (may be one-way).
pub fn unlock(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let body = UnlockBatchRequestBody::from_json(&request.body)?;
    state.locks.unlock(&body.consumer_group, &body.client_id, &body.mq_set);
    Ok(Some(success()))
}
