//! The circuit breaker: a lock-free closed path in front of a locked state machine.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::config::BreakerConfig;
use super::counter::ClosedCounter;
use super::observer::{BreakerObserver, NoObserver};
use super::permit::{Permit, PermitKind, Rejected};
use super::state::{BreakerState, Change, Machine, Outcome};
use crate::config::ConfigError;
use crate::random::RandomSource;

/// A circuit breaker, shared between threads through an `Arc`.
///
/// It never reads a clock: every method takes the current time as `now`.
/// Times earlier than a previous event are accepted, and elapsed time then
/// counts as zero.
///
/// While closed, [`Self::try_acquire`] is one atomic load and
/// [`Permit::record`] with [`Outcome::Success`] is one more, plus a
/// compare-and-swap only when a failure streak must be cleared (with
/// [`TripPolicy::FailureRate`](super::TripPolicy::FailureRate), one
/// compare-and-swap loop on a shared word per outcome). Failures, trips and
/// every other state take a mutex.
pub struct CircuitBreaker {
    config: BreakerConfig,
    /// Generation << 3 | state tag, published under the mutex.
    published: AtomicU64,
    counter: ClosedCounter,
    machine: Mutex<Machine>,
    random: Arc<dyn RandomSource>,
    observer: Arc<dyn BreakerObserver>,
}

const TAG_BITS: u32 = 3;

impl CircuitBreaker {
    /// Creates a closed breaker.
    ///
    /// `random` shortens each open period by up to `cooldown_jitter`.
    ///
    /// # Errors
    ///
    /// Returns the first error of [`BreakerConfig::validate`].
    pub fn new(config: BreakerConfig, random: Arc<dyn RandomSource>) -> Result<Self, ConfigError> {
        config.validate()?;
        let machine = Machine::new(&config);
        let generation = machine.generation();
        Ok(Self {
            counter: ClosedCounter::new(&config.trip, generation),
            published: AtomicU64::new(pack(generation, BreakerState::Closed)),
            machine: Mutex::new(machine),
            config,
            random,
            observer: Arc::new(NoObserver),
        })
    }

    /// Reports every later state change to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn BreakerObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Admits a call at `now`, or rejects it with the time to come back.
    ///
    /// # Errors
    ///
    /// Returns [`Rejected`] while open, forced open, or half-open with every
    /// probe slot taken.
    #[inline]
    pub fn try_acquire(&self, now: Instant) -> Result<Permit<'_>, Rejected> {
        let word = self.published.load(Ordering::Acquire);
        match unpack_state(word) {
            BreakerState::Closed => {
                return Ok(Permit::new(self, word >> TAG_BITS, PermitKind::Closed));
            }
            BreakerState::Disabled => {
                return Ok(Permit::new(self, word >> TAG_BITS, PermitKind::Bypass));
            }
            _ => {}
        }
        self.acquire_locked(now)
    }

    /// Admits or rejects under the lock: every state but closed and disabled.
    #[cold]
    #[inline(never)]
    fn acquire_locked(&self, now: Instant) -> Result<Permit<'_>, Rejected> {
        let mut machine = self.lock();
        let (acquired, change) = machine.acquire(now, &self.config, self.random.as_ref());
        self.publish(&machine, change, now);
        drop(machine);
        acquired.map(|(generation, kind)| Permit::new(self, generation, kind))
    }

    /// Returns the state as of the last event.
    ///
    /// An open breaker whose cooldown has ended still reads
    /// [`BreakerState::Open`] until the next [`Self::try_acquire`].
    pub fn state(&self) -> BreakerState {
        unpack_state(self.published.load(Ordering::Acquire))
    }

    /// Rejects every call until [`Self::reset`].
    pub fn force_open(&self, now: Instant) {
        let mut machine = self.lock();
        let change = machine.force_open();
        self.publish(&machine, Some(change), now);
    }

    /// Admits every call and ignores every outcome until [`Self::reset`].
    pub fn disable(&self, now: Instant) {
        let mut machine = self.lock();
        let change = machine.disable();
        self.publish(&machine, Some(change), now);
    }

    /// Closes the breaker with fresh counts. Its next trip opens for the
    /// initial cooldown.
    ///
    /// Outcomes of permits issued before the reset are ignored.
    pub fn reset(&self, now: Instant) {
        let mut machine = self.lock();
        let change = machine.reset();
        self.publish(&machine, Some(change), now);
    }

    /// Returns the validated settings.
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Records an outcome; the closed-state success is inlined into the
    /// caller, and every path that takes the lock is kept out of line.
    #[inline]
    pub(crate) fn record(&self, generation: u64, kind: PermitKind, outcome: Outcome, now: Instant) {
        match (kind, outcome) {
            (PermitKind::Bypass, _) | (PermitKind::Closed, Outcome::BackendAnswered) => {}
            (PermitKind::Closed, Outcome::Success) => self.counter.record_success(generation),
            (PermitKind::Closed, Outcome::Failure) => self.record_closed_failure(generation, now),
            (PermitKind::Probe, _) => self.record_probe(generation, outcome, now),
        }
    }

    #[cold]
    #[inline(never)]
    fn record_closed_failure(&self, generation: u64, now: Instant) {
        if self.counter.record_failure(generation) {
            let mut machine = self.lock();
            let change = machine.trip(generation, now, &self.config, self.random.as_ref());
            self.publish(&machine, change, now);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_probe(&self, generation: u64, outcome: Outcome, now: Instant) {
        let mut machine = self.lock();
        let change =
            machine.record_probe(generation, outcome, now, &self.config, self.random.as_ref());
        self.publish(&machine, change, now);
    }

    pub(crate) fn release_probe(&self, generation: u64) {
        self.lock().release_probe(generation);
    }

    /// Publishes a change made under the lock and reports it once.
    fn publish(&self, machine: &MutexGuard<'_, Machine>, change: Option<Change>, now: Instant) {
        let Some(Change { from, to }) = change else {
            return;
        };
        let generation = machine.generation();
        // The counter restarts before the state is published, so a permit
        // that reads the new generation also finds its counter.
        if to == BreakerState::Closed {
            self.counter.restart(generation);
        }
        self.published
            .store(pack(generation, to), Ordering::Release);
        if from != to {
            self.observer.on_transition(from, to, now);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // Every transition of the machine is a single assignment, so a panic
        // in an observer leaves it consistent.
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("config", &self.config)
            .field("random", &self.random)
            .field("observer", &self.observer)
            .finish_non_exhaustive()
    }
}

fn pack(generation: u64, state: BreakerState) -> u64 {
    let tag = match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
        BreakerState::Disabled => 3,
        BreakerState::ForcedOpen => 4,
    };
    generation << TAG_BITS | tag
}

#[inline]
fn unpack_state(word: u64) -> BreakerState {
    match word & ((1 << TAG_BITS) - 1) {
        0 => BreakerState::Closed,
        1 => BreakerState::Open,
        2 => BreakerState::HalfOpen,
        3 => BreakerState::Disabled,
        _ => BreakerState::ForcedOpen,
    }
}
