//! Connection resets between the session store and a real `valkey-server`:
//! one reset costs exactly one retry on a freshly dialled connection.

mod support;

use fault_tests::{Direction, Fault};
use session_valkey::SessionStore;
use support::valkey::{Attempts, Backend, append_all, sessions};
use support::{guarded, wait_until};

#[tokio::test]
async fn reset_of_idle_connection_costs_one_retry() {
    let backend = Backend::start(|_| {}).await;
    let session = &sessions("idle-reset", 1)[0];
    append_all(&backend.store, std::slice::from_ref(session)).await;
    backend.meter.take();
    let before = backend.proxy.stats();

    backend.proxy.reset_all();
    wait_until("the proxy to reset the store's connection", || {
        backend.proxy.stats().open == 0
    })
    .await;
    let loaded = backend.store.load(&session.id).await;

    assert_eq!(loaded.unwrap(), session.labels);
    assert_eq!(
        backend.meter.take(),
        Attempts {
            attempts: 2,
            retries: 1
        },
        "the reset connection fails one attempt and the retry succeeds"
    );
    assert_eq!(
        backend.proxy.stats().accepted - before.accepted,
        1,
        "the retry dials exactly one new connection"
    );
}

#[tokio::test]
async fn reset_in_flight_costs_one_retry() {
    let backend = Backend::start(|_| {}).await;
    let session = sessions("in-flight-reset", 1).remove(0);
    append_all(&backend.store, std::slice::from_ref(&session)).await;
    backend.meter.take();
    let before = backend.proxy.stats();

    // The server replies, but the reply never reaches the store, so the
    // request is still waiting when the reset arrives.
    backend.proxy.set(Direction::Downstream, Fault::Blackhole);
    let store = backend.store.clone();
    let id = session.id.clone();
    let load = tokio::spawn(async move { store.load(&id).await });
    wait_until("the proxy to discard the server's reply", || {
        backend.proxy.stats().downstream.discarded > before.downstream.discarded
    })
    .await;
    backend.proxy.clear();
    backend.proxy.reset_all();
    let loaded = guarded("the load after the reset", load).await.unwrap();

    assert_eq!(loaded.unwrap(), session.labels);
    assert_eq!(
        backend.meter.take(),
        Attempts {
            attempts: 2,
            retries: 1
        },
        "the reset fails the attempt in flight and the retry succeeds"
    );
    assert_eq!(
        backend.proxy.stats().accepted - before.accepted,
        1,
        "the retry dials exactly one new connection"
    );
}
