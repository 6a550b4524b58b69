//! The Valkey session store against a real `valkey-server`: round trips,
//! expiry, fail-closed replies and the connection lifecycle.

mod store_common;

use std::sync::Arc;

use fault_tests::ServerBuilder;
use fault_tests::resp::Reply;
use session_valkey::{
    ALARM_EVICTION_POLICY, ALARM_FAILURE, ALARM_NO_APPENDONLY, AttemptError, Labels,
    ReplyErrorKind, SessionStore, SessionStoreError,
};
use store_common::{
    capture, command, command_calls, connections_received, key_of, labels, relax_timeouts,
    store_for, ttl,
};

#[tokio::test]
async fn appended_labels_load_back_from_the_hashed_key() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |_| {});

    store.append("session-1", &["PII"]).await.unwrap();
    store.append("session-1", &["SECRET", "PII"]).await.unwrap();

    assert_eq!(
        store.load("session-1").await.unwrap(),
        labels(&["PII", "SECRET"])
    );
    let Reply::Array(members) = command(&server, &["SMEMBERS", &key_of("session-1")]) else {
        panic!("the key holds a set");
    };
    assert_eq!(members.len(), 2);
}

#[tokio::test]
async fn missing_session_loads_empty() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |_| {});

    assert_eq!(store.load("never-seen").await.unwrap(), Labels::new());
    assert_eq!(
        command(&server, &["EXISTS", &key_of("never-seen")]),
        Reply::Integer(0)
    );
}

#[tokio::test]
async fn concurrent_appends_from_two_stores_form_a_union() {
    let server = ServerBuilder::valkey().start().unwrap();
    let first: Arc<dyn SessionStore> = Arc::new(store_for(&server, |_| {}));
    let second: Arc<dyn SessionStore> = Arc::new(store_for(&server, |_| {}));
    let names: Vec<String> = (0..40).map(|index| format!("L{index}")).collect();

    let mut tasks = tokio::task::JoinSet::new();
    for (index, name) in names.iter().cloned().enumerate() {
        let store = if index % 2 == 0 {
            Arc::clone(&first)
        } else {
            Arc::clone(&second)
        };
        tasks.spawn(async move { store.append("shared", &[name.as_str()]).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }

    let expected: Labels = names.into_iter().collect();
    assert_eq!(first.load("shared").await.unwrap(), expected);
    assert_eq!(second.load("shared").await.unwrap(), expected);
}

#[tokio::test]
async fn load_and_append_slide_the_expiry() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |config| config.ttl_seconds = Some(1000));
    let key = key_of("session-ttl");

    store.append("session-ttl", &["PII"]).await.unwrap();
    let after_append = ttl(&server, &key);
    assert!(
        (990..=1000).contains(&after_append),
        "TTL after append {after_append}"
    );

    command(&server, &["EXPIRE", &key, "50"]);
    store.load("session-ttl").await.unwrap();
    let after_load = ttl(&server, &key);
    assert!(
        (990..=1000).contains(&after_load),
        "TTL after load {after_load}"
    );

    command(&server, &["EXPIRE", &key, "50"]);
    store.append("session-ttl", &["PII"]).await.unwrap();
    let after_second_append = ttl(&server, &key);
    assert!(
        (990..=1000).contains(&after_second_append),
        "TTL after an append of a label already present {after_second_append}"
    );
}

#[tokio::test]
async fn without_ttl_labels_never_expire() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |config| config.ttl_seconds = None);

    store.append("session-keep", &["PII"]).await.unwrap();
    store.load("session-keep").await.unwrap();

    assert_eq!(ttl(&server, &key_of("session-keep")), -1);
    assert_eq!(command_calls(&server, "expire"), 0);
}

#[tokio::test]
async fn wrong_type_key_fails_closed_after_one_attempt() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |config| {
        config.max_retries = 2;
        relax_timeouts(config);
    });
    command(&server, &["SET", &key_of("session-string"), "not a set"]);
    let (captured, _guard) = capture();

    let load = store.load("session-string").await.unwrap_err();
    let append = store.append("session-string", &["PII"]).await.unwrap_err();

    for error in [&load, &append] {
        assert!(
            matches!(error, SessionStoreError::Permanent { attempts: 1, .. }),
            "{error:?}"
        );
    }
    assert_eq!(command_calls(&server, "smembers"), 1);
    assert_eq!(command_calls(&server, "multi"), 1);
    let alarms = captured.alarms(ALARM_FAILURE);
    assert_eq!(alarms.len(), 2, "{captured}");
    assert_eq!(alarms[0]["op"], "load");
    assert_eq!(alarms[1]["op"], "append");
    for alarm in &alarms {
        assert_eq!(alarm["reason"], "backend_permanent");
        assert!(alarm["error"].contains("WRONGTYPE"), "{alarm:?}");
    }
    assert_eq!(
        store.connection_generation(),
        Some(1),
        "an error reply leaves the connection in step, so it is kept"
    );
}

#[tokio::test]
async fn non_utf8_member_fails_closed() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, relax_timeouts);
    let key = key_of("session-binary");
    command(
        &server,
        &[b"SADD".as_slice(), key.as_bytes(), b"PII", b"\xff\xfe"],
    );

    let error = store.load("session-binary").await.unwrap_err();

    let SessionStoreError::CorruptReply { attempts, source } = &error else {
        panic!("expected a corrupt reply, got {error:?}");
    };
    assert_eq!(*attempts, 1);
    assert_eq!(source.kind(), ReplyErrorKind::NonUtf8Member);
    assert_eq!(error.reason(), "corrupt_reply");
}

#[tokio::test]
async fn load_from_a_replica_fails_closed() {
    // Without the default 5 s delay, the replica's first sync starts at once.
    let primary = ServerBuilder::valkey()
        .arg("--repl-diskless-sync-delay", "0")
        .start()
        .unwrap();
    let replica = ServerBuilder::valkey()
        .args(
            "--replicaof",
            ["127.0.0.1".to_owned(), primary.port().to_string()],
        )
        .start()
        .unwrap();
    command(&primary, &["SADD", &key_of("session-replica"), "PII"]);
    wait_for_key(&replica, &key_of("session-replica"));
    let store = store_for(&replica, |config| {
        config.max_retries = 0;
        relax_timeouts(config);
    });

    let error = store.load("session-replica").await.unwrap_err();

    let SessionStoreError::Transient {
        attempts: 1,
        last_error: Some(AttemptError::Backend(backend)),
    } = &error
    else {
        panic!("expected the replica's READONLY, got {error:?}");
    };
    assert_eq!(backend.redis_error().code(), Some("READONLY"));
    assert_eq!(store.connection_generation(), None);
}

/// Waits until `key` exists on `server`, for at most 10 seconds.
fn wait_for_key(server: &fault_tests::Server, key: &str) {
    let started = std::time::Instant::now();
    while command(server, &["EXISTS", key]) != Reply::Integer(1) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the replica did not receive {key} within 10 s:\n{}",
            server.log_tail(20)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test]
async fn reply_check_adds_one_echo_per_round_trip() {
    let server = ServerBuilder::valkey().start().unwrap();
    let checked = store_for(&server, |config| config.reply_check = true);
    checked.append("session-echo", &["PII"]).await.unwrap();
    checked.load("session-echo").await.unwrap();
    assert_eq!(command_calls(&server, "echo"), 2);

    // The default leaves the check off.
    let unchecked = store_for(&server, |_| {});
    unchecked.append("session-echo", &["SECRET"]).await.unwrap();
    assert_eq!(
        unchecked.load("session-echo").await.unwrap(),
        labels(&["PII", "SECRET"])
    );
    assert_eq!(command_calls(&server, "echo"), 2);
}

#[tokio::test]
async fn concurrent_first_requests_share_one_dial() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = Arc::new(store_for(&server, |_| {}));
    let before = connections_received(&server);

    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..32 {
        let store = Arc::clone(&store);
        tasks.spawn(async move { store.load(&format!("session-{index}")).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }

    // The second INFO is one more connection; the rest are the store's dials.
    assert_eq!(connections_received(&server) - before, 2);
    assert_eq!(store.connection_generation(), Some(1));
}

#[tokio::test]
async fn timed_out_attempt_discards_its_connection() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |config| {
        config.command_timeout_ms = 200;
        config.request_deadline_ms = 300;
        config.max_retries = 0;
    });
    store.append("session-pause", &["PII"]).await.unwrap();
    assert_eq!(store.connection_generation(), Some(1));

    server.pause().unwrap();
    let error = store.load("session-pause").await.unwrap_err();
    server.resume().unwrap();

    assert!(
        matches!(
            error,
            SessionStoreError::Transient {
                attempts: 1,
                last_error: None
            }
        ),
        "{error:?}"
    );
    assert_eq!(store.connection_generation(), None);
    assert_eq!(store.load("session-pause").await.unwrap(), labels(&["PII"]));
    assert_eq!(store.connection_generation(), Some(2));
}

#[tokio::test]
async fn restarted_server_is_reached_on_a_fresh_connection() {
    let mut server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |_| {});
    store.load("session-restart").await.unwrap();

    server.kill();
    let error = store.load("session-restart").await.unwrap_err();
    assert!(
        matches!(error, SessionStoreError::Transient { attempts: 2, .. }),
        "a reset and then a refused dial: {error:?}"
    );

    server.restart().unwrap();
    assert_eq!(store.load("session-restart").await.unwrap(), Labels::new());
    assert!(store.connection_generation() > Some(1));
}

#[tokio::test]
async fn breaker_opens_after_consecutive_failures_and_stops_dialing() {
    let mut server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |config| config.max_retries = 0);
    server.kill();

    for attempt in 1..=5 {
        let error = store.load("session-down").await.unwrap_err();
        assert_eq!(
            error.reason(),
            "backend_transient",
            "failure {attempt}: {error:?}"
        );
    }
    let error = store.load("session-down").await.unwrap_err();

    assert_eq!(error.reason(), "circuit_open", "{error:?}");
    assert_eq!(error.attempts(), 0);
    assert!(error.retry_after().is_some());
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn server_check_warns_about_missing_persistence() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |_| {});
    let (captured, _guard) = capture();

    let check = store.check_server().await.unwrap();

    assert_eq!(check.maxmemory_policy, "noeviction");
    assert!(!check.appendonly);
    assert_eq!(captured.alarms(ALARM_NO_APPENDONLY).len(), 1, "{captured}");
    assert!(
        captured.alarms(ALARM_EVICTION_POLICY).is_empty(),
        "{captured}"
    );
}

#[tokio::test]
async fn server_check_warns_about_eviction() {
    let server = ServerBuilder::valkey()
        .arg("--maxmemory-policy", "allkeys-lru")
        .arg("--appendonly", "yes")
        .start()
        .unwrap();
    let store = store_for(&server, |_| {});
    let (captured, _guard) = capture();

    let check = store.check_server().await.unwrap();

    assert_eq!(check.maxmemory_policy, "allkeys-lru");
    assert!(check.appendonly);
    let alarms = captured.alarms(ALARM_EVICTION_POLICY);
    assert_eq!(alarms.len(), 1, "{captured}");
    assert_eq!(alarms[0]["maxmemory_policy"], "allkeys-lru");
    assert!(
        captured.alarms(ALARM_NO_APPENDONLY).is_empty(),
        "{captured}"
    );
}
