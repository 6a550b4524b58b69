//! The store's one multiplexed connection: dialing, sharing and discarding.
//!
//! The slot contains at most one connection, tagged with a generation number.
//! Any doubt about a connection (a timeout, a cancelled request, a parse or
//! I/O error, a mismatched reply) discards it, and the next attempt dials a
//! fresh one. A discard names the generation it saw, so a late failure on an
//! old connection never discards its replacement. Callers that find the slot
//! empty share one dial.

use std::io;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, Pipeline, RedisError, Value};

use crate::error::AttemptError;
use crate::valkey::classify::{BackendError, discards_connection};

/// A connection handed to one request, with the generation it belongs to.
#[derive(Clone)]
struct Lease {
    generation: u64,
    connection: MultiplexedConnection,
}

#[derive(Default)]
struct SlotState {
    current: Option<Lease>,
    last_generation: u64,
    /// Dials that ran to completion, successful or not.
    dials_finished: u64,
    /// Error of the last completed dial, cleared by a successful one.
    last_dial_error: Option<BackendError>,
}

/// The connection slot of one store.
pub(crate) struct ConnectionSlot {
    client: Client,
    connection_config: AsyncConnectionConfig,
    connect_timeout: Duration,
    state: Mutex<SlotState>,
    /// Held by the one caller that dials; others wait on it.
    dial_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ConnectionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("ConnectionSlot")
            .field("connected", &state.current.is_some())
            .field("generation", &state.last_generation)
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl ConnectionSlot {
    pub(crate) fn new(client: Client, connect_timeout: Duration) -> Self {
        // The executor bounds every attempt, so the connection itself has no
        // response timeout that could fire on its own schedule, and the dial
        // is bounded here by `connect_timeout`.
        let connection_config = AsyncConnectionConfig::new()
            .set_response_timeout(None)
            .set_connection_timeout(None);
        Self {
            client,
            connection_config,
            connect_timeout,
            state: Mutex::new(SlotState::default()),
            dial_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Sends `pipeline`, reads `reply_count` raw replies and hands them to
    /// `parse`. Discards the connection when the failure leaves it in doubt,
    /// and when the returned future is dropped before the replies arrive.
    pub(crate) async fn execute<T>(
        &self,
        pipeline: &Pipeline,
        reply_count: usize,
        parse: impl FnOnce(Vec<Value>) -> Result<T, AttemptError>,
    ) -> Result<T, AttemptError> {
        let mut lease = self.acquire().await?;
        let in_flight = InFlight {
            slot: self,
            generation: lease.generation,
            finished: false,
        };
        let result = lease
            .connection
            .req_packed_commands(pipeline, 0, reply_count)
            .await;
        in_flight.finish();
        let outcome = match result {
            Ok(replies) => parse(replies),
            Err(error) => Err(BackendError::command(error).into()),
        };
        if let Err(error) = &outcome
            && let Some(reason) = discard_reason(error)
        {
            self.discard(lease.generation, reason);
        }
        outcome
    }

    /// Returns the current connection, dialing one if the slot is empty.
    async fn acquire(&self) -> Result<Lease, BackendError> {
        let dials_seen = {
            let state = self.state();
            if let Some(lease) = &state.current {
                return Ok(lease.clone());
            }
            state.dials_finished
        };
        let _dialing = self.dial_lock.lock().await;
        {
            let state = self.state();
            if let Some(lease) = &state.current {
                return Ok(lease.clone());
            }
            // A dial finished while this caller waited. Its failure is this
            // caller's too, so the server receives one dial per outage, not one
            // per waiting request.
            if state.dials_finished != dials_seen
                && let Some(error) = &state.last_dial_error
            {
                return Err(error.clone());
            }
        }
        let dialed = self.dial().await;
        let mut state = self.state();
        state.dials_finished += 1;
        match dialed {
            Ok(connection) => {
                state.last_generation += 1;
                let lease = Lease {
                    generation: state.last_generation,
                    connection,
                };
                state.current = Some(lease.clone());
                state.last_dial_error = None;
                tracing::debug!(generation = lease.generation, "session store connected");
                Ok(lease)
            }
            Err(error) => {
                state.last_dial_error = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn dial(&self) -> Result<MultiplexedConnection, BackendError> {
        let dial = self
            .client
            .get_multiplexed_async_connection_with_config(&self.connection_config);
        match tokio::time::timeout(self.connect_timeout, dial).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => Err(BackendError::connect(error)),
            Err(_elapsed) => {
                let message = format!("connect timed out after {:?}", self.connect_timeout);
                let error = io::Error::new(io::ErrorKind::TimedOut, message);
                Err(BackendError::connect(RedisError::from(error)))
            }
        }
    }

    /// Empties the slot if it still contains the connection of `generation`.
    fn discard(&self, generation: u64, reason: &'static str) {
        let mut state = self.state();
        if state
            .current
            .as_ref()
            .is_some_and(|lease| lease.generation == generation)
        {
            state.current = None;
            tracing::info!(generation, reason, "session store connection discarded");
        }
    }

    /// Returns the generation of the connection in the slot, if any.
    pub(crate) fn current_generation(&self) -> Option<u64> {
        self.state().current.as_ref().map(|lease| lease.generation)
    }

    fn state(&self) -> MutexGuard<'_, SlotState> {
        // No code path panics while holding the lock, and every update
        // leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returns why `error` puts the connection in doubt, or `None` if the
/// connection is still in step with its requests.
fn discard_reason(error: &AttemptError) -> Option<&'static str> {
    match error {
        AttemptError::Backend(backend) if discards_connection(backend.redis_error()) => {
            Some("backend error")
        }
        AttemptError::Reply(reply) if reply.discards_connection() => Some("reply out of step"),
        _ => None,
    }
}

/// Discards the connection if the request is dropped before its replies
/// arrive: a reply may still be on its way, and the connection is in doubt.
struct InFlight<'a> {
    slot: &'a ConnectionSlot,
    generation: u64,
    finished: bool,
}

impl InFlight<'_> {
    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.slot.discard(self.generation, "request cancelled");
        }
    }
}
