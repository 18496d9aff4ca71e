//! `SubscriptionGroupConfig`: a consumer group's broker-side settings (retry queues, retry
//! policy, who serves slow consumers), as kept in `subscriptionGroup.json`.
//!
//! ```text
//! {"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,
//!  "consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,
//!  "groupName":"CG","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,
//!  "notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,
//!  "whichBrokerWhenConsumeSlowly":1}
//! ```
//! Keys added after 4.9 (retry policy, orderly flag, timeout, attributes, subscriptions) take
//! their defaults when an older file or client leaves them out.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use crate::error::Result;

java_enum! {
    /// Which retry schedule a group uses.
    pub enum GroupRetryPolicyType (default Customized) {
        Exponential = "EXPONENTIAL",
        Customized = "CUSTOMIZED",
    }
}

/// Retry delays that grow by `multiplier` from `initial` up to `max` (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExponentialRetryPolicy {
    pub initial: i64,
    pub max: i64,
    pub multiplier: i64,
}

impl Default for ExponentialRetryPolicy {
    fn default() -> Self {
        ExponentialRetryPolicy { initial: 5_000, max: 7_200_000, multiplier: 2 }
    }
}

/// Retry delays from a table (milliseconds), by default the classic delay levels 3..18.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomizedRetryPolicy {
    pub next: Vec<i64>,
}

impl Default for CustomizedRetryPolicy {
    fn default() -> Self {
        const S: i64 = 1_000;
        const M: i64 = 60 * S;
        CustomizedRetryPolicy {
            next: vec![
                S,
                5 * S,
                10 * S,
                30 * S,
                M,
                2 * M,
                3 * M,
                4 * M,
                5 * M,
                6 * M,
                7 * M,
                8 * M,
                9 * M,
                10 * M,
                20 * M,
                30 * M,
                60 * M,
                120 * M,
            ],
        }
    }
}

/// A group's retry policy: the type in use and the optional parameters of each kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GroupRetryPolicy {
    /// JSON key `type`.
    pub policy_type: GroupRetryPolicyType,
    pub exponential_retry_policy: Option<ExponentialRetryPolicy>,
    pub customized_retry_policy: Option<CustomizedRetryPolicy>,
}

/// A subscription as stored with a group (5.x).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SimpleSubscriptionData {
    pub topic: String,
    pub expression_type: String,
    pub expression: String,
    pub version: i64,
}

/// A consumer group's configuration on a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionGroupConfig {
    pub group_name: String,
    pub consume_enable: bool,
    pub consume_from_min_enable: bool,
    pub consume_broadcast_enable: bool,
    pub consume_message_orderly: bool,
    pub retry_queue_nums: i32,
    pub retry_max_times: i32,
    pub group_retry_policy: GroupRetryPolicy,
    pub broker_id: i64,
    pub which_broker_when_consume_slowly: i64,
    pub notify_consumer_ids_changed_enable: bool,
    pub group_sys_flag: i32,
    /// Push consumers only.
    pub consume_timeout_minute: i32,
    pub subscription_data_set: Option<Vec<SimpleSubscriptionData>>,
    pub attributes: BTreeMap<String, String>,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            group_retry_policy: GroupRetryPolicy::default(),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            subscription_data_set: None,
            attributes: BTreeMap::new(),
        }
    }
}

impl SubscriptionGroupConfig {
    /// A group with the Java defaults.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            ..SubscriptionGroupConfig::default()
        }
    }
}

impl ToJson for ExponentialRetryPolicy {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("initial", self.initial.to_json_tree()),
            ("max", self.max.to_json_tree()),
            ("multiplier", self.multiplier.to_json_tree()),
        ])
    }
}

impl FromJsonValue for ExponentialRetryPolicy {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        let d = ExponentialRetryPolicy::default();
        Ok(ExponentialRetryPolicy {
            initial: f.get_or("initial", d.initial)?,
            max: f.get_or("max", d.max)?,
            multiplier: f.get_or("multiplier", d.multiplier)?,
        })
    }
}

impl ToJson for CustomizedRetryPolicy {
    fn to_json_tree(&self) -> Json {
        Json::bean([("next", self.next.to_json_tree())])
    }
}

impl FromJsonValue for CustomizedRetryPolicy {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(CustomizedRetryPolicy {
            next: Fields::of(v)?.get_or("next", CustomizedRetryPolicy::default().next)?,
        })
    }
}

impl ToJson for GroupRetryPolicy {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("customizedRetryPolicy", self.customized_retry_policy.to_json_tree()),
            ("exponentialRetryPolicy", self.exponential_retry_policy.to_json_tree()),
            ("type", self.policy_type.to_json_tree()),
        ])
    }
}

impl FromJsonValue for GroupRetryPolicy {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(GroupRetryPolicy {
            policy_type: f.get("type")?,
            exponential_retry_policy: f.opt("exponentialRetryPolicy")?,
            customized_retry_policy: f.opt("customizedRetryPolicy")?,
        })
    }
}

impl ToJson for SimpleSubscriptionData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("expression", self.expression.to_json_tree()),
            ("expressionType", self.expression_type.to_json_tree()),
            ("topic", self.topic.to_json_tree()),
            ("version", self.version.to_json_tree()),
        ])
    }
}

impl FromJsonValue for SimpleSubscriptionData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(SimpleSubscriptionData {
            topic: f.get("topic")?,
            expression_type: f.get("expressionType")?,
            expression: f.get("expression")?,
            version: f.get("version")?,
        })
    }
}

impl ToJson for SubscriptionGroupConfig {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("attributes", self.attributes.to_json_tree()),
            ("brokerId", self.broker_id.to_json_tree()),
            ("consumeBroadcastEnable", self.consume_broadcast_enable.to_json_tree()),
            ("consumeEnable", self.consume_enable.to_json_tree()),
            ("consumeFromMinEnable", self.consume_from_min_enable.to_json_tree()),
            ("consumeMessageOrderly", self.consume_message_orderly.to_json_tree()),
            ("consumeTimeoutMinute", self.consume_timeout_minute.to_json_tree()),
            ("groupName", self.group_name.to_json_tree()),
            ("groupRetryPolicy", self.group_retry_policy.to_json_tree()),
            ("groupSysFlag", self.group_sys_flag.to_json_tree()),
            (
                "notifyConsumerIdsChangedEnable",
                self.notify_consumer_ids_changed_enable.to_json_tree(),
            ),
            ("retryMaxTimes", self.retry_max_times.to_json_tree()),
            ("retryQueueNums", self.retry_queue_nums.to_json_tree()),
            ("subscriptionDataSet", self.subscription_data_set.to_json_tree()),
            ("whichBrokerWhenConsumeSlowly", self.which_broker_when_consume_slowly.to_json_tree()),
        ])
    }
}

impl FromJsonValue for SubscriptionGroupConfig {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        let d = SubscriptionGroupConfig::default();
        Ok(SubscriptionGroupConfig {
            group_name: f.get("groupName")?,
            consume_enable: f.get_or("consumeEnable", d.consume_enable)?,
            consume_from_min_enable: f.get_or("consumeFromMinEnable", d.consume_from_min_enable)?,
            consume_broadcast_enable: f
                .get_or("consumeBroadcastEnable", d.consume_broadcast_enable)?,
            consume_message_orderly: f.get("consumeMessageOrderly")?,
            retry_queue_nums: f.get_or("retryQueueNums", d.retry_queue_nums)?,
            retry_max_times: f.get_or("retryMaxTimes", d.retry_max_times)?,
            group_retry_policy: f.get("groupRetryPolicy")?,
            broker_id: f.get("brokerId")?,
            which_broker_when_consume_slowly: f
                .get_or("whichBrokerWhenConsumeSlowly", d.which_broker_when_consume_slowly)?,
            notify_consumer_ids_changed_enable: f
                .get_or("notifyConsumerIdsChangedEnable", d.notify_consumer_ids_changed_enable)?,
            group_sys_flag: f.get("groupSysFlag")?,
            consume_timeout_minute: f.get_or("consumeTimeoutMinute", d.consume_timeout_minute)?,
            subscription_data_set: f.opt("subscriptionDataSet")?,
            attributes: f.get("attributes")?,
        })
    }
}

json_body!(SubscriptionGroupConfig);

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_JSON: &str = r#"{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"CG","groupRetryPolicy":{"type":"CUSTOMIZED"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,"whichBrokerWhenConsumeSlowly":1}"#;

    #[test]
    fn defaults_match_java() {
        let g = SubscriptionGroupConfig::new("CG");
        assert_eq!(String::from_utf8(g.to_json()).unwrap(), DEFAULT_JSON);
        assert_eq!(SubscriptionGroupConfig::from_json(DEFAULT_JSON.as_bytes()).unwrap(), g);
        // A 4.9 file: only the old keys.
        let old = br#"{"groupName":"CG","consumeEnable":true,"retryQueueNums":1,"brokerId":0}"#;
        assert_eq!(SubscriptionGroupConfig::from_json(old).unwrap(), g);
        assert_eq!(CustomizedRetryPolicy::default().next.len(), 18);
    }

    #[test]
    fn full_config_round_trips() {
        let g = SubscriptionGroupConfig {
            consume_enable: false,
            group_retry_policy: GroupRetryPolicy {
                policy_type: GroupRetryPolicyType::Exponential,
                exponential_retry_policy: Some(ExponentialRetryPolicy::default()),
                customized_retry_policy: Some(CustomizedRetryPolicy { next: vec![1, 2] }),
            },
            subscription_data_set: Some(vec![SimpleSubscriptionData {
                topic: "T".into(),
                expression_type: "TAG".into(),
                expression: "*".into(),
                version: 3,
            }]),
            attributes: BTreeMap::from([("k".into(), "v".into())]),
            ..SubscriptionGroupConfig::new("CG")
        };
        let text = String::from_utf8(g.to_json()).unwrap();
        assert!(text.contains(r#""groupRetryPolicy":{"customizedRetryPolicy":{"next":[1,2]},"exponentialRetryPolicy":{"initial":5000,"max":7200000,"multiplier":2},"type":"EXPONENTIAL"}"#));
        assert!(text.contains(r#""subscriptionDataSet":[{"expression":"*","expressionType":"TAG","topic":"T","version":3}]"#));
        assert_eq!(SubscriptionGroupConfig::from_json(text.as_bytes()).unwrap(), g);
    }
}
