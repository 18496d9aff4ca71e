//! `GetConsumerListByGroupResponseBody`: the client ids of a consumer group's members.
//!
//! ```text
//! {"consumerIdList":["10.0.0.5@123#456"]}
//! ```

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use crate::error::Result;

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetConsumerListByGroupResponseBody {
    pub consumer_id_list: Vec<String>,
}

impl ToJson for GetConsumerListByGroupResponseBody {
    fn to_json_tree(&self) -> Json {
        Json::bean([("consumerIdList", self.consumer_id_list.to_json_tree())])
    }
}

impl FromJsonValue for GetConsumerListByGroupResponseBody {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(GetConsumerListByGroupResponseBody {
            consumer_id_list: Fields::of(v)?.get("consumerIdList")?,
        })
    }
}

json_body!(GetConsumerListByGroupResponseBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let body =
            GetConsumerListByGroupResponseBody { consumer_id_list: vec!["b".into(), "a".into()] };
        assert_eq!(body.to_json(), br#"{"consumerIdList":["b","a"]}"#);
        assert_eq!(GetConsumerListByGroupResponseBody::from_json(&body.to_json()).unwrap(), body);
    }
}
