//! Injected time sources, so deadlines and cooldowns can be tested without sleeping.
//!
//! ```
//! use std::time::Duration;
//! use resilience_core::{Clock, ManualClock};
//!
//! let clock = ManualClock::new();
//! let shared = clock.clone();
//! let start = clock.now();
//!
//! shared.advance(Duration::from_millis(250));
//! assert_eq!(clock.now() - start, Duration::from_millis(250));
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A source of the current time.
///
/// Implementations must be cheap to call. A reading may be earlier than a
/// previous one (a manual clock can be set back), and every user of a clock
/// in this crate saturates elapsed time at zero in that case.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Returns the current time.
    fn now(&self) -> Instant;
}

/// The clock of the tokio runtime.
///
/// It reads [`tokio::time::Instant`], so a test that pauses tokio's time
/// (`tokio::time::pause`) also stops and advances this clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// A clock that moves only when a test sets or advances it.
///
/// Clones share the same time, so a test can keep one handle and give
/// another to the code under test.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl ManualClock {
    /// Creates a clock that starts at the current real time.
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// Creates a clock that starts at `start`.
    pub fn starting_at(start: Instant) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Sets the time, forwards or backwards.
    pub fn set(&self, now: Instant) {
        *self.lock() = now;
    }

    /// Moves the time forwards by `duration`.
    ///
    /// # Panics
    ///
    /// Panics if the new time cannot be represented by [`Instant`].
    pub fn advance(&self, duration: Duration) {
        let mut now = self.lock();
        *now = now
            .checked_add(duration)
            .expect("manual clock advanced past the range of Instant");
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Instant> {
        // An Instant is always valid, so a panic elsewhere cannot leave it torn.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.lock()
    }
}

impl<C: Clock> Clock for Arc<C> {
    fn now(&self) -> Instant {
        C::now(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_set_moves_backwards() {
        let clock = ManualClock::new();
        let start = clock.now();
        clock.advance(Duration::from_secs(5));

        clock.set(start);

        assert_eq!(clock.now(), start);
    }

    #[test]
    fn manual_clock_starts_where_told() {
        let start = Instant::now() + Duration::from_secs(60);
        let clock = ManualClock::starting_at(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn arc_clock_reads_inner_clock() {
        let clock = Arc::new(ManualClock::new());
        let before = clock.now();
        clock.advance(Duration::from_millis(7));
        assert_eq!(Clock::now(&clock) - before, Duration::from_millis(7));
    }

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock;
        let start = clock.now();

        tokio::time::advance(Duration::from_secs(3)).await;

        assert_eq!(clock.now() - start, Duration::from_secs(3));
    }
}
