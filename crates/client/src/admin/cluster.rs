//! What the name servers and brokers say about the cluster: brokers by cluster
//! (GET_BROKER_CLUSTER_INFO), every topic (GET_ALL_TOPIC_LIST_FROM_NAMESERVER) and a broker's
//! runtime figures (GET_BROKER_RUNTIME_INFO).

use std::collections::{BTreeMap, BTreeSet};

use ferromq_protocol::body::{ClusterInfo, KvTable, TopicList};
use ferromq_protocol::{RemotingCommand, RequestCode};

use super::{Admin, Target};
use crate::error::{ClientError, Result};
use crate::route::MASTER_ID;

impl Admin {
    /// Every broker group and the cluster it belongs to.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let response = self.call_namesrv_ok(request).await?;
        Ok(ClusterInfo::from_json(&response.body)?)
    }

    /// `(brokerName, master address)` of every broker group of `cluster` that has a master
    /// (Java `CommandUtil.fetchMasterAddrByClusterName`); [`ClientError::UnknownCluster`]
    /// when the name servers know no such cluster.
    pub async fn cluster_masters(&self, cluster: &str) -> Result<Vec<(String, String)>> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| ClientError::UnknownCluster(cluster.to_string()))?;
        Ok(names
            .iter()
            .filter_map(|name| {
                let broker = info.broker_addr_table.get(name)?;
                Some((name.clone(), broker.broker_addrs.get(&MASTER_ID)?.clone()))
            })
            .collect())
    }

    /// The broker addresses a [`Target`] stands for.
    pub(super) async fn target_addrs(&self, target: &Target) -> Result<Vec<String>> {
        match target {
            Target::Broker(addr) => Ok(vec![addr.clone()]),
            Target::Cluster(cluster) => {
                let masters = self.cluster_masters(cluster).await?;
                if masters.is_empty() {
                    return Err(ClientError::UnknownCluster(format!("{cluster} (no master)")));
                }
                Ok(masters.into_iter().map(|(_, addr)| addr).collect())
            }
        }
    }

    /// Every topic the name servers route.
    pub async fn topic_list(&self) -> Result<BTreeSet<String>> {
        let request = RemotingCommand::request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let response = self.call_namesrv_ok(request).await?;
        Ok(TopicList::from_json(&response.body)?.topic_list)
    }

    /// The runtime figures of the broker at `addr` (version, put/get rates, totals, disk).
    pub async fn broker_runtime_info(&self, addr: &str) -> Result<BTreeMap<String, String>> {
        let request = RemotingCommand::request(RequestCode::GET_BROKER_RUNTIME_INFO);
        let response = self.call_broker(addr, request).await?;
        Ok(KvTable::from_json(&response.body)?.table)
    }
}
