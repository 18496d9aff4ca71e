//! `SubscriptionData`: one topic subscription of a consumer group, with its tag expression
//! parsed into tags and tag hash codes.
//!
//! ```text
//! {"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA",
//!  "subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T"}
//! ```
//! `filterClassSource` is never serialised. Tag codes are Java `String.hashCode` values.

use std::collections::BTreeSet;

use serde_json::Value;

use super::fastjson::{Fields, FromJsonValue, Json, ToJson};
use super::now_millis;
use crate::error::Result;

/// The expression that subscribes to every tag.
pub const SUB_ALL: &str = "*";
/// Tag expressions (`a || b`), the default.
pub const EXPRESSION_TAG: &str = "TAG";
/// SQL92 property filters.
pub const EXPRESSION_SQL92: &str = "SQL92";

/// A consumer group's subscription to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    pub topic: String,
    pub sub_string: String,
    pub tags_set: BTreeSet<String>,
    pub code_set: BTreeSet<i32>,
    /// The subscription's version: a millisecond timestamp.
    pub sub_version: i64,
    pub expression_type: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        SubscriptionData {
            class_filter_mode: false,
            topic: String::new(),
            sub_string: String::new(),
            tags_set: BTreeSet::new(),
            code_set: BTreeSet::new(),
            sub_version: 0,
            expression_type: EXPRESSION_TAG.to_owned(),
        }
    }
}

impl SubscriptionData {
    /// A tag subscription from an expression such as `*` or `TagA || TagB`, versioned now.
    ///
    /// An empty expression or `*` subscribes to everything. Otherwise the expression is split
    /// on `||`, each tag trimmed, empty ones dropped, and each tag's Java hash code recorded.
    pub fn new(topic: impl Into<String>, expression: &str) -> Self {
        let mut data = SubscriptionData {
            topic: topic.into(),
            sub_version: now_millis(),
            ..SubscriptionData::default()
        };
        if expression.trim().is_empty() || expression.trim() == SUB_ALL {
            data.sub_string = SUB_ALL.to_owned();
            return data;
        }
        data.sub_string = expression.to_owned();
        for tag in expression.split("||").map(str::trim).filter(|t| !t.is_empty()) {
            data.code_set.insert(crate::message::java_string_hash(tag));
            data.tags_set.insert(tag.to_owned());
        }
        data
    }

    /// A subscription of the given expression type: tags are parsed only for `TAG` (or an
    /// empty type); any other type (`SQL92`) keeps the expression as it is.
    pub fn with_type(topic: impl Into<String>, expression: &str, expression_type: &str) -> Self {
        let expression_type = expression_type.trim();
        if expression_type.is_empty() || expression_type == EXPRESSION_TAG {
            return SubscriptionData::new(topic, expression);
        }
        SubscriptionData {
            topic: topic.into(),
            sub_string: expression.to_owned(),
            sub_version: now_millis(),
            expression_type: expression_type.to_owned(),
            ..SubscriptionData::default()
        }
    }

    /// Whether the subscription takes every tag.
    pub fn is_sub_all(&self) -> bool {
        self.sub_string == SUB_ALL
    }
}

impl ToJson for SubscriptionData {
    fn to_json_tree(&self) -> Json {
        Json::bean([
            ("classFilterMode", self.class_filter_mode.to_json_tree()),
            ("codeSet", self.code_set.to_json_tree()),
            ("expressionType", self.expression_type.to_json_tree()),
            ("subString", self.sub_string.to_json_tree()),
            ("subVersion", self.sub_version.to_json_tree()),
            ("tagsSet", self.tags_set.to_json_tree()),
            ("topic", self.topic.to_json_tree()),
        ])
    }
}

impl FromJsonValue for SubscriptionData {
    fn from_json_value(v: &Value) -> Result<Self> {
        let f = Fields::of(v)?;
        Ok(SubscriptionData {
            class_filter_mode: f.get("classFilterMode")?,
            topic: f.get("topic")?,
            sub_string: f.get("subString")?,
            tags_set: f.get("tagsSet")?,
            code_set: f.get("codeSet")?,
            sub_version: f.get("subVersion")?,
            expression_type: f.get_or("expressionType", EXPRESSION_TAG.to_owned())?,
        })
    }
}

json_body!(SubscriptionData);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_code() {
        assert_eq!(crate::message::java_string_hash("TagA"), 2598919);
        assert_eq!(crate::message::java_string_hash(""), 0);
        // Wraps like Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(crate::message::java_string_hash("polygenelubricants"), i32::MIN);
        // UTF-16 units, not bytes or chars: U+1F600 is the pair D83D DE00.
        assert_eq!(crate::message::java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn parses_tag_expressions() {
        let all = SubscriptionData::new("T", " * ");
        assert_eq!(all.sub_string, "*");
        assert!(all.tags_set.is_empty() && all.is_sub_all());
        assert!(SubscriptionData::new("T", "").is_sub_all());

        let s = SubscriptionData::new("T", "TagA || TagB ||  ||TagA");
        assert_eq!(s.sub_string, "TagA || TagB ||  ||TagA");
        assert_eq!(s.tags_set, BTreeSet::from(["TagA".into(), "TagB".into()]));
        assert_eq!(
            s.code_set,
            BTreeSet::from([
                crate::message::java_string_hash("TagA"),
                crate::message::java_string_hash("TagB")
            ])
        );
        assert_eq!(s.expression_type, "TAG");
        assert!(s.sub_version > 0);

        let sql = SubscriptionData::with_type("T", "a > 5", "SQL92");
        assert_eq!((sql.sub_string.as_str(), sql.expression_type.as_str()), ("a > 5", "SQL92"));
        assert!(sql.tags_set.is_empty());
        assert_eq!(SubscriptionData::with_type("T", "x||y", "").tags_set.len(), 2);
    }

    #[test]
    fn golden_and_defaults() {
        let s =
            SubscriptionData { sub_version: 1700000000000, ..SubscriptionData::new("T", "TagA") };
        let text = r#"{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T"}"#;
        assert_eq!(String::from_utf8(s.to_json()).unwrap(), text);
        assert_eq!(SubscriptionData::from_json(text.as_bytes()).unwrap(), s);
        let bare = SubscriptionData::from_json(br#"{"topic":"T","subString":"*","codeSet":["1"]}"#)
            .unwrap();
        assert_eq!(bare.expression_type, "TAG");
        assert_eq!(bare.code_set, BTreeSet::from([1]));
    }
}
