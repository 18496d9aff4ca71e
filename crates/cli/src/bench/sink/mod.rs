//! `ferromq bench sink`: a trivial server that is its own name server and broker on one
//! port — it routes every topic to itself and answers every send at once without storing
//! anything. Producing to it measures the floor: what the network and the client cost.
//! `ferromq bench produce -n <sink address>` works against it unchanged.

mod processor;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ferromq_remoting::{Server, ServerConfig};

use super::load::cpu;
use processor::Sink;

/// Options of `ferromq bench sink`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on; clients use it as both name server and broker.
    #[arg(long, default_value = "127.0.0.1:9876")]
    listen: String,
    /// Address routes point clients at [default: the listen address, with 127.0.0.1 for an
    /// unspecified IP].
    #[arg(long)]
    advertise: Option<SocketAddr>,
    /// Queues of every topic.
    #[arg(long, default_value_t = 8)]
    queues: i32,
    /// Broker name in routes.
    #[arg(long, default_value = "sink")]
    broker_name: String,
    /// Runtime worker threads [default: one per core].
    #[arg(long)]
    threads: Option<usize>,
}

/// Runs the sink until Ctrl-C or SIGTERM, then prints what it answered.
pub fn run(args: Args) -> anyhow::Result<()> {
    crate::bench::runtime(args.threads)?.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.queues > 0, "--queues must be at least 1");
    let server = Server::bind(args.listen.as_str(), ServerConfig::default())
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = server.local_addr()?;
    let advertised = args.advertise.unwrap_or_else(|| {
        let mut addr = local;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        addr
    });
    let sink = Arc::new(Sink::new(&args.broker_name, advertised, args.queues));
    println!(
        "bench sink listening on {local}: name server and broker {} ({} queues per topic) at {advertised}",
        args.broker_name, args.queues
    );
    println!("Produce to it with: ferromq bench produce -n {advertised}");
    let cpu_before = cpu::this_process();
    let started = Instant::now();
    server.serve(Arc::clone(&sink), crate::shutdown::signal()).await;
    let elapsed = started.elapsed();
    let counters = &sink.counters;
    let messages = counters.messages.load(Ordering::Relaxed);
    println!(
        "bench sink: {} send requests, {} messages ({} bytes of bodies), {} refused, in {:.1} s",
        counters.send_requests.load(Ordering::Relaxed),
        messages,
        counters.bytes.load(Ordering::Relaxed),
        counters.refused.load(Ordering::Relaxed),
        elapsed.as_secs_f64()
    );
    if let Some((before, after)) = cpu_before.zip(cpu::this_process()) {
        let report =
            cpu::CpuReport::new(std::process::id(), after.since(&before), messages, elapsed);
        println!("sink CPU: {}", report.text());
    }
    Ok(())
}
