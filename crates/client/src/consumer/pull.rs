//! One PULL_MESSAGE exchange as data: the request a push consumer sends (RocketMQ's
//! `PullAPIWrapper.pullKernelImpl`) and the answer turned into a [`PullResult`] — records
//! decoded, bodies inflated, tags filtered again on the client, retry messages given back
//! their original topic (`processPullResult`, `resetRetryAndNamespace`).

use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::body::{MessageQueue, SubscriptionData};
use ferromq_protocol::headers::{
    CommandHeader, PullMessageRequestHeader, PullMessageResponseHeader, PullSysFlag,
};
use ferromq_protocol::message::{decompress_body, property, StoredMessage};
use ferromq_protocol::{topic, RemotingCommand, RequestCode, ResponseCode};

use crate::error::{ClientError, Result};
use crate::message::MessageExt;

/// How long the broker may hold a pull that finds nothing (`BROKER_SUSPEND_MAX_TIME_MILLIS`).
pub const BROKER_SUSPEND_MAX: Duration = Duration::from_secs(15);
/// How long the client waits for a held pull (`CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`).
pub const CONSUMER_TIMEOUT_WHEN_SUSPEND: Duration = Duration::from_secs(30);
/// Largest body accepted after decompression.
const MAX_INFLATED_BODY: usize = 128 << 20;

/// What one pull asks for.
#[derive(Debug, Clone)]
pub struct PullSpec<'a> {
    pub group: &'a str,
    pub queue: &'a MessageQueue,
    pub offset: i64,
    pub max_nums: i32,
    /// The offset to commit with this pull (clustering, when above zero).
    pub commit_offset: Option<i64>,
    pub subscription: &'a SubscriptionData,
}

impl PullSpec<'_> {
    /// The sys flag Java's push consumer sets: commit offset when it has one, suspend
    /// always, and no subscription in the request (the broker uses the one registered by
    /// heartbeat, as `postSubscriptionWhenPull` is off by default).
    pub fn sys_flag(&self) -> i32 {
        let commit = if self.commit_offset.is_some() { PullSysFlag::COMMIT_OFFSET } else { 0 };
        commit | PullSysFlag::SUSPEND
    }

    /// The PULL_MESSAGE request.
    pub fn request(&self) -> RemotingCommand {
        let header = PullMessageRequestHeader {
            consumer_group: self.group.to_string(),
            topic: self.queue.topic.clone(),
            queue_id: self.queue.queue_id,
            queue_offset: self.offset,
            max_msg_nums: self.max_nums,
            sys_flag: self.sys_flag(),
            commit_offset: self.commit_offset.unwrap_or(0),
            suspend_timeout_millis: BROKER_SUSPEND_MAX.as_millis() as i64,
            subscription: None,
            sub_version: self.subscription.sub_version,
            expression_type: Some(self.subscription.expression_type.clone()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
        };
        let mut ext = header.to_ext();
        ext.insert("bname", self.queue.broker_name.clone());
        RemotingCommand::request(RequestCode::PULL_MESSAGE).with_ext_fields(ext)
    }
}

/// How a pull ended (`PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were found (some may have been filtered out on the client).
    Found,
    /// Nothing new at this offset.
    NoNewMsg,
    /// Messages exist but none matched the subscription.
    NoMatchedMsg,
    /// The offset is outside the queue; move to `next_begin_offset`.
    OffsetIllegal,
}

/// The answer to one pull.
#[derive(Debug, Clone)]
pub struct PullResult {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub messages: Vec<MessageExt>,
}

/// Turns the broker's answer into a [`PullResult`]; codes other than the four pull outcomes
/// are errors.
pub fn parse(
    addr: &str,
    queue: &MessageQueue,
    group: &str,
    subscription: &SubscriptionData,
    response: RemotingCommand,
) -> Result<PullResult> {
    let status = match response.response_code() {
        ResponseCode::SUCCESS => PullStatus::Found,
        ResponseCode::PULL_NOT_FOUND => PullStatus::NoNewMsg,
        ResponseCode::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
        ResponseCode::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
        code => {
            return Err(ClientError::Refused {
                addr: addr.to_string(),
                code,
                remark: response.remark.unwrap_or_default(),
            })
        }
    };
    let header = PullMessageResponseHeader::from_command(&response)?;
    let messages = if status == PullStatus::Found {
        decode(response.body, queue, group, subscription, &header)?
    } else {
        Vec::new()
    };
    Ok(PullResult { status, next_begin_offset: header.next_begin_offset, messages })
}

/// Decodes a FOUND body into messages of `queue`, keeping those the subscription's tags
/// match.
fn decode(
    body: Bytes,
    queue: &MessageQueue,
    group: &str,
    subscription: &SubscriptionData,
    header: &PullMessageResponseHeader,
) -> Result<Vec<MessageExt>> {
    let retry_topic = topic::retry_topic(group);
    let mut messages = Vec::new();
    for mut stored in StoredMessage::decode_all(body)? {
        let tags = stored.properties.tags();
        if !subscription.tags_set.is_empty()
            && !subscription.class_filter_mode
            && !tags.is_some_and(|t| subscription.tags_set.contains(t))
        {
            continue;
        }
        let (sys_flag, plain) = decompress_body(stored.sys_flag, stored.body, MAX_INFLATED_BODY)?;
        stored.sys_flag = sys_flag;
        stored.body = plain;
        stored.properties.insert(property::MIN_OFFSET, header.min_offset.to_string());
        stored.properties.insert(property::MAX_OFFSET, header.max_offset.to_string());
        let mut message = MessageExt::from_stored(stored, &queue.broker_name);
        message.queue_id = queue.queue_id;
        if let Some(delta) = header.offset_delta {
            message.queue_offset += delta;
        }
        if message.message.topic == retry_topic {
            if let Some(original) = message.property(property::RETRY_TOPIC).map(String::from) {
                message.message.topic = original;
            }
        }
        messages.push(message);
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use ferromq_protocol::message::{compress, CompressionType, Properties};

    fn record(
        topic: &str,
        offset: i64,
        tags: Option<&str>,
        body: &[u8],
        sys_flag: i32,
    ) -> StoredMessage {
        let mut properties = Properties::new();
        if let Some(tags) = tags {
            properties.insert(property::TAGS, tags);
        }
        let host = "127.0.0.1:10911".parse().unwrap();
        StoredMessage {
            store_size: 0,
            version: ferromq_protocol::message::MessageVersion::V1,
            body_crc: 0,
            queue_id: 3,
            flag: 0,
            queue_offset: offset,
            physical_offset: offset * 1000,
            sys_flag,
            born_timestamp: 1,
            born_host: host,
            store_timestamp: 2,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::copy_from_slice(body),
            topic: topic.to_string(),
            properties,
        }
    }

    fn response(code: ResponseCode, records: &[StoredMessage]) -> RemotingCommand {
        let mut body = BytesMut::new();
        for r in records {
            r.encode(&mut body).unwrap();
        }
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 13,
            min_offset: 0,
            max_offset: 20,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        };
        RemotingCommand::response(code).with_ext_fields(header.to_ext()).with_body(body.freeze())
    }

    #[test]
    fn the_request_carries_javas_flags() {
        let queue = MessageQueue::new("T", "broker-a", 2);
        let subscription = SubscriptionData::new("T", "TagA");
        let spec = PullSpec {
            group: "g",
            queue: &queue,
            offset: 5,
            max_nums: 32,
            commit_offset: Some(4),
            subscription: &subscription,
        };
        let request = spec.request();
        let header = PullMessageRequestHeader::from_command(&request).unwrap();
        assert_eq!(header.sys_flag, PullSysFlag::COMMIT_OFFSET | PullSysFlag::SUSPEND);
        assert_eq!((header.queue_offset, header.commit_offset), (5, 4));
        assert_eq!(header.suspend_timeout_millis, 15_000);
        assert_eq!(header.subscription, None);
        assert_eq!(header.sub_version, subscription.sub_version);
        assert_eq!(request.ext_fields.get("bname"), Some("broker-a"));
        let no_commit = PullSpec { commit_offset: None, ..spec };
        assert_eq!(no_commit.sys_flag(), PullSysFlag::SUSPEND);
    }

    #[test]
    fn found_messages_are_decoded_inflated_and_filtered() {
        let queue = MessageQueue::new("T", "broker-a", 3);
        let subscription = SubscriptionData::new("T", "TagA || TagB");
        let big = vec![b'z'; 10_000];
        let zipped = compress(&big, CompressionType::Zlib).unwrap();
        let records = [
            record("T", 10, Some("TagA"), b"a", 0),
            record("T", 11, Some("TagC"), b"c", 0),
            record("T", 12, None, b"none", 0),
            record("T", 13, Some("TagB"), &zipped, CompressionType::Zlib.sys_flag_bits()),
        ];
        let result =
            parse("b", &queue, "g", &subscription, response(ResponseCode::SUCCESS, &records))
                .unwrap();
        assert_eq!(result.status, PullStatus::Found);
        assert_eq!(result.next_begin_offset, 13);
        let offsets: Vec<i64> = result.messages.iter().map(|m| m.queue_offset).collect();
        assert_eq!(offsets, vec![10, 13], "TagC and untagged are filtered out");
        let inflated = &result.messages[1];
        assert_eq!(inflated.body().as_ref(), big.as_slice());
        assert_eq!(inflated.sys_flag & 0x1, 0, "no longer flagged compressed");
        assert_eq!(inflated.property(property::MAX_OFFSET), Some("20"));
        assert_eq!(inflated.broker_name, "broker-a");
    }

    #[test]
    fn retry_messages_get_their_topic_back() {
        let queue = MessageQueue::new("%RETRY%g", "broker-a", 0);
        let mut retried = record("%RETRY%g", 0, Some("TagA"), b"x", 0);
        retried.properties.insert(property::RETRY_TOPIC, "Orders");
        let other_group = record("%RETRY%other", 1, None, b"y", 0);
        let all = SubscriptionData::new("%RETRY%g", "*");
        let response = response(ResponseCode::SUCCESS, &[retried, other_group]);
        let result = parse("b", &queue, "g", &all, response).unwrap();
        assert_eq!(result.messages[0].topic(), "Orders");
        assert_eq!(result.messages[1].topic(), "%RETRY%other");
    }

    #[test]
    fn other_outcomes_and_refusals() {
        let queue = MessageQueue::new("T", "b", 0);
        let all = SubscriptionData::new("T", "*");
        let status = |code| parse("b", &queue, "g", &all, response(code, &[])).map(|r| r.status);
        assert_eq!(status(ResponseCode::PULL_NOT_FOUND).unwrap(), PullStatus::NoNewMsg);
        assert_eq!(status(ResponseCode::PULL_RETRY_IMMEDIATELY).unwrap(), PullStatus::NoMatchedMsg);
        assert_eq!(status(ResponseCode::PULL_OFFSET_MOVED).unwrap(), PullStatus::OffsetIllegal);
        let refused = status(ResponseCode::SUBSCRIPTION_NOT_EXIST).unwrap_err();
        assert_eq!(refused.response_code(), Some(ResponseCode::SUBSCRIPTION_NOT_EXIST));
        let mut garbage = response(ResponseCode::SUCCESS, &[]);
        garbage.body = Bytes::from_static(b"\x00\x00\x00\x10junk");
        assert!(parse("b", &queue, "g", &all, garbage).is_err());
    }
}
