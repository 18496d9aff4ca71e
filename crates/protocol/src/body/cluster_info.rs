//! `ClusterInfo` (GET_BROKER_CLUSTER_INFO): every broker group and which cluster holds it.
//!
//! ```text
//! {"brokerAddrTable":{"broker-a":{…BrokerData…}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}
//! ```
//! Always written in the fastjson form (unquoted broker ids inside `brokerAddrs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::BrokerData;
use crate::error::Result;

/// The name server's view of all clusters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    /// Broker name → its addresses.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

impl ToJson for ClusterInfo {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerAddrTable", self.broker_addr_table.to_json_tree()),
            ("clusterAddrTable", self.cluster_addr_table.to_json_tree()),
        ])
    }
}

impl FromJsonValue for ClusterInfo {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(ClusterInfo {
            broker_addr_table: f.get("brokerAddrTable")?,
            cluster_addr_table: f.get("clusterAddrTable")?,
        })
    }
}

json_body!(ClusterInfo);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden() {
        let info = ClusterInfo {
            broker_addr_table: BTreeMap::from([(
                "broker-a".into(),
                BrokerData {
                    cluster: "DefaultCluster".into(),
                    broker_name: "broker-a".into(),
                    broker_addrs: BTreeMap::from([
                        (0, "10.0.0.1:10911".into()),
                        (1, "10.0.0.2:10911".into()),
                    ]),
                    enable_acting_master: false,
                    zone_name: None,
                },
            )]),
            cluster_addr_table: BTreeMap::from([(
                "DefaultCluster".into(),
                BTreeSet::from(["broker-a".into()]),
            )]),
        };
        let want = r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#;
        assert_eq!(String::from_utf8(info.to_json()).unwrap(), want);
        assert_eq!(ClusterInfo::from_json(want.as_bytes()).unwrap(), info);
    }
}
