//! The load harness every network bench shares (`produce`, `consume`, `e2e`):
//! workers that run an [`Operation`] with a fixed number in flight, paced at a fixed rate
//! (open loop) or as fast as possible (closed loop), for a time or a count after a warm-up;
//! a line per second; and a final summary (HDR percentiles, errors by kind, the bench's own
//! CPU per message) printed and optionally written as JSON. It knows nothing of what an
//! operation does.
//!
//! Open-loop latency is measured from each operation's due time, not from when it actually
//! started, so a stall that holds sends back shows in the tail instead of hiding in fewer
//! samples (no coordinated omission).

pub mod arrivals;
pub mod cpu;
mod driver;
mod pacer;
mod recorder;
pub mod report;
mod reporter;
mod schedule;
mod summary;

use std::borrow::Cow;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

pub use driver::{run, run_from};
pub use reporter::{Collected, IntervalLine};
pub use summary::{group_digits, rate, Percentiles};

/// One unit of load: a send (of one message or a batch), a receive, a round trip.
pub trait Operation: Send + Sync + 'static {
    /// Runs operation number `seq` (unique in the run) on worker `worker`; `measured` is
    /// false for warm-up operations.
    fn call(
        &self,
        worker: usize,
        seq: u64,
        measured: bool,
    ) -> impl Future<Output = Result<(), Failure>> + Send;
}

/// Why an operation failed, as a short kind the summary counts by (`timeout`,
/// `refused SYSTEM_BUSY(2)`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    kind: Cow<'static, str>,
}

impl Failure {
    /// A failure of the given kind.
    pub fn new(kind: impl Into<Cow<'static, str>>) -> Failure {
        Failure { kind: kind.into() }
    }

    /// The kind, as counted.
    pub fn kind(&self) -> &str {
        &self.kind
    }
}

/// What a bench tells the harness about its operations.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The bench's name (`produce`).
    pub bench: &'static str,
    /// Messages each operation carries.
    pub messages_per_op: u64,
    /// Body bytes per message (for MB/s).
    pub message_size: usize,
    /// The bench's own settings, copied into the JSON report.
    pub settings: serde_json::Value,
    /// A word for the per-second lines when a run prints two kinds (`send`, `e2e`).
    pub label: Option<&'static str>,
}

/// The harness's command-line options, flattened into each network bench's.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Operations in flight at once (one task each).
    #[arg(short = 'c', long, default_value_t = 64)]
    pub concurrency: usize,
    /// Messages per second, paced (open loop; latency counts from each send's due time).
    /// Without it: as fast as the operations complete (closed loop).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Measured seconds, after the warm-up [default: 10, unless --count is given].
    #[arg(long, conflicts_with = "count")]
    pub duration: Option<f64>,
    /// Measured messages, after the warm-up.
    #[arg(long)]
    pub count: Option<u64>,
    /// Seconds run first and left out of the summary (connections, caches, JIT-free warm-up).
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f64,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also report the CPU time of this process (the server under test) per message.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Runtime worker threads [default: one for paced runs, one per core otherwise].
    #[arg(long)]
    pub threads: Option<usize>,
}

impl LoadArgs {
    /// A tokio runtime with the requested number of worker threads. A paced run gets one
    /// unless told otherwise: at 10,000 sends a second one thread needs a third less CPU than
    /// two (every hand-over between them is a wake-up) and starts sends as punctually.
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        crate::bench::runtime(self.threads.or(self.rate.map(|_| 1)))
    }

    fn seconds(value: f64, what: &str) -> anyhow::Result<Duration> {
        Duration::try_from_secs_f64(value)
            .map_err(|_| anyhow::anyhow!("{what} must be a number of seconds ≥ 0, not {value}"))
    }

    /// The schedule these options describe, for operations of `messages_per_op` messages.
    fn schedule(&self, messages_per_op: u64) -> anyhow::Result<schedule::Schedule> {
        anyhow::ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        anyhow::ensure!(self.rate != Some(0), "--rate must be above 0 (omit it for no limit)");
        let per_op = messages_per_op.max(1);
        let limit = match (self.count, self.duration) {
            (Some(count), _) => {
                anyhow::ensure!(count > 0, "--count must be at least 1");
                schedule::Limit::Count(count.div_ceil(per_op))
            }
            (None, Some(secs)) => schedule::Limit::Duration(Self::seconds(secs, "--duration")?),
            (None, None) => schedule::Limit::Duration(Duration::from_secs(10)),
        };
        Ok(schedule::Schedule {
            rate: self.rate,
            messages_per_op: per_op,
            warmup: Self::seconds(self.warmup, "--warmup")?,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        load: LoadArgs,
    }

    fn parse(args: &[&str]) -> LoadArgs {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).unwrap().load
    }

    #[test]
    fn options_become_a_schedule() {
        let s = parse(&[]).schedule(1).unwrap();
        assert_eq!(s.limit, schedule::Limit::Duration(Duration::from_secs(10)));
        assert_eq!(s.rate, None);
        let s =
            parse(&["--count", "1000", "--rate", "500", "--warmup", "1.5"]).schedule(8).unwrap();
        // 1,000 messages in batches of 8 take 125 operations.
        assert_eq!(s.limit, schedule::Limit::Count(125));
        assert_eq!(s.warmup, Duration::from_millis(1_500));
        assert_eq!(s.messages_per_op, 8);
        assert!(parse(&["--rate", "0"]).schedule(1).is_err());
        assert!(parse(&["-c", "0"]).schedule(1).is_err());
        assert!(parse(&["--warmup=-1"]).schedule(1).is_err());
        let both = Cli::try_parse_from(["bench", "--count", "1", "--duration", "1"]);
        assert!(both.is_err(), "--count and --duration exclude each other");
    }
}
