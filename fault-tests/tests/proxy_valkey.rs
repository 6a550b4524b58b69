//! The fault proxy in front of a real `valkey-server`.

mod support;

use std::io::ErrorKind;

use fault_tests::resp::Reply;
use fault_tests::{Direction, Proxy, ServerBuilder};
use support::{guarded, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";

/// Sends a raw command and reads a reply of `reply_len` bytes.
async fn exchange(stream: &mut TcpStream, command: &[u8], reply_len: usize) -> Vec<u8> {
    stream.write_all(command).await.unwrap();
    let mut reply = vec![0; reply_len];
    guarded("the reply", stream.read_exact(&mut reply))
        .await
        .unwrap();
    reply
}

#[tokio::test]
async fn drop_next_loses_exactly_one_reply() {
    let server = ServerBuilder::valkey().start().unwrap();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(exchange(&mut stream, PING, PONG.len()).await, PONG);

    proxy.drop_next(Direction::Downstream);
    stream.write_all(PING).await.unwrap();
    wait_until("the proxy to discard one PONG", || {
        proxy.stats().downstream.discarded == PONG.len() as u64
    })
    .await;
    let echo = b"*2\r\n$4\r\nECHO\r\n$6\r\nsecond\r\n";
    let reply = exchange(&mut stream, echo, 12).await;

    assert_eq!(String::from_utf8_lossy(&reply), "$6\r\nsecond\r\n");
    assert_eq!(proxy.stats().downstream.discarded, PONG.len() as u64);
}

#[tokio::test]
async fn killed_upstream_resets_new_clients() {
    let mut server = ServerBuilder::valkey().start().unwrap();
    let proxy = Proxy::start(server.addr()).await.unwrap();

    server.kill();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let mut buf = [0; 8];
    let error = guarded("the reset", stream.read(&mut buf))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    assert_eq!(proxy.stats().dial_failures, 1);

    server.restart().unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(exchange(&mut stream, PING, PONG.len()).await, PONG);
}

#[tokio::test]
async fn reset_all_reaches_valkey_clients() {
    let server = ServerBuilder::valkey().start().unwrap();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(exchange(&mut stream, PING, PONG.len()).await, PONG);

    proxy.reset_all();
    let mut buf = [0; 8];
    let error = guarded("the reset", stream.read(&mut buf))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    wait_until("valkey to drop the proxied client", || {
        let Reply::Bulk(clients) = server.command(&["CLIENT", "LIST"]).unwrap() else {
            panic!("CLIENT LIST did not return a bulk string");
        };
        // One line per client; the only one left is this CLIENT LIST call.
        String::from_utf8_lossy(&clients).lines().count() == 1
    })
    .await;
}
