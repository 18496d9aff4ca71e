//! `HeartbeatData` (HEART_BEAT body): a client's identity and its producer and consumer
//! groups, with each consumer group's subscriptions.
//!
//! ```text
//! {"clientID":"10.0.0.5@12345#1700000000000","consumerDataSet":[{"consumeFromWhere":…,
//!  "consumeType":…,"groupName":…,"messageModel":…,"subscriptionDataSet":[…],"unitMode":false}],
//!  "heartbeatFingerprint":0,"producerDataSet":[{"groupName":"PG"}],"withoutSub":false}
//! ```

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use crate::error::Result;

/// A producer group the client belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct ProducerData {
    pub group_name: String,
}

impl ToJson for ProducerData {
    fn to_json_tree(&self) -> Json {
        Json::bean([("groupName", self.group_name.to_json_tree())])
    }
}

impl FromJsonValue for ProducerData {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(ProducerData { group_name: Fields::of(v)?.get("groupName")? })
    }
}

/// A consumer group the client belongs to, and how it consumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerData {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

impl ToJson for ConsumerData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("consumeFromWhere", self.consume_from_where.to_json_tree()),
            ("consumeType", self.consume_type.to_json_tree()),
            ("groupName", self.group_name.to_json_tree()),
            ("messageModel", self.message_model.to_json_tree()),
            ("subscriptionDataSet", self.subscription_data_set.to_json_tree()),
            ("unitMode", self.unit_mode.to_json_tree()),
        ])
    }
}

impl FromJsonValue for ConsumerData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(ConsumerData {
            group_name: f.get("groupName")?,
            consume_type: f.get("consumeType")?,
            message_model: f.get("messageModel")?,
            consume_from_where: f.get("consumeFromWhere")?,
            subscription_data_set: f.get("subscriptionDataSet")?,
            unit_mode: f.get("unitMode")?,
        })
    }
}

/// The HEART_BEAT body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeartbeatData {
    /// `clientIP@instanceName[@unitName][@STREAM]`; JSON key `clientID`.
    pub client_id: String,
    pub producer_data_set: Vec<ProducerData>,
    pub consumer_data_set: Vec<ConsumerData>,
    /// Heartbeat v2: non-zero asks the broker to compare with the stored fingerprint.
    pub heartbeat_fingerprint: i32,
    /// Heartbeat v2: liveness only, subscriptions unchanged.
    pub without_sub: bool,
}

impl ToJson for HeartbeatData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("clientID", self.client_id.to_json_tree()),
            ("consumerDataSet", self.consumer_data_set.to_json_tree()),
            ("heartbeatFingerprint", self.heartbeat_fingerprint.to_json_tree()),
            ("producerDataSet", self.producer_data_set.to_json_tree()),
            ("withoutSub", self.without_sub.to_json_tree()),
        ])
    }
}

impl FromJsonValue for HeartbeatData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(HeartbeatData {
            client_id: f.get("clientID")?,
            producer_data_set: f.get("producerDataSet")?,
            consumer_data_set: f.get("consumerDataSet")?,
            heartbeat_fingerprint: f.get("heartbeatFingerprint")?,
            without_sub: f.get("withoutSub")?,
        })
    }
}

json_body!(HeartbeatData, ConsumerData, ProducerData);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> HeartbeatData {
        HeartbeatData {
            client_id: "10.0.0.5@12345#1700000000000".into(),
            producer_data_set: vec![ProducerData { group_name: "PG".into() }],
            consumer_data_set: vec![ConsumerData {
                group_name: "CG".into(),
                consume_type: ConsumeType::ConsumePassively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
                subscription_data_set: vec![SubscriptionData {
                    sub_version: 1700000000000,
                    ..SubscriptionData::new("T", "TagA")
                }],
                unit_mode: false,
            }],
            heartbeat_fingerprint: 0,
            without_sub: false,
        }
    }

    const GOLDEN: &str = r#"{"clientID":"10.0.0.5@12345#1700000000000","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"CG","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"PG"}],"withoutSub":false}"#;

    #[test]
    fn golden() {
        assert_eq!(String::from_utf8(sample().to_json()).unwrap(), GOLDEN);
        assert_eq!(HeartbeatData::from_json(GOLDEN.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn old_clients_without_v2_fields() {
        // A 4.x client: no heartbeatFingerprint/withoutSub, strings for booleans, extra keys.
        let text = br#"{"clientID":"c","consumerDataSet":[{"groupName":"CG","consumeType":"CONSUME_ACTIVELY","unitMode":"false","subscriptionDataSet":[{"topic":"T","subString":"*","filterClassSource":"x"}]}],"producerDataSet":[],"extra":1}"#;
        let h = HeartbeatData::from_json(text).unwrap();
        assert_eq!(h.heartbeat_fingerprint, 0);
        assert!(!h.without_sub);
        let c = h.consumer_data_set.first().unwrap();
        assert_eq!(c.consume_type, ConsumeType::ConsumeActively);
        assert_eq!(c.message_model, MessageModel::Clustering);
        assert_eq!(c.subscription_data_set.first().unwrap().expression_type, "TAG");
    }
}
