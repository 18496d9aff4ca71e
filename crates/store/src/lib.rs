//! The FerroMQ storage engine: one commit log that every message is appended to, consume
//! queues that index it per (topic, queue), a key index, and the work that keeps them
//! durable and bounded — flush (async or group-committed sync), crash recovery, retention —
//! plus the broker's metadata files. It has no network or async-runtime dependency: the
//! broker embeds it and drives it through [`Store`].

mod background;
pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod delay_level;
pub mod dispatch;
pub mod error;
pub mod flush;
pub mod get;
pub mod index;
pub mod meta;
pub mod mmap;
mod queues;
pub mod retention;
mod store;

pub use config::{FlushDiskType, StoreConfig};
pub use delay_level::DelayLevels;
pub use dispatch::ArrivalListener;
pub use error::{Result, StoreError};
pub use flush::Durable;
pub use get::{AllMessages, GetResult, GetStatus, MessageFilter};
pub use store::{now_millis, PutResult, QueryResult, Store};
