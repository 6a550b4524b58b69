//! Breakers tripped open for longer than any benchmark run, ours and the
//! peers', so that a measured rejection never turns into a probe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use failsafe::CircuitBreaker as _;
use recloser::Recloser;
use resilience_core::breaker::{DEFAULT_FAILURE_THRESHOLD, MAX_BREAKER_DURATION};
use resilience_core::{BreakerConfig, BreakerState, CircuitBreaker, FixedRandom, Outcome};

/// Open period of every breaker tripped here.
const OPEN_FOR: Duration = MAX_BREAKER_DURATION;

/// Calls that recloser's closed ring buffer counts before it may open.
const RECLOSER_WINDOW: usize = 10;

/// Returns our breaker with the default trip policy, tripped at `now`.
pub(crate) fn open_breaker(now: Instant) -> CircuitBreaker {
    let config = BreakerConfig {
        cooldown: OPEN_FOR,
        max_cooldown: OPEN_FOR,
        cooldown_jitter: 0.0,
        ..BreakerConfig::default()
    };
    let breaker = CircuitBreaker::new(config, Arc::new(FixedRandom::new(0.0)))
        .expect("valid breaker settings");
    for _ in 0..DEFAULT_FAILURE_THRESHOLD.get() {
        breaker
            .try_acquire(now)
            .expect("a closed breaker admits")
            .record(Outcome::Failure, now);
    }
    assert_eq!(breaker.state(), BreakerState::Open);
    breaker
}

/// Returns a recloser that opens at a 50% error rate over 10 calls, tripped.
pub(crate) fn open_recloser() -> Recloser {
    let recloser = Recloser::custom()
        .error_rate(0.5)
        .closed_len(RECLOSER_WINDOW)
        .open_wait(OPEN_FOR)
        .build();
    for _ in 0..=RECLOSER_WINDOW {
        let _ = recloser.call(|| Err::<(), _>(()));
    }
    assert!(
        recloser.call(|| Ok::<_, ()>(())).is_err(),
        "recloser did not open after {RECLOSER_WINDOW} failures"
    );
    recloser
}

/// Returns a failsafe breaker that opens after one failure, tripped.
pub(crate) fn open_failsafe() -> impl failsafe::CircuitBreaker + Sync {
    let backoff = failsafe::backoff::constant(OPEN_FOR);
    let policy = failsafe::failure_policy::consecutive_failures(1, backoff);
    let breaker = failsafe::Config::new().failure_policy(policy).build();
    let _ = breaker.call(|| Err::<(), _>(()));
    assert!(
        !breaker.is_call_permitted(),
        "failsafe did not open after a failure"
    );
    breaker
}
