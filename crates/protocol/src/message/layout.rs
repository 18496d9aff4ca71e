//! Where each field of a CommitLog record sits (§6.3), and in-place patching of the fields
//! the store assigns under its append lock.
//!
//! ```text
//! offset (IPv4 hosts)  width        field
//!   0                  4            TOTALSIZE (i32): whole record, this field included
//!   4                  4            MAGICCODE: V1 0xDAA320A7, V2 0xDAA320AB (BLANK 0xCBD43194)
//!   8                  4            BODYCRC: CRC-32 & 0x7FFFFFFF of the stored body
//!  12                  4            QUEUEID
//!  16                  4            FLAG (user flag)
//!  20                  8            QUEUEOFFSET            <- patched under the lock
//!  28                  8            PHYSICALOFFSET         <- patched under the lock
//!  36                  4            SYSFLAG
//!  40                  8            BORNTIMESTAMP
//!  48                  8 / 20       BORNHOST (IPv6 when SYSFLAG & 0x10)
//!  56                  8            STORETIMESTAMP         <- patched under the lock
//!  64                  8 / 20       STOREHOSTADDRESS (IPv6 when SYSFLAG & 0x20)
//!  72                  4            RECONSUMETIMES
//!  76                  8            PREPARED TRANSACTION OFFSET
//!  84                  4            BODYLENGTH (i32)
//!  88                  n            BODY
//!  88+n                1 / 2        TOPICLENGTH (V1 i8, V2 i16)
//!  ...                 t            TOPIC
//!  ...                 2            PROPERTIESLENGTH (i16)
//!  ...                 p            PROPERTIES
//! ```
//! Offsets after BORNHOST move by 12 bytes per IPv6 host; the functions below take the sys
//! flag and derive them. A BLANK record (end of file) is TOTALSIZE then the BLANK magic.

use crate::error::{ProtocolError, Result};

pub use super::host::{host_len, IPV4_HOST_LEN, IPV6_HOST_LEN};
use super::sys_flag;

/// Magic code of a V1 record (1-byte topic length).
pub const MAGIC_CODE_V1: i32 = i32::from_be_bytes([0xDA, 0xA3, 0x20, 0xA7]);
/// Magic code of a V2 record (2-byte topic length).
pub const MAGIC_CODE_V2: i32 = i32::from_be_bytes([0xDA, 0xA3, 0x20, 0xAB]);
/// Magic code of the BLANK record that pads the end of a CommitLog file.
pub const BLANK_MAGIC_CODE: i32 = i32::from_be_bytes([0xCB, 0xD4, 0x31, 0x94]);
/// Length of the BLANK record actually written (TOTALSIZE + magic); a message must leave
/// this much room at the end of a file.
pub const BLANK_RECORD_LEN: usize = MAGIC_CODE_POS + 4;
/// The longest topic a V1 record can hold.
pub const MAX_V1_TOPIC_LEN: usize = i8::MAX as usize;
/// The longest topic a V2 record can hold.
pub const MAX_TOPIC_LEN: usize = i16::MAX as usize;

/// Position of TOTALSIZE.
pub const TOTAL_SIZE_POS: usize = 0;
/// Position of MAGICCODE.
pub const MAGIC_CODE_POS: usize = TOTAL_SIZE_POS + 4;
/// Position of BODYCRC.
pub const BODY_CRC_POS: usize = MAGIC_CODE_POS + 4;
/// Position of QUEUEID.
pub const QUEUE_ID_POS: usize = BODY_CRC_POS + 4;
/// Position of FLAG.
pub const FLAG_POS: usize = QUEUE_ID_POS + 4;
/// Position of QUEUEOFFSET.
pub const QUEUE_OFFSET_POS: usize = FLAG_POS + 4;
/// Position of PHYSICALOFFSET.
pub const PHYSICAL_OFFSET_POS: usize = QUEUE_OFFSET_POS + 8;
/// Position of SYSFLAG.
pub const SYS_FLAG_POS: usize = PHYSICAL_OFFSET_POS + 8;
/// Position of BORNTIMESTAMP.
pub const BORN_TIMESTAMP_POS: usize = SYS_FLAG_POS + 4;
/// Position of BORNHOST.
pub const BORN_HOST_POS: usize = BORN_TIMESTAMP_POS + 8;

/// Position of STORETIMESTAMP for a record with this sys flag.
pub const fn store_timestamp_pos(sys_flag: i32) -> usize {
    BORN_HOST_POS + host_len(sys_flag::born_host_v6(sys_flag))
}

/// Position of STOREHOSTADDRESS for a record with this sys flag.
pub const fn store_host_pos(sys_flag: i32) -> usize {
    store_timestamp_pos(sys_flag) + 8
}

/// Position of RECONSUMETIMES for a record with this sys flag.
pub const fn reconsume_times_pos(sys_flag: i32) -> usize {
    store_host_pos(sys_flag) + host_len(sys_flag::store_host_v6(sys_flag))
}

/// Position of PREPARED TRANSACTION OFFSET for a record with this sys flag.
pub const fn prepared_transaction_offset_pos(sys_flag: i32) -> usize {
    reconsume_times_pos(sys_flag) + 4
}

/// Position of BODYLENGTH for a record with this sys flag.
pub const fn body_len_pos(sys_flag: i32) -> usize {
    prepared_transaction_offset_pos(sys_flag) + 8
}

/// Position of BODY for a record with this sys flag.
pub const fn body_pos(sys_flag: i32) -> usize {
    body_len_pos(sys_flag) + 4
}

/// STORETIMESTAMP position with an IPv4 born host (56).
pub const STORE_TIMESTAMP_POS_IPV4: usize = store_timestamp_pos(0);
/// BODYLENGTH position with IPv4 hosts (84).
pub const BODY_LEN_POS_IPV4: usize = body_len_pos(0);
/// BODY position with IPv4 hosts (88).
pub const BODY_POS_IPV4: usize = body_pos(0);
/// The smallest possible record: V1, IPv4 hosts, empty body, topic and properties (91).
pub const MIN_RECORD_LEN: usize = BODY_POS_IPV4 + 1 + 2;

/// Record format version, told apart by the magic code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageVersion {
    /// 1-byte topic length; what every client can read.
    #[default]
    V1,
    /// 2-byte topic length, for topics longer than 127 bytes.
    V2,
}

impl MessageVersion {
    /// The magic code written at [`MAGIC_CODE_POS`].
    pub const fn magic_code(self) -> i32 {
        match self {
            Self::V1 => MAGIC_CODE_V1,
            Self::V2 => MAGIC_CODE_V2,
        }
    }

    /// The version of a message magic code (`None` for BLANK or garbage).
    pub const fn from_magic_code(magic: i32) -> Option<Self> {
        match magic {
            MAGIC_CODE_V1 => Some(Self::V1),
            MAGIC_CODE_V2 => Some(Self::V2),
            _ => None,
        }
    }

    /// Width of the TOPICLENGTH field.
    pub const fn topic_len_width(self) -> usize {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }

    /// The version the broker writes for `topic`: V2 only when it does not fit V1.
    ///
    /// Java compares the UTF-16 length with 127; we compare the UTF-8 length, which is the
    /// same for legal (ASCII) topic names and never writes a truncated length otherwise.
    pub fn for_topic(topic: &str) -> Self {
        if topic.len() > MAX_V1_TOPIC_LEN {
            Self::V2
        } else {
            Self::V1
        }
    }
}

/// Length of a record with these field sizes (`MessageExtEncoder.calMsgLength`).
pub const fn record_len(
    version: MessageVersion,
    sys_flag: i32,
    body_len: usize,
    topic_len: usize,
    properties_len: usize,
) -> usize {
    body_pos(sys_flag) + body_len + version.topic_len_width() + topic_len + 2 + properties_len
}

/// The big-endian `i32` at `pos`, if `buf` holds it.
pub(crate) fn i32_at(buf: &[u8], pos: usize) -> Option<i32> {
    let bytes = buf.get(pos..pos.checked_add(4)?)?;
    bytes.try_into().ok().map(i32::from_be_bytes)
}

/// The big-endian `i16` at `pos`, if `buf` holds it.
pub(crate) fn i16_at(buf: &[u8], pos: usize) -> Option<i16> {
    let bytes = buf.get(pos..pos.checked_add(2)?)?;
    bytes.try_into().ok().map(i16::from_be_bytes)
}

/// Checks that `record` starts like a message record and returns its sys flag.
fn message_sys_flag(record: &[u8]) -> Result<i32> {
    let magic = i32_at(record, MAGIC_CODE_POS)
        .ok_or_else(|| malformed("record shorter than its header"))?;
    if MessageVersion::from_magic_code(magic).is_none() {
        return Err(malformed(format!("bad magic code {magic:#010X}")));
    }
    i32_at(record, SYS_FLAG_POS).ok_or_else(|| malformed("record shorter than its header"))
}

fn put_i64_at(record: &mut [u8], pos: usize, value: i64) -> Result<()> {
    let field =
        record.get_mut(pos..pos + 8).ok_or_else(|| malformed("record shorter than its header"))?;
    field.copy_from_slice(&value.to_be_bytes());
    Ok(())
}

/// Overwrites QUEUEOFFSET in an encoded record.
pub fn patch_queue_offset(record: &mut [u8], queue_offset: i64) -> Result<()> {
    message_sys_flag(record)?;
    put_i64_at(record, QUEUE_OFFSET_POS, queue_offset)
}

/// Overwrites PHYSICALOFFSET in an encoded record.
pub fn patch_physical_offset(record: &mut [u8], physical_offset: i64) -> Result<()> {
    message_sys_flag(record)?;
    put_i64_at(record, PHYSICAL_OFFSET_POS, physical_offset)
}

/// Overwrites STORETIMESTAMP in an encoded record (its position depends on the born host).
pub fn patch_store_timestamp(record: &mut [u8], store_timestamp: i64) -> Result<()> {
    let sys_flag = message_sys_flag(record)?;
    put_i64_at(record, store_timestamp_pos(sys_flag), store_timestamp)
}

pub(crate) fn malformed(reason: impl Into<String>) -> ProtocolError {
    ProtocolError::MalformedMessage(reason.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_the_reference_table() {
        assert_eq!(QUEUE_OFFSET_POS, 20);
        assert_eq!(PHYSICAL_OFFSET_POS, 28);
        assert_eq!(SYS_FLAG_POS, 36);
        assert_eq!(BORN_HOST_POS, 48);
        assert_eq!(STORE_TIMESTAMP_POS_IPV4, 56);
        assert_eq!(store_host_pos(0), 64);
        assert_eq!(reconsume_times_pos(0), 72);
        assert_eq!(prepared_transaction_offset_pos(0), 76);
        assert_eq!(BODY_LEN_POS_IPV4, 84);
        assert_eq!(BODY_POS_IPV4, 88);
        assert_eq!(MIN_RECORD_LEN, 91);
        let both_v6 = sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOST_V6_FLAG;
        assert_eq!(store_timestamp_pos(both_v6), 68);
        assert_eq!(body_pos(both_v6), 88 + 24);
        assert_eq!(record_len(MessageVersion::V2, 0, 10, 200, 5), 91 + 1 + 10 + 200 + 5);
    }

    #[test]
    fn magic_codes_match_java() {
        assert_eq!(MAGIC_CODE_V1, -626_843_481);
        assert_eq!(MAGIC_CODE_V2, -626_843_477);
        assert_eq!(BLANK_MAGIC_CODE, -875_286_124);
        assert_eq!(MessageVersion::from_magic_code(BLANK_MAGIC_CODE), None);
        assert_eq!(MessageVersion::for_topic(&"t".repeat(127)), MessageVersion::V1);
        assert_eq!(MessageVersion::for_topic(&"t".repeat(128)), MessageVersion::V2);
    }

    #[test]
    fn patching_refuses_short_or_foreign_buffers() {
        assert!(patch_queue_offset(&mut [0u8; 10], 1).is_err());
        let mut not_a_record = [0u8; MIN_RECORD_LEN];
        assert!(patch_physical_offset(&mut not_a_record, 1).is_err());
        let mut header_only = [0u8; 40];
        header_only[4..8].copy_from_slice(&MAGIC_CODE_V1.to_be_bytes());
        assert!(patch_queue_offset(&mut header_only, 7).is_ok());
        assert!(patch_store_timestamp(&mut header_only, 7).is_err());
    }
}
