//! `ferromq bench produce`: sync sends through `ferromq_client::Producer` to any
//! RocketMQ-protocol cluster, with a fixed number in flight, paced or as fast as possible
//! (the load harness does the driving and the measuring).
//!
//! The topic must exist or be auto-creatable: the producer borrows the route of `TBW102`
//! for a topic no name server knows, and a broker with `autoCreateTopicEnable` (standalone's
//! default) creates it on the first send. Otherwise create it first with
//! `ferromq admin updateTopic -t <topic> …`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use ferromq_client::{ClientError, Message, Producer, ProducerConfig, SendStatus};
use ferromq_remoting::RemotingError;

use super::load::{self, Failure, LoadArgs, Operation, Plan};
use super::stamp::{self, Stamp};

/// Different bodies the sends cycle through (built before the run).
const BODIES: usize = 16;

/// Options of `ferromq bench produce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Name servers, `;`-separated (`namesrvAddr`).
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    pub(super) namesrv: String,
    /// Topic to send to.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    pub(super) topic: String,
    /// Body bytes per message.
    #[arg(short = 's', long, default_value_t = 1024)]
    pub(super) size: usize,
    /// Messages per send; above 1 sends batches (SEND_BATCH_MESSAGE).
    #[arg(short = 'b', long, default_value_t = 1)]
    pub(super) batch: usize,
    /// Tag every message with this tag.
    #[arg(long)]
    pub(super) tags: Option<String>,
    /// Give every message a unique key (the broker indexes keys).
    #[arg(long)]
    pub(super) keys: bool,
    /// Producer group.
    #[arg(long, default_value = "BenchmarkProducer")]
    pub(super) group: String,
    /// Queues per broker of a topic auto-created on first send (`defaultTopicQueueNums`).
    #[arg(long, default_value_t = 4)]
    pub(super) queues: i32,
    /// Whole-send timeout in milliseconds, retries included (`sendMsgTimeout`).
    #[arg(long, default_value_t = 3_000)]
    pub(super) timeout_ms: u64,
    /// Extra attempts of a failed send (`retryTimesWhenSendFailed`).
    #[arg(long, default_value_t = 2)]
    pub(super) retries: u32,
    #[command(flatten)]
    pub(super) load: LoadArgs,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.size > 0, "--size must be at least 1 byte");
    anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
    let runtime = args.load.runtime()?;
    runtime.block_on(produce(args))
}

async fn produce(args: Args) -> anyhow::Result<()> {
    let (producer, send, plan) = prepare(&args, None).await?;
    let outcome = load::run(send, plan, &args.load).await;
    producer.shutdown().await;
    outcome.map(|_| ())
}

/// Starts the producer, finds the topic's queues and builds the send operation (stamping
/// each body with `stamp_run` and its number when given) and the plan of the run.
pub(super) async fn prepare(
    args: &Args,
    stamp_run: Option<u32>,
) -> anyhow::Result<(Producer, Arc<Send>, Plan)> {
    anyhow::ensure!(
        stamp_run.is_none() || args.size >= stamp::LEN,
        "--size must be at least {} bytes to carry the send stamp",
        stamp::LEN
    );
    let config = ProducerConfig {
        send_msg_timeout: Duration::from_millis(args.timeout_ms),
        retry_times_when_send_failed: args.retries,
        default_topic_queue_nums: args.queues,
        ..ProducerConfig::new(args.group.clone(), args.namesrv.clone())
    };
    let producer = Producer::start(config).await.context("cannot start the producer")?;
    let queues = producer.publish_queues(&args.topic).await.with_context(|| {
        format!(
            "topic {} has no route: create it (`ferromq admin updateTopic -t {} …`) or use a \
             broker that auto-creates topics",
            args.topic, args.topic
        )
    })?;
    let mut brokers: Vec<&str> = queues.iter().map(|q| q.broker_name.as_str()).collect();
    brokers.dedup();
    println!(
        "topic {}: {} queues on broker(s) {}, name server(s) {}",
        args.topic,
        queues.len(),
        brokers.join(", "),
        args.namesrv
    );
    let mut template = Message::new(args.topic.clone(), Bytes::new());
    if let Some(tags) = &args.tags {
        template = template.with_tags(tags.clone());
    }
    let send = Arc::new(Send {
        producer: producer.clone(),
        template,
        bodies: (0..BODIES).map(|i| body(i, args.size)).collect(),
        batch: args.batch,
        keys: args.keys,
        stamp_run,
        sent: AtomicU64::new(0),
    });
    let plan = Plan {
        bench: "produce",
        messages_per_op: args.batch as u64,
        message_size: args.size,
        settings: serde_json::json!({
            "namesrv": args.namesrv,
            "topic": args.topic,
            "size": args.size,
            "batch": args.batch,
            "tags": args.tags,
            "keys": args.keys,
            "group": args.group,
            "timeout_ms": args.timeout_ms,
            "retries": args.retries,
            "queues": queues.len(),
        }),
        label: None,
    };
    Ok((producer, send, plan))
}

/// A sync send of one message or one batch.
#[derive(Debug)]
pub(super) struct Send {
    producer: Producer,
    /// Topic and tags; each send clones it and sets a prepared body.
    template: Message,
    bodies: Vec<Bytes>,
    batch: usize,
    keys: bool,
    /// Stamp bodies with this run id (e2e).
    stamp_run: Option<u32>,
    /// Messages whose send succeeded, warm-up included.
    sent: AtomicU64,
}

impl Send {
    /// Messages whose send succeeded so far, warm-up included.
    pub(super) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Message `index` of operation `seq`.
    fn message(&self, worker: usize, seq: u64, index: usize, measured: bool) -> Message {
        let mut message = self.template.clone();
        let pick = (seq as usize).wrapping_add(index) % self.bodies.len().max(1);
        let filler = self.bodies.get(pick).cloned().unwrap_or_default();
        message.body = match self.stamp_run {
            Some(run) => Stamp {
                run,
                seq: seq * self.batch as u64 + index as u64,
                sent_at: SystemTime::now(),
                measured,
            }
            .body(&filler),
            None => filler,
        };
        if self.keys {
            let key = format!("bench-{worker}-{seq}-{index}");
            message = message.with_keys([key.as_str()]);
        }
        message
    }
}

impl Operation for Send {
    async fn call(&self, worker: usize, seq: u64, measured: bool) -> Result<(), Failure> {
        let result = if self.batch == 1 {
            self.producer.send(self.message(worker, seq, 0, measured)).await
        } else {
            let messages =
                (0..self.batch).map(|i| self.message(worker, seq, i, measured)).collect();
            self.producer.send_batch(messages).await
        };
        match result {
            Ok(sent) if sent.status == SendStatus::SendOk => {
                self.sent.fetch_add(self.batch as u64, Ordering::Relaxed);
                Ok(())
            }
            Ok(sent) => Err(Failure::new(format!("stored with status {:?}", sent.status))),
            Err(error) => Err(failure(&error)),
        }
    }
}

/// The kind a send error is counted under.
fn failure(error: &ClientError) -> Failure {
    match error {
        ClientError::SendFailed { last, .. } => failure(last),
        ClientError::Remoting(remoting) => Failure::new(match remoting {
            RemotingError::Timeout { .. } => "timeout",
            RemotingError::ConnectionClosed { .. } => "connection closed",
            RemotingError::Connect { .. } => "cannot connect",
            RemotingError::TooManyInFlight { .. } => "too many in flight",
            _ => "network error",
        }),
        ClientError::Refused { code, .. } => Failure::new(format!("refused {code:?}")),
        ClientError::NoRoute { .. } => Failure::new("no route"),
        ClientError::Protocol(_) => Failure::new("malformed answer"),
        ClientError::InvalidMessage(_) => Failure::new("invalid message"),
        _ => Failure::new("client error"),
    }
}

/// A body of `size` bytes that differs per `index`, cheap to make.
fn body(index: usize, size: usize) -> Bytes {
    let mut x = (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Printable ASCII, so bodies read well in tools that show them.
            b'!' + (x % 94) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::ResponseCode;

    #[test]
    fn errors_are_counted_by_kind() {
        let timeout = ClientError::Remoting(RemotingError::Timeout {
            addr: "b".into(),
            timeout: Duration::from_secs(1),
        });
        let wrapped = ClientError::SendFailed { attempts: 3, last: Box::new(timeout) };
        assert_eq!(failure(&wrapped).kind(), "timeout");
        let busy = ClientError::Refused {
            addr: "b".into(),
            code: ResponseCode::SYSTEM_BUSY,
            remark: "x".into(),
        };
        assert_eq!(failure(&busy).kind(), "refused SYSTEM_BUSY(2)");
    }

    #[test]
    fn bodies_have_the_asked_size_and_differ() {
        let (a, b) = (body(0, 1024), body(1, 1024));
        assert_eq!(a.len(), 1024);
        assert_ne!(a, b);
        assert!(a.iter().all(u8::is_ascii_graphic));
    }
}
