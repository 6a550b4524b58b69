//! A `valkey-server` killed with SIGKILL and restarted on the same port:
//! loads fail closed during the outage and recover within one retry.
//!
//! The server writes an append-only file with `appendfsync always`, so every
//! acknowledged label survives the kill and a load after the restart must
//! return it.

mod support;

use fault_tests::ServerBuilder;
use session_valkey::SessionStore;
use support::outage::Loaders;
use support::valkey::{
    Backend, DEADLINE_MARGIN, append_all, load_until_ok, sessions, short_timeouts, trip_after,
};
use support::wait_until;
use tokio::task::block_in_place;

fn durable_server() -> ServerBuilder {
    ServerBuilder::valkey()
        .arg("--appendonly", "yes")
        .arg("--appendfsync", "always")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_recovers_within_one_retry() {
    let mut backend = Backend::start_with(durable_server(), |config| {
        // The breaker stays closed, so that it cannot hide a slow recovery.
        trip_after(config, u32::MAX);
    })
    .await;
    let session = sessions("restart", 1).remove(0);
    append_all(&backend.store, std::slice::from_ref(&session)).await;
    let port = backend.server.port();

    block_in_place(|| backend.server.kill());
    wait_until(
        "the proxy to close the store's connection to the killed server",
        || backend.proxy.stats().open == 0,
    )
    .await;
    block_in_place(|| backend.server.restart())
        .unwrap_or_else(|error| panic!("restart on port {port} failed: {error}"));
    backend.meter.take();
    let loaded = backend.store.load(&session.id).await;

    assert_eq!(backend.server.port(), port);
    assert_eq!(loaded.unwrap(), session.labels, "{}", backend.log());
    let attempts = backend.meter.take().attempts;
    assert!(
        attempts <= 2,
        "the first load after the restart took {attempts} attempts, expected at most one retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_during_restart_never_miss_labels() {
    let mut backend = Backend::start_with(durable_server(), short_timeouts).await;
    let sessions = sessions("outage", 4);
    append_all(&backend.store, &sessions).await;
    let bound = backend.request_deadline() + DEADLINE_MARGIN;
    let loaders = Loaders::start(&backend.store, &sessions, bound);
    wait_until("loads to succeed before the kill", || {
        loaders.successes() > 0
    })
    .await;

    block_in_place(|| backend.server.kill());
    let failures = loaders.failures();
    wait_until("loads to fail while the server is down", || {
        loaders.failures() > failures + 10
    })
    .await;
    block_in_place(|| backend.server.restart()).expect("the server restarts on its port");
    let successes = loaders.successes();
    wait_until("loads to succeed after the restart", || {
        loaders.successes() > successes + 10
    })
    .await;
    let violations = loaders.stop().await;

    assert!(violations.is_empty(), "{violations:#?}\n{}", backend.log());
    for session in &sessions {
        assert_eq!(
            load_until_ok(&backend.store, &session.id).await,
            session.labels
        );
    }
}
