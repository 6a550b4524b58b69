//! A TCP fault proxy for tests, in the style of toxiproxy.
//!
//! [`Proxy`] listens on a free port of 127.0.0.1 and forwards every accepted
//! connection to one upstream address. Faults are set per [`Direction`] at
//! runtime and act on open connections as well as new ones. Apart from what
//! a fault discards, bytes are forwarded exactly once and in order.
//!
//! ```no_run
//! # async fn example(upstream: std::net::SocketAddr) -> std::io::Result<()> {
//! use std::time::Duration;
//! use fault_tests::{Direction, Fault, Proxy};
//!
//! let proxy = Proxy::start(upstream).await?;
//! proxy.set(Direction::Downstream, Fault::Latency {
//!     delay: Duration::from_millis(50),
//!     jitter: Duration::from_millis(10),
//! });
//! // Point the client at `proxy.addr()`; later restore normal flow:
//! proxy.clear();
//! # Ok(())
//! # }
//! ```

mod connection;
mod fault;
mod pump;
mod stats;

use std::hash::BuildHasher;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use fault::{Direction, Fault};
pub use stats::{DirectionStats, Stats};

use connection::OpenGuard;
use fault::{Faults, PerDirection};
use stats::Counters;

/// Pause after a failed accept, such as one for lack of file descriptors,
/// so that the accept loop does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(10);

/// Counts of requested connection actions. A connection compares them with
/// the counts at its accept, so only connections open at the request act.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Actions {
    resets: u64,
    closes: u64,
}

/// State shared by the proxy handle and its tasks.
#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    seed: u64,
    faults: watch::Sender<Faults>,
    actions: watch::Sender<Actions>,
    reject_new: AtomicBool,
    pending_drops: PerDirection<AtomicU64>,
    counters: Counters,
}

impl Shared {
    fn new(upstream: SocketAddr, seed: u64) -> Self {
        Self {
            upstream,
            seed,
            faults: watch::Sender::new(Faults::default()),
            actions: watch::Sender::new(Actions::default()),
            reject_new: AtomicBool::new(false),
            pending_drops: PerDirection::default(),
            counters: Counters::default(),
        }
    }

    /// Consumes one pending drop of `direction`; returns whether there was one.
    fn take_drop(&self, direction: Direction) -> bool {
        self.pending_drops
            .get(direction)
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |pending| {
                pending.checked_sub(1)
            })
            .is_ok()
    }
}

/// A running fault proxy. Dropping it closes the listener and every
/// connection; this takes effect the next time the runtime polls its tasks.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free port of 127.0.0.1, with a
    /// random seed for latency jitter. Must be called inside a Tokio runtime
    /// with the time and I/O drivers enabled; the proxy's tasks run on it.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of binding the listener.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let seed = std::hash::RandomState::new().hash_one(upstream);
        Self::start_seeded(upstream, seed).await
    }

    /// Starts a proxy as [`start`](Self::start) does, with a fixed seed for
    /// latency jitter, so that a run can be repeated.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of binding the listener.
    pub async fn start_seeded(upstream: SocketAddr, seed: u64) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(upstream, seed));
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::debug!(%addr, %upstream, "proxy started");
        Ok(Self {
            addr,
            shared,
            accept_task,
        })
    }

    /// Returns the address that clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the address that connections are forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Sets a fault in one direction, replacing that direction's fault of
    /// the same kind. Open connections apply it from their next chunk.
    pub fn set(&self, direction: Direction, fault: Fault) {
        self.shared
            .faults
            .send_modify(|faults| faults.get_mut(direction).apply(fault));
    }

    /// Removes every fault of one direction.
    pub fn clear_direction(&self, direction: Direction) {
        self.shared
            .faults
            .send_modify(|faults| *faults.get_mut(direction) = Default::default());
    }

    /// Restores normal flow: removes every fault in both directions, cancels
    /// pending [`drop_next`](Self::drop_next) requests and accepts new
    /// connections again.
    pub fn clear(&self) {
        self.shared.faults.send_replace(Faults::default());
        for direction in [Direction::Upstream, Direction::Downstream] {
            self.shared
                .pending_drops
                .get(direction)
                .store(0, Ordering::Release);
        }
        self.shared.reject_new.store(false, Ordering::Release);
    }

    /// Discards the next chunk in `direction` on whichever connection
    /// forwards one first; the connection stays open. On a connection that
    /// waits for one reply, the next downstream chunk is that whole reply,
    /// unless the server writes it in parts larger than 16 KiB or with
    /// pauses. Each call discards one more chunk.
    pub fn drop_next(&self, direction: Direction) {
        self.shared
            .pending_drops
            .get(direction)
            .fetch_add(1, Ordering::AcqRel);
    }

    /// Resets every open connection: the client and the server each get an
    /// RST, and a client read fails with `ConnectionReset`. New connections
    /// are not affected.
    pub fn reset_all(&self) {
        self.shared
            .actions
            .send_modify(|actions| actions.resets += 1);
    }

    /// Closes every open connection: the client gets a FIN and reads EOF,
    /// and the server connection is closed. New connections are not
    /// affected.
    ///
    /// A client that has sent bytes which the proxy has not read yet may get
    /// an RST instead, as TCP does for a socket closed with unread data.
    pub fn close_all(&self) {
        self.shared
            .actions
            .send_modify(|actions| actions.closes += 1);
    }

    /// Rejects new connections while `reject` is true: each is accepted and
    /// at once reset, so the client's connect succeeds and its first read
    /// fails with `ConnectionReset`. The listener stays open, so the port
    /// stays reserved.
    pub fn reject_connections(&self, reject: bool) {
        self.shared.reject_new.store(reject, Ordering::Release);
    }

    /// Returns the counters since the proxy started.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Dropping the accept task drops its listener and its JoinSet, which
        // aborts every connection task.
        self.accept_task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    next_id += 1;
                    admit(client, next_id, &shared, &mut connections);
                }
                Err(error) => {
                    tracing::warn!(addr = ?listener.local_addr().ok(), %error, "proxy accept failed");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Counts an accepted client and either rejects it or starts serving it.
fn admit(client: TcpStream, id: u64, shared: &Arc<Shared>, connections: &mut JoinSet<()>) {
    shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
    if shared.reject_new.load(Ordering::Acquire) {
        shared.counters.rejected.fetch_add(1, Ordering::Relaxed);
        // An error leaves a FIN, which a client also sees as a closed
        // connection.
        let _ = client.set_zero_linger();
        tracing::debug!(connection = id, "proxy rejected a connection");
        return;
    }
    // Subscribing before the task starts makes every later reset or close
    // reach this connection.
    let actions = shared.actions.subscribe();
    let guard = OpenGuard::new(Arc::clone(shared));
    connections.spawn(connection::serve(client, id, actions, guard));
}
