//! The executor under paused tokio time: deadlines, retries, budget, breaker.

use std::future::pending;
use std::io;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_core::backoff::{BackoffConfig, Jitter};
use resilience_core::breaker::{BreakerConfig, BreakerState, TripPolicy};
use resilience_core::budget::BudgetConfig;
use resilience_core::clock::{Clock, TokioClock};
use resilience_core::executor::{CallErrorKind, Executor, ExecutorConfig, Idempotency};
use resilience_core::random::FixedRandom;
use tokio::time::Instant;

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Builds a configuration whose backoff is exactly `delay` and whose budget never
/// runs dry, so each test changes only what it is about.
fn config(deadline: u64, attempt_timeout: u64, max_retries: u32, delay: u64) -> ExecutorConfig {
    ExecutorConfig {
        request_deadline: millis(deadline),
        attempt_timeout: millis(attempt_timeout),
        max_retries,
        min_attempt_time: millis(1),
        backoff: BackoffConfig {
            base: millis(delay),
            cap: millis(delay),
            jitter: Jitter::None,
        },
        budget: BudgetConfig {
            ratio: 1.0,
            min_per_second: 1000,
            burst: 1000,
            max_balance: 1000.0,
        },
        breaker: BreakerConfig::default(),
    }
}

fn executor(config: ExecutorConfig) -> Executor {
    Executor::builder()
        .config(config)
        .clock(Arc::new(TokioClock))
        .random(Arc::new(FixedRandom::new(0.5)))
        .build()
        .expect("test configuration is valid")
}

fn reset() -> io::Error {
    io::Error::from(io::ErrorKind::ConnectionReset)
}

#[tokio::test(start_paused = true)]
async fn transient_then_success_retries_once() {
    let executor = executor(config(1000, 500, 3, 10));
    let calls = AtomicU32::new(0);
    let start = Instant::now();

    let result = executor
        .call(Idempotency::Idempotent, |attempt| {
            let number = calls.fetch_add(1, Ordering::Relaxed) + 1;
            assert_eq!(attempt.number(), number, "attempt numbers count from 1");
            async move {
                if number == 1 {
                    Err(reset())
                } else {
                    Ok(number)
                }
            }
        })
        .await;

    assert_eq!(result.expect("the retry succeeds"), 2);
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    assert_eq!(start.elapsed(), millis(10), "one backoff delay was slept");
}

#[tokio::test(start_paused = true)]
async fn never_completing_operation_ends_at_the_deadline() {
    let executor = executor(config(1000, 1000, 3, 10));
    let start = Instant::now();

    let error = executor
        .call(Idempotency::Idempotent, |_| {
            pending::<Result<(), io::Error>>()
        })
        .await
        .expect_err("the operation never completes");

    assert_eq!(error.kind(), CallErrorKind::DeadlineExceeded);
    assert_eq!(
        start.elapsed(),
        millis(1000),
        "returned at the deadline exactly"
    );
    assert_eq!(error.elapsed(), millis(1000));
    assert_eq!(error.attempts(), 1);
    assert!(error.last_attempt_timed_out());
}

#[tokio::test(start_paused = true)]
async fn retry_that_cannot_fit_is_not_slept() {
    // 700 ms spent of a 1000 ms deadline, and the next delay is 400 ms.
    let executor = executor(config(1000, 700, 3, 400));
    let start = Instant::now();

    let error = executor
        .call(Idempotency::Idempotent, |_| {
            pending::<Result<(), io::Error>>()
        })
        .await
        .expect_err("the attempt times out");

    assert_eq!(error.kind(), CallErrorKind::DeadlineExceeded);
    assert_eq!(start.elapsed(), millis(700), "gave up without sleeping");
    assert_eq!(error.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_that_fits_is_cut_to_the_deadline() {
    // 700 ms spent, a 200 ms delay, then a retry that gets the last 100 ms.
    let executor = executor(config(1000, 700, 3, 200));
    let start = Instant::now();
    let deadlines = std::sync::Mutex::new(Vec::new());

    let error = executor
        .call(Idempotency::Idempotent, |attempt| {
            deadlines.lock().unwrap().push(attempt.deadline());
            pending::<Result<(), io::Error>>()
        })
        .await
        .expect_err("every attempt times out");

    assert_eq!(error.kind(), CallErrorKind::DeadlineExceeded);
    assert_eq!(start.elapsed(), millis(1000));
    assert_eq!(error.attempts(), 2);
    let deadlines = deadlines.into_inner().unwrap();
    assert_eq!(
        deadlines[1],
        deadlines[0] + millis(300),
        "the retry ends at the request deadline"
    );
}

#[tokio::test(start_paused = true)]
async fn exhausted_budget_fails_without_sleeping() {
    let mut config = config(1000, 500, 3, 100);
    config.budget = BudgetConfig {
        ratio: 0.0,
        min_per_second: 0,
        burst: 1,
        max_balance: 1.0,
    };
    let executor = executor(config);
    let calls = AtomicU32::new(0);
    let start = Instant::now();

    let error = executor
        .call(Idempotency::Idempotent, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Err::<(), _>(reset()) }
        })
        .await
        .expect_err("the retry is not allowed");

    assert_eq!(error.kind(), CallErrorKind::BudgetExhausted);
    assert_eq!(start.elapsed(), Duration::ZERO, "no backoff was slept");
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(
        error.last_error().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionReset)
    );
}

#[tokio::test(start_paused = true)]
async fn open_breaker_does_not_invoke_the_operation() {
    let mut config = config(1000, 500, 0, 10);
    config.breaker.trip = TripPolicy::ConsecutiveFailures {
        threshold: NonZeroU32::new(1).unwrap(),
    };
    let executor = executor(config);
    let calls = AtomicU32::new(0);
    let failing = || {
        calls.fetch_add(1, Ordering::Relaxed);
        async { Err::<(), _>(reset()) }
    };

    let first = executor.call(Idempotency::Idempotent, |_| failing()).await;
    assert_eq!(first.unwrap_err().kind(), CallErrorKind::RetriesExhausted);
    assert_eq!(executor.breaker().state(), BreakerState::Open);

    let second = executor
        .call(Idempotency::Idempotent, |_| failing())
        .await
        .expect_err("the breaker is open");
    assert_eq!(second.kind(), CallErrorKind::CircuitOpen);
    assert_eq!(second.attempts(), 0);
    assert!(
        second
            .retry_after()
            .is_some_and(|after| after > Duration::ZERO)
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "the operation ran only for the first call"
    );
}

#[tokio::test(start_paused = true)]
async fn forced_open_breaker_rejects_before_any_attempt() {
    let executor = executor(config(1000, 500, 3, 10));
    executor.breaker().force_open(TokioClock.now());
    let calls = AtomicU32::new(0);

    let error = executor
        .call(Idempotency::Idempotent, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            async { Ok::<(), io::Error>(()) }
        })
        .await
        .expect_err("forced open");

    assert_eq!(error.kind(), CallErrorKind::CircuitOpen);
    assert_eq!(calls.load(Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_call_is_not_retried_after_a_timeout() {
    let executor = executor(config(1000, 100, 3, 10));
    let calls = AtomicU32::new(0);

    let error = executor
        .call(Idempotency::NotIdempotent, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            pending::<Result<(), io::Error>>()
        })
        .await
        .expect_err("the attempt times out");

    assert_eq!(error.kind(), CallErrorKind::OutcomeUnknown);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_call_is_retried_after_a_refusal() {
    let executor = executor(config(1000, 100, 3, 10));
    let calls = AtomicU32::new(0);

    let result = executor
        .call(Idempotency::NotIdempotent, |_| {
            let number = calls.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                if number == 1 {
                    Err(io::Error::from(io::ErrorKind::ConnectionRefused))
                } else {
                    Ok(number)
                }
            }
        })
        .await;

    assert_eq!(result.expect("refused requests never left"), 2);
}

#[tokio::test(start_paused = true)]
async fn non_idempotent_call_is_not_retried_after_a_reset() {
    let executor = executor(config(1000, 100, 3, 10));

    let error = executor
        .call(Idempotency::NotIdempotent, |_| async {
            Err::<(), _>(reset())
        })
        .await
        .expect_err("a reset may follow delivery");

    assert_eq!(error.kind(), CallErrorKind::OutcomeUnknown);
    assert_eq!(error.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn permanent_error_is_not_retried_and_does_not_trip() {
    let mut config = config(1000, 500, 3, 10);
    config.breaker.trip = TripPolicy::ConsecutiveFailures {
        threshold: NonZeroU32::new(1).unwrap(),
    };
    let executor = executor(config);

    for _ in 0..3 {
        let error = executor
            .call(Idempotency::Idempotent, |_| async {
                Err::<(), _>(io::Error::from(io::ErrorKind::PermissionDenied))
            })
            .await
            .expect_err("permission denied");
        assert_eq!(error.kind(), CallErrorKind::Permanent);
        assert_eq!(error.attempts(), 1);
    }
    assert_eq!(executor.breaker().state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn retries_exhausted_reports_every_attempt() {
    let executor = executor(config(10_000, 500, 2, 10));

    let error = executor
        .call(Idempotency::Idempotent, |_| async { Err::<(), _>(reset()) })
        .await
        .expect_err("every attempt fails");

    assert_eq!(error.kind(), CallErrorKind::RetriesExhausted);
    assert_eq!(error.attempts(), 3);
    assert_eq!(error.elapsed(), millis(20), "two delays of 10 ms");
}

#[tokio::test(start_paused = true)]
async fn dropped_call_frees_the_half_open_probe() {
    let mut config = config(1000, 500, 0, 10);
    config.breaker.trip = TripPolicy::ConsecutiveFailures {
        threshold: NonZeroU32::new(1).unwrap(),
    };
    config.breaker.cooldown = millis(100);
    config.breaker.cooldown_jitter = 0.0;
    let executor = executor(config);

    let tripped = executor.call(Idempotency::Idempotent, |_| async { Err::<(), _>(reset()) });
    assert!(tripped.await.is_err());
    tokio::time::advance(millis(100)).await;

    // The probe is admitted, then its call is dropped mid-attempt.
    let mut probe = tokio_test::task::spawn(executor.call(Idempotency::Idempotent, |_| {
        pending::<Result<(), io::Error>>()
    }));
    tokio_test::assert_pending!(probe.poll());
    assert_eq!(executor.breaker().state(), BreakerState::HalfOpen);
    drop(probe);

    let next = executor
        .call(Idempotency::Idempotent, |_| async { Ok::<_, io::Error>(7) })
        .await;
    assert_eq!(next.expect("the freed slot admits a new probe"), 7);
    assert_eq!(executor.breaker().state(), BreakerState::Closed);
}
