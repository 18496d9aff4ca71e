//! The name server's error type.

use std::path::PathBuf;

use thiserror::Error;

/// Why the name server could not start or persist its state.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NamesrvError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}
