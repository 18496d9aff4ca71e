//! Reading a few messages of a topic for a person to look at: PULL_MESSAGE from each queue
//! as the tools group, from a queue offset or a store time, without committing an offset
//! (what `mqadmin consumeMessage` does).

use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::headers::{
    CommandHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, PullMessageRequestHeader,
    PullMessageResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::lookup::decode_messages;
use super::{select_addr, Admin, TOOLS_CONSUMER_GROUP};
use crate::error::{ClientError, Result};
use crate::message::MessageExt;
use crate::route::TopicRoute;

/// Messages asked for in one pull.
const PULL_BATCH: i64 = 32;

/// Which messages [`Admin::peek_messages`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeekOptions {
    /// Only this broker group's queues.
    pub broker_name: Option<String>,
    /// Only this queue id.
    pub queue_id: Option<i32>,
    /// Start at this queue offset (else at `begin_timestamp`, else at the first message).
    pub offset: Option<i64>,
    /// Start at the first message stored at or after this time (ms).
    pub begin_timestamp: Option<i64>,
    /// Stop before the first message stored at or after this time (ms).
    pub end_timestamp: Option<i64>,
    /// Read at most this many messages over all queues.
    pub max_messages: usize,
}

impl Default for PeekOptions {
    fn default() -> Self {
        PeekOptions {
            broker_name: None,
            queue_id: None,
            offset: None,
            begin_timestamp: None,
            end_timestamp: None,
            max_messages: 128,
        }
    }
}

impl Admin {
    /// Reads up to `options.max_messages` messages of `topic`, queue by queue in broker and
    /// queue order, without moving any group's offsets.
    pub async fn peek_messages(
        &self,
        topic: &str,
        options: &PeekOptions,
    ) -> Result<Vec<MessageExt>> {
        let route = TopicRoute::new(topic, self.topic_route(topic).await?);
        let mut queues: Vec<MessageQueue> = route
            .subscribe_queues
            .iter()
            .filter(|q| options.broker_name.as_ref().is_none_or(|b| &q.broker_name == b))
            .filter(|q| options.queue_id.is_none_or(|id| q.queue_id == id))
            .cloned()
            .collect();
        if queues.is_empty() {
            return Err(ClientError::InvalidArgument(format!(
                "{topic} has no readable queue matching the broker and queue given"
            )));
        }
        queues.sort();
        let mut messages = Vec::new();
        for queue in queues {
            let left = options.max_messages.saturating_sub(messages.len());
            if left == 0 {
                break;
            }
            let addr = route
                .data
                .broker_datas
                .iter()
                .find(|b| b.broker_name == queue.broker_name)
                .and_then(select_addr)
                .ok_or_else(|| ClientError::NoRoute {
                    topic: topic.to_string(),
                    reason: format!("broker {} has no address", queue.broker_name),
                })?
                .to_string();
            messages.extend(self.peek_queue(&addr, &queue, options, left).await?);
        }
        Ok(messages)
    }

    /// Up to `limit` messages of one queue within the options' range.
    async fn peek_queue(
        &self,
        addr: &str,
        queue: &MessageQueue,
        options: &PeekOptions,
        limit: usize,
    ) -> Result<Vec<MessageExt>> {
        let min = self.queue_offset(addr, queue, Bound::Min).await?;
        let max = self.queue_offset(addr, queue, Bound::Max).await?;
        let mut next = match (options.offset, options.begin_timestamp) {
            (Some(offset), _) => offset.max(min),
            (None, Some(time)) => self.queue_offset(addr, queue, Bound::Time(time)).await?,
            (None, None) => min,
        };
        let end = match options.end_timestamp {
            Some(time) => self.queue_offset(addr, queue, Bound::Time(time)).await?.min(max),
            None => max,
        };
        let mut found = Vec::new();
        while next < end && found.len() < limit {
            let want =
                (end - next).min(PULL_BATCH).min(i64::try_from(limit - found.len()).unwrap_or(1));
            let header = PullMessageRequestHeader::peek(
                TOOLS_CONSUMER_GROUP,
                &queue.topic,
                queue.queue_id,
                next,
                i32::try_from(want).unwrap_or(1),
            );
            let request = RemotingCommand::request(RequestCode::PULL_MESSAGE)
                .with_ext_fields(header.to_ext());
            let timeout = self.instance.config.mq_client_api_timeout;
            let response = self.instance.call(addr, request, timeout).await?;
            let code = response.response_code();
            let moved_to = PullMessageResponseHeader::from_command(&response)
                .map(|h| h.next_begin_offset)
                .unwrap_or(next);
            match code {
                ResponseCode::SUCCESS => {
                    let batch = decode_messages(response.body, &queue.broker_name)?;
                    found.extend(batch.into_iter().filter(|m| m.queue_offset < end));
                }
                ResponseCode::PULL_NOT_FOUND => break,
                ResponseCode::PULL_OFFSET_MOVED | ResponseCode::PULL_RETRY_IMMEDIATELY => {}
                code => {
                    return Err(ClientError::Refused {
                        addr: addr.to_string(),
                        code,
                        remark: response.remark.unwrap_or_default(),
                    })
                }
            }
            if moved_to <= next {
                break;
            }
            next = moved_to;
        }
        found.truncate(limit);
        Ok(found)
    }

    /// A queue's first or next offset, or the first offset stored at or after a time.
    async fn queue_offset(&self, addr: &str, queue: &MessageQueue, bound: Bound) -> Result<i64> {
        let (topic, queue_id) = (queue.topic.clone(), queue.queue_id);
        let request = match bound {
            Bound::Min => RemotingCommand::request(RequestCode::GET_MIN_OFFSET)
                .with_ext_fields(GetMinOffsetRequestHeader { topic, queue_id }.to_ext()),
            Bound::Max => RemotingCommand::request(RequestCode::GET_MAX_OFFSET).with_ext_fields(
                GetMaxOffsetRequestHeader { topic, queue_id, committed: true }.to_ext(),
            ),
            Bound::Time(timestamp) => {
                let header =
                    SearchOffsetRequestHeader { topic, queue_id, timestamp, boundary_type: None };
                RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP)
                    .with_ext_fields(header.to_ext())
            }
        };
        let response = self.call_broker(addr, request).await?;
        Ok(match bound {
            Bound::Min => GetMinOffsetResponseHeader::from_command(&response)?.offset,
            Bound::Max => GetMaxOffsetResponseHeader::from_command(&response)?.offset,
            Bound::Time(_) => SearchOffsetResponseHeader::from_command(&response)?.offset,
        })
    }
}

/// Which offset of a queue [`Admin::queue_offset`] asks for.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Min,
    Max,
    Time(i64),
}
