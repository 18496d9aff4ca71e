//! `ConsumerOffsetSerializeWrapper`: committed offsets per `topic@group` and queue id — the
//! broker's `consumerOffset.json` and the GET_ALL_CONSUMER_OFFSET body.
//!
//! ```text
//! {"offsetTable":{"TopicTest@CG":{0:123,1:456}}}          (queue ids unquoted)
//! ```
//! Other keys a broker writes into `consumerOffset.json` (`dataVersion`, `groupTopicMap`)
//! are ignored when read.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use crate::error::Result;

/// Committed offsets: `topic@group` → queue id → offset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerOffsetSerializeWrapper {
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
}

impl ToJson for ConsumerOffsetSerializeWrapper {
    fn to_json_tree(&self) -> Json {
        Json::bean([("offsetTable", self.offset_table.to_json_tree())])
    }
}

impl FromJsonValue for ConsumerOffsetSerializeWrapper {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(ConsumerOffsetSerializeWrapper { offset_table: Fields::of(v)?.get("offsetTable")? })
    }
}

json_body!(ConsumerOffsetSerializeWrapper);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let w = ConsumerOffsetSerializeWrapper {
            offset_table: BTreeMap::from([(
                "TopicTest@CG".into(),
                BTreeMap::from([(0, 123), (1, 456)]),
            )]),
        };
        let text = r#"{"offsetTable":{"TopicTest@CG":{0:123,1:456}}}"#;
        assert_eq!(String::from_utf8(w.to_json()).unwrap(), text);
        assert_eq!(ConsumerOffsetSerializeWrapper::from_json(text.as_bytes()).unwrap(), w);
        // A 5.x broker's file carries more keys, possibly pretty-printed.
        let file = "{\n\t\"dataVersion\":{\"counter\":1},\n\t\"offsetTable\":{\n\t\t\"TopicTest@CG\":{0:123,1:456}\n\t},\"groupTopicMap\":{}\n}";
        assert_eq!(ConsumerOffsetSerializeWrapper::from_json(file.as_bytes()).unwrap(), w);
    }
}
