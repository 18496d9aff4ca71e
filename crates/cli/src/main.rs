//! The `ferromq` binary: one executable for every role, chosen by subcommand.

mod bench;
mod broker;
mod namesrv;
mod settings;
mod shutdown;
mod standalone;

use clap::{Parser, Subcommand};

/// FerroMQ: a RocketMQ-compatible message engine.
#[derive(Debug, Parser)]
#[command(name = "ferromq", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a name server and a broker in one process, data in a local folder.
    Standalone(standalone::Args),
    /// Run a name server (routing for producers and consumers).
    Namesrv(namesrv::Args),
    /// Run a broker (stores messages and serves producers and consumers).
    Broker(broker::Args),
    /// Measure throughput and latency.
    #[command(subcommand)]
    Bench(bench::Bench),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Standalone(args) => runtime()?.block_on(standalone::run(args)),
        Command::Namesrv(args) => runtime()?.block_on(namesrv::run(args)),
        Command::Broker(args) => runtime()?.block_on(broker::run(args)),
        Command::Bench(bench) => bench::run(bench),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}
