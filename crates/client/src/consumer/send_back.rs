//! Giving a failed message back for later delivery. First CONSUMER_SEND_MSG_BACK to the
//! broker that stored it (which re-stores it in `%RETRY%<group>` after a delay, or in the
//! dead-letter queue past `maxReconsumeTimes`); if that fails, the message is sent as a new
//! message to `%RETRY%<group>` carrying its reconsume counts (`sendMessageBackAsNormalMessage`).

use ferromq_protocol::headers::ConsumerSendMsgBackRequestHeader;
use ferromq_protocol::message::property;
use ferromq_protocol::{topic, ResponseCode};

use super::calls;
use super::group::GroupMember;
use crate::error::Result;
use crate::message::{Message, MessageExt};

/// The highest delay level brokers know (2 h).
const MAX_DELAY_LEVEL: i32 = 18;

/// Sends `message` back for a later delivery (concurrent listeners after ReconsumeLater).
pub async fn send_back(member: &GroupMember, message: &MessageExt) -> Result<()> {
    let max = member.config.max_reconsume_concurrently();
    let header = ConsumerSendMsgBackRequestHeader {
        offset: message.commit_log_offset,
        group: member.group().to_string(),
        // Zero lets the broker choose: 3 + the message's reconsume count.
        delay_level: 0,
        origin_msg_id: Some(message.msg_id().to_string()),
        origin_topic: Some(message.topic().to_string()),
        unit_mode: false,
        max_reconsume_times: Some(max),
    };
    let sent_back = match calls::master_of(&member.instance, &message.queue()).await {
        Ok(addr) => calls::send_back(&member.instance, &addr, header, &message.broker_name).await,
        Err(e) => Err(e),
    };
    match sent_back {
        Ok(()) => Ok(()),
        Err(e) => {
            tracing::debug!(msg_id = message.msg_id(), error = %e, "send-back failed; re-sending to the retry topic");
            resend_to_retry_topic(member, message, max).await
        }
    }
}

/// The message re-sent to `%RETRY%<group>`: same body, flag and properties, its original
/// id and topic recorded, its reconsume count raised, and the delay level RocketMQ uses.
pub fn retry_message(
    group: &str,
    message: &MessageExt,
    max_reconsume: i32,
    delay: bool,
) -> Message {
    let mut properties = message.message.properties.clone();
    if properties.get(property::ORIGIN_MESSAGE_ID).is_none_or(str::is_empty) {
        properties.insert(property::ORIGIN_MESSAGE_ID, message.msg_id().to_string());
    }
    properties.insert(property::RETRY_TOPIC, message.topic().to_string());
    properties.insert(property::RECONSUME_TIME, (message.reconsume_times + 1).to_string());
    properties.insert(property::MAX_RECONSUME_TIMES, max_reconsume.to_string());
    properties.remove(property::TRANSACTION_PREPARED);
    properties.remove(property::DELAY);
    if delay {
        let level = message.reconsume_times.saturating_add(3).min(MAX_DELAY_LEVEL);
        properties.insert(property::DELAY, level.to_string());
    }
    Message {
        topic: topic::retry_topic(group),
        body: message.message.body.clone(),
        flag: message.message.flag,
        properties,
    }
}

/// Sends `message` to the group's retry topic. A broker without delay levels refuses the
/// delayed form (MESSAGE_ILLEGAL); the message then goes without a delay rather than not at
/// all. Past `max_reconsume` the broker moves it to the dead-letter queue.
pub async fn resend_to_retry_topic(
    member: &GroupMember,
    message: &MessageExt,
    max_reconsume: i32,
) -> Result<()> {
    let producer = &member.retry_producer;
    let delayed = retry_message(member.group(), message, max_reconsume, true);
    match producer.send(delayed).await {
        Ok(_) => Ok(()),
        Err(e) if e.response_code() == Some(ResponseCode::MESSAGE_ILLEGAL) => {
            tracing::debug!(error = %e, "delayed retry refused; sending it without a delay");
            let plain = retry_message(member.group(), message, max_reconsume, false);
            producer.send(plain).await.map(drop)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn the_retry_message_carries_what_the_broker_needs() {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let mut original = Message::new("Orders", "body").with_tags("TagA");
        original.properties.insert(property::UNIQ_KEY, "UNIQ1");
        original.properties.insert(property::TRANSACTION_PREPARED, "true");
        let message = MessageExt {
            message: original,
            broker_name: "b".into(),
            queue_id: 1,
            queue_offset: 5,
            commit_log_offset: 500,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 2,
            body_crc: 0,
            offset_msg_id: "OFFSETID".into(),
        };
        let retry = retry_message("cg", &message, 16, true);
        assert_eq!(retry.topic, "%RETRY%cg");
        assert_eq!(retry.body, message.message.body);
        let p = |name| retry.property(name);
        assert_eq!(p(property::RETRY_TOPIC), Some("Orders"));
        assert_eq!(p(property::ORIGIN_MESSAGE_ID), Some("UNIQ1"));
        assert_eq!(p(property::RECONSUME_TIME), Some("3"));
        assert_eq!(p(property::MAX_RECONSUME_TIMES), Some("16"));
        assert_eq!(p(property::DELAY), Some("5"), "3 + reconsume times");
        assert_eq!(p(property::TRANSACTION_PREPARED), None);
        assert_eq!(p(property::TAGS), Some("TagA"));
        assert_eq!(p(property::UNIQ_KEY), Some("UNIQ1"), "same id as the original");
        let plain = retry_message("cg", &message, 16, false);
        assert_eq!(plain.property(property::DELAY), None);
        let mut late = message.clone();
        late.reconsume_times = 30;
        assert_eq!(retry_message("cg", &late, 16, true).property(property::DELAY), Some("18"));
    }
}
