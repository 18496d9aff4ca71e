//! The FerroMQ storage engine (in progress).

pub mod consume_queue;
pub mod error;
pub mod index;
pub mod meta;
pub mod mmap;

pub use error::{Result, StoreError};
