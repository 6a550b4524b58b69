//! Notification of breaker state changes.

use std::time::Instant;

use super::BreakerState;

/// Receives every state change of a breaker, for logs, metrics and alarms.
///
/// Each change is reported exactly once, by the thread that made it, in the
/// order the changes happened. The breaker calls the observer while it holds
/// its internal lock, so an implementation must return quickly and must not
/// call back into the same breaker, which would deadlock.
pub trait BreakerObserver: Send + Sync + std::fmt::Debug {
    /// Called after the breaker moved from `from` to `to` at time `at`.
    fn on_transition(&self, from: BreakerState, to: BreakerState, at: Instant);
}

/// Observer that records nothing, used when none is installed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoObserver;

impl BreakerObserver for NoObserver {
    fn on_transition(&self, _from: BreakerState, _to: BreakerState, _at: Instant) {}
}
