//! Exponential backoff with jitter between retries.
//!
//! The exponential delay `base * 2^retry` is capped first and jittered
//! second, so every delay lies in `[0, cap]` and the arithmetic saturates at
//! any retry number.
//!
//! ```
//! use std::time::Duration;
//! use resilience_core::{Backoff, BackoffConfig, FixedRandom, Jitter};
//!
//! let backoff = Backoff::new(BackoffConfig {
//!     base: Duration::from_millis(100),
//!     cap: Duration::from_secs(1),
//!     jitter: Jitter::Full,
//! })?;
//! let half = FixedRandom::new(0.5);
//!
//! assert_eq!(backoff.delay(0, Duration::ZERO, &half), Duration::from_millis(50));
//! assert_eq!(backoff.delay(2, Duration::ZERO, &half), Duration::from_millis(200));
//! assert_eq!(backoff.delay(u32::MAX, Duration::ZERO, &half), Duration::from_millis(500));
//! # Ok::<(), resilience_core::ConfigError>(())
//! ```

use std::time::Duration;

use crate::config::ConfigError;
use crate::random::RandomSource;

/// Default [`BackoffConfig::base`]: 50 ms.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(50);
/// Default [`BackoffConfig::cap`]: 1 s.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(1);
/// Default [`BackoffConfig::jitter`]: [`Jitter::Full`].
pub const DEFAULT_JITTER: Jitter = Jitter::Full;

/// Spread of the capped exponential delay `d`, drawn from one random value.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Uniform in `[0, d)`. It spreads a fleet of clients the most.
    #[default]
    Full,
    /// Uniform in `[d/2, d)`. It keeps at least half of the delay.
    Equal,
    /// Uniform in `[base, 3 * previous)`, then capped. It ignores the retry
    /// number and grows from the delay slept before.
    Decorrelated,
    /// Exactly `d`.
    None,
}

/// Settings of [`Backoff`].
///
/// # Default
///
/// - `base`: [`DEFAULT_BACKOFF_BASE`]
/// - `cap`: [`DEFAULT_BACKOFF_CAP`]
/// - `jitter`: [`DEFAULT_JITTER`]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackoffConfig {
    /// Delay before the first retry, before jitter.
    #[serde(with = "crate::serde_duration")]
    pub base: Duration,
    /// Maximum delay, applied before jitter.
    #[serde(with = "crate::serde_duration")]
    pub cap: Duration,
    /// Spread of the delay.
    pub jitter: Jitter,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            base: DEFAULT_BACKOFF_BASE,
            cap: DEFAULT_BACKOFF_CAP,
            jitter: DEFAULT_JITTER,
        }
    }
}

impl BackoffConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// - `base` is zero;
    /// - `cap` is less than `base`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.base.is_zero() {
            return Err(ConfigError::new(
                "backoff.base",
                "must be greater than zero, got 0s",
            ));
        }
        if self.cap < self.base {
            return Err(ConfigError::new(
                "backoff.cap",
                format!(
                    "must be at least backoff.base ({:?}), got {:?}",
                    self.base, self.cap
                ),
            ));
        }
        Ok(())
    }
}

/// A validated backoff schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    config: BackoffConfig,
}

impl Backoff {
    /// Creates a schedule from validated settings.
    ///
    /// # Errors
    ///
    /// Returns the first error of [`BackoffConfig::validate`].
    pub fn new(config: BackoffConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// Delay before retry number `retry` (0 = the first retry). `previous` is
    /// the delay slept before the previous retry (only Decorrelated uses it).
    ///
    /// The result is always within `[0, cap]`. A `random` source that breaks
    /// its contract by returning a value outside [0, 1) is clamped into it.
    pub fn delay(&self, retry: u32, previous: Duration, random: &dyn RandomSource) -> Duration {
        let BackoffConfig { base, cap, jitter } = self.config;
        match jitter {
            Jitter::None => self.capped_exponential(retry),
            Jitter::Full => scale(self.capped_exponential(retry), unit(random)),
            Jitter::Equal => {
                let half = self.capped_exponential(retry) / 2;
                half + scale(half, unit(random))
            }
            Jitter::Decorrelated => {
                // A first retry has no previous delay, so the range starts at base.
                let upper = previous.max(base).saturating_mul(3);
                let spread = scale(upper - base, unit(random));
                base.saturating_add(spread).min(cap)
            }
        }
    }

    /// Returns the maximum delay.
    pub fn cap(&self) -> Duration {
        self.config.cap
    }

    /// Returns the delay before the first retry, before jitter.
    pub fn base(&self) -> Duration {
        self.config.base
    }

    /// Returns `min(cap, base * 2^retry)` without overflowing.
    fn capped_exponential(&self, retry: u32) -> Duration {
        let BackoffConfig { base, cap, .. } = self.config;
        // A shift of 128 or more would overflow u128, and so does the product.
        let Some(factor) = 1u128.checked_shl(retry) else {
            return cap;
        };
        match base.as_nanos().checked_mul(factor) {
            Some(nanos) if nanos < cap.as_nanos() => duration_from_nanos(nanos),
            _ => cap,
        }
    }
}

/// Reads one random value and clamps it into [0, 1].
fn unit(random: &dyn RandomSource) -> f64 {
    let value = random.next_unit();
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}

/// Returns `duration * fraction` for `fraction` in [0, 1], never above `duration`.
///
/// The product is computed on nanoseconds in `f64`, so it is exact for
/// durations below 2^53 ns (about 104 days) when the product is an integer.
pub(crate) fn scale(duration: Duration, fraction: f64) -> Duration {
    let nanos = duration.as_nanos();
    // `as` saturates a float-to-integer cast, and NaN becomes zero.
    let scaled = (nanos as f64 * fraction) as u128;
    duration_from_nanos(scaled.min(nanos))
}

/// Converts nanoseconds to a duration, saturating at [`Duration::MAX`].
pub(crate) fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let Ok(secs) = u64::try_from(nanos / NANOS_PER_SEC) else {
        return Duration::MAX;
    };
    // The remainder is below one billion, so it fits in u32.
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    Duration::new(secs, subsec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_from_nanos_saturates() {
        assert_eq!(duration_from_nanos(u128::MAX), Duration::MAX);
        assert_eq!(duration_from_nanos(Duration::MAX.as_nanos()), Duration::MAX);
        assert_eq!(
            duration_from_nanos(1_500_000_000),
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn scale_never_exceeds_input() {
        assert_eq!(scale(Duration::MAX, 1.0), Duration::MAX);
        assert_eq!(
            scale(Duration::from_secs(1), 0.5),
            Duration::from_millis(500)
        );
        assert_eq!(scale(Duration::from_secs(1), 0.0), Duration::ZERO);
    }
}
