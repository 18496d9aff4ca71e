//! Java properties text, as GET_BROKER_CONFIG answers and UPDATE_BROKER_CONFIG sends it:
//! one `key=value` per line.
//!
//! ```text
//! # comment            (also `!`)
//! brokerPermission=4
//! traceOn : false      (`:` or whitespace also separate key and value)
//! ```
//! Parsing is the subset of `java.util.Properties.load` that RocketMQ's tools produce
//! (`MixAll.properties2String` writes plain `key=value` lines): no backslash escapes or
//! continuation lines. Values are trimmed, as RocketMQ trims string settings. A key given
//! twice keeps its last value, as in Java.

use std::collections::BTreeMap;

/// The `key → value` pairs of `text`.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(|c: char| c == '=' || c == ':' || c.is_whitespace());
        let (key, value) = match split {
            Some(at) => {
                let (key, rest) = line.split_at(at);
                let rest = rest.trim_start();
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
                (key, rest.trim())
            }
            None => (line, ""),
        };
        pairs.insert(key.to_string(), value.to_string());
    }
    pairs
}

/// `key=value` lines, sorted by key.
pub fn render<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    for (key, value) in pairs {
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    text
}

/// A setting's value as properties text: strings bare, numbers and booleans as JSON writes
/// them (`true`, `4`).
pub fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_rocketmq_tools_send() {
        let text = "# from mqadmin\r\nbrokerPermission=4\n\n  traceOn : false\n! note\nregionId   east \nflag\nk=a=b\nbrokerPermission=6\n";
        let pairs = parse(text);
        assert_eq!(pairs["brokerPermission"], "6", "the last value wins");
        assert_eq!(pairs["traceOn"], "false");
        assert_eq!(pairs["regionId"], "east");
        assert_eq!(pairs["flag"], "");
        assert_eq!(pairs["k"], "a=b");
        assert_eq!(pairs.len(), 5);
        assert!(parse("").is_empty());
    }

    #[test]
    fn renders_lines_that_parse_back() {
        let text = render([("a", "1"), ("b", "x y")]);
        assert_eq!(text, "a=1\nb=x y\n");
        let pairs = parse(&text);
        assert_eq!(pairs["b"], "x y");
        assert_eq!(value_text(&serde_json::json!("s")), "s");
        assert_eq!(value_text(&serde_json::json!(true)), "true");
        assert_eq!(value_text(&serde_json::json!(42)), "42");
    }
}
