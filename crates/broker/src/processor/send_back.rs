//! CONSUMER_SEND_MSG_BACK: a consumer whose listener failed returns the message by its
//! commit-log offset. The broker stores a copy, reconsumed once more, in the group's retry
//! topic after a delay (through the schedule topic), or in its dead-letter topic once it
//! has failed too often (RocketMQ's `consumerSendMsgBack`).
//!
//! | the broker finds | answer |
//! |---|---|
//! | the group missing and not auto-created | `SUBSCRIPTION_GROUP_NOT_EXIST` |
//! | itself not writeable, or the retry topic not writeable | `NO_PERMISSION` |
//! | the group's `retryQueueNums` ≤ 0 | `SUCCESS`, nothing stored |
//! | no message at the offset | `SYSTEM_ERROR` "look message by offset failed, …" |
//! | the store refuses the copy | `SYSTEM_ERROR` with the reason |

use ferromq_protocol::headers::{CommandHeader, ConsumerSendMsgBackRequestHeader};
use ferromq_protocol::message::{property, StoredMessage};
use ferromq_protocol::{perm, RemotingCommand, ResponseCode};
use ferromq_store::meta::topics::DLQ_QUEUE_NUMS;

use super::{success, Reply};
use crate::error::BrokerError;
use crate::retry::{self, SendBackRoute};
use crate::schedule::message::to_schedule_topic;
use crate::state::BrokerState;

/// Handles one send-back.
pub fn send_back(state: &BrokerState, request: &RemotingCommand) -> Reply {
    let header = ConsumerSendMsgBackRequestHeader::from_command(request)?;
    let group = retry::find_group(state, &header.group)?;
    let settings = state.config.get();
    if !settings.writeable() {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{}] sending message is forbidden", settings.broker_ip1),
        ));
    }
    if group.retry_queue_nums <= 0 {
        return Ok(Some(success()));
    }
    let retry_topic =
        retry::ensure_retry_topic(state, &header.group, group.retry_queue_nums, header.unit_mode)?;
    if !perm::is_writeable(retry_topic.perm) {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", retry_topic.topic_name),
        ));
    }
    let original = look_up(state, header.offset)?;
    let max = retry::max_reconsume_times(&group, request.version, header.max_reconsume_times);
    let route = retry::send_back_route(original.reconsume_times, max, header.delay_level);
    let (topic, queue_id, delay_level) = match route {
        SendBackRoute::Retry { delay_level } => {
            (retry_topic.topic_name, retry::random_queue(group.retry_queue_nums), delay_level)
        }
        SendBackRoute::DeadLetter => {
            let dlq = retry::ensure_dlq_topic(state, &header.group)?;
            (dlq.topic_name, retry::random_queue(DLQ_QUEUE_NUMS), 0)
        }
    };
    let mut msg = copy_for_retry(original, topic, queue_id, delay_level, state.store_host);
    to_schedule_topic(&mut msg, state.schedule.levels());
    let put = state
        .store
        .put(&msg)
        .map_err(|e| BrokerError::refused(ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    state.stats.record_put(&msg.topic, 1);
    if route == SendBackRoute::DeadLetter {
        tracing::info!(
            group = %header.group,
            origin_topic = header.origin_topic.as_deref().unwrap_or_default(),
            uniq_key = msg.properties.get(property::UNIQ_KEY).unwrap_or_default(),
            store_timestamp = put.appended.first().map(|a| a.store_timestamp).unwrap_or(0),
            "message sent to the dead-letter queue"
        );
    }
    Ok(Some(success()))
}

/// The message stored at commit-log `offset`.
fn look_up(state: &BrokerState, offset: i64) -> Result<StoredMessage, BrokerError> {
    let not_found = || {
        BrokerError::refused(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {offset}"),
        )
    };
    let mut record = state.store.message_at(offset).ok_or_else(not_found)?;
    StoredMessage::decode(&mut record).map_err(|_| not_found())
}

/// The copy a send-back stores: body, flag, sys flag, born time and host and properties of
/// the original; `RETRY_TOPIC` set to the original topic unless it is already a retry;
/// `ORIGIN_MESSAGE_ID` kept, or set to the original's offset message id; `WAIT=false`;
/// `DELAY` the retry level (0 for the dead-letter queue); reconsumed once more; stored by
/// this broker.
pub fn copy_for_retry(
    original: StoredMessage,
    topic: String,
    queue_id: i32,
    delay_level: i32,
    store_host: std::net::SocketAddr,
) -> StoredMessage {
    let origin_msg_id = original.offset_msg_id().encode();
    let mut properties = original.properties;
    if properties.get(property::RETRY_TOPIC).is_none() {
        properties.insert(property::RETRY_TOPIC, original.topic.as_str());
    }
    properties.insert(property::WAIT, "false");
    properties.insert(property::DELAY, delay_level.to_string());
    if properties.get(property::ORIGIN_MESSAGE_ID).is_none_or(|id| id.trim().is_empty()) {
        properties.insert(property::ORIGIN_MESSAGE_ID, origin_msg_id);
    }
    StoredMessage {
        topic,
        queue_id,
        flag: original.flag,
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: original.born_host,
        store_host,
        reconsume_times: original.reconsume_times.saturating_add(1),
        body: original.body,
        properties,
        ..StoredMessage::default()
    }
}

#[cfg(test)]
mod tests {
    use ferromq_protocol::message::{sys_flag, OffsetMsgId, Properties};
    use ferromq_protocol::topic::{dlq_topic, retry_topic};

    use super::*;

    fn original() -> StoredMessage {
        let mut properties = Properties::new();
        properties.insert(property::KEYS, "k1");
        properties.insert(property::TAGS, "TagA");
        properties.insert(property::UNIQ_KEY, "U1");
        StoredMessage {
            topic: "TopicTest".into(),
            queue_id: 2,
            flag: 9,
            sys_flag: sys_flag::COMPRESSED_FLAG,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.1.1.1:40000".parse().unwrap(),
            store_host: "10.2.2.2:10911".parse().unwrap(),
            physical_offset: 4096,
            reconsume_times: 1,
            body: "hello".into(),
            properties,
            ..StoredMessage::default()
        }
    }

    #[test]
    fn first_retry_copy() {
        let here = "127.0.0.1:10911".parse().unwrap();
        let copy = copy_for_retry(original(), retry_topic("cg"), 0, 4, here);
        assert_eq!((copy.topic.as_str(), copy.queue_id), ("%RETRY%cg", 0));
        assert_eq!(
            (copy.flag, copy.sys_flag, copy.reconsume_times),
            (9, sys_flag::COMPRESSED_FLAG, 2)
        );
        assert_eq!(copy.born_host, original().born_host);
        assert_eq!(copy.born_timestamp, original().born_timestamp);
        assert_eq!(copy.store_host, here);
        assert_eq!(&copy.body[..], b"hello");
        let p = &copy.properties;
        assert_eq!(p.get(property::RETRY_TOPIC), Some("TopicTest"));
        assert_eq!(p.get(property::WAIT), Some("false"));
        assert_eq!(p.get(property::DELAY), Some("4"));
        assert_eq!((p.get(property::KEYS), p.get(property::UNIQ_KEY)), (Some("k1"), Some("U1")));
        let origin = OffsetMsgId::decode(p.get(property::ORIGIN_MESSAGE_ID).unwrap()).unwrap();
        assert_eq!(origin.commit_log_offset, 4096);
        assert_eq!(origin.store_host, original().store_host);
    }

    #[test]
    fn a_retried_message_keeps_its_first_topic_and_id() {
        let mut again = original();
        again.topic = retry_topic("cg");
        again.properties.insert(property::RETRY_TOPIC, "TopicTest");
        again.properties.insert(property::ORIGIN_MESSAGE_ID, "FIRST");
        let here = "127.0.0.1:10911".parse().unwrap();
        let copy = copy_for_retry(again, dlq_topic("cg"), 0, 0, here);
        assert_eq!(copy.topic, "%DLQ%cg");
        assert_eq!(copy.properties.get(property::RETRY_TOPIC), Some("TopicTest"));
        assert_eq!(copy.properties.get(property::ORIGIN_MESSAGE_ID), Some("FIRST"));
        assert_eq!(copy.properties.get(property::DELAY), Some("0"));
        // A blank id is replaced.
        let mut blank = original();
        blank.properties.insert(property::ORIGIN_MESSAGE_ID, " ");
        let copy = copy_for_retry(blank, retry_topic("cg"), 0, 3, here);
        assert_ne!(copy.properties.get(property::ORIGIN_MESSAGE_ID), Some(" "));
    }
}
