//! What the dispatcher needs from a stored record, read in place: the fixed fields by their
//! positions and the properties it indexes or codes (`TAGS`, `KEYS`, `UNIQ_KEY`, `DELAY`),
//! without decoding the whole message (no allocation per record).

use ferromq_protocol::message::layout::{
    body_len_pos, store_timestamp_pos, MessageVersion, MAGIC_CODE_POS, QUEUE_ID_POS,
    QUEUE_OFFSET_POS, SYS_FLAG_POS,
};
use ferromq_protocol::message::property;

/// Separator between a property's name and value, and after each property.
const NAME_VALUE_SEPARATOR: u8 = 1;
const PROPERTY_SEPARATOR: u8 = 2;

/// A stored record's fields that dispatch uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub sys_flag: i32,
    pub store_timestamp: i64,
    pub tags: Option<&'a str>,
    pub keys: Option<&'a str>,
    pub unique_key: Option<&'a str>,
    /// The delay level (`DELAY`), as stored.
    pub delay: Option<&'a str>,
}

fn i32_at(record: &[u8], pos: usize) -> Option<i32> {
    Some(i32::from_be_bytes(record.get(pos..pos + 4)?.try_into().ok()?))
}

fn i64_at(record: &[u8], pos: usize) -> Option<i64> {
    Some(i64::from_be_bytes(record.get(pos..pos + 8)?.try_into().ok()?))
}

impl<'a> RecordView<'a> {
    /// Reads a whole record (as checked by `check_record`); `None` if a length runs past it.
    pub fn parse(record: &'a [u8]) -> Option<RecordView<'a>> {
        let version = MessageVersion::from_magic_code(i32_at(record, MAGIC_CODE_POS)?)?;
        let sys_flag = i32_at(record, SYS_FLAG_POS)?;
        let body_len = usize::try_from(i32_at(record, body_len_pos(sys_flag))?).ok()?;
        let mut pos = body_len_pos(sys_flag) + 4 + body_len;
        let topic_len = match version.topic_len_width() {
            1 => usize::from(*record.get(pos)?),
            _ => usize::from(u16::from_be_bytes(record.get(pos..pos + 2)?.try_into().ok()?)),
        };
        pos += version.topic_len_width();
        let topic = std::str::from_utf8(record.get(pos..pos + topic_len)?).ok()?;
        pos += topic_len;
        let props_len = usize::from(u16::from_be_bytes(record.get(pos..pos + 2)?.try_into().ok()?));
        pos += 2;
        let properties = record.get(pos..pos + props_len)?;
        let mut view = RecordView {
            topic,
            queue_id: i32_at(record, QUEUE_ID_POS)?,
            queue_offset: i64_at(record, QUEUE_OFFSET_POS)?,
            sys_flag,
            store_timestamp: i64_at(record, store_timestamp_pos(sys_flag))?,
            tags: None,
            keys: None,
            unique_key: None,
            delay: None,
        };
        for entry in properties.split(|b| *b == PROPERTY_SEPARATOR) {
            let Some(at) = entry.iter().position(|b| *b == NAME_VALUE_SEPARATOR) else { continue };
            let (name, value) = entry.split_at(at);
            let Ok(value) = std::str::from_utf8(value.get(1..).unwrap_or_default()) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match name {
                n if n == property::TAGS.as_bytes() => view.tags = Some(value),
                n if n == property::KEYS.as_bytes() => view.keys = Some(value),
                n if n == property::UNIQ_KEY.as_bytes() => view.unique_key = Some(value),
                n if n == property::DELAY.as_bytes() => view.delay = Some(value),
                _ => {}
            }
        }
        Some(view)
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use ferromq_protocol::message::{Properties, StoredMessage};
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The view agrees with the full decoder on every field it reads.
        #[test]
        fn agrees_with_the_full_decoder(
            topic in "[a-zA-Z0-9_%|-]{1,200}",
            queue_id in 0i32..1000,
            queue_offset in 0i64..i64::MAX,
            tags in proptest::option::of("[a-zA-Z]{1,10}"),
            keys in proptest::option::of("[a-z ]{1,20}"),
            delay in proptest::option::of("-?[0-9]{1,3}"),
            v6 in any::<bool>(),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut properties = Properties::new();
            if let Some(t) = &tags { properties.insert(property::TAGS, t.as_str()); }
            if let Some(k) = &keys { properties.insert(property::KEYS, k.as_str()); }
            if let Some(d) = &delay { properties.insert(property::DELAY, d.as_str()); }
            properties.insert(property::UNIQ_KEY, "ABC");
            properties.insert("other", "x");
            let host = if v6 { "[::1]:1" } else { "127.0.0.1:1" };
            let msg = StoredMessage {
                topic: topic.clone(),
                queue_id,
                queue_offset,
                store_timestamp: 1_700_000_000_123,
                body: body.into(),
                born_host: host.parse().unwrap(),
                store_host: host.parse().unwrap(),
                properties,
                ..StoredMessage::default()
            };
            let mut out = BytesMut::new();
            msg.encode(&mut out).unwrap();
            let decoded = StoredMessage::decode(&mut out.clone().freeze()).unwrap();
            let view = RecordView::parse(&out).unwrap();
            prop_assert_eq!(view.topic, decoded.topic.as_str());
            prop_assert_eq!(view.queue_id, decoded.queue_id);
            prop_assert_eq!(view.queue_offset, decoded.queue_offset);
            prop_assert_eq!(view.sys_flag, decoded.sys_flag);
            prop_assert_eq!(view.store_timestamp, decoded.store_timestamp);
            prop_assert_eq!(view.tags, decoded.properties.tags());
            prop_assert_eq!(view.keys, decoded.properties.get(property::KEYS));
            prop_assert_eq!(view.unique_key, Some("ABC"));
            prop_assert_eq!(view.delay, decoded.properties.get(property::DELAY));
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = RecordView::parse(&bytes);
        }
    }
}
