//! Topic and group names: validation rules and the system names RocketMQ reserves.

/// The auto-creation template topic.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
/// Delay-level messages wait here.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Transactional half messages.
pub const TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Transaction operation log.
pub const TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Half messages checked too often.
pub const TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Broker self test.
pub const SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Offset-moved events.
pub const OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// The benchmark topic.
pub const BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Message traces.
pub const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// 5.x timer wheel.
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Prefix of a consumer group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Prefix of system topics created by 5.x features.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// Longest ordinary topic name.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest retry or dead-letter topic name.
pub const RETRY_OR_DLQ_TOPIC_MAX_LENGTH: usize = 255;
/// Longest group name.
pub const GROUP_MAX_LENGTH: usize = 120;

/// Why a topic or group name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty or blank.
    Blank,
    /// The name holds a character outside `[%|a-zA-Z0-9_-]`.
    IllegalCharacter,
    /// The name is longer than allowed.
    TooLong { max: usize },
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Blank => f.write_str("the name is blank"),
            NameError::IllegalCharacter => f.write_str(
                "the name contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$",
            ),
            NameError::TooLong { max } => write!(f, "the name is longer than {max} characters"),
        }
    }
}

fn legal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')
}

/// Checks a topic name as a broker does before creating or writing to it.
pub fn validate_topic(topic: &str) -> Result<(), NameError> {
    if topic.trim().is_empty() {
        return Err(NameError::Blank);
    }
    if !topic.chars().all(legal_char) {
        return Err(NameError::IllegalCharacter);
    }
    let max = if is_retry_or_dlq(topic) { RETRY_OR_DLQ_TOPIC_MAX_LENGTH } else { TOPIC_MAX_LENGTH };
    if topic.len() > max {
        return Err(NameError::TooLong { max });
    }
    Ok(())
}

/// Checks a producer or consumer group name.
pub fn validate_group(group: &str) -> Result<(), NameError> {
    if group.trim().is_empty() {
        return Err(NameError::Blank);
    }
    if !group.chars().all(legal_char) {
        return Err(NameError::IllegalCharacter);
    }
    if group.len() > GROUP_MAX_LENGTH {
        return Err(NameError::TooLong { max: GROUP_MAX_LENGTH });
    }
    Ok(())
}

/// Whether `topic` is a group's retry or dead-letter topic.
pub fn is_retry_or_dlq(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
}

/// `TopicSysFlag`: the topic belongs to a unit (unit mode).
pub const TOPIC_SYS_FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag`: the topic is a unit subscription (a retry topic in unit mode).
pub const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x1 << 1;

/// The retry topic of consumer group `group`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// The dead-letter topic of consumer group `group`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// Topics clients may not send to (`NO_PERMISSION`).
pub fn is_not_allowed_to_send(topic: &str) -> bool {
    matches!(
        topic,
        SCHEDULE_TOPIC
            | TRANS_HALF_TOPIC
            | TRANS_OP_HALF_TOPIC
            | TRANS_CHECK_MAX_TIME_TOPIC
            | SELF_TEST_TOPIC
            | OFFSET_MOVED_EVENT
    )
}

/// Whether `topic` is one of the broker's own system topics.
pub fn is_system_topic(topic: &str) -> bool {
    is_not_allowed_to_send(topic)
        || matches!(topic, AUTO_CREATE_TOPIC_KEY | BENCHMARK_TOPIC | TRACE_TOPIC | TIMER_TOPIC)
        || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        assert_eq!(validate_topic("TopicTest"), Ok(()));
        assert_eq!(validate_topic("a|b%c_d-e"), Ok(()));
        assert_eq!(validate_topic(" "), Err(NameError::Blank));
        assert_eq!(validate_topic("bad topic"), Err(NameError::IllegalCharacter));
        assert_eq!(validate_topic("bad.topic"), Err(NameError::IllegalCharacter));
        assert_eq!(validate_topic(&"t".repeat(127)), Ok(()));
        assert_eq!(validate_topic(&"t".repeat(128)), Err(NameError::TooLong { max: 127 }));
        let retry = retry_topic(&"g".repeat(200));
        assert_eq!(validate_topic(&retry), Ok(()));
        assert_eq!(validate_group(&"g".repeat(121)), Err(NameError::TooLong { max: 120 }));
    }

    #[test]
    fn system_topics() {
        assert!(is_not_allowed_to_send(SCHEDULE_TOPIC));
        assert!(!is_not_allowed_to_send("TopicTest"));
        assert!(is_system_topic("rmq_sys_REVIVE_LOG_DefaultCluster"));
        assert_eq!(dlq_topic("g"), "%DLQ%g");
    }
}
