//! Server and client together over loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferromq_protocol::{RemotingCommand, RequestCode, ResponseCode, SerializeType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Notify};

use super::*;

const CALL: Duration = Duration::from_secs(5);

/// Echoes the `echo` ext field back as the remark; code 1 sleeps `ms`; code 2 waits on the
/// gate; code 3 calls back the client over the same connection.
#[derive(Default)]
struct TestProcessor {
    started: AtomicUsize,
    gate: Notify,
    oneways: Option<mpsc::UnboundedSender<RemotingCommand>>,
}

impl RequestProcessor for TestProcessor {
    async fn process(
        &self,
        channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        self.started.fetch_add(1, Ordering::SeqCst);
        if request.is_oneway() {
            if let Some(tx) = &self.oneways {
                let _ = tx.send(request.clone());
            }
        }
        match request.code {
            1 => {
                let ms = request.ext_fields.get("ms").and_then(|v| v.parse().ok()).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            2 => self.gate.notified().await,
            3 => {
                let back = channel
                    .invoke(RemotingCommand::request(RequestCode::GET_CONSUMER_RUNNING_INFO), CALL)
                    .await
                    .ok()?;
                return Some(
                    RemotingCommand::response(ResponseCode::SUCCESS)
                        .with_remark(format!("client said {}", back.remark.unwrap_or_default())),
                );
            }
            _ => {}
        }
        let echo = request.ext_fields.get("echo").unwrap_or_default().to_string();
        Some(
            RemotingCommand::response(ResponseCode::SUCCESS)
                .with_remark(echo)
                .with_body(request.body),
        )
    }
}

struct Running {
    addr: SocketAddr,
    processor: Arc<TestProcessor>,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(config: ServerConfig, processor: TestProcessor) -> Running {
    let server = Server::bind("127.0.0.1:0", config).await.unwrap();
    let addr = server.local_addr().unwrap();
    let processor = Arc::new(processor);
    let (stop, stopped) = oneshot::channel::<()>();
    let p = Arc::clone(&processor);
    let done = tokio::spawn(server.serve(p, async move {
        let _ = stopped.await;
    }));
    Running { addr, processor, stop: Some(stop), done }
}

fn echo(text: &str) -> RemotingCommand {
    let mut request = RemotingCommand::request(RequestCode(0));
    request.ext_fields.insert("echo", text);
    request
}

#[tokio::test]
async fn calls_are_answered_in_their_own_serialization() {
    let server = start(ServerConfig::default(), TestProcessor::default()).await;
    let client = RemotingClient::new(ClientConfig::default());
    let addr = server.addr.to_string();
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let request = echo("hello").with_serialize_type(serialize_type).with_body(&b"body"[..]);
        let response = client.invoke(&addr, request, CALL).await.unwrap();
        assert!(response.is_response());
        assert_eq!(response.serialize_type, serialize_type);
        assert_eq!(response.remark.as_deref(), Some("hello"));
        assert_eq!(&response.body[..], b"body");
    }
}

#[tokio::test]
async fn concurrent_calls_are_matched_by_opaque() {
    let server = start(ServerConfig::default(), TestProcessor::default()).await;
    let client = Arc::new(RemotingClient::new(ClientConfig::default()));
    let addr = server.addr.to_string();
    let calls = (0..200).map(|i| {
        let client = Arc::clone(&client);
        let addr = addr.clone();
        tokio::spawn(async move {
            // Later calls finish first: responses come back out of order.
            let mut request = echo(&i.to_string());
            request.code = 1;
            request.ext_fields.insert("ms", ((200 - i) % 20).to_string());
            let response = client.invoke(&addr, request, CALL).await.unwrap();
            assert_eq!(response.remark, Some(i.to_string()));
        })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap();
    }
}

#[tokio::test]
async fn oneway_requests_get_no_response() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server =
        start(ServerConfig::default(), TestProcessor { oneways: Some(tx), ..Default::default() })
            .await;
    let client = RemotingClient::new(ClientConfig::default());
    let addr = server.addr.to_string();
    client.invoke_oneway(&addr, echo("fire")).await.unwrap();
    let seen = tokio::time::timeout(CALL, rx.recv()).await.unwrap().unwrap();
    assert_eq!(seen.ext_fields.get("echo"), Some("fire"));
    // The raw socket sees nothing come back for a one-way request, then the answer to a
    // normal one: no stray response was written in between.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let mut oneway = echo("x").into_oneway();
    oneway.opaque = 7;
    raw.write_all(&ferromq_protocol::frame::encode_to_bytes(&oneway).unwrap()).await.unwrap();
    let mut normal = echo("y");
    normal.opaque = 8;
    raw.write_all(&ferromq_protocol::frame::encode_to_bytes(&normal).unwrap()).await.unwrap();
    let response = read_frame(&mut raw).await.unwrap();
    assert_eq!(response.opaque, 8);
}

#[tokio::test]
async fn a_slow_call_times_out_and_the_connection_stays_usable() {
    let server = start(ServerConfig::default(), TestProcessor::default()).await;
    let client = RemotingClient::new(ClientConfig::default());
    let addr = server.addr.to_string();
    let mut slow = echo("slow");
    slow.code = 1;
    slow.ext_fields.insert("ms", "2000");
    let err = client.invoke(&addr, slow, Duration::from_millis(100)).await.unwrap_err();
    assert!(matches!(err, RemotingError::Timeout { .. }), "{err:?}");
    let response = client.invoke(&addr, echo("fast"), CALL).await.unwrap();
    assert_eq!(response.remark.as_deref(), Some("fast"));
}

#[tokio::test]
async fn connecting_to_nothing_fails_clearly() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let client = RemotingClient::new(ClientConfig::default());
    let err = client.invoke(&addr, echo("x"), CALL).await.unwrap_err();
    assert!(matches!(err, RemotingError::Connect { .. }), "{err:?}");
}

async fn read_frame(stream: &mut TcpStream) -> Option<RemotingCommand> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.ok()?;
    let mut rest = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut rest).await.ok()?;
    ferromq_protocol::frame::decode_frame_body(rest.into()).ok()
}

/// Reads until the server closes the socket; true if it did within the deadline.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut sink = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + CALL;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let config = ServerConfig { max_frame_size: 1024 * 1024, ..ServerConfig::default() };
    let server = start(config, TestProcessor::default()).await;
    let client = RemotingClient::new(ClientConfig::default());
    let addr = server.addr.to_string();
    client.invoke(&addr, echo("before"), CALL).await.unwrap();

    let garbage: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) | 0x80).collect();
    let mut too_big = Vec::new();
    too_big.extend_from_slice(&(2 * 1024 * 1024i32).to_be_bytes());
    too_big.extend_from_slice(&[0u8; 64]);
    let mut bad_header = Vec::new();
    bad_header.extend_from_slice(&12i32.to_be_bytes());
    bad_header.extend_from_slice(&8u32.to_be_bytes());
    bad_header.extend_from_slice(b"not json");
    for bad in [garbage, too_big, bad_header] {
        let mut raw = TcpStream::connect(server.addr).await.unwrap();
        raw.write_all(&bad).await.unwrap();
        assert!(closed_by_server(&mut raw).await);
        let response = client.invoke(&addr, echo("still here"), CALL).await.unwrap();
        assert_eq!(response.remark.as_deref(), Some("still here"));
    }

    // A truncated frame followed by the peer going away: also only that connection.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    let frame = ferromq_protocol::frame::encode_to_bytes(&echo("cut")).unwrap();
    raw.write_all(&frame[..frame.len() / 2]).await.unwrap();
    drop(raw);
    let response = client.invoke(&addr, echo("after"), CALL).await.unwrap();
    assert_eq!(response.remark.as_deref(), Some("after"));
}

#[tokio::test]
async fn requests_in_flight_are_capped_per_connection() {
    let config = ServerConfig { max_in_flight_per_connection: 2, ..ServerConfig::default() };
    let server = start(config, TestProcessor::default()).await;
    let client = Arc::new(RemotingClient::new(ClientConfig::default()));
    let addr = server.addr.to_string();
    let mut calls = Vec::new();
    for _ in 0..5 {
        let client = Arc::clone(&client);
        let addr = addr.clone();
        calls.push(tokio::spawn(async move {
            let mut gated = echo("gated");
            gated.code = 2;
            client.invoke(&addr, gated, CALL).await
        }));
    }
    wait_for(|| server.processor.started.load(Ordering::SeqCst) == 2).await;
    // Give the server every chance to (wrongly) start a third.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.processor.started.load(Ordering::SeqCst), 2);
    for _ in 0..5 {
        server.processor.gate.notify_one();
        tokio::task::yield_now().await;
    }
    // Release everyone until all calls complete.
    let release = async {
        loop {
            server.processor.gate.notify_waiters();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let all = async {
        for call in calls {
            call.await.unwrap().unwrap();
        }
    };
    tokio::select! {
        _ = release => unreachable!(),
        _ = tokio::time::timeout(CALL, all) => {}
    }
    assert_eq!(server.processor.started.load(Ordering::SeqCst), 5);
}

async fn wait_for(mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + CALL;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Answers server-initiated requests: what a consumer does for GET_CONSUMER_RUNNING_INFO.
struct ClientSide;

impl RequestProcessor for ClientSide {
    async fn process(
        &self,
        _channel: &Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        Some(
            RemotingCommand::response(ResponseCode::SUCCESS)
                .with_remark(format!("code {}", request.code)),
        )
    }
}

#[tokio::test]
async fn servers_can_call_their_clients_back() {
    let server = start(ServerConfig::default(), TestProcessor::default()).await;
    let client = RemotingClient::with_processor(ClientConfig::default(), Arc::new(ClientSide));
    let mut request = echo("callback");
    request.code = 3;
    let response = client.invoke(&server.addr.to_string(), request, CALL).await.unwrap();
    assert_eq!(response.remark.as_deref(), Some("client said code 307"));
}

#[tokio::test]
async fn graceful_shutdown_answers_requests_in_flight() {
    let mut server = start(ServerConfig::default(), TestProcessor::default()).await;
    let client = Arc::new(RemotingClient::new(ClientConfig::default()));
    let addr = server.addr.to_string();
    let mut slow = echo("finishing");
    slow.code = 1;
    slow.ext_fields.insert("ms", "300");
    let c = Arc::clone(&client);
    let a = addr.clone();
    let call = tokio::spawn(async move { c.invoke(&a, slow, CALL).await });
    wait_for(|| server.processor.started.load(Ordering::SeqCst) == 1).await;
    server.stop.take().unwrap().send(()).unwrap();
    let response = call.await.unwrap().unwrap();
    assert_eq!(response.remark.as_deref(), Some("finishing"));
    tokio::time::timeout(CALL, &mut server.done).await.unwrap().unwrap();
    // The listener is gone: new calls fail.
    let fresh = RemotingClient::new(ClientConfig::default());
    assert!(fresh.invoke(&addr, echo("late"), CALL).await.is_err());
}

#[tokio::test]
async fn pending_calls_fail_when_the_connection_drops() {
    // A server that accepts and then closes after reading the first request.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        let _ = socket.read(&mut buf).await;
        drop(socket);
    });
    let client = RemotingClient::new(ClientConfig::default());
    let err = client.invoke(&addr, echo("lost"), Duration::from_secs(30)).await.unwrap_err();
    // Closed, not timed out: the caller learns at once that the connection is gone.
    assert!(matches!(err, RemotingError::ConnectionClosed { .. }), "{err:?}");
}
