//! The error kind a failed call reports when several reasons to stop apply.

use std::io;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_core::backoff::{BackoffConfig, Jitter};
use resilience_core::breaker::{BreakerState, TripPolicy};
use resilience_core::clock::TokioClock;
use resilience_core::executor::{CallErrorKind, Executor, ExecutorConfig, Idempotency};
use resilience_core::random::FixedRandom;

fn executor(max_retries: u32, trip_threshold: u32) -> Executor {
    let mut config = ExecutorConfig {
        max_retries,
        backoff: BackoffConfig {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(10),
            jitter: Jitter::None,
        },
        ..ExecutorConfig::default()
    };
    config.breaker.trip = TripPolicy::ConsecutiveFailures {
        threshold: NonZeroU32::new(trip_threshold).unwrap(),
    };
    Executor::builder()
        .config(config)
        .clock(Arc::new(TokioClock))
        .random(Arc::new(FixedRandom::new(0.5)))
        .build()
        .expect("test configuration is valid")
}

fn error(kind: io::ErrorKind) -> io::Error {
    io::Error::from(kind)
}

#[tokio::test(start_paused = true)]
async fn unknown_outcome_outranks_zero_retries() {
    let executor = executor(0, 5);

    let failure = executor
        .call(Idempotency::NotIdempotent, |_| async {
            Err::<(), _>(error(io::ErrorKind::ConnectionReset))
        })
        .await
        .expect_err("a reset fails the only attempt");

    assert_eq!(
        failure.kind(),
        CallErrorKind::OutcomeUnknown,
        "a reset request that is not idempotent may have been applied: {failure}"
    );
    assert_eq!(failure.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn unknown_outcome_outranks_last_retry() {
    let executor = executor(1, 5);
    let calls = AtomicU32::new(0);

    let failure = executor
        .call(Idempotency::NotIdempotent, |_| {
            let number = calls.fetch_add(1, Ordering::Relaxed) + 1;
            async move {
                if number == 1 {
                    Err::<(), _>(error(io::ErrorKind::ConnectionRefused))
                } else {
                    Err(error(io::ErrorKind::ConnectionReset))
                }
            }
        })
        .await
        .expect_err("the retry is reset");

    assert_eq!(failure.attempts(), 2, "the refusal was retried");
    assert_eq!(failure.kind(), CallErrorKind::OutcomeUnknown, "{failure}");
}

#[tokio::test(start_paused = true)]
async fn refused_request_still_exhausts_retries() {
    let executor = executor(1, 5);

    let failure = executor
        .call(Idempotency::NotIdempotent, |_| async {
            Err::<(), _>(error(io::ErrorKind::ConnectionRefused))
        })
        .await
        .expect_err("every attempt is refused");

    assert_eq!(failure.kind(), CallErrorKind::RetriesExhausted, "{failure}");
    assert_eq!(failure.attempts(), 2);
}

#[tokio::test(start_paused = true)]
async fn retry_rejected_by_breaker_keeps_last_error() {
    let executor = executor(3, 1);

    let failure = executor
        .call(Idempotency::Idempotent, |_| async {
            Err::<(), _>(error(io::ErrorKind::ConnectionReset))
        })
        .await
        .expect_err("the first failure opens the breaker");

    assert_eq!(executor.breaker().state(), BreakerState::Open);
    assert_eq!(failure.kind(), CallErrorKind::CircuitOpen);
    assert_eq!(
        failure.attempts(),
        1,
        "one attempt ran before the rejection"
    );
    assert_eq!(
        failure.last_error().map(io::Error::kind),
        Some(io::ErrorKind::ConnectionReset),
        "the failure that opened the breaker is kept: {failure:?}"
    );
    assert!(failure.retry_after().is_some());
}
