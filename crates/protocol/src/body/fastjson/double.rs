//! Java's `Double.toString` text for a double (fastjson 1.2.83 writes doubles this way).
//!
//! Shortest round-trip digits; plain decimal with at least one fraction digit when
//! 10^-3 ≤ |d| < 10^7 (`0.0`, `12.5`), otherwise `d.dddE±n` (`1.0E7`, `1.5E-4`).

/// The Java text of `d`, or `None` for NaN and infinities (which fastjson writes as null).
pub(crate) fn java_double(d: f64) -> Option<String> {
    if !d.is_finite() {
        return None;
    }
    if d == 0.0 {
        return Some(if d.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned());
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, e.g. "-1.25e1".
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if d < 0.0 { "-" } else { "" };
    let abs = d.abs();
    let text = if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = usize::try_from(exp).ok()? + 1;
            let mut int_part: String = digits.chars().take(int_len).collect();
            while int_part.len() < int_len {
                int_part.push('0');
            }
            let frac: String = digits.chars().skip(int_len).collect();
            let frac = if frac.is_empty() { "0".to_owned() } else { frac };
            format!("{int_part}.{frac}")
        } else {
            let zeros = "0".repeat(usize::try_from(-exp - 1).ok()?);
            format!("0.{zeros}{digits}")
        }
    } else {
        let mut chars = digits.chars();
        let first = chars.next()?;
        let rest: String = chars.collect();
        let rest = if rest.is_empty() { "0".to_owned() } else { rest };
        format!("{first}.{rest}E{exp}")
    };
    Some(format!("{sign}{text}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_java_examples() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (12.5, "12.5"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (-3.25, "-3.25"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
        ];
        for (d, want) in cases {
            assert_eq!(java_double(d).unwrap(), want, "{d}");
        }
        assert_eq!(java_double(f64::NAN), None);
        assert_eq!(java_double(f64::INFINITY), None);
    }

    proptest! {
        #[test]
        fn round_trips(d in any::<f64>().prop_filter("finite", |d| d.is_finite())) {
            let text = java_double(d).unwrap();
            prop_assert_eq!(text.parse::<f64>().unwrap(), d);
        }
    }
}
