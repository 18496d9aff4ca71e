//! The two rewrites of a delayed message: into `SCHEDULE_TOPIC_XXXX` when it is stored
//! (RocketMQ's `transformDelayLevelMessage`), and back to its real topic and queue when it
//! is due (`messageTimeUp`).
//!
//! ```text
//! stored:  topic T, queue q, DELAY=n            →  SCHEDULE_TOPIC_XXXX, queue n−1,
//!                                                  DELAY=min(n, max), REAL_TOPIC=T, REAL_QID=q
//! due:     SCHEDULE_TOPIC_XXXX record           →  topic REAL_TOPIC, queue REAL_QID,
//!                                                  properties as stored (see below)
//! ```
//! On delivery a Java broker clears `DELAY` (and the timer properties) only from its
//! in-memory property map, after it has already serialized the properties it writes: the
//! delivered record carries the schedule record's properties unchanged, `DELAY`,
//! `REAL_TOPIC` and `REAL_QID` included, and RocketMQ consumers see them on every retried
//! or delayed message. FerroMQ writes the same bytes. The consume-queue tags code goes back
//! to the tag hash on its own: the dispatcher computes a deliver time only for records of
//! the schedule topic.

use ferromq_protocol::message::{property, Properties, StoredMessage, TransactionType};
use ferromq_protocol::topic;
use ferromq_store::delay_level::level_to_queue_id;
use ferromq_store::DelayLevels;

/// Properties of RocketMQ 5's arbitrary-time timer, dropped when a delay level is given.
const TIMER_PROPERTIES: [&str; 3] =
    [property::TIMER_DELIVER_MS, property::TIMER_DELAY_SEC, property::TIMER_DELAY_MS];

/// The delay level a message asks for (`DELAY`); 0 when absent or not a number.
pub fn delay_level(properties: &Properties) -> i32 {
    properties.get(property::DELAY).and_then(|d| d.trim().parse().ok()).unwrap_or(0)
}

/// Reroutes `msg` into the schedule topic if it asks for a delay (`DELAY` > 0) and is not a
/// transaction half or rollback record; a level above the highest is lowered to it. Returns
/// whether it did.
pub fn to_schedule_topic(msg: &mut StoredMessage, levels: &DelayLevels) -> bool {
    let tx = TransactionType::from_sys_flag(msg.sys_flag);
    if !matches!(tx, TransactionType::Not | TransactionType::Commit) {
        return false;
    }
    let asked = delay_level(&msg.properties);
    if asked <= 0 {
        return false;
    }
    for name in TIMER_PROPERTIES {
        msg.properties.remove(name);
    }
    let level = levels.clamp(asked);
    if level != asked {
        msg.properties.insert(property::DELAY, level.to_string());
    }
    let real_topic = std::mem::replace(&mut msg.topic, topic::SCHEDULE_TOPIC.to_owned());
    msg.properties.insert(property::REAL_TOPIC, real_topic);
    msg.properties.insert(property::REAL_QUEUE_ID, msg.queue_id.to_string());
    msg.queue_id = level_to_queue_id(level);
    true
}

/// Why a due schedule record cannot be delivered (it is skipped, as RocketMQ skips it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undeliverable {
    /// `REAL_TOPIC` is missing.
    NoRealTopic,
    /// `REAL_QID` is missing or not a queue id.
    BadRealQueue(Option<String>),
    /// The real topic is the transaction half topic (never a delay target).
    HalfTopic,
}

impl std::fmt::Display for Undeliverable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undeliverable::NoRealTopic => write!(f, "no REAL_TOPIC property"),
            Undeliverable::BadRealQueue(q) => write!(f, "bad REAL_QID property {q:?}"),
            Undeliverable::HalfTopic => write!(f, "the real topic is the transaction half topic"),
        }
    }
}

/// The message to put when schedule record `scheduled` is due: same body, flag, sys flag,
/// born time and host, store host, reconsume times and properties, in its real topic and
/// queue.
pub fn time_up(scheduled: StoredMessage) -> Result<StoredMessage, Undeliverable> {
    let real_topic =
        scheduled.properties.get(property::REAL_TOPIC).ok_or(Undeliverable::NoRealTopic)?;
    if real_topic == topic::TRANS_HALF_TOPIC {
        return Err(Undeliverable::HalfTopic);
    }
    let real_queue = scheduled.properties.get(property::REAL_QUEUE_ID);
    let queue_id = real_queue
        .and_then(|q| q.trim().parse::<i32>().ok())
        .filter(|q| *q >= 0)
        .ok_or_else(|| Undeliverable::BadRealQueue(real_queue.map(str::to_owned)))?;
    let topic = real_topic.to_owned();
    Ok(StoredMessage {
        topic,
        queue_id,
        flag: scheduled.flag,
        sys_flag: scheduled.sys_flag,
        born_timestamp: scheduled.born_timestamp,
        born_host: scheduled.born_host,
        store_host: scheduled.store_host,
        reconsume_times: scheduled.reconsume_times,
        body: scheduled.body,
        properties: scheduled.properties,
        ..StoredMessage::default()
    })
}

#[cfg(test)]
mod tests {
    use ferromq_protocol::message::sys_flag;

    use super::*;

    fn message(delay: Option<&str>) -> StoredMessage {
        let mut properties = Properties::new();
        properties.insert(property::TAGS, "TagA");
        properties.insert(property::UNIQ_KEY, "U1");
        if let Some(d) = delay {
            properties.insert(property::DELAY, d);
        }
        StoredMessage {
            topic: "T".into(),
            queue_id: 3,
            flag: 7,
            sys_flag: sys_flag::COMPRESSED_FLAG,
            born_timestamp: 11,
            born_host: "10.0.0.1:5000".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            reconsume_times: 2,
            body: "body".into(),
            properties,
            ..StoredMessage::default()
        }
    }

    fn levels() -> DelayLevels {
        DelayLevels::parse("1s 5s 10s").unwrap()
    }

    #[test]
    fn a_delayed_message_goes_to_its_level_queue() {
        let mut msg = message(Some("2"));
        msg.properties.insert(property::TIMER_DELAY_SEC, "30");
        assert!(to_schedule_topic(&mut msg, &levels()));
        assert_eq!((msg.topic.as_str(), msg.queue_id), (topic::SCHEDULE_TOPIC, 1));
        assert_eq!(msg.properties.get(property::REAL_TOPIC), Some("T"));
        assert_eq!(msg.properties.get(property::REAL_QUEUE_ID), Some("3"));
        assert_eq!(msg.properties.get(property::DELAY), Some("2"));
        assert_eq!(msg.properties.get(property::TIMER_DELAY_SEC), None);
        assert_eq!(msg.properties.get(property::TAGS), Some("TagA"));
    }

    #[test]
    fn levels_above_the_max_are_clamped() {
        let mut msg = message(Some("40"));
        assert!(to_schedule_topic(&mut msg, &levels()));
        assert_eq!(msg.queue_id, 2);
        assert_eq!(msg.properties.get(property::DELAY), Some("3"));
    }

    #[test]
    fn no_delay_no_change() {
        for delay in [None, Some("0"), Some("-1"), Some("soon")] {
            let mut msg = message(delay);
            let before = msg.clone();
            assert!(!to_schedule_topic(&mut msg, &levels()), "{delay:?}");
            assert_eq!(msg, before);
        }
        // Half and rollback records are never delayed; commit records are.
        for (ty, delayed) in [
            (sys_flag::TRANSACTION_PREPARED_TYPE, false),
            (sys_flag::TRANSACTION_ROLLBACK_TYPE, false),
            (sys_flag::TRANSACTION_COMMIT_TYPE, true),
        ] {
            let mut msg = message(Some("1"));
            msg.sys_flag |= ty;
            assert_eq!(to_schedule_topic(&mut msg, &levels()), delayed, "{ty}");
        }
    }

    #[test]
    fn time_up_restores_topic_and_queue_and_keeps_the_rest() {
        let original = message(Some("2"));
        let mut scheduled = original.clone();
        to_schedule_topic(&mut scheduled, &levels());
        scheduled.queue_offset = 99;
        scheduled.physical_offset = 4096;
        scheduled.store_timestamp = 12345;
        let due = time_up(scheduled.clone()).unwrap();
        assert_eq!((due.topic.as_str(), due.queue_id), ("T", 3));
        assert_eq!(
            (due.flag, due.sys_flag, due.born_timestamp, due.born_host, due.store_host),
            (7, sys_flag::COMPRESSED_FLAG, 11, original.born_host, original.store_host)
        );
        assert_eq!((due.reconsume_times, &due.body[..]), (2, &b"body"[..]));
        assert_eq!(due.properties, scheduled.properties, "written as stored, as Java does");
        assert_eq!((due.queue_offset, due.physical_offset, due.store_timestamp), (0, 0, 0));
        assert_eq!(due.tags_code(), original.tags_code());
    }

    #[test]
    fn undeliverable_records() {
        let mut scheduled = message(Some("1"));
        to_schedule_topic(&mut scheduled, &levels());
        let without = |name: &str| {
            let mut m = scheduled.clone();
            m.properties.remove(name);
            time_up(m)
        };
        assert_eq!(without(property::REAL_TOPIC), Err(Undeliverable::NoRealTopic));
        assert_eq!(without(property::REAL_QUEUE_ID), Err(Undeliverable::BadRealQueue(None)));
        let mut bad = scheduled.clone();
        bad.properties.insert(property::REAL_QUEUE_ID, "x");
        assert_eq!(time_up(bad), Err(Undeliverable::BadRealQueue(Some("x".into()))));
        let mut half = scheduled;
        half.properties.insert(property::REAL_TOPIC, topic::TRANS_HALF_TOPIC);
        assert_eq!(time_up(half), Err(Undeliverable::HalfTopic));
    }
}
