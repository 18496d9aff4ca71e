//! Sending one message on an operator's behalf, through a short-lived [`Producer`] (what
//! `mqadmin sendMessage` does).

use ferromq_protocol::body::MessageQueue;

use super::Admin;
use crate::error::Result;
use crate::message::{Message, SendResult};
use crate::producer::{Producer, ProducerConfig};

/// The producer group admin sends use.
pub const TOOLS_PRODUCER_GROUP: &str = "TOOLS_PRODUCER";

impl Admin {
    /// Sends `message`, to `queue` when given (one attempt), else wherever the producer
    /// chooses (with its retries).
    pub async fn send_message(
        &self,
        message: Message,
        queue: Option<&MessageQueue>,
    ) -> Result<SendResult> {
        let mut config = ProducerConfig::new(TOOLS_PRODUCER_GROUP, "");
        config.client = self.instance.config.clone();
        config.client.instance_name = String::new();
        config.send_msg_timeout = config.send_msg_timeout.max(config.client.mq_client_api_timeout);
        let producer = Producer::start(config).await?;
        let result = match queue {
            Some(queue) => producer.send_to_queue(message, queue).await,
            None => producer.send(message).await,
        };
        producer.shutdown().await;
        result
    }
}
