//! Which settings UPDATE_BROKER_CONFIG may change while the broker runs, and applying a
//! change to a `BrokerConfig` as one unit: every key is checked, and the result validated,
//! before anything takes effect.
//!
//! RocketMQ's rules, kept: a key on the black list (`configBlackList`, plus
//! `brokerConfigPath`, `rocketmqHome` and `configBlackList` itself) refuses the whole request
//! with `NO_PERMISSION` "Can not update config in black list."; unknown keys are ignored.
//! FerroMQ's additions: a setting read only at start is refused the same way (RocketMQ would
//! store it and leave it without effect until a restart) unless its value is the running
//! one, so a whole GET_BROKER_CONFIG text can be sent back with one line changed; a value
//! that does not parse or fails `BrokerConfig::validate` is refused with
//! `INVALID_PARAMETER` (RocketMQ silently keeps the old value).

use std::collections::BTreeMap;

use ferromq_protocol::ResponseCode;
use serde_json::{Map, Value};

use super::properties::value_text;
use super::BrokerConfig;
use crate::error::BrokerError;

/// Keys that can never be updated by a request, whatever `configBlackList` says.
pub const ALWAYS_BLACK_LISTED: [&str; 3] = ["brokerConfigPath", "rocketmqHome", "configBlackList"];

/// RocketMQ's remark for a black-listed key.
pub const BLACK_LIST_REMARK: &str = "Can not update config in black list.";

/// Settings the broker reads per request or per housekeeping tick, so a change takes effect
/// at once. Everything else is read at start only.
pub const RUNTIME_KEYS: [&str; 15] = [
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "brokerPermission",
    "longPollingEnable",
    "shortPollingTimeMills",
    "maxTransferCountOnMessageInMemory",
    "maxTransferBytesOnMessageInMemory",
    "regionId",
    "traceOn",
    "rebalanceLockMaxLiveTime",
    "channelExpiredTimeout",
    "registerNameServerPeriod",
    "flushConsumerOffsetInterval",
    "flushDelayOffsetInterval",
    "syncFlushTimeout",
];

/// A checked change.
#[derive(Debug)]
pub struct Change {
    /// The configuration with the change applied (validated).
    pub config: BrokerConfig,
    /// The runtime settings the request set, with their values as the broker renders them.
    pub applied: BTreeMap<String, String>,
    /// Keys the broker does not know (ignored, as RocketMQ ignores them).
    pub ignored: Vec<String>,
}

/// Applies `pairs` to `current`, or refuses the whole change.
pub fn apply(
    current: &BrokerConfig,
    pairs: &BTreeMap<String, String>,
) -> Result<Change, BrokerError> {
    let black_list = black_list(current);
    if pairs.keys().any(|key| black_list.contains(&key.as_str())) {
        return Err(BrokerError::refused(ResponseCode::NO_PERMISSION, BLACK_LIST_REMARK));
    }
    let mut map = to_map(current)?;
    let mut applied = Vec::new();
    let mut start_only = Vec::new();
    let mut ignored = Vec::new();
    for (key, text) in pairs {
        let Some(existing) = map.get(key) else {
            ignored.push(key.clone());
            continue;
        };
        let value = typed(existing, text).map_err(|reason| invalid(key, text, &reason));
        if !RUNTIME_KEYS.contains(&key.as_str()) {
            if value.as_ref().ok() != Some(existing) {
                start_only.push(key.as_str());
            }
            continue;
        }
        let value = value?;
        map.insert(key.clone(), value);
        // Deserialized key by key so that a value out of the field's range is named.
        serde_json::from_value::<BrokerConfig>(Value::Object(map.clone()))
            .map_err(|e| invalid(key, text, &e.to_string()))?;
        applied.push(key.clone());
    }
    if !start_only.is_empty() {
        return Err(BrokerError::refused(
            ResponseCode::NO_PERMISSION,
            format!(
                "Can not update {} while the broker runs: read only at start; set it in the \
                 broker's config file and restart. Nothing was changed.",
                start_only.join(", ")
            ),
        ));
    }
    let config: BrokerConfig = serde_json::from_value(Value::Object(map.clone()))
        .map_err(|e| BrokerError::refused(ResponseCode::INVALID_PARAMETER, e.to_string()))?;
    config.validate().map_err(|e| {
        BrokerError::refused(ResponseCode::INVALID_PARAMETER, format!("{e}; nothing was changed"))
    })?;
    let applied = applied
        .into_iter()
        .map(|key| {
            let value = map.get(&key).map(value_text).unwrap_or_default();
            (key, value)
        })
        .collect();
    Ok(Change { config, applied, ignored })
}

/// Every setting under its RocketMQ name, store settings included.
pub fn to_map(config: &BrokerConfig) -> Result<Map<String, Value>, BrokerError> {
    match serde_json::to_value(config) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(BrokerError::Config("the configuration is not a key-value map".into())),
        Err(e) => Err(BrokerError::Config(format!("cannot render the configuration: {e}"))),
    }
}

/// The keys no request may change.
fn black_list(config: &BrokerConfig) -> Vec<&str> {
    let configured = config.config_black_list.split(';').map(str::trim).filter(|k| !k.is_empty());
    ALWAYS_BLACK_LISTED.into_iter().chain(configured).collect()
}

/// `text` as a value of the same JSON type as the setting's current value.
fn typed(existing: &Value, text: &str) -> Result<Value, String> {
    match existing {
        Value::Bool(_) if text.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
        Value::Bool(_) if text.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
        Value::Bool(_) => Err("expected true or false".into()),
        Value::Number(n) if n.is_f64() => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "expected a number".into()),
        Value::Number(_) => {
            if let Ok(i) = text.parse::<i64>() {
                Ok(Value::from(i))
            } else if let Ok(u) = text.parse::<u64>() {
                Ok(Value::from(u))
            } else {
                Err("expected an integer".into())
            }
        }
        Value::String(_) => Ok(Value::String(text.to_string())),
        _ => Err("this setting cannot be given as text".into()),
    }
}

fn invalid(key: &str, text: &str, reason: &str) -> BrokerError {
    BrokerError::refused(
        ResponseCode::INVALID_PARAMETER,
        format!("invalid value `{text}` for {key}: {reason}; nothing was changed"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn refusal(result: Result<Change, BrokerError>) -> (ResponseCode, String) {
        match result {
            Ok(change) => panic!("accepted: {change:?}"),
            Err(e) => (e.response_code(), e.to_string()),
        }
    }

    #[test]
    fn runtime_settings_change_and_unknown_keys_are_ignored() {
        let current = BrokerConfig::default();
        let change = apply(
            &current,
            &pairs(&[
                ("brokerPermission", "4"),
                ("traceOn", "FALSE"),
                ("regionId", "east"),
                ("noSuchSetting", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(change.config.broker_permission, 4);
        assert!(!change.config.trace_on);
        assert_eq!(change.config.region_id, "east");
        assert_eq!(change.ignored, vec!["noSuchSetting"]);
        let applied: Vec<_> =
            change.applied.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            applied,
            [("brokerPermission", "4"), ("regionId", "east"), ("traceOn", "false")]
        );
        // The store's flattened settings are reachable too.
        let change = apply(&current, &pairs(&[("syncFlushTimeout", "7000")])).unwrap();
        assert_eq!(change.config.store.sync_flush_timeout, 7000);
    }

    #[test]
    fn black_listed_keys_refuse_the_whole_request() {
        let current = BrokerConfig {
            config_black_list: "regionId; traceOn".into(),
            ..BrokerConfig::default()
        };
        for key in ["brokerConfigPath", "rocketmqHome", "configBlackList", "regionId", "traceOn"] {
            let (code, remark) =
                refusal(apply(&current, &pairs(&[("brokerPermission", "4"), (key, "x")])));
            assert_eq!(code, ResponseCode::NO_PERMISSION, "{key}");
            assert_eq!(remark, BLACK_LIST_REMARK);
        }
    }

    #[test]
    fn start_only_settings_are_refused_unless_unchanged() {
        let current = BrokerConfig::default();
        let (code, remark) = refusal(apply(
            &current,
            &pairs(&[
                ("brokerPermission", "4"),
                ("listenPort", "20911"),
                ("flushDiskType", "SYNC_FLUSH"),
            ]),
        ));
        assert_eq!(code, ResponseCode::NO_PERMISSION);
        assert!(
            remark.contains("flushDiskType, listenPort") && remark.contains("restart"),
            "{remark}"
        );
        // The running value is accepted as a no-op.
        let change = apply(
            &current,
            &pairs(&[("listenPort", "10911"), ("brokerName", "broker-a"), ("traceOn", "false")]),
        )
        .unwrap();
        assert_eq!(change.applied.keys().collect::<Vec<_>>(), ["traceOn"]);
    }

    #[test]
    fn bad_values_are_refused() {
        let current = BrokerConfig::default();
        for (key, value, needle) in [
            ("brokerPermission", "rw", "expected an integer"),
            ("brokerPermission", "9", "not a valid permission"),
            ("traceOn", "yes", "expected true or false"),
            ("shortPollingTimeMills", "-1", "shortPollingTimeMills"),
            ("maxTransferCountOnMessageInMemory", "0", "maxTransferCountOnMessageInMemory"),
        ] {
            let (code, remark) = refusal(apply(&current, &pairs(&[(key, value)])));
            assert_eq!(code, ResponseCode::INVALID_PARAMETER, "{key}={value}");
            assert!(remark.contains(needle), "{key}={value}: {remark}");
        }
    }

    #[test]
    fn every_runtime_key_is_a_setting() {
        let map = to_map(&BrokerConfig::default()).unwrap();
        for key in RUNTIME_KEYS {
            assert!(map.contains_key(key), "{key}");
        }
    }
}
