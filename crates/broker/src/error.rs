//! The broker's error type, and the one place where errors become RocketMQ response codes.

use ferromq_protocol::{ProtocolError, RemotingCommand, ResponseCode};
use ferromq_store::StoreError;
use thiserror::Error;

/// Why a broker operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The configuration is invalid.
    #[error("invalid broker configuration: {0}")]
    Config(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A request's header or body could not be decoded.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    /// A request was refused with a specific response code.
    #[error("{remark}")]
    Refused { code: ResponseCode, remark: String },
}

impl BrokerError {
    /// A refusal with `code` and a reason.
    pub fn refused(code: ResponseCode, remark: impl Into<String>) -> Self {
        BrokerError::Refused { code, remark: remark.into() }
    }

    /// The response code a client is given for this error.
    pub fn response_code(&self) -> ResponseCode {
        match self {
            BrokerError::Refused { code, .. } => *code,
            BrokerError::Store(e) => match e {
                StoreError::MessageTooLarge(_) | StoreError::IllegalMessage(_) => {
                    ResponseCode::MESSAGE_ILLEGAL
                }
                StoreError::DiskFull { .. } | StoreError::Poisoned(_) | StoreError::ShutDown => {
                    ResponseCode::SERVICE_NOT_AVAILABLE
                }
                StoreError::FlushTimeout => ResponseCode::FLUSH_DISK_TIMEOUT,
                _ => ResponseCode::SYSTEM_ERROR,
            },
            BrokerError::Protocol(_) | BrokerError::Config(_) | BrokerError::Bind { .. } => {
                ResponseCode::SYSTEM_ERROR
            }
        }
    }

    /// The response for this error.
    pub fn to_response(&self) -> RemotingCommand {
        RemotingCommand::response(self.response_code()).with_remark(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_rocketmq_codes() {
        let cases = [
            (
                BrokerError::Store(StoreError::MessageTooLarge("x".into())),
                ResponseCode::MESSAGE_ILLEGAL,
            ),
            (
                BrokerError::Store(StoreError::IllegalMessage("x".into())),
                ResponseCode::MESSAGE_ILLEGAL,
            ),
            (
                BrokerError::Store(StoreError::DiskFull { used_percent: 95, limit_percent: 90 }),
                ResponseCode::SERVICE_NOT_AVAILABLE,
            ),
            (
                BrokerError::Store(StoreError::Poisoned("x".into())),
                ResponseCode::SERVICE_NOT_AVAILABLE,
            ),
            (BrokerError::Store(StoreError::FlushTimeout), ResponseCode::FLUSH_DISK_TIMEOUT),
            (BrokerError::Store(StoreError::Corrupt("x".into())), ResponseCode::SYSTEM_ERROR),
            (
                BrokerError::Protocol(ProtocolError::MissingField("topic")),
                ResponseCode::SYSTEM_ERROR,
            ),
            (
                BrokerError::refused(ResponseCode::TOPIC_NOT_EXIST, "no"),
                ResponseCode::TOPIC_NOT_EXIST,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.response_code(), code, "{error}");
            let response = error.to_response();
            assert_eq!(response.response_code(), code);
            assert!(response.remark.is_some_and(|r| !r.is_empty()));
        }
    }
}
