//! Runs a name server: the remoting server with the name-server processor, and the task that
//! expires brokers not heard from.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use ferromq_remoting::{Server, ServerConfig};
use tracing::info;

use crate::config::NamesrvConfig;
use crate::error::NamesrvError;
use crate::kv_config::KvConfig;
use crate::processor::NamesrvProcessor;

/// A name server bound to its port, ready to serve.
#[derive(Debug)]
pub struct NameServer {
    server: Server,
    processor: Arc<NamesrvProcessor>,
    config: NamesrvConfig,
}

impl NameServer {
    /// Validates `config`, loads the KV config and binds the port.
    pub async fn bind(config: NamesrvConfig) -> Result<NameServer, NamesrvError> {
        config.validate()?;
        let kv = KvConfig::open(&config.kv_config_path)?;
        let server_config =
            ServerConfig { max_frame_size: config.max_frame_size, ..ServerConfig::default() };
        let addr = config.bind_addr();
        let server = Server::bind(&addr, server_config)
            .await
            .map_err(|source| NamesrvError::Bind { addr, source })?;
        let processor = Arc::new(NamesrvProcessor::new(config.clone(), kv));
        Ok(NameServer { server, processor, config })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, NamesrvError> {
        self.server
            .local_addr()
            .map_err(|source| NamesrvError::Bind { addr: self.config.bind_addr(), source })
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let processor = Arc::clone(&self.processor);
        let interval = self.config.scan_interval();
        let scanner = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                processor.expire_brokers();
            }
        });
        info!(addr = ?self.server.local_addr().ok(), "name server serving");
        self.server.serve(self.processor, shutdown).await;
        scanner.abort();
        info!("name server stopped");
    }
}
