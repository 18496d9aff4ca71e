//! The route table: which broker groups serve which topics, which addresses each group has,
//! and when each broker was last heard from. Pure state, no I/O and no clock: callers pass
//! the time in, so expiry is tested deterministically.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use ferromq_protocol::body::{
    BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfigSerializeWrapper, TopicRouteData,
};
use ferromq_protocol::perm;

/// Milliseconds since the Unix epoch, as the table's clock.
pub type Millis = i64;

/// The master's broker id.
pub const MASTER_ID: i64 = 0;

/// A broker's address within its cluster: the key of the liveness table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddr {
    pub cluster: String,
    pub addr: String,
}

/// What the name server knows of one registered broker process.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerLive {
    pub broker_name: String,
    pub broker_id: i64,
    pub last_update: Millis,
    pub timeout: Duration,
    pub data_version: DataVersion,
    pub ha_server_addr: String,
    /// The connection it registered over, so a closed connection drops it at once.
    pub channel_id: Option<u64>,
}

/// One REGISTER_BROKER call.
#[derive(Debug, Clone)]
pub struct Registration {
    pub cluster: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    pub timeout: Duration,
    pub enable_acting_master: bool,
    pub topics: TopicConfigSerializeWrapper,
    pub filter_servers: Vec<String>,
    pub channel_id: Option<u64>,
}

/// What a registering broker is told: its master's addresses when it is a slave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterOutcome {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterRefusal {
    /// A single-topic registration from a broker id that never registered in full
    /// (RocketMQ's incremental registration needs a full one first).
    NotRegistered,
}

/// The name server's routing state.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// topic → broker name → queue data.
    topic_queues: HashMap<String, BTreeMap<String, QueueData>>,
    /// broker name → addresses by broker id.
    brokers: BTreeMap<String, BrokerData>,
    /// cluster → broker names.
    clusters: BTreeMap<String, BTreeSet<String>>,
    live: HashMap<BrokerAddr, BrokerLive>,
    filter_servers: HashMap<BrokerAddr, Vec<String>>,
}

impl RouteTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a broker's registration (or its periodic re-registration).
    pub fn register(
        &mut self,
        reg: Registration,
        now: Millis,
    ) -> Result<RegisterOutcome, RegisterRefusal> {
        let key = BrokerAddr { cluster: reg.cluster.clone(), addr: reg.broker_addr.clone() };
        let known_id = self
            .brokers
            .get(&reg.broker_name)
            .is_some_and(|b| b.broker_addrs.contains_key(&reg.broker_id));
        if !known_id && reg.topics.topic_config_table.len() == 1 {
            return Err(RegisterRefusal::NotRegistered);
        }
        self.clusters.entry(reg.cluster.clone()).or_default().insert(reg.broker_name.clone());
        let broker = self.brokers.entry(reg.broker_name.clone()).or_insert_with(|| BrokerData {
            cluster: reg.cluster.clone(),
            broker_name: reg.broker_name.clone(),
            ..BrokerData::default()
        });
        broker.enable_acting_master = reg.enable_acting_master;
        // The same address under another id: the broker switched role (slave → master).
        broker.broker_addrs.retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);
        let first = broker.broker_addrs.insert(reg.broker_id, reg.broker_addr.clone()).is_none();
        let is_master = reg.broker_id == MASTER_ID;
        let min_id = broker.broker_addrs.keys().next().copied();
        let is_prime_slave =
            reg.enable_acting_master && !is_master && min_id == Some(reg.broker_id);

        if is_master || is_prime_slave {
            let version_changed =
                self.live.get(&key).is_none_or(|l| l.data_version != reg.topics.data_version);
            for config in reg.topics.topic_config_table.values() {
                let queues = self.topic_queues.entry(config.topic_name.clone()).or_default();
                if first || version_changed || !queues.contains_key(&reg.broker_name) {
                    let mut perm_bits = config.perm;
                    if is_prime_slave {
                        perm_bits &= !perm::PERM_WRITE;
                    }
                    queues.insert(
                        reg.broker_name.clone(),
                        QueueData {
                            broker_name: reg.broker_name.clone(),
                            read_queue_nums: config.read_queue_nums,
                            write_queue_nums: config.write_queue_nums,
                            perm: perm_bits,
                            topic_sys_flag: config.topic_sys_flag,
                        },
                    );
                }
            }
        }

        self.live.insert(
            key.clone(),
            BrokerLive {
                broker_name: reg.broker_name.clone(),
                broker_id: reg.broker_id,
                last_update: now,
                timeout: reg.timeout,
                data_version: reg.topics.data_version,
                ha_server_addr: reg.ha_server_addr.clone(),
                channel_id: reg.channel_id,
            },
        );
        if reg.filter_servers.is_empty() {
            self.filter_servers.remove(&key);
        } else {
            self.filter_servers.insert(key, reg.filter_servers);
        }

        let mut outcome = RegisterOutcome::default();
        if !is_master {
            let master_addr = self
                .brokers
                .get(&reg.broker_name)
                .and_then(|b| b.broker_addrs.get(&MASTER_ID))
                .cloned();
            if let Some(master_addr) = master_addr {
                let master_key =
                    BrokerAddr { cluster: reg.cluster.clone(), addr: master_addr.clone() };
                if let Some(master) = self.live.get(&master_key) {
                    outcome.ha_server_addr = Some(master.ha_server_addr.clone());
                    outcome.master_addr = Some(master_addr);
                }
            }
        }
        Ok(outcome)
    }

    /// Refreshes a broker's liveness without re-sending its topics (BROKER_HEARTBEAT).
    pub fn touch(&mut self, cluster: &str, addr: &str, now: Millis) -> bool {
        let key = BrokerAddr { cluster: cluster.to_string(), addr: addr.to_string() };
        match self.live.get_mut(&key) {
            Some(live) => {
                live.last_update = now;
                true
            }
            None => false,
        }
    }

    /// Whether the broker's registered data version differs from `version`.
    pub fn data_version_changed(&self, cluster: &str, addr: &str, version: &DataVersion) -> bool {
        let key = BrokerAddr { cluster: cluster.to_string(), addr: addr.to_string() };
        self.live.get(&key).is_none_or(|l| &l.data_version != version)
    }

    /// The liveness record of a broker, if registered.
    pub fn live_broker(&self, cluster: &str, addr: &str) -> Option<&BrokerLive> {
        self.live.get(&BrokerAddr { cluster: cluster.to_string(), addr: addr.to_string() })
    }

    /// Removes a broker (UNREGISTER_BROKER, expiry, or its connection closing).
    pub fn unregister(&mut self, cluster: &str, addr: &str, broker_name: &str, broker_id: i64) {
        let key = BrokerAddr { cluster: cluster.to_string(), addr: addr.to_string() };
        self.live.remove(&key);
        self.filter_servers.remove(&key);
        let Some(broker) = self.brokers.get_mut(broker_name) else {
            return;
        };
        if broker.broker_addrs.get(&broker_id).is_some_and(|a| a == addr) {
            broker.broker_addrs.remove(&broker_id);
        }
        if broker.broker_addrs.is_empty() {
            self.brokers.remove(broker_name);
            if let Some(names) = self.clusters.get_mut(cluster) {
                names.remove(broker_name);
                if names.is_empty() {
                    self.clusters.remove(cluster);
                }
            }
            self.topic_queues.retain(|_, queues| {
                queues.remove(broker_name);
                !queues.is_empty()
            });
        } else if broker_id == MASTER_ID && broker.enable_acting_master {
            // The master is gone but slaves remain: nobody may write to its queues.
            self.update_write_perm(broker_name, false);
        }
    }

    /// Removes every broker that registered over connection `channel_id`.
    pub fn unregister_channel(&mut self, channel_id: u64) -> Vec<BrokerAddr> {
        let gone: Vec<(BrokerAddr, String, i64)> = self
            .live
            .iter()
            .filter(|(_, l)| l.channel_id == Some(channel_id))
            .map(|(k, l)| (k.clone(), l.broker_name.clone(), l.broker_id))
            .collect();
        for (key, name, id) in &gone {
            self.unregister(&key.cluster, &key.addr, name, *id);
        }
        gone.into_iter().map(|(k, _, _)| k).collect()
    }

    /// Removes every broker not heard from within its timeout; returns them.
    pub fn expire(&mut self, now: Millis) -> Vec<BrokerAddr> {
        let gone: Vec<(BrokerAddr, String, i64)> = self
            .live
            .iter()
            .filter(|(_, l)| {
                let timeout = i64::try_from(l.timeout.as_millis()).unwrap_or(i64::MAX);
                l.last_update.saturating_add(timeout) < now
            })
            .map(|(k, l)| (k.clone(), l.broker_name.clone(), l.broker_id))
            .collect();
        for (key, name, id) in &gone {
            self.unregister(&key.cluster, &key.addr, name, *id);
        }
        gone.into_iter().map(|(k, _, _)| k).collect()
    }

    /// The route of `topic`, or `None` when no live broker group serves it.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queues.get(topic)?;
        let mut route = TopicRouteData::default();
        for (name, queue) in queues {
            route.queue_datas.push(queue.clone());
            if let Some(broker) = self.brokers.get(name) {
                let mut broker = broker.clone();
                // Acting master: a group without its master, whose queues lost write
                // permission, is reached through its smallest-id slave.
                if broker.enable_acting_master
                    && !broker.broker_addrs.contains_key(&MASTER_ID)
                    && !perm::is_writeable(queue.perm)
                {
                    if let Some(addr) = broker.broker_addrs.values().next().cloned() {
                        broker.broker_addrs = BTreeMap::from([(MASTER_ID, addr)]);
                    }
                }
                for addr in broker.broker_addrs.values() {
                    let key = BrokerAddr { cluster: broker.cluster.clone(), addr: addr.clone() };
                    if let Some(servers) = self.filter_servers.get(&key) {
                        route.filter_server_table.insert(addr.clone(), servers.clone());
                    }
                }
                route.broker_datas.push(broker);
            }
        }
        if route.broker_datas.is_empty() || route.queue_datas.is_empty() {
            return None;
        }
        Some(route)
    }

    /// Every broker group and the clusters they belong to.
    pub fn cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.brokers.clone(),
            cluster_addr_table: self.clusters.clone(),
        }
    }

    /// The names of every topic with a route.
    pub fn topics(&self) -> BTreeSet<String> {
        self.topic_queues.keys().cloned().collect()
    }

    /// The topics served by the broker groups of `cluster`.
    pub fn topics_of_cluster(&self, cluster: &str) -> BTreeSet<String> {
        let Some(names) = self.clusters.get(cluster) else {
            return BTreeSet::new();
        };
        self.topic_queues
            .iter()
            .filter(|(_, queues)| queues.keys().any(|n| names.contains(n)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// The topics whose queue data has a topicSysFlag that satisfies `wanted`.
    pub fn topics_where(&self, wanted: impl Fn(i32) -> bool) -> BTreeSet<String> {
        self.topic_queues
            .iter()
            .filter(|(_, queues)| queues.values().any(|q| wanted(q.topic_sys_flag)))
            .map(|(topic, _)| topic.clone())
            .collect()
    }

    /// The names of the clusters and broker groups: RocketMQ lists them as system topics.
    pub fn system_topics(&self) -> BTreeSet<String> {
        self.clusters
            .iter()
            .flat_map(|(cluster, names)| {
                std::iter::once(cluster.clone()).chain(names.iter().cloned())
            })
            .collect()
    }

    /// Removes the write (`grant == false`) or gives it back; returns how many topics changed.
    pub fn update_write_perm(&mut self, broker_name: &str, grant: bool) -> usize {
        let mut count = 0;
        for queues in self.topic_queues.values_mut() {
            if let Some(queue) = queues.get_mut(broker_name) {
                queue.perm = if grant {
                    queue.perm | perm::PERM_READ | perm::PERM_WRITE
                } else {
                    queue.perm & !perm::PERM_WRITE
                };
                count += 1;
            }
        }
        count
    }

    /// Deletes a topic's route, from every broker group or only those of `cluster`.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster.and_then(|c| self.clusters.get(c)) {
            Some(names) => {
                if let Some(queues) = self.topic_queues.get_mut(topic) {
                    queues.retain(|name, _| !names.contains(name));
                    if queues.is_empty() {
                        self.topic_queues.remove(topic);
                    }
                }
            }
            None if cluster.is_none() => {
                self.topic_queues.remove(topic);
            }
            None => {}
        }
    }

    /// Sets a topic's queue data directly (REGISTER_TOPIC_IN_NAMESRV), for known groups only.
    pub fn put_topic(&mut self, topic: &str, queue_datas: Vec<QueueData>) {
        for queue in queue_datas {
            if self.brokers.contains_key(&queue.broker_name) {
                self.topic_queues
                    .entry(topic.to_string())
                    .or_default()
                    .insert(queue.broker_name.clone(), queue);
            }
        }
    }

    /// The addresses of one broker group, if registered.
    pub fn broker(&self, broker_name: &str) -> Option<&BrokerData> {
        self.brokers.get(broker_name)
    }
}

#[cfg(test)]
mod tests;
