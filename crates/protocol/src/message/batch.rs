//! The SEND_BATCH_MESSAGE body (§6.6): several messages of one topic, each with its own flag,
//! body and properties (`MessageDecoder.encodeMessages`).
//!
//! ```text
//! offset  width  field        (repeated until the body ends)
//!  0      4      TOTALSIZE    22 + n + p
//!  4      4      MAGICCODE    0 (ignored)
//!  8      4      BODYCRC      0 (ignored; the broker computes it)
//! 12      4      FLAG         user flag
//! 16      4      BODYLEN (i32)
//! 20      n      BODY
//! 20+n    2      PROPSLEN (i16)
//! 22+n    p      PROPERTIES   the message's own, including its UNIQ_KEY
//! ```
//! Like the Java broker, decoding ignores TOTALSIZE, MAGICCODE and BODYCRC and walks the
//! body and properties lengths, but every length is bounds-checked.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};

use super::layout::malformed;
use super::properties::{Properties, MAX_PROPERTIES_LEN};

/// Bytes of an entry besides its body and properties.
pub const BATCH_ENTRY_OVERHEAD: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchEntry {
    /// User flag.
    pub flag: i32,
    /// Message body (a slice of the request body when decoded).
    pub body: Bytes,
    /// The message's own properties.
    pub properties: Properties,
}

impl BatchEntry {
    /// The encoded length of this entry (TOTALSIZE), checked against the field widths.
    pub fn encoded_len(&self) -> Result<usize> {
        let properties_len = self.properties.encoded_len();
        if properties_len > MAX_PROPERTIES_LEN {
            return Err(ProtocolError::TooLarge("properties longer than 32767 bytes"));
        }
        let len = BATCH_ENTRY_OVERHEAD + self.body.len() + properties_len;
        if i32::try_from(len).is_err() {
            return Err(ProtocolError::TooLarge("batch entry longer than 2 GiB"));
        }
        Ok(len)
    }
}

/// Decodes a batch body into its entries; bodies are slices of `body`, not copies.
pub fn decode_batch(mut body: Bytes) -> Result<Vec<BatchEntry>> {
    let mut entries = Vec::new();
    while body.has_remaining() {
        if body.remaining() < BATCH_ENTRY_OVERHEAD - 2 {
            return Err(malformed("batch entry shorter than its header"));
        }
        body.advance(4 + 4 + 4);
        let flag = body.get_i32();
        let body_len = body.get_i32();
        let body_len =
            usize::try_from(body_len).ok().filter(|len| *len <= body.remaining()).ok_or_else(
                || malformed(format!("batch entry body length {body_len} out of bounds")),
            )?;
        let message_body = body.split_to(body_len);
        if body.remaining() < 2 {
            return Err(malformed("batch entry truncated before its properties length"));
        }
        let properties_len = body.get_i16();
        let properties_len = usize::try_from(properties_len)
            .ok()
            .filter(|len| *len <= body.remaining())
            .ok_or_else(|| {
                malformed(format!("batch entry properties length {properties_len} out of bounds"))
            })?;
        let properties = Properties::decode_bytes(&body.split_to(properties_len));
        entries.push(BatchEntry { flag, body: message_body, properties });
    }
    Ok(entries)
}

/// The number of entries in a batch body, checked as [`decode_batch`] checks it but without
/// decoding bodies or properties (for servers that only count, like `ferromq bench sink`).
pub fn count_batch(mut body: &[u8]) -> Result<usize> {
    let mut count = 0;
    while body.has_remaining() {
        if body.remaining() < BATCH_ENTRY_OVERHEAD - 2 {
            return Err(malformed("batch entry shorter than its header"));
        }
        body.advance(4 + 4 + 4 + 4);
        let body_len = body.get_i32();
        let body_len =
            usize::try_from(body_len).ok().filter(|len| *len <= body.remaining()).ok_or_else(
                || malformed(format!("batch entry body length {body_len} out of bounds")),
            )?;
        body.advance(body_len);
        if body.remaining() < 2 {
            return Err(malformed("batch entry truncated before its properties length"));
        }
        let properties_len = body.get_i16();
        let properties_len = usize::try_from(properties_len)
            .ok()
            .filter(|len| *len <= body.remaining())
            .ok_or_else(|| {
                malformed(format!("batch entry properties length {properties_len} out of bounds"))
            })?;
        body.advance(properties_len);
        count += 1;
    }
    Ok(count)
}

/// Appends the batch body for `entries` to `out`; nothing is written if an entry is too large.
pub fn encode_batch(entries: &[BatchEntry], out: &mut BytesMut) -> Result<()> {
    let mut total = 0usize;
    for entry in entries {
        total = total
            .checked_add(entry.encoded_len()?)
            .ok_or(ProtocolError::TooLarge("batch body too large"))?;
    }
    out.reserve(total);
    for entry in entries {
        let too_large = || ProtocolError::TooLarge("batch entry too large");
        let len = i32::try_from(entry.encoded_len()?).map_err(|_| too_large())?;
        let body_len = i32::try_from(entry.body.len()).map_err(|_| too_large())?;
        let properties_len =
            i16::try_from(entry.properties.encoded_len()).map_err(|_| too_large())?;
        out.put_i32(len);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(entry.flag);
        out.put_i32(body_len);
        out.put_slice(&entry.body);
        out.put_i16(properties_len);
        entry.properties.write_to(out);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(flag: i32, body: &'static [u8], props: &[(&str, &str)]) -> BatchEntry {
        BatchEntry {
            flag,
            body: Bytes::from_static(body),
            properties: props.iter().copied().collect(),
        }
    }

    #[test]
    fn layout_of_one_entry() {
        let mut out = BytesMut::new();
        encode_batch(&[entry(7, b"hi", &[("a", "b")])], &mut out).unwrap();
        let expected: &[u8] = &[
            0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2, b'h', b'i', 0, 4, b'a', 1,
            b'b', 2,
        ];
        assert_eq!(&out[..], expected);
        assert_eq!(BATCH_ENTRY_OVERHEAD, 22);
    }

    #[test]
    fn counting_agrees_with_decoding() {
        let mut out = BytesMut::new();
        let entries = [entry(1, b"x", &[("a", "b")]), entry(2, b"", &[]), entry(3, b"yz", &[])];
        encode_batch(&entries, &mut out).unwrap();
        assert_eq!(count_batch(&out), Ok(3));
        assert_eq!(count_batch(&[]), Ok(0));
        assert!(count_batch(&out[..out.len() - 1]).is_err());
        let mut negative = out.clone();
        negative[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(count_batch(&negative).is_err());
    }

    #[test]
    fn header_fields_are_ignored_but_lengths_are_checked() {
        let mut out = BytesMut::new();
        encode_batch(&[entry(1, b"x", &[])], &mut out).unwrap();
        out[0..12].copy_from_slice(&[0xAB; 12]);
        let entries = decode_batch(out.clone().freeze()).unwrap();
        assert_eq!(entries, [entry(1, b"x", &[])]);

        let mut bad_body = out.clone();
        bad_body[16..20].copy_from_slice(&2i32.to_be_bytes());
        assert!(decode_batch(bad_body.freeze()).is_err());
        let mut negative = out.clone();
        negative[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode_batch(negative.freeze()).is_err());
        let mut bad_props = out;
        bad_props[21..23].copy_from_slice(&(-1i16).to_be_bytes());
        assert!(decode_batch(bad_props.freeze()).is_err());
    }

    #[test]
    fn empty_body_is_an_empty_batch() {
        assert!(decode_batch(Bytes::new()).unwrap().is_empty());
    }

    #[test]
    fn oversized_properties_are_refused_without_writing() {
        let mut big = BatchEntry::default();
        big.properties.insert("k", "v".repeat(MAX_PROPERTIES_LEN));
        let mut out = BytesMut::new();
        let err = encode_batch(&[entry(0, b"", &[]), big], &mut out).unwrap_err();
        assert!(matches!(err, ProtocolError::TooLarge(_)));
        assert!(out.is_empty());
    }

    fn arb_entry() -> impl Strategy<Value = BatchEntry> {
        (
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::btree_map("[A-Z_]{1,10}", "[^\u{2}]{1,16}", 0..6),
        )
            .prop_map(|(flag, body, props)| BatchEntry {
                flag,
                body: body.into(),
                properties: props.into_iter().collect(),
            })
    }

    proptest! {
        #[test]
        fn round_trips(entries in proptest::collection::vec(arb_entry(), 0..6)) {
            let mut out = BytesMut::new();
            encode_batch(&entries, &mut out).unwrap();
            let expected: usize = entries.iter().map(|e| e.encoded_len().unwrap()).sum();
            prop_assert_eq!(out.len(), expected);
            prop_assert_eq!(decode_batch(out.freeze()).unwrap(), entries);
        }

        #[test]
        fn truncations_fail_cleanly(entries in proptest::collection::vec(arb_entry(), 1..4), cut in any::<prop::sample::Index>()) {
            let mut out = BytesMut::new();
            encode_batch(&entries, &mut out).unwrap();
            let cut = cut.index(out.len());
            // A cut on an entry boundary is a shorter valid batch; anything else must fail.
            match decode_batch(out.freeze().slice(..cut)) {
                Ok(decoded) => prop_assert!(decoded.len() < entries.len()),
                Err(err) => prop_assert!(matches!(err, ProtocolError::MalformedMessage(_))),
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_batch(bytes.into());
        }
    }
}
