//! Executor waits under paused tokio time that does not start on a whole millisecond.

use std::future::pending;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use resilience_core::backoff::{Backoff, BackoffConfig, Jitter};
use resilience_core::budget::BudgetConfig;
use resilience_core::clock::TokioClock;
use resilience_core::executor::{Attempt, CallErrorKind, Executor, ExecutorConfig, Idempotency};
use resilience_core::random::FixedRandom;

/// Returns a budget that never runs dry, so that only the deadline stops retries.
fn ample_budget() -> BudgetConfig {
    BudgetConfig {
        ratio: 1.0,
        min_per_second: 1000,
        burst: 1000,
        max_balance: 1000.0,
    }
}

fn executor(config: ExecutorConfig, random: FixedRandom) -> Executor {
    Executor::builder()
        .config(config)
        .clock(Arc::new(TokioClock))
        .random(Arc::new(random))
        .build()
        .expect("test configuration is valid")
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

#[tokio::test(start_paused = true)]
async fn call_started_between_ticks_ends_at_its_deadline() {
    let executor = executor(
        ExecutorConfig {
            request_deadline: Duration::from_millis(10),
            attempt_timeout: Duration::from_millis(10),
            ..ExecutorConfig::default()
        },
        FixedRandom::new(0.5),
    );
    tokio::time::advance(Duration::from_micros(500)).await;
    let start = now();

    let error = executor
        .call(Idempotency::Idempotent, |_| {
            pending::<Result<(), io::Error>>()
        })
        .await
        .expect_err("the operation never completes");

    assert_eq!(error.kind(), CallErrorKind::DeadlineExceeded);
    assert_eq!(now() - start, Duration::from_millis(10), "returned late");
    assert_eq!(error.elapsed(), Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn retry_keeps_min_attempt_time() {
    // A 17.3 ms delay is cut to 17 ms, which leaves the retry 3 ms of the 20.
    let min_attempt_time = Duration::from_millis(3);
    let executor = executor(
        ExecutorConfig {
            request_deadline: Duration::from_millis(20),
            attempt_timeout: Duration::from_millis(20),
            max_retries: 1,
            min_attempt_time,
            backoff: BackoffConfig {
                base: Duration::from_micros(17_300),
                cap: Duration::from_micros(17_300),
                jitter: Jitter::None,
            },
            budget: ample_budget(),
            ..ExecutorConfig::default()
        },
        FixedRandom::new(0.5),
    );
    let start = now();
    let calls = AtomicU32::new(0);
    let retry = Mutex::new(None);

    let error = executor
        .call(Idempotency::Idempotent, |attempt| {
            let number = calls.fetch_add(1, Ordering::Relaxed) + 1;
            if attempt.is_retry() {
                *retry.lock().unwrap() = Some((now(), attempt));
            }
            async move {
                if number == 1 {
                    Err(io::Error::from(io::ErrorKind::ConnectionReset))
                } else {
                    pending::<Result<(), io::Error>>().await
                }
            }
        })
        .await
        .expect_err("the retry times out");

    assert_eq!(error.kind(), CallErrorKind::DeadlineExceeded);
    let (started, attempt) = retry.into_inner().unwrap().expect("a retry ran");
    assert_eq!(started - start, Duration::from_millis(17), "slept 17 ms");
    assert_eq!(attempt.deadline() - started, min_attempt_time);
}

/// What one attempt does: fail after a latency, or never complete.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    FailAfter(Duration),
    Hang,
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        (0u64..30_000).prop_map(|micros| Behaviour::FailAfter(Duration::from_micros(micros))),
        Just(Behaviour::Hang),
    ]
}

fn executor_config() -> impl Strategy<Value = ExecutorConfig> {
    (2u64..200, 0u32..=10, 1u64..60_000, 0u64..60_000)
        .prop_flat_map(|(deadline, retries, base, spread)| {
            (
                Just((deadline, retries, base, spread)),
                1..=deadline,
                1..deadline,
                prop_oneof![
                    Just(Jitter::Full),
                    Just(Jitter::Equal),
                    Just(Jitter::Decorrelated),
                    Just(Jitter::None)
                ],
            )
        })
        .prop_map(
            |((deadline, retries, base, spread), timeout, min_attempt, jitter)| ExecutorConfig {
                request_deadline: Duration::from_millis(deadline),
                attempt_timeout: Duration::from_millis(timeout),
                max_retries: retries,
                min_attempt_time: Duration::from_millis(min_attempt),
                backoff: BackoffConfig {
                    base: Duration::from_micros(base),
                    cap: Duration::from_micros(base + spread),
                    jitter,
                },
                budget: ample_budget(),
                ..ExecutorConfig::default()
            },
        )
}

/// One attempt as the operation saw it: its start, its [`Attempt`] and,
/// if it completed, its end.
type Trace = Vec<(Instant, Attempt, Option<Instant>)>;

/// Runs one call on a paused runtime whose time is `phase` past a whole
/// millisecond, and returns the call's start and end and every attempt.
fn run_call(
    config: &ExecutorConfig,
    random: f64,
    phase: Duration,
    behaviours: &[Behaviour],
) -> (Instant, Instant, Trace) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let executor = executor(config.clone(), FixedRandom::new(random));
    let trace = Arc::new(Mutex::new(Trace::new()));
    let (start, end) = runtime.block_on(async {
        tokio::time::advance(phase).await;
        let start = now();
        let _ = executor
            .call(Idempotency::Idempotent, |attempt| {
                let index = {
                    let mut trace = trace.lock().unwrap();
                    trace.push((now(), attempt, None));
                    trace.len() - 1
                };
                let behaviour = behaviours[index % behaviours.len()];
                let trace = Arc::clone(&trace);
                async move {
                    let Behaviour::FailAfter(latency) = behaviour else {
                        return pending::<Result<(), io::Error>>().await;
                    };
                    tokio::time::sleep(latency).await;
                    trace.lock().unwrap()[index].2 = Some(now());
                    Err(io::Error::from(io::ErrorKind::ConnectionReset))
                }
            })
            .await;
        (start, now())
    });
    let trace = trace.lock().unwrap().clone();
    (start, end, trace)
}

/// Returns the delay slept before the retry after `previous`.
fn planned_delay(backoff: &Backoff, retry: u32, previous: Duration, random: f64) -> Duration {
    let delay = backoff.delay(retry, previous, &FixedRandom::new(random));
    Duration::from_millis(delay.as_millis() as u64)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/executor_timing.txt"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn call_keeps_deadline_and_sleeps_the_checked_delay(
        config in executor_config(),
        random in 0.0f64..1.0,
        phase_nanos in 0u64..1_000_000,
        behaviours in prop::collection::vec(behaviour(), 1..6),
    ) {
        let phase = Duration::from_nanos(phase_nanos);
        let (start, end, trace) = run_call(&config, random, phase, &behaviours);
        let deadline = start + config.request_deadline;
        let backoff = Backoff::new(config.backoff.clone()).unwrap();
        let context = format!("phase {phase:?}, trace {trace:?}");

        prop_assert!(end <= deadline, "ended {:?} past the deadline; {}", end - deadline, context);
        let mut previous_delay = Duration::ZERO;
        for (index, (started, attempt, completed)) in trace.iter().enumerate() {
            prop_assert_eq!(attempt.request_deadline(), deadline, "{}", &context);
            prop_assert!(attempt.deadline() <= deadline, "{}", &context);
            if attempt.is_retry() {
                prop_assert!(
                    *started + config.min_attempt_time <= deadline,
                    "retry {} started with less than min_attempt_time left; {}", index, context
                );
            }
            let Some((next_started, _, _)) = trace.get(index + 1) else {
                continue;
            };
            // An attempt that did not complete was dropped at its deadline.
            let ended = completed.unwrap_or(attempt.deadline());
            let delay = planned_delay(&backoff, index as u32, previous_delay, random);
            prop_assert_eq!(*next_started - ended, delay, "retry {}; {}", index + 1, &context);
            previous_delay = delay;
        }
    }
}
