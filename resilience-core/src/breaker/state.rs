//! The breaker's states and the pure transitions of its slow path.

use std::time::{Duration, Instant};

use super::config::BreakerConfig;
use super::permit::{PermitKind, Rejected};
use crate::backoff::{duration_from_nanos, scale};
use crate::random::RandomSource;

/// The state of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls pass and their outcomes are counted by the trip policy.
    Closed,
    /// Calls are rejected until the cooldown ends.
    Open,
    /// A bounded number of probe calls pass, and their outcomes decide whether
    /// the breaker closes or opens again.
    HalfOpen,
    /// Set by an operator: every call passes and no outcome is counted.
    Disabled,
    /// Set by an operator: every call is rejected until a reset.
    ForcedOpen,
}

/// The outcome of one admitted call, as reported to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed with a transient error: the backend looks unhealthy.
    Failure,
    /// The call failed with a permanent error, which proves the backend
    /// answered. It is neutral: it frees a probe slot but neither opens nor
    /// closes the breaker.
    BackendAnswered,
}

/// A change of state made by one event. `from` equals `to` when a reset
/// restarts a closed breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) from: BreakerState,
    pub(crate) to: BreakerState,
}

/// The state together with the data that only that state has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Closed,
    Open {
        retry_at: Instant,
    },
    HalfOpen {
        outstanding: u32,
        successes: u32,
        /// Start of the current wait for a probe report: entry into
        /// half-open, the latest recorded probe outcome, or the admission of
        /// a probe while none was outstanding.
        dwell_start: Instant,
    },
    Disabled,
    ForcedOpen,
}

/// The slow-path state machine. It never reads a clock: every event
/// carries its time.
#[derive(Debug)]
pub(crate) struct Machine {
    phase: Phase,
    /// Incremented on every change. Permits from older generations are ignored.
    generation: u64,
    /// The open duration before jitter: the initial cooldown at each trip,
    /// grown by each failed probe.
    cooldown: Duration,
}

/// The result of one acquire: a permit's generation and kind, or a rejection.
pub(crate) type Acquired = Result<(u64, PermitKind), Rejected>;

impl Machine {
    pub(crate) fn new(config: &BreakerConfig) -> Self {
        Self {
            phase: Phase::Closed,
            generation: 0,
            cooldown: config.cooldown,
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        match self.phase {
            Phase::Closed => BreakerState::Closed,
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
            Phase::Disabled => BreakerState::Disabled,
            Phase::ForcedOpen => BreakerState::ForcedOpen,
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Admits or rejects one call at `now`.
    pub(crate) fn acquire(
        &mut self,
        now: Instant,
        config: &BreakerConfig,
        random: &dyn RandomSource,
    ) -> (Acquired, Option<Change>) {
        match &mut self.phase {
            Phase::Closed => (Ok((self.generation, PermitKind::Closed)), None),
            Phase::Disabled => (Ok((self.generation, PermitKind::Bypass)), None),
            Phase::ForcedOpen => {
                let retry_at = instant_after(now, config.cooldown);
                let rejected = Rejected::new(retry_at, BreakerState::ForcedOpen);
                (Err(rejected), None)
            }
            Phase::Open { retry_at } if now < *retry_at => {
                (Err(Rejected::new(*retry_at, BreakerState::Open)), None)
            }
            Phase::Open { .. } => {
                let change = self.enter(Phase::HalfOpen {
                    outstanding: 1,
                    successes: 0,
                    dwell_start: now,
                });
                (Ok((self.generation, PermitKind::Probe)), Some(change))
            }
            Phase::HalfOpen { .. } => self.acquire_half_open(now, config, random),
        }
    }

    /// Admits a probe into a free slot, or opens again when the outstanding
    /// probes have gone `max_half_open` without a report.
    fn acquire_half_open(
        &mut self,
        now: Instant,
        config: &BreakerConfig,
        random: &dyn RandomSource,
    ) -> (Acquired, Option<Change>) {
        let Phase::HalfOpen {
            outstanding,
            dwell_start,
            ..
        } = &mut self.phase
        else {
            unreachable!("acquire_half_open called in state {:?}", self.state());
        };
        let dwell_end = instant_after(*dwell_start, config.max_half_open);
        if *outstanding > 0 && now >= dwell_end {
            let change = self.reopen(now, config, random);
            return (Err(self.open_rejection()), Some(change));
        }
        if *outstanding < config.max_probes.get() {
            if *outstanding == 0 {
                // No probe was waiting, so the time spent idle is not a
                // silence of this one.
                *dwell_start = (*dwell_start).max(now);
            }
            *outstanding += 1;
            return (Ok((self.generation, PermitKind::Probe)), None);
        }
        (Err(Rejected::new(dwell_end, BreakerState::HalfOpen)), None)
    }

    /// Opens a closed breaker whose trip policy was met by a failure of
    /// `generation`, for the initial cooldown.
    pub(crate) fn trip(
        &mut self,
        generation: u64,
        now: Instant,
        config: &BreakerConfig,
        random: &dyn RandomSource,
    ) -> Option<Change> {
        if generation != self.generation || self.phase != Phase::Closed {
            return None;
        }
        self.cooldown = config.cooldown;
        Some(self.open(now, config, random))
    }

    /// Applies the outcome of a probe admitted in `generation`.
    pub(crate) fn record_probe(
        &mut self,
        generation: u64,
        outcome: Outcome,
        now: Instant,
        config: &BreakerConfig,
        random: &dyn RandomSource,
    ) -> Option<Change> {
        if generation != self.generation {
            return None;
        }
        let Phase::HalfOpen {
            outstanding,
            successes,
            dwell_start,
        } = &mut self.phase
        else {
            return None;
        };
        *outstanding = outstanding.saturating_sub(1);
        // A reading older than the last report must not age the dwell.
        *dwell_start = (*dwell_start).max(now);
        match outcome {
            Outcome::Failure => Some(self.reopen(now, config, random)),
            Outcome::BackendAnswered => None,
            Outcome::Success => {
                *successes += 1;
                if *successes < config.probe_successes_to_close.get() {
                    return None;
                }
                Some(self.enter(Phase::Closed))
            }
        }
    }

    /// Frees the slot of a probe of `generation` dropped without an outcome.
    pub(crate) fn release_probe(&mut self, generation: u64) {
        if generation != self.generation {
            return;
        }
        if let Phase::HalfOpen { outstanding, .. } = &mut self.phase {
            *outstanding = outstanding.saturating_sub(1);
        }
    }

    pub(crate) fn force_open(&mut self) -> Change {
        self.enter(Phase::ForcedOpen)
    }

    pub(crate) fn disable(&mut self) -> Change {
        self.enter(Phase::Disabled)
    }

    /// Closes the breaker with fresh counts. The next trip starts from the
    /// initial cooldown again.
    pub(crate) fn reset(&mut self) -> Change {
        self.enter(Phase::Closed)
    }

    /// Opens again after a failed or silent probe, with a grown cooldown.
    fn reopen(
        &mut self,
        now: Instant,
        config: &BreakerConfig,
        random: &dyn RandomSource,
    ) -> Change {
        self.cooldown = grow(self.cooldown, config.cooldown_growth, config.max_cooldown);
        self.open(now, config, random)
    }

    /// Opens for the current cooldown, shortened by jitter.
    fn open(&mut self, now: Instant, config: &BreakerConfig, random: &dyn RandomSource) -> Change {
        let open_for = jittered(self.cooldown, config.cooldown_jitter, random.next_unit());
        let retry_at = instant_after(now, open_for);
        self.enter(Phase::Open { retry_at })
    }

    fn open_rejection(&self) -> Rejected {
        match self.phase {
            Phase::Open { retry_at } => Rejected::new(retry_at, BreakerState::Open),
            _ => unreachable!("open_rejection called in state {:?}", self.state()),
        }
    }

    fn enter(&mut self, phase: Phase) -> Change {
        let from = self.state();
        self.phase = phase;
        self.generation += 1;
        Change {
            from,
            to: self.state(),
        }
    }
}

/// Returns `cooldown * factor` with `factor` uniform in `[1 - jitter, 1]`
/// for `unit` in [0, 1).
pub(crate) fn jittered(cooldown: Duration, jitter: f64, unit: f64) -> Duration {
    let unit = if unit.is_nan() {
        0.0
    } else {
        unit.clamp(0.0, 1.0)
    };
    scale(cooldown, 1.0 - jitter * unit)
}

/// Returns `min(max, cooldown * growth)` without overflowing.
pub(crate) fn grow(cooldown: Duration, growth: f64, max: Duration) -> Duration {
    let grown = cooldown.as_nanos() as f64 * growth;
    if grown >= max.as_nanos() as f64 {
        return max;
    }
    // `as` saturates a float-to-integer cast.
    duration_from_nanos(grown as u128).min(max)
}

/// Returns `now + duration`.
///
/// NOTE: where the sum is past the range of `Instant`, this returns `now`,
/// so the breaker admits at once. Durations are validated to at most one
/// day, so a monotonic clock does not reach that case.
fn instant_after(now: Instant, duration: Duration) -> Instant {
    now.checked_add(duration).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittered_stays_between_one_minus_jitter_and_one() {
        let cooldown = Duration::from_secs(10);
        assert_eq!(jittered(cooldown, 0.2, 0.0), cooldown);
        assert_eq!(jittered(cooldown, 0.2, 0.5), Duration::from_secs(9));
        assert_eq!(jittered(cooldown, 0.0, 0.9), cooldown);
        assert_eq!(jittered(cooldown, 1.0, 0.5), Duration::from_secs(5));
    }

    #[test]
    fn grow_multiplies_up_to_max() {
        let max = Duration::from_secs(30);
        assert_eq!(
            grow(Duration::from_secs(1), 2.0, max),
            Duration::from_secs(2)
        );
        assert_eq!(grow(Duration::from_secs(20), 2.0, max), max);
        assert_eq!(
            grow(Duration::from_secs(3), 1.0, max),
            Duration::from_secs(3)
        );
        assert_eq!(grow(max, f64::MAX, max), max);
    }
}
