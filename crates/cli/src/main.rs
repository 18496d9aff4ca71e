//! The `ferromq` binary: one executable for every role, chosen by subcommand.

mod admin;
mod bench;
mod broker;
mod namesrv;
mod settings;
mod shutdown;
mod standalone;

use clap::{Parser, Subcommand};

/// mimalloc rather than the system allocator: the request path allocates small buffers and
/// headers on every message, and glibc's malloc spent a quarter of the bench's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Administer a cluster: topics, groups, offsets, messages (mqadmin's commands).
    Admin(admin::AdminArgs),
    /// Measure throughput and latency.
    #[command(subcommand)]
    Bench(bench::Bench),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Admin commands print results on stdout; their logs go to stderr, warnings only.
    init_logging(matches!(cli.command, Command::Admin(_)));
    match cli.command {
        Command::Standalone(args) => runtime()?.block_on(standalone::run(args)),
        Command::Namesrv(args) => runtime()?.block_on(namesrv::run(args)),
        Command::Broker(args) => runtime()?.block_on(broker::run(args)),
        Command::Admin(args) => {
            // One line on stderr (the cause chain, no backtrace) and exit code 1.
            if let Err(e) = admin::run(args) {
                eprintln!("Error: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench(bench) => bench::run(bench),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Logs follow `RUST_LOG` (default `info`; `warn` on stderr for admin commands, whose
/// stdout carries their results).
fn init_logging(admin: bool) {
    let default_level = if admin { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if admin {
        logs.with_writer(std::io::stderr).init();
    } else {
        logs.init();
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // Clap checks every subcommand's options (unique names, valid groups) here rather
        // than when a user first runs that subcommand.
        super::Cli::command().debug_assert();
    }
}
