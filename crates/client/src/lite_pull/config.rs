//! `LitePullConsumerConfig`: a lite pull consumer's settings, named and defaulted as
//! RocketMQ's `DefaultLitePullConsumer`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use ferromq_protocol::body::{ConsumeFromWhere, MessageModel};

use crate::config::ClientConfig;
use crate::consumer::allocate::AllocateStrategy;
use crate::consumer::config::{default_offset_store_dir, half_an_hour_ago};
use crate::error::{ClientError, Result};

/// The shortest auto-commit period RocketMQ accepts (`MIN_AUTOCOMMIT_INTERVAL_MILLIS`).
pub const MIN_AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// A lite pull consumer's settings.
#[derive(Debug, Clone)]
pub struct LitePullConsumerConfig {
    /// `consumerGroup`.
    pub group: String,
    pub client: ClientConfig,
    /// Each queue to one member (`CLUSTERING`, the default) or every queue to every member
    /// (`BROADCASTING`) — `messageModel`. Only [`subscribe`] rebalances; [`assign`]ed queues
    /// are read as given.
    ///
    /// [`subscribe`]: super::LitePullConsumer::subscribe
    /// [`assign`]: super::LitePullConsumer::assign
    pub message_model: MessageModel,
    /// How subscribed queues are shared among the group (`allocateMessageQueueStrategy`,
    /// averagely).
    pub allocate_strategy: AllocateStrategy,
    /// Where a queue without a committed offset starts (`consumeFromWhere`, LAST).
    pub consume_from_where: ConsumeFromWhere,
    /// The time `ConsumeFromTimestamp` starts at (`consumeTimestamp`; half an hour ago).
    pub consume_timestamp: SystemTime,
    /// Commit what `poll` returned, every `auto_commit_interval` and at shutdown
    /// (`autoCommit`, true).
    pub auto_commit: bool,
    /// `autoCommitIntervalMillis` (5 s; at least 1 s).
    pub auto_commit_interval: Duration,
    /// Messages asked for per pull, and so at most per `poll` (`pullBatchSize`, 10).
    pub pull_batch_size: i32,
    /// Stop pulling every queue while this many messages are buffered in all
    /// (`pullThresholdForAll`, 10000).
    pub pull_threshold_for_all: usize,
    /// Stop pulling a queue holding more buffered messages (`pullThresholdForQueue`, 1000).
    pub pull_threshold_for_queue: usize,
    /// … or more buffered body MiB (`pullThresholdSizeForQueue`, 100).
    pub pull_threshold_size_for_queue: usize,
    /// … or whose first and last buffered offsets are further apart (`consumeMaxSpan`, 2000).
    pub consume_max_span: i64,
    /// How long [`poll`](super::LitePullConsumer::poll) waits by default
    /// (`pollTimeoutMillis`, 5 s).
    pub poll_timeout: Duration,
    /// How long the broker may hold a pull that finds nothing
    /// (`brokerSuspendMaxTimeMillis`, 20 s).
    pub broker_suspend_max: Duration,
    /// How long the client waits for a held pull; above `broker_suspend_max`
    /// (`consumerTimeoutMillisWhenSuspend`, 30 s).
    pub consumer_timeout_when_suspend: Duration,
    /// Pause before pulling again after an error (`pullTimeDelayMillsWhenException`, 1 s).
    pub pull_delay_on_error: Duration,
    /// Period of the queue-change check behind
    /// [`register_topic_message_queue_change_listener`](super::LitePullConsumer::register_topic_message_queue_change_listener)
    /// (`topicMetadataCheckIntervalMillis`, 30 s).
    pub topic_metadata_check_interval: Duration,
    /// Rebalance period (`rocketmq.client.rebalance.waitInterval`, 20 s); brokers' notices
    /// of membership changes trigger one at once.
    pub rebalance_interval: Duration,
    /// Broadcasting offsets live in `<folder>/<clientId>/<group>/offsets.json`
    /// (`rocketmq.client.localOffsetStoreDir`, `~/.rocketmq_offsets`).
    pub offset_store_dir: PathBuf,
}

impl LitePullConsumerConfig {
    /// RocketMQ's defaults for `group`, with these name servers.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> Self {
        LitePullConsumerConfig {
            group: group.into(),
            client: ClientConfig::with_namesrv(namesrv_addr),
            message_model: MessageModel::Clustering,
            allocate_strategy: AllocateStrategy::default(),
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp: half_an_hour_ago(),
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            pull_batch_size: 10,
            pull_threshold_for_all: 10_000,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100,
            consume_max_span: 2000,
            poll_timeout: Duration::from_secs(5),
            broker_suspend_max: Duration::from_secs(20),
            consumer_timeout_when_suspend: Duration::from_secs(30),
            pull_delay_on_error: Duration::from_secs(1),
            topic_metadata_check_interval: Duration::from_secs(30),
            rebalance_interval: Duration::from_secs(20),
            offset_store_dir: default_offset_store_dir(),
        }
    }

    /// Checks the settings before the consumer is made.
    pub fn validate(&self) -> Result<()> {
        ferromq_protocol::topic::validate_group(&self.group)
            .map_err(|e| ClientError::Config(format!("consumerGroup: {e}")))?;
        if !(1..=1024).contains(&self.pull_batch_size) {
            return Err(ClientError::Config("pullBatchSize must be in [1, 1024]".into()));
        }
        let at_least_one = [
            ("pullThresholdForAll", self.pull_threshold_for_all),
            ("pullThresholdForQueue", self.pull_threshold_for_queue),
            ("pullThresholdSizeForQueue", self.pull_threshold_size_for_queue),
        ];
        for (name, value) in at_least_one {
            if value == 0 {
                return Err(ClientError::Config(format!("{name} must be at least 1")));
            }
        }
        if self.consume_max_span < 1 {
            return Err(ClientError::Config("consumeMaxSpan must be at least 1".into()));
        }
        if self.auto_commit_interval < MIN_AUTO_COMMIT_INTERVAL {
            return Err(ClientError::Config(
                "autoCommitIntervalMillis must be at least 1000".into(),
            ));
        }
        if self.consumer_timeout_when_suspend <= self.broker_suspend_max {
            return Err(ClientError::Config(
                "consumerTimeoutMillisWhenSuspend must be above brokerSuspendMaxTimeMillis".into(),
            ));
        }
        let positive = [
            ("topicMetadataCheckIntervalMillis", self.topic_metadata_check_interval),
            ("rebalance interval", self.rebalance_interval),
        ];
        for (name, value) in positive {
            if value.is_zero() {
                return Err(ClientError::Config(format!("{name} must be above zero")));
            }
        }
        self.client.validate()
    }

    /// `consumeTimestamp` in ms since the epoch.
    pub fn consume_timestamp_ms(&self) -> i64 {
        self.consume_timestamp
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// The buffer limits of each queue and of all of them.
    pub(crate) fn limits(&self) -> super::assigned::Limits {
        super::assigned::Limits {
            total: self.pull_threshold_for_all,
            count: self.pull_threshold_for_queue,
            bytes: self.pull_threshold_size_for_queue.saturating_mul(1 << 20),
            span: self.consume_max_span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmqs() {
        let config = LitePullConsumerConfig::new("cg", "127.0.0.1:9876");
        assert!(config.validate().is_ok());
        assert_eq!(config.pull_batch_size, 10);
        assert_eq!(config.pull_threshold_for_queue, 1000);
        assert_eq!(config.poll_timeout, Duration::from_secs(5));
        assert!(config.auto_commit);
        assert_eq!(config.auto_commit_interval, Duration::from_secs(5));
        assert_eq!(config.consume_from_where, ConsumeFromWhere::ConsumeFromLastOffset);
        assert_eq!(config.message_model, MessageModel::Clustering);
        assert_eq!(config.allocate_strategy.name(), "AVG");
        let limits = config.limits();
        assert_eq!((limits.count, limits.bytes, limits.span), (1000, 100 << 20, 2000));
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let base = LitePullConsumerConfig::new("cg", "127.0.0.1:9876");
        let bad = LitePullConsumerConfig { pull_batch_size: 0, ..base.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("pullBatchSize"));
        let bad = LitePullConsumerConfig {
            auto_commit_interval: Duration::from_millis(999),
            ..base.clone()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("autoCommitIntervalMillis"));
        let bad = LitePullConsumerConfig {
            consumer_timeout_when_suspend: Duration::from_secs(20),
            ..base.clone()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("consumerTimeoutMillisWhenSuspend"));
        let bad = LitePullConsumerConfig { pull_threshold_for_queue: 0, ..base.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("pullThresholdForQueue"));
        let bad = LitePullConsumerConfig { group: "bad group".into(), ..base };
        assert!(bad.validate().unwrap_err().to_string().contains("consumerGroup"));
    }
}
