//! The store's error type. Fatal conditions (a failed fsync poisons the store) are kept
//! apart from per-request refusals.

use std::path::PathBuf;

use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// Data on disk is damaged in a way recovery cannot repair.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// The configuration is invalid.
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// Appends are refused because disk use passed the hard limit; reads keep working.
    #[error("disk full: {used_percent}% of the disk holding the commit log is used (limit {limit_percent}%)")]
    DiskFull { used_percent: u32, limit_percent: u32 },
    /// The message (body or properties) is larger than allowed.
    #[error("message too large: {0}")]
    MessageTooLarge(String),
    /// The message cannot be stored as given.
    #[error("illegal message: {0}")]
    IllegalMessage(String),
    /// An earlier fsync failed: no further writes are accepted, because what is durable is
    /// no longer known.
    #[error("store poisoned by an earlier failure: {0}")]
    Poisoned(String),
    /// The store is shutting down.
    #[error("store is shut down")]
    ShutDown,
    /// A SYNC_FLUSH append was not durable within `syncFlushTimeout`.
    #[error("flush did not complete within the sync flush timeout")]
    FlushTimeout,
}

impl StoreError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io { path: path.into(), source }
    }
}

/// Result with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
