//! Where a consumer's failed message goes next (RocketMQ's consumer retry): back to
//! `%RETRY%<group>` after a delay that grows with each failure, or to `%DLQ%<group>` once
//! it has failed too often. CONSUMER_SEND_MSG_BACK decides with [`send_back_route`]; a plain
//! send to a retry topic (the client's fallback when a send-back fails) with
//! [`apply_to_send`].
//!
//! | path | to the DLQ when | otherwise |
//! |---|---|---|
//! | send-back | reconsume times ≥ max, or delay level < 0 | `%RETRY%` at the level asked, or 3 + reconsume times for 0 |
//! | send to `%RETRY%<group>` | reconsume times > max, or the group holds a live order lock | stored as sent |
//!
//! The max is the group's `retryMaxTimes` (16), or the request's `maxReconsumeTimes` when
//! the client is 3.4.9 or newer and sent one.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use ferromq_protocol::body::{SubscriptionGroupConfig, TopicConfig};
use ferromq_protocol::message::{property, StoredMessage};
use ferromq_protocol::perm::{PERM_READ, PERM_WRITE};
use ferromq_protocol::{topic, ResponseCode};
use ferromq_store::meta::topics::DLQ_QUEUE_NUMS;
use ferromq_store::meta::Ensured;

use crate::error::BrokerError;
use crate::state::BrokerState;

/// First request version whose `maxReconsumeTimes` the broker honours (`MQVersion.V3_4_9`).
pub const MAX_RECONSUME_TIMES_VERSION: i32 = 121;
/// A send-back with delay level 0 is retried at level 3 + its reconsume times (10 s, 30 s,
/// 1 min, … with the default levels).
pub const FIRST_BROKER_CHOSEN_LEVEL: i32 = 3;

/// Where a sent-back message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackRoute {
    /// To the group's retry topic, through the schedule topic at this delay level.
    Retry { delay_level: i32 },
    /// To the group's dead-letter topic, at once.
    DeadLetter,
}

/// The most times a message of `group` is consumed again: the group's `retryMaxTimes`,
/// or `requested` from a client at [`MAX_RECONSUME_TIMES_VERSION`] or later.
pub fn max_reconsume_times(
    group: &SubscriptionGroupConfig,
    request_version: i32,
    requested: Option<i32>,
) -> i32 {
    match requested {
        Some(max) if request_version >= MAX_RECONSUME_TIMES_VERSION => max,
        _ => group.retry_max_times,
    }
}

/// The send-back rule: a message already reconsumed `reconsume_times` times goes to the
/// DLQ at the max or when the consumer asks (`delay_level < 0`); otherwise it is retried at
/// `delay_level`, or at 3 + `reconsume_times` when the consumer leaves it to the broker (0).
pub fn send_back_route(reconsume_times: i32, max: i32, delay_level: i32) -> SendBackRoute {
    if reconsume_times >= max || delay_level < 0 {
        SendBackRoute::DeadLetter
    } else if delay_level == 0 {
        SendBackRoute::Retry {
            delay_level: FIRST_BROKER_CHOSEN_LEVEL.saturating_add(reconsume_times),
        }
    } else {
        SendBackRoute::Retry { delay_level }
    }
}

/// The plain-send rule for a retry topic: to the DLQ once `reconsume_times` exceeds the max
/// (strictly, unlike a send-back), or at once when the group consumes orderly (it holds a
/// live queue lock).
pub fn send_goes_to_dlq(reconsume_times: i32, max: i32, group_locked: bool) -> bool {
    reconsume_times > max || group_locked
}

/// The group of a retry topic `%RETRY%<group>`.
pub fn group_of_retry_topic(topic: &str) -> Option<&str> {
    topic.strip_prefix(topic::RETRY_GROUP_TOPIC_PREFIX)
}

/// The settings of `group`, created with the defaults when missing and
/// `autoCreateSubscriptionGroup` allows; `SUBSCRIPTION_GROUP_NOT_EXIST` otherwise.
pub fn find_group(
    state: &BrokerState,
    group: &str,
) -> Result<SubscriptionGroupConfig, BrokerError> {
    let auto_create = state.config.get().auto_create_subscription_group;
    state.groups.find_or_auto_create(group, auto_create)?.ok_or_else(|| {
        BrokerError::refused(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {group}"),
        )
    })
}

/// The retry topic of `group` as a send-back creates it: `queue_nums` queues, read-write,
/// a unit-subscription topic in unit mode.
pub fn ensure_retry_topic(
    state: &BrokerState,
    group: &str,
    queue_nums: i32,
    unit_mode: bool,
) -> Result<TopicConfig, BrokerError> {
    let sys_flag = if unit_mode { topic::TOPIC_SYS_FLAG_UNIT_SUB } else { 0 };
    let name = topic::retry_topic(group);
    let ensured = state.topics.create_send_back_topic(
        &name,
        queue_nums,
        PERM_READ | PERM_WRITE,
        false,
        sys_flag,
    )?;
    Ok(announce(state, ensured))
}

/// The dead-letter topic of `group`: one queue, read-write.
pub fn ensure_dlq_topic(state: &BrokerState, group: &str) -> Result<TopicConfig, BrokerError> {
    Ok(announce(state, state.topics.create_dlq_topic(group)?))
}

/// A created topic is registered with the name servers at once.
fn announce(state: &BrokerState, ensured: Ensured) -> TopicConfig {
    if ensured.created() {
        tracing::info!(topic = %ensured.config().topic_name, "topic created for retry");
        state.register_now.notify_one();
    }
    ensured.into_config()
}

/// A queue id in `0..queue_nums` (0 when there are none), picked at random.
pub fn random_queue(queue_nums: i32) -> i32 {
    let Ok(n) = u64::try_from(queue_nums) else { return 0 };
    if n == 0 {
        return 0;
    }
    let random = RandomState::new().hash_one(std::time::Instant::now());
    i32::try_from(random % n).unwrap_or(0)
}

/// Applies the plain-send rule to `msg`, bound for the retry topic of its group: when it has
/// been reconsumed too often (or the group is orderly) it is redirected to the group's DLQ
/// with `DELAY=-1`, as RocketMQ does. Other topics are left alone.
pub fn apply_to_send(
    state: &BrokerState,
    request_version: i32,
    requested_max: Option<i32>,
    msg: &mut StoredMessage,
) -> Result<(), BrokerError> {
    let Some(group) = group_of_retry_topic(&msg.topic).map(str::to_owned) else {
        return Ok(());
    };
    let config = find_group(state, &group)?;
    let max = max_reconsume_times(&config, request_version, requested_max);
    let locked = state.locks.has_live_lock(&group);
    if send_goes_to_dlq(msg.reconsume_times, max, locked) {
        tracing::info!(
            group,
            reconsume_times = msg.reconsume_times,
            max,
            locked,
            "retry message sent to the dead-letter queue"
        );
        ensure_dlq_topic(state, &group)?;
        msg.properties.insert(property::DELAY, "-1");
        msg.topic = topic::dlq_topic(&group);
        msg.queue_id = random_queue(DLQ_QUEUE_NUMS);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_back_decision_table() {
        use SendBackRoute::{DeadLetter, Retry};
        // (reconsume times, max, delay level asked) → route
        let table = [
            (0, 16, 0, Retry { delay_level: 3 }),
            (1, 16, 0, Retry { delay_level: 4 }),
            (15, 16, 0, Retry { delay_level: 18 }),
            (16, 16, 0, DeadLetter),
            (17, 16, 0, DeadLetter),
            (0, 16, 1, Retry { delay_level: 1 }),
            (5, 16, 2, Retry { delay_level: 2 }),
            (0, 16, -1, DeadLetter),
            (1, 1, 1, DeadLetter),
            (0, 1, 1, Retry { delay_level: 1 }),
            (0, 0, 1, DeadLetter),
            (0, -1, 3, DeadLetter),
            (i32::MAX - 1, i32::MAX, 0, Retry { delay_level: i32::MAX }),
        ];
        for (times, max, level, want) in table {
            assert_eq!(send_back_route(times, max, level), want, "{times} {max} {level}");
        }
    }

    #[test]
    fn plain_send_decision_table() {
        // (reconsume times, max, group locked) → to the DLQ
        let table = [
            (0, 16, false, false),
            (16, 16, false, false),
            (17, 16, false, true),
            (0, 16, true, true),
            (2, 1, false, true),
        ];
        for (times, max, locked, want) in table {
            assert_eq!(send_goes_to_dlq(times, max, locked), want, "{times} {max} {locked}");
        }
    }

    #[test]
    fn max_comes_from_new_clients_or_the_group() {
        let group =
            SubscriptionGroupConfig { retry_max_times: 5, ..SubscriptionGroupConfig::new("g") };
        assert_eq!(max_reconsume_times(&group, 121, Some(2)), 2);
        assert_eq!(max_reconsume_times(&group, 120, Some(2)), 5, "too old to ask");
        assert_eq!(max_reconsume_times(&group, 479, None), 5);
        assert_eq!(SubscriptionGroupConfig::new("g").retry_max_times, 16);
    }

    #[test]
    fn groups_and_queues() {
        assert_eq!(group_of_retry_topic("%RETRY%cg"), Some("cg"));
        assert_eq!(group_of_retry_topic("%DLQ%cg"), None);
        assert_eq!(group_of_retry_topic("T"), None);
        assert_eq!(random_queue(0), 0);
        assert_eq!(random_queue(-3), 0);
        assert_eq!(random_queue(1), 0);
        assert!((0..100).map(|_| random_queue(4)).all(|q| (0..4).contains(&q)));
    }
}
