//! Upper-case hex, as RocketMQ writes message ids (`UtilAll.bytes2string`): two characters
//! per byte, no separators. Decoding accepts either case, as Java upper-cases first.

use crate::error::{ProtocolError, Result};

/// The upper-case hex digit for the low four bits of `nibble`.
fn digit(nibble: u8) -> char {
    let nibble = nibble & 0x0F;
    char::from(if nibble < 10 { b'0' + nibble } else { b'A' + nibble - 10 })
}

/// The value of one hex digit.
fn value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Appends `bytes` to `out` as upper-case hex.
pub fn push_upper(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(digit(byte >> 4));
        out.push(digit(*byte));
    }
}

/// `bytes` as upper-case hex.
pub fn encode_upper(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_upper(bytes, &mut out);
    out
}

/// Decodes `hex` into `out`, which must be exactly half as long as `hex`.
pub fn decode_into(hex: &str, out: &mut [u8]) -> Result<()> {
    if hex.len() != out.len() * 2 {
        return Err(ProtocolError::MalformedMessage(format!(
            "hex string of {} characters where {} were expected",
            hex.len(),
            out.len() * 2
        )));
    }
    for (pair, byte) in hex.as_bytes().chunks_exact(2).zip(out.iter_mut()) {
        let (hi, lo) = match pair {
            [hi, lo] => (value(*hi), value(*lo)),
            _ => (None, None),
        };
        *byte = match (hi, lo) {
            (Some(hi), Some(lo)) => (hi << 4) | lo,
            _ => return Err(ProtocolError::MalformedMessage(format!("not a hex string: {hex:?}"))),
        };
    }
    Ok(())
}

/// Decodes a hex string of even length.
pub fn decode(hex: &str) -> Result<Vec<u8>> {
    let mut out = vec![0; hex.len() / 2];
    decode_into(hex, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn upper_case_two_digits_per_byte() {
        assert_eq!(encode_upper(&[0x00, 0x0A, 0xFF, 0x7F]), "000AFF7F");
        assert_eq!(decode("000aff7F").unwrap(), [0x00, 0x0A, 0xFF, 0x7F]);
    }

    #[test]
    fn rejects_odd_lengths_and_non_digits() {
        assert!(decode("ABC").is_err());
        assert!(decode("0G").is_err());
        assert!(decode("é0").is_err());
        let mut out = [0u8; 2];
        assert!(decode_into("00", &mut out).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let hex = encode_upper(&bytes);
            prop_assert!(!hex.bytes().any(|b| b.is_ascii_lowercase()));
            prop_assert_eq!(decode(&hex).unwrap(), bytes);
        }

        #[test]
        fn garbage_never_panics(s in ".{0,40}") {
            let _ = decode(&s);
        }
    }
}
