//! A `valkey-server` stopped with SIGSTOP for a second, then continued with
//! SIGCONT: it keeps its sockets but replies to nothing, so every load times
//! out, fails closed by its deadline, and recovers within one retry.

mod support;

use std::time::Duration;

use session_valkey::SessionStore;
use support::outage::Loaders;
use support::valkey::{
    Backend, DEADLINE_MARGIN, append_all, load_until_ok, sessions, short_timeouts, trip_after,
};
use support::wait_until;
use tokio::time::Instant;

/// How long the server stays stopped.
const PAUSE: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_fails_loads_by_deadline() {
    let backend = Backend::start(short_timeouts).await;
    let sessions = sessions("paused", 4);
    append_all(&backend.store, &sessions).await;
    let bound = backend.request_deadline() + DEADLINE_MARGIN;
    let loaders = Loaders::start(&backend.store, &sessions, bound);
    wait_until("loads to succeed before the pause", || {
        loaders.successes() > 0
    })
    .await;

    backend.server.pause().expect("SIGSTOP reaches the server");
    tokio::time::sleep(PAUSE).await;
    let failures_during_pause = loaders.failures();
    backend.server.resume().expect("SIGCONT reaches the server");
    let successes = loaders.successes();
    wait_until("loads to succeed after the resume", || {
        loaders.successes() > successes + 10
    })
    .await;
    let violations = loaders.stop().await;

    assert!(
        failures_during_pause > 0,
        "no load failed while the server was stopped"
    );
    assert!(violations.is_empty(), "{violations:#?}\n{}", backend.log());
    for session in &sessions {
        assert_eq!(
            load_until_ok(&backend.store, &session.id).await,
            session.labels
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_recovers_within_one_retry() {
    let backend = Backend::start(|config| {
        short_timeouts(config);
        // The breaker stays closed, so that it cannot hide a slow recovery.
        trip_after(config, u32::MAX);
    })
    .await;
    let session = sessions("resumed", 1).remove(0);
    append_all(&backend.store, std::slice::from_ref(&session)).await;
    let deadline = backend.request_deadline();

    backend.server.pause().expect("SIGSTOP reaches the server");
    let paused_at = Instant::now();
    let during = backend.store.load(&session.id).await;
    let elapsed = paused_at.elapsed();
    tokio::time::sleep(PAUSE.saturating_sub(elapsed)).await;
    backend.server.resume().expect("SIGCONT reaches the server");
    backend.meter.take();
    let after = backend.store.load(&session.id).await;

    assert!(
        during.is_err(),
        "a load from a stopped server returned {during:?}"
    );
    assert!(
        elapsed <= deadline + DEADLINE_MARGIN,
        "a load from a stopped server took {elapsed:?}, deadline {deadline:?} plus {DEADLINE_MARGIN:?}"
    );
    assert_eq!(after.unwrap(), session.labels, "{}", backend.log());
    let attempts = backend.meter.take().attempts;
    assert!(
        attempts <= 2,
        "the first load after the resume took {attempts} attempts, expected at most one retry"
    );
}
