//! A stored message (`MessageExt`): one CommitLog record, which is also the wire form of
//! pulled, queried and viewed messages. The byte layout is drawn in [`super::layout`].
//!
//! Encoding derives four things from the other fields instead of trusting them: the total
//! size, the version (V2 only for topics over 127 bytes), the body CRC, and the two IPv6
//! host bits of the sys flag. Decoding is zero-copy for the body.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

use super::hash::{crc32_masked, tag_hash_code};
use super::host::{get_host, put_host};
use super::layout::{malformed, record_len, MessageVersion, MIN_RECORD_LEN, TOTAL_SIZE_POS};
use super::offset_id::OffsetMsgId;
use super::properties::Properties;
use super::sys_flag;

/// One message as the CommitLog stores it. Field names follow `MessageExt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// TOTALSIZE as read; recomputed on encode.
    pub store_size: i32,
    /// Record version as read; chosen from the topic length on encode.
    pub version: MessageVersion,
    /// BODYCRC as read; recomputed from the body on encode.
    pub body_crc: i32,
    /// Queue the message belongs to.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Logical offset in its consume queue (0 for prepared/rollback records).
    pub queue_offset: i64,
    /// This record's CommitLog offset.
    pub physical_offset: i64,
    /// System flag (§6.2); the host bits are set from the hosts on encode.
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Times the message was redelivered.
    pub reconsume_times: i32,
    /// Commit/rollback records: CommitLog offset of the half message.
    pub prepared_transaction_offset: i64,
    /// The stored (possibly compressed) body.
    pub body: Bytes,
    /// Topic name.
    pub topic: String,
    /// Message properties.
    pub properties: Properties,
}

impl Default for StoredMessage {
    fn default() -> Self {
        let unspecified = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        Self {
            store_size: 0,
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::new(),
            topic: String::new(),
            properties: Properties::new(),
        }
    }
}

/// The derived parts of a record, computed once per encode.
struct Layout {
    version: MessageVersion,
    topic_len: TopicLen,
    sys_flag: i32,
    body_len: i32,
    properties_len: i16,
    total: i32,
}

/// The TOPICLENGTH field: its width is the record version.
#[derive(Clone, Copy)]
enum TopicLen {
    V1(i8),
    V2(i16),
}

impl StoredMessage {
    fn layout(&self) -> Result<Layout> {
        let version = MessageVersion::for_topic(&self.topic);
        let topic_too_long = |_| ProtocolError::TooLarge("topic longer than 32767 bytes");
        let topic_len = match version {
            MessageVersion::V1 => {
                TopicLen::V1(i8::try_from(self.topic.len()).map_err(topic_too_long)?)
            }
            MessageVersion::V2 => {
                TopicLen::V2(i16::try_from(self.topic.len()).map_err(topic_too_long)?)
            }
        };
        let properties_len = self.properties.encoded_len();
        let sys_flag = sys_flag::with_host_flags(
            self.sys_flag,
            self.born_host.is_ipv6(),
            self.store_host.is_ipv6(),
        );
        let total =
            record_len(version, sys_flag, self.body.len(), self.topic.len(), properties_len);
        let too_large = || ProtocolError::TooLarge("message record longer than 2 GiB");
        Ok(Layout {
            version,
            topic_len,
            sys_flag,
            body_len: i32::try_from(self.body.len()).map_err(|_| too_large())?,
            properties_len: i16::try_from(properties_len)
                .map_err(|_| ProtocolError::TooLarge("properties longer than 32767 bytes"))?,
            total: i32::try_from(total).map_err(|_| too_large())?,
        })
    }

    /// The length of the encoded record; fails if a field is too long for its length field.
    pub fn encoded_len(&self) -> Result<usize> {
        let total = self.layout()?.total;
        usize::try_from(total).map_err(|_| ProtocolError::TooLarge("negative record length"))
    }

    fn write(&self, layout: &Layout, out: &mut impl BufMut) {
        out.put_i32(layout.total);
        out.put_i32(layout.version.magic_code());
        out.put_i32(crc32_masked(&self.body));
        out.put_i32(self.queue_id);
        out.put_i32(self.flag);
        out.put_i64(self.queue_offset);
        out.put_i64(self.physical_offset);
        out.put_i32(layout.sys_flag);
        out.put_i64(self.born_timestamp);
        put_host(out, &self.born_host);
        out.put_i64(self.store_timestamp);
        put_host(out, &self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_i64(self.prepared_transaction_offset);
        out.put_i32(layout.body_len);
        out.put_slice(&self.body);
        match layout.topic_len {
            TopicLen::V1(len) => out.put_i8(len),
            TopicLen::V2(len) => out.put_i16(len),
        }
        out.put_slice(self.topic.as_bytes());
        out.put_i16(layout.properties_len);
        self.properties.write_to(out);
    }

    /// Appends the encoded record to `out`.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let layout = self.layout()?;
        out.reserve(usize::try_from(layout.total).unwrap_or_default());
        self.write(&layout, out);
        Ok(())
    }

    /// Writes the record into `out`, which must be exactly [`Self::encoded_len`] bytes long
    /// (for example a region of a mapped CommitLog file).
    pub fn encode_to_slice(&self, out: &mut [u8]) -> Result<()> {
        let layout = self.layout()?;
        if usize::try_from(layout.total).ok() != Some(out.len()) {
            return Err(ProtocolError::TooLarge(
                "output slice length differs from the record length",
            ));
        }
        let mut cursor = out;
        self.write(&layout, &mut cursor);
        Ok(())
    }

    /// The encoded record in a fresh buffer.
    pub fn to_bytes(&self) -> Result<Bytes> {
        let mut out = BytesMut::new();
        self.encode(&mut out)?;
        Ok(out.freeze())
    }

    /// Decodes the record at the front of `buf` and advances past it.
    ///
    /// The body is a slice of `buf`, not a copy. On error `buf` is left untouched. The
    /// record must be exactly as long as TOTALSIZE says; BLANK records are an error here
    /// (use [`super::check::check_record`] to walk a CommitLog file).
    pub fn decode(buf: &mut Bytes) -> Result<Self> {
        let size_field = buf
            .get(TOTAL_SIZE_POS..TOTAL_SIZE_POS + 4)
            .ok_or_else(|| malformed("record shorter than its size field"))?;
        let size = i32::from_be_bytes(
            size_field.try_into().map_err(|_| malformed("record shorter than its size field"))?,
        );
        let len = usize::try_from(size)
            .ok()
            .filter(|len| *len >= MIN_RECORD_LEN)
            .ok_or_else(|| malformed(format!("record size {size} below the minimum")))?;
        if len > buf.len() {
            return Err(malformed(format!("record of {len} bytes but only {} remain", buf.len())));
        }
        let message = Self::decode_exact(buf.slice(..len))?;
        buf.advance(len);
        Ok(message)
    }

    /// Decodes every record of a pull/query response body.
    pub fn decode_all(mut buf: Bytes) -> Result<Vec<Self>> {
        let mut messages = Vec::new();
        while !buf.is_empty() {
            messages.push(Self::decode(&mut buf)?);
        }
        Ok(messages)
    }

    /// Decodes a buffer holding exactly one record whose size field was already checked.
    fn decode_exact(mut r: Bytes) -> Result<Self> {
        // The caller guarantees at least MIN_RECORD_LEN bytes, which covers everything up
        // to and including the sys flag and born timestamp.
        let store_size = r.get_i32();
        let magic = r.get_i32();
        let version = MessageVersion::from_magic_code(magic)
            .ok_or_else(|| malformed(format!("bad magic code {magic:#010X}")))?;
        let body_crc = r.get_i32();
        let queue_id = r.get_i32();
        let flag = r.get_i32();
        let queue_offset = r.get_i64();
        let physical_offset = r.get_i64();
        let sys_flag = r.get_i32();
        let born_timestamp = r.get_i64();
        let born_host = get_host(&mut r, sys_flag::born_host_v6(sys_flag))?;
        need(&r, 8)?;
        let store_timestamp = r.get_i64();
        let store_host = get_host(&mut r, sys_flag::store_host_v6(sys_flag))?;
        need(&r, 4 + 8 + 4)?;
        let reconsume_times = r.get_i32();
        let prepared_transaction_offset = r.get_i64();
        let body_len = length(i64::from(r.get_i32()), "body")?;
        need(&r, body_len)?;
        let body = r.split_to(body_len);
        need(&r, version.topic_len_width())?;
        let topic_len = match version {
            MessageVersion::V1 => i64::from(r.get_i8()),
            MessageVersion::V2 => i64::from(r.get_i16()),
        };
        let topic_len = length(topic_len, "topic")?;
        need(&r, topic_len)?;
        let topic = String::from_utf8_lossy(&r.split_to(topic_len)).into_owned();
        need(&r, 2)?;
        let properties_len = length(i64::from(r.get_i16()), "properties")?;
        need(&r, properties_len)?;
        let properties = Properties::decode_bytes(&r.split_to(properties_len));
        if r.has_remaining() {
            return Err(malformed(format!(
                "record size {store_size} exceeds its fields by {} bytes",
                r.remaining()
            )));
        }
        Ok(Self {
            store_size,
            version,
            body_crc,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            topic,
            properties,
        })
    }

    /// Whether BODYCRC matches the body.
    pub fn body_crc_matches(&self) -> bool {
        crc32_masked(&self.body) == self.body_crc
    }

    /// The offset message id of this record (store host and physical offset, §6.4).
    pub fn offset_msg_id(&self) -> OffsetMsgId {
        OffsetMsgId { store_host: self.store_host, commit_log_offset: self.physical_offset }
    }

    /// The consume-queue tags code: Java hash of `TAGS`, or 0.
    pub fn tags_code(&self) -> i64 {
        tag_hash_code(self.properties.tags())
    }
}

/// Fails unless `r` still holds `n` bytes.
fn need(r: &Bytes, n: usize) -> Result<()> {
    if r.remaining() < n {
        return Err(malformed(format!(
            "record truncated: {n} bytes needed, {} left",
            r.remaining()
        )));
    }
    Ok(())
}

/// A length field as `usize`, refusing negative values.
fn length(value: i64, what: &str) -> Result<usize> {
    usize::try_from(value).map_err(|_| malformed(format!("negative {what} length {value}")))
}

#[cfg(test)]
mod tests;
