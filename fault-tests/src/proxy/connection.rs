//! Serving one accepted client connection.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::fault::Direction;
use super::pump::{Pump, PumpEnd};
use super::{Actions, Shared};

/// The outcome of a connection, decided once for both sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Both directions reached their end and forwarded it.
    Finished,
    /// FIN to the client; the server socket is closed as usual.
    Close,
    /// RST to the client and to the server.
    Reset,
}

/// Counts an open connection while it lives, so an aborted task also leaves
/// the count.
#[derive(Debug)]
pub(crate) struct OpenGuard(Arc<Shared>);

impl OpenGuard {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        shared.counters.open.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Dials the upstream address and relays between it and `client` until the
/// connection ends. `actions` must be subscribed when the client was
/// accepted, so that later resets and closes reach this connection.
pub(crate) async fn serve(
    mut client: TcpStream,
    id: u64,
    mut actions: watch::Receiver<Actions>,
    guard: OpenGuard,
) {
    let shared = Arc::clone(&guard.0);
    let start = *actions.borrow_and_update();
    let dialled = tokio::select! {
        ending = next_action(&mut actions, start) => {
            finish(client, None, ending).await;
            return;
        }
        dialled = TcpStream::connect(shared.upstream) => dialled,
    };
    let mut server = match dialled {
        Ok(server) => server,
        Err(error) => {
            shared
                .counters
                .dial_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(connection = id, upstream = %shared.upstream, %error, "proxy dial failed");
            finish(client, None, Ending::Reset).await;
            return;
        }
    };
    for socket in [&client, &server] {
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(connection = id, %error, "proxy could not set TCP_NODELAY");
        }
    }

    let ending = relay(&mut client, &mut server, id, &shared, &mut actions, start).await;
    tracing::debug!(connection = id, ?ending, "proxy connection ended");
    finish(client, Some(server), ending).await;
}

/// Runs both pumps until both reach the end of their stream, a pump fails or
/// closes the connection, or an action arrives.
async fn relay(
    client: &mut TcpStream,
    server: &mut TcpStream,
    id: u64,
    shared: &Arc<Shared>,
    actions: &mut watch::Receiver<Actions>,
    start: Actions,
) -> Ending {
    let (client_reader, client_writer) = client.split();
    let (server_reader, server_writer) = server.split();
    let seed = shared.seed.wrapping_add(id.wrapping_mul(2));
    let upstream =
        Pump::new(Direction::Upstream, Arc::clone(shared), seed).run(client_reader, server_writer);
    let downstream = Pump::new(
        Direction::Downstream,
        Arc::clone(shared),
        seed.wrapping_add(1),
    )
    .run(server_reader, client_writer);
    tokio::pin!(upstream, downstream);

    let (mut upstream_done, mut downstream_done) = (false, false);
    while !(upstream_done && downstream_done) {
        let end = tokio::select! {
            end = &mut upstream, if !upstream_done => {
                upstream_done = true;
                end
            }
            end = &mut downstream, if !downstream_done => {
                downstream_done = true;
                end
            }
            ending = next_action(actions, start) => return ending,
        };
        match end {
            PumpEnd::Eof => {}
            PumpEnd::Close => return Ending::Close,
            PumpEnd::Failed(error) => {
                tracing::debug!(connection = id, %error, "proxy connection failed");
                return Ending::Reset;
            }
        }
    }
    Ending::Finished
}

/// Waits for a reset or close requested after `start`. A reset wins when
/// both were requested.
async fn next_action(actions: &mut watch::Receiver<Actions>, start: Actions) -> Ending {
    loop {
        let now = *actions.borrow_and_update();
        if now.resets != start.resets {
            return Ending::Reset;
        }
        if now.closes != start.closes {
            return Ending::Close;
        }
        if actions.changed().await.is_err() {
            // The proxy is gone and aborts this task next.
            return std::future::pending().await;
        }
    }
}

async fn finish(mut client: TcpStream, server: Option<TcpStream>, ending: Ending) {
    match ending {
        Ending::Finished => {}
        Ending::Close => {
            // An error means that the client has gone already.
            let _ = client.shutdown().await;
        }
        Ending::Reset => {
            // SO_LINGER 0 turns the close into RST. An error leaves a FIN,
            // which is all that can be done for a socket already failing.
            for socket in std::iter::once(&client).chain(server.as_ref()) {
                let _ = socket.set_zero_linger();
            }
        }
    }
}
