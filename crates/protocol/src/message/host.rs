//! A socket address as records and message ids carry it.
//!
//! ```text
//! IPv4: ip (4 bytes) | port (i32)        8 bytes
//! IPv6: ip (16 bytes) | port (i32)      20 bytes   (sys flag 0x10 born / 0x20 store)
//! ```
//! IPv6 flow info and scope id are not carried.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Buf, BufMut};

use crate::error::{ProtocolError, Result};

/// Width of an IPv4 host: address and port.
pub const IPV4_HOST_LEN: usize = 4 + 4;
/// Width of an IPv6 host: address and port.
pub const IPV6_HOST_LEN: usize = 16 + 4;

/// Width of a host of the given family.
pub const fn host_len(v6: bool) -> usize {
    if v6 {
        IPV6_HOST_LEN
    } else {
        IPV4_HOST_LEN
    }
}

/// Writes `addr`'s address bytes then its port as an `i32`.
pub(crate) fn put_host(out: &mut impl BufMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(addr.port()));
}

/// Reads a host of the given family; the port must be in 0..=65535.
pub(crate) fn get_host(buf: &mut impl Buf, v6: bool) -> Result<SocketAddr> {
    if buf.remaining() < host_len(v6) {
        return Err(ProtocolError::MalformedMessage("truncated host address".into()));
    }
    let ip = if v6 {
        let mut octets = [0u8; 16];
        buf.copy_to_slice(&mut octets);
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        let mut octets = [0u8; 4];
        buf.copy_to_slice(&mut octets);
        IpAddr::V4(Ipv4Addr::from(octets))
    };
    let port = buf.get_i32();
    let port = u16::try_from(port)
        .map_err(|_| ProtocolError::MalformedMessage(format!("port {port} out of range")))?;
    Ok(SocketAddr::new(ip, port))
}

/// Any IPv4 or IPv6 socket address, for property tests.
#[cfg(test)]
pub(crate) fn arb_host() -> impl proptest::strategy::Strategy<Value = SocketAddr> {
    use proptest::prelude::*;
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(ip), port))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let v4: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let mut out = Vec::new();
        put_host(&mut out, &v4);
        assert_eq!(out, [10, 0, 0, 1, 0, 0, 0x2A, 0x9F]);
        assert_eq!(get_host(&mut out.as_slice(), false).unwrap(), v4);

        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        let mut out = Vec::new();
        put_host(&mut out, &v6);
        assert_eq!(out.len(), IPV6_HOST_LEN);
        assert_eq!(get_host(&mut out.as_slice(), true).unwrap(), v6);
    }

    #[test]
    fn rejects_bad_ports_and_short_input() {
        let bytes = [127, 0, 0, 1, 0, 1, 0, 0];
        assert!(get_host(&mut bytes.as_slice(), false).is_err());
        let bytes = [127, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(get_host(&mut bytes.as_slice(), false).is_err());
        assert!(get_host(&mut [0u8; 19].as_slice(), true).is_err());
    }
}
