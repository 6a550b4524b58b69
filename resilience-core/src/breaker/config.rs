//! Settings of the circuit breaker and their validation.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::config::ConfigError;

/// Default threshold of [`TripPolicy::ConsecutiveFailures`]: 5 failures.
pub const DEFAULT_FAILURE_THRESHOLD: NonZeroU32 = NonZeroU32::new(5).unwrap();
/// Default [`TripPolicy::FailureRate`] window: 100 calls.
pub const DEFAULT_FAILURE_RATE_WINDOW: NonZeroU32 = NonZeroU32::new(100).unwrap();
/// Default [`TripPolicy::FailureRate`] minimum: 20 calls.
pub const DEFAULT_FAILURE_RATE_MIN_CALLS: NonZeroU32 = NonZeroU32::new(20).unwrap();
/// Default [`TripPolicy::FailureRate`] threshold: 50 percent.
pub const DEFAULT_FAILURE_RATE_PERCENT: u8 = 50;
/// Default [`BreakerConfig::cooldown`]: 250 ms. In the drill of `fault-tests`,
/// a 1 s cooldown kept denying for 850 ms after a 200 ms blip had ended.
pub const DEFAULT_COOLDOWN: Duration = Duration::from_millis(250);
/// Default [`BreakerConfig::cooldown_growth`]: 1.0, a cooldown that does not
/// grow. In the drill, doubling it per failed probe cost 7 to 14 points of
/// availability after restarts, brownouts and flapping, while one probe per
/// cooldown adds next to no load on the backend.
pub const DEFAULT_COOLDOWN_GROWTH: f64 = 1.0;
/// Default [`BreakerConfig::max_cooldown`]: 5 s, the bound of a cooldown
/// configured to grow.
pub const DEFAULT_MAX_COOLDOWN: Duration = Duration::from_secs(5);
/// Default [`BreakerConfig::cooldown_jitter`]: up to 20% shorter.
pub const DEFAULT_COOLDOWN_JITTER: f64 = 0.2;
/// Default [`BreakerConfig::max_probes`]: 1 probe at a time.
pub const DEFAULT_MAX_PROBES: NonZeroU32 = NonZeroU32::MIN;
/// Default [`BreakerConfig::probe_successes_to_close`]: 1 success.
pub const DEFAULT_PROBE_SUCCESSES_TO_CLOSE: NonZeroU32 = NonZeroU32::MIN;
/// Default [`BreakerConfig::max_half_open`]: 5 s.
pub const DEFAULT_MAX_HALF_OPEN: Duration = Duration::from_secs(5);
/// Largest accepted cooldown, maximum cooldown and half-open dwell: 1 day.
pub const MAX_BREAKER_DURATION: Duration = Duration::from_secs(24 * 60 * 60);
/// Largest accepted [`TripPolicy::FailureRate`] window: the counts are
/// packed in 20 bits each.
pub const MAX_FAILURE_RATE_WINDOW: u32 = (1 << 20) - 1;

/// When a closed breaker opens. Only [`Outcome::Failure`](super::Outcome::Failure) counts.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TripPolicy {
    /// Opens after `threshold` failures in a row. A success restarts the count.
    ConsecutiveFailures {
        /// Failures in a row that open the breaker.
        #[serde(default = "default_failure_threshold")]
        threshold: NonZeroU32,
    },
    /// Opens when failures reach `threshold_percent` of the recent calls,
    /// once at least `min_calls` are counted.
    ///
    /// The window is approximate: when the count of calls reaches `window`,
    /// both counts are halved, so the rate covers between `window / 2` and
    /// `window` recent calls, and older calls weigh less.
    FailureRate {
        /// Calls counted before the counts are halved, at most
        /// [`MAX_FAILURE_RATE_WINDOW`].
        #[serde(default = "default_failure_rate_window")]
        window: NonZeroU32,
        /// Calls needed before the rate can open the breaker, at most `window`.
        #[serde(default = "default_failure_rate_min_calls")]
        min_calls: NonZeroU32,
        /// Failures as a percentage of counted calls that open the breaker,
        /// from 1 to 100.
        #[serde(default = "default_failure_rate_percent")]
        threshold_percent: u8,
    },
}

impl Default for TripPolicy {
    fn default() -> Self {
        Self::ConsecutiveFailures {
            threshold: DEFAULT_FAILURE_THRESHOLD,
        }
    }
}

fn default_failure_threshold() -> NonZeroU32 {
    DEFAULT_FAILURE_THRESHOLD
}

fn default_failure_rate_window() -> NonZeroU32 {
    DEFAULT_FAILURE_RATE_WINDOW
}

fn default_failure_rate_min_calls() -> NonZeroU32 {
    DEFAULT_FAILURE_RATE_MIN_CALLS
}

fn default_failure_rate_percent() -> u8 {
    DEFAULT_FAILURE_RATE_PERCENT
}

/// Settings of [`CircuitBreaker`](super::CircuitBreaker).
///
/// # Default
///
/// - `trip`: [`TripPolicy::ConsecutiveFailures`] with [`DEFAULT_FAILURE_THRESHOLD`]
/// - `cooldown`: [`DEFAULT_COOLDOWN`]
/// - `cooldown_growth`: [`DEFAULT_COOLDOWN_GROWTH`]
/// - `max_cooldown`: [`DEFAULT_MAX_COOLDOWN`]
/// - `cooldown_jitter`: [`DEFAULT_COOLDOWN_JITTER`]
/// - `max_probes`: [`DEFAULT_MAX_PROBES`]
/// - `probe_successes_to_close`: [`DEFAULT_PROBE_SUCCESSES_TO_CLOSE`]
/// - `max_half_open`: [`DEFAULT_MAX_HALF_OPEN`]
///
/// A [`TripPolicy::FailureRate`] read from a file defaults to
/// [`DEFAULT_FAILURE_RATE_WINDOW`], [`DEFAULT_FAILURE_RATE_MIN_CALLS`] and
/// [`DEFAULT_FAILURE_RATE_PERCENT`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// When the closed breaker opens.
    pub trip: TripPolicy,
    /// How long the breaker stays open after it trips, before jitter.
    #[serde(with = "crate::serde_duration")]
    pub cooldown: Duration,
    /// Factor applied to the cooldown after each failed probe, at least 1.0.
    pub cooldown_growth: f64,
    /// Upper bound of the grown cooldown, at least `cooldown`.
    #[serde(with = "crate::serde_duration")]
    pub max_cooldown: Duration,
    /// Fraction from 0.0 to 1.0 by which each open period is shortened at
    /// random: the breaker stays open for the cooldown times a factor
    /// uniform in `[1 - cooldown_jitter, 1]`, so it never exceeds
    /// `max_cooldown` and a fleet of clients does not probe in step.
    pub cooldown_jitter: f64,
    /// Probes admitted at once while half-open.
    pub max_probes: NonZeroU32,
    /// Successful probes that close the breaker.
    pub probe_successes_to_close: NonZeroU32,
    /// How long a half-open breaker with a probe outstanding waits for a
    /// report: once it passes, the next acquire opens the breaker again as
    /// if the probe had failed. The wait starts at entry into half-open, at
    /// each recorded probe outcome, and at the admission of a probe while
    /// none was outstanding.
    #[serde(with = "crate::serde_duration")]
    pub max_half_open: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            trip: TripPolicy::default(),
            cooldown: DEFAULT_COOLDOWN,
            cooldown_growth: DEFAULT_COOLDOWN_GROWTH,
            max_cooldown: DEFAULT_MAX_COOLDOWN,
            cooldown_jitter: DEFAULT_COOLDOWN_JITTER,
            max_probes: DEFAULT_MAX_PROBES,
            probe_successes_to_close: DEFAULT_PROBE_SUCCESSES_TO_CLOSE,
            max_half_open: DEFAULT_MAX_HALF_OPEN,
        }
    }
}

impl BreakerConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// - a [`TripPolicy::FailureRate`] `window` above [`MAX_FAILURE_RATE_WINDOW`],
    ///   `min_calls` above `window`, or `threshold_percent` outside 1 to 100;
    /// - `cooldown` zero or above [`MAX_BREAKER_DURATION`];
    /// - `cooldown_growth` below 1.0 or not finite;
    /// - `max_cooldown` below `cooldown` or above [`MAX_BREAKER_DURATION`];
    /// - `cooldown_jitter` outside 0.0 to 1.0;
    /// - `max_half_open` zero or above [`MAX_BREAKER_DURATION`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_trip(&self.trip)?;
        check_duration("breaker.cooldown", self.cooldown, Duration::from_nanos(1))?;
        if !(self.cooldown_growth.is_finite() && self.cooldown_growth >= 1.0) {
            return Err(ConfigError::new(
                "breaker.cooldown_growth",
                format!(
                    "must be a finite number of at least 1.0, got {}",
                    self.cooldown_growth
                ),
            ));
        }
        check_duration("breaker.max_cooldown", self.max_cooldown, self.cooldown)?;
        if !(0.0..=1.0).contains(&self.cooldown_jitter) {
            return Err(ConfigError::new(
                "breaker.cooldown_jitter",
                format!(
                    "must be a fraction from 0.0 to 1.0, got {}",
                    self.cooldown_jitter
                ),
            ));
        }
        check_duration(
            "breaker.max_half_open",
            self.max_half_open,
            Duration::from_nanos(1),
        )
    }
}

/// Checks that `value` lies in `[min, MAX_BREAKER_DURATION]`.
fn check_duration(field: &'static str, value: Duration, min: Duration) -> Result<(), ConfigError> {
    if (min..=MAX_BREAKER_DURATION).contains(&value) {
        return Ok(());
    }
    Err(ConfigError::new(
        field,
        format!("must be from {min:?} to {MAX_BREAKER_DURATION:?}, got {value:?}"),
    ))
}

fn validate_trip(trip: &TripPolicy) -> Result<(), ConfigError> {
    let TripPolicy::FailureRate {
        window,
        min_calls,
        threshold_percent,
    } = trip
    else {
        return Ok(());
    };
    if window.get() > MAX_FAILURE_RATE_WINDOW {
        return Err(ConfigError::new(
            "breaker.trip.window",
            format!("must be at most {MAX_FAILURE_RATE_WINDOW} calls, got {window}"),
        ));
    }
    if min_calls > window {
        return Err(ConfigError::new(
            "breaker.trip.min_calls",
            format!("must be at most breaker.trip.window ({window}), got {min_calls}"),
        ));
    }
    if !(1..=100).contains(threshold_percent) {
        return Err(ConfigError::new(
            "breaker.trip.threshold_percent",
            format!("must be from 1 to 100, got {threshold_percent}"),
        ));
    }
    Ok(())
}
