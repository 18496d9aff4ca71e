//! `TopicList`: a set of topic names, answered by the name server's topic-listing requests.
//!
//! ```text
//! {"brokerAddr":"10.0.0.1:10911","topicList":["A","B"]}      (brokerAddr optional)
//! ```

use std::collections::BTreeSet;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use crate::error::Result;

/// Topic names, optionally with the broker they were listed from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicList {
    pub topic_list: BTreeSet<String>,
    pub broker_addr: Option<String>,
}

impl ToJson for TopicList {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerAddr", self.broker_addr.to_json_tree()),
            ("topicList", self.topic_list.to_json_tree()),
        ])
    }
}

impl FromJsonValue for TopicList {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(TopicList { topic_list: f.get("topicList")?, broker_addr: f.opt("brokerAddr")? })
    }
}

json_body!(TopicList);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let list =
            TopicList { topic_list: BTreeSet::from(["B".into(), "A".into()]), broker_addr: None };
        assert_eq!(list.to_json(), br#"{"topicList":["A","B"]}"#);
        let with_addr = TopicList { broker_addr: Some("10.0.0.1:10911".into()), ..list };
        assert_eq!(
            with_addr.to_json(),
            br#"{"brokerAddr":"10.0.0.1:10911","topicList":["A","B"]}"#
        );
        assert_eq!(TopicList::from_json(&with_addr.to_json()).unwrap(), with_addr);
    }
}
