//! Lenient conversion from a parsed JSON value, the way fastjson binds JSON to Java beans.
//!
//! A missing key or `null` takes the field's default; unknown keys are ignored; numbers,
//! booleans and strings stand in for one another where the conversion is unambiguous
//! (`"8"` → 8, `1` → true, `"true"` → true, 8 → `"8"`). A value of an impossible shape (an
//! object where a number belongs) is an error naming the key.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::normalize::normalize;
use crate::error::{ProtocolError, Result};

/// A value that can be read leniently from JSON.
pub trait FromJsonValue: Sized {
    /// Converts a non-null value (callers map `null` to a default).
    fn from_json_value(v: &Value) -> Result<Self>;
}

/// A value that can be read from a JSON map key (always a string after normalisation).
pub trait FromJsonKey: Sized {
    /// Converts the key text.
    fn from_json_key(key: &str) -> Result<Self>;
}

fn bad(what: &str, v: &Value) -> ProtocolError {
    let mut shown = v.to_string();
    if shown.len() > 64 {
        let cut = (0..=64).rev().find(|i| shown.is_char_boundary(*i)).unwrap_or(0);
        shown.truncate(cut);
        shown.push('…');
    }
    ProtocolError::MalformedBody(format!("expected {what}, got {shown}"))
}

/// Parses fastjson or standard JSON text into a `serde_json` value.
pub fn parse(bytes: &[u8]) -> Result<Value> {
    let text = normalize(bytes)?;
    serde_json::from_str(&text).map_err(|e| ProtocolError::MalformedBody(e.to_string()))
}

/// Decodes a whole body: fastjson or standard text, leniently.
pub fn decode<T: FromJsonValue>(bytes: &[u8]) -> Result<T> {
    let value = parse(bytes)?;
    if !value.is_object() {
        return Err(bad("a JSON object", &value));
    }
    T::from_json_value(&value)
}

/// The properties of a JSON object, read leniently.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// Views `v` as an object; anything else is an error.
    pub fn of(v: &'a Value) -> Result<Self> {
        v.as_object().map(Fields).ok_or_else(|| bad("a JSON object", v))
    }

    /// The raw value of `key`, if present and not null.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// `key` converted, or `None` when missing or null.
    pub fn opt<T: FromJsonValue>(&self, key: &str) -> Result<Option<T>> {
        self.raw(key)
            .map(|v| {
                T::from_json_value(v).map_err(|e| match e {
                    ProtocolError::MalformedBody(m) => {
                        ProtocolError::MalformedBody(format!("`{key}`: {m}"))
                    }
                    other => other,
                })
            })
            .transpose()
    }

    /// `key` converted, or `default` when missing or null.
    pub fn get_or<T: FromJsonValue>(&self, key: &str, default: T) -> Result<T> {
        Ok(self.opt(key)?.unwrap_or(default))
    }

    /// `key` converted, or `T::default()` when missing or null.
    pub fn get<T: FromJsonValue + Default>(&self, key: &str) -> Result<T> {
        Ok(self.opt(key)?.unwrap_or_default())
    }
}

/// An integer as fastjson's `castToLong` reads it: a number (fractions truncated), a numeric
/// string, or a boolean. `None` for an empty string.
fn to_i64(v: &Value) -> Result<Option<i64>> {
    let from_f64 = |f: f64| {
        // Truncate like Java's `longValue()`; refuse what does not fit.
        if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
            Ok(Some(f.trunc() as i64))
        } else {
            Err(bad("a 64-bit integer", v))
        }
    };
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => from_f64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() || s == "null" {
                Ok(None)
            } else if let Ok(i) = s.parse::<i64>() {
                Ok(Some(i))
            } else {
                from_f64(s.parse::<f64>().map_err(|_| bad("a 64-bit integer", v))?)
            }
        }
        Value::Bool(b) => Ok(Some(i64::from(*b))),
        _ => Err(bad("an integer", v)),
    }
}

impl FromJsonValue for i64 {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(to_i64(v)?.unwrap_or(0))
    }
}

impl FromJsonValue for i32 {
    fn from_json_value(v: &Value) -> Result<Self> {
        let n = to_i64(v)?.unwrap_or(0);
        i32::try_from(n).map_err(|_| bad("a 32-bit integer", v))
    }
}

impl FromJsonValue for f64 {
    fn from_json_value(v: &Value) -> Result<Self> {
        match v {
            Value::Number(n) => n.as_f64().ok_or_else(|| bad("a number", v)),
            Value::String(s) if s.trim().is_empty() => Ok(0.0),
            Value::String(s) => s.trim().parse().map_err(|_| bad("a number", v)),
            _ => Err(bad("a number", v)),
        }
    }
}

impl FromJsonValue for bool {
    fn from_json_value(v: &Value) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
            Value::String(s) => {
                let s = s.trim();
                if s.eq_ignore_ascii_case("true") || s == "1" || s == "Y" || s == "T" {
                    Ok(true)
                } else if s.eq_ignore_ascii_case("false")
                    || s == "0"
                    || s == "N"
                    || s == "F"
                    || s.is_empty()
                    || s == "null"
                {
                    Ok(false)
                } else {
                    Err(bad("a boolean", v))
                }
            }
            _ => Err(bad("a boolean", v)),
        }
    }
}

impl FromJsonValue for String {
    fn from_json_value(v: &Value) -> Result<Self> {
        Ok(match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            // fastjson's castToString: a scalar's text, a container's JSON.
            other => other.to_string(),
        })
    }
}

impl<T: FromJsonValue> FromJsonValue for Option<T> {
    fn from_json_value(v: &Value) -> Result<Self> {
        if v.is_null() {
            Ok(None)
        } else {
            T::from_json_value(v).map(Some)
        }
    }
}

fn elements(v: &Value) -> Result<impl Iterator<Item = &Value>> {
    v.as_array()
        .map(|items| items.iter().filter(|item| !item.is_null()))
        .ok_or_else(|| bad("a JSON array", v))
}

/// Null elements are dropped (Rust collections hold no nulls).
impl<T: FromJsonValue> FromJsonValue for Vec<T> {
    fn from_json_value(v: &Value) -> Result<Self> {
        elements(v)?.map(T::from_json_value).collect()
    }
}

impl<T: FromJsonValue + Ord> FromJsonValue for BTreeSet<T> {
    fn from_json_value(v: &Value) -> Result<Self> {
        elements(v)?.map(T::from_json_value).collect()
    }
}

/// Entries with null values are dropped.
impl<K: FromJsonKey + Ord, V: FromJsonValue> FromJsonValue for BTreeMap<K, V> {
    fn from_json_value(v: &Value) -> Result<Self> {
        let map = v.as_object().ok_or_else(|| bad("a JSON object", v))?;
        map.iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(k, value)| Ok((K::from_json_key(k)?, V::from_json_value(value)?)))
            .collect()
    }
}

impl FromJsonKey for String {
    fn from_json_key(key: &str) -> Result<Self> {
        Ok(key.to_owned())
    }
}

fn int_key(key: &str) -> Result<i64> {
    key.trim()
        .parse()
        .map_err(|_| ProtocolError::MalformedBody(format!("map key {key:?} is not an integer")))
}

impl FromJsonKey for i64 {
    fn from_json_key(key: &str) -> Result<Self> {
        int_key(key)
    }
}

impl FromJsonKey for i32 {
    fn from_json_key(key: &str) -> Result<Self> {
        i32::try_from(int_key(key)?).map_err(|_| {
            ProtocolError::MalformedBody(format!("map key {key:?} is not a 32-bit integer"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_strings_and_booleans_stand_in_for_each_other() {
        assert_eq!(i32::from_json_value(&json!("8")).unwrap(), 8);
        assert_eq!(i32::from_json_value(&json!(" -3 ")).unwrap(), -3);
        assert_eq!(i32::from_json_value(&json!(7.9)).unwrap(), 7);
        assert_eq!(i32::from_json_value(&json!("")).unwrap(), 0);
        assert_eq!(i32::from_json_value(&json!(true)).unwrap(), 1);
        assert!(i32::from_json_value(&json!(1_i64 << 40)).is_err());
        assert!(i32::from_json_value(&json!({})).is_err());
        assert!(i64::from_json_value(&json!("x")).is_err());
        assert_eq!(i64::from_json_value(&json!("9007199254740993")).unwrap(), 9007199254740993);
        assert!(bool::from_json_value(&json!("true")).unwrap());
        assert!(!bool::from_json_value(&json!("FALSE")).unwrap());
        assert!(bool::from_json_value(&json!(1)).unwrap());
        assert!(bool::from_json_value(&json!("maybe")).is_err());
        assert_eq!(String::from_json_value(&json!(42)).unwrap(), "42");
        assert_eq!(String::from_json_value(&json!(false)).unwrap(), "false");
        assert_eq!(f64::from_json_value(&json!(0)).unwrap(), 0.0);
        assert_eq!(f64::from_json_value(&json!("12.5")).unwrap(), 12.5);
    }

    #[test]
    fn fields_default_missing_and_null_keys() {
        let v = json!({"a": null, "b": "5", "c": [1, null, "2"], "d": {"0": 1, "7": null}});
        let f = Fields::of(&v).unwrap();
        assert_eq!(f.get::<i32>("a").unwrap(), 0);
        assert_eq!(f.get_or::<i32>("a", 16).unwrap(), 16);
        assert_eq!(f.get_or::<i32>("missing", 16).unwrap(), 16);
        assert_eq!(f.get::<i32>("b").unwrap(), 5);
        assert_eq!(f.get::<Vec<i64>>("c").unwrap(), vec![1, 2]);
        let d: BTreeMap<i32, i64> = f.get("d").unwrap();
        assert_eq!(d, BTreeMap::from([(0, 1)]));
        let err = f.get::<Vec<i32>>("b").unwrap_err();
        assert!(err.to_string().contains("`b`"), "{err}");
        assert!(Fields::of(&json!([1])).is_err());
    }

    #[test]
    fn decode_wants_an_object() {
        assert!(decode::<BTreeMap<String, i32>>(b"[1]").is_err());
        assert!(decode::<BTreeMap<String, i32>>(b"").is_err());
        assert_eq!(
            decode::<BTreeMap<i32, String>>(b"{0:\"a\"}").unwrap(),
            BTreeMap::from([(0, "a".to_owned())])
        );
    }
}
