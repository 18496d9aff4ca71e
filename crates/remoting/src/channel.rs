//! `Channel`: one live connection, as the code above the socket sees it. Calls on it are
//! matched to their responses by opaque; it is cheap to clone and can be kept (the broker
//! keeps its clients' channels to send them requests).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use ferromq_protocol::frame::encode_to_bytes;
use ferromq_protocol::{RemotingCommand, SerializeType};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::error::RemotingError;

/// Request ids, per process as in RocketMQ.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);
static NEXT_CHANNEL_ID: AtomicU64 = AtomicU64::new(1);

type PendingTable = Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>;

/// A handle on one connection.
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    peer: SocketAddr,
    local: SocketAddr,
    outbound: mpsc::Sender<Bytes>,
    pending: PendingTable,
    pending_permits: Semaphore,
    closed: CancellationToken,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.inner.id)
            .field("peer", &self.inner.peer)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Channel {
    pub(crate) fn new(
        peer: SocketAddr,
        local: SocketAddr,
        outbound: mpsc::Sender<Bytes>,
        max_pending: usize,
    ) -> Self {
        Channel {
            inner: Arc::new(Inner {
                id: NEXT_CHANNEL_ID.fetch_add(1, Ordering::Relaxed),
                peer,
                local,
                outbound,
                pending: Mutex::new(HashMap::new()),
                pending_permits: Semaphore::new(max_pending),
                closed: CancellationToken::new(),
            }),
        }
    }

    /// A process-unique id of this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The remote end's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer
    }

    /// The local end's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// Whether the connection has closed.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    /// Closes the connection: queued frames are still written, then the socket is shut.
    pub fn close(&self) {
        self.inner.closed.cancel();
    }

    /// Resolves once the connection has closed.
    pub async fn closed(&self) {
        self.inner.closed.cancelled().await;
    }

    pub(crate) fn close_token(&self) -> &CancellationToken {
        &self.inner.closed
    }

    /// Sends `request` and waits up to `timeout` for its response.
    pub async fn invoke(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let _permit = tokio::time::timeout_at(deadline, self.inner.pending_permits.acquire())
            .await
            .map_err(|_| RemotingError::TooManyInFlight { addr: self.peer_label() })?
            .map_err(|_| self.closed_error())?;
        let opaque = NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed);
        request.opaque = opaque;
        let frame = encode_frame(&request)?;
        let (tx, rx) = oneshot::channel();
        let guard = PendingGuard { table: &self.inner.pending, opaque };
        guard.insert(tx);
        if self.is_closed() {
            return Err(self.closed_error());
        }
        tokio::time::timeout_at(deadline, self.inner.outbound.send(frame))
            .await
            .map_err(|_| self.timeout_error(timeout))?
            .map_err(|_| self.closed_error())?;
        // Biased: a response that arrived just before the connection closed still counts.
        tokio::select! {
            biased;
            response = rx => response.map_err(|_| self.closed_error()),
            _ = tokio::time::sleep_until(deadline) => Err(self.timeout_error(timeout)),
            _ = self.inner.closed.cancelled() => Err(self.closed_error()),
        }
    }

    /// Sends `request` one-way: the peer answers nothing.
    pub async fn invoke_oneway(&self, request: RemotingCommand) -> Result<(), RemotingError> {
        let mut request = request.into_oneway();
        request.opaque = NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed);
        self.send(&request).await
    }

    /// Writes one command as it is (used for responses).
    pub(crate) async fn send(&self, cmd: &RemotingCommand) -> Result<(), RemotingError> {
        let frame = encode_frame(cmd)?;
        if self.is_closed() {
            return Err(self.closed_error());
        }
        self.inner.outbound.send(frame).await.map_err(|_| self.closed_error())
    }

    /// Hands a response to the call waiting for it; false if none waits (it timed out).
    pub(crate) fn complete(&self, response: RemotingCommand) -> bool {
        let waiter = self
            .inner
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&response.opaque);
        match waiter {
            Some(tx) => tx.send(response).is_ok(),
            None => false,
        }
    }

    /// Fails every waiting call (the connection is gone).
    pub(crate) fn fail_pending(&self) {
        self.inner.pending.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    fn peer_label(&self) -> String {
        self.inner.peer.to_string()
    }

    fn closed_error(&self) -> RemotingError {
        RemotingError::ConnectionClosed { addr: self.peer_label() }
    }

    fn timeout_error(&self, timeout: Duration) -> RemotingError {
        RemotingError::Timeout { addr: self.peer_label(), timeout }
    }
}

/// Encodes a command; one that the binary header cannot carry (a code above i16) goes as JSON.
fn encode_frame(cmd: &RemotingCommand) -> Result<Bytes, RemotingError> {
    match encode_to_bytes(cmd) {
        Ok(frame) => Ok(frame),
        Err(_) if cmd.serialize_type == SerializeType::RocketMq => {
            let json = cmd.clone().with_serialize_type(SerializeType::Json);
            Ok(encode_to_bytes(&json)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes a pending call's entry however the call ends (response, timeout, cancellation).
struct PendingGuard<'a> {
    table: &'a PendingTable,
    opaque: i32,
}

impl PendingGuard<'_> {
    fn insert(&self, tx: oneshot::Sender<RemotingCommand>) {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).insert(self.opaque, tx);
    }
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.table.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.opaque);
    }
}
