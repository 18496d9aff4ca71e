//! `TopicRouteData` and its parts: which brokers serve a topic, with how many queues.
//!
//! ```text
//! {"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a",
//!   "cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},
//!  "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,
//!   "writeQueueNums":4}]}
//! ```
//! The name server writes this fastjson form to clients older than 4.9.4 (version < 401)
//! that did not ask for `acceptStandardJsonOnly`, and the standard form (`{"0":…}`) otherwise.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, JsonStyle, ToJson};
use crate::error::Result;

/// One broker's queues for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    /// Spelled `topicSynFlag` before 4.9.0; both keys are read.
    pub topic_sys_flag: i32,
}

impl ToJson for QueueData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerName", self.broker_name.to_json_tree()),
            ("perm", self.perm.to_json_tree()),
            ("readQueueNums", self.read_queue_nums.to_json_tree()),
            ("topicSysFlag", self.topic_sys_flag.to_json_tree()),
            ("writeQueueNums", self.write_queue_nums.to_json_tree()),
        ])
    }
}

impl FromJsonValue for QueueData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(QueueData {
            broker_name: f.get("brokerName")?,
            read_queue_nums: f.get("readQueueNums")?,
            write_queue_nums: f.get("writeQueueNums")?,
            perm: f.get("perm")?,
            topic_sys_flag: match f.opt("topicSysFlag")? {
                Some(flag) => flag,
                None => f.get("topicSynFlag")?,
            },
        })
    }
}

/// The addresses of one broker group (a master and its slaves) by broker id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// Broker id (0 = master) → `ip:port`.
    pub broker_addrs: BTreeMap<i64, String>,
    pub enable_acting_master: bool,
    pub zone_name: Option<String>,
}

impl ToJson for BrokerData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerAddrs", self.broker_addrs.to_json_tree()),
            ("brokerName", self.broker_name.to_json_tree()),
            ("cluster", self.cluster.to_json_tree()),
            ("enableActingMaster", self.enable_acting_master.to_json_tree()),
            ("zoneName", self.zone_name.to_json_tree()),
        ])
    }
}

impl FromJsonValue for BrokerData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(BrokerData {
            cluster: f.get("cluster")?,
            broker_name: f.get("brokerName")?,
            broker_addrs: f.get("brokerAddrs")?,
            enable_acting_master: f.get("enableActingMaster")?,
            zone_name: f.opt("zoneName")?,
        })
    }
}

/// A topic's route. Static-topic mappings (`topicQueueMappingByBroker`) are not modelled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicRouteData {
    /// Present only when the name server has `orderMessageEnable`.
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
    pub broker_datas: Vec<BrokerData>,
    /// Broker address → filter server addresses.
    pub filter_server_table: BTreeMap<String, Vec<String>>,
}

impl TopicRouteData {
    /// The route in the given style: fastjson for old clients, standard JSON for the rest.
    pub fn to_json_style(&self, style: JsonStyle) -> Vec<u8> {
        self.to_json_tree().render(style)
    }
}

impl ToJson for TopicRouteData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("brokerDatas", self.broker_datas.to_json_tree()),
            ("filterServerTable", self.filter_server_table.to_json_tree()),
            ("orderTopicConf", self.order_topic_conf.to_json_tree()),
            ("queueDatas", self.queue_datas.to_json_tree()),
        ])
    }
}

impl FromJsonValue for TopicRouteData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(TopicRouteData {
            order_topic_conf: f.opt("orderTopicConf")?,
            queue_datas: f.get("queueDatas")?,
            broker_datas: f.get("brokerDatas")?,
            filter_server_table: f.get("filterServerTable")?,
        })
    }
}

json_body!(TopicRouteData);

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> TopicRouteData {
        TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                perm: 6,
                topic_sys_flag: 0,
            }],
            broker_datas: vec![BrokerData {
                cluster: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                broker_addrs: BTreeMap::from([(0, "10.0.0.1:10911".into())]),
                enable_acting_master: false,
                zone_name: None,
            }],
            filter_server_table: BTreeMap::new(),
        }
    }

    /// The legacy example of the wire reference, §5.2.
    const LEGACY: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

    #[test]
    fn legacy_form_is_byte_exact() {
        assert_eq!(String::from_utf8(example().to_json()).unwrap(), LEGACY);
        assert_eq!(TopicRouteData::from_json(LEGACY.as_bytes()).unwrap(), example());
    }

    #[test]
    fn standard_form_quotes_ids_and_sorts_them_numerically() {
        let mut route = example();
        if let Some(b) = route.broker_datas.first_mut() {
            b.broker_addrs.insert(10, "10.0.0.3:10911".into());
            b.broker_addrs.insert(2, "10.0.0.2:10911".into());
            b.zone_name = Some("zone-1".into());
        }
        route.order_topic_conf = Some("broker-a:4".into());
        route.filter_server_table.insert("10.0.0.1:10911".into(), vec!["10.0.0.1:30000".into()]);
        let text = String::from_utf8(route.to_json_style(JsonStyle::Standard)).unwrap();
        assert_eq!(
            text,
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911","2":"10.0.0.2:10911","10":"10.0.0.3:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false,"zoneName":"zone-1"}],"filterServerTable":{"10.0.0.1:10911":["10.0.0.1:30000"]},"orderTopicConf":"broker-a:4","queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        assert!(serde_json::from_str::<Value>(&text).is_ok());
        assert_eq!(TopicRouteData::from_json(text.as_bytes()).unwrap(), route);
    }

    #[test]
    fn reads_old_and_odd_queue_data() {
        let q = QueueData::from_json_value(
            &serde_json::from_str(
                r#"{"brokerName":"b","perm":"6","readQueueNums":"4","topicSynFlag":3,"x":null}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            q,
            QueueData {
                broker_name: "b".into(),
                read_queue_nums: 4,
                write_queue_nums: 0,
                perm: 6,
                topic_sys_flag: 3,
            }
        );
        let both = serde_json::json!({"topicSysFlag": 1, "topicSynFlag": 2});
        assert_eq!(QueueData::from_json_value(&both).unwrap().topic_sys_flag, 1);
    }

    #[test]
    fn tolerates_nulls_and_missing_lists() {
        let r = TopicRouteData::from_json(br#"{"brokerDatas":null,"queueDatas":[null]}"#).unwrap();
        assert_eq!(r, TopicRouteData::default());
        assert!(TopicRouteData::from_json(br#"{"brokerDatas":[{"brokerAddrs":{x:"a"}}]}"#).is_err());
    }
}
