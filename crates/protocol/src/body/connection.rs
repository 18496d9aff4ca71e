//! Connection bodies (GET_CONSUMER_CONNECTION_LIST, GET_PRODUCER_CONNECTION_LIST): the
//! clients of a group, and for consumers how the group consumes.
//!
//! ```text
//! Connection:         {"clientAddr":"10.0.0.5:5555","clientId":"…","language":"JAVA","version":479}
//! ConsumerConnection: {"connectionSet":[…],"consumeFromWhere":…,"consumeType":…,
//!                      "messageModel":…,"subscriptionTable":{"T":SubscriptionData}}
//! ProducerConnection: {"connectionSet":[…]}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use crate::error::Result;
use crate::LanguageCode;

/// One client connection, with the language and version from its heartbeat header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Connection {
    pub client_id: String,
    pub client_addr: String,
    /// The `LanguageCode` name, such as `JAVA`.
    pub language: String,
    pub version: i32,
}

impl ToJson for Connection {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("clientAddr", self.client_addr.to_json_tree()),
            ("clientId", self.client_id.to_json_tree()),
            ("language", self.language.to_json_tree()),
            ("version", self.version.to_json_tree()),
        ])
    }
}

impl FromJsonValue for Connection {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        // fastjson binds an enum from its ordinal too; LanguageCode ordinals are its codes.
        let language = match f.raw("language") {
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .map(|code| LanguageCode::from_code(code).name().to_owned())
                .unwrap_or_default(),
            _ => f.get("language")?,
        };
        Ok(Connection {
            client_id: f.get("clientId")?,
            client_addr: f.get("clientAddr")?,
            language,
            version: f.get("version")?,
        })
    }
}

/// A consumer group's connections and consumption settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerConnection {
    pub connection_set: Vec<Connection>,
    /// Topic → subscription.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
}

impl ToJson for ConsumerConnection {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("connectionSet", self.connection_set.to_json_tree()),
            ("consumeFromWhere", self.consume_from_where.to_json_tree()),
            ("consumeType", self.consume_type.to_json_tree()),
            ("messageModel", self.message_model.to_json_tree()),
            ("subscriptionTable", self.subscription_table.to_json_tree()),
        ])
    }
}

impl FromJsonValue for ConsumerConnection {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(ConsumerConnection {
            connection_set: f.get("connectionSet")?,
            subscription_table: f.get("subscriptionTable")?,
            consume_type: f.get("consumeType")?,
            message_model: f.get("messageModel")?,
            consume_from_where: f.get("consumeFromWhere")?,
        })
    }
}

/// A producer group's connections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProducerConnection {
    pub connection_set: Vec<Connection>,
}

impl ToJson for ProducerConnection {
    fn to_json_tree(&self) -> Json {
        Json::bean([("connectionSet", self.connection_set.to_json_tree())])
    }
}

impl FromJsonValue for ProducerConnection {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(ProducerConnection { connection_set: Fields::of(v)?.get("connectionSet")? })
    }
}

json_body!(Connection, ConsumerConnection, ProducerConnection);

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection {
            client_id: "10.0.0.5@1#2".into(),
            client_addr: "10.0.0.5:5555".into(),
            language: "JAVA".into(),
            version: 479,
        }
    }

    #[test]
    fn golden() {
        let p = ProducerConnection { connection_set: vec![conn()] };
        let text = r#"{"connectionSet":[{"clientAddr":"10.0.0.5:5555","clientId":"10.0.0.5@1#2","language":"JAVA","version":479}]}"#;
        assert_eq!(String::from_utf8(p.to_json()).unwrap(), text);
        assert_eq!(ProducerConnection::from_json(text.as_bytes()).unwrap(), p);

        let c = ConsumerConnection {
            connection_set: vec![conn()],
            subscription_table: BTreeMap::from([(
                "T".into(),
                SubscriptionData { sub_version: 5, ..SubscriptionData::new("T", "*") },
            )]),
            consume_type: ConsumeType::ConsumeActively,
            message_model: MessageModel::Broadcasting,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
        };
        let text = String::from_utf8(c.to_json()).unwrap();
        assert!(text.contains(r#""consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_ACTIVELY","messageModel":"BROADCASTING","subscriptionTable":{"T":{"classFilterMode":false,"codeSet":[],"#));
        assert_eq!(ConsumerConnection::from_json(text.as_bytes()).unwrap(), c);
    }

    #[test]
    fn language_by_ordinal() {
        let c = Connection::from_json(br#"{"language":9,"version":"479"}"#).unwrap();
        assert_eq!((c.language.as_str(), c.version), ("GO", 479));
    }
}
