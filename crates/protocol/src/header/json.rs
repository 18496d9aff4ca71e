//! The JSON header: fastjson's rendering of `RemotingCommand`, keys sorted, nulls left out.
//!
//! ```text
//! {"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":42,
//!  "remark":"…","serializeTypeCurrentRPC":"JSON","version":479}
//! ```
//! Decoding is lenient the way fastjson is: unknown keys are ignored, missing ones take their
//! defaults, and numbers and strings stand in for each other.

use serde_json::{Map, Value};

use super::HeaderFields;
use crate::error::{ProtocolError, Result};
use crate::{ExtFields, LanguageCode, RemotingCommand};

pub(crate) fn encode_json_header(h: &RemotingCommand, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"code\":");
    out.extend_from_slice(h.code.to_string().as_bytes());
    if !h.ext_fields.is_empty() {
        out.extend_from_slice(b",\"extFields\":{");
        for (i, (k, v)) in h.ext_fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_json_string(out, k);
            out.push(b':');
            push_json_string(out, v);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b",\"flag\":");
    out.extend_from_slice(h.flag.to_string().as_bytes());
    out.extend_from_slice(b",\"language\":\"");
    out.extend_from_slice(h.language.name().as_bytes());
    out.extend_from_slice(b"\",\"opaque\":");
    out.extend_from_slice(h.opaque.to_string().as_bytes());
    if let Some(remark) = &h.remark {
        out.extend_from_slice(b",\"remark\":");
        push_json_string(out, remark);
    }
    out.extend_from_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    out.extend_from_slice(h.version.to_string().as_bytes());
    out.push(b'}');
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // Writing a `&str` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

pub(crate) fn decode_json_header(bytes: &[u8]) -> Result<HeaderFields> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ProtocolError::MalformedHeader(format!("JSON header: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ProtocolError::MalformedHeader("JSON header is not an object".into()));
    };
    Ok(HeaderFields {
        code: int_field(&map, "code")?,
        language: match map.get("language") {
            Some(Value::String(name)) => LanguageCode::from_name(name),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .map(LanguageCode::from_code)
                .unwrap_or(LanguageCode::Other),
            _ => LanguageCode::Java,
        },
        version: int_field(&map, "version")?,
        opaque: int_field(&map, "opaque")?,
        flag: int_field(&map, "flag")?,
        remark: match map.get("remark") {
            Some(Value::Null) | None => None,
            Some(v) => scalar_text(v),
        },
        ext_fields: match map.get("extFields") {
            Some(Value::Object(fields)) => {
                fields.iter().filter_map(|(k, v)| scalar_text(v).map(|v| (k.clone(), v))).collect()
            }
            Some(Value::Null) | None => ExtFields::new(),
            Some(_) => {
                return Err(ProtocolError::MalformedHeader("extFields is not an object".into()))
            }
        },
    })
}

/// An integer field that fastjson would accept: a number, a numeric string, or absent (0).
fn int_field(map: &Map<String, Value>, key: &'static str) -> Result<i32> {
    let bad = || ProtocolError::MalformedHeader(format!("`{key}` is not a 32-bit integer"));
    match map.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// The text of a scalar as Java's `toString()` would give it; `None` for null and containers.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_java_example() {
        let text = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let h = decode_json_header(text).unwrap();
        assert_eq!(h.code, 105);
        assert_eq!(h.opaque, 42);
        assert_eq!(h.version, 479);
        assert_eq!(h.language, LanguageCode::Java);
        assert_eq!(h.ext_fields.get("topic"), Some("TopicTest"));
        assert_eq!(h.remark, None);
    }

    #[test]
    fn encodes_keys_in_fastjson_order() {
        let mut cmd = RemotingCommand::response(crate::ResponseCode::TOPIC_NOT_EXIST)
            .with_remark("No topic route info in name server for the topic: T");
        cmd.opaque = 3;
        let mut out = Vec::new();
        encode_json_header(&cmd, &mut out);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#"{"code":17,"flag":1,"language":"JAVA","opaque":3,"remark":"No topic route info in name server for the topic: T","serializeTypeCurrentRPC":"JSON","version":479}"#
        );
        let h = decode_json_header(&out).unwrap();
        assert_eq!((h.code, h.opaque, h.flag), (17, 3, 1));
        assert_eq!(h.remark, cmd.remark);
    }

    #[test]
    fn is_lenient_like_fastjson() {
        let text =
            br#"{"code":"34","extFields":{"n":5,"b":true,"z":null},"opaque":1,"unknown":[1,2]}"#;
        let h = decode_json_header(text).unwrap();
        assert_eq!(h.code, 34);
        assert_eq!(h.flag, 0);
        assert_eq!(h.ext_fields.get("n"), Some("5"));
        assert_eq!(h.ext_fields.get("b"), Some("true"));
        assert_eq!(h.ext_fields.get("z"), None);
    }

    #[test]
    fn rejects_non_objects_and_bad_numbers() {
        assert!(decode_json_header(b"[1]").is_err());
        assert!(decode_json_header(b"{\"code\":1e99}").is_err());
        assert!(decode_json_header(b"{\"code\":").is_err());
    }
}
