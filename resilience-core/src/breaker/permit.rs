//! The guard for one admitted call, and the rejection of a call.

use std::fmt;
use std::time::{Duration, Instant};

use super::circuit::CircuitBreaker;
use super::state::{BreakerState, Outcome};

/// The kind of call a permit admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PermitKind {
    /// A call through a closed breaker, whose outcome feeds the trip policy.
    Closed,
    /// A half-open probe, which holds one of `max_probes` slots.
    Probe,
    /// A call through a disabled breaker, whose outcome is ignored.
    Bypass,
}

/// Permission for one call, which reports the call's outcome.
///
/// A permit remembers the generation of the breaker that issued it. If the
/// breaker has changed state since, the outcome is ignored.
#[must_use = "a permit records one attempt's outcome; dropping it without record frees its slot"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    generation: u64,
    kind: PermitKind,
    recorded: bool,
}

impl<'a> Permit<'a> {
    #[inline]
    pub(crate) fn new(breaker: &'a CircuitBreaker, generation: u64, kind: PermitKind) -> Self {
        Self {
            breaker,
            generation,
            kind,
            recorded: false,
        }
    }

    /// Reports the outcome of the call at time `now`.
    #[inline]
    pub fn record(mut self, outcome: Outcome, now: Instant) {
        self.recorded = true;
        self.breaker
            .record(self.generation, self.kind, outcome, now);
    }

    /// Returns `true` if this permit is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.kind == PermitKind::Probe
    }
}

/// Dropping a permit without [`Permit::record`] counts as no outcome, and a
/// probe's slot is freed, so an abandoned call cannot hold the breaker
/// half-open.
impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.recorded && self.kind == PermitKind::Probe {
            self.breaker.release_probe(self.generation);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Permit")
            .field("generation", &self.generation)
            .field("kind", &self.kind)
            .field("recorded", &self.recorded)
            .finish()
    }
}

/// A call rejected by the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    retry_at: Instant,
    state: BreakerState,
}

impl Rejected {
    pub(crate) fn new(retry_at: Instant, state: BreakerState) -> Self {
        Self { retry_at, state }
    }

    /// Returns the earliest time at which the breaker may decide otherwise.
    ///
    /// - [`BreakerState::Open`]: the end of the cooldown, when the next
    ///   acquire is admitted as a probe;
    /// - [`BreakerState::HalfOpen`] with every probe slot taken: when the
    ///   outstanding probes have waited `max_half_open`, after which the next
    ///   acquire opens the breaker again unless a probe reports first;
    /// - [`BreakerState::ForcedOpen`]: a hint of one initial cooldown from the
    ///   rejection, because only a reset closes the breaker.
    pub fn retry_at(&self) -> Instant {
        self.retry_at
    }

    /// Returns the time from `now` until [`Self::retry_at`], or zero if it has passed.
    pub fn retry_after(&self, now: Instant) -> Duration {
        self.retry_at.saturating_duration_since(now)
    }

    /// Returns the state that rejected the call.
    pub fn state(&self) -> BreakerState {
        self.state
    }
}
