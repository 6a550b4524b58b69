//! Every rejected configuration field, with the rendered error message.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use resilience_core::{
    Backoff, BackoffConfig, BreakerConfig, BudgetConfig, CircuitBreaker, ConfigError, FixedRandom,
    ManualClock, RetryBudget, TripPolicy,
};

fn breaker_error(config: BreakerConfig) -> String {
    let error = CircuitBreaker::new(config, Arc::new(FixedRandom::new(0.0))).unwrap_err();
    error.to_string()
}

fn budget_error(config: BudgetConfig) -> String {
    let error = RetryBudget::new(config, Arc::new(ManualClock::new())).unwrap_err();
    error.to_string()
}

fn backoff_error(config: BackoffConfig) -> String {
    Backoff::new(config).unwrap_err().to_string()
}

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

#[test]
fn defaults_are_valid() {
    assert_eq!(BreakerConfig::default().validate(), Ok(()));
    assert_eq!(BudgetConfig::default().validate(), Ok(()));
    assert_eq!(BackoffConfig::default().validate(), Ok(()));
}

#[test]
fn config_error_exposes_field_and_reason() {
    let error = BackoffConfig {
        base: Duration::ZERO,
        ..BackoffConfig::default()
    }
    .validate()
    .unwrap_err();

    assert_eq!(error.field(), "backoff.base");
    assert_eq!(error.reason(), "must be greater than zero, got 0s");
    assert_eq!(
        error,
        ConfigError::new("backoff.base", "must be greater than zero, got 0s")
    );
}

#[test]
fn backoff_errors_render() {
    let zero_base = BackoffConfig {
        base: Duration::ZERO,
        ..BackoffConfig::default()
    };
    let cap_below_base = BackoffConfig {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(1),
        ..BackoffConfig::default()
    };

    assert_eq!(
        backoff_error(zero_base),
        "invalid backoff.base: must be greater than zero, got 0s"
    );
    assert_eq!(
        backoff_error(cap_below_base),
        "invalid backoff.cap: must be at least backoff.base (2s), got 1s"
    );
}

#[test]
fn budget_errors_render() {
    let cases = [
        (
            BudgetConfig {
                ratio: f64::NAN,
                ..BudgetConfig::default()
            },
            "invalid budget.ratio: must be a number from 0.0 to 1000, got NaN",
        ),
        (
            BudgetConfig {
                ratio: 1000.5,
                ..BudgetConfig::default()
            },
            "invalid budget.ratio: must be a number from 0.0 to 1000, got 1000.5",
        ),
        (
            BudgetConfig {
                max_balance: -1.0,
                ..BudgetConfig::default()
            },
            "invalid budget.max_balance: must be a number of tokens from 0.0 to 1000000000000, got -1",
        ),
        (
            BudgetConfig {
                max_balance: f64::INFINITY,
                ..BudgetConfig::default()
            },
            "invalid budget.max_balance: must be a number of tokens from 0.0 to 1000000000000, got inf",
        ),
        (
            BudgetConfig {
                burst: 0,
                ..BudgetConfig::default()
            },
            "invalid budget.burst: must be at least 1 while budget.min_per_second is 10, got 0",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(budget_error(config), expected);
    }
}

#[test]
fn breaker_errors_render() {
    let rate = |window, min_calls, threshold_percent| BreakerConfig {
        trip: TripPolicy::FailureRate {
            window: nonzero(window),
            min_calls: nonzero(min_calls),
            threshold_percent,
        },
        ..BreakerConfig::default()
    };
    let cases = [
        (
            rate(1 << 20, 1, 50),
            "invalid breaker.trip.window: must be at most 1048575 calls, got 1048576",
        ),
        (
            rate(10, 11, 50),
            "invalid breaker.trip.min_calls: must be at most breaker.trip.window (10), got 11",
        ),
        (
            rate(10, 5, 0),
            "invalid breaker.trip.threshold_percent: must be from 1 to 100, got 0",
        ),
        (
            rate(10, 5, 101),
            "invalid breaker.trip.threshold_percent: must be from 1 to 100, got 101",
        ),
        (
            BreakerConfig {
                cooldown: Duration::ZERO,
                ..BreakerConfig::default()
            },
            "invalid breaker.cooldown: must be from 1ns to 86400s, got 0ns",
        ),
        (
            BreakerConfig {
                cooldown_growth: 0.5,
                ..BreakerConfig::default()
            },
            "invalid breaker.cooldown_growth: must be a finite number of at least 1.0, got 0.5",
        ),
        (
            BreakerConfig {
                cooldown_growth: f64::INFINITY,
                ..BreakerConfig::default()
            },
            "invalid breaker.cooldown_growth: must be a finite number of at least 1.0, got inf",
        ),
        (
            BreakerConfig {
                max_cooldown: Duration::from_millis(100),
                ..BreakerConfig::default()
            },
            "invalid breaker.max_cooldown: must be from 250ms to 86400s, got 100ms",
        ),
        (
            BreakerConfig {
                max_cooldown: Duration::from_secs(86_401),
                ..BreakerConfig::default()
            },
            "invalid breaker.max_cooldown: must be from 250ms to 86400s, got 86401s",
        ),
        (
            BreakerConfig {
                cooldown_jitter: 1.5,
                ..BreakerConfig::default()
            },
            "invalid breaker.cooldown_jitter: must be a fraction from 0.0 to 1.0, got 1.5",
        ),
        (
            BreakerConfig {
                cooldown_jitter: f64::NAN,
                ..BreakerConfig::default()
            },
            "invalid breaker.cooldown_jitter: must be a fraction from 0.0 to 1.0, got NaN",
        ),
        (
            BreakerConfig {
                max_half_open: Duration::ZERO,
                ..BreakerConfig::default()
            },
            "invalid breaker.max_half_open: must be from 1ns to 86400s, got 0ns",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(breaker_error(config), expected);
    }
}
