//! `ferromq bench consume`: a push consumer (clustering, concurrent listener) on any
//! RocketMQ-protocol cluster, counting what it receives a line per second, with how long
//! each message took to arrive: from its send's start when the body carries the e2e stamp
//! (to the microsecond), otherwise from its born timestamp (to the millisecond, as the
//! producer's clock has it). Pair it with `ferromq bench produce` in another process, or
//! point it at a backlog with `--from first`.
//!
//! The [`Meter`] and [`ConsumeSummary`] here are also the consuming half of `bench e2e`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use ferromq_client::consumer::{
    ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageListener, PushConsumer, PushConsumerConfig,
};
use ferromq_client::MessageExt;
use serde::Serialize;

use super::load::arrivals::{ArrivalCounts, Arrivals};
use super::load::cpu::{CpuReport, CpuTime, Snapshot};
use super::load::{Collected, IntervalLine, Percentiles};
use super::stamp::Stamp;

/// Where a new group starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum From {
    /// Only messages sent from now on (CONSUME_FROM_LAST_OFFSET).
    Last,
    /// Everything the queues hold (CONSUME_FROM_FIRST_OFFSET).
    First,
}

/// Options of `ferromq bench consume`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Name servers, `;`-separated (`namesrvAddr`).
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876")]
    namesrv: String,
    /// Topic to consume.
    #[arg(short = 't', long, default_value = "BenchmarkTest")]
    topic: String,
    /// Consumer group (a group that has consumed before resumes where it stopped).
    #[arg(short = 'g', long, default_value = "BenchmarkConsumer")]
    group: String,
    /// Tag expression (`*`, `TagA || TagB`).
    #[arg(long, default_value = "*")]
    tags: String,
    /// Where a new group starts.
    #[arg(long, value_enum, default_value_t = From::Last)]
    from: From,
    /// Listener calls at once (`consumeThreadMax`).
    #[arg(long, default_value_t = 20)]
    consume_threads: usize,
    /// Measured seconds, after the warm-up [default: 10, unless --count is given].
    #[arg(long, conflicts_with = "count")]
    duration: Option<f64>,
    /// Stop after this many measured messages.
    #[arg(long)]
    count: Option<u64>,
    /// Seconds consumed first and left out of the summary.
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Also report the CPU time of this process (the server under test) per message.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Runtime worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    super::runtime(args.threads)?.block_on(consume(args))
}

async fn consume(args: Args) -> anyhow::Result<()> {
    let seconds = |value: f64, what: &str| {
        Duration::try_from_secs_f64(value)
            .map_err(|_| anyhow::anyhow!("{what} must be a number of seconds ≥ 0, not {value}"))
    };
    let warmup = seconds(args.warmup, "--warmup")?;
    let length = seconds(args.duration.unwrap_or(10.0), "--duration")?;
    anyhow::ensure!(args.count != Some(0), "--count must be at least 1");
    let meter = Meter::new(None);
    let consumer = start_consumer(
        &args.namesrv,
        &args.group,
        &args.topic,
        &args.tags,
        args.consume_threads,
        match args.from {
            From::Last => ConsumeFromWhere::ConsumeFromLastOffset,
            From::First => ConsumeFromWhere::ConsumeFromFirstOffset,
        },
        &meter,
    )
    .await?;
    let limit = match args.count {
        Some(count) => format!("{count} messages"),
        None => format!("{:.1} s", length.as_secs_f64()),
    };
    println!(
        "consume bench: group {} on topic {} ({}), {limit} after {:.1} s of warm-up",
        args.group,
        args.topic,
        args.tags,
        warmup.as_secs_f64()
    );
    let start = Instant::now();
    let (arrivals, reporter) = Arrivals::start(start, warmup, "consume", args.count);
    meter.attach(start + warmup, Arc::clone(&arrivals));
    let first = Snapshot::at(start + warmup, args.server_pid);
    let deadline = match args.count {
        // A counted run ends when enough arrived (or on Ctrl-C).
        Some(_) => start + Duration::from_secs(365 * 24 * 3600),
        None => start + warmup + length,
    };
    let count = args.count.unwrap_or(u64::MAX);
    let stopped_early = tokio::select! {
        _ = arrivals.wait_until(deadline, |c| c.measured >= count) => false,
        () = crate::shutdown::signal() => true,
    };
    let first = first.await?;
    let last = Snapshot::now(args.server_pid);
    arrivals.finish();
    let collected = reporter.await?;
    consumer.shutdown().await;
    let summary = ConsumeSummary::new(SummaryInput {
        bench: "consume",
        group: &args.group,
        topic: &args.topic,
        start,
        warmup,
        collected,
        counts: arrivals.counts(),
        meter: &meter,
        sent: None,
        cpu: CpuSpent::between(&first, &last, args.server_pid),
        stopped_early,
    });
    println!();
    summary.print();
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&summary).context("cannot encode the report")?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
        println!("JSON report written to {}", path.display());
    }
    Ok(())
}

/// Starts a clustering push consumer of `topic` whose listener feeds `meter`.
pub(super) async fn start_consumer(
    namesrv: &str,
    group: &str,
    topic: &str,
    tags: &str,
    consume_threads: usize,
    from: ConsumeFromWhere,
    meter: &Arc<Meter>,
) -> anyhow::Result<PushConsumer> {
    let config = PushConsumerConfig {
        consume_from_where: from,
        consume_thread_max: consume_threads.max(1),
        ..PushConsumerConfig::new(group, namesrv)
    };
    let consumer = PushConsumer::new(config).context("invalid consumer settings")?;
    consumer.subscribe(topic, tags).context("cannot subscribe")?;
    let listener = Arc::clone(meter);
    consumer.register_message_listener(MessageListener::concurrently(
        move |messages: Vec<MessageExt>, _| {
            for message in &messages {
                listener.arrived(message);
            }
            async { ConsumeConcurrentlyStatus::ConsumeSuccess }
        },
    ))?;
    consumer.start().await.context("cannot start the consumer")?;
    Ok(consumer)
}

/// The listener's side of a consume bench: turns each message into an arrival.
#[derive(Debug)]
pub(super) struct Meter {
    /// Only this run's stamped messages count (e2e); others are foreign.
    run: Option<u32>,
    /// Where arrivals go, and when the warm-up ends; unset until the run starts (messages
    /// before that are not counted).
    arrivals: OnceLock<(Instant, Arc<Arrivals>)>,
    stamped: AtomicU64,
    born: AtomicU64,
    foreign: AtomicU64,
    bytes: AtomicU64,
}

impl Meter {
    /// A meter counting every message, or only run `run`'s stamped ones.
    pub(super) fn new(run: Option<u32>) -> Arc<Meter> {
        Arc::new(Meter {
            run,
            arrivals: OnceLock::new(),
            stamped: AtomicU64::new(0),
            born: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// Starts counting into `arrivals`; arrivals after `warmup_end` are measured (unless
    /// their stamp says otherwise).
    pub(super) fn attach(&self, warmup_end: Instant, arrivals: Arc<Arrivals>) {
        let _ = self.arrivals.set((warmup_end, arrivals));
    }

    fn arrived(&self, message: &MessageExt) {
        let Some((warmup_end, arrivals)) = self.arrivals.get() else { return };
        let (now, wall) = (Instant::now(), SystemTime::now());
        let after_warmup = now >= *warmup_end;
        let (latency, measured, seq) = match (Stamp::read(message.body()), self.run) {
            (Some(stamp), Some(run)) if stamp.run == run => {
                self.stamped.fetch_add(1, Ordering::Relaxed);
                let latency = wall.duration_since(stamp.sent_at).unwrap_or_default();
                (latency, stamp.measured, Some(stamp.seq))
            }
            (_, Some(_)) => {
                self.foreign.fetch_add(1, Ordering::Relaxed);
                return;
            }
            (Some(stamp), None) => {
                self.stamped.fetch_add(1, Ordering::Relaxed);
                (wall.duration_since(stamp.sent_at).unwrap_or_default(), after_warmup, None)
            }
            (None, None) => {
                self.born.fetch_add(1, Ordering::Relaxed);
                let wall_ms = wall.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
                let born_ms = u128::try_from(message.born_timestamp).unwrap_or(0);
                let ms = u64::try_from(wall_ms.saturating_sub(born_ms)).unwrap_or(u64::MAX);
                (Duration::from_millis(ms), after_warmup, None)
            }
        };
        if measured {
            self.bytes.fetch_add(message.body().len() as u64, Ordering::Relaxed);
        }
        arrivals.arrive(now, latency, measured, seq);
    }

    /// What the latencies were measured from.
    fn latency_from(&self) -> &'static str {
        match (self.stamped.load(Ordering::Relaxed), self.born.load(Ordering::Relaxed)) {
            (_, 0) => "the send's start (stamped bodies)",
            (0, _) => "the born timestamp (1 ms resolution)",
            _ => "the send's start where stamped, else the born timestamp (1 ms resolution)",
        }
    }
}

/// CPU spent over the measured part of a run.
#[derive(Debug, Clone, Copy)]
pub(super) struct CpuSpent {
    wall: Duration,
    bench: Option<CpuTime>,
    server: Option<(u32, CpuTime)>,
}

impl CpuSpent {
    /// What was spent between two snapshots; `server_pid` is the server they measured.
    pub(super) fn between(first: &Snapshot, last: &Snapshot, server_pid: Option<u32>) -> CpuSpent {
        CpuSpent {
            wall: last.at.saturating_duration_since(first.at),
            bench: first.bench.zip(last.bench).map(|(a, b)| b.since(&a)),
            server: server_pid
                .zip(first.server.zip(last.server))
                .map(|(pid, (a, b))| (pid, b.since(&a))),
        }
    }
}

/// What a summary is made of.
pub(super) struct SummaryInput<'a> {
    pub bench: &'static str,
    pub group: &'a str,
    pub topic: &'a str,
    pub start: Instant,
    pub warmup: Duration,
    pub collected: Collected,
    pub counts: ArrivalCounts,
    pub meter: &'a Meter,
    /// Messages the e2e run's sends stored (so losses show), if known.
    pub sent: Option<u64>,
    pub cpu: CpuSpent,
    pub stopped_early: bool,
}

/// The consuming side's summary, printed and written as JSON.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ConsumeSummary {
    pub bench: String,
    pub group: String,
    pub topic: String,
    pub warmup_s: f64,
    /// From the end of the warm-up to the last measured arrival.
    pub elapsed_s: f64,
    /// Measured first arrivals.
    pub messages: u64,
    pub throughput_msgs_per_s: f64,
    /// Body bytes per second of the measured arrivals, in MB (10^6 bytes).
    pub throughput_mb_per_s: f64,
    pub latency_from: String,
    /// From the send's start (or born time) to the listener call.
    pub latency_us: Percentiles,
    pub arrivals: ArrivalCounts,
    /// Messages of other runs (or unstamped) that the e2e run ignored.
    pub foreign: u64,
    /// e2e: messages whose send succeeded, warm-up included.
    pub sent: Option<u64>,
    /// e2e: of those, how many never arrived.
    pub lost: Option<u64>,
    pub bench_cpu: Option<CpuReport>,
    pub server_cpu: Option<CpuReport>,
    pub stopped_early: bool,
    pub intervals: Vec<IntervalLine>,
}

impl ConsumeSummary {
    pub(super) fn new(input: SummaryInput<'_>) -> ConsumeSummary {
        let totals = &input.collected.totals;
        let warmup_end = input.start + input.warmup;
        let elapsed = totals
            .last_completion
            .map(|last| last.saturating_duration_since(warmup_end).as_secs_f64())
            .unwrap_or_default();
        let per_second = |n: f64| if elapsed > 0.0 { n / elapsed } else { 0.0 };
        let messages = totals.messages;
        let cpu = |spent: Option<(u32, CpuTime)>| {
            spent.map(|(pid, time)| CpuReport::new(pid, time, messages, input.cpu.wall))
        };
        ConsumeSummary {
            bench: input.bench.into(),
            group: input.group.into(),
            topic: input.topic.into(),
            warmup_s: input.warmup.as_secs_f64(),
            elapsed_s: elapsed,
            messages,
            throughput_msgs_per_s: per_second(messages as f64),
            throughput_mb_per_s: per_second(input.meter.bytes.load(Ordering::Relaxed) as f64) / 1e6,
            latency_from: input.meter.latency_from().into(),
            latency_us: Percentiles::of(&totals.latency),
            arrivals: input.counts,
            foreign: input.meter.foreign.load(Ordering::Relaxed),
            sent: input.sent,
            lost: input.sent.map(|sent| sent.saturating_sub(input.counts.distinct)),
            bench_cpu: cpu(input.cpu.bench.map(|t| (std::process::id(), t))),
            server_cpu: cpu(input.cpu.server),
            stopped_early: input.stopped_early,
            intervals: input.collected.lines,
        }
    }

    /// The summary as text lines.
    pub(super) fn lines(&self) -> Vec<String> {
        use super::load::{group_digits, rate};
        let mut lines = vec![format!(
            "{}: {} messages received in {:.2} s = {} msgs/s, {:.2} MB/s{}",
            self.bench,
            group_digits(self.messages),
            self.elapsed_s,
            rate(self.throughput_msgs_per_s),
            self.throughput_mb_per_s,
            if self.stopped_early { " (stopped early)" } else { "" }
        )];
        lines.push(format!("latency (from {}): {}", self.latency_from, self.latency_us.line()));
        let a = &self.arrivals;
        let mut counts = format!(
            "arrivals: {} in all, {} duplicates",
            group_digits(a.received),
            group_digits(a.duplicates)
        );
        if let (Some(sent), Some(lost)) = (self.sent, self.lost) {
            counts.push_str(&format!(
                "; {} of {} sent arrived, {} lost",
                group_digits(a.distinct),
                group_digits(sent),
                group_digits(lost)
            ));
        }
        if self.foreign > 0 {
            counts.push_str(&format!("; {} from other runs ignored", group_digits(self.foreign)));
        }
        lines.push(counts);
        if let Some(cpu) = &self.bench_cpu {
            lines.push(format!("bench CPU (pid {}): {}", cpu.pid, cpu.text()));
        }
        if let Some(cpu) = &self.server_cpu {
            lines.push(format!("server CPU (pid {}): {}", cpu.pid, cpu.text()));
        }
        lines
    }

    pub(super) fn print(&self) {
        for line in self.lines() {
            println!("{line}");
        }
    }
}
