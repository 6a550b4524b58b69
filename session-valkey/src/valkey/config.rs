//! Settings of the Valkey store, as read from YAML or JSON.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use resilience_core::breaker::{BreakerConfig, TripPolicy};
use resilience_core::executor::{
    DEFAULT_MIN_ATTEMPT_TIME, DEFAULT_REQUEST_DEADLINE, ExecutorConfig,
};
use resilience_core::{BackoffConfig, BudgetConfig, ConfigError};
use serde::{Deserialize, Serialize};

use crate::memory::MemorySessionStore;
use crate::store::SessionStore;
use crate::valkey::store::ValkeySessionStore;

/// Default time allowed to dial, including the TLS handshake and `AUTH`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(250);
/// Default upper bound of one attempt (one round trip, and a dial if needed).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Default number of retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 1;
/// Default number of consecutive transient failures that opens the breaker.
pub const DEFAULT_BREAKER_FAILURE_THRESHOLD: NonZeroU32 = NonZeroU32::new(5).unwrap();
/// Default key prefix; the key is `<prefix>:<hex SHA-256 of the session id>`.
pub const DEFAULT_KEY_PREFIX: &str = "taint:v1";
/// Default sliding expiry of a session's labels: one day.
pub const DEFAULT_TTL_SECONDS: u64 = 24 * 60 * 60;
/// Largest accepted `ttl_seconds` and `max_session_lifetime_seconds`: 365 days.
pub const MAX_TTL_SECONDS: u64 = 365 * 24 * 60 * 60;
/// Largest accepted `connect_timeout_ms` and `command_timeout_ms`.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Smallest accepted `request_deadline_ms`: room for one attempt after the
/// executor's minimum attempt time.
pub const MIN_REQUEST_DEADLINE_MS: u64 = 10;
/// Largest accepted `request_deadline_ms`: one hour.
pub const MAX_REQUEST_DEADLINE_MS: u64 = 3_600_000;
/// Largest accepted `max_retries`.
pub const MAX_RETRIES: u32 = 5;
/// Largest accepted `key_prefix` length, in bytes.
pub const MAX_KEY_PREFIX_BYTES: usize = 64;

/// Settings of a [`ValkeySessionStore`](crate::ValkeySessionStore).
///
/// Validated once, when the store is built; see
/// [`ValkeySessionStore::new`](crate::ValkeySessionStore::new) for the rules.
/// `Debug` output redacts the credentials and the endpoint's user info.
///
/// # Default
///
/// | field | value |
/// |---|---|
/// | `tls` | `false` |
/// | `key_prefix` | [`DEFAULT_KEY_PREFIX`] |
/// | `ttl_seconds` | [`DEFAULT_TTL_SECONDS`] |
/// | `connect_timeout_ms` | [`DEFAULT_CONNECT_TIMEOUT`] |
/// | `command_timeout_ms` | [`DEFAULT_COMMAND_TIMEOUT`] |
/// | `request_deadline_ms` | resilience-core's `DEFAULT_REQUEST_DEADLINE` |
/// | `max_retries` | [`DEFAULT_MAX_RETRIES`] |
/// | `reply_check` | `false` |
/// | `breaker` | opens after [`DEFAULT_BREAKER_FAILURE_THRESHOLD`] consecutive failures |
/// | `backoff`, `budget` | resilience-core's defaults |
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValkeyConfig {
    /// Server URL, `redis://HOST:PORT[/DB]` or `rediss://HOST:PORT[/DB]` for TLS.
    /// Serialized without its user info.
    #[serde(serialize_with = "serialize_redacted_endpoint")]
    pub endpoint: String,
    /// Whether to use TLS; must agree with the endpoint's scheme.
    pub tls: bool,
    /// PEM file of the CA certificates that verify the server; the system's
    /// roots when absent.
    pub tls_ca_cert: Option<PathBuf>,
    /// ACL user name; requires `password`.
    pub username: Option<String>,
    /// Password of `username`, or of the `default` user when no user is set.
    /// Never serialized.
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// Prefix of every key.
    pub key_prefix: String,
    /// Sliding expiry in seconds, renewed by every load and append; `null`
    /// keeps labels without expiry.
    pub ttl_seconds: Option<u64>,
    /// Maximum lifetime of a session in seconds; a shorter `ttl_seconds` logs a warning.
    pub max_session_lifetime_seconds: Option<u64>,
    /// Maximum time in ms to dial, including the TLS handshake and `AUTH`.
    pub connect_timeout_ms: u64,
    /// Maximum time in ms for one attempt: a round trip, plus a dial if needed.
    pub command_timeout_ms: u64,
    /// Maximum time in ms for a whole operation, retries and backoff included.
    pub request_deadline_ms: u64,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Whether each round trip ends with `ECHO <nonce>` to detect replies
    /// that belong to another request.
    pub reply_check: bool,
    /// Delay between attempts.
    pub backoff: BackoffConfig,
    /// Cross-request limit on retries.
    pub budget: BudgetConfig,
    /// Circuit breaker in front of every attempt.
    pub breaker: BreakerConfig,
}

impl Default for ValkeyConfig {
    fn default() -> Self {
        let breaker = BreakerConfig {
            trip: TripPolicy::ConsecutiveFailures {
                threshold: DEFAULT_BREAKER_FAILURE_THRESHOLD,
            },
            ..BreakerConfig::default()
        };
        Self {
            endpoint: String::new(),
            tls: false,
            tls_ca_cert: None,
            username: None,
            password: None,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            ttl_seconds: Some(DEFAULT_TTL_SECONDS),
            max_session_lifetime_seconds: None,
            connect_timeout_ms: millis(DEFAULT_CONNECT_TIMEOUT),
            command_timeout_ms: millis(DEFAULT_COMMAND_TIMEOUT),
            request_deadline_ms: millis(DEFAULT_REQUEST_DEADLINE),
            max_retries: DEFAULT_MAX_RETRIES,
            reply_check: false,
            backoff: BackoffConfig::default(),
            budget: BudgetConfig::default(),
            breaker,
        }
    }
}

impl ValkeyConfig {
    /// Creates the default settings for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            ..Self::default()
        }
    }

    /// Returns the connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Returns the executor settings these fields describe.
    pub fn executor_config(&self) -> ExecutorConfig {
        ExecutorConfig {
            request_deadline: Duration::from_millis(self.request_deadline_ms),
            attempt_timeout: Duration::from_millis(self.command_timeout_ms),
            max_retries: self.max_retries,
            min_attempt_time: DEFAULT_MIN_ATTEMPT_TIME,
            backoff: self.backoff.clone(),
            budget: self.budget.clone(),
            breaker: self.breaker.clone(),
        }
    }

    /// Returns the endpoint without its user info, safe to log.
    pub fn redacted_endpoint(&self) -> String {
        match url::Url::parse(&self.endpoint) {
            Ok(mut url) => {
                // Both setters fail only for URLs that cannot carry user
                // info, which then have none to remove.
                let _ = url.set_username("");
                let _ = url.set_password(None);
                url.to_string()
            }
            Err(_) => "<unparsable endpoint>".to_owned(),
        }
    }
}

impl fmt::Debug for ValkeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValkeyConfig")
            .field("endpoint", &self.redacted_endpoint())
            .field("tls", &self.tls)
            .field("tls_ca_cert", &self.tls_ca_cert)
            .field("username", &redacted(&self.username))
            .field("password", &redacted(&self.password))
            .field("key_prefix", &self.key_prefix)
            .field("ttl_seconds", &self.ttl_seconds)
            .field(
                "max_session_lifetime_seconds",
                &self.max_session_lifetime_seconds,
            )
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("command_timeout_ms", &self.command_timeout_ms)
            .field("request_deadline_ms", &self.request_deadline_ms)
            .field("max_retries", &self.max_retries)
            .field("reply_check", &self.reply_check)
            .field("backoff", &self.backoff)
            .field("budget", &self.budget)
            .field("breaker", &self.breaker)
            .finish()
    }
}

fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Settings of any store, selected by `kind`.
///
/// ```yaml
/// kind: valkey
/// endpoint: rediss://valkey.internal:6380
/// tls: true
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StoreConfig {
    /// The in-process [`MemorySessionStore`](crate::MemorySessionStore).
    Memory,
    /// The [`ValkeySessionStore`](crate::ValkeySessionStore), boxed because
    /// its settings are large next to the other variants.
    Valkey(Box<ValkeyConfig>),
}

impl StoreConfig {
    /// Validates the settings and builds the selected store.
    ///
    /// # Errors
    ///
    /// Returns the [`ConfigError`] of
    /// [`ValkeySessionStore::new`](crate::ValkeySessionStore::new).
    pub fn build(self) -> Result<Arc<dyn SessionStore>, ConfigError> {
        match self {
            Self::Memory => Ok(Arc::new(MemorySessionStore::new())),
            Self::Valkey(config) => Ok(Arc::new(ValkeySessionStore::new(*config)?)),
        }
    }
}

/// Writes the endpoint without its user info, so a serialized configuration
/// carries no credentials.
fn serialize_redacted_endpoint<S: serde::Serializer>(
    endpoint: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let config = ValkeyConfig::new(endpoint);
    serializer.serialize_str(&config.redacted_endpoint())
}

#[cfg(test)]
mod serialize_tests {
    use super::*;

    #[test]
    fn serialized_config_carries_no_credentials() {
        let mut config = ValkeyConfig::new("redis://gateway:url-secret@127.0.0.1:6379");
        config.password = Some("field-secret".to_owned());

        let yaml = serde_yaml::to_string(&config).expect("the configuration serializes");

        assert!(!yaml.contains("url-secret"), "{yaml}");
        assert!(!yaml.contains("field-secret"), "{yaml}");
        assert!(yaml.contains("127.0.0.1:6379"), "{yaml}");
    }
}
