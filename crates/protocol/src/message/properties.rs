//! The message properties string and the map it decodes into.
//!
//! ```text
//! name 0x01 value 0x02 name 0x01 value 0x02 ...      (UTF-8, a 0x02 after every entry)
//! ```
//! Parsing follows `MessageDecoder.string2messageProperties`: split on 0x02, split each
//! segment at its first 0x01, keep it only when both name and value are non-empty (so
//! segments shorter than 3 characters are dropped); a later duplicate name wins. The order
//! of entries carries no meaning (Java writes a `HashMap`), so equality ignores it.

use bytes::BufMut;

use super::property;

/// Separates a property's name from its value.
pub const NAME_VALUE_SEPARATOR: u8 = 0x01;
/// Ends every property entry.
pub const PROPERTY_SEPARATOR: u8 = 0x02;
/// The longest properties string a record can hold (its length is an `i16`).
pub const MAX_PROPERTIES_LEN: usize = i16::MAX as usize;

/// Message properties: a small map kept in insertion order.
///
/// Names must not contain 0x01 or 0x02 and values must not contain 0x02, or the encoded
/// string will not decode back to the same map; like Java, encoding does not check this.
#[derive(Debug, Clone, Default, Eq)]
pub struct Properties(Vec<(String, String)>);

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value`, returning the previous value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some((_, old)) => Some(std::mem::replace(old, value)),
            None => {
                self.0.push((name, value));
                None
            }
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let index = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(index).1)
    }

    /// Keeps only the entries for which `keep(name, value)` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(k, v)| keep(k, v));
    }

    /// The entries, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `TAGS` property.
    pub fn tags(&self) -> Option<&str> {
        self.get(property::TAGS)
    }

    /// The business keys of the `KEYS` property (none when it is absent).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        split_keys(self.get(property::KEYS).unwrap_or_default())
    }

    /// Sets `KEYS` to `keys` joined by spaces.
    pub fn set_keys<'a>(&mut self, keys: impl IntoIterator<Item = &'a str>) {
        let joined: Vec<&str> = keys.into_iter().collect();
        self.insert(property::KEYS, joined.join(" "));
    }

    /// Length in bytes of the encoded string.
    pub fn encoded_len(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
    }

    /// Writes the encoded string to `out` (exactly [`Self::encoded_len`] bytes).
    pub fn write_to(&self, out: &mut impl BufMut) {
        for (k, v) in &self.0 {
            out.put_slice(k.as_bytes());
            out.put_u8(NAME_VALUE_SEPARATOR);
            out.put_slice(v.as_bytes());
            out.put_u8(PROPERTY_SEPARATOR);
        }
    }

    /// The encoded properties string.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        for (k, v) in &self.0 {
            out.push_str(k);
            out.push(char::from(NAME_VALUE_SEPARATOR));
            out.push_str(v);
            out.push(char::from(PROPERTY_SEPARATOR));
        }
        out
    }

    /// Parses a properties string. Never fails: malformed segments are skipped.
    pub fn decode(s: &str) -> Self {
        let mut props = Self::new();
        for segment in s.split(char::from(PROPERTY_SEPARATOR)) {
            if let Some((name, value)) = segment.split_once(char::from(NAME_VALUE_SEPARATOR)) {
                if !name.is_empty() && !value.is_empty() {
                    props.insert(name, value);
                }
            }
        }
        props
    }

    /// Parses properties bytes; invalid UTF-8 becomes U+FFFD, as Java's `new String` does.
    pub fn decode_bytes(bytes: &[u8]) -> Self {
        Self::decode(&String::from_utf8_lossy(bytes))
    }
}

/// Equal when both hold the same names with the same values, in any order.
impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Self::new();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

impl IntoIterator for Properties {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Splits a `KEYS` value into its non-empty business keys.
pub fn split_keys(keys: &str) -> impl Iterator<Item = &str> {
    keys.split(property::KEY_SEPARATOR).filter(|key| !key.is_empty())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn encodes_every_entry_with_a_trailing_separator() {
        let props: Properties = [("KEYS", "k1 k2"), ("TAGS", "TagA")].into_iter().collect();
        assert_eq!(props.encode(), "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}");
        assert_eq!(props.encoded_len(), props.encode().len());
        let mut buf = Vec::new();
        props.write_to(&mut buf);
        assert_eq!(buf, props.encode().as_bytes());
    }

    #[test]
    fn parsing_skips_short_and_half_empty_segments() {
        let s = "a\u{1}b\u{2}\u{2}x\u{2}\u{1}v\u{2}k\u{1}\u{2}kk\u{1}v\u{1}w\u{2}last\u{1}one";
        let props = Properties::decode(s);
        assert_eq!(props.get("a"), Some("b"));
        assert_eq!(props.get("kk"), Some("v\u{1}w"));
        assert_eq!(props.get("last"), Some("one"));
        assert_eq!(props.len(), 3);
        assert!(Properties::decode("").is_empty());
    }

    #[test]
    fn later_duplicates_win() {
        let props = Properties::decode("k\u{1}1\u{2}k\u{1}2\u{2}");
        assert_eq!(props.get("k"), Some("2"));
        assert_eq!(props.len(), 1);
    }

    #[test]
    fn insert_get_remove() {
        let mut props = Properties::new();
        assert_eq!(props.insert("a", "1"), None);
        assert_eq!(props.insert("a", "2"), Some("1".to_owned()));
        assert!(props.contains_key("a"));
        assert_eq!(props.remove("a"), Some("2".to_owned()));
        assert_eq!(props.remove("a"), None);
        assert!(props.is_empty());
    }

    #[test]
    fn keys_split_on_spaces_and_tags_are_read() {
        let mut props = Properties::new();
        assert_eq!(props.keys().count(), 0);
        props.set_keys(["order-1", "user-7"]);
        props.insert(property::TAGS, "TagA");
        assert_eq!(props.get(property::KEYS), Some("order-1 user-7"));
        assert_eq!(props.keys().collect::<Vec<_>>(), ["order-1", "user-7"]);
        assert_eq!(split_keys(" a  b ").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(props.tags(), Some("TagA"));
    }

    #[test]
    fn equality_ignores_order() {
        let a: Properties = [("x", "1"), ("y", "2")].into_iter().collect();
        let b: Properties = [("y", "2"), ("x", "1")].into_iter().collect();
        let c: Properties = [("y", "2"), ("x", "3")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_rejected() {
        let props = Properties::decode_bytes(b"k\x01\xff\x02");
        assert_eq!(props.get("k"), Some("\u{fffd}"));
    }

    proptest! {
        #[test]
        fn round_trips(map in proptest::collection::btree_map(
            "[^\u{1}\u{2}]{1,12}", "[^\u{2}]{1,20}", 0..10,
        )) {
            let props: Properties = map.clone().into_iter().collect();
            let back = Properties::decode(&props.encode());
            prop_assert_eq!(&back, &props);
            let back: BTreeMap<String, String> = back.into_iter().collect();
            prop_assert_eq!(back, map);
        }

        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let props = Properties::decode_bytes(&bytes);
            for (k, v) in props.iter() {
                prop_assert!(!k.is_empty() && !v.is_empty());
            }
        }
    }
}
