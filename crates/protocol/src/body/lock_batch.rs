//! Order-lock bodies (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ): the queues a consumer wants to lock
//! or release, and the queues it got.
//!
//! ```text
//! request:  {"clientId":"c","consumerGroup":"g","mqSet":[MessageQueue…],"onlyThisBroker":false}
//! response: {"lockOKMQSet":[MessageQueue…]}
//! ```

use std::collections::BTreeSet;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::MessageQueue;
use crate::error::Result;

/// LOCK_BATCH_MQ request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockBatchRequestBody {
    pub consumer_group: String,
    pub client_id: String,
    pub mq_set: BTreeSet<MessageQueue>,
    pub only_this_broker: bool,
}

/// UNLOCK_BATCH_MQ request body: the same fields and JSON as the lock request.
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// LOCK_BATCH_MQ response body: the queues now locked by the requester.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockBatchResponseBody {
    /// JSON key `lockOKMQSet`.
    pub lock_ok_mq_set: BTreeSet<MessageQueue>,
}

impl ToJson for LockBatchRequestBody {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("clientId", Json::Str(self.client_id.clone())),
            ("consumerGroup", Json::Str(self.consumer_group.clone())),
            ("mqSet", self.mq_set.to_json_tree()),
            ("onlyThisBroker", Json::Bool(self.only_this_broker)),
        ])
    }
}

impl FromJsonValue for LockBatchRequestBody {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(LockBatchRequestBody {
            consumer_group: f.get("consumerGroup")?,
            client_id: f.get("clientId")?,
            mq_set: f.get("mqSet")?,
            only_this_broker: f.get("onlyThisBroker")?,
        })
    }
}

impl ToJson for LockBatchResponseBody {
    fn to_json_tree(&self) -> Json {
        Json::bean([("lockOKMQSet", self.lock_ok_mq_set.to_json_tree())])
    }
}

impl FromJsonValue for LockBatchResponseBody {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(LockBatchResponseBody { lock_ok_mq_set: Fields::of(v)?.get("lockOKMQSet")? })
    }
}

json_body!(LockBatchRequestBody, LockBatchResponseBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let req = LockBatchRequestBody {
            consumer_group: "g".into(),
            client_id: "c".into(),
            mq_set: BTreeSet::from([
                MessageQueue::new("t", "b", 1),
                MessageQueue::new("t", "b", 0),
            ]),
            only_this_broker: true,
        };
        let text = r#"{"clientId":"c","consumerGroup":"g","mqSet":[{"brokerName":"b","queueId":0,"topic":"t"},{"brokerName":"b","queueId":1,"topic":"t"}],"onlyThisBroker":true}"#;
        assert_eq!(String::from_utf8(req.to_json()).unwrap(), text);
        assert_eq!(LockBatchRequestBody::from_json(text.as_bytes()).unwrap(), req);
        let unlock = UnlockBatchRequestBody::from_json(text.as_bytes()).unwrap();
        assert_eq!(unlock.to_json(), req.to_json());

        let resp = LockBatchResponseBody { lock_ok_mq_set: req.mq_set.clone() };
        let text = resp.to_json();
        assert!(text.starts_with(br#"{"lockOKMQSet":[{"brokerName""#));
        assert_eq!(LockBatchResponseBody::from_json(&text).unwrap(), resp);
    }
}
