//! A relay in front of the fault proxy that delays a random share of the
//! reply chunks, for brownouts.
//!
//! The fault proxy delays every chunk of a direction alike, so it cannot
//! slow down only some replies. The relay draws, for each chunk the server
//! sends while a brownout is active, whether to delay it. Chunks keep their
//! order, so a delayed chunk also holds back the chunks behind it on the
//! same connection, as a slow reply does on a multiplexed connection.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

/// Largest chunk read from the server at once.
const CHUNK_BYTES: usize = 16 * 1024;

/// Forwards every accepted connection to one upstream address and, while
/// slowed down, delays each server-to-client chunk with probability `share`.
///
/// Dropping it closes the listener and every connection it forwards.
#[derive(Debug)]
pub(crate) struct BrownoutRelay {
    addr: SocketAddr,
    state: Arc<State>,
    accept_task: JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    upstream: SocketAddr,
    share: f64,
    /// Delay of a slowed chunk; `None` outside a brownout.
    delay: Mutex<Option<Duration>>,
    random: Mutex<StdRng>,
}

impl State {
    /// Returns when a chunk read at `read_at` may be written.
    fn release_time(&self, read_at: Instant) -> Instant {
        let delay = *self.delay.lock().expect("relay lock poisoned");
        let Some(delay) = delay else {
            return read_at;
        };
        let slow = self
            .random
            .lock()
            .expect("relay lock poisoned")
            .random_bool(self.share);
        if slow { read_at + delay } else { read_at }
    }
}

impl BrownoutRelay {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of binding the listener.
    pub(crate) async fn start(upstream: SocketAddr, share: f64, seed: u64) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            upstream,
            share,
            delay: Mutex::new(None),
            random: Mutex::new(StdRng::seed_from_u64(seed)),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Ok(Self {
            addr,
            state,
            accept_task,
        })
    }

    /// Returns the address clients connect to.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts delaying the share of reply chunks by `delay`.
    pub(crate) fn slow_down(&self, delay: Duration) {
        *self.state.delay.lock().expect("relay lock poisoned") = Some(delay);
    }

    /// Stops delaying new chunks; chunks already delayed keep their time.
    pub(crate) fn restore(&self) {
        *self.state.delay.lock().expect("relay lock poisoned") = None;
    }
}

impl Drop for BrownoutRelay {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else {
                    continue;
                };
                connections.spawn(forward(client, Arc::clone(&state)));
            }
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Forwards one connection until either direction ends, then closes both.
/// A failed dial closes the client connection.
async fn forward(client: TcpStream, state: Arc<State>) {
    let Ok(server) = TcpStream::connect(state.upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    tokio::select! {
        _ = tokio::io::copy(&mut client_read, &mut server_write) => {}
        _ = replies(server_read, &mut client_write, &state) => {}
    }
}

/// Copies server-to-client chunks in order, each no earlier than its
/// release time.
async fn replies(
    mut server: OwnedReadHalf,
    client: &mut OwnedWriteHalf,
    state: &State,
) -> io::Result<()> {
    let mut buffer = vec![0; CHUNK_BYTES];
    let mut previous = Instant::now();
    loop {
        let read = server.read(&mut buffer).await?;
        if read == 0 {
            return client.shutdown().await;
        }
        let release = state.release_time(Instant::now()).max(previous);
        tokio::time::sleep_until(release).await;
        client.write_all(&buffer[..read]).await?;
        previous = release;
    }
}

#[cfg(test)]
mod tests {
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

    async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
        stream.write_all(message).await.expect("write");
        let mut reply = vec![0; message.len()];
        stream.read_exact(&mut reply).await.expect("read");
        reply
    }

    #[tokio::test]
    async fn relay_forwards_bytes_both_ways() {
        let relay = BrownoutRelay::start(echo_server().await, 1.0, 1)
            .await
            .expect("relay");
        let mut stream = TcpStream::connect(relay.addr()).await.expect("connect");

        assert_eq!(round_trip(&mut stream, b"ping").await, b"ping");
        assert_eq!(round_trip(&mut stream, b"pong").await, b"pong");
    }

    #[test]
    fn release_time_delays_the_share_only_while_slowed() {
        let state = |share| State {
            upstream: SocketAddr::from((Ipv4Addr::LOCALHOST, 1)),
            share,
            delay: Mutex::new(None),
            random: Mutex::new(StdRng::seed_from_u64(5)),
        };
        let delay = Duration::from_millis(750);
        let now = Instant::now();

        let always = state(1.0);
        assert_eq!(always.release_time(now), now, "no delay outside a brownout");
        *always.delay.lock().unwrap() = Some(delay);
        assert_eq!(always.release_time(now), now + delay);

        let never = state(0.0);
        *never.delay.lock().unwrap() = Some(delay);
        assert_eq!(never.release_time(now), now);

        let some = state(0.3);
        *some.delay.lock().unwrap() = Some(delay);
        let delayed = (0..10_000).filter(|_| some.release_time(now) > now).count();
        assert!(
            (2_700..3_300).contains(&delayed),
            "{delayed} of 10000 delayed"
        );
    }
}
