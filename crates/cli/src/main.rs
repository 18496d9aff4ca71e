//! The `ferromq` binary: one executable for every role, chosen by subcommand.

mod bench;
mod namesrv;
mod settings;
mod shutdown;

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
    /// Run a name server (routing for producers and consumers).
    Namesrv(namesrv::Args),
    /// Measure throughput and latency.
    #[command(subcommand)]
    Bench(bench::Bench),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Command::Namesrv(args) => runtime()?.block_on(namesrv::run(args)),
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
