//! Body compression (§6.8): the type carried in sys flag bits 8–10, ZLIB deflate/inflate.
//!
//! ```text
//! sys flag: COMPRESSED (0x1) | type << 8    type: 1 LZ4, 2 ZSTD, 3 ZLIB, 0 ZLIB (old producers)
//! ZLIB body: RFC 1950 stream (java.util.zip Deflater/Inflater defaults), level 5 on send
//! ```
//! LZ4 and ZSTD are recognised but not implemented: doing so would need new dependencies
//! (pure-Rust candidates: `lz4_flex` with its frame format, `ruzstd`), so they fail with an
//! "unsupported compression" error. Java producers use ZLIB unless configured otherwise.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::error::{ProtocolError, Result};

use super::sys_flag;

/// The level the Java producer compresses at.
pub const ZLIB_LEVEL: u32 = 5;
/// Bodies larger than this are compressed by the Java producer (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER: usize = 4096;

/// A body compression algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompressionType {
    /// LZ4 frame format (value 1).
    Lz4,
    /// Zstandard (value 2).
    Zstd,
    /// zlib (value 3, or 0 from old producers).
    Zlib,
}

impl CompressionType {
    /// The type of a raw value from sys flag bits 8–10.
    pub fn from_value(value: i32) -> Result<Self> {
        match value {
            1 => Ok(Self::Lz4),
            2 => Ok(Self::Zstd),
            0 | 3 => Ok(Self::Zlib),
            other => {
                Err(ProtocolError::MalformedMessage(format!("unknown compression type {other}")))
            }
        }
    }

    /// The type named by a sys flag (meaningful only when its COMPRESSED bit is set).
    pub fn from_sys_flag(flag: i32) -> Result<Self> {
        Self::from_value(sys_flag::compression_type_value(flag))
    }

    /// The raw value (1, 2 or 3).
    pub const fn value(self) -> i32 {
        match self {
            Self::Lz4 => 1,
            Self::Zstd => 2,
            Self::Zlib => 3,
        }
    }

    /// The sys flag bits announcing a body compressed with this type (COMPRESSED included).
    pub const fn sys_flag_bits(self) -> i32 {
        sys_flag::COMPRESSED_FLAG
            | match self {
                Self::Lz4 => sys_flag::COMPRESSION_LZ4_TYPE,
                Self::Zstd => sys_flag::COMPRESSION_ZSTD_TYPE,
                Self::Zlib => sys_flag::COMPRESSION_ZLIB_TYPE,
            }
    }
}

fn unsupported(ty: CompressionType) -> ProtocolError {
    ProtocolError::MalformedMessage(format!("unsupported compression {ty:?}"))
}

/// Compresses `body` with `ty` (ZLIB at level 5, as the Java producer does).
pub fn compress(body: &[u8], ty: CompressionType) -> Result<Vec<u8>> {
    match ty {
        CompressionType::Zlib => {
            let mut encoder = ZlibEncoder::new(
                Vec::with_capacity(body.len() / 2 + 16),
                Compression::new(ZLIB_LEVEL),
            );
            encoder
                .write_all(body)
                .and_then(|()| encoder.finish())
                .map_err(|e| ProtocolError::MalformedMessage(format!("zlib compression: {e}")))
        }
        other => Err(unsupported(other)),
    }
}

/// Decompresses `body`, refusing output longer than `max_len` bytes (a zip-bomb guard).
pub fn decompress(body: &[u8], ty: CompressionType, max_len: usize) -> Result<Vec<u8>> {
    match ty {
        CompressionType::Zlib => {
            let limit = u64::try_from(max_len).unwrap_or(u64::MAX).saturating_add(1);
            let mut out = Vec::with_capacity(body.len().saturating_mul(2).min(max_len));
            ZlibDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| ProtocolError::MalformedMessage(format!("zlib body: {e}")))?;
            if out.len() > max_len {
                return Err(ProtocolError::TooLarge("decompressed body exceeds the limit"));
            }
            Ok(out)
        }
        other => Err(unsupported(other)),
    }
}

/// Inflates `body` if `flag` says it is compressed, returning the sys flag without the
/// COMPRESSED bit and the plain body; otherwise returns both unchanged.
pub fn decompress_body(flag: i32, body: Bytes, max_len: usize) -> Result<(i32, Bytes)> {
    if !sys_flag::is_compressed(flag) {
        return Ok((flag, body));
    }
    let plain = decompress(&body, CompressionType::from_sys_flag(flag)?, max_len)?;
    Ok((sys_flag::clear_compressed_flag(flag), Bytes::from(plain)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn types_and_flags() {
        assert_eq!(CompressionType::from_sys_flag(0x1).unwrap(), CompressionType::Zlib);
        assert_eq!(CompressionType::from_sys_flag(0x301).unwrap(), CompressionType::Zlib);
        assert_eq!(CompressionType::from_sys_flag(0x101).unwrap(), CompressionType::Lz4);
        assert_eq!(CompressionType::from_sys_flag(0x201).unwrap(), CompressionType::Zstd);
        assert!(CompressionType::from_sys_flag(0x401).is_err());
        assert_eq!(CompressionType::Zlib.sys_flag_bits(), 0x301);
        assert_eq!(CompressionType::Lz4.value(), 1);
    }

    #[test]
    fn zlib_stream_has_a_zlib_header() {
        let packed = compress(&[b'a'; 10_000], CompressionType::Zlib).unwrap();
        assert_eq!(packed.first(), Some(&0x78));
        assert!(packed.len() < 200);
    }

    #[test]
    fn inflates_a_java_style_stream() {
        // zlib (the C library Java wraps) compressing "hello" at level 5 and at the default.
        let level5 = [0x78, 0x5E, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x06, 0x2C, 0x02, 0x15];
        assert_eq!(decompress(&level5, CompressionType::Zlib, 100).unwrap(), b"hello");
        let default =
            [0x78, 0x9C, 0xCB, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x06, 0x2C, 0x02, 0x15];
        assert_eq!(decompress(&default, CompressionType::Zlib, 100).unwrap(), b"hello");
    }

    #[test]
    fn limits_and_errors() {
        let packed = compress(&[0u8; 5000], CompressionType::Zlib).unwrap();
        assert!(decompress(&packed, CompressionType::Zlib, 5000).is_ok());
        assert!(matches!(
            decompress(&packed, CompressionType::Zlib, 4999),
            Err(ProtocolError::TooLarge(_))
        ));
        assert!(decompress(b"not zlib", CompressionType::Zlib, 100).is_err());
        let err = decompress(b"x", CompressionType::Lz4, 100).unwrap_err();
        assert!(err.to_string().contains("unsupported compression"));
        assert!(compress(b"x", CompressionType::Zstd).is_err());
    }

    #[test]
    fn body_helper_clears_the_flag() {
        let packed = Bytes::from(compress(b"payload", CompressionType::Zlib).unwrap());
        let (flag, body) = decompress_body(0x301 | 0x10, packed, 1024).unwrap();
        assert_eq!((flag, &body[..]), (0x300 | 0x10, &b"payload"[..]));
        let plain = Bytes::from_static(b"as is");
        assert_eq!(decompress_body(0, plain.clone(), 1).unwrap(), (0, plain));
    }

    proptest! {
        #[test]
        fn zlib_round_trips(body in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let packed = compress(&body, CompressionType::Zlib).unwrap();
            prop_assert_eq!(decompress(&packed, CompressionType::Zlib, body.len()).unwrap(), body);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decompress(&bytes, CompressionType::Zlib, 1 << 16);
        }
    }
}
