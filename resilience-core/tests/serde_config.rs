//! Configuration read from and written to text.

use std::num::NonZeroU32;
use std::time::Duration;

use resilience_core::{BackoffConfig, BreakerConfig, BudgetConfig, Jitter, TripPolicy};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Timeouts {
    #[serde(with = "resilience_core::serde_duration")]
    connect: Duration,
    #[serde(default, with = "resilience_core::serde_duration::option")]
    idle: Option<Duration>,
}

#[test]
fn duration_reads_milliseconds_and_human_text() {
    let cases = [
        (r#"{"connect": 250}"#, Duration::from_millis(250)),
        (r#"{"connect": "250ms"}"#, Duration::from_millis(250)),
        (r#"{"connect": "1s"}"#, Duration::from_secs(1)),
        (r#"{"connect": "1m 30s"}"#, Duration::from_secs(90)),
    ];
    for (text, expected) in cases {
        let timeouts: Timeouts = serde_json::from_str(text).unwrap();
        assert_eq!(timeouts.connect, expected, "{text}");
        assert_eq!(timeouts.idle, None, "{text}");
    }
}

#[test]
fn duration_rejects_negative_and_malformed_values() {
    let negative = serde_json::from_str::<Timeouts>(r#"{"connect": -5}"#).unwrap_err();
    assert!(
        negative.to_string().contains("invalid value: integer `-5`"),
        "{negative}"
    );

    let malformed = serde_json::from_str::<Timeouts>(r#"{"connect": "soon"}"#).unwrap_err();
    assert!(
        malformed
            .to_string()
            .starts_with("invalid duration \"soon\""),
        "{malformed}"
    );

    let float = serde_json::from_str::<Timeouts>(r#"{"connect": 1.5}"#).unwrap_err();
    assert!(
        float
            .to_string()
            .contains("a duration as integer milliseconds"),
        "{float}"
    );
}

#[test]
fn durations_round_trip_as_human_text() {
    let timeouts = Timeouts {
        connect: Duration::from_millis(1_250),
        idle: Some(Duration::from_secs(90)),
    };

    let text = serde_json::to_string(&timeouts).unwrap();

    assert_eq!(text, r#"{"connect":"1s 250ms","idle":"1m 30s"}"#);
    assert_eq!(serde_json::from_str::<Timeouts>(&text).unwrap(), timeouts);
    let none = Timeouts {
        idle: None,
        ..timeouts
    };
    let text = serde_json::to_string(&none).unwrap();
    assert_eq!(text, r#"{"connect":"1s 250ms","idle":null}"#);
    assert_eq!(serde_json::from_str::<Timeouts>(&text).unwrap(), none);
}

#[test]
fn empty_objects_give_defaults() {
    let backoff: BackoffConfig = serde_json::from_str("{}").unwrap();
    let budget: BudgetConfig = serde_json::from_str("{}").unwrap();
    let breaker: BreakerConfig = serde_json::from_str("{}").unwrap();

    assert_eq!(backoff, BackoffConfig::default());
    assert_eq!(budget, BudgetConfig::default());
    assert_eq!(breaker, BreakerConfig::default());
}

#[test]
fn breaker_config_reads_failure_rate_policy() {
    let text = r#"{
        "trip": {"kind": "failure_rate", "window": 50, "threshold_percent": 40},
        "cooldown": "500ms",
        "max_half_open": 2000
    }"#;

    let config: BreakerConfig = serde_json::from_str(text).unwrap();

    let expected_trip = TripPolicy::FailureRate {
        window: NonZeroU32::new(50).unwrap(),
        min_calls: NonZeroU32::new(20).unwrap(),
        threshold_percent: 40,
    };
    assert_eq!(config.trip, expected_trip);
    assert_eq!(config.cooldown, Duration::from_millis(500));
    assert_eq!(config.max_half_open, Duration::from_secs(2));
    assert_eq!(config.max_cooldown, BreakerConfig::default().max_cooldown);
}

#[test]
fn backoff_config_round_trips() {
    let config = BackoffConfig {
        base: Duration::from_millis(20),
        cap: Duration::from_secs(2),
        jitter: Jitter::Decorrelated,
    };

    let text = serde_json::to_string(&config).unwrap();

    assert_eq!(
        text,
        r#"{"base":"20ms","cap":"2s","jitter":"decorrelated"}"#
    );
    assert_eq!(
        serde_json::from_str::<BackoffConfig>(&text).unwrap(),
        config
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let error = serde_json::from_str::<BudgetConfig>(r#"{"ratoi": 0.2}"#).unwrap_err();
    assert!(
        error.to_string().starts_with("unknown field `ratoi`"),
        "{error}"
    );
}
