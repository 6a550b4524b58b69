//! Forwarding, counters and connection actions of the fault proxy, against
//! an echo server on 127.0.0.1.

mod support;

use std::io::ErrorKind;

use fault_tests::Proxy;
use support::{EchoServer, connect_checked, echo_behind_proxy, guarded, random_payload};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Reads once and returns the error kind, or `None` for EOF; fails on data.
async fn read_outcome(stream: &mut TcpStream) -> Option<ErrorKind> {
    let mut buf = [0; 64];
    match guarded("the end of the connection", stream.read(&mut buf)).await {
        Ok(0) => None,
        Ok(n) => panic!("expected the connection to end, read {n} bytes"),
        Err(error) => Some(error.kind()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payload_round_trips_byte_exact() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let payload = random_payload(4 * 1024 * 1024, 11);
    let stream = guarded("connect", TcpStream::connect(proxy.addr()))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();

    let sent = payload.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer.shutdown().await.unwrap();
    });
    let mut received = Vec::new();
    guarded(
        "the echoed payload and EOF",
        reader.read_to_end(&mut received),
    )
    .await
    .unwrap();
    writing.await.unwrap();

    assert_eq!(received.len(), payload.len());
    assert!(
        received == payload,
        "the echoed bytes differ from the payload"
    );
    let stats = proxy.stats();
    assert_eq!(stats.upstream.forwarded, payload.len() as u64);
    assert_eq!(stats.downstream.forwarded, payload.len() as u64);
    assert_eq!(stats.upstream.discarded, 0);
    assert_eq!(stats.downstream.discarded, 0);
}

#[tokio::test]
async fn counters_start_at_zero_and_count_connections() {
    let (echo, proxy) = echo_behind_proxy().await;
    let idle = proxy.stats();

    let _first = connect_checked(&proxy).await;
    let _second = connect_checked(&proxy).await;
    let stats = proxy.stats();

    assert_eq!(idle.accepted, 0, "nothing was dialled yet: {idle:?}");
    assert_eq!(idle.upstream.forwarded, 0);
    assert_eq!(stats.accepted, 2, "{stats:?}");
    assert_eq!(stats.open, 2, "{stats:?}");
    assert_eq!(stats.upstream.forwarded, 10, "{stats:?}");
    assert_eq!(stats.downstream.forwarded, 10, "{stats:?}");
    assert_eq!(echo.accepted(), 2);
}

#[tokio::test]
async fn reset_all_gives_connection_reset() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.reset_all();

    assert_eq!(
        read_outcome(&mut stream).await,
        Some(ErrorKind::ConnectionReset)
    );
    let mut later = connect_checked(&proxy).await;
    assert!(
        later.write_all(b"x").await.is_ok(),
        "a new connection is not reset"
    );
}

#[tokio::test]
async fn close_all_gives_eof() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.close_all();

    assert_eq!(read_outcome(&mut stream).await, None);
    connect_checked(&proxy).await;
}

#[tokio::test]
async fn rejected_connection_is_reset_without_dialling() {
    let (echo, proxy) = echo_behind_proxy().await;

    proxy.reject_connections(true);
    let mut stream = guarded("connect", TcpStream::connect(proxy.addr()))
        .await
        .unwrap();

    assert_eq!(
        read_outcome(&mut stream).await,
        Some(ErrorKind::ConnectionReset)
    );
    let stats = proxy.stats();
    assert_eq!((stats.accepted, stats.rejected), (1, 1), "{stats:?}");
    assert_eq!(echo.accepted(), 0, "the upstream was dialled");

    proxy.reject_connections(false);
    connect_checked(&proxy).await;
    assert_eq!(echo.accepted(), 1);
}

#[tokio::test]
async fn clear_stops_rejecting() {
    let (_echo, proxy) = echo_behind_proxy().await;

    proxy.reject_connections(true);
    proxy.clear();

    connect_checked(&proxy).await;
    assert_eq!(proxy.stats().rejected, 0);
}

#[tokio::test]
async fn unreachable_upstream_resets_client() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = closed.local_addr().unwrap();
    drop(closed);
    let proxy = Proxy::start(upstream).await.unwrap();

    let mut stream = guarded("connect", TcpStream::connect(proxy.addr()))
        .await
        .unwrap();

    assert_eq!(
        read_outcome(&mut stream).await,
        Some(ErrorKind::ConnectionReset)
    );
    assert_eq!(proxy.stats().dial_failures, 1);
}

#[tokio::test]
async fn client_half_close_reaches_server_and_back() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    stream.write_all(b"last words").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    guarded("the echo and EOF", stream.read_to_end(&mut rest))
        .await
        .unwrap();

    assert_eq!(rest, b"last words");
}

#[tokio::test]
async fn drop_closes_listener_and_connections() {
    let echo = EchoServer::start().await;
    let proxy = Proxy::start(echo.addr).await.unwrap();
    let addr = proxy.addr();
    let mut stream = connect_checked(&proxy).await;

    drop(proxy);

    assert_eq!(read_outcome(&mut stream).await, None);
    let error = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
}
