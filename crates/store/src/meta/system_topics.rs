//! The topics a RocketMQ broker creates for itself at start-up, with their queue counts and
//! permissions (the Java `TopicConfigManager` constructor, 5.x).
//!
//! | topic | queues | perm |
//! |---|---|---|
//! | `SELF_TEST_TOPIC` | 1 | RW |
//! | `TBW102` (only with `autoCreateTopicEnable`) | `defaultTopicQueueNums` (8) | RWX |
//! | `BenchmarkTest` | 1024 | RW |
//! | `<clusterName>` | 16 | X, plus RW with `clusterTopicEnable` |
//! | `<brokerName>` | 1 | X, plus RW with `brokerTopicEnable` |
//! | `OFFSET_MOVED_EVENT` | 1 | RW |
//! | `SCHEDULE_TOPIC_XXXX` | 18 | RW |
//! | `RMQ_SYS_TRACE_TOPIC` (only with `traceTopicEnable`) | 1 | RW |
//! | `<clusterName>_REPLY_TOPIC` | 1 | RW |
//! | `rmq_sys_REVIVE_LOG_<clusterName>` | `reviveQueueNum` (8) | RW |
//! | `rmq_sys_SYNC_BROKER_MEMBER_<brokerName>` | 1 | X |
//! | `RMQ_SYS_TRANS_HALF_TOPIC`, `RMQ_SYS_TRANS_OP_HALF_TOPIC` | 1 | RW |
//! | `rmq_sys_wheel_timer` (only with `timerWheelEnable`) | 1 | RW |
//!
//! When two names coincide (a broker named like its cluster) the later row wins, as in Java.

use std::collections::BTreeMap;

use ferromq_protocol::body::TopicConfig;
use ferromq_protocol::perm::{PERM_INHERIT, PERM_READ, PERM_WRITE};
use ferromq_protocol::topic;

/// Queues of `SCHEDULE_TOPIC_XXXX`: one per delay level.
pub const SCHEDULE_TOPIC_QUEUE_NUMS: i32 = 18;
/// Queues of `BenchmarkTest`.
pub const BENCHMARK_TOPIC_QUEUE_NUMS: i32 = 1024;
/// Suffix of the cluster's request-reply topic (`MixAll.REPLY_TOPIC_POSTFIX`).
pub const REPLY_TOPIC_SUFFIX: &str = "_REPLY_TOPIC";
/// Prefix of the cluster's POP revive topic (`PopAckConstants.REVIVE_TOPIC`).
pub const REVIVE_TOPIC_PREFIX: &str = "rmq_sys_REVIVE_LOG_";
/// Prefix of the broker-member sync topic (`SYNC_BROKER_MEMBER_GROUP_PREFIX`).
pub const SYNC_BROKER_MEMBER_PREFIX: &str = "rmq_sys_SYNC_BROKER_MEMBER_";

/// The broker settings that decide which system topics exist. [`SystemTopicOptions::new`]
/// gives RocketMQ's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemTopicOptions {
    /// `brokerClusterName` (default `DefaultCluster`).
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `autoCreateTopicEnable` (default true): create `TBW102`.
    pub auto_create_topic_enable: bool,
    /// `defaultTopicQueueNums` (default 8): queues of `TBW102`.
    pub default_topic_queue_nums: i32,
    /// `clusterTopicEnable` (default true): the cluster topic is readable and writable.
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable` (default true): the broker topic is readable and writable.
    pub broker_topic_enable: bool,
    /// `traceTopicEnable` (default false): create the trace topic.
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName` (default `RMQ_SYS_TRACE_TOPIC`).
    pub trace_topic_name: String,
    /// `reviveQueueNum` (default 8): queues of the POP revive topic.
    pub revive_queue_num: i32,
    /// `timerWheelEnable` (default true, a store setting): create `rmq_sys_wheel_timer`.
    pub timer_wheel_enable: bool,
}

impl SystemTopicOptions {
    /// RocketMQ's defaults for a broker `broker_name` in cluster `cluster_name`.
    pub fn new(cluster_name: impl Into<String>, broker_name: impl Into<String>) -> Self {
        SystemTopicOptions {
            cluster_name: cluster_name.into(),
            broker_name: broker_name.into(),
            auto_create_topic_enable: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            trace_topic_enable: false,
            trace_topic_name: topic::TRACE_TOPIC.to_owned(),
            revive_queue_num: 8,
            timer_wheel_enable: true,
        }
    }
}

fn with_queues(name: impl Into<String>, queues: i32) -> TopicConfig {
    TopicConfig { read_queue_nums: queues, write_queue_nums: queues, ..TopicConfig::new(name) }
}

fn inherit_plus_rw_if(enabled: bool) -> i32 {
    if enabled {
        PERM_INHERIT | PERM_READ | PERM_WRITE
    } else {
        PERM_INHERIT
    }
}

/// The system topics for `options`, by name.
pub fn system_topics(options: &SystemTopicOptions) -> BTreeMap<String, TopicConfig> {
    let o = options;
    let mut list = vec![with_queues(topic::SELF_TEST_TOPIC, 1)];
    if o.auto_create_topic_enable {
        list.push(TopicConfig {
            perm: PERM_INHERIT | PERM_READ | PERM_WRITE,
            ..with_queues(topic::AUTO_CREATE_TOPIC_KEY, o.default_topic_queue_nums)
        });
    }
    list.push(with_queues(topic::BENCHMARK_TOPIC, BENCHMARK_TOPIC_QUEUE_NUMS));
    list.push(TopicConfig {
        perm: inherit_plus_rw_if(o.cluster_topic_enable),
        ..TopicConfig::new(o.cluster_name.clone())
    });
    list.push(TopicConfig {
        perm: inherit_plus_rw_if(o.broker_topic_enable),
        ..with_queues(o.broker_name.clone(), 1)
    });
    list.push(with_queues(topic::OFFSET_MOVED_EVENT, 1));
    list.push(with_queues(topic::SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUMS));
    if o.trace_topic_enable {
        list.push(with_queues(o.trace_topic_name.clone(), 1));
    }
    list.push(with_queues(format!("{}{REPLY_TOPIC_SUFFIX}", o.cluster_name), 1));
    list.push(with_queues(format!("{REVIVE_TOPIC_PREFIX}{}", o.cluster_name), o.revive_queue_num));
    list.push(TopicConfig {
        perm: PERM_INHERIT,
        ..with_queues(format!("{SYNC_BROKER_MEMBER_PREFIX}{}", o.broker_name), 1)
    });
    list.push(with_queues(topic::TRANS_HALF_TOPIC, 1));
    list.push(with_queues(topic::TRANS_OP_HALF_TOPIC, 1));
    if o.timer_wheel_enable {
        list.push(with_queues(topic::TIMER_TOPIC, 1));
    }
    list.into_iter().map(|t| (t.topic_name.clone(), t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues_and_perm(all: &BTreeMap<String, TopicConfig>) -> Vec<(&str, i32, i32, i32)> {
        all.values()
            .map(|t| (t.topic_name.as_str(), t.read_queue_nums, t.write_queue_nums, t.perm))
            .collect()
    }

    #[test]
    fn defaults_match_rocketmq() {
        let all = system_topics(&SystemTopicOptions::new("DefaultCluster", "broker-a"));
        assert_eq!(
            queues_and_perm(&all),
            vec![
                ("BenchmarkTest", 1024, 1024, 6),
                ("DefaultCluster", 16, 16, 7),
                ("DefaultCluster_REPLY_TOPIC", 1, 1, 6),
                ("OFFSET_MOVED_EVENT", 1, 1, 6),
                ("RMQ_SYS_TRANS_HALF_TOPIC", 1, 1, 6),
                ("RMQ_SYS_TRANS_OP_HALF_TOPIC", 1, 1, 6),
                ("SCHEDULE_TOPIC_XXXX", 18, 18, 6),
                ("SELF_TEST_TOPIC", 1, 1, 6),
                ("TBW102", 8, 8, 7),
                ("broker-a", 1, 1, 7),
                ("rmq_sys_REVIVE_LOG_DefaultCluster", 8, 8, 6),
                ("rmq_sys_SYNC_BROKER_MEMBER_broker-a", 1, 1, 1),
                ("rmq_sys_wheel_timer", 1, 1, 6),
            ]
        );
    }

    #[test]
    fn switches_change_the_set() {
        let options = SystemTopicOptions {
            auto_create_topic_enable: false,
            cluster_topic_enable: false,
            broker_topic_enable: false,
            trace_topic_enable: true,
            timer_wheel_enable: false,
            ..SystemTopicOptions::new("C", "B")
        };
        let all = system_topics(&options);
        assert!(!all.contains_key("TBW102") && !all.contains_key("rmq_sys_wheel_timer"));
        assert_eq!(all.get("RMQ_SYS_TRACE_TOPIC").map(|t| t.write_queue_nums), Some(1));
        assert_eq!(all.get("C").map(|t| t.perm), Some(PERM_INHERIT));
        assert_eq!(all.get("B").map(|t| t.perm), Some(PERM_INHERIT));
    }

    #[test]
    fn a_broker_named_like_its_cluster_gets_the_broker_topic() {
        let all = system_topics(&SystemTopicOptions::new("same", "same"));
        assert_eq!(all.get("same").map(|t| t.write_queue_nums), Some(1));
    }
}
