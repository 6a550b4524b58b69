//! Executor settings, validated once at construction.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::BackoffConfig;
use crate::breaker::BreakerConfig;
use crate::budget::BudgetConfig;
use crate::config::ConfigError;

use super::timer::TIMER_RESOLUTION;

/// Default total time a call may take, retries and backoff included.
pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_millis(1000);
/// Default upper bound of one attempt.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 1;
/// Default shortest attempt worth starting: a retry whose delay would leave
/// less than this before the deadline is not made.
pub const DEFAULT_MIN_ATTEMPT_TIME: Duration = Duration::from_millis(5);
/// Largest accepted `max_retries`.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// Largest accepted `request_deadline`.
pub const MAX_REQUEST_DEADLINE: Duration = Duration::from_secs(3600);

/// Settings of an [`Executor`](super::Executor).
///
/// Durations deserialize from an integer number of milliseconds or from a
/// human-readable string such as `"250ms"` or `"1s"`.
///
/// # Default
///
/// | field | value |
/// |---|---|
/// | `request_deadline` | [`DEFAULT_REQUEST_DEADLINE`] |
/// | `attempt_timeout` | [`DEFAULT_ATTEMPT_TIMEOUT`] |
/// | `max_retries` | [`DEFAULT_MAX_RETRIES`] |
/// | `min_attempt_time` | [`DEFAULT_MIN_ATTEMPT_TIME`] |
/// | `backoff`, `budget`, `breaker` | the defaults of their types |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Total time one call may take, from its start to its result, at
    /// least 1 ms.
    #[serde(with = "crate::serde_duration")]
    pub request_deadline: Duration,
    /// Upper bound of one attempt, at least 1 ms; shortened to the time left
    /// in the call. Tokio's timer counts whole milliseconds, so a
    /// sub-millisecond part is dropped.
    #[serde(with = "crate::serde_duration")]
    pub attempt_timeout: Duration,
    /// Retries after the first attempt, `0..=MAX_RETRIES_LIMIT`.
    pub max_retries: u32,
    /// Shortest attempt worth starting after a backoff delay, at least 1 ms,
    /// so that no retry is started with no time left.
    #[serde(with = "crate::serde_duration")]
    pub min_attempt_time: Duration,
    /// Delay between attempts.
    pub backoff: BackoffConfig,
    /// Cross-request limit on retries.
    pub budget: BudgetConfig,
    /// Circuit breaker in front of every attempt.
    pub breaker: BreakerConfig,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            min_attempt_time: DEFAULT_MIN_ATTEMPT_TIME,
            backoff: BackoffConfig::default(),
            budget: BudgetConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

impl ExecutorConfig {
    /// Checks every setting, the nested ones included.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] naming the first invalid field when:
    /// - `request_deadline` is below 1 ms or above [`MAX_REQUEST_DEADLINE`];
    /// - `attempt_timeout` is below 1 ms or above `request_deadline`;
    /// - `max_retries` is above [`MAX_RETRIES_LIMIT`];
    /// - `min_attempt_time` is below 1 ms or not below `request_deadline`;
    /// - the backoff, budget or breaker settings are invalid.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(TIMER_RESOLUTION..=MAX_REQUEST_DEADLINE).contains(&self.request_deadline) {
            return Err(ConfigError::new(
                "request_deadline",
                format!(
                    "must be between {TIMER_RESOLUTION:?} and {}s, got {:?}",
                    MAX_REQUEST_DEADLINE.as_secs(),
                    self.request_deadline
                ),
            ));
        }
        if !(TIMER_RESOLUTION..=self.request_deadline).contains(&self.attempt_timeout) {
            return Err(ConfigError::new(
                "attempt_timeout",
                format!(
                    "must be between {TIMER_RESOLUTION:?} and request_deadline ({:?}), got {:?}",
                    self.request_deadline, self.attempt_timeout
                ),
            ));
        }
        if self.max_retries > MAX_RETRIES_LIMIT {
            return Err(ConfigError::new(
                "max_retries",
                format!(
                    "must be between 0 and {MAX_RETRIES_LIMIT}, got {}",
                    self.max_retries
                ),
            ));
        }
        if !(TIMER_RESOLUTION..self.request_deadline).contains(&self.min_attempt_time) {
            return Err(ConfigError::new(
                "min_attempt_time",
                format!(
                    "must be at least {TIMER_RESOLUTION:?} and below request_deadline ({:?}), got {:?}",
                    self.request_deadline, self.min_attempt_time
                ),
            ));
        }
        self.backoff.validate()?;
        self.budget.validate()?;
        self.breaker.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected_field(config: ExecutorConfig) -> (&'static str, String) {
        let error = config.validate().expect_err("the configuration is invalid");
        (error.field(), error.to_string())
    }

    #[test]
    fn default_is_valid() {
        assert_eq!(ExecutorConfig::default().validate(), Ok(()));
    }

    #[test]
    fn invalid_settings_name_their_field_and_range() {
        let cases = [
            (
                ExecutorConfig {
                    request_deadline: Duration::ZERO,
                    ..ExecutorConfig::default()
                },
                "request_deadline",
                "invalid request_deadline: must be between 1ms and 3600s, got 0ns",
            ),
            (
                ExecutorConfig {
                    attempt_timeout: Duration::ZERO,
                    ..ExecutorConfig::default()
                },
                "attempt_timeout",
                "invalid attempt_timeout: must be between 1ms and request_deadline (1s), got 0ns",
            ),
            (
                ExecutorConfig {
                    attempt_timeout: Duration::from_secs(2),
                    ..ExecutorConfig::default()
                },
                "attempt_timeout",
                "invalid attempt_timeout: must be between 1ms and request_deadline (1s), got 2s",
            ),
            (
                ExecutorConfig {
                    max_retries: 11,
                    ..ExecutorConfig::default()
                },
                "max_retries",
                "invalid max_retries: must be between 0 and 10, got 11",
            ),
            (
                ExecutorConfig {
                    min_attempt_time: Duration::from_secs(1),
                    ..ExecutorConfig::default()
                },
                "min_attempt_time",
                "invalid min_attempt_time: must be at least 1ms and below request_deadline (1s), got 1s",
            ),
            (
                ExecutorConfig {
                    request_deadline: Duration::from_micros(999),
                    attempt_timeout: Duration::from_micros(999),
                    ..ExecutorConfig::default()
                },
                "request_deadline",
                "invalid request_deadline: must be between 1ms and 3600s, got 999µs",
            ),
            (
                ExecutorConfig {
                    attempt_timeout: Duration::from_micros(999),
                    ..ExecutorConfig::default()
                },
                "attempt_timeout",
                "invalid attempt_timeout: must be between 1ms and request_deadline (1s), got 999µs",
            ),
            (
                ExecutorConfig {
                    min_attempt_time: Duration::ZERO,
                    ..ExecutorConfig::default()
                },
                "min_attempt_time",
                "invalid min_attempt_time: must be at least 1ms and below request_deadline (1s), got 0ns",
            ),
        ];
        for (config, field, message) in cases {
            assert_eq!(rejected_field(config), (field, message.to_string()));
        }
    }

    #[test]
    fn durations_deserialize_from_milliseconds_and_text() {
        let config: ExecutorConfig = serde_json::from_str(
            r#"{"request_deadline": 800, "attempt_timeout": "250ms", "max_retries": 2}"#,
        )
        .expect("valid JSON");
        assert_eq!(config.request_deadline, Duration::from_millis(800));
        assert_eq!(config.attempt_timeout, Duration::from_millis(250));
        assert_eq!(config.max_retries, 2);
        assert_eq!(config.min_attempt_time, DEFAULT_MIN_ATTEMPT_TIME);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let error = serde_json::from_str::<ExecutorConfig>(r#"{"request_deadlines": 800}"#)
            .expect_err("misspelled field");
        assert!(
            error
                .to_string()
                .contains("unknown field `request_deadlines`"),
            "{error}"
        );
    }
}
