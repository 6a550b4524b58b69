//! A blackholed `valkey-server`: calls end by their deadline, the breaker
//! opens after its threshold, sends nothing while open, admits one probe
//! after its cooldown and closes once the fault is lifted.
//!
//! These tests run on the real clock, because the proxy and the server do
//! real I/O. Elapsed time is measured with tokio's clock and checked against
//! the deadline plus `DEADLINE_MARGIN`.

mod support;

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use fault_tests::{Direction, Fault, Stats};
use resilience_core::BreakerState;
use session_valkey::{SessionStore, SessionStoreError, ValkeySessionStore};
use support::valkey::{
    Attempts, Backend, COOLDOWN, DEADLINE_MARGIN, Session, append_all, sessions, short_timeouts,
    trip_after,
};
use support::wait_until;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Blackholes both directions, on open connections too.
fn blackhole(backend: &Backend) {
    backend.proxy.set(Direction::Upstream, Fault::Blackhole);
    backend.proxy.set(Direction::Downstream, Fault::Blackhole);
}

/// Awaits `call`, checks that it failed by `deadline + DEADLINE_MARGIN` and returns
/// its error.
async fn failed_by<T: Debug>(
    what: &str,
    deadline: Duration,
    call: impl Future<Output = Result<T, SessionStoreError>>,
) -> SessionStoreError {
    let started = Instant::now();
    let result = call.await;
    let elapsed = started.elapsed();
    assert!(
        elapsed <= deadline + DEADLINE_MARGIN,
        "{what} took {elapsed:?}, deadline {deadline:?} plus {DEADLINE_MARGIN:?}"
    );
    match result {
        Ok(value) => panic!("{what} returned {value:?} through a blackhole"),
        Err(error) => error,
    }
}

/// Loads `session` and checks that the load failed by `deadline + DEADLINE_MARGIN`.
async fn failed_load(
    store: &ValkeySessionStore,
    session: &Session,
    deadline: Duration,
) -> SessionStoreError {
    let what = format!("load of {}", session.id);
    failed_by(&what, deadline, store.load(&session.id)).await
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
async fn blackholed_calls_end_by_deadline() {
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
    let deadline = backend.request_deadline();

    blackhole(&backend);
    // The first round sends on the connection opened before the fault; the
    // second round dials through the blackhole.
    for round in ["open connection", "new connections"] {
        let mut calls = JoinSet::new();
        for session in sessions.clone() {
            let store = backend.store.clone();
            calls.spawn(async move {
                let labels: Vec<&str> = session.labels.iter().map(String::as_str).collect();
                let what = format!("append to {}", session.id);
                let append = failed_by(&what, deadline, store.append(&session.id, &labels)).await;
                let load = failed_load(&store, &session, deadline).await;
                (session.id, [append, load])
            });
        }
        while let Some(joined) = calls.join_next().await {
            let (id, errors) = joined.unwrap();
            for error in errors {
                assert!(
                    matches!(error, SessionStoreError::DeadlineExceeded { .. }),
                    "{round}: a call for {id} failed with {error:?}, expected the deadline to end it"
                );
            }
        }
    }
}

#[tokio::test]
async fn breaker_opens_probes_and_closes() {
    let backend = Backend::start(|config| {
        short_timeouts(config);
        // Room for both attempts of each call on a slow machine: two calls
        // of two attempts each reach the threshold.
        config.request_deadline_ms = 600;
        trip_after(config, 4);
    })
    .await;
    let session = sessions("breaker", 1).remove(0);
    append_all(&backend.store, std::slice::from_ref(&session)).await;
    let breaker = backend.store.executor().breaker();
    backend.meter.take();

    blackhole(&backend);
    trip_breaker(&backend, &session).await;
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

/// Fails two loads of two attempts each and checks that the fourth failed
/// attempt, not an earlier one, opens the breaker.
async fn trip_breaker(backend: &Backend, session: &Session) {
    let deadline = backend.request_deadline();
    let breaker = backend.store.executor().breaker();

    failed_load(&backend.store, session, deadline).await;
    assert_eq!(
        breaker.state(),
        BreakerState::Closed,
        "after 2 of 4 failed attempts"
    );
    failed_load(&backend.store, session, deadline).await;
    assert_eq!(
        breaker.state(),
        BreakerState::Open,
        "after 4 of 4 failed attempts"
    );
    assert_eq!(backend.meter.take().attempts, 4);
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
