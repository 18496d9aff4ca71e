//! A topic's route as a client uses it: which queues to send to (write queues of writable
//! brokers with a master) and which to read (read queues of readable brokers), and the
//! broker addresses behind them. Built from the name server's `TopicRouteData` the way
//! RocketMQ's client does (`topicRouteData2TopicPublishInfo` / `…SubscribeInfo`).

use std::collections::BTreeMap;

use ferromq_protocol::body::{MessageQueue, TopicRouteData};
use ferromq_protocol::perm;

/// Broker id of a broker group's master.
pub const MASTER_ID: i64 = 0;

/// A topic's route, ready for queue selection.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRoute {
    pub data: TopicRouteData,
    /// Queues a producer may send to, grouped by broker in broker-name order.
    pub publish_queues: Vec<MessageQueue>,
    /// Queues a consumer may read.
    pub subscribe_queues: Vec<MessageQueue>,
    /// Whether the name server declared an order configuration for the topic.
    pub ordered: bool,
}

impl TopicRoute {
    /// The route of `topic` from the name server's answer.
    pub fn new(topic: &str, data: TopicRouteData) -> TopicRoute {
        let mut publish_queues = Vec::new();
        let order_conf = data.order_topic_conf.as_deref().filter(|c| !c.is_empty());
        if let Some(conf) = order_conf {
            // "brokerA:4;brokerB:4": the order configuration decides the queues.
            for item in conf.split(';') {
                if let Some((broker, nums)) = item.split_once(':') {
                    let nums = nums.trim().parse::<i32>().unwrap_or(0);
                    publish_queues
                        .extend((0..nums).map(|q| MessageQueue::new(topic, broker.trim(), q)));
                }
            }
        } else {
            let mut queue_datas = data.queue_datas.clone();
            queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for queue_data in &queue_datas {
                let has_master = data.broker_datas.iter().any(|b| {
                    b.broker_name == queue_data.broker_name
                        && b.broker_addrs.contains_key(&MASTER_ID)
                });
                if perm::is_writeable(queue_data.perm) && has_master {
                    publish_queues.extend(
                        (0..queue_data.write_queue_nums)
                            .map(|q| MessageQueue::new(topic, &queue_data.broker_name, q)),
                    );
                }
            }
        }
        let subscribe_queues = data
            .queue_datas
            .iter()
            .filter(|q| perm::is_readable(q.perm))
            .flat_map(|q| {
                (0..q.read_queue_nums).map(|id| MessageQueue::new(topic, &q.broker_name, id))
            })
            .collect();
        TopicRoute { ordered: order_conf.is_some(), data, publish_queues, subscribe_queues }
    }

    /// The route of the template topic (TBW102) lent to a topic the name server does not
    /// know yet, so that the broker creates it on the first send: every writable broker,
    /// with at most `queue_nums` queues each.
    pub fn borrowed(topic: &str, template: &TopicRouteData, queue_nums: i32) -> TopicRoute {
        let mut data = template.clone();
        for queue_data in &mut data.queue_datas {
            let nums = queue_nums.min(queue_data.read_queue_nums);
            queue_data.read_queue_nums = nums;
            queue_data.write_queue_nums = nums;
        }
        TopicRoute::new(topic, data)
    }

    /// Every broker address of every group in the route: `brokerName → brokerId → addr`.
    pub fn broker_addrs(&self) -> impl Iterator<Item = (&str, &BTreeMap<i64, String>)> {
        self.data.broker_datas.iter().map(|b| (b.broker_name.as_str(), &b.broker_addrs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::body::{BrokerData, QueueData};

    fn route() -> TopicRouteData {
        let queue = |name: &str, perm: i32| QueueData {
            broker_name: name.into(),
            read_queue_nums: 4,
            write_queue_nums: 2,
            perm,
            topic_sys_flag: 0,
        };
        let broker = |name: &str, ids: &[i64]| BrokerData {
            cluster: "C".into(),
            broker_name: name.into(),
            broker_addrs: ids.iter().map(|id| (*id, format!("{name}:{id}"))).collect(),
            enable_acting_master: false,
            zone_name: None,
        };
        TopicRouteData {
            queue_datas: vec![queue("b", 6), queue("a", 6), queue("c", 4), queue("d", 6)],
            broker_datas: vec![
                broker("a", &[0, 1]),
                broker("b", &[0]),
                broker("c", &[0]),
                broker("d", &[1]),
            ],
            ..TopicRouteData::default()
        }
    }

    #[test]
    fn publish_queues_skip_read_only_and_masterless_brokers() {
        let route = TopicRoute::new("T", route());
        let publish: Vec<(String, i32)> =
            route.publish_queues.iter().map(|q| (q.broker_name.clone(), q.queue_id)).collect();
        assert_eq!(
            publish,
            vec![("a".into(), 0), ("a".into(), 1), ("b".into(), 0), ("b".into(), 1)]
        );
        assert_eq!(route.subscribe_queues.len(), 16, "read queues of every readable broker");
    }

    #[test]
    fn an_order_configuration_decides_the_publish_queues() {
        let data = TopicRouteData { order_topic_conf: Some("x:2;y:1".into()), ..route() };
        let route = TopicRoute::new("T", data);
        assert!(route.ordered);
        let publish: Vec<(&str, i32)> =
            route.publish_queues.iter().map(|q| (q.broker_name.as_str(), q.queue_id)).collect();
        assert_eq!(publish, vec![("x", 0), ("x", 1), ("y", 0)]);
    }

    #[test]
    fn a_borrowed_route_caps_the_queue_count() {
        let route = TopicRoute::borrowed("New", &route(), 1);
        assert_eq!(route.publish_queues.len(), 2);
        assert!(route.publish_queues.iter().all(|q| q.topic == "New" && q.queue_id == 0));
    }
}
