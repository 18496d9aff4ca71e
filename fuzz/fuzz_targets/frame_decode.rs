//! Fuzzes frame decoding: any byte stream, cut at any points, must decode to commands or a
//! clean error, never panic, and never buffer past the frame limit.
#![no_main]

use bytes::BytesMut;
use ferromq_protocol::frame::decode_frame;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    // The first byte picks how the stream is chunked, as a socket would deliver it.
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match decode_frame(&mut buf, LIMIT) {
                Ok(Some(cmd)) => {
                    // Whatever decoded must encode again.
                    let mut out = BytesMut::new();
                    let _ = ferromq_protocol::frame::encode_frame(&cmd, &mut out);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        // BytesMut may round its growth up, so allow twice the limit, never more.
        assert!(buf.capacity() <= 2 * (LIMIT + chunk), "buffered past the limit");
    }
});
