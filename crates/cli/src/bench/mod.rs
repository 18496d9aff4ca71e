//! `ferromq bench …`: load generators that measure FerroMQ — the store directly, and any
//! RocketMQ-protocol cluster over the network (with a sink server for the floor).

mod consume;
mod e2e;
mod load;
mod produce;
mod sink;
mod stamp;
mod store;

use clap::Subcommand;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Append to and read from a store directly, without the network.
    Store(store::Args),
    /// Sync sends to a cluster through the producer, paced or as fast as possible.
    Produce(produce::Args),
    /// A push consumer counting what it receives and how long each message took to arrive.
    Consume(consume::Args),
    /// Sends and consumes the same messages: send latency and send-to-consume latency.
    E2e(e2e::Args),
    /// A server that is its own name server and broker and answers every send at once
    /// without storing it: the floor of what the network and the client cost.
    Sink(sink::Args),
}

/// Runs the chosen benchmark.
pub fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Store(args) => store::run(args),
        Bench::Produce(args) => produce::run(args),
        Bench::Consume(args) => consume::run(args),
        Bench::E2e(args) => e2e::run(args),
        Bench::Sink(args) => sink::run(args),
    }
}

/// A multi-threaded tokio runtime with `threads` workers (one per core when `None`).
pub fn runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    builder.enable_all().build()
}

/// Resident memory of this process from /proc (total, anonymous, file-backed), in bytes.
pub fn resident_memory() -> Option<(u64, u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("RssAnon:")?, field("RssFile:")?))
}
