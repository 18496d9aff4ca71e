//! Client management headers (reference §4.4, §4.7): heartbeat, unregister, consumer lists,
//! rebalance notification, and the (empty) queue lock headers.

command_header! {
    /// HEART_BEAT (34): base keys only; the body is `HeartbeatData`.
    pub struct HeartbeatRequestHeader {}
}

command_header! {
    /// HEART_BEAT response ext keys (set with `addExtField` in Java, not a header class).
    /// The Java client reads both with `Boolean.parseBoolean`, so absent means false.
    pub struct HeartbeatResponseHeader {
        is_support_heart_beat_v2: bool = "IS_SUPPORT_HEART_BEAT_V2", default(false);
        is_sub_change: bool = "IS_SUB_CHANGE", default(false);
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35).
    pub struct UnregisterClientRequestHeader {
        /// Java key `clientID` (upper-case `ID`).
        client_id: String = "clientID", required;
        producer_group: String = "producerGroup", optional;
        consumer_group: String = "consumerGroup", optional;
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38); the answer is a body.
    pub struct GetConsumerListByGroupRequestHeader {
        consumer_group: String = "consumerGroup", required;
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40, broker → client, oneway): triggers a rebalance.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        consumer_group: String = "consumerGroup", required;
    }
}

command_header! {
    /// LOCK_BATCH_MQ (41): base keys only; the body is `LockBatchRequestBody`.
    pub struct LockBatchMqRequestHeader {}
}

command_header! {
    /// UNLOCK_BATCH_MQ (42): base keys only; the body is `UnlockBatchRequestBody`.
    pub struct UnlockBatchMqRequestHeader {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext_fields::ExtFields;
    use crate::headers::CommandHeader;

    header_properties! {
        heartbeat_request: HeartbeatRequestHeader,
        heartbeat_response: HeartbeatResponseHeader,
        unregister_client_request: UnregisterClientRequestHeader,
        get_consumer_list_by_group_request: GetConsumerListByGroupRequestHeader,
        notify_consumer_ids_changed_request: NotifyConsumerIdsChangedRequestHeader,
        lock_batch_mq_request: LockBatchMqRequestHeader,
        unlock_batch_mq_request: UnlockBatchMqRequestHeader,
    }

    #[test]
    fn empty_headers_accept_base_keys_and_write_nothing() {
        let ext: ExtFields =
            [("ns", "n"), ("nsd", "true"), ("bname", "b"), ("oway", "x")].into_iter().collect();
        assert_eq!(LockBatchMqRequestHeader::from_ext(&ext), Ok(LockBatchMqRequestHeader {}));
        assert!(HeartbeatRequestHeader {}.to_ext().is_empty());
    }

    #[test]
    fn the_heartbeat_response_flags_are_written() {
        let ext = HeartbeatResponseHeader { is_support_heart_beat_v2: true, is_sub_change: false }
            .to_ext();
        assert_eq!(ext.get("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
        assert_eq!(ext.get("IS_SUB_CHANGE"), Some("false"));
    }
}
