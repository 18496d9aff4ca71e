//! The ROCKETMQ binary header (`RocketMQSerializable`).
//!
//! ```text
//! offset  width  field
//!  0      2      code (i16; codes above 32767 cannot be carried)
//!  2      1      language (LanguageCode byte)
//!  3      2      version (i16)
//!  5      4      opaque (i32)
//!  9      4      flag (i32)
//! 13      4      remarkLen (i32, 0 = no remark)
//! 17      r      remark (UTF-8)
//! 17+r    4      extLen (i32, total bytes of the entries that follow)
//! 21+r    e      entries: keyLen i16, key, valLen i32, value (a length of 0 means null)
//! ```

use bytes::{Buf, BufMut};

use super::HeaderFields;
use crate::error::{ProtocolError, Result};
use crate::{ExtFields, LanguageCode, RemotingCommand};

/// Bytes of the fixed part: code, language, version, opaque, flag, remarkLen, extLen.
pub(crate) const FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4 + 4 + 4;

pub(crate) fn encode_binary_header(h: &RemotingCommand, out: &mut Vec<u8>) -> Result<()> {
    let code = i16::try_from(h.code)
        .map_err(|_| ProtocolError::TooLarge("code does not fit the binary header's i16"))?;
    out.put_i16(code);
    out.put_u8(h.language.code());
    // Versions are ordinals well below i16::MAX; clamp rather than wrap if one is not.
    out.put_i16(i16::try_from(h.version).unwrap_or(i16::MAX));
    out.put_i32(h.opaque);
    out.put_i32(h.flag);
    match &h.remark {
        Some(remark) if !remark.is_empty() => {
            out.put_i32(len_i32(remark.len(), "remark")?);
            out.put_slice(remark.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let ext_len: usize = h
        .ext_fields
        .iter()
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    out.put_i32(len_i32(ext_len, "extFields")?);
    for (k, v) in h.ext_fields.iter() {
        if k.is_empty() || v.is_empty() {
            continue; // Java decodes a zero length as null: leave such entries out.
        }
        let key_len = i16::try_from(k.len())
            .map_err(|_| ProtocolError::TooLarge("ext field key longer than 32767 bytes"))?;
        out.put_i16(key_len);
        out.put_slice(k.as_bytes());
        out.put_i32(len_i32(v.len(), "ext field value")?);
        out.put_slice(v.as_bytes());
    }
    Ok(())
}

fn len_i32(len: usize, what: &'static str) -> Result<i32> {
    i32::try_from(len).map_err(|_| ProtocolError::TooLarge(what))
}

pub(crate) fn decode_binary_header(mut buf: &[u8]) -> Result<HeaderFields> {
    if buf.len() < FIXED_LEN {
        return Err(malformed("binary header shorter than its fixed fields"));
    }
    let header_len = buf.len();
    let code = i32::from(buf.get_i16());
    let language = LanguageCode::from_code(buf.get_u8());
    let version = i32::from(buf.get_i16());
    let opaque = buf.get_i32();
    let flag = buf.get_i32();
    let remark_len = checked_len(buf.get_i32(), buf.remaining(), header_len, "remark")?;
    let remark =
        if remark_len == 0 { None } else { Some(take_string(&mut buf, remark_len, "remark")?) };
    if buf.remaining() < 4 {
        return Err(malformed("binary header ends before extLen"));
    }
    let ext_len = checked_len(buf.get_i32(), buf.remaining(), header_len, "extFields")?;
    let (mut map, rest) = buf.split_at(ext_len);
    if !rest.is_empty() {
        return Err(malformed("bytes left over after the ext fields"));
    }
    let mut ext_fields = ExtFields::new();
    while map.has_remaining() {
        if map.remaining() < 2 {
            return Err(malformed("ext field key length cut short"));
        }
        let key_len = read_len(i32::from(map.get_i16()), map.remaining(), "ext field key")?;
        let key = take_string(&mut map, key_len, "ext field key")?;
        if map.remaining() < 4 {
            return Err(malformed("ext field value length cut short"));
        }
        let val_len = read_len(map.get_i32(), map.remaining(), "ext field value")?;
        let value = take_string(&mut map, val_len, "ext field value")?;
        if !key.is_empty() && !value.is_empty() {
            ext_fields.insert(key, value);
        }
    }
    Ok(HeaderFields { code, language, version, opaque, flag, remark, ext_fields })
}

/// A length field must be non-negative, fit what is left, and not exceed the header.
fn checked_len(len: i32, remaining: usize, header_len: usize, what: &str) -> Result<usize> {
    let len = read_len(len, remaining, what)?;
    if len > header_len {
        return Err(malformed(&format!("{what} longer than the header")));
    }
    Ok(len)
}

fn read_len(len: i32, remaining: usize, what: &str) -> Result<usize> {
    let len = usize::try_from(len).map_err(|_| malformed(&format!("negative {what} length")))?;
    if len > remaining {
        return Err(malformed(&format!("{what} runs past the header")));
    }
    Ok(len)
}

fn take_string(buf: &mut &[u8], len: usize, what: &str) -> Result<String> {
    let (bytes, rest) = buf.split_at(len);
    *buf = rest;
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed(&format!("{what} is not UTF-8")))
}

fn malformed(what: &str) -> ProtocolError {
    ProtocolError::MalformedHeader(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RemotingCommand {
        let mut cmd = RemotingCommand::request(crate::RequestCode::SEND_MESSAGE_V2)
            .with_language(LanguageCode::Go)
            .with_remark("hi")
            .with_ext_fields([("a", "PG"), ("b", "TopicTest")].into_iter().collect())
            .into_oneway();
        cmd.version = 401;
        cmd.opaque = -5;
        cmd
    }

    fn fields_of(cmd: &RemotingCommand) -> HeaderFields {
        HeaderFields {
            code: cmd.code,
            language: cmd.language,
            version: cmd.version,
            opaque: cmd.opaque,
            flag: cmd.flag,
            remark: cmd.remark.clone(),
            ext_fields: cmd.ext_fields.clone(),
        }
    }

    #[test]
    fn layout_matches_the_reference() {
        let mut out = Vec::new();
        encode_binary_header(&sample(), &mut out).unwrap();
        assert_eq!(&out[0..2], &310i16.to_be_bytes());
        assert_eq!(out[2], 9);
        assert_eq!(&out[3..5], &401i16.to_be_bytes());
        assert_eq!(&out[5..9], &(-5i32).to_be_bytes());
        assert_eq!(&out[13..17], &2i32.to_be_bytes());
        assert_eq!(&out[17..19], b"hi");
        let ext_len = 2 + 1 + 4 + 2 + 2 + 1 + 4 + 9;
        assert_eq!(&out[19..23], &(ext_len as i32).to_be_bytes());
        assert_eq!(out.len(), FIXED_LEN + 2 + ext_len);
        assert_eq!(decode_binary_header(&out).unwrap(), fields_of(&sample()));
    }

    #[test]
    fn empty_values_are_dropped_like_java_nulls() {
        let mut h = sample();
        h.ext_fields.insert("empty", "");
        h.remark = Some(String::new());
        let mut out = Vec::new();
        encode_binary_header(&h, &mut out).unwrap();
        let back = decode_binary_header(&out).unwrap();
        assert_eq!(back.remark, None);
        assert!(!back.ext_fields.contains("empty"));
    }

    #[test]
    fn codes_beyond_i16_need_json() {
        let mut h = sample();
        h.code = 200_050;
        assert!(encode_binary_header(&h, &mut Vec::new()).is_err());
    }

    #[test]
    fn rejects_lengths_that_lie() {
        let mut out = Vec::new();
        encode_binary_header(&sample(), &mut out).unwrap();
        for cut in 0..out.len() {
            assert!(decode_binary_header(&out[..cut]).is_err(), "cut at {cut}");
        }
        let mut negative = out.clone();
        negative[13..17].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode_binary_header(&negative).is_err());
        let mut huge = out;
        huge[13..17].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_binary_header(&huge).is_err());
    }
}
