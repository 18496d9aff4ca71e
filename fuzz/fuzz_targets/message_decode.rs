//! Fuzzes the stored-message decoders (pull bodies, recovery checks, batch bodies): any bytes
//! give records or a clean error, never a panic.
#![no_main]

use bytes::Bytes;
use ferromq_protocol::message::{check_record, decode_batch, StoredMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(records) = StoredMessage::decode_all(bytes.clone()) {
        for record in records {
            // A record that decoded must encode again to the same length.
            if let (Ok(len), Ok(encoded)) = (record.encoded_len(), record.to_bytes()) {
                assert_eq!(len, encoded.len());
            }
        }
    }
    let _ = check_record(data, true);
    let _ = decode_batch(bytes);
});
