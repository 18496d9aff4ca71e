//! Offset commands: `resetOffsetByTime`.

use clap::Args;
use ferromq_client::Admin;
use serde_json::{json, Value};

use super::output::{emit, human_time, parse_timestamp, Table};

/// `resetOffsetByTime`.
#[derive(Debug, Args)]
pub struct ResetOffsetByTime {
    /// Consumer group name.
    #[arg(short = 'g', long)]
    group: String,
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// When to reset to: `now`, milliseconds since the epoch, or yyyy-MM-dd#HH:mm:ss:SSS
    /// (local time).
    #[arg(short = 's', long, allow_hyphen_values = true)]
    timestamp: String,
    /// Move offsets forward too (false: only back).
    #[arg(short = 'f', long, default_value_t = true, action = clap::ArgAction::Set)]
    force: bool,
}

impl ResetOffsetByTime {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let (group, topic) = (self.group.trim(), self.topic.trim());
        let timestamp = parse_timestamp(&self.timestamp)?;
        let offsets = admin.reset_offset_by_time(topic, group, timestamp, self.force).await?;
        let rows: Vec<Value> = offsets
            .iter()
            .map(|(q, offset)| {
                json!({ "brokerName": q.broker_name, "queueId": q.queue_id, "offset": offset })
            })
            .collect();
        let value = json!({
            "group": group,
            "topic": topic,
            "timestamp": timestamp,
            "force": self.force,
            "offsets": rows,
        });
        emit(json, value, || {
            let mut table = Table::new(&["Broker Name", "QID", "Offset"]);
            for (queue, offset) in &offsets {
                table.row(vec![
                    queue.broker_name.clone(),
                    queue.queue_id.to_string(),
                    offset.to_string(),
                ]);
            }
            let when = match (timestamp, human_time(timestamp)) {
                (t, _) if t < 0 => "the end of every queue".to_string(),
                (t, human) if human.is_empty() => format!("{t} ms"),
                (t, human) => format!("{human} ({t} ms)"),
            };
            format!(
                "reset consumer offset of group [{group}] on topic [{topic}] to {when}, force={}\n{}",
                self.force,
                table.render()
            )
        })
    }
}
