use std::collections::BTreeMap;
use std::time::Duration;

use ferromq_protocol::body::{DataVersion, TopicConfig, TopicConfigSerializeWrapper};
use ferromq_protocol::perm;

use super::*;

fn topics(names: &[&str], counter: i64) -> TopicConfigSerializeWrapper {
    let table: BTreeMap<String, TopicConfig> = names
        .iter()
        .map(|name| {
            let config = TopicConfig {
                topic_name: name.to_string(),
                read_queue_nums: 4,
                write_queue_nums: 4,
                perm: perm::PERM_READ | perm::PERM_WRITE,
                ..TopicConfig::default()
            };
            (name.to_string(), config)
        })
        .collect();
    TopicConfigSerializeWrapper {
        topic_config_table: table,
        data_version: DataVersion { counter, timestamp: 1, state_version: 0 },
    }
}

/// Registers at time 0, which must succeed.
fn register(table: &mut RouteTable, reg: Registration) -> RegisterOutcome {
    table.register(reg, 0).unwrap()
}

fn registration(name: &str, id: i64, addr: &str, topic_names: &[&str]) -> Registration {
    Registration {
        cluster: "DefaultCluster".into(),
        broker_addr: addr.into(),
        broker_name: name.into(),
        broker_id: id,
        ha_server_addr: format!("{addr}-ha"),
        timeout: Duration::from_secs(120),
        enable_acting_master: false,
        topics: topics(topic_names, 1),
        filter_servers: Vec::new(),
        channel_id: Some(id as u64 + 100),
    }
}

#[test]
fn routes_span_every_group_serving_a_topic() {
    let mut table = RouteTable::new();
    register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]));
    register(&mut table, registration("broker-b", 0, "10.0.0.2:10911", &["T", "B"]));
    let route = table.route("T").unwrap();
    assert_eq!(route.queue_datas.len(), 2);
    assert_eq!(route.broker_datas.len(), 2);
    assert_eq!(
        route.broker_datas[0].broker_addrs.get(&0).map(String::as_str),
        Some("10.0.0.1:10911")
    );
    assert_eq!(route.queue_datas[1].broker_name, "broker-b");
    assert_eq!(route.queue_datas[1].write_queue_nums, 4);
    assert!(table.route("missing").is_none());
    assert_eq!(table.topics().into_iter().collect::<Vec<_>>(), vec!["A", "B", "T"]);
    let info = table.cluster_info();
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    assert_eq!(table.topics_of_cluster("DefaultCluster").len(), 3);
    assert!(table.topics_of_cluster("Other").is_empty());
}

#[test]
fn a_slave_learns_its_master_and_does_not_change_queues() {
    let mut table = RouteTable::new();
    let master = register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "U"]));
    assert_eq!(master, RegisterOutcome::default());
    let mut slave = registration("broker-a", 1, "10.0.0.9:10911", &["T", "U", "SlaveOnly"]);
    slave.topics.data_version.counter = 7;
    let outcome = table.register(slave, 0).unwrap();
    assert_eq!(outcome.master_addr.as_deref(), Some("10.0.0.1:10911"));
    assert_eq!(outcome.ha_server_addr.as_deref(), Some("10.0.0.1:10911-ha"));
    assert!(table.route("SlaveOnly").is_none());
    assert_eq!(table.route("T").unwrap().broker_datas[0].broker_addrs.len(), 2);
}

#[test]
fn brokers_expire_after_their_timeout() {
    let mut table = RouteTable::new();
    table.register(registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]), 1_000).unwrap();
    let mut short = registration("broker-b", 0, "10.0.0.2:10911", &["T", "B"]);
    short.timeout = Duration::from_millis(500);
    table.register(short, 1_000).unwrap();
    assert!(table.expire(1_500).is_empty());
    let gone = table.expire(1_501);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].addr, "10.0.0.2:10911");
    assert!(table.route("B").is_none(), "a topic served only by the expired group disappears");
    assert_eq!(table.route("T").unwrap().broker_datas.len(), 1);
    // Heartbeats keep a broker alive.
    assert!(table.touch("DefaultCluster", "10.0.0.1:10911", 120_000));
    assert!(table.expire(121_001).is_empty());
    assert_eq!(table.expire(240_001).len(), 1);
    assert!(table.cluster_info().cluster_addr_table.is_empty());
    assert!(table.topics().is_empty());
}

#[test]
fn closing_a_connection_removes_its_broker() {
    let mut table = RouteTable::new();
    register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]));
    assert!(table.unregister_channel(999).is_empty());
    assert_eq!(table.unregister_channel(100).len(), 1);
    assert!(table.route("T").is_none());
}

#[test]
fn unregistering_the_last_address_drops_the_group() {
    let mut table = RouteTable::new();
    register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]));
    register(&mut table, registration("broker-a", 1, "10.0.0.9:10911", &["T", "A"]));
    table.unregister("DefaultCluster", "10.0.0.1:10911", "broker-a", 0);
    let route = table.route("T").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs.keys().copied().collect::<Vec<_>>(), vec![1]);
    table.unregister("DefaultCluster", "10.0.0.9:10911", "broker-a", 1);
    assert!(table.route("T").is_none());
    assert!(table.cluster_info().broker_addr_table.is_empty());
}

#[test]
fn wiping_and_adding_write_permission() {
    let mut table = RouteTable::new();
    register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]));
    assert_eq!(table.update_write_perm("broker-a", false), 2);
    assert!(!perm::is_writeable(table.route("T").unwrap().queue_datas[0].perm));
    assert_eq!(table.update_write_perm("broker-a", true), 2);
    assert!(perm::is_writeable(table.route("T").unwrap().queue_datas[0].perm));
    assert_eq!(table.update_write_perm("nobody", false), 0);
}

#[test]
fn a_single_topic_registration_needs_a_full_one_first() {
    let mut table = RouteTable::new();
    let single = registration("broker-a", 0, "10.0.0.1:10911", &["OnlyOne"]);
    assert_eq!(table.register(single.clone(), 0), Err(RegisterRefusal::NotRegistered));
    register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]));
    assert!(table.register(single, 0).is_ok());
    assert!(table.route("OnlyOne").is_some());
}

#[test]
fn a_slave_promoted_to_master_replaces_its_old_id() {
    let mut table = RouteTable::new();
    register(&mut table, registration("broker-a", 1, "10.0.0.9:10911", &["T", "A"]));
    register(&mut table, registration("broker-a", 0, "10.0.0.9:10911", &["T", "A"]));
    let route = table.route("T").unwrap();
    assert_eq!(route.broker_datas[0].broker_addrs.keys().copied().collect::<Vec<_>>(), vec![0]);
}

#[test]
fn acting_master_routes_through_the_smallest_slave() {
    let mut table = RouteTable::new();
    let mut master = registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]);
    master.enable_acting_master = true;
    table.register(master, 0).unwrap();
    let mut slave = registration("broker-a", 2, "10.0.0.2:10911", &["T", "A"]);
    slave.enable_acting_master = true;
    table.register(slave, 0).unwrap();
    table.unregister("DefaultCluster", "10.0.0.1:10911", "broker-a", 0);
    let route = table.route("T").unwrap();
    assert!(!perm::is_writeable(route.queue_datas[0].perm));
    assert_eq!(
        route.broker_datas[0].broker_addrs.get(&0).map(String::as_str),
        Some("10.0.0.2:10911")
    );
}

#[test]
fn topics_can_be_deleted_per_cluster() {
    let mut table = RouteTable::new();
    register(&mut table, registration("broker-a", 0, "10.0.0.1:10911", &["T", "A"]));
    table.delete_topic("T", Some("OtherCluster"));
    assert!(table.route("T").is_some());
    table.delete_topic("T", Some("DefaultCluster"));
    assert!(table.route("T").is_none());
    table.delete_topic("A", None);
    assert!(table.topics().is_empty());
}
