//! The send-back header (reference §4.5, §8.5): a consumer returns a message for retry.

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36); the response has no header.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log offset of the original message.
        offset: i64 = "offset", required;
        group: String = "group", required;
        /// 0 = let the broker choose; below 0 = straight to the DLQ.
        delay_level: i32 = "delayLevel", required;
        origin_msg_id: String = "originMsgId", optional;
        origin_topic: String = "originTopic", optional;
        unit_mode: bool = "unitMode", default(false);
        /// Honoured only for request version ≥ 121 (V3_4_9).
        max_reconsume_times: i32 = "maxReconsumeTimes", optional;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProtocolError;
    use crate::ext_fields::ExtFields;
    use crate::headers::CommandHeader;

    header_properties! {
        consumer_send_msg_back_request: ConsumerSendMsgBackRequestHeader,
    }

    #[test]
    fn a_java_send_back_decodes() {
        let mut ext: ExtFields = [
            ("offset", "4096"),
            ("group", "cg"),
            ("delayLevel", "-1"),
            ("originMsgId", "7F00000100002A9F0000000000001000"),
            ("originTopic", "TopicTest"),
            ("maxReconsumeTimes", "16"),
            ("bname", "broker-a"),
        ]
        .into_iter()
        .collect();
        let header = ConsumerSendMsgBackRequestHeader::from_ext(&ext).unwrap();
        assert_eq!(header.delay_level, -1);
        assert!(!header.unit_mode);
        ext.insert("delayLevel", "");
        assert_eq!(
            ConsumerSendMsgBackRequestHeader::from_ext(&ext),
            Err(ProtocolError::InvalidField { field: "delayLevel", value: String::new() })
        );
    }
}
