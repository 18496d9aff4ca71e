//! The JSON header: fastjson's rendering of `RemotingCommand`, keys sorted, nulls left out.
//!
//! ```text
//! {"code":105,"extFields":{"topic":"T"},"flag":0,"language":"JAVA","opaque":42,
//!  "remark":"…","serializeTypeCurrentRPC":"JSON","version":479}
//! ```
//! Decoding is lenient the way fastjson is: unknown keys are ignored, missing ones take their
//! defaults, and numbers and strings stand in for each other.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

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
    serde_json::from_slice::<JsonHeader>(bytes)
        .map(|h| h.0)
        .map_err(|e| ProtocolError::MalformedHeader(format!("JSON header: {e}")))
}

/// A header decoded straight from the text, without an intermediate `serde_json::Value`:
/// ext fields go into [`ExtFields`] as they are read.
struct JsonHeader(HeaderFields);

impl<'de> Deserialize<'de> for JsonHeader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = JsonHeader;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<JsonHeader, A::Error> {
        let mut h = HeaderFields {
            code: 0,
            language: LanguageCode::Java,
            version: 0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
        };
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "code" => h.code = map.next_value::<Int<Code>>()?.0,
                "version" => h.version = map.next_value::<Int<Version>>()?.0,
                "opaque" => h.opaque = map.next_value::<Int<Opaque>>()?.0,
                "flag" => h.flag = map.next_value::<Int<Flag>>()?.0,
                "language" => h.language = map.next_value::<Language>()?.0,
                "remark" => h.remark = map.next_value::<Scalar>()?.0,
                "extFields" => h.ext_fields = map.next_value::<Fields>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(JsonHeader(h))
    }
}

/// The name of an integer field, for its error message.
trait FieldName {
    const NAME: &'static str;
}
struct Code;
struct Version;
struct Opaque;
struct Flag;
impl FieldName for Code {
    const NAME: &'static str = "code";
}
impl FieldName for Version {
    const NAME: &'static str = "version";
}
impl FieldName for Opaque {
    const NAME: &'static str = "opaque";
}
impl FieldName for Flag {
    const NAME: &'static str = "flag";
}

/// An integer field as fastjson accepts it: a number, a numeric string, or null (0).
struct Int<N>(i32, PhantomData<N>);

impl<'de, N: FieldName> Deserialize<'de> for Int<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(IntVisitor::<N>(PhantomData))
    }
}

struct IntVisitor<N>(PhantomData<N>);

impl<N: FieldName> IntVisitor<N> {
    fn bad<E: de::Error>() -> E {
        E::custom(format!("`{}` is not a 32-bit integer", N::NAME))
    }
}

impl<'de, N: FieldName> Visitor<'de> for IntVisitor<N> {
    type Value = Int<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` as a 32-bit integer", N::NAME)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Int<N>, E> {
        i32::try_from(v).map(|v| Int(v, PhantomData)).map_err(|_| Self::bad())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Int<N>, E> {
        i32::try_from(v).map(|v| Int(v, PhantomData)).map_err(|_| Self::bad())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Int<N>, E> {
        v.trim().parse().map(|v| Int(v, PhantomData)).map_err(|_| Self::bad())
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Int<N>, E> {
        Ok(Int(0, PhantomData))
    }
}

/// `language`: a name (`"JAVA"`), a code, or anything else (Java).
struct Language(LanguageCode);

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let code = match Scalar::deserialize_value(deserializer)? {
            ScalarValue::Text(name) => LanguageCode::from_name(&name),
            ScalarValue::Unsigned(n) => {
                u8::try_from(n).map(LanguageCode::from_code).unwrap_or(LanguageCode::Other)
            }
            ScalarValue::Signed(_) | ScalarValue::Float(_) => LanguageCode::Other,
            ScalarValue::Bool(_) | ScalarValue::None => LanguageCode::Java,
        };
        Ok(Language(code))
    }
}

/// A scalar as Java's `toString()` gives it; `None` for null, arrays and objects.
struct Scalar(Option<String>);

/// What a scalar value was.
enum ScalarValue {
    Text(String),
    Signed(i64),
    Unsigned(u64),
    Float(f64),
    Bool(bool),
    /// Null, an array or an object.
    None,
}

impl Scalar {
    fn deserialize_value<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<ScalarValue, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Ok(Scalar(match Scalar::deserialize_value(deserializer)? {
            ScalarValue::Text(s) => Some(s),
            ScalarValue::Signed(n) => Some(n.to_string()),
            ScalarValue::Unsigned(n) => Some(n.to_string()),
            // serde_json's own rendering of the number, as the text it came from.
            ScalarValue::Float(f) => Number::from_f64(f).map(|n| n.to_string()),
            ScalarValue::Bool(b) => Some(b.to_string()),
            ScalarValue::None => None,
        }))
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = ScalarValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::Text(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::Signed(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::Unsigned(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::Float(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::Bool(v))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<ScalarValue, E> {
        Ok(ScalarValue::None)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<ScalarValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ScalarValue::None)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<ScalarValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ScalarValue::None)
    }
}

/// `extFields`: an object of scalars (others are left out), or null.
struct Fields(ExtFields);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(FieldsVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("extFields as an object or null")
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Fields, E> {
        Ok(Fields(ExtFields::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Fields, A::Error> {
        let mut fields = ExtFields::new();
        while let Some(key) = map.next_key::<String>()? {
            if let Some(value) = map.next_value::<Scalar>()?.0 {
                fields.insert(key, value);
            }
        }
        Ok(Fields(fields))
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
    fn containers_in_ext_fields_are_left_out_and_escapes_decoded() {
        let text = br#"{"extFields":{"a":[1,{"x":2}],"o":{"k":"v"},"s":"line\nnext \u00e9","f":1.5,"big":18446744073709551615},"remark":{"r":1},"language":7,"code":-1}"#;
        let h = decode_json_header(text).unwrap();
        assert_eq!(h.ext_fields.get("a"), None);
        assert_eq!(h.ext_fields.get("o"), None);
        assert_eq!(h.ext_fields.get("s"), Some("line\nnext \u{e9}"));
        assert_eq!(h.ext_fields.get("f"), Some("1.5"));
        assert_eq!(h.ext_fields.get("big"), Some("18446744073709551615"));
        assert_eq!(h.ext_fields.len(), 3);
        assert_eq!(h.remark, None);
        assert_eq!(h.language, LanguageCode::from_code(7));
        assert_eq!(h.code, -1);
    }

    #[test]
    fn rejects_non_objects_and_bad_numbers() {
        assert!(decode_json_header(b"5").is_err());
        assert!(decode_json_header(b"{\"extFields\":[1]}").is_err());
        assert!(decode_json_header(b"{\"opaque\":4294967296}").is_err());
        assert!(decode_json_header(b"{} trailing").is_err());
        assert!(decode_json_header(b"[1]").is_err());
        assert!(decode_json_header(b"{\"code\":1e99}").is_err());
        assert!(decode_json_header(b"{\"code\":").is_err());
    }
}
