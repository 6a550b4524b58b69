//! Bad settings and bad input: rejected with a message that names the
//! problem, before any connection to the server.

mod store_common;

use std::error::Error as _;

use fault_tests::ServerBuilder;
use session_valkey::{
    MAX_LABEL_BYTES, MAX_LABELS_PER_APPEND, MAX_SESSION_ID_BYTES, SessionStore, SessionStoreError,
    StoreConfig,
};
use store_common::{connections_received, store_for};

/// Returns the message of the input rule that `error` reports.
fn input_message(error: &SessionStoreError) -> String {
    assert!(
        matches!(error, SessionStoreError::InvalidInput(_)),
        "expected invalid input, got {error:?}"
    );
    assert_eq!(error.reason(), "invalid_input");
    error
        .source()
        .expect("the broken rule is the source")
        .to_string()
}

#[tokio::test]
async fn invalid_input_is_rejected_without_dialing() {
    let server = ServerBuilder::valkey().start().unwrap();
    let store = store_for(&server, |_| {});
    let before = connections_received(&server);
    let long_id = "s".repeat(MAX_SESSION_ID_BYTES + 1);
    let long_label = "L".repeat(MAX_LABEL_BYTES + 1);
    let many = vec!["PII"; MAX_LABELS_PER_APPEND + 1];

    let cases = [
        (
            store.load("").await.unwrap_err(),
            "session id is empty".to_owned(),
        ),
        (
            store.load(&long_id).await.unwrap_err(),
            format!("session id is 513 bytes long, the maximum is {MAX_SESSION_ID_BYTES}"),
        ),
        (
            store.append("", &["PII"]).await.unwrap_err(),
            "session id is empty".to_owned(),
        ),
        (
            store.append("s1", &["PII", ""]).await.unwrap_err(),
            "label 1 is empty".to_owned(),
        ),
        (
            store
                .append("s1", &[long_label.as_str()])
                .await
                .unwrap_err(),
            format!("label 0 is 257 bytes long, the maximum is {MAX_LABEL_BYTES}"),
        ),
        (
            store.append("s1", &many).await.unwrap_err(),
            format!("append has 65 labels, the maximum is {MAX_LABELS_PER_APPEND}"),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(input_message(&error), expected);
    }

    store.append("s1", &[]).await.unwrap();
    assert_eq!(store.connection_generation(), None, "nothing was dialed");
    assert_eq!(
        connections_received(&server) - before,
        1,
        "only this query connected"
    );
}

#[test]
fn bad_settings_name_the_field() {
    let cases = [
        (
            "kind: valkey\nendpoint: redis://192.0.2.10:6379\n",
            "invalid tls: is required for an endpoint that is not loopback; use rediss:// and tls: true",
        ),
        (
            "kind: valkey\nendpoint: redis://127.0.0.1:6379\ntls: true\n",
            "invalid tls: is true but the endpoint uses redis://; use a rediss:// endpoint",
        ),
        (
            "kind: valkey\nendpoint: redis://127.0.0.1:6379\nusername: gateway\n",
            "invalid password: is required when username is set",
        ),
        (
            "kind: valkey\nendpoint: redis://gateway:pw-in-url@127.0.0.1:6379\npassword: pw-in-field\n",
            "invalid endpoint: contains credentials while username or password is also set; keep one of them",
        ),
        (
            "kind: valkey\nendpoint: redis://127.0.0.1:6379\nconnect_timeout_ms: 0\n",
            "invalid connect_timeout_ms: must be between 1 and 60000, got 0",
        ),
        (
            "kind: valkey\nendpoint: redis://127.0.0.1:6379\ncommand_timeout_ms: 0\n",
            "invalid command_timeout_ms: must be between 1 and 60000, got 0",
        ),
        (
            "kind: valkey\nendpoint: redis://127.0.0.1:6379\nmax_retries: 9\n",
            "invalid max_retries: must be between 0 and 5, got 9",
        ),
    ];
    for (yaml, expected) in cases {
        let config: StoreConfig = serde_yaml::from_str(yaml).expect(yaml);
        let error = config.build().expect_err(yaml);
        let message = error.to_string();
        assert_eq!(message, expected);
        assert!(!message.contains("pw-in"), "{message}");
    }
}
