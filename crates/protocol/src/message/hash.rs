//! The hashes RocketMQ puts on disk: Java `String.hashCode` (tag codes) and masked CRC-32
//! (body CRCs, `UtilAll.crc32`).

/// Java's `String.hashCode()`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The consume-queue tags code of a message: the Java hash of its `TAGS`, widened; 0 if none.
pub fn tag_hash_code(tags: Option<&str>) -> i64 {
    tags.map_or(0, |tags| i64::from(java_string_hash(tags)))
}

/// CRC-32 (IEEE, as `java.util.zip.CRC32`) masked with `0x7FFFFFFF`, as every RocketMQ CRC is.
pub fn crc32_masked(bytes: &[u8]) -> i32 {
    let masked = crc32fast::hash(bytes) & 0x7FFF_FFFF;
    // The mask clears the sign bit, so the value always fits.
    i32::try_from(masked).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn java_hash_code_vectors() {
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // Wraps like Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // A supplementary character counts as two UTF-16 units: "😀" = \uD83D\uDE00.
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn tag_codes() {
        assert_eq!(tag_hash_code(None), 0);
        assert_eq!(tag_hash_code(Some("")), 0);
        assert_eq!(tag_hash_code(Some("TagA")), 2_598_919);
        assert_eq!(tag_hash_code(Some("polygenelubricants")), i64::from(i32::MIN));
    }

    #[test]
    fn crc_is_masked_crc32() {
        // CRC-32("123456789") = 0xCBF43926; masked: 0x4BF43926.
        assert_eq!(crc32_masked(b"123456789"), 0x4BF4_3926);
        assert_eq!(crc32_masked(b""), 0);
    }

    proptest! {
        #[test]
        fn crc_is_never_negative(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert!(crc32_masked(&bytes) >= 0);
        }
    }
}
