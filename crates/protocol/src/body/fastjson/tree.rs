//! The JSON tree the body encoders build, and its rendering in fastjson's or standard syntax.
//!
//! fastjson writes a map key that is not a `String` without quotes (`{0:"a"}`) and a key that
//! is a bean as a raw object (`{{"queueId":0}:1}`); neither is valid RFC 8259 JSON. With
//! `BrowserCompatible` (standard style) those keys become quoted strings, `/` and every
//! non-ASCII UTF-16 unit are escaped, and longs beyond ±(2^53 − 1) are quoted.

use std::collections::{BTreeMap, BTreeSet};

use super::double::java_double;

/// Which of fastjson's two renderings to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum JsonStyle {
    /// fastjson's default features: integer map keys unquoted, bean keys as raw objects.
    #[default]
    Fastjson,
    /// `BrowserCompatible` (+ `MapSortField`): valid JSON, every map key a string.
    Standard,
}

/// A JSON value as fastjson models it.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// Left out of objects and maps (fastjson skips nulls); `null` inside arrays.
    Null,
    Bool(bool),
    Int(i64),
    /// Written like Java's `Double.toString`; NaN and infinities become null.
    Double(f64),
    Str(String),
    Array(Vec<Json>),
    /// Entries in the order given; [`Json::bean`] sorts them.
    Object(Vec<(Key, Json)>),
}

/// A map key.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    /// A `Long`/`Integer` key: unquoted in fastjson style.
    Int(i64),
    /// A bean key such as `MessageQueue`: a raw object in fastjson style.
    Object(Box<Json>),
}

/// The largest long that `BrowserCompatible` writes as a bare number.
const MAX_SAFE_LONG: i64 = 9_007_199_254_740_991;

impl Json {
    /// A Java bean: keys sorted (fastjson `SortField`), null properties left out.
    pub fn bean<'a>(fields: impl IntoIterator<Item = (&'a str, Json)>) -> Json {
        let mut fields: Vec<(&str, Json)> =
            fields.into_iter().filter(|(_, v)| *v != Json::Null).collect();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        Json::Object(fields.into_iter().map(|(k, v)| (Key::Str(k.to_owned()), v)).collect())
    }

    /// Renders the tree in `style`.
    pub fn render(&self, style: JsonStyle) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut out, style);
        out
    }

    /// Appends the rendering of the tree in `style` to `out`.
    pub fn write(&self, out: &mut Vec<u8>, style: JsonStyle) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Json::Int(n) => {
                let quote =
                    style == JsonStyle::Standard && !(-MAX_SAFE_LONG..=MAX_SAFE_LONG).contains(n);
                if quote {
                    out.push(b'"');
                }
                out.extend_from_slice(n.to_string().as_bytes());
                if quote {
                    out.push(b'"');
                }
            }
            Json::Double(d) => match java_double(*d) {
                Some(text) => out.extend_from_slice(text.as_bytes()),
                None => out.extend_from_slice(b"null"),
            },
            Json::Str(s) => write_string(out, s, style),
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out, style);
                }
                out.push(b']');
            }
            Json::Object(entries) => {
                out.push(b'{');
                let mut first = true;
                for (key, value) in entries.iter().filter(|(_, v)| *v != Json::Null) {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    key.write(out, style);
                    out.push(b':');
                    value.write(out, style);
                }
                out.push(b'}');
            }
        }
    }
}

impl Key {
    fn write(&self, out: &mut Vec<u8>, style: JsonStyle) {
        match (self, style) {
            (Key::Str(s), _) => write_string(out, s, style),
            (Key::Int(n), JsonStyle::Fastjson) => out.extend_from_slice(n.to_string().as_bytes()),
            (Key::Int(n), JsonStyle::Standard) => write_string(out, &n.to_string(), style),
            (Key::Object(v), JsonStyle::Fastjson) => v.write(out, style),
            (Key::Object(v), JsonStyle::Standard) => {
                // fastjson turns the key into text with its default features, then writes
                // that text as a string.
                let text = v.render(JsonStyle::Fastjson);
                write_string(out, &String::from_utf8_lossy(&text), style);
            }
        }
    }
}

fn push_unicode_escape(out: &mut Vec<u8>, unit: u16) {
    // Upper-case hex digits, as fastjson's `IOUtils.DIGITS`.
    out.extend_from_slice(format!("\\u{unit:04X}").as_bytes());
}

/// Writes `s` as a quoted string with the escapes fastjson uses in `style`.
fn write_string(out: &mut Vec<u8>, s: &str, style: JsonStyle) {
    out.push(b'"');
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let two_char = match c {
            '"' => Some(b'"'),
            '\\' => Some(b'\\'),
            '\u{8}' => Some(b'b'),
            '\t' => Some(b't'),
            '\n' => Some(b'n'),
            '\u{c}' => Some(b'f'),
            '\r' => Some(b'r'),
            '/' if style == JsonStyle::Standard => Some(b'/'),
            _ => None,
        };
        if let Some(e) = two_char {
            out.push(b'\\');
            out.push(e);
            continue;
        }
        let code = u32::from(c);
        let escape = match style {
            JsonStyle::Fastjson => code < 0x20 || (0x7F..0xA0).contains(&code) || code == 0x2028,
            JsonStyle::Standard => !(0x20..0x7F).contains(&code),
        };
        if escape {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_unicode_escape(out, *unit);
            }
        } else {
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out.push(b'"');
}

/// A value that has a fastjson JSON form.
pub trait ToJson {
    /// The tree fastjson would serialise for this value.
    fn to_json_tree(&self) -> Json;
}

/// A value that can be a map key.
pub trait ToJsonKey {
    /// The key fastjson would write for this value.
    fn to_json_key(&self) -> Key;
}

impl ToJson for bool {
    fn to_json_tree(&self) -> Json {
        Json::Bool(*self)
    }
}

impl ToJson for i32 {
    fn to_json_tree(&self) -> Json {
        Json::Int(i64::from(*self))
    }
}

impl ToJson for i64 {
    fn to_json_tree(&self) -> Json {
        Json::Int(*self)
    }
}

impl ToJson for f64 {
    fn to_json_tree(&self) -> Json {
        Json::Double(*self)
    }
}

impl ToJson for String {
    fn to_json_tree(&self) -> Json {
        Json::Str(self.clone())
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json_tree(&self) -> Json {
        self.as_ref().map_or(Json::Null, ToJson::to_json_tree)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json_tree(&self) -> Json {
        Json::Array(self.iter().map(ToJson::to_json_tree).collect())
    }
}

impl<T: ToJson> ToJson for BTreeSet<T> {
    fn to_json_tree(&self) -> Json {
        Json::Array(self.iter().map(ToJson::to_json_tree).collect())
    }
}

impl<K: ToJsonKey, V: ToJson> ToJson for BTreeMap<K, V> {
    fn to_json_tree(&self) -> Json {
        Json::Object(self.iter().map(|(k, v)| (k.to_json_key(), v.to_json_tree())).collect())
    }
}

impl ToJsonKey for String {
    fn to_json_key(&self) -> Key {
        Key::Str(self.clone())
    }
}

impl ToJsonKey for i32 {
    fn to_json_key(&self) -> Key {
        Key::Int(i64::from(*self))
    }
}

impl ToJsonKey for i64 {
    fn to_json_key(&self) -> Key {
        Key::Int(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Json, style: JsonStyle) -> String {
        String::from_utf8(v.render(style)).unwrap()
    }

    #[test]
    fn beans_sort_keys_and_skip_nulls() {
        let v = Json::bean([
            ("topic", Json::Str("t".into())),
            ("brokerName", Json::Str("b".into())),
            ("zoneName", Json::Null),
            ("queueId", Json::Int(0)),
        ]);
        assert_eq!(text(&v, JsonStyle::Fastjson), r#"{"brokerName":"b","queueId":0,"topic":"t"}"#);
    }

    #[test]
    fn keys_follow_the_style() {
        let mq = Json::bean([("queueId", Json::Int(1))]);
        let v = Json::Object(vec![
            (Key::Int(0), Json::Str("a".into())),
            (Key::Object(Box::new(mq)), Json::Int(7)),
        ]);
        assert_eq!(text(&v, JsonStyle::Fastjson), r#"{0:"a",{"queueId":1}:7}"#);
        assert_eq!(text(&v, JsonStyle::Standard), r#"{"0":"a","{\"queueId\":1}":7}"#);
    }

    #[test]
    fn escapes_like_fastjson() {
        let s = Json::Str("a/\"\\\n\u{1}\u{b}é\u{7f}\u{2028}😀".into());
        assert_eq!(
            text(&s, JsonStyle::Fastjson),
            "\"a/\\\"\\\\\\n\\u0001\\u000Bé\\u007F\\u2028😀\""
        );
        assert_eq!(
            text(&s, JsonStyle::Standard),
            "\"a\\/\\\"\\\\\\n\\u0001\\u000B\\u00E9\\u007F\\u2028\\uD83D\\uDE00\""
        );
    }

    #[test]
    fn big_longs_are_quoted_only_in_standard_style() {
        let v = Json::Array(vec![Json::Int(MAX_SAFE_LONG), Json::Int(MAX_SAFE_LONG + 1)]);
        assert_eq!(text(&v, JsonStyle::Fastjson), "[9007199254740991,9007199254740992]");
        assert_eq!(text(&v, JsonStyle::Standard), "[9007199254740991,\"9007199254740992\"]");
    }

    #[test]
    fn doubles_and_nulls() {
        let v = Json::Array(vec![Json::Double(0.0), Json::Double(f64::NAN), Json::Null]);
        assert_eq!(text(&v, JsonStyle::Fastjson), "[0.0,null,null]");
        let m = Json::Object(vec![(Key::Str("a".into()), Json::Null)]);
        assert_eq!(text(&m, JsonStyle::Fastjson), "{}");
    }
}
