//! The remoting frame: how a command is cut out of, and written into, a byte stream.
//!
//! ```text
//! offset  width      field
//! 0       4          length (i32): bytes after this field = 4 + headerLen + bodyLen
//! 4       4          headerLenWord (i32): serialize type in the high byte, headerLen below
//! 8       headerLen  header (JSON or ROCKETMQ binary)
//! 8+h     rest       body
//! ```
//! A frame larger than the limit (16 MiB by default, counting the length field) is refused
//! as soon as its length field is read, before any of it is buffered.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::command::{RemotingCommand, SerializeType};
use crate::error::{ProtocolError, Result};
use crate::header::{
    decode_binary_header, decode_json_header, encode_binary_header, encode_json_header,
};

/// RocketMQ's default frame limit (`com.rocketmq.remoting.frameMaxLength`), prefix included.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;

/// Width of the length prefix.
pub const LENGTH_FIELD_LEN: usize = 4;
/// Width of the header-length word.
pub const HEADER_WORD_LEN: usize = 4;
const HEADER_LEN_MASK: u32 = 0x00FF_FFFF;

/// Appends `cmd` as one frame to `out`.
pub fn encode_frame(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<()> {
    let mut header = Vec::with_capacity(header_size_hint(cmd));
    match cmd.serialize_type {
        SerializeType::Json => encode_json_header(cmd, &mut header),
        SerializeType::RocketMq => encode_binary_header(cmd, &mut header)?,
    }
    let header_len = u32::try_from(header.len())
        .ok()
        .filter(|len| *len <= HEADER_LEN_MASK)
        .ok_or(ProtocolError::TooLarge("header longer than 16 MiB"))?;
    let length = i32::try_from(HEADER_WORD_LEN + header.len() + cmd.body.len())
        .map_err(|_| ProtocolError::TooLarge("frame longer than 2 GiB"))?;
    out.reserve(LENGTH_FIELD_LEN + HEADER_WORD_LEN + header.len() + cmd.body.len());
    out.put_i32(length);
    out.put_u32((u32::from(cmd.serialize_type.code()) << 24) | header_len);
    out.put_slice(&header);
    out.put_slice(&cmd.body);
    Ok(())
}

/// About how long `cmd`'s header will be (enough for either encoding, so it is written
/// without growing its buffer): the fixed fields, then each string with room for its length
/// prefix or quotes, separators and escapes.
fn header_size_hint(cmd: &RemotingCommand) -> usize {
    let fields: usize = cmd.ext_fields.iter().map(|(k, v)| k.len() + v.len() + 8).sum();
    let remark = cmd.remark.as_ref().map_or(0, |r| r.len() + 16);
    160 + fields + fields / 8 + remark
}

/// Encodes `cmd` into a fresh buffer.
pub fn encode_to_bytes(cmd: &RemotingCommand) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(
        LENGTH_FIELD_LEN + HEADER_WORD_LEN + header_size_hint(cmd) + cmd.body.len(),
    );
    encode_frame(cmd, &mut out)?;
    Ok(out.freeze())
}

/// Cuts one command off the front of `buf`.
///
/// Returns `Ok(None)` while the frame is incomplete (more bytes are needed), and an error as
/// soon as the frame is known to be bad: the connection it came from should then be closed.
pub fn decode_frame(buf: &mut BytesMut, max_frame_size: usize) -> Result<Option<RemotingCommand>> {
    let Some(length) = peek_length(buf)? else {
        return Ok(None);
    };
    let total = LENGTH_FIELD_LEN + length;
    if total > max_frame_size {
        return Err(ProtocolError::FrameTooLarge { len: total as u64, max: max_frame_size });
    }
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(total).freeze();
    frame.advance(LENGTH_FIELD_LEN);
    decode_frame_body(frame).map(Some)
}

/// The `length` field of the frame at the front of `buf`, if its prefix has arrived.
fn peek_length(buf: &BytesMut) -> Result<Option<usize>> {
    let Some(prefix) = buf.get(..LENGTH_FIELD_LEN) else {
        return Ok(None);
    };
    let prefix: [u8; LENGTH_FIELD_LEN] =
        prefix.try_into().map_err(|_| ProtocolError::MalformedFrame("short length prefix"))?;
    let length = i32::from_be_bytes(prefix);
    let length = usize::try_from(length)
        .map_err(|_| ProtocolError::MalformedFrame("negative frame length"))?;
    if length < HEADER_WORD_LEN {
        return Err(ProtocolError::MalformedFrame("frame shorter than its header-length word"));
    }
    Ok(Some(length))
}

/// Decodes a frame without its length prefix: header word, header and body.
pub fn decode_frame_body(mut frame: Bytes) -> Result<RemotingCommand> {
    if frame.len() < HEADER_WORD_LEN {
        return Err(ProtocolError::MalformedFrame("frame shorter than its header-length word"));
    }
    let word = frame.get_u32();
    let serialize_type = SerializeType::from_code((word >> 24) as u8)
        .ok_or(ProtocolError::UnknownSerializeType((word >> 24) as u8))?;
    let header_len = (word & HEADER_LEN_MASK) as usize;
    if header_len > frame.len() {
        return Err(ProtocolError::MalformedFrame("header length exceeds the frame"));
    }
    let header = frame.split_to(header_len);
    let fields = match serialize_type {
        SerializeType::Json => decode_json_header(&header)?,
        SerializeType::RocketMq => decode_binary_header(&header)?,
    };
    Ok(RemotingCommand {
        code: fields.code,
        language: fields.language,
        version: fields.version,
        opaque: fields.opaque,
        flag: fields.flag,
        remark: fields.remark,
        ext_fields: fields.ext_fields,
        body: frame,
        serialize_type,
    })
}

#[cfg(test)]
mod tests;
