//! The frame codec as a `tokio_util` decoder: the protocol crate's pure frame functions,
//! plugged into a byte stream.

use bytes::BytesMut;
use ferromq_protocol::frame::decode_frame;
use ferromq_protocol::{ProtocolError, RemotingCommand};
use tokio_util::codec::Decoder;

/// Cuts commands out of a TCP stream, refusing frames over `max_frame_size`.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: usize,
}

impl FrameDecoder {
    /// A decoder with the given frame limit (length prefix included).
    pub fn new(max_frame_size: usize) -> Self {
        FrameDecoder { max_frame_size }
    }
}

/// A decode failure: the frame was bad, or the socket failed.
#[derive(Debug)]
pub enum DecodeError {
    /// The peer sent bytes that are not a valid frame.
    Protocol(ProtocolError),
    /// Reading from the socket failed.
    Io(std::io::Error),
}

impl From<std::io::Error> for DecodeError {
    fn from(e: std::io::Error) -> Self {
        DecodeError::Io(e)
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Protocol(e) => write!(f, "{e}"),
            DecodeError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl Decoder for FrameDecoder {
    type Item = RemotingCommand;
    type Error = DecodeError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, DecodeError> {
        decode_frame(src, self.max_frame_size).map_err(DecodeError::Protocol)
    }
}
