//! Turns fastjson text into standard JSON that `serde_json` parses.
//!
//! | fastjson input                         | standard output                          |
//! |----------------------------------------|------------------------------------------|
//! | `{0:"a"}` (unquoted key)               | `{"0":"a"}`                              |
//! | `{{"queueId":0,"topic":"t"}:5}`        | `{"{\"queueId\":0,\"topic\":\"t\"}":5}`   |
//! | `{'k':'it''s'}` (single quotes)        | `{"k":"it's"}`                           |
//! | `[1,2,]`, `{"a":1,,}` (extra commas)   | `[1,2]`, `{"a":1}`                       |
//! | raw control characters, `\x41`, `\v`   | `\u0000`-style escapes                   |
//! | a lone UTF-16 surrogate escape         | `\uFFFD`                                 |
//!
//! An object or array used as a key becomes its compact JSON text as a string key. Anything
//! the normaliser accepts is valid JSON; anything else is an error, never a panic. Nesting
//! deeper than [`MAX_DEPTH`] is refused so that no input can exhaust the stack.

use crate::error::{ProtocolError, Result};

/// The deepest nesting of objects and arrays accepted (serde_json allows 128).
pub const MAX_DEPTH: usize = 100;

/// Normalises fastjson (or standard) JSON text into standard JSON.
pub fn normalize(bytes: &[u8]) -> Result<String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ProtocolError::MalformedBody(format!("body is not UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut n = Normalizer { src: text, pos: 0, out: String::with_capacity(text.len() + 16) };
    n.skip_ws();
    n.value(0)?;
    n.skip_ws();
    if n.pos < text.len() {
        return Err(n.error("trailing characters after the JSON value"));
    }
    Ok(n.out)
}

struct Normalizer<'a> {
    src: &'a str,
    pos: usize,
    out: String,
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"' | b'\'' | b' ' | b'\t' | b'\n' | b'\r'
    ) || b == 0x0c
        || b == 0x08
}

impl<'a> Normalizer<'a> {
    fn error(&self, what: &str) -> ProtocolError {
        ProtocolError::MalformedBody(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x08)) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", char::from(b))))
        }
    }

    fn value(&mut self, depth: usize) -> Result<()> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(q @ (b'"' | b'\'')) => self.string(q),
            Some(_) => {
                let token = self.token();
                if matches!(token, "true" | "false" | "null") || is_number(token) {
                    self.out.push_str(token);
                    Ok(())
                } else {
                    Err(self.error(&format!("unexpected token {token:?}")))
                }
            }
            None => Err(self.error("unexpected end of input")),
        }
    }

    /// A bare word: a number, a literal, or an unquoted key. May be empty.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delimiter(b)) {
            self.pos += 1;
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    fn check_depth(&self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            Err(self.error("JSON nested too deeply"))
        } else {
            Ok(())
        }
    }

    /// Skips commas (fastjson tolerates repeated and trailing ones) and whitespace. Returns
    /// whether at least one comma was seen.
    fn separators(&mut self) -> bool {
        let mut seen = false;
        loop {
            self.skip_ws();
            if self.peek() == Some(b',') {
                self.pos += 1;
                seen = true;
            } else {
                return seen;
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<()> {
        self.check_depth(depth)?;
        self.expect(b'{')?;
        self.out.push('{');
        self.separators();
        let mut first = true;
        while self.peek() != Some(b'}') {
            if !first {
                self.out.push(',');
            }
            first = false;
            self.key(depth)?;
            self.skip_ws();
            self.expect(b':')?;
            self.out.push(':');
            self.skip_ws();
            self.value(depth)?;
            if !self.separators() && self.peek() != Some(b'}') {
                return Err(self.error("expected `,` or `}`"));
            }
        }
        self.pos += 1;
        self.out.push('}');
        Ok(())
    }

    fn key(&mut self, depth: usize) -> Result<()> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q),
            Some(b'{' | b'[') => {
                // An object key (fastjson's rendering of a bean key): its compact text
                // becomes a string key.
                let outer = std::mem::take(&mut self.out);
                let nested = self.value(depth);
                let inner = std::mem::replace(&mut self.out, outer);
                nested?;
                self.push_string(&inner)
            }
            Some(_) => {
                let token = self.token();
                if token.is_empty() {
                    return Err(self.error("expected an object key"));
                }
                self.push_string(token)
            }
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn push_string(&mut self, s: &str) -> Result<()> {
        let quoted = serde_json::to_string(s)
            .map_err(|e| ProtocolError::MalformedBody(format!("cannot quote a key: {e}")))?;
        self.out.push_str(&quoted);
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<()> {
        self.check_depth(depth)?;
        self.expect(b'[')?;
        self.out.push('[');
        self.separators();
        let mut first = true;
        while self.peek() != Some(b']') {
            if !first {
                self.out.push(',');
            }
            first = false;
            self.value(depth)?;
            if !self.separators() && self.peek() != Some(b']') {
                return Err(self.error("expected `,` or `]`"));
            }
        }
        self.pos += 1;
        self.out.push(']');
        Ok(())
    }

    fn hex(&mut self, len: usize) -> Result<u32> {
        let digits = self
            .src
            .get(self.pos..self.pos + len)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("bad hex escape"))?;
        let value = u32::from_str_radix(digits, 16).map_err(|_| self.error("bad hex escape"))?;
        self.pos += len;
        Ok(value)
    }

    fn push_unit(&mut self, unit: u32) {
        self.out.push_str(&format!("\\u{unit:04X}"));
    }

    /// A `\uXXXX` escape (the `\u` already consumed), pairing surrogates.
    fn unicode_escape(&mut self) -> Result<()> {
        let unit = self.hex(4)?;
        match unit {
            0xD800..=0xDBFF => {
                let low = self
                    .rest()
                    .strip_prefix("\\u")
                    .and_then(|r| r.get(..4))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .filter(|u| (0xDC00..=0xDFFF).contains(u));
                match low {
                    Some(low) => {
                        self.pos += 6;
                        self.push_unit(unit);
                        self.push_unit(low);
                    }
                    None => self.push_unit(0xFFFD),
                }
            }
            0xDC00..=0xDFFF => self.push_unit(0xFFFD),
            _ => self.push_unit(unit),
        }
        Ok(())
    }

    fn string(&mut self, quote: u8) -> Result<()> {
        self.pos += 1;
        self.out.push('"');
        loop {
            let c = self.rest().chars().next().ok_or_else(|| self.error("unterminated string"))?;
            self.pos += c.len_utf8();
            match c {
                _ if u32::from(c) == u32::from(quote) => {
                    self.out.push('"');
                    return Ok(());
                }
                '\\' => self.escape()?,
                '"' => self.out.push_str("\\\""),
                c if u32::from(c) < 0x20 => self.push_unit(u32::from(c)),
                c => self.out.push(c),
            }
        }
    }

    /// One escape sequence (the backslash already consumed).
    fn escape(&mut self) -> Result<()> {
        let e = self.peek().ok_or_else(|| self.error("unterminated string"))?;
        self.pos += 1;
        match e {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.out.push('\\');
                self.out.push(char::from(e));
            }
            b'\'' => self.out.push('\''),
            b'u' => self.unicode_escape()?,
            b'x' => {
                let unit = self.hex(2)?;
                self.push_unit(unit);
            }
            b'v' => self.push_unit(0x0B),
            b'0'..=b'7' => self.push_unit(u32::from(e - b'0')),
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape"));
            }
        }
        Ok(())
    }
}

/// Whether `s` is an RFC 8259 number whose value is finite.
fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len() && s.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn norm(s: &str) -> String {
        normalize(s.as_bytes()).unwrap()
    }

    #[test]
    fn quotes_integer_keys() {
        assert_eq!(
            norm(r#"{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"}}"#),
            r#"{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"}}"#
        );
        assert_eq!(norm("{-1 : 2}"), r#"{"-1":2}"#);
    }

    #[test]
    fn object_keys_become_their_text() {
        let text = r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t{:}\""}:{"x":1}}}"#;
        let v: Value = serde_json::from_str(&norm(text)).unwrap();
        let table = v["offsetTable"].as_object().unwrap();
        let (key, value) = table.iter().next().unwrap();
        assert_eq!(key, r#"{"brokerName":"b","queueId":0,"topic":"t{:}\""}"#);
        assert_eq!(value["x"], 1);
        // Whitespace inside the key object is dropped.
        assert_eq!(norm("{ { \"a\" : [ 1 , 2 ] } : 1 }"), r#"{"{\"a\":[1,2]}":1}"#);
    }

    #[test]
    fn single_quotes_and_odd_escapes() {
        assert_eq!(norm(r#"{'a':'x"y\'z'}"#), r#"{"a":"x\"y'z"}"#);
        assert_eq!(norm("[\"a\u{1}b\"]"), r#"["a\u0001b"]"#);
        assert_eq!(norm(r#"["\x41\v\0"]"#), r#"["\u0041\u000B\u0000"]"#);
        assert_eq!(
            norm(r#"["\ud83d\ude00","\ud83d","\ude00x"]"#),
            r#"["\uD83D\uDE00","\uFFFD","\uFFFDx"]"#
        );
        assert_eq!(norm(r#"{unquoted:true}"#), r#"{"unquoted":true}"#);
    }

    #[test]
    fn tolerates_extra_commas() {
        assert_eq!(norm("[1,2,]"), "[1,2]");
        assert_eq!(norm("[,1,,2]"), "[1,2]");
        assert_eq!(norm("{\"a\":1,,}"), r#"{"a":1}"#);
        assert_eq!(norm("{,}"), "{}");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "{",
            "[1 2]",
            "{\"a\" 1}",
            "{\"a\":}",
            "nope",
            "01",
            "1e999",
            "\"abc",
            "[\"\\q\"]",
            "{}x",
            "{:1}",
            "[1,2}",
            "\u{ff}",
        ] {
            assert!(normalize(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(normalize(&[0xff, 0xfe]).is_err());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(normalize(deep.as_bytes()).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(normalize(ok.as_bytes()).is_ok());
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[{}\\[\\]:,'\"\\\\ a-z0-9]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn standard_json_keeps_its_meaning(v in arb_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let direct: Value = serde_json::from_str(&text).unwrap();
            let normalised: Value = serde_json::from_str(&norm(&text)).unwrap();
            prop_assert_eq!(direct, normalised);
        }

        #[test]
        fn garbage_never_panics_and_output_is_json(s in "[{}\\[\\]:,'\"\\\\ \\-+.eE0-9a-z\u{1}\u{e9}]{0,40}") {
            if let Ok(out) = normalize(s.as_bytes()) {
                prop_assert!(serde_json::from_str::<Value>(&out).is_ok(), "{:?} -> {:?}", s, out);
            }
        }

        #[test]
        fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(out) = normalize(&b) {
                prop_assert!(serde_json::from_str::<Value>(&out).is_ok());
            }
        }
    }
}
