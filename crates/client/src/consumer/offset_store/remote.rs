//! The clustering offset store (`RemoteBrokerOffsetStore`): offsets are read from and
//! committed to the master of the queue's broker (QUERY_CONSUMER_OFFSET,
//! UPDATE_CONSUMER_OFFSET).

use std::sync::Arc;

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::headers::{
    CommandHeader, QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::OffsetTable;
use crate::consumer::calls::master_of;
use crate::consumer::start_offset::StoredOffset;
use crate::error::Result;
use crate::instance::{expect_success, Instance};

/// A group's offsets, kept on the brokers.
#[derive(Debug)]
pub struct RemoteOffsetStore {
    instance: Arc<Instance>,
    group: String,
    pub(super) table: OffsetTable,
}

impl RemoteOffsetStore {
    pub fn new(instance: Arc<Instance>, group: &str) -> RemoteOffsetStore {
        RemoteOffsetStore { instance, group: group.to_string(), table: OffsetTable::default() }
    }

    /// The group's committed offset of `queue`; `NotFound` when the broker has none.
    pub async fn query(&self, queue: &MessageQueue) -> Result<StoredOffset> {
        let addr = master_of(&self.instance, queue).await?;
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            // Unset, as Java leaves it: the broker then answers 0 for a queue that still
            // starts at 0, which is RocketMQ's behaviour for new groups.
            set_zero_if_not_found: None,
        };
        let request = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET)
            .with_ext_fields(header.to_ext());
        let timeout = self.instance.config.mq_client_api_timeout;
        let response = self.instance.call(&addr, request, timeout).await?;
        if response.response_code() == ResponseCode::QUERY_NOT_FOUND {
            return Ok(StoredOffset::NotFound);
        }
        let response = expect_success(&addr, response)?;
        let header = QueryConsumerOffsetResponseHeader::from_command(&response)?;
        Ok(StoredOffset::Found(header.offset))
    }

    /// Commits `offset` for `queue`, one-way or waiting for the broker's answer.
    pub async fn commit(&self, queue: &MessageQueue, offset: i64, oneway: bool) -> Result<()> {
        let addr = master_of(&self.instance, queue).await?;
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: self.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            commit_offset: offset,
        };
        let request = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET)
            .with_ext_fields(header.to_ext());
        if oneway {
            return self.instance.call_oneway(&addr, request).await;
        }
        let timeout = self.instance.config.mq_client_api_timeout;
        self.instance.call_ok(&addr, request, timeout).await.map(drop)
    }
}
