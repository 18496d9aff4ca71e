//! The offset message id (§6.4): where a record lives, as the send response's `msgId`.
//!
//! ```text
//! IPv4: store ip (4) | store port (i32) | commit-log offset (i64)   16 bytes -> 32 hex chars
//! IPv6: store ip (16)| store port (i32) | commit-log offset (i64)   28 bytes -> 56 hex chars
//! ```
//! Upper-case hex. Producers parse it back for END_TRANSACTION and "view message by id", so
//! it must carry a reachable broker address and the true offset.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use bytes::{Buf, BufMut};

use crate::error::{ProtocolError, Result};

use super::hex;
use super::host::{get_host, host_len, put_host, IPV4_HOST_LEN, IPV6_HOST_LEN};

/// Length of an offset id for an IPv4 store host.
pub const OFFSET_MSG_ID_LEN_IPV4: usize = (IPV4_HOST_LEN + 8) * 2;
/// Length of an offset id for an IPv6 store host.
pub const OFFSET_MSG_ID_LEN_IPV6: usize = (IPV6_HOST_LEN + 8) * 2;

/// A decoded offset message id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetMsgId {
    /// The broker that stored the message.
    pub store_host: SocketAddr,
    /// The record's CommitLog offset.
    pub commit_log_offset: i64,
}

impl OffsetMsgId {
    /// The id of the record at `commit_log_offset` on the broker at `store_host`.
    pub const fn new(store_host: SocketAddr, commit_log_offset: i64) -> Self {
        Self { store_host, commit_log_offset }
    }

    /// The id as upper-case hex.
    pub fn encode(&self) -> String {
        let mut bytes = [0u8; IPV6_HOST_LEN + 8];
        let mut cursor = bytes.as_mut_slice();
        put_host(&mut cursor, &self.store_host);
        cursor.put_i64(self.commit_log_offset);
        let len = host_len(self.store_host.is_ipv6()) + 8;
        hex::encode_upper(bytes.get(..len).unwrap_or_default())
    }

    /// Parses an id: 32 characters carry an IPv4 host, 56 an IPv6 host; anything else fails.
    pub fn decode(id: &str) -> Result<Self> {
        let v6 = match id.len() {
            OFFSET_MSG_ID_LEN_IPV4 => false,
            OFFSET_MSG_ID_LEN_IPV6 => true,
            len => {
                return Err(ProtocolError::MalformedMessage(format!(
                    "offset message id of {len} characters (expected 32 or 56)"
                )))
            }
        };
        let mut bytes = [0u8; IPV6_HOST_LEN + 8];
        let raw = bytes
            .get_mut(..id.len() / 2)
            .ok_or_else(|| ProtocolError::MalformedMessage("offset message id too long".into()))?;
        hex::decode_into(id, raw)?;
        let mut cursor = &*raw;
        let store_host = get_host(&mut cursor, v6)?;
        let commit_log_offset = cursor.get_i64();
        Ok(Self { store_host, commit_log_offset })
    }
}

impl fmt::Display for OffsetMsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for OffsetMsgId {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self> {
        Self::decode(s)
    }
}

#[cfg(test)]
mod tests {

    use proptest::prelude::*;

    use super::*;
    use crate::message::host::arb_host;

    #[test]
    fn ipv4_layout() {
        let id = OffsetMsgId::new("192.168.0.1:10911".parse().unwrap(), 0x1234);
        let hex = id.encode();
        assert_eq!(hex, "C0A8000100002A9F0000000000001234");
        assert_eq!(hex.parse::<OffsetMsgId>().unwrap(), id);
        assert_eq!(id.to_string(), hex);
        assert_eq!(
            OffsetMsgId::decode(&hex.to_lowercase()).unwrap(),
            id,
            "Java upper-cases before decoding"
        );
    }

    #[test]
    fn ipv6_is_56_chars() {
        let id = OffsetMsgId {
            store_host: "[fe80::1]:10911".parse().unwrap(),
            commit_log_offset: i64::MAX,
        };
        let hex = id.encode();
        assert_eq!(hex.len(), 56);
        assert!(hex.starts_with("FE80"));
        assert_eq!(OffsetMsgId::decode(&hex).unwrap(), id);
    }

    #[test]
    fn rejects_other_lengths_and_bad_digits() {
        assert!(OffsetMsgId::decode("").is_err());
        assert!(OffsetMsgId::decode(&"0".repeat(40)).is_err());
        assert!(OffsetMsgId::decode(&"Z".repeat(32)).is_err());
        // Port 0xFFFFFFFF is out of range.
        assert!(OffsetMsgId::decode("7F000001FFFFFFFF0000000000000000").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(store_host in arb_host(), commit_log_offset in any::<i64>()) {
            let id = OffsetMsgId { store_host, commit_log_offset };
            let hex = id.encode();
            prop_assert!(hex.len() == OFFSET_MSG_ID_LEN_IPV4 || hex.len() == OFFSET_MSG_ID_LEN_IPV6);
            prop_assert_eq!(OffsetMsgId::decode(&hex).unwrap(), id);
        }

        #[test]
        fn garbage_never_panics(s in "[0-9A-Fa-z]{0,60}") {
            let _ = OffsetMsgId::decode(&s);
        }
    }
}
