//! Offset headers (reference §4.3): consumer offsets and queue offset queries.

use super::value::ExtValue;

command_header! {
    /// QUERY_CONSUMER_OFFSET (14).
    pub struct QueryConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup", required;
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
        /// Answer 0 instead of QUERY_NOT_FOUND when offset 0 is still in memory (§4.3).
        set_zero_if_not_found: bool = "setZeroIfNotFound", optional;
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET response.
    pub struct QueryConsumerOffsetResponseHeader {
        offset: i64 = "offset", required;
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15); the response has no header.
    pub struct UpdateConsumerOffsetRequestHeader {
        consumer_group: String = "consumerGroup", required;
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
        commit_offset: i64 = "commitOffset", required;
    }
}

command_header! {
    /// GET_MAX_OFFSET (30).
    pub struct GetMaxOffsetRequestHeader {
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
        /// Java `boolean committed = true`.
        committed: bool = "committed", default(true);
    }
}

command_header! {
    /// GET_MAX_OFFSET response: the next offset to be written (the message count).
    pub struct GetMaxOffsetResponseHeader {
        offset: i64 = "offset", required;
    }
}

command_header! {
    /// GET_MIN_OFFSET (31).
    pub struct GetMinOffsetRequestHeader {
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
    }
}

command_header! {
    /// GET_MIN_OFFSET response.
    pub struct GetMinOffsetResponseHeader {
        offset: i64 = "offset", required;
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29).
    pub struct SearchOffsetRequestHeader {
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
        timestamp: i64 = "timestamp", required;
        /// Absent means [`BoundaryType::Lower`].
        boundary_type: BoundaryType = "boundaryType", optional;
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP response.
    pub struct SearchOffsetResponseHeader {
        offset: i64 = "offset", required;
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32).
    pub struct GetEarliestMsgStoretimeRequestHeader {
        topic: String = "topic", required;
        queue_id: i32 = "queueId", required;
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME response.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        timestamp: i64 = "timestamp", required;
    }
}

/// Which message a timestamp search picks when several share the time (`BoundaryType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BoundaryType {
    /// The first message at or after the time (the default).
    #[default]
    Lower,
    /// The last message at or before the time.
    Upper,
}

impl SearchOffsetRequestHeader {
    /// The boundary, defaulting to [`BoundaryType::Lower`] like the broker.
    pub fn boundary(&self) -> BoundaryType {
        self.boundary_type.unwrap_or_default()
    }
}

/// Like Java `BoundaryType.getType`: `upper` in any case is UPPER, anything else LOWER; it
/// never fails. Written as the Java enum name.
impl ExtValue for BoundaryType {
    fn from_ext_str(raw: &str) -> Option<Self> {
        if raw.eq_ignore_ascii_case("upper") {
            Some(BoundaryType::Upper)
        } else {
            Some(BoundaryType::Lower)
        }
    }

    fn to_ext_string(&self) -> String {
        match self {
            BoundaryType::Lower => "LOWER",
            BoundaryType::Upper => "UPPER",
        }
        .to_string()
    }
}

#[cfg(test)]
impl crate::headers::value::arb::ArbValue for BoundaryType {
    const INVALID: Option<&'static str> = None;

    fn arb(rng: &mut proptest::test_runner::TestRng) -> Self {
        if proptest::prelude::Rng::next_u32(rng) & 1 == 0 {
            BoundaryType::Upper
        } else {
            BoundaryType::Lower
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
        query_consumer_offset_request: QueryConsumerOffsetRequestHeader,
        query_consumer_offset_response: QueryConsumerOffsetResponseHeader,
        update_consumer_offset_request: UpdateConsumerOffsetRequestHeader,
        get_max_offset_request: GetMaxOffsetRequestHeader,
        get_max_offset_response: GetMaxOffsetResponseHeader,
        get_min_offset_request: GetMinOffsetRequestHeader,
        get_min_offset_response: GetMinOffsetResponseHeader,
        search_offset_request: SearchOffsetRequestHeader,
        search_offset_response: SearchOffsetResponseHeader,
        get_earliest_msg_storetime_request: GetEarliestMsgStoretimeRequestHeader,
        get_earliest_msg_storetime_response: GetEarliestMsgStoretimeResponseHeader,
    }

    #[test]
    fn boundary_type_reads_like_java_get_type() {
        for (raw, want) in [
            ("UPPER", BoundaryType::Upper),
            ("upper", BoundaryType::Upper),
            ("Upper", BoundaryType::Upper),
            ("LOWER", BoundaryType::Lower),
            ("lower", BoundaryType::Lower),
            ("sideways", BoundaryType::Lower),
        ] {
            assert_eq!(BoundaryType::from_ext_str(raw), Some(want), "{raw}");
        }
        assert_eq!(BoundaryType::Upper.to_ext_string(), "UPPER");
        let ext: ExtFields =
            [("topic", "t"), ("queueId", "0"), ("timestamp", "5")].into_iter().collect();
        let header = SearchOffsetRequestHeader::from_ext(&ext).unwrap();
        assert_eq!(header.boundary(), BoundaryType::Lower);
    }

    #[test]
    fn committed_defaults_to_true_and_reads_java_booleans() {
        let mut ext: ExtFields = [("topic", "t"), ("queueId", "1")].into_iter().collect();
        assert!(GetMaxOffsetRequestHeader::from_ext(&ext).unwrap().committed);
        ext.insert("committed", "False");
        assert!(!GetMaxOffsetRequestHeader::from_ext(&ext).unwrap().committed);
        ext.insert("committed", "yes");
        assert!(!GetMaxOffsetRequestHeader::from_ext(&ext).unwrap().committed);
        ext.remove("queueId");
        assert_eq!(
            GetMaxOffsetRequestHeader::from_ext(&ext),
            Err(ProtocolError::MissingField("queueId"))
        );
    }
}
