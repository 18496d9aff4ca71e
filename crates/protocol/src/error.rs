//! The protocol crate's error type: everything a decoder can reject.

use thiserror::Error;

/// Why bytes could not be turned into a protocol value (or a value into bytes).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame claims more bytes than the configured limit allows.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: u64, max: usize },
    /// The length fields of a frame contradict each other or are negative.
    #[error("malformed frame: {0}")]
    MalformedFrame(&'static str),
    /// The serialization type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// A header could not be parsed in its serialization.
    #[error("malformed header: {0}")]
    MalformedHeader(String),
    /// A custom header lacks a field that the request requires.
    #[error("missing header field `{0}`")]
    MissingField(&'static str),
    /// A custom header field holds a value of the wrong shape.
    #[error("invalid value for header field `{field}`: {value:?}")]
    InvalidField { field: &'static str, value: String },
    /// A stored or wire message record is damaged or truncated.
    #[error("malformed message: {0}")]
    MalformedMessage(String),
    /// A JSON body could not be decoded.
    #[error("malformed JSON body: {0}")]
    MalformedBody(String),
    /// A value is too large for the wire field that would carry it.
    #[error("value too large: {0}")]
    TooLarge(&'static str),
}

/// Result with [`ProtocolError`].
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
