//! Message lookups: by offset message id (VIEW_MESSAGE_BY_ID, sent to the broker whose
//! address the id carries), by unique id (QUERY_MESSAGE with `_UNIQUE_KEY_QUERY`) and by key
//! (QUERY_MESSAGE to every broker serving the topic).

use bytes::Bytes;
use ferromq_protocol::headers::{
    CommandHeader, QueryMessageRequestHeader, ViewMessageRequestHeader,
};
use ferromq_protocol::message::{decompress_body, OffsetMsgId, StoredMessage};
use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{refused_with, Admin};
use crate::error::{ClientError, Result};
use crate::message::MessageExt;

/// Messages a unique-id query asks for (`defaultQueryMaxNum`; ids may share a hash slot).
const UNIQUE_QUERY_MAX: i32 = 32;
/// Largest body a lookup inflates.
const MAX_INFLATED_BODY: usize = 64 << 20;

impl Admin {
    /// The message an offset message id points at, read from the broker named in the id.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let id = OffsetMsgId::decode(offset_msg_id).map_err(|e| {
            ClientError::InvalidArgument(format!(
                "{offset_msg_id} is not an offset message id: {e}"
            ))
        })?;
        let addr = id.store_host.to_string();
        let header = ViewMessageRequestHeader { topic: None, offset: id.commit_log_offset };
        let request = RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID)
            .with_ext_fields(header.to_ext());
        let response = match self.call_broker(&addr, request).await {
            Ok(response) => response,
            Err(e) if refused_with(&e, ResponseCode::SYSTEM_ERROR) => {
                return Err(ClientError::MessageNotFound(format!(
                    "{addr} has no message at commit-log offset {}",
                    id.commit_log_offset
                )))
            }
            Err(e) => return Err(e),
        };
        // The id names an address; the broker group's name comes from the cluster table.
        let broker_name = match self.cluster_info().await {
            Ok(info) => info
                .broker_addr_table
                .values()
                .find(|b| b.broker_addrs.values().any(|a| *a == addr))
                .map(|b| b.broker_name.clone())
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        decode_messages(response.body, &broker_name)?.into_iter().next().ok_or_else(|| {
            ClientError::MessageNotFound(format!("{addr} answered without a message"))
        })
    }

    /// The messages of `topic` whose producer-assigned unique id (`UNIQ_KEY`) is `id`.
    pub async fn query_message_by_unique_key(
        &self,
        topic: &str,
        id: &str,
    ) -> Result<Vec<MessageExt>> {
        let found = self.query(topic, id, UNIQUE_QUERY_MAX, 0, i64::MAX, true).await?;
        let found: Vec<MessageExt> = found.into_iter().filter(|m| m.msg_id() == id).collect();
        if found.is_empty() {
            return Err(ClientError::MessageNotFound(format!("no message of {topic} has id {id}")));
        }
        Ok(found)
    }

    /// The message with id `id` in `topic`: as an offset message id first (as Java's
    /// `queryMsgById` does), then as a unique id.
    pub async fn query_message_by_id(&self, topic: &str, id: &str) -> Result<MessageExt> {
        if OffsetMsgId::decode(id).is_ok() {
            match self.view_message(id).await {
                Ok(message) => return Ok(message),
                Err(e) => tracing::debug!(%id, error = %e, "not an offset id; trying unique id"),
            }
        }
        let mut found = self.query_message_by_unique_key(topic, id).await?;
        Ok(found.remove(0))
    }

    /// The messages of `topic` with key `key` stored between `begin` and `end` (ms), at most
    /// `max_num` from each broker.
    pub async fn query_message_by_key(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
    ) -> Result<Vec<MessageExt>> {
        let found = self.query(topic, key, max_num, begin, end, false).await?;
        let found: Vec<MessageExt> = found
            .into_iter()
            .filter(|m| m.topic() == topic && m.keys().any(|k| k == key))
            .collect();
        if found.is_empty() {
            return Err(ClientError::MessageNotFound(format!(
                "no message of {topic} has key {key}"
            )));
        }
        Ok(found)
    }

    /// QUERY_MESSAGE to every broker serving `topic`; brokers that find nothing add nothing.
    async fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let header = QueryMessageRequestHeader {
            topic: topic.to_string(),
            key: key.to_string(),
            max_num,
            begin_timestamp: begin,
            end_timestamp: end,
            unique_key_query: unique.then_some(true),
        };
        let mut found = Vec::new();
        for (broker_name, addr) in self.topic_brokers(topic).await? {
            let request = RemotingCommand::request(RequestCode::QUERY_MESSAGE)
                .with_ext_fields(header.to_ext());
            match self.call_broker(&addr, request).await {
                Ok(response) => found.extend(decode_messages(response.body, &broker_name)?),
                Err(e) if refused_with(&e, ResponseCode::QUERY_NOT_FOUND) => {}
                Err(e) => return Err(e),
            }
        }
        found.sort_by(|a, b| {
            (&a.broker_name, a.queue_id, a.queue_offset).cmp(&(
                &b.broker_name,
                b.queue_id,
                b.queue_offset,
            ))
        });
        Ok(found)
    }
}

/// The records of a pull or query body, with compressed bodies inflated.
pub(super) fn decode_messages(body: Bytes, broker_name: &str) -> Result<Vec<MessageExt>> {
    let mut messages = Vec::new();
    for mut stored in StoredMessage::decode_all(body)? {
        let (sys_flag, body) = decompress_body(stored.sys_flag, stored.body, MAX_INFLATED_BODY)?;
        stored.sys_flag = sys_flag;
        stored.body = body;
        messages.push(MessageExt::from_stored(stored, broker_name));
    }
    Ok(messages)
}
