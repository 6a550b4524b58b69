//! The Valkey session store behind the fault proxy: a lost reply, a reset
//! and a cancelled request each replace the connection.

mod store_common;

use std::time::Duration;

use fault_tests::{Direction, Fault, Proxy, ServerBuilder};
use session_valkey::{SessionStore, ValkeyConfig, ValkeySessionStore};
use store_common::labels;

fn store_through(proxy: &Proxy) -> ValkeySessionStore {
    let config = ValkeyConfig {
        command_timeout_ms: 200,
        request_deadline_ms: 1000,
        max_retries: 1,
        ..ValkeyConfig::new(format!("redis://{}", proxy.addr()))
    };
    ValkeySessionStore::new(config).unwrap()
}

#[tokio::test]
async fn lost_reply_is_retried_on_a_fresh_connection() {
    let server = ServerBuilder::valkey().start().unwrap();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let store = store_through(&proxy);
    store.append("session-lost", &["PII"]).await.unwrap();
    assert_eq!(store.connection_generation(), Some(1));

    proxy.drop_next(Direction::Downstream);
    let loaded = store.load("session-lost").await.unwrap();

    assert_eq!(loaded, labels(&["PII"]));
    assert_eq!(store.connection_generation(), Some(2));
    assert_eq!(proxy.stats().accepted, 2);
}

#[tokio::test]
async fn reset_connection_is_replaced() {
    let server = ServerBuilder::valkey().start().unwrap();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let store = store_through(&proxy);
    store.append("session-reset", &["PII"]).await.unwrap();

    proxy.reset_all();
    let loaded = store.load("session-reset").await.unwrap();

    assert_eq!(loaded, labels(&["PII"]));
    assert_eq!(store.connection_generation(), Some(2));
    assert_eq!(proxy.stats().accepted, 2);
}

#[tokio::test]
async fn cancelled_load_discards_its_connection() {
    let server = ServerBuilder::valkey().start().unwrap();
    let proxy = Proxy::start(server.addr()).await.unwrap();
    let store = store_through(&proxy);
    store.load("session-cancel").await.unwrap();

    proxy.set(Direction::Downstream, Fault::Blackhole);
    let cancelled =
        tokio::time::timeout(Duration::from_millis(50), store.load("session-cancel")).await;
    proxy.clear();

    assert!(cancelled.is_err(), "the reply was held back: {cancelled:?}");
    assert_eq!(store.connection_generation(), None);
    assert!(store.load("session-cancel").await.unwrap().is_empty());
    assert_eq!(store.connection_generation(), Some(2));
}
