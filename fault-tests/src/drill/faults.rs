//! Applies a scenario's fault timeline to the proxy and the server process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::proxy::{Direction, Fault, Proxy};
use crate::server::Server;

use super::relay::BrownoutRelay;
use super::scenario::BROWNOUT_DELAYED_SHARE;
use super::timeline::{FaultAction, Timeline};

/// The proxy, relay and server process that a run's fault actions act on.
#[derive(Debug)]
pub(crate) struct FaultTargets {
    /// The fault proxy in front of the server.
    pub(crate) proxy: Proxy,
    /// The brownout relay in front of the proxy, when the scenario delays
    /// some replies.
    pub(crate) relay: Option<BrownoutRelay>,
    /// The server process, when the drill started it.
    pub(crate) server: Option<Arc<Mutex<Server>>>,
}

impl FaultTargets {
    /// Starts the fault proxy to `server_addr` and, when `timeline` delays
    /// some replies, a relay in front of it.
    ///
    /// # Errors
    ///
    /// Returns the I/O error of binding a listener.
    pub(crate) async fn start(
        server_addr: std::net::SocketAddr,
        server: Option<Arc<Mutex<Server>>>,
        timeline: &Timeline,
        seed: u64,
    ) -> std::io::Result<Self> {
        let proxy = Proxy::start_seeded(server_addr, seed).await?;
        let brownout = timeline
            .steps()
            .iter()
            .any(|step| matches!(step.action, FaultAction::DelaySomeReplies(_)));
        let relay = if brownout {
            Some(BrownoutRelay::start(proxy.addr(), BROWNOUT_DELAYED_SHARE, seed).await?)
        } else {
            None
        };
        Ok(Self {
            proxy,
            relay,
            server,
        })
    }

    /// Returns the address the store dials.
    pub(crate) fn entry_addr(&self) -> std::net::SocketAddr {
        self.relay
            .as_ref()
            .map_or_else(|| self.proxy.addr(), BrownoutRelay::addr)
    }

    /// Returns the connections the fault proxy accepted; the relay dials
    /// the proxy once per connection it accepts.
    pub(crate) fn connections(&self) -> u64 {
        self.proxy.stats().accepted
    }
}

/// A fault action as the driver applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedFault {
    /// Time from the start of the run at which the timeline placed it.
    #[serde(rename = "scheduled_ms", serialize_with = "super::serialize_millis")]
    pub scheduled: Duration,
    /// Time from the start of the run at which it took effect.
    #[serde(rename = "applied_ms", serialize_with = "super::serialize_millis")]
    pub applied_at: Duration,
    /// The action.
    #[serde(flatten)]
    pub action: FaultAction,
    /// The failure, when the action failed.
    pub error: Option<String>,
}

/// Applies every step of `timeline` at its time from `origin`, in order.
///
/// A step that fails is recorded with its error and the timeline goes on.
/// Process actions need `server`; without one they fail.
pub(crate) async fn drive(
    timeline: Timeline,
    targets: Arc<FaultTargets>,
    origin: Instant,
) -> Vec<AppliedFault> {
    let mut applied = Vec::with_capacity(timeline.steps().len());
    for step in timeline.steps() {
        tokio::time::sleep_until(origin + step.at).await;
        let result = apply(step.action, &targets).await;
        applied.push(AppliedFault {
            scheduled: step.at,
            applied_at: origin.elapsed(),
            action: step.action,
            error: result.err(),
        });
    }
    applied
}

async fn apply(action: FaultAction, targets: &FaultTargets) -> Result<(), String> {
    let proxy = &targets.proxy;
    let server = targets.server.as_ref();
    let relay = || {
        targets
            .relay
            .as_ref()
            .ok_or("the run has no relay to delay replies")
    };
    match action {
        FaultAction::ResetConnections => proxy.reset_all(),
        FaultAction::RefuseConnections(refuse) => proxy.reject_connections(refuse),
        FaultAction::Blackhole(true) => {
            proxy.set(Direction::Upstream, Fault::Blackhole);
            proxy.set(Direction::Downstream, Fault::Blackhole);
        }
        FaultAction::Blackhole(false) => {
            proxy.clear_direction(Direction::Upstream);
            proxy.clear_direction(Direction::Downstream);
        }
        FaultAction::DelayReplies(Some(delay)) => proxy.set(
            Direction::Downstream,
            Fault::Latency {
                delay,
                jitter: Duration::ZERO,
            },
        ),
        FaultAction::DelayReplies(None) => proxy.clear_direction(Direction::Downstream),
        FaultAction::DelaySomeReplies(Some(delay)) => relay()?.slow_down(delay),
        FaultAction::DelaySomeReplies(None) => relay()?.restore(),
        FaultAction::KillServer => return signal_server(Signal::Kill, server).await,
        FaultAction::RestartServer => return signal_server(Signal::Restart, server).await,
        FaultAction::PauseServer => return signal_server(Signal::Pause, server).await,
        FaultAction::ResumeServer => return signal_server(Signal::Resume, server).await,
    }
    Ok(())
}

/// A process action on the server.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Kill,
    Restart,
    Pause,
    Resume,
}

/// Runs a blocking server action on the blocking pool.
async fn signal_server(signal: Signal, server: Option<&Arc<Mutex<Server>>>) -> Result<(), String> {
    let server =
        Arc::clone(server.ok_or("the drill did not start the server, so it cannot signal it")?);
    let task = tokio::task::spawn_blocking(move || {
        let mut server = server
            .lock()
            .map_err(|_| "the server lock is poisoned".to_owned())?;
        let result = match signal {
            Signal::Kill => {
                server.kill();
                Ok(())
            }
            Signal::Restart => server.restart(),
            Signal::Pause => server.pause(),
            Signal::Resume => server.resume(),
        };
        result.map_err(|error| error.to_string())
    });
    task.await
        .map_err(|error| format!("the server task failed: {error}"))?
}

/// Restores normal service after a run: clears every proxy fault, continues
/// a stopped server and starts a killed one.
///
/// # Errors
///
/// Returns the error of restarting the server.
pub(crate) async fn restore(targets: &FaultTargets) -> Result<(), String> {
    targets.proxy.clear();
    if let Some(relay) = &targets.relay {
        relay.restore();
    }
    let Some(server) = &targets.server else {
        return Ok(());
    };
    let server = Arc::clone(server);
    let task = tokio::task::spawn_blocking(move || {
        let mut server = server
            .lock()
            .map_err(|_| "the server lock is poisoned".to_owned())?;
        if server.pid().is_none() {
            return server.restart().map_err(|error| error.to_string());
        }
        // SIGCONT to a process that is not stopped does nothing.
        server.resume().map_err(|error| error.to_string())
    });
    task.await
        .map_err(|error| format!("the server task failed: {error}"))?
}
