//! The client crate's error type.

use ferromq_protocol::{ProtocolError, ResponseCode};
use ferromq_remoting::RemotingError;
use thiserror::Error;

/// Why a client operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A setting is out of range or missing.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The message breaks a rule the broker would refuse it for.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The call did not reach the server or its answer did not come back.
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// The server answered with an error code.
    #[error("{addr} answered {code}: {remark}")]
    Refused { addr: String, code: ResponseCode, remark: String },
    /// No name server knows the topic, and it cannot be auto-created.
    #[error("no route for topic {topic}: {reason}")]
    NoRoute { topic: String, reason: String },
    /// An answer could not be decoded.
    #[error("malformed answer: {0}")]
    Protocol(#[from] ProtocolError),
    /// Every attempt of a send failed; the last error is kept.
    #[error("send failed after {attempts} attempt(s): {last}")]
    SendFailed { attempts: u32, last: Box<ClientError> },
    /// A local file (such as a broadcasting consumer's offsets) could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: std::path::PathBuf, source: std::io::Error },
    /// The client has not been started, or has been shut down.
    #[error("client is {0}")]
    State(&'static str),
    /// No name server answered (admin calls).
    #[error("cannot reach any name server ({addrs}): {last}")]
    NamesrvUnreachable { addrs: String, last: Box<ClientError> },
    /// The topic does not exist: no name server routes it, or a broker does not have it.
    #[error("topic {0} does not exist")]
    UnknownTopic(String),
    /// The consumer group does not exist, or has nothing to show.
    #[error("consumer group {group} {reason}")]
    UnknownGroup { group: String, reason: String },
    /// No broker of the cluster is known to the name servers.
    #[error("cluster {0} does not exist")]
    UnknownCluster(String),
    /// A lookup found no message.
    #[error("no message found: {0}")]
    MessageNotFound(String),
    /// An argument of an admin call is malformed (a message id, a queue number, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// The response code, when the server refused the request.
    pub fn response_code(&self) -> Option<ResponseCode> {
        match self {
            ClientError::Refused { code, .. } => Some(*code),
            ClientError::SendFailed { last, .. } => last.response_code(),
            _ => None,
        }
    }
}

/// The client crate's result type.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
