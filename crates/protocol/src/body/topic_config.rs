//! `TopicConfig`: a topic's queues, permissions and attributes, in JSON and in the
//! space-separated text of the compressed broker registration.
//!
//! ```text
//! JSON: {"attributes":{},"order":false,"perm":6,"readQueueNums":16,
//!        "topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":16}
//! text: T 16 16 6 SINGLE_TAG {}          (no topicSysFlag, no order)
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{self, Fields, FromJsonValue, Json, ToJson};
use crate::error::{ProtocolError, Result};

java_enum! {
    /// How a topic's messages are filtered by tag.
    pub enum TopicFilterType (default SingleTag) {
        SingleTag = "SINGLE_TAG",
        MultiTag = "MULTI_TAG",
    }
}

/// The Java class's default queue count (the broker's auto-create default is 8).
pub const DEFAULT_QUEUE_NUMS: i32 = 16;

/// Read and write permission (`PermName.PERM_READ | PERM_WRITE`).
const PERM_READ_WRITE: i32 = 6;

/// The configuration of one topic on one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_filter_type: TopicFilterType,
    pub topic_sys_flag: i32,
    pub order: bool,
    /// Keys and values must not contain spaces (the compressed text splits on them).
    pub attributes: BTreeMap<String, String>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            topic_name: String::new(),
            read_queue_nums: DEFAULT_QUEUE_NUMS,
            write_queue_nums: DEFAULT_QUEUE_NUMS,
            perm: PERM_READ_WRITE,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }
}

impl TopicConfig {
    /// A topic with the Java defaults (16 read and write queues, read-write).
    pub fn new(topic_name: impl Into<String>) -> Self {
        TopicConfig { topic_name: topic_name.into(), ..TopicConfig::default() }
    }

    /// The compressed-registration text: `topicName readQueueNums writeQueueNums perm
    /// topicFilterType attributesJson`.
    pub fn encode_text(&self) -> String {
        let attributes = self.attributes.to_json_tree().render(fastjson::JsonStyle::Fastjson);
        format!(
            "{} {} {} {} {} {}",
            self.topic_name,
            self.read_queue_nums,
            self.write_queue_nums,
            self.perm,
            self.topic_filter_type.name(),
            String::from_utf8_lossy(&attributes)
        )
    }

    /// Reads the compressed-registration text. Fewer than five fields or a non-integer count
    /// is an error; attributes that do not parse are dropped, as Java drops them.
    pub fn decode_text(text: &str) -> Result<Self> {
        let mut parts = text.splitn(6, ' ');
        let mut next = || parts.next().filter(|p| !p.is_empty());
        let bad = || ProtocolError::MalformedBody(format!("bad topic config text {text:?}"));
        let (Some(name), Some(read), Some(write), Some(perm), Some(filter)) =
            (next(), next(), next(), next(), next())
        else {
            return Err(bad());
        };
        let int = |s: &str| s.parse::<i32>().map_err(|_| bad());
        let attributes = next()
            .and_then(|json| fastjson::decode::<BTreeMap<String, String>>(json.as_bytes()).ok())
            .unwrap_or_default();
        Ok(TopicConfig {
            topic_name: name.to_owned(),
            read_queue_nums: int(read)?,
            write_queue_nums: int(write)?,
            perm: int(perm)?,
            topic_filter_type: TopicFilterType::from_name(filter).unwrap_or_default(),
            topic_sys_flag: 0,
            order: false,
            attributes,
        })
    }
}

impl ToJson for TopicConfig {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("attributes", self.attributes.to_json_tree()),
            ("order", self.order.to_json_tree()),
            ("perm", self.perm.to_json_tree()),
            ("readQueueNums", self.read_queue_nums.to_json_tree()),
            ("topicFilterType", self.topic_filter_type.to_json_tree()),
            ("topicName", self.topic_name.to_json_tree()),
            ("topicSysFlag", self.topic_sys_flag.to_json_tree()),
            ("writeQueueNums", self.write_queue_nums.to_json_tree()),
        ])
    }
}

impl FromJsonValue for TopicConfig {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        let d = TopicConfig::default();
        Ok(TopicConfig {
            topic_name: f.get("topicName")?,
            read_queue_nums: f.get_or("readQueueNums", d.read_queue_nums)?,
            write_queue_nums: f.get_or("writeQueueNums", d.write_queue_nums)?,
            perm: f.get_or("perm", d.perm)?,
            topic_filter_type: f.get("topicFilterType")?,
            topic_sys_flag: f.get("topicSysFlag")?,
            order: f.get("order")?,
            attributes: f.get("attributes")?,
        })
    }
}

json_body!(TopicConfig);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TopicConfig {
        TopicConfig {
            read_queue_nums: 8,
            write_queue_nums: 4,
            topic_sys_flag: 1,
            order: true,
            attributes: BTreeMap::from([("+message.type".into(), "FIFO".into())]),
            ..TopicConfig::new("TopicTest")
        }
    }

    #[test]
    fn json_matches_java() {
        assert_eq!(
            String::from_utf8(TopicConfig::new("T").to_json()).unwrap(),
            r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":16,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":16}"#
        );
        assert_eq!(TopicConfig::from_json(&sample().to_json()).unwrap(), sample());
    }

    #[test]
    fn missing_keys_take_java_defaults() {
        let c =
            TopicConfig::from_json(br#"{"topicName":"T","perm":"4","topicFilterType":"BOGUS"}"#)
                .unwrap();
        assert_eq!(c, TopicConfig { perm: 4, ..TopicConfig::new("T") });
    }

    #[test]
    fn text_form() {
        let text = sample().encode_text();
        assert_eq!(text, r#"TopicTest 8 4 6 SINGLE_TAG {"+message.type":"FIFO"}"#);
        let back = TopicConfig::decode_text(&text).unwrap();
        // The text carries neither topicSysFlag nor order.
        assert_eq!(back, TopicConfig { topic_sys_flag: 0, order: false, ..sample() });
        let bare = TopicConfig::decode_text("T 1 2 6 MULTI_TAG").unwrap();
        assert_eq!(bare.topic_filter_type, TopicFilterType::MultiTag);
        assert!(bare.attributes.is_empty());
        let broken = TopicConfig::decode_text("T 1 2 6 SINGLE_TAG {bad").unwrap();
        assert!(broken.attributes.is_empty());
        for bad in ["", "T 1 2 6", "T x 2 6 SINGLE_TAG", "T  1 2 6 SINGLE_TAG"] {
            assert!(TopicConfig::decode_text(bad).is_err(), "{bad:?}");
        }
    }
}
