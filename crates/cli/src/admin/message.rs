//! Message commands: `queryMsgById`, `queryMsgByUniqueKey`, `queryMsgByKey`, `sendMessage`,
//! `consumeMessage`.

use std::collections::BTreeMap;

use clap::Args;
use ferromq_client::admin::PeekOptions;
use ferromq_client::{Admin, Message, MessageExt, MessageQueue};
use serde_json::{json, Value};

use super::output::{emit, human_time, parse_timestamp, Table};

/// Longest body shown in a table cell.
const BODY_PREVIEW_CHARS: usize = 60;

/// A message as JSON (body as UTF-8, invalid bytes replaced).
fn message_json(m: &MessageExt) -> Value {
    let properties: BTreeMap<&str, &str> = m.message.properties.iter().collect();
    json!({
        "msgId": m.msg_id(),
        "offsetMsgId": m.offset_msg_id,
        "topic": m.topic(),
        "tags": m.tags(),
        "keys": m.keys().collect::<Vec<_>>(),
        "brokerName": m.broker_name,
        "queueId": m.queue_id,
        "queueOffset": m.queue_offset,
        "commitLogOffset": m.commit_log_offset,
        "reconsumeTimes": m.reconsume_times,
        "bornTimestamp": m.born_timestamp,
        "storeTimestamp": m.store_timestamp,
        "bornHost": m.born_host.to_string(),
        "storeHost": m.store_host.to_string(),
        "sysFlag": m.sys_flag,
        "properties": properties,
        "body": String::from_utf8_lossy(m.body()),
    })
}

/// A message as mqadmin's `printMsg` lays it out: one `Name: value` line per field.
fn message_text(m: &MessageExt) -> String {
    let properties: Vec<String> =
        m.message.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let keys: Vec<&str> = m.keys().collect();
    let fields = [
        ("OffsetID:", m.offset_msg_id.clone()),
        ("Message ID:", m.msg_id().to_string()),
        ("Topic:", m.topic().to_string()),
        ("Tags:", format!("[{}]", m.tags().unwrap_or_default())),
        ("Keys:", format!("[{}]", keys.join(" "))),
        ("Queue ID:", m.queue_id.to_string()),
        ("Queue Offset:", m.queue_offset.to_string()),
        ("CommitLog Offset:", m.commit_log_offset.to_string()),
        ("Reconsume Times:", m.reconsume_times.to_string()),
        ("Born Timestamp:", human_time(m.born_timestamp)),
        ("Store Timestamp:", human_time(m.store_timestamp)),
        ("Born Host:", m.born_host.to_string()),
        ("Store Host:", m.store_host.to_string()),
        ("System Flag:", m.sys_flag.to_string()),
        ("Properties:", format!("{{{}}}", properties.join(", "))),
        ("Message Body:", String::from_utf8_lossy(m.body()).into_owned()),
    ];
    fields.iter().map(|(name, value)| format!("{name:<20} {value}\n")).collect()
}

/// The body for a table cell: control characters escaped, long bodies cut.
fn body_preview(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body).escape_default().collect();
    if text.chars().count() <= BODY_PREVIEW_CHARS {
        return text;
    }
    let cut: String = text.chars().take(BODY_PREVIEW_CHARS).collect();
    format!("{cut}…")
}

/// Messages as a table.
fn messages_table(messages: &[MessageExt]) -> String {
    let mut table = Table::new(&[
        "Broker Name",
        "QID",
        "Offset",
        "Message ID",
        "Tags",
        "Keys",
        "Stored",
        "Body",
    ]);
    for m in messages {
        table.row(vec![
            m.broker_name.clone(),
            m.queue_id.to_string(),
            m.queue_offset.to_string(),
            m.msg_id().to_string(),
            m.tags().unwrap_or_default().to_string(),
            m.keys().collect::<Vec<_>>().join(" "),
            human_time(m.store_timestamp),
            body_preview(m.body()),
        ]);
    }
    table.render()
}

/// `queryMsgById`.
#[derive(Debug, Args)]
pub struct QueryMsgById {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// Message id: the broker's offset id, or the producer's unique id.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
}

impl QueryMsgById {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let message = admin.query_message_by_id(self.topic.trim(), self.msg_id.trim()).await?;
        emit(json, message_json(&message), || message_text(&message))
    }
}

/// `queryMsgByUniqueKey`.
#[derive(Debug, Args)]
pub struct QueryMsgByUniqueKey {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// The producer-assigned unique id.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
}

impl QueryMsgByUniqueKey {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let found =
            admin.query_message_by_unique_key(self.topic.trim(), self.msg_id.trim()).await?;
        let value: Vec<Value> = found.iter().map(message_json).collect();
        emit(json, json!({ "messages": value }), || {
            found.iter().map(message_text).collect::<Vec<_>>().join("\n")
        })
    }
}

/// `queryMsgByKey`.
#[derive(Debug, Args)]
pub struct QueryMsgByKey {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// Message key.
    #[arg(short = 'k', long = "msgKey")]
    msg_key: String,
    /// Stored at or after this time (ms).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin_timestamp: i64,
    /// Stored before this time (ms).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end_timestamp: i64,
    /// Most messages per broker.
    #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
    max_num: i32,
}

impl QueryMsgByKey {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let (topic, key) = (self.topic.trim(), self.msg_key.trim());
        let found = admin
            .query_message_by_key(
                topic,
                key,
                self.max_num,
                self.begin_timestamp,
                self.end_timestamp,
            )
            .await?;
        let value: Vec<Value> = found.iter().map(message_json).collect();
        emit(json, json!({ "messages": value }), || messages_table(&found))
    }
}

/// `sendMessage`.
#[derive(Debug, Args)]
pub struct SendMessage {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// Message body (UTF-8).
    #[arg(short = 'p', long)]
    body: String,
    /// Message keys, space-separated.
    #[arg(short = 'k', long = "key")]
    keys: Option<String>,
    /// Message tag.
    #[arg(short = 'c', long)]
    tags: Option<String>,
    /// Send to this broker group (with `-i`).
    #[arg(short = 'b', long = "broker")]
    broker_name: Option<String>,
    /// Send to this queue of the broker given with `-b`.
    #[arg(short = 'i', long = "qid", requires = "broker_name")]
    queue_id: Option<i32>,
}

impl SendMessage {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        let topic = self.topic.trim();
        let mut message = Message::new(topic, self.body.clone().into_bytes());
        if let Some(tags) = self.tags.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            message = message.with_tags(tags);
        }
        if let Some(keys) = &self.keys {
            message = message.with_keys(keys.split_whitespace());
        }
        let queue = match (&self.broker_name, self.queue_id) {
            (Some(broker), Some(id)) => Some(MessageQueue::new(topic, broker.trim(), id)),
            _ => None,
        };
        let result = admin.send_message(message, queue.as_ref()).await?;
        let status = format!("{:?}", result.status);
        let value = json!({
            "brokerName": result.queue.broker_name,
            "queueId": result.queue.queue_id,
            "queueOffset": result.queue_offset,
            "sendStatus": status,
            "msgId": result.msg_id,
            "offsetMsgId": result.offset_msg_id,
        });
        emit(json, value, || {
            let mut table =
                Table::new(&["Broker Name", "QID", "Send Result", "MsgId", "OffsetMsgId"]);
            table.row(vec![
                result.queue.broker_name.clone(),
                result.queue.queue_id.to_string(),
                status.clone(),
                result.msg_id.clone(),
                result.offset_msg_id.clone(),
            ]);
            table.render()
        })
    }
}

/// `consumeMessage`.
#[derive(Debug, Args)]
pub struct ConsumeMessage {
    /// Topic name.
    #[arg(short = 't', long)]
    topic: String,
    /// Only this broker group.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Only this queue (with `-b`).
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    queue_id: Option<i32>,
    /// Start at this queue offset (with `-i`).
    #[arg(short = 'o', long, requires = "queue_id")]
    offset: Option<i64>,
    /// Start at this time: milliseconds or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 's', long = "beginTimestamp")]
    begin_timestamp: Option<String>,
    /// Stop at this time: milliseconds or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 'e', long = "endTimestamp")]
    end_timestamp: Option<String>,
    /// Most messages to print.
    #[arg(short = 'c', long = "messageNumber", default_value_t = 128)]
    message_number: usize,
}

impl ConsumeMessage {
    pub async fn run(self, admin: &Admin, json: bool) -> anyhow::Result<()> {
        if self.message_number == 0 {
            anyhow::bail!("the message number (-c) must be above zero");
        }
        let options = PeekOptions {
            broker_name: self.broker_name.as_deref().map(|b| b.trim().to_string()),
            queue_id: self.queue_id,
            offset: self.offset,
            begin_timestamp: self.begin_timestamp.as_deref().map(parse_timestamp).transpose()?,
            end_timestamp: self.end_timestamp.as_deref().map(parse_timestamp).transpose()?,
            max_messages: self.message_number,
        };
        let messages = admin.peek_messages(self.topic.trim(), &options).await?;
        let value: Vec<Value> = messages.iter().map(message_json).collect();
        emit(json, json!({ "messages": value }), || {
            format!("{}\n{} message(s)\n", messages_table(&messages), messages.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_odd_bodies_are_cut_and_escaped() {
        assert_eq!(body_preview(b"hello"), "hello");
        assert_eq!(body_preview(b"a\nb"), "a\\nb");
        let long = body_preview(&[b'x'; 200]);
        assert_eq!(long.chars().count(), BODY_PREVIEW_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
