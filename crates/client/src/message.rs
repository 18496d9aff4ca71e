//! Messages as users see them: [`Message`] to send, [`MessageExt`] as received, and
//! [`SendResult`].

use std::net::SocketAddr;

use bytes::Bytes;
use ferromq_protocol::body::MessageQueue;
use ferromq_protocol::message::{property, Properties, StoredMessage};

use crate::error::{ClientError, Result};

/// A message to send: topic, body, user flag and properties (tags, keys, user properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// Stored verbatim, never read by the broker (`flag`).
    pub flag: i32,
    pub properties: Properties,
}

impl Message {
    /// A message for `topic` with `body` and no properties.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Message {
        Message { topic: topic.into(), body: body.into(), flag: 0, properties: Properties::new() }
    }

    /// Sets the tag consumers filter on.
    pub fn with_tags(mut self, tags: impl Into<String>) -> Message {
        self.properties.insert(property::TAGS, tags);
        self
    }

    /// Sets the keys the message can be looked up by (stored space-separated).
    pub fn with_keys<'a>(mut self, keys: impl IntoIterator<Item = &'a str>) -> Message {
        self.properties.set_keys(keys);
        self
    }

    /// Adds a user property. Names RocketMQ reserves for itself are refused.
    pub fn with_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Message> {
        let name = name.into();
        if property::is_reserved(&name) {
            return Err(ClientError::InvalidMessage(format!("property {name} is reserved")));
        }
        self.properties.insert(name, value);
        Ok(self)
    }

    /// Delivers the message after RocketMQ delay level `level` (1 = 1 s … 18 = 2 h).
    pub fn with_delay_level(mut self, level: i32) -> Message {
        self.properties.insert(property::DELAY, level.to_string());
        self
    }

    /// The tag, if set.
    pub fn tags(&self) -> Option<&str> {
        self.properties.tags()
    }

    /// The keys, if any.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys()
    }

    /// A property by name.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// The producer-assigned unique id (`UNIQ_KEY`), once sent.
    pub fn uniq_id(&self) -> Option<&str> {
        self.properties.get(property::UNIQ_KEY)
    }
}

/// A message as the broker stored it and a consumer received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    pub message: Message,
    pub broker_name: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub body_crc: i32,
    /// The broker's id of the message (store host and commit-log offset).
    pub offset_msg_id: String,
}

impl MessageExt {
    /// A stored record as read from `broker_name`.
    pub fn from_stored(stored: StoredMessage, broker_name: &str) -> MessageExt {
        let offset_msg_id = stored.offset_msg_id().encode();
        MessageExt {
            message: Message {
                topic: stored.topic,
                body: stored.body,
                flag: stored.flag,
                properties: stored.properties,
            },
            broker_name: broker_name.to_string(),
            queue_id: stored.queue_id,
            queue_offset: stored.queue_offset,
            commit_log_offset: stored.physical_offset,
            sys_flag: stored.sys_flag,
            born_timestamp: stored.born_timestamp,
            born_host: stored.born_host,
            store_timestamp: stored.store_timestamp,
            store_host: stored.store_host,
            reconsume_times: stored.reconsume_times,
            body_crc: stored.body_crc,
            offset_msg_id,
        }
    }

    /// The id users know the message by: the producer's `UNIQ_KEY`, else the broker's id.
    pub fn msg_id(&self) -> &str {
        self.message.uniq_id().unwrap_or(&self.offset_msg_id)
    }

    pub fn topic(&self) -> &str {
        &self.message.topic
    }

    pub fn body(&self) -> &Bytes {
        &self.message.body
    }

    pub fn tags(&self) -> Option<&str> {
        self.message.tags()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.message.keys()
    }

    pub fn property(&self, name: &str) -> Option<&str> {
        self.message.property(name)
    }

    /// The queue the message was read from.
    pub fn queue(&self) -> MessageQueue {
        MessageQueue::new(self.message.topic.clone(), self.broker_name.clone(), self.queue_id)
    }
}

/// How a send ended on the broker (`SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored (and flushed / replicated as the broker is configured to wait for).
    SendOk,
    /// Stored, but the flush did not finish in time (SYNC_FLUSH brokers).
    FlushDiskTimeout,
    /// Stored, but the slave did not confirm in time (SYNC_MASTER brokers).
    FlushSlaveTimeout,
    /// Stored, but no slave is available (SYNC_MASTER brokers).
    SlaveNotAvailable,
}

/// What the broker answered to a successful send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: SendStatus,
    /// The producer-assigned unique id (`UNIQ_KEY`); for a batch, the ids joined with commas.
    pub msg_id: String,
    /// The broker's id (store address and commit-log offset); for a batch, comma-joined.
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub queue: MessageQueue,
    /// Its offset in that queue (the first message's, for a batch).
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
    pub region_id: String,
    pub trace_on: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_sets_the_properties_brokers_read() {
        let message = Message::new("T", "body")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_property("color", "blue")
            .unwrap();
        assert_eq!(message.tags(), Some("TagA"));
        assert_eq!(message.keys().collect::<Vec<_>>(), vec!["k1", "k2"]);
        assert_eq!(message.property(property::KEYS), Some("k1 k2"));
        assert_eq!(message.property("color"), Some("blue"));
        assert!(Message::new("T", "b").with_property(property::UNIQ_KEY, "x").is_err());
    }
}
