//! The Valkey session store under server-side limits: ACL users, wrong
//! credentials and exhausted memory.

mod store_common;

use fault_tests::ServerBuilder;
use resilience_core::BreakerState;
use session_valkey::{ALARM_FAILURE, ALARM_TTL_REFRESH_FAILED, SessionStore, SessionStoreError};
use store_common::{
    capture, command, command_calls, key_of, labels, relax_timeouts, store_for, ttl,
};

/// The ACL rules the store needs, and nothing more.
const MINIMAL_ACL: [&str; 8] = [
    "~taint:v1:*",
    "-@all",
    "+smembers",
    "+sadd",
    "+expire",
    "+multi",
    "+exec",
    "+echo",
];

fn user_args(name: &str, password: &str, rules: &[&str]) -> Vec<String> {
    let mut args = vec![name.to_owned(), "on".to_owned(), format!(">{password}")];
    args.extend(rules.iter().map(|rule| (*rule).to_owned()));
    args
}

fn backend_code(error: &SessionStoreError) -> String {
    let SessionStoreError::Permanent { source, .. } = error else {
        panic!("expected a permanent backend error, got {error:?}");
    };
    source.redis_error().code().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn minimal_acl_user_can_load_and_append() {
    let server = ServerBuilder::valkey()
        .args("--user", user_args("gateway", "gateway-pw", &MINIMAL_ACL))
        .start()
        .unwrap();
    let store = store_for(&server, |config| {
        config.username = Some("gateway".to_owned());
        config.password = Some("gateway-pw".to_owned());
    });

    store.append("session-acl", &["PII"]).await.unwrap();

    assert_eq!(store.load("session-acl").await.unwrap(), labels(&["PII"]));
}

#[tokio::test]
async fn user_without_expire_alarms_and_rejects_append() {
    let rules: Vec<&str> = MINIMAL_ACL
        .into_iter()
        .filter(|rule| *rule != "+expire")
        .collect();
    let server = ServerBuilder::valkey()
        .args("--user", user_args("limited", "limited-pw", &rules))
        .start()
        .unwrap();
    let store = store_for(&server, |config| {
        config.username = Some("limited".to_owned());
        config.password = Some("limited-pw".to_owned());
        config.max_retries = 2;
        relax_timeouts(config);
    });
    command(&server, &["SADD", &key_of("session-limited"), "PII"]);
    let (captured, _guard) = capture();

    let loaded = store.load("session-limited").await.unwrap();
    let append = store
        .append("session-limited", &["SECRET"])
        .await
        .unwrap_err();

    assert_eq!(loaded, labels(&["PII"]));
    let refresh = captured.alarms(ALARM_TTL_REFRESH_FAILED);
    assert_eq!(refresh.len(), 1, "{captured}");
    assert_eq!(refresh[0]["op"], "load");
    assert_eq!(refresh[0]["code"], "NOPERM");

    assert!(
        matches!(append, SessionStoreError::Permanent { attempts: 1, .. }),
        "{append:?}"
    );
    assert_eq!(backend_code(&append), "NOPERM");
    assert_eq!(command_calls(&server, "multi"), 1, "no retry after NOPERM");
    assert_eq!(
        command_calls(&server, "sadd"),
        1,
        "only the test's own SADD ran"
    );
    let failures = captured.alarms(ALARM_FAILURE);
    assert_eq!(failures.len(), 1, "{captured}");
    assert_eq!(failures[0]["op"], "append");
    assert_eq!(failures[0]["reason"], "backend_permanent");
}

#[tokio::test]
async fn user_without_echo_fails_with_noperm_not_a_mismatch() {
    let rules: Vec<&str> = MINIMAL_ACL
        .into_iter()
        .filter(|rule| *rule != "+echo")
        .collect();
    let server = ServerBuilder::valkey()
        .args("--user", user_args("no-echo", "no-echo-pw", &rules))
        .start()
        .unwrap();
    let store = store_for(&server, |config| {
        config.username = Some("no-echo".to_owned());
        config.password = Some("no-echo-pw".to_owned());
        config.max_retries = 2;
        config.reply_check = true;
        relax_timeouts(config);
    });

    let load = store.load("session-no-echo").await.unwrap_err();
    let append = store.append("session-no-echo", &["PII"]).await.unwrap_err();

    for error in [&load, &append] {
        assert!(
            matches!(error, SessionStoreError::Permanent { attempts: 1, .. }),
            "{error:?}"
        );
        assert_eq!(backend_code(error), "NOPERM");
    }
    assert_eq!(
        store.connection_generation(),
        Some(1),
        "the server answered every command in order, so the connection is kept"
    );
    assert_eq!(store.executor().breaker().state(), BreakerState::Closed);
}

#[tokio::test]
async fn wrong_password_is_permanent_and_not_logged() {
    let server = ServerBuilder::valkey()
        .args("--user", user_args("gateway", "right-pw", &MINIMAL_ACL))
        .start()
        .unwrap();
    let store = store_for(&server, |config| {
        config.username = Some("gateway".to_owned());
        config.password = Some("wrong-pw-secret".to_owned());
        config.max_retries = 2;
        relax_timeouts(config);
    });
    let (captured, _guard) = capture();

    let error = store.load("session-auth").await.unwrap_err();

    let SessionStoreError::Permanent { attempts, source } = &error else {
        panic!("expected a permanent error, got {error:?}");
    };
    assert_eq!(*attempts, 1);
    assert!(source.is_connect());
    let logged = captured.to_string();
    assert!(!logged.contains("wrong-pw-secret"), "{logged}");
    assert!(!format!("{error:?}").contains("wrong-pw-secret"));
}

#[tokio::test]
async fn exhausted_memory_fails_appends_but_not_loads() {
    let server = ServerBuilder::valkey()
        .arg("--maxmemory-policy", "noeviction")
        .start()
        .unwrap();
    let store = store_for(&server, |config| {
        config.max_retries = 2;
        relax_timeouts(config);
    });
    store.append("session-full", &["PII"]).await.unwrap();
    command(&server, &["CONFIG", "SET", "maxmemory", "1"]);

    let append = store.append("session-full", &["SECRET"]).await.unwrap_err();
    let loaded = store.load("session-full").await.unwrap();

    assert!(
        matches!(append, SessionStoreError::Permanent { attempts: 1, .. }),
        "{append:?}"
    );
    assert_eq!(backend_code(&append), "OOM");
    assert_eq!(loaded, labels(&["PII"]));
    assert!(
        ttl(&server, &key_of("session-full")) > 0,
        "the load still refreshed the TTL"
    );
}
