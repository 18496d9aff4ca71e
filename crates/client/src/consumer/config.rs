//! `PushConsumerConfig`: a push consumer's settings, named and defaulted as RocketMQ's
//! `DefaultMQPushConsumer`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use ferromq_protocol::body::{ConsumeFromWhere, MessageModel};

use super::allocate::AllocateStrategy;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};

/// A push consumer's settings.
#[derive(Debug, Clone)]
pub struct PushConsumerConfig {
    /// `consumerGroup`.
    pub group: String,
    pub client: ClientConfig,
    /// Each message to one member (`CLUSTERING`, the default) or to every member
    /// (`BROADCASTING`) — `messageModel`.
    pub message_model: MessageModel,
    /// Where a queue without a committed offset starts (`consumeFromWhere`, LAST).
    pub consume_from_where: ConsumeFromWhere,
    /// The time `ConsumeFromTimestamp` starts at (`consumeTimestamp`; half an hour ago).
    pub consume_timestamp: SystemTime,
    /// How queues are shared among the group (`allocateMessageQueueStrategy`, averagely).
    pub allocate_strategy: AllocateStrategy,
    /// Listener calls under way at once, over all queues (`consumeThreadMax`, 20).
    pub consume_thread_max: usize,
    /// Messages asked for per pull (`pullBatchSize`, 32).
    pub pull_batch_size: i32,
    /// Messages per listener call (`consumeMessageBatchMaxSize`, 1).
    pub consume_message_batch_max_size: usize,
    /// Stop pulling a queue holding more cached messages (`pullThresholdForQueue`, 1000).
    pub pull_threshold_for_queue: usize,
    /// … or more cached body MiB (`pullThresholdSizeForQueue`, 100).
    pub pull_threshold_size_for_queue: usize,
    /// … or whose first and last cached offsets are further apart, in concurrent mode
    /// (`consumeConcurrentlyMaxSpan`, 2000).
    pub consume_concurrently_max_span: i64,
    /// Deliveries of a failing message before it goes to the dead-letter queue
    /// (`maxReconsumeTimes`; -1 means 16 for concurrent and unlimited for orderly listeners).
    pub max_reconsume_times: i32,
    /// Pause of an orderly queue whose listener asked to suspend
    /// (`suspendCurrentQueueTimeMillis`, 1 s).
    pub suspend_current_queue_time: Duration,
    /// Rebalance period (`rocketmq.client.rebalance.waitInterval`, 20 s); brokers' notices
    /// of membership changes trigger one at once.
    pub rebalance_interval: Duration,
    /// Order-lock renewal period (`rocketmq.client.rebalance.lockInterval`, 20 s).
    pub lock_interval: Duration,
    /// Broadcasting offsets live in `<folder>/<clientId>/<group>/offsets.json`
    /// (`rocketmq.client.localOffsetStoreDir`, `~/.rocketmq_offsets`).
    pub offset_store_dir: PathBuf,
    /// How long shutdown (and giving a queue up) waits for listener calls under way
    /// (`awaitTerminationMillisWhenShutdown`; RocketMQ does not wait, FerroMQ waits 30 s
    /// so fewer messages are delivered twice).
    pub await_termination_when_shutdown: Duration,
}

/// Half an hour before now, RocketMQ's default `consumeTimestamp`.
pub(crate) fn half_an_hour_ago() -> SystemTime {
    let now = SystemTime::now();
    now.checked_sub(Duration::from_secs(1800)).unwrap_or(now)
}

/// `~/.rocketmq_offsets`, or a relative `.rocketmq_offsets` without a home folder.
pub(crate) fn default_offset_store_dir() -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    home.map(PathBuf::from).unwrap_or_default().join(".rocketmq_offsets")
}

impl PushConsumerConfig {
    /// Defaults for `group`, talking to the name servers `namesrv_addr`.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> PushConsumerConfig {
        PushConsumerConfig {
            group: group.into(),
            client: ClientConfig::with_namesrv(namesrv_addr),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp: half_an_hour_ago(),
            allocate_strategy: AllocateStrategy::default(),
            consume_thread_max: 20,
            pull_batch_size: 32,
            consume_message_batch_max_size: 1,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100,
            consume_concurrently_max_span: 2000,
            max_reconsume_times: -1,
            suspend_current_queue_time: Duration::from_secs(1),
            rebalance_interval: Duration::from_secs(20),
            lock_interval: Duration::from_secs(20),
            offset_store_dir: default_offset_store_dir(),
            await_termination_when_shutdown: Duration::from_secs(30),
        }
    }

    /// Checks the settings before the consumer starts.
    pub fn validate(&self) -> Result<()> {
        ferromq_protocol::topic::validate_group(&self.group)
            .map_err(|e| ClientError::Config(format!("consumerGroup: {e}")))?;
        let ranges = [
            ("consumeThreadMax", self.consume_thread_max, 1, 1000),
            ("consumeMessageBatchMaxSize", self.consume_message_batch_max_size, 1, 1024),
            ("pullThresholdForQueue", self.pull_threshold_for_queue, 1, 65_535),
            ("pullThresholdSizeForQueue", self.pull_threshold_size_for_queue, 1, 1024),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(ClientError::Config(format!("{name} must be in [{min}, {max}]")));
            }
        }
        if !(1..=1024).contains(&self.pull_batch_size) {
            return Err(ClientError::Config("pullBatchSize must be in [1, 1024]".into()));
        }
        if self.max_reconsume_times < -1 {
            return Err(ClientError::Config("maxReconsumeTimes must be -1 or more".into()));
        }
        if self.rebalance_interval.is_zero() || self.lock_interval.is_zero() {
            return Err(ClientError::Config(
                "rebalance and lock intervals must be above zero".into(),
            ));
        }
        self.client.validate()
    }

    /// `maxReconsumeTimes` for concurrent listeners: -1 means 16.
    pub fn max_reconsume_concurrently(&self) -> i32 {
        if self.max_reconsume_times == -1 {
            16
        } else {
            self.max_reconsume_times
        }
    }

    /// `maxReconsumeTimes` for orderly listeners: -1 means no limit (`Integer.MAX_VALUE`).
    pub fn max_reconsume_orderly(&self) -> i32 {
        if self.max_reconsume_times == -1 {
            i32::MAX
        } else {
            self.max_reconsume_times
        }
    }

    /// `consumeTimestamp` in ms since the epoch.
    pub fn consume_timestamp_ms(&self) -> i64 {
        self.consume_timestamp
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_rocketmqs() {
        let config = PushConsumerConfig::new("cg", "127.0.0.1:9876");
        assert!(config.validate().is_ok());
        assert_eq!(config.pull_batch_size, 32);
        assert_eq!(config.max_reconsume_concurrently(), 16);
        assert_eq!(config.max_reconsume_orderly(), i32::MAX);
        assert_eq!(config.allocate_strategy.name(), "AVG");
        assert!(config.offset_store_dir.ends_with(".rocketmq_offsets"));
        let ago = SystemTime::now().duration_since(config.consume_timestamp).unwrap();
        assert!(ago >= Duration::from_secs(1799));
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let base = PushConsumerConfig::new("cg", "127.0.0.1:9876");
        let bad = PushConsumerConfig { consume_thread_max: 0, ..base.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("consumeThreadMax"));
        let bad = PushConsumerConfig { pull_batch_size: 0, ..base.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("pullBatchSize"));
        let bad = PushConsumerConfig { group: "bad group".into(), ..base.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("consumerGroup"));
        let fixed = PushConsumerConfig { max_reconsume_times: 3, ..base };
        assert_eq!(fixed.max_reconsume_concurrently(), 3);
        assert_eq!(fixed.max_reconsume_orderly(), 3);
    }
}
