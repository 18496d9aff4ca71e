//! `ferromq broker`: runs a broker until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use ferromq_broker::{Broker, BrokerConfig};

use crate::settings;

/// Options of `ferromq broker`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// TOML file with broker and store settings under RocketMQ's names (brokerName,
    /// namesrvAddr, listenPort, storePathRootDir, flushDiskType, …).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on, HOST:PORT or PORT (overrides the file).
    #[arg(long)]
    listen: Option<String>,
    /// Name servers, `;`-separated (overrides the file's namesrvAddr).
    #[arg(long)]
    namesrv: Option<String>,
    /// Data folder (overrides the file's storePathRootDir).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Builds the broker configuration from the file and the options.
pub fn config(args: &Args) -> anyhow::Result<BrokerConfig> {
    let mut config: BrokerConfig = settings::load_checked(args.config.as_deref())?;
    if let Some(listen) = &args.listen {
        let (host, port) = settings::split_listen(listen)?;
        config.listen_addr = host;
        config.listen_port = port;
    }
    if let Some(namesrv) = &args.namesrv {
        config.namesrv_addr = namesrv.clone();
    }
    if let Some(data) = &args.data {
        config.store.store_path_root_dir = data.clone();
    }
    Ok(config)
}

/// Starts the broker and serves until asked to stop.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let config = config(&args)?;
    let data = config.store.store_path_root_dir.clone();
    let broker = Broker::bind(config).await.context("cannot start the broker")?;
    let addr = broker.local_addr()?;
    println!(
        "The broker boot success. Listening on {addr}, data in {}; press Ctrl-C to stop.",
        data.display()
    );
    broker.run(crate::shutdown::signal()).await?;
    Ok(())
}
