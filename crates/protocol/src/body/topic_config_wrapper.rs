//! `TopicConfigSerializeWrapper`: a broker's whole topic table with its version — the
//! `topics.json` file, the GET_ALL_TOPIC_CONFIG body and the core of a broker registration.
//!
//! ```text
//! {"dataVersion":{…},"topicConfigTable":{"T":{…TopicConfig…}}}
//! 5.x adds: "mappingDataVersion":{…},"topicQueueMappingDetailMap":{},"topicQueueMappingInfoMap":{}
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, JsonStyle, ToJson};
use super::{DataVersion, TopicConfig};
use crate::error::Result;

/// A broker's topic table. The 5.x static-topic mapping keys are accepted and ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicConfigSerializeWrapper {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
}

impl TopicConfigSerializeWrapper {
    /// The 5.x form (`TopicConfigAndMappingSerializeWrapper`) that a broker sends when it
    /// registers or answers GET_ALL_TOPIC_CONFIG. FerroMQ has no static topics: the mapping
    /// maps are empty and the mapping version is a zero version stamped with the table's
    /// timestamp.
    pub fn to_json_with_mapping(&self) -> Vec<u8> {
        self.tree_with_mapping().render(JsonStyle::Fastjson)
    }

    pub(crate) fn tree_with_mapping(&self) -> Json {
        let mapping_version =
            DataVersion { timestamp: self.data_version.timestamp, ..DataVersion::default() };
        Json::bean([
            ("dataVersion", self.data_version.to_json_tree()),
            ("mappingDataVersion", mapping_version.to_json_tree()),
            ("topicConfigTable", self.topic_config_table.to_json_tree()),
            ("topicQueueMappingDetailMap", Json::Object(Vec::new())),
            ("topicQueueMappingInfoMap", Json::Object(Vec::new())),
        ])
    }
}

impl ToJson for TopicConfigSerializeWrapper {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("dataVersion", self.data_version.to_json_tree()),
            ("topicConfigTable", self.topic_config_table.to_json_tree()),
        ])
    }
}

impl FromJsonValue for TopicConfigSerializeWrapper {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(TopicConfigSerializeWrapper {
            topic_config_table: f.get("topicConfigTable")?,
            data_version: f.get("dataVersion")?,
        })
    }
}

json_body!(TopicConfigSerializeWrapper);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TopicConfigSerializeWrapper {
        TopicConfigSerializeWrapper {
            topic_config_table: BTreeMap::from([("T".into(), TopicConfig::new("T"))]),
            data_version: DataVersion { state_version: 0, timestamp: 1700000000000, counter: 2 },
        }
    }

    const TOPIC: &str = r#"{"attributes":{},"order":false,"perm":6,"readQueueNums":16,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":16}"#;

    #[test]
    fn topics_json_form() {
        let want = format!(
            r#"{{"dataVersion":{{"counter":2,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"T":{TOPIC}}}}}"#
        );
        assert_eq!(String::from_utf8(sample().to_json()).unwrap(), want);
    }

    #[test]
    fn mapping_form_is_read_back_ignoring_the_mapping() {
        let text = sample().to_json_with_mapping();
        let want = format!(
            r#"{{"dataVersion":{{"counter":2,"stateVersion":0,"timestamp":1700000000000}},"mappingDataVersion":{{"counter":0,"stateVersion":0,"timestamp":1700000000000}},"topicConfigTable":{{"T":{TOPIC}}},"topicQueueMappingDetailMap":{{}},"topicQueueMappingInfoMap":{{}}}}"#
        );
        assert_eq!(String::from_utf8(text.clone()).unwrap(), want);
        assert_eq!(TopicConfigSerializeWrapper::from_json(&text).unwrap(), sample());
    }
}
