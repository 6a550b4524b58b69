//! Lock-free failure counting while the breaker is closed.
//!
//! Each counter is one `AtomicU64` that packs the low bits of the closed
//! generation next to the counts. An update from a permit of another
//! generation finds a different stamp and changes nothing, so a late
//! outcome does not leak into a later closed period. The stamps wrap after
//! 2^32 generations (consecutive failures) or 2^24 (failure rate), so only
//! a permit held across that many state changes could match again.

use std::sync::atomic::{AtomicU64, Ordering};

use super::config::TripPolicy;

/// The closed-state counts of one trip policy.
#[derive(Debug)]
pub(crate) enum ClosedCounter {
    /// Word: generation stamp (32 bits) | consecutive failures (32 bits).
    Consecutive { threshold: u32, word: AtomicU64 },
    /// Word: generation stamp (24 bits) | failures (20 bits) | calls (20 bits).
    Rate {
        window: u32,
        min_calls: u32,
        threshold_percent: u32,
        word: AtomicU64,
    },
}

const COUNT_BITS: u32 = 20;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const RATE_STAMP_SHIFT: u32 = 2 * COUNT_BITS;

impl ClosedCounter {
    pub(crate) fn new(policy: &TripPolicy, generation: u64) -> Self {
        let counter = match policy {
            TripPolicy::ConsecutiveFailures { threshold } => Self::Consecutive {
                threshold: threshold.get(),
                word: AtomicU64::new(0),
            },
            TripPolicy::FailureRate {
                window,
                min_calls,
                threshold_percent,
            } => Self::Rate {
                window: window.get(),
                min_calls: min_calls.get(),
                threshold_percent: u32::from(*threshold_percent),
                word: AtomicU64::new(0),
            },
        };
        counter.restart(generation);
        counter
    }

    /// Clears the counts for a new closed period of `generation`.
    pub(crate) fn restart(&self, generation: u64) {
        match self {
            Self::Consecutive { word, .. } => {
                word.store(consecutive_stamp(generation), Ordering::Release)
            }
            Self::Rate { word, .. } => word.store(rate_stamp(generation), Ordering::Release),
        }
    }

    /// Counts a success of `generation`.
    ///
    /// With consecutive failures, this is one load, plus a compare-and-swap
    /// only when a failure streak must be cleared. With a failure rate, it is
    /// one compare-and-swap loop on a shared word.
    #[inline]
    pub(crate) fn record_success(&self, generation: u64) {
        match self {
            Self::Consecutive { word, .. } => {
                let stamp = consecutive_stamp(generation);
                let mut current = word.load(Ordering::Acquire);
                // Only a streak of this generation is cleared. The loop
                // retries when a concurrent failure extended it meanwhile.
                while current != stamp && current & !u64::from(u32::MAX) == stamp {
                    match word.compare_exchange_weak(
                        current,
                        stamp,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break,
                        Err(actual) => current = actual,
                    }
                }
            }
            Self::Rate { window, word, .. } => {
                let stamp = rate_stamp(generation);
                let _ = word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                    let (calls, failures) = rate_counts(current, stamp)?;
                    Some(stamp | pack_rate(calls + 1, failures, *window))
                });
            }
        }
    }

    /// Counts a failure of `generation` and returns whether the trip policy is met.
    pub(crate) fn record_failure(&self, generation: u64) -> bool {
        match self {
            Self::Consecutive { threshold, word } => {
                let stamp = consecutive_stamp(generation);
                let previous = word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                    (current & !u64::from(u32::MAX) == stamp).then(|| {
                        let failures = (current as u32).saturating_add(1);
                        stamp | u64::from(failures)
                    })
                });
                match previous {
                    Ok(previous) => (previous as u32).saturating_add(1) >= *threshold,
                    Err(_) => false,
                }
            }
            Self::Rate {
                window,
                min_calls,
                threshold_percent,
                word,
            } => {
                let stamp = rate_stamp(generation);
                let previous = word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                    let (calls, failures) = rate_counts(current, stamp)?;
                    Some(stamp | pack_rate(calls + 1, failures + 1, *window))
                });
                let Ok(previous) = previous else {
                    return false;
                };
                let (calls, failures) = rate_counts(previous, stamp).unwrap_or_default();
                rate_trips(calls + 1, failures + 1, *min_calls, *threshold_percent)
            }
        }
    }
}

/// Returns whether `failures` of `calls` meet the failure-rate threshold.
fn rate_trips(calls: u64, failures: u64, min_calls: u32, threshold_percent: u32) -> bool {
    calls >= u64::from(min_calls) && failures * 100 >= u64::from(threshold_percent) * calls
}

/// Packs counts after one more call, halving both once `calls` reaches `window`.
fn pack_rate(calls: u64, failures: u64, window: u32) -> u64 {
    let (calls, failures) = if calls >= u64::from(window) {
        (calls / 2, failures / 2)
    } else {
        (calls, failures)
    };
    failures << COUNT_BITS | calls
}

/// Returns (calls, failures) when `word` carries `stamp`.
fn rate_counts(word: u64, stamp: u64) -> Option<(u64, u64)> {
    (word & !((1 << RATE_STAMP_SHIFT) - 1) == stamp)
        .then_some((word & COUNT_MASK, word >> COUNT_BITS & COUNT_MASK))
}

fn consecutive_stamp(generation: u64) -> u64 {
    generation << 32
}

fn rate_stamp(generation: u64) -> u64 {
    generation << RATE_STAMP_SHIFT
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn nonzero(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    #[test]
    fn consecutive_counter_trips_at_threshold_and_success_clears() {
        let policy = TripPolicy::ConsecutiveFailures {
            threshold: nonzero(3),
        };
        let counter = ClosedCounter::new(&policy, 7);

        assert!(!counter.record_failure(7));
        assert!(!counter.record_failure(7));
        counter.record_success(7);
        assert!(!counter.record_failure(7));
        assert!(!counter.record_failure(7));
        assert!(counter.record_failure(7));
    }

    #[test]
    fn counter_ignores_other_generation() {
        let policy = TripPolicy::ConsecutiveFailures {
            threshold: nonzero(1),
        };
        let counter = ClosedCounter::new(&policy, 2);

        assert!(!counter.record_failure(1));
        assert!(counter.record_failure(2));
    }

    #[test]
    fn rate_counter_trips_after_min_calls() {
        let policy = TripPolicy::FailureRate {
            window: nonzero(10),
            min_calls: nonzero(4),
            threshold_percent: 50,
        };
        let counter = ClosedCounter::new(&policy, 0);

        assert!(!counter.record_failure(0), "1 of 1 calls, below min_calls");
        counter.record_success(0);
        assert!(!counter.record_failure(0), "2 of 3 calls, below min_calls");
        assert!(counter.record_failure(0), "3 of 4 calls");
    }

    #[test]
    fn rate_counter_halves_at_window() {
        let policy = TripPolicy::FailureRate {
            window: nonzero(4),
            min_calls: nonzero(2),
            threshold_percent: 60,
        };
        let counter = ClosedCounter::new(&policy, 0);

        for _ in 0..3 {
            counter.record_success(0);
        }
        assert!(
            !counter.record_failure(0),
            "1 of 4 calls, then halved to 0 of 2"
        );
        assert!(!counter.record_failure(0), "1 of 3 calls");
        assert!(
            !counter.record_failure(0),
            "2 of 4 calls, then halved to 1 of 2"
        );
        // Without halving this would be 4 failures of 7 calls, below 60%.
        assert!(counter.record_failure(0), "2 of 3 calls");
    }
}
