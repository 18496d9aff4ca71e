//! FerroMQ's client library: producers, an admin client (and, as they land, consumers)
//! that speak the RocketMQ remoting protocol to any RocketMQ-compatible cluster.
//!
//! ```no_run
//! # async fn demo() -> ferromq_client::Result<()> {
//! use ferromq_client::{Message, Producer, ProducerConfig};
//!
//! let producer = Producer::start(ProducerConfig::new("my-group", "127.0.0.1:9876")).await?;
//! let result = producer.send(Message::new("TopicTest", "hello").with_tags("TagA")).await?;
//! println!("stored as {} at offset {}", result.msg_id, result.queue_offset);
//! producer.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod admin;
mod config;
mod error;
mod instance;
mod message;
pub mod producer;
mod route;

pub use admin::Admin;
pub use config::ClientConfig;
pub use error::{ClientError, Result};
pub use ferromq_protocol::body::MessageQueue;
pub use message::{Message, MessageExt, SendResult, SendStatus};
pub use producer::{Producer, ProducerConfig, QueueSelector, SelectByHash};
