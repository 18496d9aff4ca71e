//! `MessageQueue`: one queue of a topic on a broker; also a map key in stats bodies.
//!
//! ```text
//! value: {"brokerName":"b","queueId":0,"topic":"t"}
//! key:   {{"brokerName":"b","queueId":0,"topic":"t"}:…}   (fastjson; not valid JSON)
//! ```

use serde_json::Value;

use super::fastjson::{self, Fields, FromJsonKey, FromJsonValue, Json, Key, ToJson, ToJsonKey};
use crate::error::{ProtocolError, Result};

/// A queue. Ordered like Java's `compareTo`: topic, broker name, queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MessageQueue {
    pub topic: String,
    pub broker_name: String,
    pub queue_id: i32,
}

impl MessageQueue {
    /// A queue of `topic` on `broker_name`.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        MessageQueue { topic: topic.into(), broker_name: broker_name.into(), queue_id }
    }
}

impl ToJson for MessageQueue {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerName", self.broker_name.to_json_tree()),
            ("queueId", self.queue_id.to_json_tree()),
            ("topic", self.topic.to_json_tree()),
        ])
    }
}

impl FromJsonValue for MessageQueue {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(MessageQueue {
            topic: f.get("topic")?,
            broker_name: f.get("brokerName")?,
            queue_id: f.get("queueId")?,
        })
    }
}

impl ToJsonKey for MessageQueue {
    fn to_json_key(&self) -> Key {
        Key::Object(Box::new(self.to_json_tree()))
    }
}

/// A key is the object's JSON text (the normaliser turns a raw object key into its text;
/// standard writers quote the text themselves).
impl FromJsonKey for MessageQueue {
    fn from_json_key(key: &str) -> Result<Self> {
        let value = fastjson::parse(key.as_bytes())
            .map_err(|e| ProtocolError::MalformedBody(format!("message queue key {key:?}: {e}")))?;
        MessageQueue::from_json_value(&value)
    }
}

json_body!(MessageQueue);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_and_order() {
        let mq = MessageQueue::new("t", "b", 0);
        assert_eq!(mq.to_json(), br#"{"brokerName":"b","queueId":0,"topic":"t"}"#);
        assert_eq!(
            MessageQueue::from_json(br#"{"topic":"t","brokerName":"b","queueId":"0"}"#).unwrap(),
            mq
        );
        assert!(MessageQueue::new("a", "z", 9) < MessageQueue::new("b", "a", 0));
        assert!(MessageQueue::new("a", "b", 1) < MessageQueue::new("a", "b", 2));
    }

    #[test]
    fn keys() {
        let mq = MessageQueue::new("t", "b", 3);
        let key = r#"{"brokerName":"b","queueId":3,"topic":"t"}"#;
        assert_eq!(MessageQueue::from_json_key(key).unwrap(), mq);
        assert_eq!(
            MessageQueue::from_json_key("{topic:'t',brokerName:'b',queueId:3}").unwrap(),
            mq
        );
        assert!(MessageQueue::from_json_key("t@b@3").is_err());
        assert!(MessageQueue::from_json_key("[1]").is_err());
    }
}
