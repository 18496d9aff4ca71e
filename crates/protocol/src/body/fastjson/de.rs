//! `#[serde(deserialize_with = …)]` helpers with fastjson's leniency, for serde-derived types.
//!
//! ```
//! use ferromq_protocol::body::fastjson::de;
//! #[derive(serde::Deserialize)]
//! #[serde(rename_all = "camelCase")]
//! struct Header {
//!     #[serde(default, deserialize_with = "de::lenient")]
//!     queue_id: i32,
//!     #[serde(default, deserialize_with = "de::lenient")]
//!     order: bool,
//! }
//! let h: Header = serde_json::from_str(r#"{"queueId":"3","order":"true"}"#).unwrap();
//! assert_eq!((h.queue_id, h.order), (3, true));
//! ```
//! Pair each with `#[serde(default)]` so that a missing key takes the default too.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::lenient::FromJsonValue;

/// Any [`FromJsonValue`] type: null becomes the default, numbers, strings and booleans stand
/// in for each other.
pub fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromJsonValue + Default,
{
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(T::default());
    }
    T::from_json_value(&v).map_err(D::Error::custom)
}

/// An `i32` from a number or a numeric string; null is 0.
pub fn i32_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    lenient(d)
}

/// An `i64` from a number or a numeric string; null is 0.
pub fn i64_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    lenient(d)
}

/// A `bool` from a boolean, `"true"`/`"false"`, or 1/0; null is false.
pub fn bool_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    lenient(d)
}

/// A `String` from a string, or the text of a number or boolean; null is empty.
pub fn string_from_any<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient(d)
}

/// Any `Deserialize + Default` type, with null taken as the default.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Sample {
        #[serde(deserialize_with = "i32_from_any")]
        read_queue_nums: i32,
        #[serde(deserialize_with = "i64_from_any")]
        offset: i64,
        #[serde(deserialize_with = "bool_from_any")]
        order: bool,
        #[serde(deserialize_with = "string_from_any")]
        name: String,
        #[serde(deserialize_with = "null_as_default")]
        tags: Vec<String>,
    }

    #[test]
    fn reads_like_fastjson() {
        let s: Sample = serde_json::from_str(
            r#"{"readQueueNums":"8","offset":12,"order":"true","name":5,"tags":null,"x":{}}"#,
        )
        .unwrap();
        assert_eq!(
            s,
            Sample { read_queue_nums: 8, offset: 12, order: true, name: "5".into(), tags: vec![] }
        );
        let s: Sample = serde_json::from_str(r#"{"readQueueNums":null}"#).unwrap();
        assert_eq!(s, Sample::default());
        assert!(serde_json::from_str::<Sample>(r#"{"offset":[]}"#).is_err());
    }
}
