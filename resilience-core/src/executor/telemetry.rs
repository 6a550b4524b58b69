//! Metrics handles and breaker transition logging.

use std::sync::Arc;
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram};

use crate::breaker::{BreakerObserver, BreakerState};

use super::CallErrorKind;

/// Calls by outcome; label `outcome` is `success` or a [`CallErrorKind`] name.
pub const CALLS_TOTAL: &str = "resilience_calls_total";
/// Attempts started, first attempts and retries alike.
pub const ATTEMPTS_TOTAL: &str = "resilience_attempts_total";
/// Retries started.
pub const RETRIES_TOTAL: &str = "resilience_retries_total";
/// Calls or retries rejected; label `reason` is `circuit_open` or
/// `budget_exhausted`.
pub const REJECTIONS_TOTAL: &str = "resilience_rejections_total";
/// Duration of each call in seconds, from its start to its result.
pub const CALL_DURATION_SECONDS: &str = "resilience_call_duration_seconds";
/// Breaker state: 0 closed, 1 open, 2 half-open, 3 disabled, 4 forced open.
pub const BREAKER_STATE: &str = "resilience_breaker_state";
/// Label carrying the executor's name on every metric.
pub const EXECUTOR_LABEL: &str = "executor";

/// Values of the `outcome` label, indexed as `Telemetry::calls`.
const OUTCOMES: [&str; 7] = [
    "success",
    "circuit_open",
    "budget_exhausted",
    "deadline_exceeded",
    "retries_exhausted",
    "permanent",
    "outcome_unknown",
];

/// Handles registered once, when the executor is built, so a call never
/// looks a metric up. A recorder installed later does not see this executor.
#[derive(Debug)]
pub(crate) struct Telemetry {
    calls: [Counter; 7],
    pub(crate) attempts: Counter,
    pub(crate) retries: Counter,
    rejected_open: Counter,
    rejected_budget: Counter,
    pub(crate) duration: Histogram,
}

impl Telemetry {
    pub(crate) fn register(name: &Arc<str>) -> Self {
        let executor = name.to_string();
        let calls = OUTCOMES.map(|outcome| {
            metrics::counter!(CALLS_TOTAL, EXECUTOR_LABEL => executor.clone(), "outcome" => outcome)
        });
        Self {
            calls,
            attempts: metrics::counter!(ATTEMPTS_TOTAL, EXECUTOR_LABEL => executor.clone()),
            retries: metrics::counter!(RETRIES_TOTAL, EXECUTOR_LABEL => executor.clone()),
            rejected_open: metrics::counter!(
                REJECTIONS_TOTAL, EXECUTOR_LABEL => executor.clone(), "reason" => "circuit_open"
            ),
            rejected_budget: metrics::counter!(
                REJECTIONS_TOTAL, EXECUTOR_LABEL => executor.clone(), "reason" => "budget_exhausted"
            ),
            duration: metrics::histogram!(CALL_DURATION_SECONDS, EXECUTOR_LABEL => executor),
        }
    }

    #[inline]
    pub(crate) fn success(&self) {
        self.calls[0].increment(1);
    }

    pub(crate) fn failure(&self, kind: CallErrorKind) {
        let index = match kind {
            CallErrorKind::CircuitOpen => 1,
            CallErrorKind::BudgetExhausted => 2,
            CallErrorKind::DeadlineExceeded => 3,
            CallErrorKind::RetriesExhausted => 4,
            CallErrorKind::Permanent => 5,
            CallErrorKind::OutcomeUnknown => 6,
        };
        self.calls[index].increment(1);
        match kind {
            CallErrorKind::CircuitOpen => self.rejected_open.increment(1),
            CallErrorKind::BudgetExhausted => self.rejected_budget.increment(1),
            CallErrorKind::DeadlineExceeded
            | CallErrorKind::RetriesExhausted
            | CallErrorKind::Permanent
            | CallErrorKind::OutcomeUnknown => {}
        }
    }
}

/// Logs each breaker transition, sets the state gauge and forwards the
/// transition to the caller's observer.
#[derive(Debug)]
pub(crate) struct TransitionLog {
    executor: Arc<str>,
    gauge: Gauge,
    next: Option<Arc<dyn BreakerObserver>>,
}

impl TransitionLog {
    pub(crate) fn new(executor: Arc<str>, next: Option<Arc<dyn BreakerObserver>>) -> Self {
        let gauge = metrics::gauge!(BREAKER_STATE, EXECUTOR_LABEL => executor.to_string());
        gauge.set(state_value(BreakerState::Closed));
        Self {
            executor,
            gauge,
            next,
        }
    }
}

impl BreakerObserver for TransitionLog {
    fn on_transition(&self, from: BreakerState, to: BreakerState, at: Instant) {
        tracing::info!(
            executor = %self.executor,
            from = state_name(from),
            to = state_name(to),
            "circuit breaker changed state"
        );
        self.gauge.set(state_value(to));
        if let Some(next) = &self.next {
            next.on_transition(from, to, at);
        }
    }
}

/// Returns the stable name of a breaker state, as logged.
pub fn state_name(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::Open => "open",
        BreakerState::HalfOpen => "half_open",
        BreakerState::Disabled => "disabled",
        BreakerState::ForcedOpen => "forced_open",
    }
}

fn state_value(state: BreakerState) -> f64 {
    match state {
        BreakerState::Closed => 0.0,
        BreakerState::Open => 1.0,
        BreakerState::HalfOpen => 2.0,
        BreakerState::Disabled => 3.0,
        BreakerState::ForcedOpen => 4.0,
    }
}
