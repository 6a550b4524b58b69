//! Setup shared by the harness, proxy and fault tests: an echo server, a
//! proxy in front of it and bounded waits. [`valkey`] puts a session store
//! in front of a real server through a proxy, and [`outage`] keeps such a
//! store busy through an outage.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

pub(crate) mod outage;
pub(crate) mod valkey;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fault_tests::Proxy;
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bound on waits that should end at once; reaching it means a hang.
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(10);

/// A TCP server on 127.0.0.1 that writes back every byte it reads and
/// closes its side when the client closes its own.
#[derive(Debug)]
pub(crate) struct EchoServer {
    pub(crate) addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl EchoServer {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    // An error means the test reset the connection on purpose.
                    if tokio::io::copy(&mut reader, &mut writer).await.is_ok() {
                        let _ = writer.shutdown().await;
                    }
                });
            }
        });
        Self {
            addr,
            accepted,
            task,
        }
    }

    /// Returns the number of connections that reached the server.
    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts an echo server and a proxy in front of it.
pub(crate) async fn echo_behind_proxy() -> (EchoServer, Proxy) {
    let echo = EchoServer::start().await;
    let proxy = Proxy::start_seeded(echo.addr, 1).await.unwrap();
    (echo, proxy)
}

/// Awaits `future`, failing the test with `what` if it hangs.
pub(crate) async fn guarded<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {HANG_GUARD:?} waiting for {what}"),
    }
}

/// Connects to the proxy and checks that bytes flow with one round trip,
/// which also means that the proxy has accepted and dialled.
pub(crate) async fn connect_checked(proxy: &Proxy) -> TcpStream {
    let mut stream = guarded("connect", TcpStream::connect(proxy.addr()))
        .await
        .unwrap();
    assert_eq!(round_trip(&mut stream, b"hello").await, b"hello");
    stream
}

/// Writes `bytes` and reads the same number of bytes back.
pub(crate) async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
    stream.write_all(bytes).await.unwrap();
    let mut reply = vec![0; bytes.len()];
    guarded("the echoed bytes", stream.read_exact(&mut reply))
        .await
        .unwrap();
    reply
}

/// Polls `condition` every few milliseconds until it holds, failing the
/// test with `what` after [`HANG_GUARD`]. For events in another process or
/// task that the test cannot await directly.
pub(crate) async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    guarded(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
}

/// Returns `len` pseudo-random bytes from `seed`.
pub(crate) fn random_payload(len: usize, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0; len];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut bytes);
    bytes
}
