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

/// A topic's queues and their offset ranges, and the messages put to it per second over
/// the last minute (`topicPutTps`; 0 when absent, as from an older broker).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TopicStatsTable {
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    pub topic_put_tps: f64,
}

impl ToJson for TopicStatsTable {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("offsetTable", self.offset_table.to_json_tree()),
            ("topicPutTps", self.topic_put_tps.to_json_tree()),
        ])
    }
}

impl FromJsonValue for TopicStatsTable {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(TopicStatsTable {
            offset_table: f.get("offsetTable")?,
            topic_put_tps: f.get("topicPutTps")?,
        })
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
            topic_put_tps: 0.0,
        };
        let text = r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"lastUpdateTimestamp":1700000000000,"maxOffset":10,"minOffset":0}},"topicPutTps":0.0}"#;
        assert_eq!(String::from_utf8(table.to_json()).unwrap(), text);
        assert_eq!(TopicStatsTable::from_json(text.as_bytes()).unwrap(), table);
        let busy = TopicStatsTable { topic_put_tps: 12.5, ..table };
        let text = String::from_utf8(busy.to_json()).unwrap();
        assert!(text.ends_with(r#""topicPutTps":12.5}"#), "{text}");
        assert_eq!(TopicStatsTable::from_json(text.as_bytes()).unwrap(), busy);
        let without = TopicStatsTable::from_json(br#"{"offsetTable":{}}"#).unwrap();
        assert_eq!(without.topic_put_tps, 0.0);
    }
}
