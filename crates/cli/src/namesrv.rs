//! `ferromq namesrv`: runs a name server until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use ferromq_namesrv::{NameServer, NamesrvConfig};

use crate::settings;

/// Options of `ferromq namesrv`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, HOST:PORT or PORT (overrides the config file).
    #[arg(long)]
    listen: Option<String>,
    /// TOML file with name-server settings under RocketMQ's names (listenPort, kvConfigPath, …).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Starts the name server and serves until asked to stop.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut config: NamesrvConfig = settings::load(args.config.as_deref())?;
    if let Some(listen) = &args.listen {
        let (host, port) = settings::split_listen(listen)?;
        config.listen_addr = host;
        config.listen_port = port;
    }
    let server = NameServer::bind(config).await.context("cannot start the name server")?;
    let addr = server.local_addr()?;
    println!("The Name Server boot success. Listening on {addr}; press Ctrl-C to stop.");
    server.run(crate::shutdown::signal()).await;
    Ok(())
}
