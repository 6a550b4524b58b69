//! Helpers shared by the breaker tests.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use resilience_core::{BreakerObserver, BreakerState};

/// An observer that stores every reported transition in order.
#[derive(Debug, Default)]
pub(crate) struct RecordingObserver {
    transitions: Mutex<Vec<(BreakerState, BreakerState, Instant)>>,
}

impl RecordingObserver {
    /// Returns the transitions reported so far.
    pub(crate) fn transitions(&self) -> Vec<(BreakerState, BreakerState, Instant)> {
        self.transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Returns how many reported transitions went from `from` to `to`.
    #[allow(dead_code, reason = "not every test binary counts transitions")]
    pub(crate) fn count(&self, from: BreakerState, to: BreakerState) -> usize {
        self.transitions()
            .iter()
            .filter(|(f, t, _)| (*f, *t) == (from, to))
            .count()
    }
}

impl BreakerObserver for RecordingObserver {
    fn on_transition(&self, from: BreakerState, to: BreakerState, at: Instant) {
        self.transitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((from, to, at));
    }
}
