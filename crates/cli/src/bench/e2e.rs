//! `ferromq bench e2e`: sends as `bench produce` does — paced or as fast as possible — and
//! consumes the same messages in the same process with a push consumer of a new group, so it
//! measures both the send latency and the send-to-consume latency (each body carries its
//! run, its number and its send's start time). At the end it waits for every stored message
//! to arrive and reports any that did not (lost) or came twice (duplicates).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ferromq_client::consumer::ConsumeFromWhere;
use ferromq_client::{Message, PushConsumer};
use serde::Serialize;

use super::consume::{self, ConsumeSummary, CpuSpent, Meter, SummaryInput};
use super::load::arrivals::Arrivals;
use super::load::cpu::Snapshot;
use super::load::{self, report::Report};
use super::produce;
use super::stamp::{self, Stamp};

/// Options of `ferromq bench e2e`.
#[derive(Debug, clap::Args)]
#[group(id = "E2eArgs")]
pub struct Args {
    #[command(flatten)]
    produce: produce::Args,
    /// Consumer group [default: a new one per run, `BenchmarkE2E_<run id>`].
    #[arg(long)]
    consumer_group: Option<String>,
    /// Listener calls at once (`consumeThreadMax`).
    #[arg(long, default_value_t = 20)]
    consume_threads: usize,
    /// Seconds to wait after the last send for every stored message to arrive.
    #[arg(long, default_value_t = 30.0)]
    drain_timeout: f64,
}

/// Both halves of the run, as the JSON report has them.
#[derive(Debug, Serialize)]
struct E2eReport<'a> {
    send: &'a Report,
    e2e: &'a ConsumeSummary,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.produce.batch > 0, "--batch must be at least 1");
    let drain = Duration::try_from_secs_f64(args.drain_timeout)
        .map_err(|_| anyhow::anyhow!("--drain-timeout must be a number of seconds ≥ 0"))?;
    let runtime = args.produce.load.runtime()?;
    runtime.block_on(e2e(args, drain))
}

async fn e2e(args: Args, drain: Duration) -> anyhow::Result<()> {
    let run = run_id();
    let p = &args.produce;
    let (producer, send, mut plan) = produce::prepare(p, Some(run)).await?;
    plan.bench = "e2e";
    plan.label = Some("send");
    // A first message creates an auto-created topic, so that the consumer finds its route.
    let probe = Stamp { run, seq: u64::MAX, sent_at: SystemTime::now(), measured: false };
    producer
        .send(Message::new(p.topic.clone(), probe.body(&[0; stamp::LEN])))
        .await
        .context("the first send failed")?;
    let queues = producer.publish_queues(&p.topic).await?.len();
    let group = args.consumer_group.clone().unwrap_or_else(|| format!("BenchmarkE2E_{run:08x}"));
    let meter = Meter::new(Some(run));
    let consumer = consume::start_consumer(
        &p.namesrv,
        &group,
        &p.topic,
        p.tags.as_deref().unwrap_or("*"),
        args.consume_threads,
        ConsumeFromWhere::ConsumeFromLastOffset,
        &meter,
    )
    .await?;
    let outcome = measure(&args, &send, plan, &consumer, &meter, &group, queues, drain).await;
    consumer.shutdown().await;
    producer.shutdown().await;
    let (report, summary) = outcome?;
    println!();
    summary.print();
    if let Some(path) = &p.load.json {
        let both = E2eReport { send: &report, e2e: &summary };
        let json = serde_json::to_vec_pretty(&both).context("cannot encode the report")?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
        println!("JSON report written to {}", path.display());
    }
    Ok(())
}

/// Waits for the consumer to own every queue, runs the sends, then waits for the
/// messages to arrive.
#[allow(clippy::too_many_arguments)]
async fn measure(
    args: &Args,
    send: &Arc<produce::Send>,
    plan: load::Plan,
    consumer: &PushConsumer,
    meter: &Arc<Meter>,
    group: &str,
    queues: usize,
    drain: Duration,
) -> anyhow::Result<(Report, ConsumeSummary)> {
    let p = &args.produce;
    // A new group starting at the queues' ends must own them before the sends begin, or
    // it would start after the first messages.
    let deadline = Instant::now() + Duration::from_secs(60);
    while consumer.assigned_queues().len() < queues {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the consumer was given {} of the topic's {queues} queues within 60 s",
            consumer.assigned_queues().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The send summary is printed by the harness; the JSON report holds both halves.
    let mut load_args = p.load.clone();
    load_args.json = None;
    let warmup = Duration::try_from_secs_f64(load_args.warmup).unwrap_or_default();
    let start = Instant::now();
    let (arrivals, reporter) = Arrivals::start(start, warmup, "e2e", None);
    meter.attach(start + warmup, Arc::clone(&arrivals));
    let first = Snapshot::at(start + warmup, load_args.server_pid);
    let report = load::run_from(start, Arc::clone(send), plan, &load_args).await?;
    let last = Snapshot::now(load_args.server_pid);
    let sent = send.sent();
    println!(
        "waiting up to {:.0} s for the {} stored messages to arrive",
        drain.as_secs_f64(),
        load::group_digits(sent)
    );
    let counts = arrivals.wait_until(Instant::now() + drain, |c| c.distinct >= sent).await;
    arrivals.finish();
    let collected = reporter.await?;
    let first = if first.is_finished() { first.await? } else { last };
    let summary = ConsumeSummary::new(SummaryInput {
        bench: "e2e",
        group,
        topic: &p.topic,
        start,
        warmup,
        collected,
        counts,
        meter,
        sent: Some(sent),
        cpu: CpuSpent::between(&first, &last, load_args.server_pid),
        stopped_early: report.stopped_early,
    });
    Ok((report, summary))
}

/// A run id unlikely to repeat: the clock's nanoseconds mixed with the process id.
fn run_id() -> u32 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    let mixed =
        (nanos as u64 ^ (u64::from(std::process::id()) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 32) as u32
}
