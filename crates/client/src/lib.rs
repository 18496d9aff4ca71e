//! FerroMQ's client library: producers, push and lite pull consumers and an admin client
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
//!
//! ```no_run
//! # async fn demo() -> ferromq_client::Result<()> {
//! use ferromq_client::{ConsumeConcurrentlyStatus, MessageListener, PushConsumer, PushConsumerConfig};
//!
//! let consumer = PushConsumer::new(PushConsumerConfig::new("my-group", "127.0.0.1:9876"))?;
//! consumer.subscribe("TopicTest", "TagA || TagB")?;
//! consumer.register_message_listener(MessageListener::concurrently(|messages, _| async move {
//!     for message in &messages {
//!         println!("{}: {:?}", message.msg_id(), message.body());
//!     }
//!     ConsumeConcurrentlyStatus::ConsumeSuccess
//! }))?;
//! consumer.start().await?;
//! // … later: listener calls under way finish, offsets are committed.
//! consumer.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ```no_run
//! # async fn demo() -> ferromq_client::Result<()> {
//! use std::time::Duration;
//! use ferromq_client::{LitePullConsumer, LitePullConsumerConfig};
//!
//! let consumer = LitePullConsumer::new(LitePullConsumerConfig::new("my-group", "127.0.0.1:9876"))?;
//! consumer.subscribe("TopicTest", "*")?;
//! consumer.start().await?;
//! for message in consumer.poll(Duration::from_secs(1)).await? {
//!     println!("{} at {}", message.msg_id(), message.queue_offset);
//! }
//! // What was polled is committed.
//! consumer.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod admin;
mod config;
pub mod consumer;
mod error;
mod instance;
pub mod lite_pull;
mod message;
pub mod producer;
mod route;

pub use admin::Admin;
pub use config::ClientConfig;
pub use consumer::{
    AllocateStrategy, ConsumeConcurrentlyStatus, ConsumeContext, ConsumeFromWhere,
    ConsumeOrderlyStatus, MessageListener, PushConsumer, PushConsumerConfig,
};
pub use error::{ClientError, Result};
pub use ferromq_protocol::body::MessageModel;
pub use ferromq_protocol::body::MessageQueue;
pub use lite_pull::{LitePullConsumer, LitePullConsumerConfig};
pub use message::{Message, MessageExt, SendResult, SendStatus};
pub use producer::{Producer, ProducerConfig, QueueSelector, SelectByHash};
