//! `TopicStatsTable` (GET_TOPIC_STATS_INFO): min/max offsets of every queue of a topic,
//! keyed by `MessageQueue` written as a raw JSON object.
//!
//! ```text
//! {"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:
//!   {"lastUpdateTimestamp":1700000000000,"maxOffset":10,"minOffset":0}},"topicPutTps":0.0}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::MessageQueue;
use crate::error::Result;

/// One queue's offset range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TopicOffset {
    pub min_offset: i64,
    pub max_offset: i64,
    pub last_update_timestamp: i64,
}

impl ToJson for TopicOffset {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("lastUpdateTimestamp", self.last_update_timestamp.to_json_tree()),
            ("maxOffset", self.max_offset.to_json_tree()),
            ("minOffset", self.min_offset.to_json_tree()),
        ])
    }
}

impl FromJsonValue for TopicOffset {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(TopicOffset {
            min_offset: f.get("minOffset")?,
            max_offset: f.get("maxOffset")?,
            last_update_timestamp: f.get("lastUpdateTimestamp")?,
        })
    }
}

/// A topic's queues and their offset ranges. `topicPutTps` is written as `0.0`, as the
/// broker never fills it in, and ignored when read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicStatsTable {
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
}

impl ToJson for TopicStatsTable {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("offsetTable", self.offset_table.to_json_tree()),
            ("topicPutTps", Json::Double(0.0)),
        ])
    }
}

impl FromJsonValue for TopicStatsTable {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(TopicStatsTable { offset_table: Fields::of(v)?.get("offsetTable")? })
    }
}

json_body!(TopicStatsTable);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let table = TopicStatsTable {
            offset_table: BTreeMap::from([(
                MessageQueue::new("t", "b", 0),
                TopicOffset { min_offset: 0, max_offset: 10, last_update_timestamp: 1700000000000 },
            )]),
        };
        let text = r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":10,"minOffset":0}},"topicPutTps":0.0}"#;
        assert_eq!(String::from_utf8(table.to_json()).unwrap(), text);
        assert_eq!(TopicStatsTable::from_json(text.as_bytes()).unwrap(), table);
    }
}
