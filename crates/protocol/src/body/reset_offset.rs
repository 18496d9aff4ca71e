//! `ResetOffsetBody`: the offsets a consumer group is reset to, per queue, keyed by
//! `MessageQueue` written as a raw JSON object (INVOKE_BROKER_TO_RESET_OFFSET and the
//! broker→client RESET_CONSUMER_CLIENT_OFFSET).
//!
//! ```text
//! {"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:42}}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::MessageQueue;
use crate::error::Result;

/// New offsets per queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResetOffsetBody {
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

impl ToJson for ResetOffsetBody {
    fn to_json_tree(&self) -> Json {
        Json::bean([("offsetTable", self.offset_table.to_json_tree())])
    }
}

impl FromJsonValue for ResetOffsetBody {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(ResetOffsetBody { offset_table: Fields::of(v)?.get("offsetTable")? })
    }
}

json_body!(ResetOffsetBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let body = ResetOffsetBody {
            offset_table: BTreeMap::from([
                (MessageQueue::new("t", "b", 1), 7),
                (MessageQueue::new("t", "a", 0), 42),
            ]),
        };
        let text = r#"{"offsetTable":{{"brokerName":"a","queueId":0,"topic":"t"}:42,{"brokerName":"b","queueId":1,"topic":"t"}:7}}"#;
        assert_eq!(String::from_utf8(body.to_json()).unwrap(), text);
        assert_eq!(ResetOffsetBody::from_json(text.as_bytes()).unwrap(), body);
    }
}
