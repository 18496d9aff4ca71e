//! `ConsumeStats` (GET_CONSUME_STATS): per-queue broker, committed and pulled offsets of a
//! consumer group, keyed by `MessageQueue` written as a raw JSON object.
//!
//! ```text
//! {"consumeTps":0.0,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:
//!   {"brokerOffset":10,"consumerOffset":5,"lastTimestamp":1700000000000,"pullOffset":5}}}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::MessageQueue;
use crate::error::Result;

/// A queue's offsets as seen for one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OffsetWrapper {
    /// The queue's max offset.
    pub broker_offset: i64,
    /// The committed offset (0 if unknown).
    pub consumer_offset: i64,
    /// max(committed, pulled).
    pub pull_offset: i64,
    /// Store time of the message before `consumer_offset`.
    pub last_timestamp: i64,
}

impl ToJson for OffsetWrapper {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerOffset", self.broker_offset.to_json_tree()),
            ("consumerOffset", self.consumer_offset.to_json_tree()),
            ("lastTimestamp", self.last_timestamp.to_json_tree()),
            ("pullOffset", self.pull_offset.to_json_tree()),
        ])
    }
}

impl FromJsonValue for OffsetWrapper {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(OffsetWrapper {
            broker_offset: f.get("brokerOffset")?,
            consumer_offset: f.get("consumerOffset")?,
            pull_offset: f.get("pullOffset")?,
            last_timestamp: f.get("lastTimestamp")?,
        })
    }
}

/// A consumer group's progress on every queue it reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumeStats {
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
    pub consume_tps: f64,
}

impl ToJson for ConsumeStats {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("consumeTps", self.consume_tps.to_json_tree()),
            ("offsetTable", self.offset_table.to_json_tree()),
        ])
    }
}

impl FromJsonValue for ConsumeStats {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(ConsumeStats { offset_table: f.get("offsetTable")?, consume_tps: f.get("consumeTps")? })
    }
}

json_body!(ConsumeStats);

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = r#"{"consumeTps":0.0,"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"brokerOffset":10,"consumerOffset":5,"lastTimestamp":1700000000000,"pullOffset":5},{"brokerName":"b","queueId":1,"topic":"t"}:{"brokerOffset":0,"consumerOffset":0,"lastTimestamp":0,"pullOffset":0}}}"#;

    fn sample() -> ConsumeStats {
        ConsumeStats {
            offset_table: BTreeMap::from([
                (
                    MessageQueue::new("t", "b", 0),
                    OffsetWrapper {
                        broker_offset: 10,
                        consumer_offset: 5,
                        pull_offset: 5,
                        last_timestamp: 1700000000000,
                    },
                ),
                (MessageQueue::new("t", "b", 1), OffsetWrapper::default()),
            ]),
            consume_tps: 0.0,
        }
    }

    #[test]
    fn golden() {
        assert_eq!(String::from_utf8(sample().to_json()).unwrap(), GOLDEN);
        assert_eq!(ConsumeStats::from_json(GOLDEN.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn tps_as_java_double_and_lenient_forms() {
        let s = ConsumeStats { consume_tps: 12.5, ..ConsumeStats::default() };
        assert_eq!(s.to_json(), br#"{"consumeTps":12.5,"offsetTable":{}}"#);
        assert_eq!(
            ConsumeStats::from_json(br#"{"consumeTps":0}"#).unwrap(),
            ConsumeStats::default()
        );
        // A standard writer quotes the key's text.
        let standard = r#"{"consumeTps":"12.5","offsetTable":{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"t\"}":{"brokerOffset":"10"}}}"#;
        let parsed = ConsumeStats::from_json(standard.as_bytes()).unwrap();
        assert_eq!(parsed.consume_tps, 12.5);
        assert_eq!(
            parsed.offset_table.get(&MessageQueue::new("t", "b", 0)).map(|w| w.broker_offset),
            Some(10)
        );
    }
}
