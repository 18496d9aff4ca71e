//! The LITE_PULL_MESSAGE request a lite pull consumer sends (RocketMQ's `pullSyncImpl`):
//! long polling allowed, the subscription carried in the request (so the broker needs no
//! heartbeat to filter, which is what lets `assign` work without joining a rebalance), no
//! offset committed with the pull. The answer is read like the push consumer's
//! ([`crate::consumer::pull::parse`]).

use std::time::Duration;

use ferromq_protocol::body::{MessageQueue, SubscriptionData};
use ferromq_protocol::headers::{CommandHeader, PullMessageRequestHeader, PullSysFlag};
use ferromq_protocol::{RemotingCommand, RequestCode};

/// The sys flag RocketMQ's lite pull consumer sets.
pub const SYS_FLAG: i32 = PullSysFlag::SUSPEND | PullSysFlag::SUBSCRIPTION | PullSysFlag::LITE_PULL;

/// A pull of up to `max_nums` messages of `queue` from `offset` for `group`.
pub fn lite_pull(
    group: &str,
    queue: &MessageQueue,
    offset: i64,
    max_nums: i32,
    suspend: Duration,
    subscription: &SubscriptionData,
) -> RemotingCommand {
    let tag_type = subscription.expression_type.eq_ignore_ascii_case("TAG");
    let header = PullMessageRequestHeader {
        consumer_group: group.to_string(),
        topic: queue.topic.clone(),
        queue_id: queue.queue_id,
        queue_offset: offset,
        max_msg_nums: max_nums,
        sys_flag: SYS_FLAG,
        commit_offset: 0,
        suspend_timeout_millis: i64::try_from(suspend.as_millis()).unwrap_or(i64::MAX),
        subscription: Some(subscription.sub_string.clone()),
        // RocketMQ sends 0 for tag expressions.
        sub_version: if tag_type { 0 } else { subscription.sub_version },
        expression_type: Some(subscription.expression_type.clone()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    };
    let mut ext = header.to_ext();
    ext.insert("bname", queue.broker_name.clone());
    RemotingCommand::request(RequestCode::LITE_PULL_MESSAGE).with_ext_fields(ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_the_subscription_and_javas_lite_flags() {
        let queue = MessageQueue::new("T", "broker-a", 2);
        let subscription = SubscriptionData::new("T", "TagA || TagB");
        let request = lite_pull("g", &queue, 7, 10, Duration::from_secs(20), &subscription);
        assert_eq!(request.request_code(), RequestCode::LITE_PULL_MESSAGE);
        let header = PullMessageRequestHeader::from_command(&request).unwrap();
        let flag = header.pull_sys_flag();
        assert!(flag.has(PullSysFlag::SUSPEND | PullSysFlag::SUBSCRIPTION | PullSysFlag::LITE_PULL));
        assert!(!flag.has(PullSysFlag::COMMIT_OFFSET));
        assert_eq!((header.queue_offset, header.max_msg_nums, header.queue_id), (7, 10, 2));
        assert_eq!(header.suspend_timeout_millis, 20_000);
        assert_eq!(header.subscription.as_deref(), Some("TagA || TagB"));
        assert_eq!(header.expression_type.as_deref(), Some("TAG"));
        assert_eq!(header.sub_version, 0);
        assert_eq!(request.ext_fields.get("bname"), Some("broker-a"));
    }
}
