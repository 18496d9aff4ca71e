//! `ferromq standalone`: a name server and a broker in one process, with a local data
//! folder and RocketMQ's default ports — the quickest way to a working FerroMQ.

use std::path::PathBuf;

use anyhow::Context;
use ferromq_broker::{Broker, BrokerConfig};
use ferromq_namesrv::{NameServer, NamesrvConfig};

/// Options of `ferromq standalone`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data folder for the broker's store and the name server's KV config.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Name server port.
    #[arg(long, default_value_t = 9876)]
    namesrv_port: u16,
    /// Broker port.
    #[arg(long, default_value_t = 10911)]
    broker_port: u16,
    /// Address both listen on.
    #[arg(long, default_value = "0.0.0.0")]
    listen_addr: String,
    /// Address the broker publishes to clients (`brokerIP1`).
    #[arg(long, default_value = "127.0.0.1")]
    broker_ip: String,
    /// TOML file with broker and store settings (the options above win).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs both until asked to stop.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let namesrv_config = NamesrvConfig {
        listen_addr: args.listen_addr.clone(),
        listen_port: args.namesrv_port,
        kv_config_path: args.data.join("namesrv").join("kvConfig.json"),
        ..NamesrvConfig::default()
    };
    let namesrv = NameServer::bind(namesrv_config).await.context("cannot start the name server")?;
    let namesrv_addr = namesrv.local_addr()?;

    // Standalone creates topics on first use unless its file says otherwise.
    let defaults = BrokerConfig { auto_create_topic_enable: true, ..BrokerConfig::default() };
    let mut broker_config: BrokerConfig =
        crate::settings::load_checked_over(args.config.as_deref(), defaults)?;
    broker_config.listen_addr = args.listen_addr.clone();
    broker_config.listen_port = args.broker_port;
    broker_config.broker_ip1 = args.broker_ip.clone();
    broker_config.namesrv_addr = format!("127.0.0.1:{}", namesrv_addr.port());
    broker_config.store.store_path_root_dir = args.data.join("store");
    let broker = Broker::bind(broker_config).await.context("cannot start the broker")?;
    let broker_addr = broker.local_addr()?;

    println!("FerroMQ standalone is up:");
    println!(
        "  name server  {namesrv_addr}   (clients: namesrvAddr=127.0.0.1:{})",
        namesrv_addr.port()
    );
    println!(
        "  broker       {broker_addr}   (published as {}:{})",
        args.broker_ip,
        broker_addr.port()
    );
    println!("  data         {}", args.data.display());
    println!("Press Ctrl-C (or send SIGTERM) to stop.");

    // The broker stops first, so it can still unregister from the name server.
    let (stop_broker, broker_stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_namesrv, namesrv_stopped) = tokio::sync::oneshot::channel::<()>();
    let namesrv_task = tokio::spawn(namesrv.run(async move {
        let _ = namesrv_stopped.await;
    }));
    let broker_task = tokio::spawn(broker.run(async move {
        let _ = broker_stopped.await;
    }));
    crate::shutdown::signal().await;
    let _ = stop_broker.send(());
    let broker_outcome = broker_task.await.context("broker task failed")?;
    let _ = stop_namesrv.send(());
    namesrv_task.await.context("name server task failed")?;
    broker_outcome?;
    Ok(())
}
