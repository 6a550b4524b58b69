//! A blackholed `valkey-server`: calls end by their deadline, the breaker
//! opens after its threshold, sends nothing while open, admits one probe
//! after its cooldown and closes once the fault is lifted.
//!
//! These tests run on the real clock, because the proxy and the server do
//! real I/O. Elapsed time is measured with tokio's clock and checked against
//! the deadline plus [`MARGIN`], the scheduling slack that a caller must
//! allow for on a loaded machine.

mod support;

use std::time::Duration;

use fault_tests::{Direction, Fault, Stats};
use resilience_core::BreakerState;
use session_valkey::{SessionStore, SessionStoreError, ValkeyConfig, ValkeySessionStore};
use support::valkey::{Attempts, Backend, COOLDOWN, Session, append_all, sessions, trip_after};
use support::wait_until;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Time a call may take past its request deadline.
const MARGIN: Duration = Duration::from_millis(250);

/// Short timeouts, so that each blackholed call ends quickly.
fn short_timeouts(config: &mut ValkeyConfig) {
    config.connect_timeout_ms = 100;
    config.command_timeout_ms = 200;
    config.request_deadline_ms = 400;
}

fn deadline(backend: &Backend) -> Duration {
    Duration::from_millis(backend.config.request_deadline_ms)
}

/// Blackholes both directions, on open connections too.
fn blackhole(backend: &Backend) {
    backend.proxy.set(Direction::Upstream, Fault::Blackhole);
    backend.proxy.set(Direction::Downstream, Fault::Blackhole);
}

/// Loads `session`, checks that the load failed by `deadline + MARGIN` and
/// returns its error.
async fn failed_load(
    store: &ValkeySessionStore,
    session: &Session,
    deadline: Duration,
) -> SessionStoreError {
    let started = Instant::now();
    let result = store.load(&session.id).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed <= deadline + MARGIN,
        "load of {} took {elapsed:?}, deadline {deadline:?} plus {MARGIN:?}",
        session.id
    );
    match result {
        Ok(labels) => panic!(
            "load of {} returned {labels:?} through a blackhole",
            session.id
        ),
        Err(error) => error,
    }
}

/// Waits until the proxy has no open connection, so that its counters stop
/// moving once the store stops sending.
async fn wait_for_closed_connections(backend: &Backend) {
    wait_until("the store's abandoned connections to close", || {
        backend.proxy.stats().open == 0
    })
    .await;
}

#[tokio::test]
async fn blackholed_calls_end_by_their_deadline() {
    let backend = Backend::start(|config| {
        short_timeouts(config);
        // Six attempts of 200 ms each would run past the 400 ms deadline,
        // so the deadline, not the retry count, ends each call. The breaker
        // and the budget stay out of the way.
        config.max_retries = 5;
        config.backoff.base = Duration::from_millis(10);
        config.budget.min_per_second = 10_000;
        config.budget.burst = 10_000;
        trip_after(config, u32::MAX);
    })
    .await;
    let sessions = sessions("deadline", 8);
    append_all(&backend.store, &sessions).await;
    let deadline = deadline(&backend);

    blackhole(&backend);
    // The first round sends on the connection opened before the fault; the
    // second round dials through the blackhole.
    for round in 0..2 {
        let mut calls = JoinSet::new();
        for session in sessions.clone() {
            let store = backend.store.clone();
            calls.spawn(async move {
                let labels: Vec<&str> = session.labels.iter().map(String::as_str).collect();
                let started = Instant::now();
                let append = store.append(&session.id, &labels).await;
                let append_elapsed = started.elapsed();
                let error = failed_load(&store, &session, deadline).await;
                (session.id, append.is_ok(), append_elapsed, error)
            });
        }
        while let Some(joined) = calls.join_next().await {
            let (id, appended, append_elapsed, error) = joined.unwrap();
            assert!(
                !appended,
                "round {round}: append to {id} succeeded through a blackhole"
            );
            assert!(
                append_elapsed <= deadline + MARGIN,
                "round {round}: append to {id} took {append_elapsed:?}, deadline {deadline:?} plus {MARGIN:?}"
            );
            assert!(
                matches!(error, SessionStoreError::DeadlineExceeded { .. }),
                "round {round}: load of {id} failed with {error:?}, expected the deadline to end it"
            );
        }
    }
}

#[tokio::test]
async fn breaker_opens_probes_once_and_closes_after_the_fault() {
    let backend = Backend::start(|config| {
        short_timeouts(config);
        // Two calls of two attempts each reach the threshold.
        trip_after(config, 4);
    })
    .await;
    let session = sessions("breaker", 1).remove(0);
    append_all(&backend.store, std::slice::from_ref(&session)).await;
    let deadline = deadline(&backend);
    let breaker = backend.store.executor().breaker();
    backend.meter.take();

    blackhole(&backend);
    failed_load(&backend.store, &session, deadline).await;
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "after 2 of 4 failed attempts"
    );
    failed_load(&backend.store, &session, deadline).await;
    assert_eq!(
        breaker.state(),
        BreakerState::Open,
        "after 4 of 4 failed attempts"
    );
    assert_eq!(backend.meter.take().attempts, 4);

    let retry_after = rejections_send_nothing(&backend, &session).await;
    assert!(
        retry_after <= COOLDOWN,
        "the breaker asked for {retry_after:?}, more than its {COOLDOWN:?} cooldown"
    );
    tokio::time::sleep(retry_after).await;
    probe_once(&backend, &session).await;
    assert_eq!(
        breaker.state(),
        BreakerState::Open,
        "the probe failed in the blackhole"
    );

    backend.proxy.clear();
    let retry_after = rejections_send_nothing(&backend, &session).await;
    tokio::time::sleep(retry_after).await;
    let loaded = backend.store.load(&session.id).await;

    assert_eq!(loaded.unwrap(), session.labels);
    assert_eq!(breaker.state(), BreakerState::Closed, "the probe succeeded");
    assert_eq!(backend.meter.take().attempts, 1);
}

/// Checks that loads on the open breaker fail at once without a byte or a
/// connection reaching the proxy, and returns the breaker's retry-after.
async fn rejections_send_nothing(backend: &Backend, session: &Session) -> Duration {
    wait_for_closed_connections(backend).await;
    let before: Stats = backend.proxy.stats();
    let mut retry_after = None;
    for _ in 0..5 {
        match backend.store.load(&session.id).await {
            Err(SessionStoreError::CircuitOpen { retry_after: after }) => retry_after = after,
            other => panic!("load on an open breaker returned {other:?}"),
        }
    }

    assert_eq!(
        backend.proxy.stats(),
        before,
        "the open breaker let traffic through"
    );
    assert_eq!(
        backend.meter.take(),
        Attempts::default(),
        "the open breaker started attempts"
    );
    retry_after.expect("a rejection by an open breaker carries its retry-after")
}

/// Runs four loads at once on a breaker whose cooldown has passed, with the
/// blackhole still on, and checks that exactly one reaches the proxy.
async fn probe_once(backend: &Backend, session: &Session) {
    let before = backend.proxy.stats();
    let load = || backend.store.load(&session.id);
    let (first, second, third, fourth) = tokio::join!(load(), load(), load(), load());

    let results = [first, second, third, fourth];
    let rejected = results
        .iter()
        .filter(|result| matches!(result, Err(SessionStoreError::CircuitOpen { .. })))
        .count();
    assert!(
        results.iter().all(Result::is_err),
        "a load through the blackhole succeeded: {results:?}"
    );
    assert!(
        rejected >= 3,
        "the half-open breaker let more than one load try: {results:?}"
    );
    assert_eq!(
        backend.meter.take().attempts,
        1,
        "the half-open breaker admits one probe"
    );
    assert_eq!(
        backend.proxy.stats().accepted - before.accepted,
        1,
        "the probe dials one connection"
    );
}
