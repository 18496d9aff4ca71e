use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::message::check::{check_record, RecordCheck};
use crate::message::host::arb_host;
use crate::message::layout::*;
use crate::message::property;

fn sample() -> StoredMessage {
    StoredMessage {
        queue_id: 3,
        flag: 0x0102_0304,
        queue_offset: 0x1111_2222_3333_4444,
        physical_offset: 0x0000_0001_0000_0000,
        sys_flag: sys_flag::MULTI_TAGS_FLAG,
        born_timestamp: 1_700_000_000_000,
        born_host: "192.168.1.2:54321".parse().unwrap(),
        store_timestamp: 1_700_000_000_123,
        store_host: "10.0.0.9:10911".parse().unwrap(),
        reconsume_times: 2,
        prepared_transaction_offset: 77,
        body: Bytes::from_static(b"hello"),
        topic: "TopicTest".to_owned(),
        properties: [(property::TAGS, "TagA")].into_iter().collect(),
        ..StoredMessage::default()
    }
}

fn i32_field(buf: &[u8], pos: usize) -> i32 {
    i32::from_be_bytes(buf[pos..pos + 4].try_into().unwrap())
}

fn i64_field(buf: &[u8], pos: usize) -> i64 {
    i64::from_be_bytes(buf[pos..pos + 8].try_into().unwrap())
}

/// What decoding an encoded `msg` gives back: the derived fields filled in.
fn normalized(mut msg: StoredMessage) -> StoredMessage {
    msg.store_size = i32::try_from(msg.encoded_len().unwrap()).unwrap();
    msg.version = MessageVersion::for_topic(&msg.topic);
    msg.body_crc = crc32_masked(&msg.body);
    msg.sys_flag =
        sys_flag::with_host_flags(msg.sys_flag, msg.born_host.is_ipv6(), msg.store_host.is_ipv6());
    msg
}

#[test]
fn golden_ipv4_record_has_every_field_at_its_offset() {
    let msg = sample();
    let bytes = msg.to_bytes().unwrap();
    let b = &bytes[..];
    let props = "TAGS\u{1}TagA\u{2}";
    let size = 91 + 5 + 9 + props.len();
    assert_eq!(b.len(), size);
    assert_eq!(i32_field(b, 0), size as i32);
    assert_eq!(&b[4..8], &[0xDA, 0xA3, 0x20, 0xA7]);
    assert_eq!(i32_field(b, 8), crc32_masked(b"hello"));
    assert_eq!(i32_field(b, 12), 3);
    assert_eq!(i32_field(b, 16), 0x0102_0304);
    assert_eq!(i64_field(b, 20), 0x1111_2222_3333_4444);
    assert_eq!(i64_field(b, 28), 0x0000_0001_0000_0000);
    assert_eq!(i32_field(b, 36), sys_flag::MULTI_TAGS_FLAG);
    assert_eq!(i64_field(b, 40), 1_700_000_000_000);
    assert_eq!(&b[48..56], &[192, 168, 1, 2, 0, 0, 0xD4, 0x31]);
    assert_eq!(i64_field(b, 56), 1_700_000_000_123);
    assert_eq!(&b[64..72], &[10, 0, 0, 9, 0, 0, 0x2A, 0x9F]);
    assert_eq!(i32_field(b, 72), 2);
    assert_eq!(i64_field(b, 76), 77);
    assert_eq!(i32_field(b, 84), 5);
    assert_eq!(&b[88..93], b"hello");
    assert_eq!(b[93], 9);
    assert_eq!(&b[94..103], b"TopicTest");
    assert_eq!(&b[103..105], &(props.len() as i16).to_be_bytes());
    assert_eq!(&b[105..], props.as_bytes());

    let back = StoredMessage::decode(&mut bytes.clone()).unwrap();
    assert_eq!(back, normalized(msg));
    assert!(back.body_crc_matches());
    assert_eq!(back.tags_code(), 2_598_919);
    assert_eq!(back.offset_msg_id().to_string(), "0A00000900002A9F0000000100000000");
}

#[test]
fn ipv6_hosts_shift_the_later_fields_and_set_the_flags() {
    let mut msg = sample();
    msg.born_host = SocketAddr::from((Ipv6Addr::LOCALHOST, 1));
    msg.store_host = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 2));
    let bytes = msg.to_bytes().unwrap();
    assert_eq!(bytes.len(), sample().encoded_len().unwrap() + 24);
    let flag = i32_field(&bytes, SYS_FLAG_POS);
    assert_eq!(
        flag,
        sys_flag::MULTI_TAGS_FLAG | sys_flag::BORNHOST_V6_FLAG | sys_flag::STOREHOST_V6_FLAG
    );
    assert_eq!(store_timestamp_pos(flag), 68);
    assert_eq!(i64_field(&bytes, 68), msg.store_timestamp);
    assert_eq!(i32_field(&bytes, body_len_pos(flag)), 5);
    let back = StoredMessage::decode(&mut bytes.clone()).unwrap();
    assert_eq!(back, normalized(msg));
}

#[test]
fn long_topics_use_v2_and_a_two_byte_length() {
    let mut msg = sample();
    msg.topic = "t".repeat(127);
    let v1 = msg.to_bytes().unwrap();
    assert_eq!(i32_field(&v1, MAGIC_CODE_POS), MAGIC_CODE_V1);
    msg.topic = "t".repeat(128);
    let v2 = msg.to_bytes().unwrap();
    assert_eq!(i32_field(&v2, MAGIC_CODE_POS), MAGIC_CODE_V2);
    assert_eq!(v2.len(), v1.len() + 2);
    assert_eq!(&v2[93..95], &128i16.to_be_bytes());
    let back = StoredMessage::decode(&mut v2.clone()).unwrap();
    assert_eq!(back.version, MessageVersion::V2);
    assert_eq!(back.topic, msg.topic);
}

#[test]
fn oversized_fields_are_refused() {
    let mut msg = sample();
    msg.topic = "t".repeat(MAX_TOPIC_LEN + 1);
    assert!(matches!(msg.encoded_len(), Err(ProtocolError::TooLarge(_))));
    let mut msg = sample();
    msg.properties.insert("big", "v".repeat(32_767));
    assert!(matches!(msg.to_bytes(), Err(ProtocolError::TooLarge(_))));
}

#[test]
fn encode_to_slice_needs_the_exact_length() {
    let msg = sample();
    let len = msg.encoded_len().unwrap();
    let mut exact = vec![0u8; len];
    msg.encode_to_slice(&mut exact).unwrap();
    assert_eq!(exact, msg.to_bytes().unwrap());
    assert!(msg.encode_to_slice(&mut vec![0u8; len - 1]).is_err());
    assert!(msg.encode_to_slice(&mut vec![0u8; len + 1]).is_err());
}

#[test]
fn store_assigned_fields_can_be_patched_in_place() {
    for born_host in
        [SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), SocketAddr::from((Ipv6Addr::LOCALHOST, 1))]
    {
        let mut msg = sample();
        msg.born_host = born_host;
        msg.queue_offset = 0;
        msg.physical_offset = 0;
        msg.store_timestamp = 0;
        let mut buf = vec![0u8; msg.encoded_len().unwrap()];
        msg.encode_to_slice(&mut buf).unwrap();
        patch_queue_offset(&mut buf, 42).unwrap();
        patch_physical_offset(&mut buf, 4096).unwrap();
        patch_store_timestamp(&mut buf, 1_234).unwrap();
        let back = StoredMessage::decode(&mut Bytes::from(buf)).unwrap();
        assert_eq!(
            (back.queue_offset, back.physical_offset, back.store_timestamp),
            (42, 4096, 1_234)
        );
        assert_eq!(back.born_host, born_host);
    }
}

#[test]
fn every_truncation_is_an_error() {
    let mut msg = sample();
    msg.store_host = SocketAddr::from((Ipv6Addr::LOCALHOST, 9));
    for msg in [sample(), msg] {
        let bytes = msg.to_bytes().unwrap();
        for cut in 0..bytes.len() {
            let mut prefix = bytes.slice(..cut);
            assert!(StoredMessage::decode(&mut prefix).is_err(), "cut at {cut}");
            assert_eq!(prefix.len(), cut, "a failed decode consumes nothing");
            assert!(check_record(&bytes[..cut], true).is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn unknown_magic_is_rejected() {
    let mut bytes = BytesMut::from(&sample().to_bytes().unwrap()[..]);
    bytes[MAGIC_CODE_POS..MAGIC_CODE_POS + 4].copy_from_slice(&0x1234_5678i32.to_be_bytes());
    let err = StoredMessage::decode(&mut bytes.clone().freeze()).unwrap_err();
    assert!(err.to_string().contains("magic"), "{err}");
    assert!(check_record(&bytes, false).is_err());
}

#[test]
fn blank_marks_the_end_of_a_file() {
    let mut file = vec![0u8; 300];
    file[..4].copy_from_slice(&300i32.to_be_bytes());
    file[4..8].copy_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    assert_eq!(check_record(&file, true).unwrap(), RecordCheck::Blank { size: 300 });
    assert!(StoredMessage::decode(&mut Bytes::from(file.clone())).is_err());
    // A blank larger than the rest of the file, or smaller than its own header, is damage.
    assert!(check_record(&file[..299], true).is_err());
    file[..4].copy_from_slice(&4i32.to_be_bytes());
    assert!(check_record(&file, true).is_err());
}

#[test]
fn zeroed_space_is_not_a_record() {
    assert!(check_record(&[0u8; 4096], false).is_err());
    assert!(StoredMessage::decode(&mut Bytes::from(vec![0u8; 4096])).is_err());
}

#[test]
fn walking_a_file_finds_records_then_the_blank() {
    let mut file = BytesMut::new();
    let mut msg = sample();
    for i in 0..3 {
        msg.queue_offset = i;
        msg.encode(&mut file).unwrap();
    }
    let used = file.len();
    file.extend_from_slice(&100i32.to_be_bytes());
    file.extend_from_slice(&BLANK_MAGIC_CODE.to_be_bytes());
    file.resize(used + 100, 0);
    let mut pos = 0;
    let mut found = 0;
    loop {
        match check_record(&file[pos..], true).unwrap() {
            RecordCheck::Message { size } => {
                pos += size;
                found += 1;
            }
            RecordCheck::Blank { size } => {
                assert_eq!(pos + size, file.len());
                break;
            }
        }
    }
    assert_eq!(found, 3);
    let all = StoredMessage::decode_all(file.freeze().slice(..used)).unwrap();
    assert_eq!(all.iter().map(|m| m.queue_offset).collect::<Vec<_>>(), [0, 1, 2]);
}

#[test]
fn crc_mismatch_is_caught_only_when_asked() {
    let mut bytes = BytesMut::from(&sample().to_bytes().unwrap()[..]);
    bytes[BODY_POS_IPV4] ^= 0xFF;
    let size = bytes.len();
    assert!(check_record(&bytes, true).is_err());
    assert_eq!(check_record(&bytes, false).unwrap(), RecordCheck::Message { size });
    let back = StoredMessage::decode(&mut bytes.freeze()).unwrap();
    assert!(!back.body_crc_matches());
}

#[test]
fn a_size_that_disagrees_with_the_fields_is_rejected() {
    let good = sample().to_bytes().unwrap();
    let mut longer = BytesMut::from(&good[..]);
    longer.extend_from_slice(&[0, 0]);
    let len = longer.len() as i32;
    longer[..4].copy_from_slice(&len.to_be_bytes());
    assert!(StoredMessage::decode(&mut longer.clone().freeze()).is_err());
    assert!(check_record(&longer, false).is_err());

    let mut negative_body = BytesMut::from(&good[..]);
    negative_body[BODY_LEN_POS_IPV4..BODY_POS_IPV4].copy_from_slice(&(-1i32).to_be_bytes());
    assert!(StoredMessage::decode(&mut negative_body.clone().freeze()).is_err());
    assert!(check_record(&negative_body, false).is_err());
}

prop_compose! {
    fn arb_message()(
        ints in (any::<i32>(), any::<i32>(), any::<i64>(), any::<i64>(), any::<i32>()),
        times in (any::<i64>(), any::<i64>(), any::<i32>(), any::<i64>()),
        born_host in arb_host(),
        store_host in arb_host(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        topic in "[a-zA-Z0-9_%|-]{1,300}",
        props in proptest::collection::btree_map("[A-Za-z_#.]{1,16}", "[^\u{2}]{1,24}", 0..8),
    ) -> StoredMessage {
        let (queue_id, flag, queue_offset, physical_offset, sys_flag) = ints;
        let (born_timestamp, store_timestamp, reconsume_times, prepared_transaction_offset) = times;
        StoredMessage {
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
            body: body.into(),
            topic,
            properties: props.into_iter().collect(),
            ..StoredMessage::default()
        }
    }
}

proptest! {
    #[test]
    fn records_round_trip(msg in arb_message()) {
        let bytes = msg.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), msg.encoded_len().unwrap());
        let mut slice = vec![0u8; bytes.len()];
        msg.encode_to_slice(&mut slice).unwrap();
        prop_assert_eq!(&slice[..], &bytes[..]);
        prop_assert_eq!(
            check_record(&bytes, true).unwrap(),
            RecordCheck::Message { size: bytes.len() }
        );
        let mut buf = bytes.clone();
        let back = StoredMessage::decode(&mut buf).unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(back, normalized(msg));
    }

    #[test]
    fn pull_bodies_round_trip(msgs in proptest::collection::vec(arb_message(), 0..5)) {
        let mut body = BytesMut::new();
        for msg in &msgs {
            msg.encode(&mut body).unwrap();
        }
        let back = StoredMessage::decode_all(body.freeze()).unwrap();
        let expected: Vec<_> = msgs.into_iter().map(normalized).collect();
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = StoredMessage::decode_all(Bytes::from(bytes.clone()));
        let _ = check_record(&bytes, true);
    }

    #[test]
    fn garbage_behind_a_plausible_header_never_panics(
        mut bytes in proptest::collection::vec(any::<u8>(), MIN_RECORD_LEN..600),
        v2 in any::<bool>(),
    ) {
        let len = bytes.len() as i32;
        let magic = if v2 { MAGIC_CODE_V2 } else { MAGIC_CODE_V1 };
        bytes[..4].copy_from_slice(&len.to_be_bytes());
        bytes[4..8].copy_from_slice(&magic.to_be_bytes());
        let decoded = StoredMessage::decode(&mut Bytes::from(bytes.clone()));
        let checked = check_record(&bytes, false);
        // Decoding is at least as strict as the check (it also validates ports).
        prop_assert!(decoded.is_err() || checked.is_ok());
    }

    #[test]
    fn mutated_records_never_panic(msg in arb_message(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = BytesMut::from(&msg.to_bytes().unwrap()[..]);
        let at = at.index(bytes.len());
        bytes[at] = byte;
        let decoded = StoredMessage::decode(&mut bytes.clone().freeze());
        let checked = check_record(&bytes, false);
        prop_assert!(decoded.is_err() || checked.is_ok());
    }
}
