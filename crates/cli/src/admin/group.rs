//! Consumer group commands: `updateSubGroup`, `deleteSubGroup`, `consumerProgress`,
//! `consumerConnection`.

use clap::Args;
use ferromq_client::admin::ConsumerProgress as Progress;
use ferromq_client::{Admin, ClientError};
use ferromq_protocol::body::SubscriptionGroupConfig;
use ferromq_protocol::topic::RETRY_GROUP_TOPIC_PREFIX;
use serde_json::{json, Value};

use super::output::{emit, human_time, Table};
use super::TargetArgs;

/// `updateSubGroup`.
#[derive(Debug, Args)]
pub struct UpdateSubGroup {
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    group_name: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Whether the group may consume.
    #[arg(short = 's', long = "consumeEnable")]
    consume_enable: Option<bool>,
    /// Start from the first offset when the group has none (mqadmin's default: false).
    #[arg(short = 'm', long = "consumeFromMinEnable")]
    consume_from_min_enable: Option<bool>,
    /// Allow broadcast consumption (mqadmin's default: false).
    #[arg(short = 'd', long = "consumeBroadcastEnable")]
    consume_broadcast_enable: Option<bool>,
    /// Consume in order.
    #[arg(short = 'o', long = "consumeMessageOrderly")]
    consume_message_orderly: Option<bool>,
    /// Retry queue count.
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queue_nums: Option<i32>,
    /// Deliveries before a message goes to the dead-letter queue.
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    /// Broker id to consume from.
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    /// Broker id to consume from when consuming slowly.
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    which_broker_when_consume_slowly: Option<i64>,
    /// Tell members when the group's membership changes.
    #[arg(short = 'a', long = "notifyConsumerIdsChanged")]
    notify_consumer_ids_changed: Option<bool>,
}

impl UpdateSubGroup {
    fn config(&self) -> SubscriptionGroupConfig {
        let mut config = SubscriptionGroupConfig {
            consume_broadcast_enable: false,
            consume_from_min_enable: false,
            ..SubscriptionGroupConfig::new(self.group_name.trim())
        };
        let set = |field: &mut bool, value: Option<bool>| *field = value.unwrap_or(*field);
        set(&mut config.consume_enable, self.consume_enable);
        set(&mut config.consume_from_min_enable, self.consume_from_min_enable);
        set(&mut config.consume_broadcast_enable, self.consume_broadcast_enable);
        set(&mut config.consume_message_orderly, self.consume_message_orderly);
        set(&mut config.notify_consumer_ids_changed_enable, self.notify_consumer_ids_changed);
        config.retry_queue_nums = self.retry_queue_nums.unwrap_or(config.retry_queue_nums);
        config.retry_max_times = self.retry_max_times.unwrap_or(config.retry_max_times);
        config.broker_id = self.broker_id.unwrap_or(config.broker_id);
        config.which_broker_when_consume_slowly = self
            .which_broker_when_consume_slowly
            .unwrap_or(config.which_broker_when_consume_slowly);
        config
    }

    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let config = self.config();
        let brokers = admin.create_subscription_group(&self.target.target()?, &config).await?;
        let value = json!({
            "groupName": config.group_name,
            "brokers": brokers,
            "consumeEnable": config.consume_enable,
            "consumeFromMinEnable": config.consume_from_min_enable,
            "consumeBroadcastEnable": config.consume_broadcast_enable,
            "consumeMessageOrderly": config.consume_message_orderly,
            "retryQueueNums": config.retry_queue_nums,
            "retryMaxTimes": config.retry_max_times,
            "brokerId": config.broker_id,
            "whichBrokerWhenConsumeSlowly": config.which_broker_when_consume_slowly,
            "notifyConsumerIdsChangedEnable": config.notify_consumer_ids_changed_enable,
        });
        emit(json, value, || {
            brokers.iter().map(|b| format!("create subscription group to {b} success.\n")).collect()
        })
    }
}

/// `deleteSubGroup`.
#[derive(Debug, Args)]
pub struct DeleteSubGroup {
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    group_name: String,
    #[command(flatten)]
    target: TargetArgs,
    /// Also remove the group's committed offsets.
    #[arg(short = 'r', long = "removeOffset", default_value_t = false, action = clap::ArgAction::Set)]
    remove_offset: bool,
}

impl DeleteSubGroup {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let group = self.group_name.trim();
        let target = self.target.target()?;
        let brokers = admin.delete_subscription_group(&target, group, self.remove_offset).await?;
        let value =
            json!({ "groupName": group, "brokers": brokers, "removeOffset": self.remove_offset });
        emit(json, value, || {
            brokers
                .iter()
                .map(|b| {
                    format!("delete subscription group [{group}] from broker [{b}] success.\n")
                })
                .collect()
        })
    }
}

/// `consumerProgress`.
#[derive(Debug, Args)]
pub struct ConsumerProgress {
    /// Consumer group name (without it: a summary of every group).
    #[arg(short = 'g', long = "groupName")]
    group_name: Option<String>,
    /// Only this topic.
    #[arg(short = 't', long = "topicName")]
    topic_name: Option<String>,
}

impl ConsumerProgress {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let Some(group) = self.group_name.as_deref().map(str::trim) else {
            return summary(admin, json).await;
        };
        let topic = self.topic_name.as_deref().map(str::trim);
        let progress = admin.consumer_progress(group, topic).await?;
        emit(json, progress_json(&progress), || progress_table(&progress))
    }
}

fn progress_json(progress: &Progress) -> Value {
    let queues: Vec<Value> = progress
        .queues
        .iter()
        .map(|q| {
            json!({
                "topic": q.queue.topic,
                "brokerName": q.queue.broker_name,
                "queueId": q.queue.queue_id,
                "brokerOffset": q.broker_offset,
                "consumerOffset": q.consumer_offset,
                "pullOffset": q.pull_offset,
                "diff": q.diff,
                "lastTimestamp": q.last_timestamp,
            })
        })
        .collect();
    json!({
        "group": progress.group,
        "consumeTps": progress.consume_tps,
        "diffTotal": progress.diff_total(),
        "queues": queues,
    })
}

fn progress_table(progress: &Progress) -> String {
    let mut table = Table::new(&[
        "Topic",
        "Broker Name",
        "QID",
        "Broker Offset",
        "Consumer Offset",
        "Diff",
        "LastTime",
    ]);
    for q in &progress.queues {
        let last = if q.last_timestamp > 0 { human_time(q.last_timestamp) } else { "N/A".into() };
        table.row(vec![
            q.queue.topic.clone(),
            q.queue.broker_name.clone(),
            q.queue.queue_id.to_string(),
            q.broker_offset.to_string(),
            q.consumer_offset.to_string(),
            q.diff.to_string(),
            last,
        ]);
    }
    format!(
        "{}\nConsume TPS: {:.2}\nConsume Diff Total: {}\n",
        table.render(),
        progress.consume_tps,
        progress.diff_total()
    )
}

/// Every group with a retry topic: members online, model, rate and total lag.
async fn summary(admin: &Admin, json: bool) -> anyhow::Result<()> {
    let topics = admin.topic_list().await?;
    let mut rows = Vec::new();
    for group in topics.iter().filter_map(|t| t.strip_prefix(RETRY_GROUP_TOPIC_PREFIX)) {
        let progress = match admin.consumer_progress(group, None).await {
            Ok(progress) => Some(progress),
            Err(ClientError::UnknownGroup { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let connection = admin.consumer_connections(group).await.ok();
        rows.push(json!({
            "group": group,
            "count": connection.as_ref().map_or(0, |c| c.connection_set.len()),
            "messageModel": connection.as_ref().map(|c| c.message_model.name()),
            "consumeType": connection.as_ref().map(|c| c.consume_type.name()),
            "consumeTps": progress.as_ref().map_or(0.0, |p| p.consume_tps),
            "diffTotal": progress.as_ref().map_or(0, Progress::diff_total),
        }));
    }
    emit(json, json!({ "groups": rows }), || {
        let mut table = Table::new(&["Group", "Count", "Model", "Type", "TPS", "Diff Total"]);
        for row in &rows {
            let text = |key: &str| match &row[key] {
                Value::String(s) => s.clone(),
                Value::Null => "OFFLINE".into(),
                other => other.to_string(),
            };
            table.row(vec![
                text("group"),
                text("count"),
                text("messageModel"),
                text("consumeType"),
                text("consumeTps"),
                text("diffTotal"),
            ]);
        }
        table.render()
    })
}

/// `consumerConnection`.
#[derive(Debug, Args)]
pub struct ConsumerConnection {
    /// Consumer group name.
    #[arg(short = 'g', long = "consumerGroup")]
    consumer_group: String,
}

impl ConsumerConnection {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let group = self.consumer_group.trim();
        let c = admin.consumer_connections(group).await?;
        let connections: Vec<Value> = c
            .connection_set
            .iter()
            .map(|x| {
                json!({
                    "clientId": x.client_id,
                    "clientAddr": x.client_addr,
                    "language": x.language,
                    "version": x.version,
                })
            })
            .collect();
        let subscriptions: Vec<Value> = c
            .subscription_table
            .values()
            .map(|s| json!({ "topic": s.topic, "expression": s.sub_string, "type": s.expression_type }))
            .collect();
        let value = json!({
            "group": group,
            "connections": connections,
            "subscriptions": subscriptions,
            "consumeType": c.consume_type.name(),
            "messageModel": c.message_model.name(),
            "consumeFromWhere": c.consume_from_where.name(),
        });
        emit(json, value, || {
            let mut clients = Table::new(&["ClientId", "ClientAddr", "Language", "Version"]);
            for x in &c.connection_set {
                clients.row(vec![
                    x.client_id.clone(),
                    x.client_addr.clone(),
                    x.language.clone(),
                    x.version.to_string(),
                ]);
            }
            let mut subs = Table::new(&["Topic", "SubExpression"]);
            for s in c.subscription_table.values() {
                subs.row(vec![s.topic.clone(), s.sub_string.clone()]);
            }
            format!(
                "{}\nBelow is subscription:\n{}\nConsumeType: {}\nMessageModel: {}\nConsumeFromWhere: {}\n",
                clients.render(),
                subs.render(),
                c.consume_type.name(),
                c.message_model.name(),
                c.consume_from_where.name()
            )
        })
    }
}
