//! Where a newly assigned queue starts (RocketMQ's `computePullFromWhere`): at the group's
//! committed offset when there is one; otherwise as `consumeFromWhere` says — the end of the
//! queue, its beginning, or the first message stored at `consumeTimestamp`. Retry topics
//! start at their beginning (LAST) or end (TIMESTAMP). A pure function: the caller asks the
//! offset store and the broker.

use ferromq_protocol::body::ConsumeFromWhere;
use ferromq_protocol::topic::RETRY_GROUP_TOPIC_PREFIX;

/// What the offset store knows of a queue (an unreachable store is an error instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredOffset {
    /// The group committed this offset.
    Found(i64),
    /// The group never committed one (the broker answered `QUERY_NOT_FOUND`, or the local
    /// file has no entry).
    NotFound,
}

/// Where to start pulling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// This offset.
    Offset(i64),
    /// The queue's max offset (GET_MAX_OFFSET): only messages sent from now on.
    MaxOffset,
    /// The first offset stored at or after this time, in ms (SEARCH_OFFSET_BY_TIMESTAMP).
    Timestamp(i64),
}

/// Java's `computePullFromWhere` decision for `topic`.
pub fn start_from(
    policy: ConsumeFromWhere,
    consume_timestamp_ms: i64,
    topic: &str,
    stored: StoredOffset,
) -> StartFrom {
    let retry = topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
    match stored {
        StoredOffset::Found(offset) if offset >= 0 => StartFrom::Offset(offset),
        _ => match policy {
            ConsumeFromWhere::ConsumeFromFirstOffset => StartFrom::Offset(0),
            ConsumeFromWhere::ConsumeFromTimestamp if retry => StartFrom::MaxOffset,
            ConsumeFromWhere::ConsumeFromTimestamp => StartFrom::Timestamp(consume_timestamp_ms),
            // LAST and the deprecated variants Java treats as LAST.
            _ if retry => StartFrom::Offset(0),
            _ => StartFrom::MaxOffset,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsumeFromWhere::*;
    use StartFrom::*;
    use StoredOffset::*;

    #[test]
    fn java_compute_pull_from_where() {
        let table = [
            (ConsumeFromLastOffset, "T", Found(42), Offset(42)),
            (ConsumeFromLastOffset, "T", Found(0), Offset(0)),
            (ConsumeFromLastOffset, "T", NotFound, MaxOffset),
            (ConsumeFromLastOffset, "%RETRY%g", NotFound, Offset(0)),
            (ConsumeFromMinOffset, "T", NotFound, MaxOffset),
            (ConsumeFromMaxOffset, "T", NotFound, MaxOffset),
            (ConsumeFromLastOffsetAndFromMinWhenBootFirst, "T", NotFound, MaxOffset),
            (ConsumeFromFirstOffset, "T", Found(7), Offset(7)),
            (ConsumeFromFirstOffset, "T", NotFound, Offset(0)),
            (ConsumeFromFirstOffset, "%RETRY%g", NotFound, Offset(0)),
            (ConsumeFromTimestamp, "T", Found(3), Offset(3)),
            (ConsumeFromTimestamp, "T", NotFound, Timestamp(1_700_000_000_000)),
            (ConsumeFromTimestamp, "%RETRY%g", NotFound, MaxOffset),
            // A negative stored offset counts as none.
            (ConsumeFromFirstOffset, "T", Found(-1), Offset(0)),
        ];
        for (policy, topic, stored, want) in table {
            assert_eq!(
                start_from(policy, 1_700_000_000_000, topic, stored),
                want,
                "{policy:?} {topic} {stored:?}"
            );
        }
    }
}
