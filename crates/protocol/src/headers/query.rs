//! Message query headers (reference §4.3): by key or unique key, and by commit-log offset.

command_header! {
    /// QUERY_MESSAGE (12): messages whose key (or unique key) matches, in a time range.
    pub struct QueryMessageRequestHeader {
        topic: String = "topic", required;
        key: String = "key", required;
        /// Forced to `defaultQueryMaxNum` (32) for a unique-key query.
        max_num: i32 = "maxNum", required;
        begin_timestamp: i64 = "beginTimestamp", required;
        end_timestamp: i64 = "endTimestamp", required;
        /// Not a Java header field: the ext flag the client adds for a query by `UNIQ_KEY`.
        unique_key_query: bool = "_UNIQUE_KEY_QUERY", optional;
    }
}

command_header! {
    /// QUERY_MESSAGE response; the body is the concatenated raw messages.
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp", required;
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset", required;
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33): one message by commit-log offset.
    pub struct ViewMessageRequestHeader {
        topic: String = "topic", optional;
        /// Commit-log physical offset.
        offset: i64 = "offset", required;
    }
}

impl QueryMessageRequestHeader {
    /// Whether this is a query by unique key (`_UNIQUE_KEY_QUERY=true`).
    pub fn is_unique_key_query(&self) -> bool {
        self.unique_key_query.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext_fields::ExtFields;
    use crate::headers::CommandHeader;

    header_properties! {
        query_message_request: QueryMessageRequestHeader,
        query_message_response: QueryMessageResponseHeader,
        view_message_request: ViewMessageRequestHeader,
    }

    #[test]
    fn the_unique_key_flag_is_read_from_ext() {
        let mut ext: ExtFields = [
            ("topic", "t"),
            ("key", "7F0000010001"),
            ("maxNum", "64"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
        ]
        .into_iter()
        .collect();
        assert!(!QueryMessageRequestHeader::from_ext(&ext).unwrap().is_unique_key_query());
        ext.insert("_UNIQUE_KEY_QUERY", "true");
        let header = QueryMessageRequestHeader::from_ext(&ext).unwrap();
        assert!(header.is_unique_key_query());
        assert_eq!(header.end_timestamp, i64::MAX);
    }
}
