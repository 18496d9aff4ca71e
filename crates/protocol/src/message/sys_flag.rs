//! `MessageSysFlag`: the message's system flag bits (an `i32` in every record).
//!
//! ```text
//! bit   10..8             7            6            5           4           3..2         1           0
//!       compression type  INNER_BATCH  NEED_UNWRAP  STORE_V6    BORN_V6     transaction  MULTI_TAGS  COMPRESSED
//!       (1 LZ4, 2 ZSTD,                                                     (0 not, 1 prepared,
//!        3 ZLIB, 0 = ZLIB)                                                   2 commit, 3 rollback)
//! ```
//! Pull and topic flags are separate flag sets and live elsewhere.

/// The body is compressed.
pub const COMPRESSED_FLAG: i32 = 0x1;
/// Set by the broker when the topic filter type is MULTI_TAG.
pub const MULTI_TAGS_FLAG: i32 = 0x1 << 1;
/// Not a transactional message (bits 2–3 = 00).
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// A prepared (half) transactional message (bits 2–3 = 01).
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x1 << 2;
/// A committed transactional message (bits 2–3 = 10).
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x2 << 2;
/// A rolled-back transactional message (bits 2–3 = 11); also the mask of the transaction bits.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0x3 << 2;
/// The born host is IPv6 (16-byte address).
pub const BORNHOST_V6_FLAG: i32 = 0x1 << 4;
/// The store host is IPv6 (16-byte address).
pub const STOREHOST_V6_FLAG: i32 = 0x1 << 5;
/// Inner batch: the record must be unwrapped.
pub const NEED_UNWRAP_FLAG: i32 = 0x1 << 6;
/// Inner batch: the record holds several messages.
pub const INNER_BATCH_FLAG: i32 = 0x1 << 7;
/// Compression type LZ4 (value 1).
pub const COMPRESSION_LZ4_TYPE: i32 = 0x1 << 8;
/// Compression type ZSTD (value 2).
pub const COMPRESSION_ZSTD_TYPE: i32 = 0x2 << 8;
/// Compression type ZLIB (value 3).
pub const COMPRESSION_ZLIB_TYPE: i32 = 0x3 << 8;
/// Mask of the compression type bits.
pub const COMPRESSION_TYPE_MASK: i32 = 0x7 << 8;
const COMPRESSION_TYPE_SHIFT: u32 = 8;

/// Whether any of the bits of `bits` is set in `flag`.
pub const fn has(flag: i32, bits: i32) -> bool {
    flag & bits != 0
}

/// The transaction bits of `flag` (one of the `TRANSACTION_*_TYPE` constants).
pub const fn transaction_value(flag: i32) -> i32 {
    flag & TRANSACTION_ROLLBACK_TYPE
}

/// `flag` with its transaction bits replaced by `ty` (a `TRANSACTION_*_TYPE` constant).
pub const fn reset_transaction_value(flag: i32, ty: i32) -> i32 {
    (flag & !TRANSACTION_ROLLBACK_TYPE) | (ty & TRANSACTION_ROLLBACK_TYPE)
}

/// Whether the body is compressed.
pub const fn is_compressed(flag: i32) -> bool {
    has(flag, COMPRESSED_FLAG)
}

/// `flag` without the compressed bit (after the body was inflated).
pub const fn clear_compressed_flag(flag: i32) -> i32 {
    flag & !COMPRESSED_FLAG
}

/// The raw compression type value, bits 8–10 (0 means ZLIB for old producers).
pub const fn compression_type_value(flag: i32) -> i32 {
    (flag & COMPRESSION_TYPE_MASK) >> COMPRESSION_TYPE_SHIFT
}

/// Whether the born host is stored as IPv6.
pub const fn born_host_v6(flag: i32) -> bool {
    has(flag, BORNHOST_V6_FLAG)
}

/// Whether the store host is stored as IPv6.
pub const fn store_host_v6(flag: i32) -> bool {
    has(flag, STOREHOST_V6_FLAG)
}

/// `flag` with the two host bits set to match the given address families.
pub const fn with_host_flags(flag: i32, born_v6: bool, store_v6: bool) -> i32 {
    let mut flag = flag & !(BORNHOST_V6_FLAG | STOREHOST_V6_FLAG);
    if born_v6 {
        flag |= BORNHOST_V6_FLAG;
    }
    if store_v6 {
        flag |= STOREHOST_V6_FLAG;
    }
    flag
}

/// The transaction state carried by the sys flag, as a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// Not transactional.
    Not,
    /// Prepared (half) message; not consumable, queue offset 0.
    Prepared,
    /// Committed.
    Commit,
    /// Rolled back; not consumable, queue offset 0.
    Rollback,
}

impl TransactionType {
    /// The type encoded in `flag`.
    pub const fn from_sys_flag(flag: i32) -> Self {
        match transaction_value(flag) {
            TRANSACTION_PREPARED_TYPE => Self::Prepared,
            TRANSACTION_COMMIT_TYPE => Self::Commit,
            TRANSACTION_ROLLBACK_TYPE => Self::Rollback,
            _ => Self::Not,
        }
    }

    /// The `TRANSACTION_*_TYPE` bits of this type.
    pub const fn bits(self) -> i32 {
        match self {
            Self::Not => TRANSACTION_NOT_TYPE,
            Self::Prepared => TRANSACTION_PREPARED_TYPE,
            Self::Commit => TRANSACTION_COMMIT_TYPE,
            Self::Rollback => TRANSACTION_ROLLBACK_TYPE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_the_java_values() {
        assert_eq!(MULTI_TAGS_FLAG, 0x2);
        assert_eq!(TRANSACTION_PREPARED_TYPE, 0x4);
        assert_eq!(TRANSACTION_COMMIT_TYPE, 0x8);
        assert_eq!(TRANSACTION_ROLLBACK_TYPE, 0xC);
        assert_eq!(BORNHOST_V6_FLAG, 0x10);
        assert_eq!(STOREHOST_V6_FLAG, 0x20);
        assert_eq!(NEED_UNWRAP_FLAG, 0x40);
        assert_eq!(INNER_BATCH_FLAG, 0x80);
        assert_eq!(COMPRESSION_ZLIB_TYPE, 0x300);
        assert_eq!(COMPRESSION_TYPE_MASK, 0x700);
    }

    #[test]
    fn transaction_bits_round_trip() {
        for ty in [
            TransactionType::Not,
            TransactionType::Prepared,
            TransactionType::Commit,
            TransactionType::Rollback,
        ] {
            let flag = reset_transaction_value(COMPRESSED_FLAG | BORNHOST_V6_FLAG | 0xC, ty.bits());
            assert_eq!(TransactionType::from_sys_flag(flag), ty);
            assert!(is_compressed(flag) && born_host_v6(flag));
        }
    }

    #[test]
    fn compression_and_host_helpers() {
        let flag = COMPRESSED_FLAG | COMPRESSION_ZSTD_TYPE;
        assert_eq!(compression_type_value(flag), 2);
        assert_eq!(clear_compressed_flag(flag), COMPRESSION_ZSTD_TYPE);
        let flag = with_host_flags(BORNHOST_V6_FLAG | 0x1, false, true);
        assert_eq!(flag, STOREHOST_V6_FLAG | 0x1);
        assert!(!born_host_v6(flag) && store_host_v6(flag));
    }
}
