//! `BrokerMemberGroup` (GET_BROKER_MEMBER_GROUP): the members of one broker group.
//!
//! ```text
//! {"brokerMemberGroup":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"C"}}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use crate::error::Result;

/// The brokers of one group, by broker id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrokerMemberGroup {
    pub cluster: String,
    pub broker_name: String,
    pub broker_addrs: BTreeMap<i64, String>,
}

impl ToJson for BrokerMemberGroup {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerAddrs", self.broker_addrs.to_json_tree()),
            ("brokerName", self.broker_name.to_json_tree()),
            ("cluster", self.cluster.to_json_tree()),
        ])
    }
}

impl FromJsonValue for BrokerMemberGroup {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(BrokerMemberGroup {
            cluster: f.get("cluster")?,
            broker_name: f.get("brokerName")?,
            broker_addrs: f.get("brokerAddrs")?,
        })
    }
}

/// The GET_BROKER_MEMBER_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetBrokerMemberGroupResponseBody {
    pub broker_member_group: BrokerMemberGroup,
}

impl ToJson for GetBrokerMemberGroupResponseBody {
    fn to_json_tree(&self) -> Json {
        Json::bean([("brokerMemberGroup", self.broker_member_group.to_json_tree())])
    }
}

impl FromJsonValue for GetBrokerMemberGroupResponseBody {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(GetBrokerMemberGroupResponseBody {
            broker_member_group: Fields::of(v)?.get("brokerMemberGroup")?,
        })
    }
}

json_body!(BrokerMemberGroup, GetBrokerMemberGroupResponseBody);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let body = GetBrokerMemberGroupResponseBody {
            broker_member_group: BrokerMemberGroup {
                cluster: "C".into(),
                broker_name: "broker-a".into(),
                broker_addrs: BTreeMap::from([(0, "10.0.0.1:10911".into())]),
            },
        };
        let text = br#"{"brokerMemberGroup":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"C"}}"#;
        assert_eq!(body.to_json(), text);
        assert_eq!(GetBrokerMemberGroupResponseBody::from_json(text).unwrap(), body);
    }
}
