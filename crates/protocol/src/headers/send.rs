//! Send headers (reference §4.1): the V1 request, its single-letter V2 form, the response.
//!
//! The broker accepts both request forms; [`SendMessageRequestHeader::from_request`] picks
//! the form from the request code and always yields the V1 struct, like Java's
//! `parseRequestHeader`. Queue-id ranges and topic checks are left to the broker (§8.1).

use super::CommandHeader;
use crate::code::RequestCode;
use crate::error::ProtocolError;
use crate::ext_fields::ExtFields;

command_header! {
    /// SEND_MESSAGE (10), SEND_REPLY_MESSAGE (324); the V1 form with Java key names.
    pub struct SendMessageRequestHeader {
        producer_group: String = "producerGroup", required;
        topic: String = "topic", required;
        /// Template for auto-creation, normally `TBW102`.
        default_topic: String = "defaultTopic", required;
        default_topic_queue_nums: i32 = "defaultTopicQueueNums", required;
        /// Below 0: the broker picks a random write queue.
        queue_id: i32 = "queueId", required;
        /// `MessageSysFlag` bits.
        sys_flag: i32 = "sysFlag", required;
        born_timestamp: i64 = "bornTimestamp", required;
        /// The user flag, stored verbatim.
        flag: i32 = "flag", required;
        /// The properties string (§6.1).
        properties: String = "properties", optional;
        reconsume_times: i32 = "reconsumeTimes", optional;
        unit_mode: bool = "unitMode", optional;
        batch: bool = "batch", optional;
        /// Honoured only for request version ≥ 121 (V3_4_9).
        max_reconsume_times: i32 = "maxReconsumeTimes", optional;
        /// The base-class key `bname` (V2 carries it as `n`).
        broker_name: String = "bname", optional;
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320), SEND_REPLY_MESSAGE_V2 (325).
    ///
    /// Fields are named after their V1 meaning; the keys are the single letters `a`…`n`.
    pub struct SendMessageRequestHeaderV2 {
        producer_group: String = "a", required;
        topic: String = "b", required;
        default_topic: String = "c", required;
        default_topic_queue_nums: i32 = "d", required;
        queue_id: i32 = "e", required;
        sys_flag: i32 = "f", required;
        born_timestamp: i64 = "g", required;
        flag: i32 = "h", required;
        properties: String = "i", optional;
        reconsume_times: i32 = "j", optional;
        unit_mode: bool = "k", optional;
        /// `maxReconsumeTimes` (the Java source comment calls it "consumeRetryTimes").
        max_reconsume_times: i32 = "l", optional;
        /// True for SEND_BATCH_MESSAGE.
        batch: bool = "m", optional;
        broker_name: String = "n", optional;
    }
}

command_header! {
    /// The response to every send code (a FastCodes header; keys in this order).
    ///
    /// `MSG_REGION` and `TRACE_ON` are not fields of the Java class, but the broker always
    /// adds them and the Java client reads them without a null check, so they live here and
    /// are always written. Their defaults are what the Java client assumes when absent.
    pub struct SendMessageResponseHeader {
        /// Offset message id (§6.4); for a batch, the ids joined with commas.
        msg_id: String = "msgId", required;
        queue_id: i32 = "queueId", required;
        /// Consume-queue offset of the (first) message.
        queue_offset: i64 = "queueOffset", required;
        /// The message's `UNIQ_KEY`.
        transaction_id: String = "transactionId", optional;
        batch_uniq_id: String = "batchUniqId", optional;
        recall_handle: String = "recallHandle", optional;
        /// The broker's `regionId`.
        msg_region: String = "MSG_REGION", default(String::from("DefaultRegion"));
        trace_on: bool = "TRACE_ON", default(true);
    }
}

impl SendMessageRequestHeader {
    /// Whether requests with `code` carry the V2 single-letter keys.
    pub fn uses_v2_keys(code: RequestCode) -> bool {
        code == RequestCode::SEND_MESSAGE_V2
            || code == RequestCode::SEND_BATCH_MESSAGE
            || code == RequestCode::SEND_REPLY_MESSAGE_V2
    }

    /// Decodes either form: V2 keys when `v2` is set, else V1 keys.
    pub fn from_command_ext(v2: bool, fields: &ExtFields) -> Result<Self, ProtocolError> {
        if v2 {
            SendMessageRequestHeaderV2::from_ext(fields).map(Self::from)
        } else {
            Self::from_ext(fields)
        }
    }

    /// Decodes the header of a send request, in the form its `code` implies.
    pub fn from_request(code: RequestCode, fields: &ExtFields) -> Result<Self, ProtocolError> {
        Self::from_command_ext(Self::uses_v2_keys(code), fields)
    }
}

impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        SendMessageRequestHeader {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode,
            batch: v2.batch,
            max_reconsume_times: v2.max_reconsume_times,
            broker_name: v2.broker_name,
        }
    }
}

impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        SendMessageRequestHeaderV2 {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: v1.unit_mode,
            max_reconsume_times: v1.max_reconsume_times,
            batch: v1.batch,
            broker_name: v1.broker_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::headers::testkit::HeaderSpec;

    header_properties! {
        send_request_properties: SendMessageRequestHeader,
        send_request_v2_properties: SendMessageRequestHeaderV2,
        send_response_properties: SendMessageResponseHeader,
    }

    fn sample_v1() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "pg".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 3,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("TAGS\u{1}a\u{2}".into()),
            reconsume_times: None,
            unit_mode: Some(false),
            batch: Some(true),
            max_reconsume_times: Some(16),
            broker_name: Some("broker-a".into()),
        }
    }

    proptest! {
        #[test]
        fn v1_and_v2_convert_both_ways(v1 in SendMessageRequestHeader::arbitrary()) {
            let v2 = SendMessageRequestHeaderV2::from(v1.clone());
            prop_assert_eq!(SendMessageRequestHeader::from(v2.clone()), v1.clone());
            let via_v2 = SendMessageRequestHeader::from_command_ext(true, &v2.to_ext())?;
            prop_assert_eq!(&via_v2, &v1);
            let via_v1 = SendMessageRequestHeader::from_command_ext(false, &v1.to_ext())?;
            prop_assert_eq!(via_v1, v1);
        }
    }

    #[test]
    fn v2_writes_exactly_the_single_letter_keys_that_are_set() {
        let v2 = SendMessageRequestHeaderV2::from(sample_v1());
        let ext = v2.to_ext();
        let mut keys: Vec<&str> = ext.iter().map(|(k, _)| k).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "k", "l", "m", "n"]);
        assert_eq!(ext.get("a"), Some("pg"));
        assert_eq!(ext.get("d"), Some("4"));
        assert_eq!(ext.get("g"), Some("1700000000000"));
        assert_eq!(ext.get("m"), Some("true"));
        assert_eq!(ext.get("n"), Some("broker-a"));
        assert_eq!(
            SendMessageRequestHeaderV2::KEYS,
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"]
        );
    }

    #[test]
    fn v1_carries_the_broker_name_in_the_base_key() {
        let ext = sample_v1().to_ext();
        assert_eq!(ext.get("bname"), Some("broker-a"));
        assert_eq!(ext.get("producerGroup"), Some("pg"));
        assert_eq!(ext.get("maxReconsumeTimes"), Some("16"));
        assert!(!ext.contains("reconsumeTimes"));
    }

    #[test]
    fn the_request_code_picks_the_form() {
        let v2_ext = SendMessageRequestHeaderV2::from(sample_v1()).to_ext();
        for code in [
            RequestCode::SEND_MESSAGE_V2,
            RequestCode::SEND_BATCH_MESSAGE,
            RequestCode::SEND_REPLY_MESSAGE_V2,
        ] {
            assert_eq!(SendMessageRequestHeader::from_request(code, &v2_ext), Ok(sample_v1()));
        }
        assert_eq!(
            SendMessageRequestHeader::from_request(RequestCode::SEND_MESSAGE, &v2_ext),
            Err(ProtocolError::MissingField("producerGroup"))
        );
        let v1_ext = sample_v1().to_ext();
        assert_eq!(
            SendMessageRequestHeader::from_request(RequestCode::SEND_REPLY_MESSAGE, &v1_ext),
            Ok(sample_v1())
        );
        assert_eq!(
            SendMessageRequestHeader::from_request(RequestCode::SEND_MESSAGE_V2, &v1_ext),
            Err(ProtocolError::MissingField("a"))
        );
    }

    #[test]
    fn a_java_v2_request_decodes() {
        let ext: ExtFields = [
            ("a", "please_rename_unique_group_name"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "1718000000000"),
            ("h", "0"),
            ("i", "UNIQ_KEY\u{1}7F00\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}"),
            ("j", "0"),
            ("k", "FALSE"),
            ("m", "false"),
            ("n", "broker-a"),
            ("lo", "false"),
            ("ns", ""),
        ]
        .into_iter()
        .collect();
        let header =
            SendMessageRequestHeader::from_request(RequestCode::SEND_MESSAGE_V2, &ext).unwrap();
        assert_eq!(header.queue_id, 1);
        assert_eq!(header.reconsume_times, Some(0));
        assert_eq!(header.unit_mode, Some(false));
        assert_eq!(header.max_reconsume_times, None);
        assert_eq!(header.broker_name.as_deref(), Some("broker-a"));
    }

    #[test]
    fn the_response_always_carries_region_and_trace() {
        let response = SendMessageResponseHeader {
            msg_id: "0A00000100002A9F0000000000000000".into(),
            queue_id: 2,
            queue_offset: 10,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: "DefaultRegion".into(),
            trace_on: true,
        };
        let ext = response.to_ext();
        assert_eq!(ext.get("MSG_REGION"), Some("DefaultRegion"));
        assert_eq!(ext.get("TRACE_ON"), Some("true"));
        let bare: ExtFields =
            [("msgId", "x"), ("queueId", "0"), ("queueOffset", "0")].into_iter().collect();
        let decoded = SendMessageResponseHeader::from_ext(&bare).unwrap();
        assert_eq!(decoded.msg_region, "DefaultRegion");
        assert!(decoded.trace_on);
    }
}
