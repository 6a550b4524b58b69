//! The Valkey-backed [`SessionStore`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use resilience_core::ConfigError;
use resilience_core::executor::{Executor, Idempotency};

use crate::alarm::{ALARM_TTL_REFRESH_FAILED, Operation, report_failure};
use crate::error::{AttemptError, SessionStoreError};
use crate::labels::{Labels, validate_labels, validate_session_id};
use crate::store::{SessionStore, StoreFuture};
use crate::valkey::config::ValkeyConfig;
use crate::valkey::connection::ConnectionSlot;
use crate::valkey::key::session_key;
use crate::valkey::protocol::{LoadReply, Request, parse_append, parse_load};
use crate::valkey::validate::validate;

/// Name of the store's executor, used in its logs and metrics.
pub const EXECUTOR_NAME: &str = "session_store";

/// A [`SessionStore`] that keeps each session's labels in a Valkey set.
///
/// Every round trip runs through a resilience-core [`Executor`]: a deadline
/// per operation, bounded retries with backoff, a retry budget and a circuit
/// breaker. The store owns one multiplexed connection and replaces it after
/// any doubt; see the crate documentation for the commands and checks.
pub struct ValkeySessionStore {
    pub(super) executor: Executor,
    pub(super) slot: ConnectionSlot,
    endpoint: String,
    key_prefix: String,
    ttl_seconds: Option<u64>,
    reply_check: bool,
    next_nonce: AtomicU64,
}

impl fmt::Debug for ValkeySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValkeySessionStore")
            .field("endpoint", &self.endpoint)
            .field("key_prefix", &self.key_prefix)
            .field("ttl_seconds", &self.ttl_seconds)
            .field("reply_check", &self.reply_check)
            .field("slot", &self.slot)
            .field("executor", &self.executor.name())
            .finish_non_exhaustive()
    }
}

impl ValkeySessionStore {
    /// Validates `config` and builds a store with its own executor.
    ///
    /// No connection is made here; the first operation dials.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] naming the field when:
    /// - `endpoint` is not a `redis://` or `rediss://` URL with a host, has
    ///   port 0, a query or a fragment, or names a user without a password;
    /// - `tls` disagrees with the scheme, or is false for an endpoint that is
    ///   not loopback (`localhost`, `127.0.0.0/8`, `::1`);
    /// - `tls_ca_cert` is set without TLS, cannot be read or contains no PEM
    ///   certificate;
    /// - the endpoint carries credentials while `username` or `password` is
    ///   also set, or `username` is set without `password`;
    /// - `key_prefix` is empty, longer than 64 bytes, or has whitespace;
    /// - `ttl_seconds` or `max_session_lifetime_seconds` is outside 1 to
    ///   [`MAX_TTL_SECONDS`](crate::MAX_TTL_SECONDS);
    /// - `connect_timeout_ms` or `command_timeout_ms` is outside 1 to
    ///   [`MAX_TIMEOUT_MS`](crate::MAX_TIMEOUT_MS), or the command timeout
    ///   exceeds `request_deadline_ms`;
    /// - `request_deadline_ms` is outside its range, or `max_retries` is above
    ///   [`MAX_RETRIES`](crate::MAX_RETRIES);
    /// - the backoff, budget or breaker settings are invalid.
    pub fn new(config: ValkeyConfig) -> Result<Self, ConfigError> {
        // The store's own checks run first, so that errors name the store's
        // fields (`command_timeout_ms`) rather than the executor's.
        let client = validate(&config)?;
        let executor = Executor::builder()
            .config(config.executor_config())
            .name(EXECUTOR_NAME)
            .build()?;
        Ok(Self::from_parts(config, client, executor))
    }

    /// Validates `config` and builds a store that runs its round trips
    /// through `executor`, for example one with an injected clock.
    ///
    /// The executor's own settings apply; the deadline, retry, backoff,
    /// budget and breaker fields of `config` are validated but not used.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new).
    pub fn with_executor(config: ValkeyConfig, executor: Executor) -> Result<Self, ConfigError> {
        let client = validate(&config)?;
        Ok(Self::from_parts(config, client, executor))
    }

    fn from_parts(config: ValkeyConfig, client: redis::Client, executor: Executor) -> Self {
        Self {
            executor,
            slot: ConnectionSlot::new(client, config.connect_timeout()),
            endpoint: config.redacted_endpoint(),
            key_prefix: config.key_prefix,
            ttl_seconds: config.ttl_seconds,
            reply_check: config.reply_check,
            next_nonce: AtomicU64::new(1),
        }
    }

    /// Returns the executor, to read its breaker state or budget.
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// Returns the generation of the connection in use; `None` before the
    /// first dial and after a discard. Each successful dial increments it.
    pub fn connection_generation(&self) -> Option<u64> {
        self.slot.current_generation()
    }

    async fn load_labels(&self, session_id: &str) -> Result<Labels, SessionStoreError> {
        validate_session_id(session_id)?;
        let key = session_key(&self.key_prefix, session_id);
        let reply = self
            .executor
            .call(Idempotency::Idempotent, |_attempt| self.load_once(&key))
            .await?;
        if let Some(error) = reply.refresh_error {
            tracing::warn!(
                alarm = ALARM_TTL_REFRESH_FAILED,
                op = Operation::Load.as_str(),
                key = %key,
                code = error.code(),
                error = %error,
                "labels loaded but their expiry was not extended"
            );
        }
        Ok(reply.labels)
    }

    async fn load_once(&self, key: &str) -> Result<LoadReply, AttemptError> {
        let request = Request::load(key, self.ttl_seconds, self.nonce());
        self.slot
            .execute(request.pipeline(), request.reply_count(), |replies| {
                parse_load(&request, replies)
            })
            .await
    }

    async fn append_labels(
        &self,
        session_id: &str,
        labels: &[&str],
    ) -> Result<(), SessionStoreError> {
        validate_session_id(session_id)?;
        validate_labels(labels)?;
        if labels.is_empty() {
            return Ok(());
        }
        let key = session_key(&self.key_prefix, session_id);
        // SADD and EXPIRE give the same result when repeated, so a retry
        // after an ambiguous failure cannot lose or duplicate a label.
        self.executor
            .call(Idempotency::Idempotent, |_attempt| {
                self.append_once(&key, labels)
            })
            .await?;
        Ok(())
    }

    async fn append_once(&self, key: &str, labels: &[&str]) -> Result<(), AttemptError> {
        let request = Request::append(key, labels, self.ttl_seconds, self.nonce());
        self.slot
            .execute(request.pipeline(), request.reply_count(), |replies| {
                parse_append(&request, replies)
            })
            .await
    }

    /// Returns a fresh nonce when reply checks are on.
    fn nonce(&self) -> Option<String> {
        self.reply_check
            .then(|| self.next_nonce.fetch_add(1, Ordering::Relaxed).to_string())
    }
}

impl SessionStore for ValkeySessionStore {
    fn load<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Labels> {
        Box::pin(async move {
            let result = self.load_labels(session_id).await;
            if let Err(error) = &result {
                report_failure(Operation::Load, error);
            }
            result
        })
    }

    fn append<'a>(&'a self, session_id: &'a str, labels: &'a [&'a str]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let result = self.append_labels(session_id, labels).await;
            if let Err(error) = &result {
                report_failure(Operation::Append, error);
            }
            result
        })
    }
}
