//! Classification of `redis` errors into transient and permanent failures.
//!
//! The mapping is approximate: redis-rs 1.8 reports many causes through a few
//! kinds, and its enums are `#[non_exhaustive]`. Any kind or server code not
//! listed here is treated as permanent, so an unknown failure is denied and
//! not retried.

use std::error::Error as _;
use std::io;
use std::sync::Arc;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use resilience_core::{Classification, Classify, ErrorClass};

/// Server error codes without a dedicated [`ServerErrorKind`] that a retry
/// can fix: a script is blocking the server (`BUSY`), or too few replicas
/// acknowledged writes (`NOREPLICAS`).
const TRANSIENT_EXTENSION_CODES: [&str; 2] = ["BUSY", "NOREPLICAS"];

/// Classifies a `redis` error for the retry and breaker logic.
///
/// | kind | class |
/// |---|---|
/// | `Parse` | transient |
/// | `Io` | as the inner [`io::Error`]: refused is transient and not sent; reset, broken pipe, EOF and timeouts are transient; TLS certificate errors are permanent. redis-rs 1.8 reports a socket closed mid-reply to a pipeline as a broken pipe |
/// | server `LOADING`, `BUSY`, `TRYAGAIN`, `MASTERDOWN`, `CLUSTERDOWN`, `READONLY`, `NOREPLICAS` | transient |
/// | server `ERR`, `WRONGTYPE`, `NOPERM`, `NOAUTH`, `OOM`, `EXECABORT` and any other code | permanent |
/// | `AuthenticationFailed`, `InvalidClientConfig`, `Client`, `UnexpectedReturnType` | permanent |
/// | sentinel and cluster lookups | transient (this store uses neither) |
/// | any kind added to redis-rs later | permanent |
pub fn classify_redis_error(error: &RedisError) -> Classification {
    match error.kind() {
        ErrorKind::Parse => Classification::transient(),
        ErrorKind::Io => classify_io(error),
        ErrorKind::Server(kind) => classify_server_kind(kind),
        ErrorKind::Extension => classify_server_code(error),
        ErrorKind::MasterNameNotFoundBySentinel
        | ErrorKind::NoValidReplicasFoundBySentinel
        | ErrorKind::ClusterConnectionNotFound => Classification::transient(),
        ErrorKind::AuthenticationFailed
        | ErrorKind::UnexpectedReturnType
        | ErrorKind::InvalidClientConfig
        | ErrorKind::Client
        | ErrorKind::EmptySentinelList
        | ErrorKind::RESP3NotSupported => Classification::permanent(),
        _ => Classification::permanent(),
    }
}

/// Returns whether the connection that produced `error` must be discarded.
///
/// Only a permanent error reply proves that the connection is still in step
/// with its requests; every other failure may have left a reply unread.
pub(crate) fn discards_connection(error: &RedisError) -> bool {
    match error.kind() {
        ErrorKind::Server(_) | ErrorKind::Extension => classify_redis_error(error).is_transient(),
        _ => true,
    }
}

fn classify_server_kind(kind: ServerErrorKind) -> Classification {
    match kind {
        ServerErrorKind::BusyLoading
        | ServerErrorKind::TryAgain
        | ServerErrorKind::ClusterDown
        | ServerErrorKind::MasterDown
        | ServerErrorKind::ReadOnly => Classification::transient(),
        ServerErrorKind::ResponseError
        | ServerErrorKind::ExecAbort
        | ServerErrorKind::NoScript
        | ServerErrorKind::Moved
        | ServerErrorKind::Ask
        | ServerErrorKind::CrossSlot
        | ServerErrorKind::NotBusy
        | ServerErrorKind::NoSub
        | ServerErrorKind::NoPerm => Classification::permanent(),
        _ => Classification::permanent(),
    }
}

/// Classifies a server error whose code redis-rs does not know by name.
fn classify_server_code(error: &RedisError) -> Classification {
    match server_code(error) {
        Some(code) if TRANSIENT_EXTENSION_CODES.contains(&code.as_str()) => {
            Classification::transient()
        }
        _ => Classification::permanent(),
    }
}

/// Returns the server's error code, also for a pipeline error, whose
/// `code()` is `None` in redis-rs 1.8.
fn server_code(error: &RedisError) -> Option<String> {
    if let Some(code) = error.code() {
        return Some(code.to_owned());
    }
    let errors = error.clone().into_server_errors()?;
    errors
        .first()
        .map(|(_, server_error)| server_error.code().to_owned())
}

fn classify_io(error: &RedisError) -> Classification {
    let Some(io_error) = io_error(error) else {
        // redis-rs builds some I/O errors without an inner error, for example
        // when the multiplexer's driver task has stopped.
        return Classification::transient();
    };
    if is_tls_error(io_error) {
        return Classification::permanent();
    }
    io_error.classify()
}

/// Returns the [`io::Error`] inside an `Io` kind error.
///
/// redis-rs 1.8 keeps it behind an `Arc<dyn Error>`, so `source()` yields the
/// `Arc` and the downcast has to look through it.
fn io_error(error: &RedisError) -> Option<&io::Error> {
    let source = error.source()?;
    if let Some(io_error) = source.downcast_ref::<io::Error>() {
        return Some(io_error);
    }
    source
        .downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>()
        .and_then(|inner| inner.downcast_ref::<io::Error>())
}

/// Returns whether the I/O error carries a TLS error (a certificate that
/// does not verify, a handshake that failed): no retry fixes those.
fn is_tls_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

/// The point in an attempt where a `redis` error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connect,
    Command,
}

/// A `redis` error from one attempt, with the stage it happened in.
///
/// The newtype exists because the orphan rule forbids implementing
/// [`Classify`] for [`RedisError`] in this crate. It adds one fact that the
/// error itself does not carry: a failure while dialing proves that no
/// command was sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", match .stage { Stage::Connect => "connecting to the server failed", Stage::Command => "command failed" })]
pub struct BackendError {
    stage: Stage,
    #[source]
    error: RedisError,
}

impl BackendError {
    /// Wraps an error that happened while sending a command or reading its reply.
    pub fn command(error: RedisError) -> Self {
        Self {
            stage: Stage::Command,
            error,
        }
    }

    /// Wraps an error that happened while dialing, before any command was sent.
    pub fn connect(error: RedisError) -> Self {
        Self {
            stage: Stage::Connect,
            error,
        }
    }

    /// Returns the underlying `redis` error.
    pub fn redis_error(&self) -> &RedisError {
        &self.error
    }

    /// Returns whether the error happened while dialing.
    pub fn is_connect(&self) -> bool {
        self.stage == Stage::Connect
    }
}

impl Classify for BackendError {
    fn classify(&self) -> Classification {
        let classification = classify_redis_error(&self.error);
        match (self.stage, classification.class()) {
            (Stage::Connect, ErrorClass::Transient) => Classification::transient_not_sent(),
            _ => classification,
        }
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
