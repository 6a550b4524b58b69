//! Circuit breaker scenarios with exact times.

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use resilience_core::{
    BreakerConfig, BreakerState, CircuitBreaker, FixedRandom, Outcome, TripPolicy,
};
use support::RecordingObserver;

const COOLDOWN: Duration = Duration::from_secs(1);
const DWELL: Duration = Duration::from_secs(5);

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

/// Five consecutive failures trip, and without jitter open periods are exact.
fn config() -> BreakerConfig {
    BreakerConfig {
        trip: TripPolicy::ConsecutiveFailures {
            threshold: nonzero(5),
        },
        cooldown: COOLDOWN,
        cooldown_growth: 2.0,
        max_cooldown: Duration::from_secs(3),
        cooldown_jitter: 0.0,
        max_probes: nonzero(1),
        probe_successes_to_close: nonzero(1),
        max_half_open: DWELL,
    }
}

fn breaker(config: BreakerConfig) -> (CircuitBreaker, Arc<RecordingObserver>) {
    let observer = Arc::new(RecordingObserver::default());
    let breaker = CircuitBreaker::new(config, Arc::new(FixedRandom::new(0.5)))
        .unwrap()
        .with_observer(observer.clone());
    (breaker, observer)
}

fn trip(breaker: &CircuitBreaker, now: Instant) {
    while breaker.state() == BreakerState::Closed {
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::Failure, now);
    }
}

#[test]
fn open_rejects_until_retry_at_exactly() {
    let (breaker, _) = breaker(config());
    let start = Instant::now();
    trip(&breaker, start);

    let retry_at = start + COOLDOWN;
    let just_before = retry_at - Duration::from_nanos(1);
    let rejected = breaker.try_acquire(just_before).unwrap_err();

    assert_eq!(rejected.state(), BreakerState::Open);
    assert_eq!(rejected.retry_at(), retry_at);
    assert_eq!(rejected.retry_after(just_before), Duration::from_nanos(1));
    assert_eq!(rejected.retry_after(retry_at + COOLDOWN), Duration::ZERO);
    let probe = breaker.try_acquire(retry_at).expect("admitted at retry_at");
    assert!(probe.is_probe());
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
}

#[test]
fn half_open_admits_max_probes_then_rejects() {
    let (breaker, _) = breaker(BreakerConfig {
        max_probes: nonzero(2),
        ..config()
    });
    let start = Instant::now();
    trip(&breaker, start);
    let at = start + COOLDOWN;

    let first = breaker.try_acquire(at).unwrap();
    let second = breaker.try_acquire(at).unwrap();
    let rejected = breaker.try_acquire(at).unwrap_err();

    assert!(first.is_probe(), "the first permit is a probe");
    assert!(second.is_probe(), "the second permit is a probe");
    assert_eq!(rejected.state(), BreakerState::HalfOpen);
    assert_eq!(
        rejected.retry_at(),
        at + DWELL,
        "the dwell limit is the next decision"
    );
    drop((first, second));
}

#[test]
fn dropped_probe_frees_its_slot() {
    let (breaker, observer) = breaker(config());
    let start = Instant::now();
    trip(&breaker, start);
    let at = start + COOLDOWN;

    let probe = breaker.try_acquire(at).unwrap();
    assert!(breaker.try_acquire(at).is_err(), "the only slot is taken");
    drop(probe);

    let next = breaker.try_acquire(at).expect("slot freed by the drop");
    assert!(next.is_probe());
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    assert_eq!(
        observer.count(BreakerState::Open, BreakerState::HalfOpen),
        1
    );
    drop(next);
}

#[test]
fn permanent_error_probe_frees_slot_without_closing() {
    let (breaker, observer) = breaker(config());
    let start = Instant::now();
    trip(&breaker, start);
    let at = start + COOLDOWN;

    breaker
        .try_acquire(at)
        .unwrap()
        .record(Outcome::BackendAnswered, at);

    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    let next = breaker
        .try_acquire(at)
        .expect("slot freed by the permanent error");
    next.record(Outcome::Success, at);
    assert_eq!(breaker.state(), BreakerState::Closed);
    assert_eq!(
        observer.count(BreakerState::HalfOpen, BreakerState::Closed),
        1
    );
}

#[test]
fn silent_probe_reopens_after_dwell_then_admits_again() {
    let (breaker, observer) = breaker(config());
    let start = Instant::now();
    trip(&breaker, start);
    let entered = start + COOLDOWN;
    let stuck = breaker.try_acquire(entered).unwrap();

    let before_dwell = breaker.try_acquire(entered + DWELL - Duration::from_nanos(1));
    assert_eq!(before_dwell.unwrap_err().state(), BreakerState::HalfOpen);

    let reopened_at = entered + DWELL;
    let rejected = breaker.try_acquire(reopened_at).unwrap_err();
    assert_eq!(rejected.state(), BreakerState::Open);
    assert_eq!(
        rejected.retry_at(),
        reopened_at + 2 * COOLDOWN,
        "cooldown grew"
    );
    assert_eq!(
        observer.count(BreakerState::HalfOpen, BreakerState::Open),
        1
    );

    let probe = breaker
        .try_acquire(rejected.retry_at())
        .expect("a probe after the window");
    assert!(probe.is_probe());
    stuck.record(Outcome::Success, rejected.retry_at());
    assert_eq!(
        breaker.state(),
        BreakerState::HalfOpen,
        "a stale probe cannot close"
    );
    probe.record(Outcome::Success, rejected.retry_at());
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn idle_half_open_restarts_dwell() {
    let (breaker, observer) = breaker(config());
    let start = Instant::now();
    trip(&breaker, start);
    let entered = start + COOLDOWN;
    drop(breaker.try_acquire(entered).unwrap());

    // The breaker sat idle in half-open for two dwell periods.
    let admitted = entered + 2 * DWELL;
    let probe = breaker
        .try_acquire(admitted)
        .expect("the free slot admits a probe");

    let before_dwell = admitted + DWELL - Duration::from_nanos(1);
    let rejected = breaker.try_acquire(before_dwell).unwrap_err();
    assert_eq!(
        rejected.state(),
        BreakerState::HalfOpen,
        "the probe admitted at {admitted:?} has not waited a full dwell at {before_dwell:?}"
    );
    assert_eq!(rejected.retry_at(), admitted + DWELL);
    assert_eq!(
        observer.count(BreakerState::HalfOpen, BreakerState::Open),
        0
    );

    probe.record(Outcome::Success, before_dwell);
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn four_late_failures_keep_one_open_and_reopen_time() {
    let (breaker, observer) = breaker(config());
    let start = Instant::now();
    let permits: Vec<_> = (0..9)
        .map(|_| breaker.try_acquire(start).unwrap())
        .collect();
    let mut permits = permits.into_iter();

    for permit in permits.by_ref().take(5) {
        permit.record(Outcome::Failure, start);
    }
    let retry_at = breaker.try_acquire(start).unwrap_err().retry_at();
    for (late, permit) in permits.enumerate() {
        let now = start + Duration::from_millis(100 * (late as u64 + 1));
        permit.record(Outcome::Failure, now);
    }

    assert_eq!(
        observer.transitions().len(),
        1,
        "{:?}",
        observer.transitions()
    );
    assert_eq!(observer.count(BreakerState::Closed, BreakerState::Open), 1);
    let rejected = breaker
        .try_acquire(start + Duration::from_millis(500))
        .unwrap_err();
    assert_eq!(rejected.retry_at(), retry_at);
    assert_eq!(retry_at, start + COOLDOWN);
}

#[test]
fn late_success_does_not_close_open_breaker() {
    let (breaker, _) = breaker(config());
    let start = Instant::now();
    let late = breaker.try_acquire(start).unwrap();
    trip(&breaker, start);

    late.record(Outcome::Success, start);

    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn failed_probes_grow_cooldown_to_max_and_close_resets_it() {
    let (breaker, _) = breaker(config());
    let mut now = Instant::now();
    trip(&breaker, now);
    let mut open_periods = Vec::new();

    for _ in 0..3 {
        let retry_at = breaker.try_acquire(now).unwrap_err().retry_at();
        open_periods.push(retry_at - now);
        now = retry_at;
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::Failure, now);
    }
    let secs = Duration::from_secs;
    assert_eq!(
        open_periods,
        vec![secs(1), secs(2), secs(3)],
        "capped at max_cooldown"
    );

    now = breaker.try_acquire(now).unwrap_err().retry_at();
    breaker
        .try_acquire(now)
        .unwrap()
        .record(Outcome::Success, now);
    trip(&breaker, now);
    assert_eq!(
        breaker.try_acquire(now).unwrap_err().retry_after(now),
        COOLDOWN
    );
}

#[test]
fn cooldown_jitter_shortens_open_period() {
    let config = BreakerConfig {
        cooldown_jitter: 0.2,
        ..config()
    };
    let (breaker, _) = breaker(config);
    let start = Instant::now();
    trip(&breaker, start);

    let open_for = breaker.try_acquire(start).unwrap_err().retry_after(start);

    assert_eq!(open_for, Duration::from_millis(900), "factor 1 - 0.2 * 0.5");
}

#[test]
fn probe_successes_to_close_needs_every_success() {
    let config = BreakerConfig {
        max_probes: nonzero(2),
        probe_successes_to_close: nonzero(2),
        ..config()
    };
    let (breaker, _) = breaker(config);
    let start = Instant::now();
    trip(&breaker, start);
    let at = start + COOLDOWN;

    breaker
        .try_acquire(at)
        .unwrap()
        .record(Outcome::Success, at);
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    breaker
        .try_acquire(at)
        .unwrap()
        .record(Outcome::Success, at);
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn closed_success_clears_failure_streak() {
    let (breaker, _) = breaker(config());
    let now = Instant::now();

    for _ in 0..4 {
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::Failure, now);
    }
    breaker
        .try_acquire(now)
        .unwrap()
        .record(Outcome::Success, now);
    for _ in 0..4 {
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::Failure, now);
    }

    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker
        .try_acquire(now)
        .unwrap()
        .record(Outcome::Failure, now);
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn closed_permanent_errors_neither_trip_nor_clear_streak() {
    let (breaker, _) = breaker(config());
    let now = Instant::now();

    for _ in 0..4 {
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::Failure, now);
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::BackendAnswered, now);
    }
    assert_eq!(breaker.state(), BreakerState::Closed);

    breaker
        .try_acquire(now)
        .unwrap()
        .record(Outcome::Failure, now);
    assert_eq!(breaker.state(), BreakerState::Open);
}

#[test]
fn failure_rate_trips_at_threshold_percent() {
    let trip_policy = TripPolicy::FailureRate {
        window: nonzero(10),
        min_calls: nonzero(4),
        threshold_percent: 50,
    };
    let (breaker, _) = breaker(BreakerConfig {
        trip: trip_policy,
        ..config()
    });
    let now = Instant::now();

    for outcome in [Outcome::Success, Outcome::Failure, Outcome::Success] {
        breaker.try_acquire(now).unwrap().record(outcome, now);
    }
    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker
        .try_acquire(now)
        .unwrap()
        .record(Outcome::Failure, now);
    assert_eq!(breaker.state(), BreakerState::Open, "2 failures of 4 calls");
}

#[test]
fn force_open_rejects_until_reset() {
    let (breaker, observer) = breaker(config());
    let now = Instant::now();
    let earlier = breaker.try_acquire(now).unwrap();

    breaker.force_open(now);
    let rejected = breaker
        .try_acquire(now + Duration::from_secs(3600))
        .unwrap_err();
    assert_eq!(rejected.state(), BreakerState::ForcedOpen);
    earlier.record(Outcome::Success, now);
    assert_eq!(breaker.state(), BreakerState::ForcedOpen);

    breaker.reset(now);
    assert!(breaker.try_acquire(now).is_ok());
    let expected = [
        (BreakerState::Closed, BreakerState::ForcedOpen, now),
        (BreakerState::ForcedOpen, BreakerState::Closed, now),
    ];
    assert_eq!(observer.transitions(), expected);
}

#[test]
fn disabled_admits_all_and_ignores_failures() {
    let (breaker, _) = breaker(config());
    let now = Instant::now();
    breaker.disable(now);

    for _ in 0..20 {
        breaker
            .try_acquire(now)
            .unwrap()
            .record(Outcome::Failure, now);
    }

    assert_eq!(breaker.state(), BreakerState::Disabled);
}

#[test]
fn reset_ignores_permits_issued_before_it() {
    let (breaker, _) = breaker(config());
    let now = Instant::now();
    let old: Vec<_> = (0..5).map(|_| breaker.try_acquire(now).unwrap()).collect();

    breaker.reset(now);
    for permit in old {
        permit.record(Outcome::Failure, now);
    }

    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn clock_going_backwards_keeps_breaker_open() {
    let (breaker, _) = breaker(config());
    let start = Instant::now() + Duration::from_secs(60);
    trip(&breaker, start);
    let earlier = start - Duration::from_secs(30);

    let rejected = breaker.try_acquire(earlier).unwrap_err();

    assert_eq!(rejected.retry_at(), start + COOLDOWN);
    assert_eq!(rejected.retry_after(earlier), Duration::from_secs(31));
    let half_open_at = start + COOLDOWN;
    breaker
        .try_acquire(half_open_at)
        .unwrap()
        .record(Outcome::BackendAnswered, earlier);
    let held = breaker.try_acquire(half_open_at).unwrap();

    // The report dated before the half-open period must not age the dwell.
    let rejected = breaker.try_acquire(half_open_at).unwrap_err();
    assert_eq!(rejected.state(), BreakerState::HalfOpen);
    assert_eq!(rejected.retry_at(), half_open_at + DWELL);
    drop(held);
}

#[test]
fn breaker_is_shareable_and_permit_is_send() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    assert_send_sync::<CircuitBreaker>();
    assert_send::<resilience_core::Permit<'static>>();
}
