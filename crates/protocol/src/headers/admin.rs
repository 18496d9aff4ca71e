//! Admin headers (reference §4.8, §2.2): topics, groups, stats, connections, offset reset,
//! and the consumer-side requests an admin tool has the broker relay to a client.

use super::value::ExtValue;

command_header! {
    /// UPDATE_AND_CREATE_TOPIC (17).
    pub struct CreateTopicRequestHeader {
        topic: String = "topic", required;
        default_topic: String = "defaultTopic", required;
        read_queue_nums: i32 = "readQueueNums", required;
        write_queue_nums: i32 = "writeQueueNums", required;
        /// `PermName` bits.
        perm: i32 = "perm", required;
        /// Java's `checkFields` rejects any other name; so does decoding.
        topic_filter_type: TopicFilterType = "topicFilterType", required;
        topic_sys_flag: i32 = "topicSysFlag", optional;
        /// Java `Boolean order = false`.
        order: bool = "order", default(false);
        /// `+k=v,…` attribute changes.
        attributes: String = "attributes", optional;
        force: bool = "force", default(false);
    }
}

command_header! {
    /// DELETE_TOPIC_IN_BROKER (215).
    pub struct DeleteTopicRequestHeader {
        topic: String = "topic", required;
    }
}

command_header! {
    /// GET_TOPIC_STATS_INFO (202) → `TopicStatsTable`.
    pub struct GetTopicStatsInfoRequestHeader {
        topic: String = "topic", required;
    }
}

command_header! {
    /// GET_CONSUME_STATS (208) → `ConsumeStats`.
    pub struct GetConsumeStatsRequestHeader {
        consumer_group: String = "consumerGroup", required;
        topic: String = "topic", optional;
        /// Topics separated by `;` (Java `TOPIC_NAME_SEPARATOR`); when set, `topic` is ignored.
        topic_list: String = "topicList", optional;
    }
}

command_header! {
    /// QUERY_TOPIC_CONSUME_BY_WHO (300) → `GroupList`.
    pub struct QueryTopicConsumeByWhoRequestHeader {
        topic: String = "topic", required;
    }
}

command_header! {
    /// DELETE_SUBSCRIPTIONGROUP (207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        group_name: String = "groupName", required;
        clean_offset: bool = "cleanOffset", default(false);
    }
}

command_header! {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222, admin → broker) and RESET_CONSUMER_CLIENT_OFFSET
    /// (220, broker → client). `timestamp` and `isForce` are Java primitives, so a missing
    /// key reads as 0 / false, as in Java.
    pub struct ResetOffsetRequestHeader {
        group: String = "group", required;
        topic: String = "topic", required;
        /// -1 = all queues.
        queue_id: i32 = "queueId", default(-1);
        offset: i64 = "offset", optional;
        timestamp: i64 = "timestamp", default(0);
        is_force: bool = "isForce", default(false);
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) → `ConsumerConnection`.
    pub struct GetConsumerConnectionListRequestHeader {
        consumer_group: String = "consumerGroup", required;
    }
}

command_header! {
    /// GET_PRODUCER_CONNECTION_LIST (204) → `ProducerConnection`.
    pub struct GetProducerConnectionListRequestHeader {
        producer_group: String = "producerGroup", required;
    }
}

command_header! {
    /// GET_CONSUMER_RUNNING_INFO (307), admin → broker → client → `ConsumerRunningInfo`.
    pub struct GetConsumerRunningInfoRequestHeader {
        consumer_group: String = "consumerGroup", required;
        client_id: String = "clientId", required;
        jstack_enable: bool = "jstackEnable", default(false);
    }
}

command_header! {
    /// CONSUME_MESSAGE_DIRECTLY (309), admin → broker → client; the body is a message.
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        consumer_group: String = "consumerGroup", required;
        client_id: String = "clientId", optional;
        msg_id: String = "msgId", optional;
        /// A plain field named `brokerName`, not the base key `bname`.
        broker_name: String = "brokerName", optional;
        topic: String = "topic", optional;
        topic_sys_flag: i32 = "topicSysFlag", optional;
        group_sys_flag: i32 = "groupSysFlag", optional;
    }
}

command_header! {
    /// GET_CONSUMER_STATUS_FROM_CLIENT (221, broker → client) and
    /// INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223).
    pub struct GetConsumerStatusRequestHeader {
        topic: String = "topic", required;
        group: String = "group", required;
        client_addr: String = "clientAddr", optional;
    }
}

/// How a topic's tags are matched: the same type the JSON bodies use.
pub use crate::body::TopicFilterType;

/// The Java enum name, matched case-insensitively; other names are rejected.
impl ExtValue for TopicFilterType {
    fn from_ext_str(raw: &str) -> Option<Self> {
        if raw.eq_ignore_ascii_case("SINGLE_TAG") {
            Some(TopicFilterType::SingleTag)
        } else if raw.eq_ignore_ascii_case("MULTI_TAG") {
            Some(TopicFilterType::MultiTag)
        } else {
            None
        }
    }

    fn to_ext_string(&self) -> String {
        match self {
            TopicFilterType::SingleTag => "SINGLE_TAG",
            TopicFilterType::MultiTag => "MULTI_TAG",
        }
        .to_string()
    }
}

impl GetConsumeStatsRequestHeader {
    /// The topics of `topicList`, split on `;` with empty parts dropped (Java
    /// `fetchTopicList`). Empty when the list is absent.
    pub fn topics(&self) -> Vec<&str> {
        self.topic_list
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .filter(|t| !t.is_empty())
            .collect()
    }
}

#[cfg(test)]
impl crate::headers::value::arb::ArbValue for TopicFilterType {
    const INVALID: Option<&'static str> = Some("SINGLE");

    fn arb(rng: &mut proptest::test_runner::TestRng) -> Self {
        if proptest::prelude::Rng::next_u32(rng) & 1 == 0 {
            TopicFilterType::SingleTag
        } else {
            TopicFilterType::MultiTag
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProtocolError;
    use crate::ext_fields::ExtFields;
    use crate::headers::CommandHeader;

    header_properties! {
        create_topic_request: CreateTopicRequestHeader,
        delete_topic_request: DeleteTopicRequestHeader,
        get_topic_stats_info_request: GetTopicStatsInfoRequestHeader,
        get_consume_stats_request: GetConsumeStatsRequestHeader,
        query_topic_consume_by_who_request: QueryTopicConsumeByWhoRequestHeader,
        delete_subscription_group_request: DeleteSubscriptionGroupRequestHeader,
        reset_offset_request: ResetOffsetRequestHeader,
        get_consumer_connection_list_request: GetConsumerConnectionListRequestHeader,
        get_producer_connection_list_request: GetProducerConnectionListRequestHeader,
        get_consumer_running_info_request: GetConsumerRunningInfoRequestHeader,
        consume_message_directly_result_request: ConsumeMessageDirectlyResultRequestHeader,
        get_consumer_status_request: GetConsumerStatusRequestHeader,
    }

    fn create_topic(filter: &str) -> ExtFields {
        [
            ("topic", "TopicTest"),
            ("defaultTopic", "TBW102"),
            ("readQueueNums", "8"),
            ("writeQueueNums", "8"),
            ("perm", "6"),
            ("topicFilterType", filter),
            ("topicSysFlag", "0"),
            ("order", "false"),
            ("lo", "false"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn topic_filter_type_is_checked_case_insensitively() {
        let header = CreateTopicRequestHeader::from_ext(&create_topic("multi_tag")).unwrap();
        assert_eq!(header.topic_filter_type, TopicFilterType::MultiTag);
        assert!(!header.force);
        assert_eq!(header.to_ext().get("topicFilterType"), Some("MULTI_TAG"));
        assert_eq!(
            CreateTopicRequestHeader::from_ext(&create_topic("TAG")),
            Err(ProtocolError::InvalidField { field: "topicFilterType", value: "TAG".into() })
        );
    }

    #[test]
    fn reset_offset_takes_java_defaults() {
        let ext: ExtFields = [("group", "g"), ("topic", "t")].into_iter().collect();
        let header = ResetOffsetRequestHeader::from_ext(&ext).unwrap();
        assert_eq!(header.queue_id, -1);
        assert_eq!(header.timestamp, 0);
        assert!(!header.is_force);
        assert_eq!(header.offset, None);
        assert_eq!(header.to_ext().get("isForce"), Some("false"));
    }

    #[test]
    fn the_topic_list_splits_on_semicolons() {
        let mut header = GetConsumeStatsRequestHeader {
            consumer_group: "cg".into(),
            topic: None,
            topic_list: Some("a;b;;c;".into()),
        };
        assert_eq!(header.topics(), ["a", "b", "c"]);
        header.topic_list = None;
        assert!(header.topics().is_empty());
    }
}
