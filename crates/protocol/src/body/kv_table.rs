//! Key-value bodies: `KVTable` (runtime info, name-server KV lists) and the name server's
//! `kvConfig.json` file.
//!
//! ```text
//! KVTable:      {"table":{"k":"v"}}
//! kvConfig.json {"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"}}}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use crate::error::Result;

/// A flat string map.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

impl ToJson for KvTable {
    fn to_json_tree(&self) -> Json {
        Json::bean([("table", self.table.to_json_tree())])
    }
}

impl FromJsonValue for KvTable {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(KvTable { table: Fields::of(v)?.get("table")? })
    }
}

/// The name server's persisted KV config: namespace → key → value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvConfigFile {
    pub config_table: BTreeMap<String, BTreeMap<String, String>>,
}

impl ToJson for KvConfigFile {
    fn to_json_tree(&self) -> Json {
        Json::bean([("configTable", self.config_table.to_json_tree())])
    }
}

impl FromJsonValue for KvConfigFile {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(KvConfigFile { config_table: Fields::of(v)?.get("configTable")? })
    }
}

json_body!(KvTable, KvConfigFile);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let t = KvTable { table: BTreeMap::from([("brokerVersion".into(), "479".into())]) };
        assert_eq!(t.to_json(), br#"{"table":{"brokerVersion":"479"}}"#);
        assert_eq!(KvTable::from_json(br#"{"table":{"brokerVersion":479}}"#).unwrap(), t);
        let f = KvConfigFile {
            config_table: BTreeMap::from([(
                "ORDER_TOPIC_CONFIG".into(),
                BTreeMap::from([("T".into(), "broker-a:4".into())]),
            )]),
        };
        let text = br#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"}}}"#;
        assert_eq!(f.to_json(), text);
        assert_eq!(KvConfigFile::from_json(text).unwrap(), f);
        assert_eq!(KvConfigFile::from_json(b"{}").unwrap(), KvConfigFile::default());
    }
}
