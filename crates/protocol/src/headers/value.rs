//! `ExtValue`: how one header field's type reads and writes its `extFields` string.
//!
//! Java's reflective decoder (`RemotingCommand.decodeCommandCustomHeaderDirectly`) parses
//! `Integer`/`Long` with `parseInt`/`parseLong`, `Boolean` with `Boolean.parseBoolean`, and
//! the encoder writes `toString()`. The impls here follow that, with one deliberate leniency:
//!
//! - numbers may carry surrounding ASCII whitespace (`" 42 "` reads as 42). Java would fail on
//!   such a value and silently leave the field unset; accepting it never changes a value Java
//!   reads, it only turns a Java drop into the obvious number. A leading `+` is accepted, as
//!   in Java. (Java also accepts non-ASCII Unicode digits; we do not.)
//! - booleans are exactly `Boolean.parseBoolean`: `"true"` in any case is true, anything else
//!   (including `" true"`, `"1"`, `""`) is false. Parsing a boolean never fails.
//! - enums (`BoundaryType`, `TopicFilterType`) match their Java names case-insensitively and
//!   write the upper-case name.

use crate::error::ProtocolError;

/// A type that can be a custom-header field: parsed from and rendered to an ext string.
pub trait ExtValue: Sized {
    /// Parses the wire string, or `None` when it is not a value of this type.
    fn from_ext_str(raw: &str) -> Option<Self>;

    /// The wire string (Java's `toString()` of the field).
    fn to_ext_string(&self) -> String;

    /// The wire string, consuming the value (a `String` moves instead of being copied).
    fn into_ext_string(self) -> String {
        self.to_ext_string()
    }
}

/// Parses `raw` as the field `key`, mapping a bad value to [`ProtocolError::InvalidField`].
pub fn parse_field<T: ExtValue>(key: &'static str, raw: &str) -> Result<T, ProtocolError> {
    T::from_ext_str(raw)
        .ok_or_else(|| ProtocolError::InvalidField { field: key, value: raw.to_string() })
}

fn trim_number(raw: &str) -> &str {
    raw.trim_matches(|c: char| c.is_ascii_whitespace())
}

impl ExtValue for String {
    fn from_ext_str(raw: &str) -> Option<Self> {
        Some(raw.to_string())
    }

    fn to_ext_string(&self) -> String {
        self.clone()
    }

    fn into_ext_string(self) -> String {
        self
    }
}

impl ExtValue for i32 {
    fn from_ext_str(raw: &str) -> Option<Self> {
        trim_number(raw).parse().ok()
    }

    fn to_ext_string(&self) -> String {
        self.to_string()
    }
}

impl ExtValue for i64 {
    fn from_ext_str(raw: &str) -> Option<Self> {
        trim_number(raw).parse().ok()
    }

    fn to_ext_string(&self) -> String {
        self.to_string()
    }
}

impl ExtValue for bool {
    fn from_ext_str(raw: &str) -> Option<Self> {
        Some(raw.eq_ignore_ascii_case("true"))
    }

    fn to_ext_string(&self) -> String {
        self.to_string()
    }
}

/// Random values for the property tests, and a sample string each type rejects.
#[cfg(test)]
pub(crate) mod arb {
    use proptest::prelude::Rng;
    use proptest::test_runner::TestRng;

    /// A field type the header property tests can generate.
    pub(crate) trait ArbValue: Sized {
        /// A string `from_ext_str` rejects, if the type rejects anything.
        const INVALID: Option<&'static str>;

        /// A random value, biased towards edge cases.
        fn arb(rng: &mut TestRng) -> Self;
    }

    impl ArbValue for String {
        const INVALID: Option<&'static str> = None;

        fn arb(rng: &mut TestRng) -> Self {
            const ALPHABET: &[char] = &[
                'a', 'Z', '0', '9', '%', '_', '-', '|', ',', ';', '=', ':', '.', ' ', '"', 'é',
                '中', '😀', '\u{1}', '\n',
            ];
            let len = rng.next_u32() % 12;
            (0..len)
                .map(|_| {
                    let at = rng.next_u32() as usize % ALPHABET.len();
                    ALPHABET.get(at).copied().unwrap_or('a')
                })
                .collect()
        }
    }

    impl ArbValue for i32 {
        const INVALID: Option<&'static str> = Some("2147483648");

        fn arb(rng: &mut TestRng) -> Self {
            match rng.next_u32() % 6 {
                0 => 0,
                1 => -1,
                2 => i32::MIN,
                3 => i32::MAX,
                _ => rng.next_u32() as i32,
            }
        }
    }

    impl ArbValue for i64 {
        const INVALID: Option<&'static str> = Some("12x");

        fn arb(rng: &mut TestRng) -> Self {
            match rng.next_u32() % 6 {
                0 => 0,
                1 => -1,
                2 => i64::MIN,
                3 => i64::MAX,
                _ => rng.next_u64() as i64,
            }
        }
    }

    impl ArbValue for bool {
        const INVALID: Option<&'static str> = None;

        fn arb(rng: &mut TestRng) -> Self {
            rng.next_u32() & 1 == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_java_parse_boolean() {
        for raw in ["true", "TRUE", "True", "tRuE"] {
            assert_eq!(bool::from_ext_str(raw), Some(true), "{raw:?}");
        }
        for raw in ["false", "FALSE", "", "1", "yes", " true", "true ", "t"] {
            assert_eq!(bool::from_ext_str(raw), Some(false), "{raw:?}");
        }
        assert_eq!(true.to_ext_string(), "true");
        assert_eq!(false.to_ext_string(), "false");
    }

    #[test]
    fn integers_parse_like_java_plus_surrounding_whitespace() {
        assert_eq!(i32::from_ext_str("42"), Some(42));
        assert_eq!(i32::from_ext_str("+42"), Some(42));
        assert_eq!(i32::from_ext_str("-2147483648"), Some(i32::MIN));
        assert_eq!(i32::from_ext_str(" 7\t"), Some(7));
        assert_eq!(i64::from_ext_str("9223372036854775807"), Some(i64::MAX));
        for bad in ["", " ", "-", "+", "1.0", "0x10", "1_000", "2147483648", "4 2"] {
            assert_eq!(i32::from_ext_str(bad), None, "{bad:?}");
        }
        assert_eq!(i64::from_ext_str("9223372036854775808"), None);
        assert_eq!((-5i64).to_ext_string(), "-5");
    }

    #[test]
    fn strings_are_verbatim() {
        assert_eq!(String::from_ext_str(" a "), Some(" a ".to_string()));
        assert_eq!(String::from_ext_str(""), Some(String::new()));
    }

    #[test]
    fn a_bad_value_names_its_java_key() {
        assert_eq!(
            parse_field::<i32>("queueId", "x"),
            Err(ProtocolError::InvalidField { field: "queueId", value: "x".to_string() })
        );
        assert_eq!(parse_field::<i64>("queueOffset", "12"), Ok(12));
    }
}
