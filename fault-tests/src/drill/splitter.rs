//! A connection splitter for brownouts: while active, a share of the new
//! connections goes through a slow path whose replies are delayed.
//!
//! The fault proxy applies its faults to every connection alike, and it
//! delays the chunks of a connection in order. The store multiplexes its
//! requests over one connection, so a per-chunk delay would hold back every
//! later reply on that connection. A brownout is therefore modelled per
//! connection: each connection dialled during it is slow with a fixed
//! probability, and the store's next dial after a timeout draws again.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::proxy::{Direction, Fault, Proxy, Stats};

/// Routes each accepted connection to the fault proxy or, while slowed
/// down, with probability `share`, to a second proxy that delays replies.
///
/// Dropping it closes the listener and every connection it forwards.
#[derive(Debug)]
pub(crate) struct Splitter {
    addr: SocketAddr,
    slow: Arc<Proxy>,
    active: Arc<AtomicBool>,
    accept_task: JoinHandle<()>,
}

impl Splitter {
    /// Listens on a free port of 127.0.0.1. Connections go to `fast`, or to
    /// a slow proxy to `server` with probability `share` while active.
    pub(crate) async fn start(
        fast: SocketAddr,
        server: SocketAddr,
        share: f64,
        seed: u64,
    ) -> io::Result<Self> {
        let slow = Arc::new(Proxy::start_seeded(server, seed).await?);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let active = Arc::new(AtomicBool::new(false));
        let route = Route {
            fast,
            slow: slow.addr(),
            share,
            active: Arc::clone(&active),
            random: Mutex::new(StdRng::seed_from_u64(seed)),
        };
        let accept_task = tokio::spawn(accept_loop(listener, route));
        Ok(Self {
            addr,
            slow,
            active,
            accept_task,
        })
    }

    /// Returns the address clients connect to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts sending a share of new connections through a path that
    /// delays every reply by `delay`.
    pub(crate) fn slow_down(&self, delay: Duration) {
        self.slow.set(
            Direction::Downstream,
            Fault::Latency {
                delay,
                jitter: Duration::ZERO,
            },
        );
        self.active.store(true, Ordering::Release);
    }

    /// Sends every new connection to the fast path again and removes the
    /// delay from connections already on the slow path.
    pub(crate) fn restore(&self) {
        self.active.store(false, Ordering::Release);
        self.slow.clear();
    }

    /// Returns the counters of the slow path's proxy.
    pub(crate) fn slow_stats(&self) -> Stats {
        self.slow.stats()
    }
}

impl Drop for Splitter {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

#[derive(Debug)]
struct Route {
    fast: SocketAddr,
    slow: SocketAddr,
    share: f64,
    active: Arc<AtomicBool>,
    random: Mutex<StdRng>,
}

impl Route {
    fn choose(&self) -> SocketAddr {
        if !self.active.load(Ordering::Acquire) {
            return self.fast;
        }
        let slow = self
            .random
            .lock()
            .expect("splitter lock poisoned")
            .random_bool(self.share);
        if slow { self.slow } else { self.fast }
    }
}

async fn accept_loop(listener: TcpListener, route: Route) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else {
                    continue;
                };
                connections.spawn(forward(client, route.choose()));
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Copies bytes both ways until either side closes; a failed dial closes
/// the client connection, which the client sees as a reset or an EOF.
async fn forward(mut client: TcpStream, upstream: SocketAddr) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    // An I/O error here ends the connection, as it would end a real one.
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Starts a server that echoes what it reads on each connection.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut reader, mut writer) = stream.split();
                    let _ = tokio::io::copy(&mut reader, &mut writer).await;
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"ping").await.expect("write");
        let mut reply = [0; 4];
        stream.read_exact(&mut reply).await.expect("read");
        reply.to_vec()
    }

    #[tokio::test]
    async fn inactive_splitter_uses_the_fast_path_only() {
        let server = echo_server().await;
        let fast = Proxy::start_seeded(server, 1).await.expect("fast proxy");
        let splitter = Splitter::start(fast.addr(), server, 1.0, 1)
            .await
            .expect("splitter");

        assert_eq!(round_trip(splitter.addr()).await, b"ping");

        assert_eq!(fast.stats().accepted, 1);
        assert_eq!(splitter.slow_stats().accepted, 0);
    }

    #[tokio::test]
    async fn slowed_splitter_routes_its_share_to_the_slow_path() {
        let server = echo_server().await;
        let fast = Proxy::start_seeded(server, 1).await.expect("fast proxy");
        let splitter = Splitter::start(fast.addr(), server, 1.0, 1)
            .await
            .expect("splitter");
        splitter.slow_down(Duration::from_millis(1));

        assert_eq!(round_trip(splitter.addr()).await, b"ping");
        splitter.restore();
        assert_eq!(round_trip(splitter.addr()).await, b"ping");

        assert_eq!(splitter.slow_stats().accepted, 1);
        assert_eq!(fast.stats().accepted, 1);
    }
}
