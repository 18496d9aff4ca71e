//! The remoting crate's error type.

use std::time::Duration;

use ferromq_protocol::ProtocolError;
use thiserror::Error;

/// Why a remote call or a server operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RemotingError {
    /// The TCP connection could not be made in time or was refused.
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    /// No response arrived within the call's timeout.
    #[error("call to {addr} timed out after {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    /// The connection closed before the response arrived, or was already closed.
    #[error("connection to {addr} closed")]
    ConnectionClosed { addr: String },
    /// Too many calls are waiting for responses on this connection.
    #[error("too many requests in flight to {addr}")]
    TooManyInFlight { addr: String },
    /// The command could not be encoded.
    #[error("cannot encode command: {0}")]
    Encode(#[from] ProtocolError),
    /// A socket operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
