//! Injectable randomness for jitter, so delays can be reproduced in tests.

use std::sync::{Mutex, PoisonError};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A source of uniformly distributed random numbers.
pub trait RandomSource: Send + Sync + std::fmt::Debug + 'static {
    /// Returns a value uniformly distributed in [0, 1).
    fn next_unit(&self) -> f64;
}

/// A reproducible generator: two sources with the same seed return the same
/// sequence.
///
/// Calls from several threads take turns on one lock.
#[derive(Debug)]
pub struct SeededRandom {
    rng: Mutex<SmallRng>,
}

impl SeededRandom {
    /// Creates a generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
        }
    }
}

impl RandomSource for SeededRandom {
    fn next_unit(&self) -> f64 {
        // A generator left by a panicking thread is still a valid generator.
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        rng.random::<f64>()
    }
}

/// The thread-local generator of `rand`, seeded from the operating system.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl RandomSource for ThreadRandom {
    fn next_unit(&self) -> f64 {
        rand::rng().random::<f64>()
    }
}

/// A source that always returns the same value, for tests that need exact
/// delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedRandom {
    value: f64,
}

impl FixedRandom {
    /// Largest `f64` below 1.0.
    const BELOW_ONE: f64 = 1.0 - f64::EPSILON / 2.0;

    /// Creates a source that always returns `value`.
    ///
    /// A value outside [0, 1) is clamped into it: negative values and NaN
    /// become 0.0, and values of 1.0 or more become the largest `f64` below
    /// 1.0.
    pub fn new(value: f64) -> Self {
        let value = if value.is_nan() || value < 0.0 {
            0.0
        } else {
            value.min(Self::BELOW_ONE)
        };
        Self { value }
    }
}

impl RandomSource for FixedRandom {
    fn next_unit(&self) -> f64 {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_repeats_sequence_for_same_seed() {
        let first = SeededRandom::new(42);
        let second = SeededRandom::new(42);
        for _ in 0..100 {
            assert_eq!(first.next_unit().to_bits(), second.next_unit().to_bits());
        }
    }

    #[test]
    fn seeded_and_thread_random_stay_in_unit_interval() {
        let seeded = SeededRandom::new(7);
        for _ in 0..10_000 {
            let seeded_value = seeded.next_unit();
            let thread_value = ThreadRandom.next_unit();
            assert!((0.0..1.0).contains(&seeded_value), "{seeded_value}");
            assert!((0.0..1.0).contains(&thread_value), "{thread_value}");
        }
    }

    #[test]
    fn fixed_random_clamps_into_unit_interval() {
        assert_eq!(FixedRandom::new(0.25).next_unit(), 0.25);
        assert_eq!(FixedRandom::new(-3.0).next_unit(), 0.0);
        assert_eq!(FixedRandom::new(f64::NAN).next_unit(), 0.0);

        let clamped = FixedRandom::new(1.0).next_unit();
        assert!(clamped < 1.0, "{clamped}");
        assert!(clamped > 0.999_999, "{clamped}");
        assert_eq!(FixedRandom::new(f64::INFINITY).next_unit(), clamped);
    }
}
