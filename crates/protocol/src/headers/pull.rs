//! Pull headers (reference §4.2, §8.3): PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361).

command_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) request.
    pub struct PullMessageRequestHeader {
        consumer_group: String = "consumerGroup", required;
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
        queue_offset: i64 = "queueOffset", required;
        /// Client default 32.
        max_msg_nums: i32 = "maxMsgNums", required;
        /// [`PullSysFlag`] bits.
        sys_flag: i32 = "sysFlag", required;
        /// Stored as the group's offset when the COMMIT_OFFSET bit is set.
        commit_offset: i64 = "commitOffset", required;
        /// Long-polling timeout (client 15000).
        suspend_timeout_millis: i64 = "suspendTimeoutMillis", required;
        /// The subscription expression (used when the SUBSCRIPTION bit is set).
        subscription: String = "subscription", optional;
        sub_version: i64 = "subVersion", required;
        /// `TAG` or `SQL92`.
        expression_type: String = "expressionType", optional;
        max_msg_bytes: i32 = "maxMsgBytes", optional;
        /// -1 SDK, 0 proxy-order, 1 proxy-broadcast, 2 proxy-stream.
        request_source: i32 = "requestSource", optional;
        /// Spelled like the Java field (sic).
        proxy_froward_client_id: String = "proxyFrowardClientId", optional;
    }
}

command_header! {
    /// The pull response. The four offsets are required and so always written: the Java
    /// client unboxes them for every pull result code.
    pub struct PullMessageResponseHeader {
        /// 0 = master.
        suggest_which_broker_id: i64 = "suggestWhichBrokerId", required;
        next_begin_offset: i64 = "nextBeginOffset", required;
        min_offset: i64 = "minOffset", required;
        max_offset: i64 = "maxOffset", required;
        offset_delta: i64 = "offsetDelta", optional;
        topic_sys_flag: i32 = "topicSysFlag", optional;
        group_sys_flag: i32 = "groupSysFlag", optional;
        forbidden_type: i32 = "forbiddenType", optional;
    }
}

/// The bits of [`PullMessageRequestHeader::sys_flag`] (`PullSysFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullSysFlag(pub i32);

impl PullSysFlag {
    /// Store `commitOffset` for the group.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// Long polling allowed.
    pub const SUSPEND: i32 = 0x2;
    /// Use the request's `subscription`/`expressionType` instead of the registered one.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Class filter (legacy).
    pub const CLASS_FILTER: i32 = 0x8;
    /// Sent by the lite pull consumer.
    pub const LITE_PULL: i32 = 0x10;

    /// Whether every bit of `bit` is set.
    pub fn has(self, bit: i32) -> bool {
        self.0 & bit == bit
    }
}

impl PullMessageRequestHeader {
    /// The request's sys flag as bits.
    pub fn pull_sys_flag(&self) -> PullSysFlag {
        PullSysFlag(self.sys_flag)
    }

    /// A one-off read of up to `max` messages of every tag from `offset`: not held by long
    /// polling and committing nothing, as admin tools read.
    pub fn peek(group: &str, topic: &str, queue_id: i32, offset: i64, max: i32) -> Self {
        PullMessageRequestHeader {
            consumer_group: group.into(),
            topic: topic.into(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: max,
            sys_flag: PullSysFlag::SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
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
        pull_request_properties: PullMessageRequestHeader,
        pull_response_properties: PullMessageResponseHeader,
    }

    #[test]
    fn a_java_pull_request_decodes_and_ignores_base_keys() {
        let ext: ExtFields = [
            ("consumerGroup", "cg"),
            ("topic", "TopicTest"),
            ("queueId", "3"),
            ("queueOffset", "120"),
            ("maxMsgNums", "32"),
            ("sysFlag", "3"),
            ("commitOffset", "118"),
            ("suspendTimeoutMillis", "15000"),
            ("subscription", "TagA || TagB"),
            ("subVersion", "1718000000000"),
            ("expressionType", "TAG"),
            ("lo", "false"),
            ("bname", "broker-a"),
            ("oway", "false"),
        ]
        .into_iter()
        .collect();
        let header = PullMessageRequestHeader::from_ext(&ext).unwrap();
        assert_eq!(header.queue_offset, 120);
        assert_eq!(header.max_msg_bytes, None);
        let flag = header.pull_sys_flag();
        assert!(flag.has(PullSysFlag::COMMIT_OFFSET) && flag.has(PullSysFlag::SUSPEND));
        assert!(!flag.has(PullSysFlag::SUBSCRIPTION));
        let mut bad = ext.clone();
        bad.insert("queueOffset", "12.5");
        assert_eq!(
            PullMessageRequestHeader::from_ext(&bad),
            Err(ProtocolError::InvalidField { field: "queueOffset", value: "12.5".into() })
        );
    }

    #[test]
    fn the_response_writes_the_four_offsets_even_when_zero() {
        let response = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        };
        let ext = response.to_ext();
        for key in ["suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"] {
            assert_eq!(ext.get(key), Some("0"), "{key}");
        }
        assert_eq!(ext.len(), 4);
    }
}
