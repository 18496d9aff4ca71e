//! Topic commands: `updateTopic`, `deleteTopic`, `topicList`, `topicRoute`, `topicStatus`.

use std::collections::BTreeMap;

use anyhow::Context;
use clap::Args;
use ferromq_client::Admin;
use ferromq_protocol::body::{JsonStyle, TopicConfig};
use serde_json::{json, Value};

use super::output::{emit, human_time, Table};
use super::TargetArgs;

/// `updateTopic`.
#[derive(Debug, Args)]
pub struct UpdateTopic {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Read queue count.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queue_nums: i32,
    /// Write queue count.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queue_nums: i32,
    /// Permission: 2 = write, 4 = read, 6 = both.
    #[arg(short = 'p', long, default_value_t = 6)]
    perm: i32,
    /// Whether the topic is ordered.
    #[arg(short = 'o', long, default_value_t = false, action = clap::ArgAction::Set)]
    order: bool,
    /// Attributes to set, `+key=value,+key2=value2`.
    #[arg(short = 'a', long)]
    attributes: Option<String>,
}

impl UpdateTopic {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let config = TopicConfig {
            read_queue_nums: self.read_queue_nums,
            write_queue_nums: self.write_queue_nums,
            perm: self.perm,
            order: self.order,
            attributes: parse_attributes(self.attributes.as_deref().unwrap_or_default())?,
            ..TopicConfig::new(self.topic.trim())
        };
        let brokers = admin.create_topic(&self.target.target()?, &config).await?;
        let value = json!({
            "topic": config.topic_name,
            "brokers": brokers,
            "readQueueNums": config.read_queue_nums,
            "writeQueueNums": config.write_queue_nums,
            "perm": config.perm,
            "order": config.order,
            "attributes": config.attributes,
        });
        emit(json, value, || {
            let mut text: String =
                brokers.iter().map(|b| format!("create topic to {b} success.\n")).collect();
            text.push_str(&format!(
                "topic={} readQueueNums={} writeQueueNums={} perm={} order={}\n",
                config.topic_name,
                config.read_queue_nums,
                config.write_queue_nums,
                ferromq_protocol::perm::to_text(config.perm),
                config.order
            ));
            text
        })
    }
}

/// Reads `+key=value,+key2=value2` (mqadmin's attribute syntax; removals are not supported).
fn parse_attributes(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut attributes = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item
            .strip_prefix('+')
            .and_then(|i| i.split_once('='))
            .with_context(|| format!("bad attribute {item:?}: expected +key=value"))?;
        attributes.insert(key.to_string(), value.to_string());
    }
    Ok(attributes)
}

/// `deleteTopic`.
#[derive(Debug, Args)]
pub struct DeleteTopic {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// Delete from this cluster's masters (default: every broker serving the topic).
    #[arg(short = 'c', long = "clusterName")]
    cluster_name: Option<String>,
}

impl DeleteTopic {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let topic = self.topic.trim();
        let cluster = self.cluster_name.as_deref().map(str::trim);
        let brokers = admin.delete_topic(topic, cluster).await?;
        emit(json, json!({ "topic": topic, "cluster": cluster, "brokers": brokers }), || {
            let place = match cluster {
                Some(cluster) => format!("cluster [{cluster}]"),
                None => format!("brokers [{}]", brokers.join(", ")),
            };
            format!(
                "delete topic [{topic}] from {place} success.\n\
                 delete topic [{topic}] from NameServer success.\n"
            )
        })
    }
}

/// `topicList`.
#[derive(Debug, Args)]
pub struct TopicList {
    /// Also show the cluster each topic lives in.
    #[arg(short = 'c', long = "clusterModel")]
    cluster_model: bool,
}

impl TopicList {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let topics = admin.topic_list().await?;
        if !self.cluster_model {
            return emit(json, json!({ "topics": topics }), || {
                topics.iter().map(|t| format!("{t}\n")).collect()
            });
        }
        let info = admin.cluster_info().await?;
        let mut rows = Vec::new();
        for topic in &topics {
            let Ok(route) = admin.topic_route(topic).await else { continue };
            let mut clusters: Vec<&str> = route
                .broker_datas
                .iter()
                .filter_map(|b| {
                    info.cluster_addr_table
                        .iter()
                        .find(|(_, names)| names.contains(&b.broker_name))
                        .map(|(cluster, _)| cluster.as_str())
                })
                .collect();
            clusters.sort_unstable();
            clusters.dedup();
            rows.push((clusters.join(","), topic.clone()));
        }
        let value: Vec<Value> =
            rows.iter().map(|(c, t)| json!({ "cluster": c, "topic": t })).collect();
        emit(json, json!({ "topics": value }), || {
            let mut table = Table::new(&["Cluster Name", "Topic"]);
            for (cluster, topic) in rows {
                table.row(vec![cluster, topic]);
            }
            table.render()
        })
    }
}

/// `topicRoute`.
#[derive(Debug, Args)]
pub struct TopicRoute {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
}

impl TopicRoute {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let route = admin.topic_route(self.topic.trim()).await?;
        let value: Value = serde_json::from_slice(&route.to_json_style(JsonStyle::Standard))
            .context("cannot render the route as JSON")?;
        emit(json, value, || {
            let mut table = Table::new(&[
                "Cluster Name",
                "Broker Name",
                "Broker Addrs",
                "Read",
                "Write",
                "Perm",
            ]);
            let mut brokers = route.broker_datas.clone();
            brokers.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            let (mut read, mut write) = (0, 0);
            for broker in &brokers {
                let queues = route.queue_datas.iter().find(|q| q.broker_name == broker.broker_name);
                let addrs: Vec<String> =
                    broker.broker_addrs.iter().map(|(id, a)| format!("{id}={a}")).collect();
                let (r, w, p) =
                    queues.map_or((0, 0, 0), |q| (q.read_queue_nums, q.write_queue_nums, q.perm));
                read += r;
                write += w;
                table.row(vec![
                    broker.cluster.clone(),
                    broker.broker_name.clone(),
                    addrs.join(","),
                    r.to_string(),
                    w.to_string(),
                    p.to_string(),
                ]);
            }
            let mut text = table.render();
            text.push_str(&format!(
                "\nTotal: {} broker(s), {read} read queue(s), {write} write queue(s)\n",
                brokers.len()
            ));
            if let Some(conf) = route.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
                text.push_str(&format!("Order conf: {conf}\n"));
            }
            text
        })
    }
}

/// `topicStatus`.
#[derive(Debug, Args)]
pub struct TopicStatus {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
}

impl TopicStatus {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let topic = self.topic.trim();
        let status = admin.topic_status(topic).await?;
        let queues: Vec<Value> = status
            .queues
            .iter()
            .map(|q| {
                json!({
                    "brokerName": q.queue.broker_name,
                    "queueId": q.queue.queue_id,
                    "minOffset": q.min_offset,
                    "maxOffset": q.max_offset,
                    "lastUpdateTimestamp": q.last_update_timestamp,
                })
            })
            .collect();
        let value = json!({ "topic": topic, "putTps": status.put_tps, "queues": queues });
        emit(json, value, || {
            let mut table =
                Table::new(&["Broker Name", "QID", "Min Offset", "Max Offset", "Last Updated"]);
            for q in &status.queues {
                table.row(vec![
                    q.queue.broker_name.clone(),
                    q.queue.queue_id.to_string(),
                    q.min_offset.to_string(),
                    q.max_offset.to_string(),
                    human_time(q.last_update_timestamp),
                ]);
            }
            format!("{}\nTopic Put TPS: {:.2}\n", table.render(), status.put_tps)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_use_mqadmin_syntax() {
        let parsed = parse_attributes("+message.type=FIFO, +a=b").unwrap();
        assert_eq!(parsed.get("message.type").map(String::as_str), Some("FIFO"));
        assert_eq!(parsed.len(), 2);
        assert!(parse_attributes("").unwrap().is_empty());
        assert!(parse_attributes("-message.type").is_err());
        assert!(parse_attributes("+novalue").is_err());
    }
}
