//! A consumer group's progress and lag: GET_CONSUME_STATS from every broker that may hold
//! the group's offsets, merged, with each queue's diff (broker offset − consumer offset).

use ferromq_protocol::body::{ConsumeStats, MessageModel, MessageQueue};
use ferromq_protocol::headers::{CommandHeader, GetConsumeStatsRequestHeader};
use ferromq_protocol::{RemotingCommand, RequestCode};

use super::Admin;
use crate::error::{ClientError, Result};

/// One queue's progress for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueProgress {
    pub queue: MessageQueue,
    /// The offset the queue's next message will get.
    pub broker_offset: i64,
    /// The group's committed offset (the next message it will consume).
    pub consumer_offset: i64,
    /// How far the group has pulled (at least the committed offset).
    pub pull_offset: i64,
    /// Store time (ms) of the last message consumed, 0 when unknown.
    pub last_timestamp: i64,
    /// Messages not yet consumed: broker offset − consumer offset.
    pub diff: i64,
}

/// A group's progress over every queue it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerProgress {
    pub group: String,
    /// Sorted by topic, broker name, queue id.
    pub queues: Vec<QueueProgress>,
    /// Messages the group pulled per second over the last minute, summed over the brokers.
    pub consume_tps: f64,
}

impl ConsumerProgress {
    /// The group's total lag.
    pub fn diff_total(&self) -> i64 {
        self.queues.iter().map(|q| q.diff).sum()
    }

    /// Progress of the group on one queue.
    pub fn queue(&self, queue: &MessageQueue) -> Option<&QueueProgress> {
        self.queues.iter().find(|q| &q.queue == queue)
    }

    fn from_stats(group: &str, stats: ConsumeStats) -> ConsumerProgress {
        let queues = stats
            .offset_table
            .into_iter()
            .map(|(queue, o)| QueueProgress {
                queue,
                broker_offset: o.broker_offset,
                consumer_offset: o.consumer_offset,
                pull_offset: o.pull_offset,
                last_timestamp: o.last_timestamp,
                diff: o.broker_offset - o.consumer_offset,
            })
            .collect();
        ConsumerProgress { group: group.to_string(), queues, consume_tps: stats.consume_tps }
    }
}

impl Admin {
    /// `group`'s progress on `topic`, or on every topic it has committed offsets for.
    /// [`ClientError::UnknownGroup`] when no broker has any progress of the group.
    pub async fn consumer_progress(
        &self,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumerProgress> {
        let addrs: Vec<String> = match topic {
            Some(topic) => self.topic_brokers(topic).await?.into_iter().map(|(_, a)| a).collect(),
            None => self.group_brokers(group).await?,
        };
        let header = GetConsumeStatsRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.map(String::from),
            topic_list: None,
        };
        let mut merged = ConsumeStats::default();
        for addr in &addrs {
            let request = RemotingCommand::request(RequestCode::GET_CONSUME_STATS)
                .with_ext_fields(header.to_ext());
            let response = self.call_broker(addr, request).await?;
            let stats = ConsumeStats::from_json(&response.body)?;
            merged.offset_table.extend(stats.offset_table);
            merged.consume_tps += stats.consume_tps;
        }
        if merged.offset_table.is_empty() {
            let broadcasting = self
                .consumer_connections(group)
                .await
                .is_ok_and(|c| c.message_model == MessageModel::Broadcasting);
            let reason = if broadcasting {
                "consumes in broadcasting mode: its progress is kept by each client".to_string()
            } else {
                "has no consume progress on any broker (unknown group, or it never committed \
                 an offset)"
                    .to_string()
            };
            return Err(ClientError::UnknownGroup { group: group.to_string(), reason });
        }
        Ok(ConsumerProgress::from_stats(group, merged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::body::OffsetWrapper;

    #[test]
    fn diff_is_broker_offset_minus_consumer_offset() {
        let mut stats = ConsumeStats { consume_tps: 1.5, ..ConsumeStats::default() };
        let wrapper = |broker_offset, consumer_offset| OffsetWrapper {
            broker_offset,
            consumer_offset,
            pull_offset: consumer_offset,
            last_timestamp: 0,
        };
        stats.offset_table.insert(MessageQueue::new("T", "b", 1), wrapper(10, 4));
        stats.offset_table.insert(MessageQueue::new("T", "a", 0), wrapper(7, 7));
        let progress = ConsumerProgress::from_stats("G", stats);
        assert_eq!(progress.queues[0].queue.broker_name, "a", "sorted");
        assert_eq!(progress.queue(&MessageQueue::new("T", "b", 1)).map(|q| q.diff), Some(6));
        assert_eq!(progress.diff_total(), 6);
        assert_eq!(progress.consume_tps, 1.5);
    }
}
