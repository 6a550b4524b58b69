//! Resilience policies compared by the drill, as store settings.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use resilience_core::breaker::TripPolicy;
use resilience_core::budget::{MAX_BUDGET_BALANCE, MAX_BUDGET_RATIO};
use serde::Serialize;
use session_valkey::ValkeyConfig;

/// A set of retry, budget and breaker settings under test.
///
/// Every policy keeps the store's default deadline, attempt timeout, connect
/// timeout and backoff, so two policies differ only in the settings that
/// their names give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Policy {
    /// No retry, and a breaker that never trips.
    None,
    /// The default number of retries, a budget that never runs out and a
    /// breaker that never trips.
    Retry,
    /// The store's default settings.
    Full,
    /// The defaults with a cooldown that does not grow after failed probes.
    BreakerFixed,
    /// The defaults with a cooldown that doubles after each failed probe.
    BreakerGrowing,
    /// The defaults with an initial cooldown of 1 s instead of 250 ms.
    BreakerLong,
    /// The defaults with a breaker that trips after 3 consecutive failures.
    Breaker3,
    /// The defaults with a breaker that trips after 10 consecutive failures.
    Breaker10,
}

impl Policy {
    /// Every policy, in report order.
    pub const ALL: [Policy; 8] = [
        Policy::None,
        Policy::Retry,
        Policy::Full,
        Policy::BreakerFixed,
        Policy::BreakerGrowing,
        Policy::BreakerLong,
        Policy::Breaker3,
        Policy::Breaker10,
    ];

    /// Returns the name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Retry => "retry",
            Policy::Full => "full",
            Policy::BreakerFixed => "breaker-fixed",
            Policy::BreakerGrowing => "breaker-growing",
            Policy::BreakerLong => "breaker-long",
            Policy::Breaker3 => "breaker-3",
            Policy::Breaker10 => "breaker-10",
        }
    }

    /// Returns a one-line description of the settings.
    pub fn description(self) -> &'static str {
        match self {
            Policy::None => "no retry, breaker never trips",
            Policy::Retry => "default retries, unlimited budget, breaker never trips",
            Policy::Full => "store defaults",
            Policy::BreakerFixed => "defaults, cooldown does not grow",
            Policy::BreakerGrowing => "defaults, cooldown doubles per failed probe",
            Policy::BreakerLong => "defaults, initial cooldown 1 s",
            Policy::Breaker3 => "defaults, breaker trips after 3 consecutive failures",
            Policy::Breaker10 => "defaults, breaker trips after 10 consecutive failures",
        }
    }

    /// Returns the store settings of this policy for `endpoint`.
    pub fn store_config(self, endpoint: &str) -> ValkeyConfig {
        let mut config = ValkeyConfig::new(endpoint);
        match self {
            Policy::None => {
                config.max_retries = 0;
                config.breaker.trip = never_trips();
            }
            Policy::Retry => {
                config.budget.ratio = MAX_BUDGET_RATIO;
                config.budget.max_balance = MAX_BUDGET_BALANCE;
                config.breaker.trip = never_trips();
            }
            Policy::Full => {}
            Policy::BreakerFixed => config.breaker.cooldown_growth = 1.0,
            Policy::BreakerGrowing => config.breaker.cooldown_growth = DOUBLING_GROWTH,
            Policy::BreakerLong => config.breaker.cooldown = LONG_COOLDOWN,
            Policy::Breaker3 => config.breaker.trip = consecutive(3),
            Policy::Breaker10 => config.breaker.trip = consecutive(10),
        }
        config
    }
}

/// Cooldown growth of [`Policy::BreakerGrowing`].
const DOUBLING_GROWTH: f64 = 2.0;

/// Initial cooldown of [`Policy::BreakerLong`], the default before the drill
/// data lowered it.
const LONG_COOLDOWN: Duration = Duration::from_secs(1);

/// Returns a trip policy that needs more consecutive failures than a drill
/// makes.
fn never_trips() -> TripPolicy {
    TripPolicy::ConsecutiveFailures {
        threshold: NonZeroU32::MAX,
    }
}

fn consecutive(threshold: u32) -> TripPolicy {
    TripPolicy::ConsecutiveFailures {
        threshold: NonZeroU32::new(threshold).expect("threshold is above zero"),
    }
}

/// Serializes as the command-line name, such as `breaker-3`.
impl Serialize for Policy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Policy::ALL
            .into_iter()
            .find(|policy| policy.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Policy::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown policy {name:?}, expected one of: {}",
                    known.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENDPOINT: &str = "redis://127.0.0.1:6379";

    #[test]
    fn names_round_trip_through_from_str() {
        for policy in Policy::ALL {
            assert_eq!(policy.name().parse::<Policy>(), Ok(policy));
        }
        assert!("fast".parse::<Policy>().is_err());
    }

    #[test]
    fn names_are_the_serialized_form() {
        for policy in Policy::ALL {
            let json = serde_json::to_string(&policy).expect("serializable");
            assert_eq!(json, format!("\"{}\"", policy.name()));
        }
    }

    #[test]
    fn full_is_the_store_default() {
        assert_eq!(
            Policy::Full.store_config(ENDPOINT),
            ValkeyConfig::new(ENDPOINT)
        );
    }

    #[test]
    fn none_makes_no_retry_and_never_trips() {
        let config = Policy::None.store_config(ENDPOINT);
        assert_eq!(config.max_retries, 0);
        assert_eq!(config.breaker.trip, never_trips());
    }

    #[test]
    fn retry_differs_in_budget_and_breaker() {
        let retry = Policy::Retry.store_config(ENDPOINT);
        let full = Policy::Full.store_config(ENDPOINT);
        assert_eq!(retry.max_retries, full.max_retries);
        assert_eq!(retry.budget.ratio, MAX_BUDGET_RATIO);
        assert_eq!(retry.breaker.trip, never_trips());
        assert_eq!(retry.request_deadline_ms, full.request_deadline_ms);
        assert_eq!(retry.command_timeout_ms, full.command_timeout_ms);
    }

    #[test]
    fn breaker_variants_change_one_setting() {
        let full = Policy::Full.store_config(ENDPOINT);
        assert_eq!(
            Policy::BreakerFixed
                .store_config(ENDPOINT)
                .breaker
                .cooldown_growth,
            1.0
        );
        assert_eq!(
            Policy::Breaker3.store_config(ENDPOINT).breaker.trip,
            consecutive(3)
        );
        assert_eq!(
            Policy::Breaker10.store_config(ENDPOINT).breaker.trip,
            consecutive(10)
        );
        let long = Policy::BreakerLong.store_config(ENDPOINT);
        assert_eq!(long.breaker.cooldown, LONG_COOLDOWN);
        assert_ne!(long.breaker.cooldown, full.breaker.cooldown);
        assert_eq!(long.breaker.cooldown_growth, full.breaker.cooldown_growth);
        let growing = Policy::BreakerGrowing.store_config(ENDPOINT);
        assert!(growing.breaker.cooldown_growth > 1.0);
        assert_eq!(growing.breaker.trip, full.breaker.trip);
    }

    #[test]
    fn every_policy_is_valid() {
        for policy in Policy::ALL {
            let config = policy.store_config(ENDPOINT);
            assert_eq!(config.executor_config().validate(), Ok(()), "{policy}");
        }
    }
}
