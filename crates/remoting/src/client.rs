//! The remoting client: a pool of connections keyed by address, each made on first use and
//! made again after it closes; calls with a timeout each, and one-way calls.
//!
//! Every call looks its connection up under a shared read lock, without allocating; only a
//! call that finds none (or a closed one) takes the per-address connect lock, so concurrent
//! first calls make one connection between them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use ferromq_protocol::RemotingCommand;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::channel::Channel;
use crate::config::ClientConfig;
use crate::connection::{self, ConnectionOptions};
use crate::error::RemotingError;
use crate::processor::{NoRequests, RequestProcessor};

type Slot = Arc<tokio::sync::Mutex<Option<Channel>>>;

/// A client of remoting servers (name servers, brokers).
pub struct RemotingClient<P: RequestProcessor = NoRequests> {
    config: ClientConfig,
    processor: Arc<P>,
    /// Open connections by address: what every call reads.
    open: RwLock<HashMap<String, Channel>>,
    /// One connect lock per address.
    pool: Mutex<HashMap<String, Slot>>,
    shutdown: CancellationToken,
}

impl<P: RequestProcessor> std::fmt::Debug for RemotingClient<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotingClient").field("config", &self.config).finish()
    }
}

impl RemotingClient<NoRequests> {
    /// A client that answers server-initiated requests as not supported.
    pub fn new(config: ClientConfig) -> Self {
        Self::with_processor(config, Arc::new(NoRequests))
    }
}

impl<P: RequestProcessor> RemotingClient<P> {
    /// A client whose connections hand server-initiated requests to `processor`.
    pub fn with_processor(config: ClientConfig, processor: Arc<P>) -> Self {
        RemotingClient {
            config,
            processor,
            open: RwLock::new(HashMap::new()),
            pool: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
        }
    }

    /// Calls `addr` and waits up to `timeout` for the response (connecting counts too).
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let channel = tokio::time::timeout_at(deadline, self.channel(addr))
            .await
            .map_err(|_| RemotingError::Timeout { addr: addr.to_string(), timeout })??;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        channel.invoke(request, left).await.map_err(|e| match e {
            RemotingError::Timeout { addr, .. } => RemotingError::Timeout { addr, timeout },
            other => other,
        })
    }

    /// Sends a one-way request to `addr`.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.channel(addr).await?.invoke_oneway(request).await
    }

    /// The open connection to `addr`, connecting if there is none.
    pub async fn channel(&self, addr: &str) -> Result<Channel, RemotingError> {
        if let Some(channel) = self.open_channel(addr) {
            return Ok(channel);
        }
        let slot = {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(pool.entry(addr.to_string()).or_default())
        };
        let mut slot = slot.lock().await;
        if let Some(channel) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(channel.clone());
        }
        let channel = self.connect(addr).await?;
        *slot = Some(channel.clone());
        self.open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(addr.to_string(), channel.clone());
        Ok(channel)
    }

    fn open_channel(&self, addr: &str) -> Option<Channel> {
        let open = self.open.read().unwrap_or_else(PoisonError::into_inner);
        open.get(addr).filter(|c| !c.is_closed()).cloned()
    }

    /// Closes the connection to `addr`, if any; the next call connects again.
    pub fn close(&self, addr: &str) {
        self.open.write().unwrap_or_else(PoisonError::into_inner).remove(addr);
        let slot = self.pool.lock().unwrap_or_else(PoisonError::into_inner).remove(addr);
        if let Some(slot) = slot {
            if let Ok(guard) = slot.try_lock() {
                if let Some(channel) = guard.as_ref() {
                    channel.close();
                }
            }
        }
    }

    /// Closes every connection.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
        self.open.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.pool.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    async fn connect(&self, addr: &str) -> Result<Channel, RemotingError> {
        let connect_error =
            |reason: String| RemotingError::Connect { addr: addr.to_string(), reason };
        let stream = tokio::time::timeout(self.config.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                connect_error(format!("no answer within {:?}", self.config.connect_timeout))
            })?
            .map_err(|e| connect_error(e.to_string()))?;
        let options = ConnectionOptions {
            max_frame_size: self.config.max_frame_size,
            max_in_flight: 1024,
            max_pending: self.config.max_in_flight_per_connection,
            idle_timeout: None,
            shutdown_grace: Duration::from_millis(100),
        };
        let (channel, driver) =
            connection::start(stream, Arc::clone(&self.processor), options, self.shutdown.clone())
                .map_err(|e| connect_error(e.to_string()))?;
        tokio::spawn(driver);
        Ok(channel)
    }
}

impl<P: RequestProcessor> Drop for RemotingClient<P> {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
