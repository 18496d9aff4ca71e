//! The remoting server: accepts connections, drives each with the connection layer, and
//! stops gracefully (stop accepting, finish in-flight requests, close).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::ServerConfig;
use crate::connection::{self, ConnectionOptions};
use crate::processor::RequestProcessor;

/// A bound, not yet serving, remoting server.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    config: ServerConfig,
}

impl Server {
    /// Binds to `addr` (port 0 picks a free port).
    pub async fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server { listener, config })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops gracefully: no new connections, requests
    /// already read finish and are answered (up to `shutdown_grace`), connections close.
    pub async fn serve<P: RequestProcessor>(
        self,
        processor: Arc<P>,
        shutdown: impl Future<Output = ()>,
    ) {
        let stop = CancellationToken::new();
        let connections = TaskTracker::new();
        let limit = Arc::new(Semaphore::new(self.config.max_connections));
        let options = ConnectionOptions {
            max_frame_size: self.config.max_frame_size,
            max_in_flight: self.config.max_in_flight_per_connection,
            max_pending: 65_535,
            idle_timeout: Some(self.config.idle_timeout),
            shutdown_grace: self.config.shutdown_grace,
        };
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(10);
        loop {
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = limit.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    backoff = Duration::from_millis(10);
                    stream
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, then keep serving.
                    error!("accept failed: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            match connection::start(stream, Arc::clone(&processor), options.clone(), stop.clone()) {
                Ok((_channel, driver)) => {
                    connections.spawn(async move {
                        driver.await;
                        drop(permit);
                    });
                }
                Err(e) => warn!("cannot set up an accepted connection: {e}"),
            }
        }
        info!("remoting server stopping: {} connections to close", connections.len());
        stop.cancel();
        connections.close();
        let grace = self.config.shutdown_grace + Duration::from_secs(1);
        if tokio::time::timeout(grace, connections.wait()).await.is_err() {
            warn!("connections still open after the shutdown grace period");
        }
    }
}
