//! Cluster commands: `clusterList` (brokers of each cluster with their version and rates)
//! and `brokerStatus` (one broker's runtime figures).

use std::collections::BTreeMap;

use clap::Args;
use ferromq_client::Admin;
use serde_json::{json, Value};

use super::output::{emit, Table};

/// `clusterList`.
#[derive(Debug, Args)]
pub struct ClusterList {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

/// One broker as `clusterList` shows it.
#[derive(Debug)]
struct BrokerRow {
    cluster: String,
    broker_name: String,
    broker_id: i64,
    addr: String,
    /// `None` when the broker did not answer.
    runtime: Option<BTreeMap<String, String>>,
}

impl BrokerRow {
    fn figure(&self, key: &str) -> &str {
        self.runtime.as_ref().and_then(|t| t.get(key)).map_or("", String::as_str)
    }

    /// The first number of a rate list such as `"12.5 11.0 10.2"` (the last 10 s).
    fn rate(&self, key: &str) -> f64 {
        self.figure(key).split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0.0)
    }
}

impl ClusterList {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let info = admin.cluster_info().await?;
        let wanted = self.cluster_name.as_deref().map(str::trim);
        if let Some(cluster) = wanted {
            if !info.cluster_addr_table.contains_key(cluster) {
                anyhow::bail!("cluster {cluster} does not exist");
            }
        }
        let mut rows = Vec::new();
        for (cluster, names) in &info.cluster_addr_table {
            if wanted.is_some_and(|w| w != cluster) {
                continue;
            }
            for name in names {
                let Some(broker) = info.broker_addr_table.get(name) else { continue };
                for (id, addr) in &broker.broker_addrs {
                    let runtime = admin.broker_runtime_info(addr).await.ok();
                    rows.push(BrokerRow {
                        cluster: cluster.clone(),
                        broker_name: name.clone(),
                        broker_id: *id,
                        addr: addr.clone(),
                        runtime,
                    });
                }
            }
        }
        let value: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "cluster": r.cluster,
                    "brokerName": r.broker_name,
                    "brokerId": r.broker_id,
                    "addr": r.addr,
                    "reachable": r.runtime.is_some(),
                    "version": r.figure("brokerVersionDesc"),
                    "inTps": r.rate("putTps"),
                    "outTps": r.rate("getTransferredTps"),
                    "commitLogDiskRatio": r.figure("commitLogDiskRatio"),
                    "activated": r.figure("brokerActive") == "true",
                })
            })
            .collect();
        emit(json, json!({ "brokers": value }), || {
            let mut table = Table::new(&[
                "Cluster Name",
                "Broker Name",
                "BID",
                "Addr",
                "Version",
                "InTPS",
                "OutTPS",
                "Disk",
                "Activated",
            ]);
            for r in &rows {
                let version = if r.runtime.is_some() { r.figure("brokerVersionDesc") } else { "?" };
                table.row(vec![
                    r.cluster.clone(),
                    r.broker_name.clone(),
                    r.broker_id.to_string(),
                    r.addr.clone(),
                    version.to_string(),
                    format!("{:.2}", r.rate("putTps")),
                    format!("{:.2}", r.rate("getTransferredTps")),
                    r.figure("commitLogDiskRatio").to_string(),
                    (r.figure("brokerActive") == "true").to_string(),
                ]);
            }
            table.render()
        })
    }
}

/// `brokerStatus`.
#[derive(Debug, Args)]
pub struct BrokerStatus {
    /// The broker address (`host:port`).
    #[arg(short = 'b', long = "brokerAddr")]
    broker_addr: String,
}

impl BrokerStatus {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let table = admin.broker_runtime_info(self.broker_addr.trim()).await?;
        emit(json, json!(table), || {
            let width = table.keys().map(String::len).max().unwrap_or(0);
            table.iter().map(|(k, v)| format!("{k:<width$} : {v}\n")).collect()
        })
    }
}
