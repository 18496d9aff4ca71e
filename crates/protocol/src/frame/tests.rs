use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::{ExtFields, LanguageCode, RemotingCommand};

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        0u8..14,
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of(".{1,40}"),
        proptest::collection::vec(("[a-zA-Z_]{1,12}", ".{1,30}"), 0..8),
        proptest::collection::vec(any::<u8>(), 0..256),
        any::<bool>(),
    )
        .prop_map(|(code, lang, version, opaque, flag, remark, ext, body, binary)| {
            RemotingCommand {
                code: i32::from(code),
                language: LanguageCode::from_code(lang),
                version: i32::from(version),
                opaque,
                flag,
                remark,
                ext_fields: ext.into_iter().collect::<ExtFields>(),
                body: body.into(),
                serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
            }
        })
}

proptest! {
    #[test]
    fn every_command_round_trips(cmd in arb_command()) {
        let mut buf = BytesMut::new();
        encode_frame(&cmd, &mut buf).unwrap();
        let back = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap().unwrap();
        prop_assert_eq!(back, cmd);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn split_delivery_yields_the_same_commands(
        cmds in proptest::collection::vec(arb_command(), 1..5),
        chunk in 1usize..64,
    ) {
        let mut wire = BytesMut::new();
        for cmd in &cmds {
            encode_frame(cmd, &mut wire).unwrap();
        }
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(cmd) = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap() {
                out.push(cmd);
            }
        }
        prop_assert_eq!(out, cmds);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut buf = BytesMut::from(&bytes[..]);
        // Whatever the outcome, the decoder must return rather than panic, and never
        // buffer more than the limit.
        while let Ok(Some(_)) = decode_frame(&mut buf, 1024) {}
        prop_assert!(buf.capacity() <= 4096);
    }
}

#[test]
fn oversized_length_is_refused_before_buffering() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&(DEFAULT_MAX_FRAME_SIZE as i32).to_be_bytes());
    let err = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert!(matches!(err, ProtocolError::FrameTooLarge { .. }), "{err:?}");
    // Exactly at the limit (prefix included) is fine and merely incomplete.
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&((DEFAULT_MAX_FRAME_SIZE - 4) as i32).to_be_bytes());
    assert!(matches!(decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE), Ok(None)));
}

#[test]
fn negative_and_tiny_lengths_are_malformed() {
    for len in [-1i32, 0, 3] {
        let mut buf = BytesMut::from(&len.to_be_bytes()[..]);
        let err = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
        assert!(matches!(err, ProtocolError::MalformedFrame(_)), "{err:?}");
    }
}

#[test]
fn header_length_beyond_frame_is_malformed() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&100u32.to_be_bytes());
    buf.extend_from_slice(b"abcd");
    let err = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert!(matches!(err, ProtocolError::MalformedFrame(_)), "{err:?}");
}

#[test]
fn unknown_serialize_type_is_refused() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&6i32.to_be_bytes());
    buf.extend_from_slice(&(0x0500_0002u32).to_be_bytes());
    buf.extend_from_slice(b"{}");
    let err = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap_err();
    assert_eq!(err, ProtocolError::UnknownSerializeType(5));
}

/// A JSON request exactly as the Java client writes it (golden bytes).
#[test]
fn decodes_a_java_json_frame() {
    let header = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&((4 + header.len()) as i32).to_be_bytes());
    buf.extend_from_slice(&(header.len() as u32).to_be_bytes());
    buf.extend_from_slice(header);
    let cmd = decode_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE).unwrap().unwrap();
    assert_eq!(cmd.request_code(), crate::RequestCode::GET_ROUTEINFO_BY_TOPIC);
    assert_eq!(cmd.serialize_type, SerializeType::Json);
    assert_eq!(cmd.ext_fields.get("topic"), Some("TopicTest"));
    assert!(cmd.body.is_empty());
}
