//! The cheap record check used to walk a CommitLog file on recovery
//! (`CommitLog.checkMessageAndReturnSize` without the dispatch part).
//!
//! ```text
//! message: TOTALSIZE | MAGIC V1/V2 | ... fields (see layout) ...   -> Message { size }
//! blank:   TOTALSIZE | 0xCBD43194  | undefined up to TOTALSIZE      -> Blank { size }: end of file
//! other:   zeros, garbage, truncated or inconsistent                -> Err: stop recovery here
//! ```
//! Only the length fields (and optionally the body) are read; nothing is allocated.

use super::hash::crc32_masked;
use super::layout::{
    body_len_pos, body_pos, i16_at, i32_at, malformed, record_len, MessageVersion,
    BLANK_MAGIC_CODE, BLANK_RECORD_LEN, BODY_CRC_POS, MAGIC_CODE_POS, MIN_RECORD_LEN, SYS_FLAG_POS,
    TOTAL_SIZE_POS,
};
use crate::error::Result;

/// What sits at a position of a CommitLog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCheck {
    /// A consistent message record of `size` bytes.
    Message {
        /// The record length (TOTALSIZE).
        size: usize,
    },
    /// The BLANK padding at the end of a file: the rest of the file (`size` bytes) is unused.
    Blank {
        /// TOTALSIZE of the blank record, normally the rest of the file.
        size: usize,
    },
}

/// Checks the record at the start of `buf` (the file from this position to its end).
///
/// Verifies the magic code, that TOTALSIZE fits in `buf`, that the body, topic and
/// properties lengths are non-negative and add up to TOTALSIZE, and, when `verify_body_crc`
/// is set, that BODYCRC matches the body. A zeroed region (never written) is an error, as
/// in Java, where it ends the recovery walk.
pub fn check_record(buf: &[u8], verify_body_crc: bool) -> Result<RecordCheck> {
    let (Some(size), Some(magic)) = (i32_at(buf, TOTAL_SIZE_POS), i32_at(buf, MAGIC_CODE_POS))
    else {
        return Err(malformed("fewer than 8 bytes left for a record"));
    };
    let size_usize =
        usize::try_from(size).map_err(|_| malformed(format!("negative record size {size}")))?;
    if size_usize > buf.len() {
        return Err(malformed(format!("record size {size} exceeds the {} bytes left", buf.len())));
    }
    if magic == BLANK_MAGIC_CODE {
        if size_usize < BLANK_RECORD_LEN {
            return Err(malformed(format!("blank record of {size} bytes")));
        }
        return Ok(RecordCheck::Blank { size: size_usize });
    }
    let version = MessageVersion::from_magic_code(magic)
        .ok_or_else(|| malformed(format!("bad magic code {magic:#010X}")))?;
    if size_usize < MIN_RECORD_LEN {
        return Err(malformed(format!("record size {size} below the minimum")));
    }
    let record = buf.get(..size_usize).unwrap_or_default();
    let truncated = || malformed("record fields run past its size");
    let sys_flag = i32_at(record, SYS_FLAG_POS).ok_or_else(truncated)?;
    let body_len = i32_at(record, body_len_pos(sys_flag)).ok_or_else(truncated)?;
    let body_len = usize::try_from(body_len)
        .map_err(|_| malformed(format!("negative body length {body_len}")))?;
    let topic_len_pos = body_pos(sys_flag).checked_add(body_len).ok_or_else(truncated)?;
    let topic_len = match version {
        MessageVersion::V1 => record.get(topic_len_pos).map(|b| i64::from(i8::from_be_bytes([*b]))),
        MessageVersion::V2 => i16_at(record, topic_len_pos).map(i64::from),
    }
    .ok_or_else(truncated)?;
    let topic_len = usize::try_from(topic_len)
        .map_err(|_| malformed(format!("negative topic length {topic_len}")))?;
    let properties_len_pos = topic_len_pos + version.topic_len_width() + topic_len;
    let properties_len = i16_at(record, properties_len_pos).ok_or_else(truncated)?;
    let properties_len = usize::try_from(properties_len)
        .map_err(|_| malformed(format!("negative properties length {properties_len}")))?;
    let expected = record_len(version, sys_flag, body_len, topic_len, properties_len);
    if expected != size_usize {
        return Err(malformed(format!("record size {size} but its fields add up to {expected}")));
    }
    if verify_body_crc {
        let body_crc = i32_at(record, BODY_CRC_POS).ok_or_else(truncated)?;
        let body = record.get(body_pos(sys_flag)..topic_len_pos).ok_or_else(truncated)?;
        let actual = crc32_masked(body);
        if actual != body_crc {
            return Err(malformed(format!("body CRC {actual} differs from the stored {body_crc}")));
        }
    }
    Ok(RecordCheck::Message { size: size_usize })
}
