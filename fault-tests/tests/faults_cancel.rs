//! Loads cancelled by dropping their future: a cancelled request discards its
//! connection, and no cancellation point makes another load return the
//! labels of a different session.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fault_tests::{Direction, Fault};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use session_valkey::{SessionStore, ValkeySessionStore};
use support::valkey::{Backend, Session, append_all, fail_open, sessions};
use support::{guarded, wait_until};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Loads with a random cancellation point in the random test.
const CANCELLED_RUNS: usize = 500;

/// Loads that run beside the cancelled ones on the same store.
const BACKGROUND_LOADERS: usize = 4;

/// Seed of the cancellation points, fixed so that a failure repeats.
const SEED: u64 = 0x5EED_CA4C;

#[tokio::test]
async fn cancelled_load_discards_its_connection() {
    let backend = Backend::start(|_| {}).await;
    let session = sessions("cancelled", 1).remove(0);
    append_all(&backend.store, std::slice::from_ref(&session)).await;
    let generation = backend
        .store
        .connection_generation()
        .expect("the append left a connection");
    let before = backend.proxy.stats();

    // The reply is discarded, so the load is still waiting when it is
    // cancelled.
    backend.proxy.set(Direction::Downstream, Fault::Blackhole);
    let store = backend.store.clone();
    let id = session.id.clone();
    let load = tokio::spawn(async move { store.load(&id).await });
    wait_until("the server's reply to reach the blackhole", || {
        backend.proxy.stats().downstream.discarded > before.downstream.discarded
    })
    .await;
    load.abort();
    let aborted = guarded("the cancelled load", load).await;
    backend.proxy.clear();

    assert!(aborted.unwrap_err().is_cancelled());
    assert_eq!(
        backend.store.connection_generation(),
        None,
        "the connection of the cancelled request was kept"
    );
    assert_eq!(
        backend.store.load(&session.id).await.unwrap(),
        session.labels
    );
    assert_eq!(backend.store.connection_generation(), Some(generation + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_cancellations_never_cross_replies() {
    let backend = Backend::start(|_| {}).await;
    let sessions = sessions("crossed", 16);
    append_all(&backend.store, &sessions).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut background = spawn_background_loads(&backend.store, &sessions, &stop);
    // Measured beside the background loads, which slow every round trip.
    let round_trip = median_round_trip(&backend.store, &sessions[0]).await;
    let accepted = backend.proxy.stats().accepted;
    let (cancelled, mut violations) =
        cancel_at_random(&backend.store, &sessions, round_trip * 2).await;
    stop.store(true, Ordering::Release);
    while let Some(joined) = guarded("the background loads", background.join_next()).await {
        violations.extend(joined.unwrap());
    }

    assert!(violations.is_empty(), "{violations:#?}");
    assert!(
        cancelled > 0,
        "no load was cancelled with delays up to twice the round trip of {round_trip:?}"
    );
    assert!(
        backend.proxy.stats().accepted > accepted,
        "no cancellation hit a request in flight: the store never dialled again"
    );
    for session in &sessions {
        assert_eq!(
            backend.store.load(&session.id).await.unwrap(),
            session.labels
        );
    }
}

/// Starts loaders of random sessions that run until `stop` is set and
/// return every result that a fail-closed store must not return.
fn spawn_background_loads(
    store: &Arc<ValkeySessionStore>,
    sessions: &[Session],
    stop: &Arc<AtomicBool>,
) -> JoinSet<Vec<String>> {
    let mut background = JoinSet::new();
    for index in 0..BACKGROUND_LOADERS {
        let (store, stop) = (Arc::clone(store), Arc::clone(stop));
        let sessions = sessions.to_vec();
        background.spawn(async move {
            let mut rng = SmallRng::seed_from_u64(SEED + 1 + index as u64);
            let mut violations = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let session = &sessions[rng.random_range(0..sessions.len())];
                violations.extend(fail_open(session, &store.load(&session.id).await));
            }
            violations
        });
    }
    background
}

/// Runs `CANCELLED_RUNS` loads of random sessions, each dropped if it has not
/// finished after a random delay up to `max_delay`. Returns how many were
/// dropped and every result that a fail-closed store must not return.
async fn cancel_at_random(
    store: &ValkeySessionStore,
    sessions: &[Session],
    max_delay: Duration,
) -> (usize, Vec<String>) {
    let mut rng = SmallRng::seed_from_u64(SEED);
    let max_nanos = u64::try_from(max_delay.as_nanos()).unwrap_or(u64::MAX);
    let (mut cancelled, mut violations) = (0, Vec::new());
    for _ in 0..CANCELLED_RUNS {
        let session = &sessions[rng.random_range(0..sessions.len())];
        let deadline = Instant::now() + Duration::from_nanos(rng.random_range(0..=max_nanos));
        tokio::select! {
            biased;
            result = store.load(&session.id) => violations.extend(fail_open(session, &result)),
            () = yield_until(deadline) => cancelled += 1,
        }
    }
    (cancelled, violations)
}

/// Completes once `deadline` has passed. It yields to the runtime instead of
/// sleeping, because tokio's timer rounds up to whole milliseconds, several
/// round trips on loopback.
async fn yield_until(deadline: Instant) {
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}

/// Returns the median time of a few loads of `session`.
async fn median_round_trip(store: &ValkeySessionStore, session: &Session) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..21 {
        let started = Instant::now();
        store
            .load(&session.id)
            .await
            .expect("a load without faults");
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}
