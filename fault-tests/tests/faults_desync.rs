//! A reply lost on a connection that stays open. A client that kept the
//! connection would hand each later request the reply of the one before.
//! The store must fail the request that lost its reply and return its own
//! labels to every later request.

mod support;

use fault_tests::Direction;
use session_valkey::{Labels, SessionStore, SessionStoreError, ValkeyConfig};
use support::valkey::{Attempts, Backend, Session, append_all, sessions};
use support::{guarded, wait_until};
use tokio::task::JoinSet;

/// Loads issued right after the lost reply, one per session.
const FOLLOWING_LOADS: usize = 64;

/// Sets a 300 ms attempt timeout, so that the request whose reply was lost
/// ends quickly.
fn quick_attempts(config: &mut ValkeyConfig) {
    config.command_timeout_ms = 300;
}

/// Loads every session at once and checks that each load returns its own
/// labels.
async fn check_concurrent_loads(backend: &Backend, sessions: &[Session]) {
    let mut loads = JoinSet::new();
    for session in sessions.iter().cloned() {
        let store = backend.store.clone();
        loads.spawn(async move {
            let result = store.load(&session.id).await;
            (session, result)
        });
    }
    while let Some(joined) = guarded("the loads after the lost reply", loads.join_next()).await {
        let (session, result) = joined.unwrap();
        match result {
            Ok(labels) => assert_eq!(
                labels, session.labels,
                "load of {} returned another session's labels",
                session.id
            ),
            Err(error) => panic!(
                "load of {} failed after the lost reply: {error}",
                session.id
            ),
        }
    }
}

/// Drops the server's next reply, loads the first session, and returns that
/// load's result once the proxy confirmed the drop.
async fn load_with_lost_reply(
    backend: &Backend,
    session: &Session,
) -> Result<Labels, SessionStoreError> {
    let before = backend.proxy.stats();
    backend.proxy.drop_next(Direction::Downstream);
    let result = backend.store.load(&session.id).await;
    wait_until("the proxy to drop one reply", || {
        backend.proxy.stats().downstream.discarded > before.downstream.discarded
    })
    .await;
    result
}

#[tokio::test]
async fn lost_reply_fails_closed_without_desync() {
    for reply_check in [true, false] {
        let backend = Backend::start(|config| {
            quick_attempts(config);
            config.max_retries = 0;
            config.reply_check = reply_check;
        })
        .await;
        let sessions = sessions("desync", FOLLOWING_LOADS);
        append_all(&backend.store, &sessions).await;
        let generation = backend.store.connection_generation();

        let lost = load_with_lost_reply(&backend, &sessions[0]).await;

        assert!(
            lost.is_err(),
            "reply_check {reply_check}: the load whose reply was lost returned {lost:?}"
        );
        assert_eq!(
            backend.store.connection_generation(),
            None,
            "reply_check {reply_check}: the connection that lost a reply was kept"
        );
        check_concurrent_loads(&backend, &sessions).await;
        assert_ne!(backend.store.connection_generation(), generation);
    }
}

#[tokio::test]
async fn lost_reply_retried_on_fresh_connection() {
    let backend = Backend::start(quick_attempts).await;
    let sessions = sessions("desync-retry", FOLLOWING_LOADS);
    append_all(&backend.store, &sessions).await;
    backend.meter.take();
    let accepted = backend.proxy.stats().accepted;

    let lost = load_with_lost_reply(&backend, &sessions[0]).await;

    assert_eq!(lost.unwrap(), sessions[0].labels);
    assert_eq!(
        backend.meter.take(),
        Attempts {
            attempts: 2,
            retries: 1
        },
        "the attempt that lost its reply times out and the retry succeeds"
    );
    assert_eq!(
        backend.proxy.stats().accepted - accepted,
        1,
        "the retry dials once"
    );
    check_concurrent_loads(&backend, &sessions).await;
}
