//! Drives one TCP connection: a reader task that decodes frames and dispatches them, and a
//! writer task that batches queued frames into as few writes as possible. Used by both the
//! server and the client, since both ends send requests and responses.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferromq_protocol::RemotingCommand;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::channel::Channel;
use crate::codec::{DecodeError, FrameDecoder};
use crate::processor::RequestProcessor;

/// Frames queued for writing per connection before senders wait.
const OUTBOUND_QUEUE: usize = 4096;
/// Small frames are gathered into one write up to this size.
const WRITE_BATCH: usize = 64 * 1024;

/// How one connection is driven.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionOptions {
    pub max_frame_size: usize,
    /// Incoming requests processed at once.
    pub max_in_flight: usize,
    /// Outgoing calls awaiting responses.
    pub max_pending: usize,
    /// Close after this long without an incoming frame.
    pub idle_timeout: Option<Duration>,
    /// How long a graceful stop waits for requests being processed.
    pub shutdown_grace: Duration,
}

/// Starts driving `stream`; the returned future resolves once the connection has closed and
/// `on_close` has run. The channel is handed back through `on_ready` before any frame is read.
pub(crate) fn start<P: RequestProcessor>(
    stream: TcpStream,
    processor: Arc<P>,
    options: ConnectionOptions,
    shutdown: CancellationToken,
) -> std::io::Result<(Channel, impl std::future::Future<Output = ()> + Send)> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let (read_half, write_half) = stream.into_split();
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let channel = Channel::new(peer, local, tx, options.max_pending);
    processor.on_connect(&channel);
    let writer = tokio::spawn(write_loop(write_half, rx, channel.close_token().clone()));
    let driver_channel = channel.clone();
    let driver = async move {
        let frames = FramedRead::new(read_half, FrameDecoder::new(options.max_frame_size));
        read_loop(frames, &driver_channel, &processor, &options, &shutdown).await;
        driver_channel.close();
        driver_channel.fail_pending();
        if let Err(e) = writer.await {
            warn!(peer = %driver_channel.peer_addr(), "connection writer failed: {e}");
        }
        processor.on_close(&driver_channel);
        debug!(peer = %driver_channel.peer_addr(), "connection closed");
    };
    Ok((channel, driver))
}

async fn read_loop<P: RequestProcessor>(
    mut frames: FramedRead<tokio::net::tcp::OwnedReadHalf, FrameDecoder>,
    channel: &Channel,
    processor: &Arc<P>,
    options: &ConnectionOptions,
    shutdown: &CancellationToken,
) {
    let in_flight = Arc::new(Semaphore::new(options.max_in_flight));
    let peer = channel.peer_addr();
    loop {
        let next = async {
            match options.idle_timeout {
                Some(idle) => tokio::time::timeout(idle, frames.next()).await.ok(),
                None => Some(frames.next().await),
            }
        };
        let frame = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = channel.closed() => break,
            frame = next => frame,
        };
        let cmd = match frame {
            None => {
                debug!(%peer, "closing idle connection");
                break;
            }
            Some(None) => break,
            Some(Some(Ok(cmd))) => cmd,
            Some(Some(Err(DecodeError::Protocol(e)))) => {
                warn!(%peer, "closing connection after a malformed frame: {e}");
                break;
            }
            Some(Some(Err(DecodeError::Io(e)))) => {
                debug!(%peer, "connection read failed: {e}");
                break;
            }
        };
        if cmd.is_response() {
            if !channel.complete(cmd) {
                debug!(%peer, "dropping a response nobody waits for");
            }
            continue;
        }
        // Back-pressure: past the in-flight cap, stop reading until a request finishes.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = in_flight.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let processor = Arc::clone(processor);
        let channel = channel.clone();
        tokio::spawn(async move {
            handle_request(&*processor, &channel, cmd).await;
            drop(permit);
        });
    }
    // Let the requests already taken finish (their responses are still written).
    let all = u32::try_from(options.max_in_flight).unwrap_or(u32::MAX);
    if tokio::time::timeout(options.shutdown_grace, in_flight.acquire_many(all)).await.is_err() {
        warn!(%peer, "requests still running at close");
    }
}

async fn handle_request<P: RequestProcessor>(
    processor: &P,
    channel: &Channel,
    request: RemotingCommand,
) {
    let opaque = request.opaque;
    let oneway = request.is_oneway();
    let serialize_type = request.serialize_type;
    let code = request.code;
    let Some(mut response) = processor.process(channel, request).await else {
        return;
    };
    if oneway {
        return;
    }
    response.opaque = opaque;
    response.flag |= ferromq_protocol::command::FLAG_RESPONSE;
    response.serialize_type = serialize_type;
    if let Err(e) = channel.send(&response).await {
        debug!(peer = %channel.peer_addr(), code, "response not sent: {e}");
    }
}

async fn write_loop(
    mut socket: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Bytes>,
    closed: CancellationToken,
) {
    let mut batch = BytesMut::with_capacity(WRITE_BATCH);
    loop {
        let first = tokio::select! {
            biased;
            frame = rx.recv() => frame,
            _ = closed.cancelled() => None,
        };
        let Some(first) = first else { break };
        if rx.is_empty() {
            // Queuing a frame wakes this task first (tokio runs a just-woken task next), so
            // without this it wrote every frame alone: one syscall per request or response.
            // Letting the other ready tasks run first gathers what they send into one write.
            tokio::task::yield_now().await;
        }
        if write_batch(&mut socket, &mut rx, &mut batch, first).await.is_err() {
            closed.cancel();
            return;
        }
    }
    // Closing: write what was already queued, then shut the socket.
    while let Ok(frame) = rx.try_recv() {
        if socket.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = socket.shutdown().await;
}

/// Writes `first` and whatever else is queued, gathering small frames into one write.
async fn write_batch(
    socket: &mut OwnedWriteHalf,
    rx: &mut mpsc::Receiver<Bytes>,
    batch: &mut BytesMut,
    first: Bytes,
) -> std::io::Result<()> {
    let mut next = Some(first);
    while let Some(frame) = next.take() {
        if frame.len() >= WRITE_BATCH / 4 {
            // Large frames go straight out, after what was gathered before them.
            if !batch.is_empty() {
                socket.write_all(batch).await?;
                batch.clear();
            }
            socket.write_all(&frame).await?;
        } else {
            batch.extend_from_slice(&frame);
        }
        if batch.len() < WRITE_BATCH {
            next = rx.try_recv().ok();
        }
    }
    if !batch.is_empty() {
        socket.write_all(batch).await?;
        batch.clear();
    }
    Ok(())
}
