use std::error::Error as _;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use redis::RedisError;
use resilience_core::executor::{Executor, ExecutorConfig, Idempotency};
use resilience_core::{FixedRandom, TokioClock};

use super::{AttemptError, SessionStoreError};
use crate::labels::InvalidInput;
use crate::valkey::{BackendError, ReplyError};

fn executor(max_retries: u32) -> Executor {
    let config = ExecutorConfig {
        max_retries,
        ..ExecutorConfig::default()
    };
    Executor::builder()
        .config(config)
        .clock(Arc::new(TokioClock))
        .random(Arc::new(FixedRandom::new(0.0)))
        .build()
        .expect("valid executor settings")
}

/// Runs one call whose every attempt fails with `error`.
async fn fail_with(executor: &Executor, error: AttemptError) -> SessionStoreError {
    executor
        .call(Idempotency::Idempotent, |_attempt| {
            let error = error.clone();
            async move { Err::<(), _>(error) }
        })
        .await
        .map_err(SessionStoreError::from)
        .expect_err("every attempt fails")
}

fn server_error(line: &str) -> AttemptError {
    let error = redis::parse_redis_value(format!("{line}\r\n").as_bytes())
        .unwrap()
        .extract_error()
        .unwrap_err();
    BackendError::command(error).into()
}

fn reset() -> AttemptError {
    BackendError::command(RedisError::from(io::Error::from(
        io::ErrorKind::ConnectionReset,
    )))
    .into()
}

#[tokio::test(start_paused = true)]
async fn permanent_error_stops_after_one_attempt() {
    let error = fail_with(&executor(1), server_error("-WRONGTYPE wrong kind of value")).await;
    assert!(
        matches!(error, SessionStoreError::Permanent { attempts: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.reason(), "backend_permanent");
    assert!(!error.is_unavailable());
    let source = error.source().expect("the backend error is the source");
    let root = source.source().expect("the redis error is the root");
    assert!(root.to_string().contains("wrong kind of value"), "{root}");
}

#[tokio::test(start_paused = true)]
async fn transient_failures_map_to_transient_after_retries() {
    let error = fail_with(&executor(1), reset()).await;
    assert!(
        matches!(error, SessionStoreError::Transient { attempts: 2, .. }),
        "{error:?}"
    );
    assert_eq!(error.reason(), "backend_transient");
    assert_eq!(error.attempts(), 2);
}

#[tokio::test(start_paused = true)]
async fn reply_errors_keep_their_own_variants() {
    let error = fail_with(&executor(1), ReplyError::nonce_mismatch().into()).await;
    assert!(
        matches!(error, SessionStoreError::ReplyMismatch { attempts: 2, .. }),
        "{error:?}"
    );
    assert_eq!(error.reason(), "reply_mismatch");

    let error = fail_with(&executor(1), ReplyError::non_utf8_member(0).into()).await;
    assert!(
        matches!(error, SessionStoreError::CorruptReply { attempts: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.reason(), "corrupt_reply");
}

#[tokio::test(start_paused = true)]
async fn attempt_timeout_maps_to_transient_without_cause() {
    let executor = executor(0);
    let error = executor
        .call(Idempotency::Idempotent, |_attempt| {
            std::future::pending::<Result<(), AttemptError>>()
        })
        .await
        .map_err(SessionStoreError::from)
        .expect_err("the attempt never completes");
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
}

#[tokio::test(start_paused = true)]
async fn open_breaker_maps_to_circuit_open() {
    let executor = executor(0);
    for _ in 0..5 {
        fail_with(&executor, reset()).await;
    }
    let error = fail_with(&executor, reset()).await;
    assert!(
        matches!(error, SessionStoreError::CircuitOpen { .. }),
        "{error:?}"
    );
    assert_eq!(error.reason(), "circuit_open");
    assert!(error.is_unavailable());
    assert_eq!(error.attempts(), 0);
    assert!(
        error
            .retry_after()
            .is_some_and(|after| after > Duration::ZERO)
    );
}

#[test]
fn every_variant_renders_lower_case_without_period() {
    let cases = [
        (
            SessionStoreError::CircuitOpen { retry_after: None },
            "session store is unavailable: circuit breaker is open",
            "circuit_open",
        ),
        (
            SessionStoreError::BudgetExhausted {
                attempts: 2,
                last_error: None,
            },
            "session store is unavailable: retry budget exhausted after 2 attempts",
            "budget_exhausted",
        ),
        (
            SessionStoreError::DeadlineExceeded {
                attempts: 2,
                elapsed: Duration::from_millis(900),
                last_error: None,
            },
            "session store is unavailable: request deadline exceeded after 2 attempts",
            "deadline_exceeded",
        ),
        (
            SessionStoreError::Transient {
                attempts: 2,
                last_error: Some(reset()),
            },
            "session store backend failed temporarily after 2 attempts",
            "backend_transient",
        ),
        (
            SessionStoreError::Permanent {
                attempts: 1,
                source: BackendError::command(RedisError::from(io::Error::from(
                    io::ErrorKind::PermissionDenied,
                ))),
            },
            "session store backend rejected the request",
            "backend_permanent",
        ),
        (
            SessionStoreError::CorruptReply {
                attempts: 1,
                source: ReplyError::non_utf8_member(0),
            },
            "session store reply is corrupt",
            "corrupt_reply",
        ),
        (
            SessionStoreError::ReplyMismatch {
                attempts: 1,
                source: ReplyError::nonce_mismatch(),
            },
            "session store reply does not match the request",
            "reply_mismatch",
        ),
        (
            SessionStoreError::InvalidInput(InvalidInput::EmptySessionId),
            "invalid session store input",
            "invalid_input",
        ),
    ];
    for (error, message, reason) in cases {
        assert_eq!(error.to_string(), message);
        assert_eq!(error.reason(), reason);
    }
}

#[test]
fn invalid_input_is_the_source() {
    let error = SessionStoreError::from(InvalidInput::EmptyLabel { index: 3 });
    assert_eq!(error.source().unwrap().to_string(), "label 3 is empty");
}
