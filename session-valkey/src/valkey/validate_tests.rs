use std::io::Write as _;

use super::validate;
use crate::alarm::ALARM_TTL_SHORTER_THAN_SESSION;
use crate::test_support::capture;
use crate::valkey::config::{StoreConfig, ValkeyConfig};

fn local() -> ValkeyConfig {
    ValkeyConfig::new("redis://127.0.0.1:6379")
}

/// Returns the rendered error of an invalid configuration.
fn rejection(config: &ValkeyConfig) -> String {
    match validate(config) {
        Ok(_) => panic!("expected {config:?} to be rejected"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn defaults_for_a_loopback_endpoint_are_valid() {
    for endpoint in [
        "redis://127.0.0.1:6379",
        "redis://localhost:6379/2",
        "redis://[::1]:6379",
        "redis://127.0.0.2:6379",
    ] {
        let config = ValkeyConfig::new(endpoint);
        assert!(validate(&config).is_ok(), "{endpoint}");
    }
}

#[test]
fn defaults_match_the_documented_values() {
    let config = ValkeyConfig::default();
    assert_eq!(config.connect_timeout_ms, 250);
    assert_eq!(config.command_timeout_ms, 500);
    assert_eq!(config.max_retries, 1);
    assert_eq!(config.key_prefix, "taint:v1");
    assert!(!config.reply_check, "the reply check is off by default");
    assert_eq!(
        config.breaker.trip,
        resilience_core::TripPolicy::ConsecutiveFailures {
            threshold: std::num::NonZeroU32::new(5).unwrap()
        }
    );
}

#[test]
fn endpoint_rules_name_the_field() {
    let cases = [
        (
            "",
            "invalid endpoint: is missing; set it to a URL such as redis://127.0.0.1:6379",
        ),
        (
            "not a url",
            "invalid endpoint: must be a URL such as redis://127.0.0.1:6379 or rediss://valkey.example:6380",
        ),
        (
            "http://127.0.0.1:6379",
            "invalid endpoint: scheme must be redis or rediss, got http",
        ),
        (
            "redis://127.0.0.1:6379/#insecure",
            "invalid endpoint: must not have a query or a fragment such as #insecure",
        ),
        (
            "redis://10.0.0.5:6379",
            "invalid tls: is required for an endpoint that is not loopback; use rediss:// and tls: true",
        ),
        (
            "redis://valkey.example:6379",
            "invalid tls: is required for an endpoint that is not loopback; use rediss:// and tls: true",
        ),
        (
            "rediss://127.0.0.1:6380",
            "invalid tls: is false but the endpoint uses rediss://; set tls: true",
        ),
    ];
    for (endpoint, expected) in cases {
        assert_eq!(
            rejection(&ValkeyConfig::new(endpoint)),
            expected,
            "{endpoint}"
        );
    }
}

#[test]
fn tls_flag_with_plain_scheme_is_rejected() {
    let config = ValkeyConfig {
        tls: true,
        ..ValkeyConfig::new("redis://valkey.example:6379")
    };
    assert_eq!(
        rejection(&config),
        "invalid tls: is true but the endpoint uses redis://; use a rediss:// endpoint"
    );
}

#[test]
fn remote_tls_endpoint_is_accepted() {
    let config = ValkeyConfig {
        tls: true,
        ..ValkeyConfig::new("rediss://valkey.example:6380")
    };
    assert!(validate(&config).is_ok());
}

#[test]
fn credential_rules_reject_ambiguous_settings() {
    let config = ValkeyConfig {
        username: Some("gateway".to_owned()),
        ..local()
    };
    assert_eq!(
        rejection(&config),
        "invalid password: is required when username is set"
    );

    let config = ValkeyConfig {
        password: Some("field-secret".to_owned()),
        ..ValkeyConfig::new("redis://gateway:url-secret@127.0.0.1:6379")
    };
    let message = rejection(&config);
    assert_eq!(
        message,
        "invalid endpoint: contains credentials while username or password is also set; keep one of them"
    );
    assert!(!message.contains("secret"));

    let config = ValkeyConfig {
        password: Some("only-a-password".to_owned()),
        ..local()
    };
    assert!(
        validate(&config).is_ok(),
        "a password alone authenticates the default user"
    );
}

#[test]
fn numeric_ranges_name_field_and_bounds() {
    let cases = [
        (
            ValkeyConfig {
                connect_timeout_ms: 0,
                ..local()
            },
            "invalid connect_timeout_ms: must be between 1 and 60000, got 0",
        ),
        (
            ValkeyConfig {
                command_timeout_ms: 0,
                ..local()
            },
            "invalid command_timeout_ms: must be between 1 and 60000, got 0",
        ),
        (
            ValkeyConfig {
                command_timeout_ms: 2000,
                ..local()
            },
            "invalid command_timeout_ms: must be at most request_deadline_ms (1000), got 2000",
        ),
        (
            ValkeyConfig {
                request_deadline_ms: 0,
                ..local()
            },
            "invalid request_deadline_ms: must be between 10 and 3600000, got 0",
        ),
        (
            ValkeyConfig {
                max_retries: 6,
                ..local()
            },
            "invalid max_retries: must be between 0 and 5, got 6",
        ),
        (
            ValkeyConfig {
                ttl_seconds: Some(0),
                ..local()
            },
            "invalid ttl_seconds: must be between 1 and 31536000, got 0",
        ),
        (
            ValkeyConfig {
                max_session_lifetime_seconds: Some(0),
                ..local()
            },
            "invalid max_session_lifetime_seconds: must be between 1 and 31536000, got 0",
        ),
        (
            ValkeyConfig {
                key_prefix: String::new(),
                ..local()
            },
            "invalid key_prefix: must be 1 to 64 bytes without whitespace or control characters",
        ),
        (
            ValkeyConfig {
                key_prefix: "taint v1".to_owned(),
                ..local()
            },
            "invalid key_prefix: must be 1 to 64 bytes without whitespace or control characters",
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(rejection(&config), expected);
    }
}

#[test]
fn nested_executor_settings_are_validated() {
    let mut config = local();
    config.backoff.base = std::time::Duration::ZERO;
    let message = rejection(&config);
    assert!(message.contains("base"), "{message}");
}

#[test]
fn ca_certificate_rules() {
    let config = ValkeyConfig {
        tls_ca_cert: Some("/nonexistent/ca.pem".into()),
        ..local()
    };
    assert_eq!(
        rejection(&config),
        "invalid tls_ca_cert: is set but tls is false"
    );

    let config = ValkeyConfig {
        tls: true,
        tls_ca_cert: Some("/nonexistent/ca.pem".into()),
        ..ValkeyConfig::new("rediss://127.0.0.1:6380")
    };
    let message = rejection(&config);
    assert!(
        message.starts_with("invalid tls_ca_cert: cannot be read from /nonexistent/ca.pem: "),
        "{message}"
    );

    let mut garbage = tempfile::NamedTempFile::new().unwrap();
    garbage
        .write_all(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
        .unwrap();
    let config = ValkeyConfig {
        tls: true,
        tls_ca_cert: Some(garbage.path().to_owned()),
        ..ValkeyConfig::new("rediss://127.0.0.1:6380")
    };
    assert_eq!(
        rejection(&config),
        "invalid tls_ca_cert: does not contain a usable PEM certificate"
    );
}

#[test]
fn debug_output_redacts_credentials() {
    let config = ValkeyConfig {
        username: Some("gateway-user".to_owned()),
        password: Some("hunter2-field".to_owned()),
        ..local()
    };
    let rendered = format!("{config:?}");
    assert!(!rendered.contains("hunter2"), "{rendered}");
    assert!(!rendered.contains("gateway-user"), "{rendered}");
    assert!(
        rendered.contains("password: Some(\"<redacted>\")"),
        "{rendered}"
    );

    let config = ValkeyConfig::new("redis://admin:hunter2-url@127.0.0.1:6379/0");
    let rendered = format!("{config:?}");
    assert!(!rendered.contains("hunter2"), "{rendered}");
    assert!(!rendered.contains("admin"), "{rendered}");
    assert!(rendered.contains("redis://127.0.0.1:6379/0"), "{rendered}");
}

#[test]
fn store_debug_output_redacts_credentials() {
    let config = ValkeyConfig::new("redis://admin:hunter2-url@127.0.0.1:6379");
    let store = crate::ValkeySessionStore::new(config).unwrap();
    let rendered = format!("{store:?}");
    assert!(!rendered.contains("hunter2"), "{rendered}");
    assert!(rendered.contains("redis://127.0.0.1:6379"), "{rendered}");
}

#[test]
fn yaml_block_selects_the_store_kind() {
    let yaml = "
kind: valkey
endpoint: rediss://valkey.internal:6380
tls: true
username: gateway
password: s3cret
key_prefix: taint:v2
ttl_seconds: 3600
max_session_lifetime_seconds: 1800
connect_timeout_ms: 100
command_timeout_ms: 200
request_deadline_ms: 600
max_retries: 2
reply_check: true
backoff:
  base: 10ms
  cap: 100ms
breaker:
  cooldown: 2s
";
    let StoreConfig::Valkey(config) = serde_yaml::from_str::<StoreConfig>(yaml).unwrap() else {
        panic!("kind: valkey selects the Valkey store");
    };
    assert_eq!(config.endpoint, "rediss://valkey.internal:6380");
    assert_eq!(config.ttl_seconds, Some(3600));
    assert_eq!(config.max_retries, 2);
    assert!(config.reply_check);
    assert_eq!(config.backoff.cap, std::time::Duration::from_millis(100));
    assert_eq!(config.breaker.cooldown, std::time::Duration::from_secs(2));
    assert!(validate(&config).is_ok());

    let memory: StoreConfig = serde_yaml::from_str("kind: memory").unwrap();
    assert_eq!(memory, StoreConfig::Memory);
}

#[test]
fn yaml_null_ttl_disables_expiry() {
    let config: ValkeyConfig =
        serde_yaml::from_str("endpoint: redis://127.0.0.1:6379\nttl_seconds: null\n").unwrap();
    assert_eq!(config.ttl_seconds, None);
}

#[test]
fn yaml_unknown_field_is_rejected() {
    let error = serde_yaml::from_str::<StoreConfig>(
        "kind: valkey\nendpoint: redis://127.0.0.1:6379\nconnect_timeout: 5\n",
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown field `connect_timeout`"),
        "{error}"
    );
}

#[test]
fn ttl_shorter_than_session_lifetime_warns() {
    let (captured, _guard) = capture();
    let config = ValkeyConfig {
        ttl_seconds: Some(600),
        max_session_lifetime_seconds: Some(3600),
        ..local()
    };
    assert!(validate(&config).is_ok(), "a short TTL is allowed");
    let alarms = captured.alarms(ALARM_TTL_SHORTER_THAN_SESSION);
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0]["level"], "WARN");
    assert_eq!(alarms[0]["ttl_seconds"], "600");
    assert_eq!(alarms[0]["max_session_lifetime_seconds"], "3600");

    let config = ValkeyConfig {
        ttl_seconds: Some(3600),
        max_session_lifetime_seconds: Some(3600),
        ..local()
    };
    assert!(validate(&config).is_ok());
    assert_eq!(captured.alarms(ALARM_TTL_SHORTER_THAN_SESSION).len(), 1);
}

#[tokio::test]
async fn store_config_builds_the_selected_store() {
    let memory: StoreConfig = serde_yaml::from_str("kind: memory").unwrap();
    let store = memory.build().unwrap();
    store.append("s1", &["PII"]).await.unwrap();
    assert_eq!(store.load("s1").await.unwrap().len(), 1);

    let invalid: StoreConfig =
        serde_yaml::from_str("kind: valkey\nendpoint: redis://10.1.2.3:6379\n").unwrap();
    let error = invalid.build().unwrap_err();
    assert_eq!(error.field(), "tls");
}

#[test]
fn user_name_in_url_requires_a_password() {
    let expected = "invalid endpoint: names a user without a password; \
        use redis://USER:PASSWORD@HOST or the username and password fields";
    for endpoint in [
        "redis://gateway@127.0.0.1:6379",
        "redis://gateway:@127.0.0.1:6379",
    ] {
        assert_eq!(
            rejection(&ValkeyConfig::new(endpoint)),
            expected,
            "{endpoint}"
        );
    }
    let config = ValkeyConfig::new("redis://gateway:p%40ss@127.0.0.1:6379");
    assert!(validate(&config).is_ok());
}

#[test]
fn port_zero_is_rejected() {
    assert_eq!(
        rejection(&ValkeyConfig::new("redis://127.0.0.1:0")),
        "invalid endpoint: port must be between 1 and 65535, got 0"
    );
    // The URL parser itself rejects ports above 65535.
    assert!(
        rejection(&ValkeyConfig::new("redis://127.0.0.1:70000")).starts_with("invalid endpoint:")
    );
}

#[test]
fn ca_file_without_a_certificate_is_rejected() {
    let key_only = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    for contents in [b"".as_slice(), b"not pem at all\n", key_only] {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(contents).unwrap();
        let config = ValkeyConfig {
            tls: true,
            tls_ca_cert: Some(file.path().to_owned()),
            ..ValkeyConfig::new("rediss://127.0.0.1:6380")
        };
        let message = rejection(&config);
        assert!(
            message.starts_with(
                "invalid tls_ca_cert: contains no PEM certificate (-----BEGIN CERTIFICATE-----): "
            ),
            "{message}"
        );
    }
}
