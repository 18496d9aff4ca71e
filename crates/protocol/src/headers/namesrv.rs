//! Name-server headers (reference §4.9, §2.4): broker registration and liveness, routes,
//! KV config, topic admin and write permissions.

command_header! {
    /// REGISTER_BROKER (103); the body is a `RegisterBrokerBody`.
    pub struct RegisterBrokerRequestHeader {
        broker_name: String = "brokerName", required;
        /// `ip:port`.
        broker_addr: String = "brokerAddr", required;
        cluster_name: String = "clusterName", required;
        /// `ip:haPort`.
        ha_server_addr: String = "haServerAddr", required;
        /// 0 = master.
        broker_id: i64 = "brokerId", required;
        /// Liveness timeout; absent means 120000 ms.
        heartbeat_timeout_millis: i64 = "heartbeatTimeoutMillis", optional;
        enable_acting_master: bool = "enableActingMaster", optional;
        /// Whether the body is in the compressed form.
        compressed: bool = "compressed", default(false);
        /// CRC32 of the body; 0 = do not check.
        body_crc32: i32 = "bodyCrc32", default(0);
    }
}

command_header! {
    /// REGISTER_BROKER response.
    pub struct RegisterBrokerResponseHeader {
        ha_server_addr: String = "haServerAddr", optional;
        /// Set only for a non-master when the master is alive.
        master_addr: String = "masterAddr", optional;
    }
}

command_header! {
    /// UNREGISTER_BROKER (104).
    pub struct UnRegisterBrokerRequestHeader {
        broker_name: String = "brokerName", required;
        broker_addr: String = "brokerAddr", required;
        cluster_name: String = "clusterName", required;
        broker_id: i64 = "brokerId", required;
    }
}

command_header! {
    /// BROKER_HEARTBEAT (904): a lightweight liveness refresh.
    pub struct BrokerHeartbeatRequestHeader {
        cluster_name: String = "clusterName", required;
        broker_addr: String = "brokerAddr", required;
        broker_name: String = "brokerName", required;
        broker_id: i64 = "brokerId", optional;
        epoch: i32 = "epoch", optional;
        max_offset: i64 = "maxOffset", optional;
        confirm_offset: i64 = "confirmOffset", optional;
        /// Java key `heartbeatTimeoutMills` (sic, not `Millis`).
        heartbeat_timeout_mills: i64 = "heartbeatTimeoutMills", optional;
        election_priority: i32 = "electionPriority", optional;
    }
}

command_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105) → `TopicRouteData`.
    pub struct GetRouteInfoRequestHeader {
        topic: String = "topic", required;
        /// Ask for standard JSON even from an old request version (§5.2).
        accept_standard_json_only: bool = "acceptStandardJsonOnly", optional;
    }
}

command_header! {
    /// QUERY_DATA_VERSION (322); the body is the broker's `DataVersion`.
    pub struct QueryDataVersionRequestHeader {
        broker_name: String = "brokerName", required;
        broker_addr: String = "brokerAddr", required;
        cluster_name: String = "clusterName", required;
        broker_id: i64 = "brokerId", required;
    }
}

command_header! {
    /// QUERY_DATA_VERSION response; the body is the name server's `DataVersion`.
    pub struct QueryDataVersionResponseHeader {
        changed: bool = "changed", required;
    }
}

command_header! {
    /// PUT_KV_CONFIG (100).
    pub struct PutKvConfigRequestHeader {
        namespace: String = "namespace", required;
        key: String = "key", required;
        value: String = "value", required;
    }
}

command_header! {
    /// GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102): one key of a namespace.
    pub struct KvConfigRequestHeader {
        namespace: String = "namespace", required;
        key: String = "key", required;
    }
}

/// GET_KV_CONFIG (101) request.
pub type GetKvConfigRequestHeader = KvConfigRequestHeader;

/// DELETE_KV_CONFIG (102) request.
pub type DeleteKvConfigRequestHeader = KvConfigRequestHeader;

command_header! {
    /// GET_KV_CONFIG response (QUERY_NOT_FOUND when absent).
    pub struct GetKvConfigResponseHeader {
        value: String = "value", optional;
    }
}

command_header! {
    /// GET_KVLIST_BY_NAMESPACE (219) → `KVTable`.
    pub struct GetKvListByNamespaceRequestHeader {
        namespace: String = "namespace", required;
    }
}

command_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216).
    pub struct DeleteTopicFromNamesrvRequestHeader {
        topic: String = "topic", required;
        /// Only this cluster's brokers; all when absent.
        cluster_name: String = "clusterName", optional;
    }
}

command_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217); the body is a `TopicRouteData`.
    pub struct RegisterTopicRequestHeader {
        topic: String = "topic", required;
    }
}

command_header! {
    /// GET_TOPICS_BY_CLUSTER (224) → `TopicList`.
    pub struct GetTopicsByClusterRequestHeader {
        cluster: String = "cluster", required;
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205).
    pub struct WipeWritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName", required;
    }
}

command_header! {
    /// WIPE_WRITE_PERM_OF_BROKER response.
    pub struct WipeWritePermOfBrokerResponseHeader {
        wipe_topic_count: i32 = "wipeTopicCount", required;
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327).
    pub struct AddWritePermOfBrokerRequestHeader {
        broker_name: String = "brokerName", required;
    }
}

command_header! {
    /// ADD_WRITE_PERM_OF_BROKER response.
    pub struct AddWritePermOfBrokerResponseHeader {
        add_topic_count: i32 = "addTopicCount", required;
    }
}

command_header! {
    /// GET_BROKER_MEMBER_GROUP (901) → `GetBrokerMemberGroupResponseBody`.
    pub struct GetBrokerMemberGroupRequestHeader {
        cluster_name: String = "clusterName", required;
        broker_name: String = "brokerName", required;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProtocolError;
    use crate::ext_fields::ExtFields;
    use crate::headers::CommandHeader;

    header_properties! {
        register_broker_request: RegisterBrokerRequestHeader,
        register_broker_response: RegisterBrokerResponseHeader,
        unregister_broker_request: UnRegisterBrokerRequestHeader,
        broker_heartbeat_request: BrokerHeartbeatRequestHeader,
        get_route_info_request: GetRouteInfoRequestHeader,
        query_data_version_request: QueryDataVersionRequestHeader,
        query_data_version_response: QueryDataVersionResponseHeader,
        put_kv_config_request: PutKvConfigRequestHeader,
        kv_config_request: KvConfigRequestHeader,
        get_kv_config_response: GetKvConfigResponseHeader,
        get_kv_list_by_namespace_request: GetKvListByNamespaceRequestHeader,
        delete_topic_from_namesrv_request: DeleteTopicFromNamesrvRequestHeader,
        register_topic_request: RegisterTopicRequestHeader,
        get_topics_by_cluster_request: GetTopicsByClusterRequestHeader,
        wipe_write_perm_request: WipeWritePermOfBrokerRequestHeader,
        wipe_write_perm_response: WipeWritePermOfBrokerResponseHeader,
        add_write_perm_request: AddWritePermOfBrokerRequestHeader,
        add_write_perm_response: AddWritePermOfBrokerResponseHeader,
        get_broker_member_group_request: GetBrokerMemberGroupRequestHeader,
    }

    fn java_register() -> ExtFields {
        [
            ("brokerName", "broker-a"),
            ("brokerAddr", "192.168.0.2:10911"),
            ("clusterName", "DefaultCluster"),
            ("haServerAddr", "192.168.0.2:10912"),
            ("brokerId", "0"),
            ("heartbeatTimeoutMillis", "30000"),
            ("enableActingMaster", "false"),
            ("compressed", "true"),
            ("bodyCrc32", "-123456"),
            ("ns", ""),
            ("nsd", "false"),
            ("oway", "false"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_java_register_broker_decodes() {
        let header = RegisterBrokerRequestHeader::from_ext(&java_register()).unwrap();
        assert_eq!(
            header,
            RegisterBrokerRequestHeader {
                broker_name: "broker-a".into(),
                broker_addr: "192.168.0.2:10911".into(),
                cluster_name: "DefaultCluster".into(),
                ha_server_addr: "192.168.0.2:10912".into(),
                broker_id: 0,
                heartbeat_timeout_millis: Some(30000),
                enable_acting_master: Some(false),
                compressed: true,
                body_crc32: -123456,
            }
        );
    }

    #[test]
    fn an_old_register_broker_takes_defaults() {
        let mut ext = java_register();
        for key in ["heartbeatTimeoutMillis", "enableActingMaster", "compressed", "bodyCrc32"] {
            ext.remove(key);
        }
        let header = RegisterBrokerRequestHeader::from_ext(&ext).unwrap();
        assert!(!header.compressed);
        assert_eq!(header.body_crc32, 0);
        assert_eq!(header.heartbeat_timeout_millis, None);
        ext.remove("haServerAddr");
        assert_eq!(
            RegisterBrokerRequestHeader::from_ext(&ext),
            Err(ProtocolError::MissingField("haServerAddr"))
        );
        ext.insert("haServerAddr", "h");
        ext.insert("brokerId", "zero");
        assert_eq!(
            RegisterBrokerRequestHeader::from_ext(&ext),
            Err(ProtocolError::InvalidField { field: "brokerId", value: "zero".into() })
        );
    }

    #[test]
    fn get_route_info_reads_the_json_flag() {
        let mut ext: ExtFields = [("topic", "TopicTest")].into_iter().collect();
        let header = GetRouteInfoRequestHeader::from_ext(&ext).unwrap();
        assert_eq!(header.accept_standard_json_only, None);
        ext.insert("acceptStandardJsonOnly", "TRUE");
        let header = GetRouteInfoRequestHeader::from_ext(&ext).unwrap();
        assert_eq!(header.accept_standard_json_only, Some(true));
    }

    #[test]
    fn kv_headers_share_keys() {
        let put = PutKvConfigRequestHeader {
            namespace: "ORDER_TOPIC_CONFIG".into(),
            key: "TopicTest".into(),
            value: "broker-a:4".into(),
        };
        let get = GetKvConfigRequestHeader::from_ext(&put.to_ext()).unwrap();
        assert_eq!(get.key, "TopicTest");
        assert_eq!(
            PutKvConfigRequestHeader::from_ext(&get.to_ext()),
            Err(ProtocolError::MissingField("value"))
        );
        assert!(GetKvConfigResponseHeader { value: None }.to_ext().is_empty());
    }
}
