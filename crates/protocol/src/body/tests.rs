//! Round-trip property tests for every body (`from_json(to_json(x)) == x`), and garbage.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn s() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9_%@:.\\-]{0,12}"]
}

fn map<V: Strategy>(v: V) -> impl Strategy<Value = BTreeMap<String, V::Value>>
where
    V::Value: std::fmt::Debug,
{
    prop::collection::btree_map(s(), v, 0..4)
}

fn data_version() -> impl Strategy<Value = DataVersion> {
    (any::<i64>(), any::<i64>(), any::<i64>()).prop_map(|(state_version, timestamp, counter)| {
        DataVersion { state_version, timestamp, counter }
    })
}

fn topic_config() -> impl Strategy<Value = TopicConfig> {
    (
        (s(), any::<i32>(), any::<i32>(), any::<i32>()),
        (prop::sample::select(TopicFilterType::ALL), any::<i32>(), any::<bool>()),
        map(s()),
    )
        .prop_map(|((topic_name, r, w, perm), (filter, sys, order), attributes)| TopicConfig {
            topic_name,
            read_queue_nums: r,
            write_queue_nums: w,
            perm,
            topic_filter_type: filter,
            topic_sys_flag: sys,
            order,
            attributes,
        })
}

fn wrapper() -> impl Strategy<Value = TopicConfigSerializeWrapper> {
    (map(topic_config()), data_version()).prop_map(|(topic_config_table, data_version)| {
        TopicConfigSerializeWrapper { topic_config_table, data_version }
    })
}

fn queue_data() -> impl Strategy<Value = QueueData> {
    (s(), any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()).prop_map(|(b, r, w, p, f)| {
        QueueData {
            broker_name: b,
            read_queue_nums: r,
            write_queue_nums: w,
            perm: p,
            topic_sys_flag: f,
        }
    })
}

fn broker_data() -> impl Strategy<Value = BrokerData> {
    (
        s(),
        s(),
        prop::collection::btree_map(any::<i64>(), s(), 0..4),
        any::<bool>(),
        prop::option::of(s()),
    )
        .prop_map(|(cluster, broker_name, broker_addrs, acting, zone_name)| BrokerData {
            cluster,
            broker_name,
            broker_addrs,
            enable_acting_master: acting,
            zone_name,
        })
}

fn route() -> impl Strategy<Value = TopicRouteData> {
    (
        prop::option::of(s()),
        prop::collection::vec(queue_data(), 0..3),
        prop::collection::vec(broker_data(), 0..3),
        map(prop::collection::vec(s(), 0..3)),
    )
        .prop_map(|(order, queue_datas, broker_datas, filters)| TopicRouteData {
            order_topic_conf: order,
            queue_datas,
            broker_datas,
            filter_server_table: filters,
        })
}

fn mq() -> impl Strategy<Value = MessageQueue> {
    (s(), s(), any::<i32>()).prop_map(|(t, b, q)| MessageQueue::new(t, b, q))
}

fn mq_map<V: Strategy>(v: V) -> impl Strategy<Value = BTreeMap<MessageQueue, V::Value>>
where
    V::Value: std::fmt::Debug,
{
    prop::collection::btree_map(mq(), v, 0..4)
}

fn subscription() -> impl Strategy<Value = SubscriptionData> {
    (
        (any::<bool>(), s(), s()),
        prop::collection::btree_set(s(), 0..3),
        prop::collection::btree_set(any::<i32>(), 0..3),
        (any::<i64>(), s()),
    )
        .prop_map(|((cfm, topic, sub), tags, codes, (ver, ty))| SubscriptionData {
            class_filter_mode: cfm,
            topic,
            sub_string: sub,
            tags_set: tags,
            code_set: codes,
            sub_version: ver,
            expression_type: ty,
        })
}

fn consumer_data() -> impl Strategy<Value = ConsumerData> {
    (
        s(),
        prop::sample::select(ConsumeType::ALL),
        prop::sample::select(MessageModel::ALL),
        prop::sample::select(ConsumeFromWhere::ALL),
        prop::collection::vec(subscription(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(g, ct, mm, cfw, subs, unit)| ConsumerData {
            group_name: g,
            consume_type: ct,
            message_model: mm,
            consume_from_where: cfw,
            subscription_data_set: subs,
            unit_mode: unit,
        })
}

fn connection() -> impl Strategy<Value = Connection> {
    (s(), s(), s(), any::<i32>()).prop_map(|(client_id, client_addr, language, version)| {
        Connection { client_id, client_addr, language, version }
    })
}

fn offset_wrapper() -> impl Strategy<Value = OffsetWrapper> {
    any::<[i64; 4]>().prop_map(|[a, b, c, d]| OffsetWrapper {
        broker_offset: a,
        consumer_offset: b,
        pull_offset: c,
        last_timestamp: d,
    })
}

fn group_config() -> impl Strategy<Value = SubscriptionGroupConfig> {
    (
        (s(), any::<[bool; 5]>(), any::<i32>(), any::<i32>()),
        (
            prop::sample::select(GroupRetryPolicyType::ALL),
            prop::option::of(any::<[i64; 3]>()),
            prop::option::of(prop::collection::vec(any::<i64>(), 0..4)),
        ),
        (any::<i64>(), any::<i64>(), any::<i32>(), any::<i32>()),
        prop::option::of(prop::collection::vec((s(), s(), s(), any::<i64>()), 0..3)),
        map(s()),
    )
        .prop_map(
            |(
                (name, flags, rq, rm),
                (ty, exp, cus),
                (bid, slow, sys, timeout),
                subs,
                attributes,
            )| {
                let [enable, from_min, broadcast, orderly, notify] = flags;
                SubscriptionGroupConfig {
                    group_name: name,
                    consume_enable: enable,
                    consume_from_min_enable: from_min,
                    consume_broadcast_enable: broadcast,
                    consume_message_orderly: orderly,
                    retry_queue_nums: rq,
                    retry_max_times: rm,
                    group_retry_policy: GroupRetryPolicy {
                        policy_type: ty,
                        exponential_retry_policy: exp.map(|[initial, max, multiplier]| {
                            ExponentialRetryPolicy { initial, max, multiplier }
                        }),
                        customized_retry_policy: cus.map(|next| CustomizedRetryPolicy { next }),
                    },
                    broker_id: bid,
                    which_broker_when_consume_slowly: slow,
                    notify_consumer_ids_changed_enable: notify,
                    group_sys_flag: sys,
                    consume_timeout_minute: timeout,
                    subscription_data_set: subs.map(|v| {
                        v.into_iter()
                            .map(|(topic, expression_type, expression, version)| {
                                SimpleSubscriptionData {
                                    topic,
                                    expression_type,
                                    expression,
                                    version,
                                }
                            })
                            .collect()
                    }),
                    attributes,
                }
            },
        )
}

macro_rules! round_trip {
    ($name:ident, $strategy:expr, $ty:ty) => {
        proptest! {
            #[test]
            fn $name(value in $strategy) {
                let back = <$ty>::from_json(&value.to_json()).unwrap();
                prop_assert_eq!(back, value);
            }
        }
    };
}

round_trip!(data_version_round_trips, data_version(), DataVersion);
round_trip!(topic_config_round_trips, topic_config(), TopicConfig);
round_trip!(wrapper_round_trips, wrapper(), TopicConfigSerializeWrapper);
round_trip!(route_round_trips, route(), TopicRouteData);
round_trip!(message_queue_round_trips, mq(), MessageQueue);
round_trip!(subscription_round_trips, subscription(), SubscriptionData);
round_trip!(group_config_round_trips, group_config(), SubscriptionGroupConfig);

round_trip!(
    cluster_info_round_trips,
    (map(broker_data()), map(prop::collection::btree_set(s(), 0..3)))
        .prop_map(|(b, c)| ClusterInfo { broker_addr_table: b, cluster_addr_table: c }),
    ClusterInfo
);

round_trip!(
    topic_list_round_trips,
    (prop::collection::btree_set(s(), 0..4), prop::option::of(s()))
        .prop_map(|(t, b)| { TopicList { topic_list: t, broker_addr: b } }),
    TopicList
);

round_trip!(kv_table_round_trips, map(s()).prop_map(|table| KvTable { table }), KvTable);

round_trip!(
    kv_config_file_round_trips,
    map(map(s())).prop_map(|config_table| KvConfigFile { config_table }),
    KvConfigFile
);

round_trip!(
    member_group_round_trips,
    (s(), s(), prop::collection::btree_map(any::<i64>(), s(), 0..4)).prop_map(
        |(cluster, broker_name, broker_addrs)| GetBrokerMemberGroupResponseBody {
            broker_member_group: BrokerMemberGroup { cluster, broker_name, broker_addrs },
        }
    ),
    GetBrokerMemberGroupResponseBody
);

round_trip!(
    heartbeat_round_trips,
    (
        s(),
        prop::collection::vec(s().prop_map(|group_name| ProducerData { group_name }), 0..3),
        prop::collection::vec(consumer_data(), 0..3),
        any::<i32>(),
        any::<bool>(),
    )
        .prop_map(|(client_id, producers, consumers, fp, without_sub)| HeartbeatData {
            client_id,
            producer_data_set: producers,
            consumer_data_set: consumers,
            heartbeat_fingerprint: fp,
            without_sub,
        }),
    HeartbeatData
);

round_trip!(
    lock_request_round_trips,
    (s(), s(), prop::collection::btree_set(mq(), 0..4), any::<bool>()).prop_map(
        |(consumer_group, client_id, mq_set, only_this_broker)| {
            LockBatchRequestBody { consumer_group, client_id, mq_set, only_this_broker }
        }
    ),
    LockBatchRequestBody
);

round_trip!(
    lock_response_round_trips,
    prop::collection::btree_set(mq(), 0..4)
        .prop_map(|lock_ok_mq_set| LockBatchResponseBody { lock_ok_mq_set }),
    LockBatchResponseBody
);

round_trip!(
    consumer_list_round_trips,
    prop::collection::vec(s(), 0..4)
        .prop_map(|consumer_id_list| GetConsumerListByGroupResponseBody { consumer_id_list }),
    GetConsumerListByGroupResponseBody
);

round_trip!(
    consumer_connection_round_trips,
    (
        prop::collection::vec(connection(), 0..3),
        map(subscription()),
        prop::sample::select(ConsumeType::ALL),
        prop::sample::select(MessageModel::ALL),
        prop::sample::select(ConsumeFromWhere::ALL),
    )
        .prop_map(|(connection_set, subscription_table, ct, mm, cfw)| {
            ConsumerConnection {
                connection_set,
                subscription_table,
                consume_type: ct,
                message_model: mm,
                consume_from_where: cfw,
            }
        }),
    ConsumerConnection
);

round_trip!(
    producer_connection_round_trips,
    prop::collection::vec(connection(), 0..3)
        .prop_map(|connection_set| ProducerConnection { connection_set }),
    ProducerConnection
);

round_trip!(
    consume_stats_round_trips,
    // Doubles that every parser reads back exactly.
    (mq_map(offset_wrapper()), (0u32..1_000_000).prop_map(|n| f64::from(n) / 8.0))
        .prop_map(|(offset_table, consume_tps)| ConsumeStats { offset_table, consume_tps }),
    ConsumeStats
);

round_trip!(
    topic_stats_round_trips,
    (
        mq_map(any::<[i64; 3]>().prop_map(|[min_offset, max_offset, last_update_timestamp]| {
            TopicOffset { min_offset, max_offset, last_update_timestamp }
        })),
        // Doubles that every parser reads back exactly.
        (0u32..1_000_000).prop_map(|n| f64::from(n) / 8.0)
    )
        .prop_map(|(offset_table, topic_put_tps)| TopicStatsTable { offset_table, topic_put_tps }),
    TopicStatsTable
);

round_trip!(
    reset_offset_round_trips,
    mq_map(any::<i64>()).prop_map(|offset_table| ResetOffsetBody { offset_table }),
    ResetOffsetBody
);

round_trip!(
    consumer_offset_round_trips,
    map(prop::collection::btree_map(any::<i32>(), any::<i64>(), 0..4))
        .prop_map(|offset_table| ConsumerOffsetSerializeWrapper { offset_table }),
    ConsumerOffsetSerializeWrapper
);

proptest! {
    #[test]
    fn route_round_trips_in_standard_style(value in route()) {
        let text = value.to_json_style(JsonStyle::Standard);
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&text).is_ok());
        prop_assert_eq!(TopicRouteData::from_json(&text).unwrap(), value);
    }

    #[test]
    fn register_broker_round_trips(w in wrapper(), filters in prop::collection::vec(s(), 0..3)) {
        let body = RegisterBrokerBody { topic_config_serialize_wrapper: w, filter_server_list: filters };
        prop_assert_eq!(RegisterBrokerBody::decode(&body.encode(false).unwrap(), false).unwrap(), body);
    }

    #[test]
    fn compressed_register_broker_round_trips(
        configs in prop::collection::vec(
            ("[a-zA-Z0-9_%|\\-]{1,20}", any::<i32>(), any::<i32>(), any::<i32>(),
             prop::sample::select(TopicFilterType::ALL),
             prop::collection::btree_map("[a-z.+]{1,6}", "[a-zA-Z0-9]{0,6}", 0..3)),
            0..4),
        version in data_version(),
        filters in prop::collection::vec(s(), 0..3),
    ) {
        // The text form carries no topicSysFlag/order, and names and attributes have no spaces.
        let table: BTreeMap<String, TopicConfig> = configs
            .into_iter()
            .map(|(name, r, w, p, f, attributes)| {
                let c = TopicConfig {
                    read_queue_nums: r,
                    write_queue_nums: w,
                    perm: p,
                    topic_filter_type: f,
                    attributes,
                    ..TopicConfig::new(name.clone())
                };
                (name, c)
            })
            .collect();
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                topic_config_table: table,
                data_version: version,
            },
            filter_server_list: filters,
        };
        prop_assert_eq!(RegisterBrokerBody::decode(&body.encode(true).unwrap(), true).unwrap(), body);
    }

    /// Garbage never panics any decoder.
    #[test]
    fn garbage_never_panics(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..96),
        "[{}\\[\\]:,'\"\\\\ 0-9a-zA-Z\\-.]{0,64}".prop_map(String::into_bytes),
    ]) {
        let _ = TopicRouteData::from_json(&bytes);
        let _ = ClusterInfo::from_json(&bytes);
        let _ = HeartbeatData::from_json(&bytes);
        let _ = ConsumeStats::from_json(&bytes);
        let _ = TopicStatsTable::from_json(&bytes);
        let _ = ResetOffsetBody::from_json(&bytes);
        let _ = LockBatchRequestBody::from_json(&bytes);
        let _ = ConsumerOffsetSerializeWrapper::from_json(&bytes);
        let _ = SubscriptionGroupConfig::from_json(&bytes);
        let _ = RegisterBrokerBody::decode(&bytes, true);
        let _ = RegisterBrokerBody::decode(&bytes, false);
        let _ = TopicConfig::decode_text(&String::from_utf8_lossy(&bytes));
    }

    /// Valid bodies with random keys and values of the wrong shape never panic either.
    #[test]
    fn mangled_bodies_never_panic(route in route(), cut in 0usize..400, junk in "[{}\\[\\]:,\"0-9a-z]{0,6}") {
        let mut text = route.to_json();
        let at = cut.min(text.len());
        text.splice(at..at, junk.into_bytes());
        let _ = TopicRouteData::from_json(&text);
        let _ = ConsumeStats::from_json(&text);
    }
}

#[test]
fn lenient_forms_are_accepted() {
    // Unquoted integer keys, numbers as strings, extra keys, missing keys, null lists.
    let text = br#"{"brokerDatas":[{"brokerAddrs":{0:"a:1","1":"b:1"},"brokerName":"b","cluster":"c","enableActingMaster":"true","extra":{"x":[1,{}]}}],"queueDatas":null,"unknown":1}"#;
    let route = TopicRouteData::from_json(text).unwrap();
    let b = route.broker_datas.first().unwrap();
    assert_eq!(b.broker_addrs, BTreeMap::from([(0, "a:1".into()), (1, "b:1".into())]));
    assert!(b.enable_acting_master);
    assert!(route.queue_datas.is_empty() && route.filter_server_table.is_empty());

    // Single-quoted fastjson and an object key with spaces inside.
    let stats = ConsumeStats::from_json(
        b"{'consumeTps':'1.5','offsetTable':{ {'brokerName':'b', 'queueId':0, 'topic':'t'} : {'brokerOffset':1} }}",
    )
    .unwrap();
    assert_eq!(stats.consume_tps, 1.5);
    assert_eq!(stats.offset_table.len(), 1);

    // Not an object at the top.
    assert!(TopicRouteData::from_json(b"[]").is_err());
    assert!(TopicRouteData::from_json(b"null").is_err());
}
