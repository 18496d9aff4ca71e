//! `DataVersion`: the version stamp of a broker's topic table (and other config tables).
//!
//! ```text
//! {"counter":3,"stateVersion":0,"timestamp":1700000000000}
//! ```

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::now_millis;
use crate::error::Result;

/// A table version: equal versions mean unchanged data. `counter` grows on every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataVersion {
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

impl DataVersion {
    /// A fresh version stamped with the current time, like Java's constructor.
    pub fn new() -> Self {
        DataVersion { timestamp: now_millis(), ..DataVersion::default() }
    }

    /// Marks a change: the counter goes up by one and the timestamp becomes now.
    pub fn next(&mut self) {
        self.timestamp = now_millis();
        self.counter = self.counter.wrapping_add(1);
    }

    /// Marks a change made under a new state version (controller mode).
    pub fn next_with_state(&mut self, state_version: i64) {
        self.next();
        self.state_version = state_version;
    }
}

impl ToJson for DataVersion {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("counter", self.counter.to_json_tree()),
            ("stateVersion", self.state_version.to_json_tree()),
            ("timestamp", self.timestamp.to_json_tree()),
        ])
    }
}

impl FromJsonValue for DataVersion {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(DataVersion {
            state_version: f.get("stateVersion")?,
            timestamp: f.get("timestamp")?,
            counter: f.get("counter")?,
        })
    }
}

json_body!(DataVersion);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_java() {
        let v = DataVersion { state_version: 0, timestamp: 1700000000000, counter: 3 };
        assert_eq!(v.to_json(), br#"{"counter":3,"stateVersion":0,"timestamp":1700000000000}"#);
        assert_eq!(DataVersion::from_json(&v.to_json()).unwrap(), v);
    }

    #[test]
    fn next_bumps_counter_and_time() {
        let mut v = DataVersion::default();
        v.next();
        assert_eq!(v.counter, 1);
        assert!(v.timestamp > 0);
        v.next_with_state(4);
        assert_eq!((v.counter, v.state_version), (2, 4));
    }

    #[test]
    fn accepts_strings_and_missing_keys() {
        let v = DataVersion::from_json(br#"{"counter":"7","extra":[1]}"#).unwrap();
        assert_eq!(v, DataVersion { counter: 7, ..DataVersion::default() });
    }
}
