//! The executor: one call under a deadline, with bounded retries, a retry
//! budget and a circuit breaker.
//!
//! Each call runs this way:
//!
//! 1. The deadline is the call's start plus `request_deadline`.
//! 2. The breaker admits the attempt or the call fails at once with
//!    [`CallErrorKind::CircuitOpen`], without running the operation.
//! 3. The attempt runs until `min(attempt start + attempt_timeout, deadline)`,
//!    cut to whole milliseconds after its start.
//! 4. Its outcome is recorded with the breaker: success, transient failure
//!    (timeouts included) or, for a permanent error, "the backend answered".
//! 5. A transient failure is retried only when a retry is left, the operation
//!    is idempotent or the error proves the request was never sent, the
//!    jittered delay plus `min_attempt_time` fits before the deadline, and the
//!    retry budget grants a token. The delay is cut to whole milliseconds,
//!    and the delay checked is the delay slept.
//!
//! Tokio's timer counts whole milliseconds and rounds an instant between two
//! ticks up to the later one. Every wait is therefore a whole number of
//! milliseconds from a clock reading, so that under paused time it ends
//! exactly where it was planned and a call returns by its deadline.
//!
//! Dropping the future of [`Executor::call`] drops the attempt in flight and
//! its breaker permit, which frees the permit's slot; no task is left behind.

mod attempt;
mod builder;
mod call;
mod config;
mod error;
mod telemetry;
mod timer;

use std::sync::Arc;
use std::time::Duration;

pub use attempt::Attempt;
pub use builder::{DEFAULT_EXECUTOR_NAME, ExecutorBuilder};
pub use config::{
    DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_MAX_RETRIES, DEFAULT_MIN_ATTEMPT_TIME,
    DEFAULT_REQUEST_DEADLINE, ExecutorConfig, MAX_REQUEST_DEADLINE, MAX_RETRIES_LIMIT,
};
pub use error::{CallError, CallErrorKind};
pub use telemetry::{
    ATTEMPTS_TOTAL, BREAKER_STATE, CALL_DURATION_SECONDS, CALLS_TOTAL, EXECUTOR_LABEL,
    REJECTIONS_TOTAL, RETRIES_TOTAL, state_name,
};

use crate::backoff::Backoff;
use crate::breaker::CircuitBreaker;
use crate::budget::RetryBudget;
use crate::clock::Clock;
use crate::config::ConfigError;
use crate::random::RandomSource;
use telemetry::Telemetry;

/// Whether an operation may run twice with the same effect as once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// Repeating the operation is harmless; any transient failure may be
    /// retried.
    Idempotent,
    /// Repeating the operation could apply it twice; it is retried only when
    /// the failure proves the request never left.
    NotIdempotent,
}

/// Runs async operations under a deadline, with bounded retries, a retry
/// budget and a circuit breaker shared by every call.
///
/// Cloning is cheap and clones share the breaker and the budget.
///
/// The executor waits with tokio's timer, so its [`Clock`] must follow
/// tokio's time: the default [`TokioClock`](crate::clock::TokioClock) does,
/// paused test time included.
///
/// # Example
///
/// ```
/// use std::io;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use resilience_core::executor::{Executor, ExecutorConfig, Idempotency};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let executor = Executor::new(ExecutorConfig::default()).expect("default settings are valid");
/// let calls = AtomicU32::new(0);
///
/// // The first attempt is refused; the retry succeeds.
/// let result = executor
///     .call(Idempotency::Idempotent, |_attempt| async {
///         if calls.fetch_add(1, Ordering::Relaxed) == 0 {
///             Err(io::Error::from(io::ErrorKind::ConnectionRefused))
///         } else {
///             Ok("labels")
///         }
///     })
///     .await;
///
/// assert_eq!(result.unwrap(), "labels");
/// assert_eq!(calls.load(Ordering::Relaxed), 2);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: Arc<str>,
    config: ExecutorConfig,
    /// Time given to a first attempt, which starts with the whole request
    /// deadline ahead: the attempt timeout in whole milliseconds.
    first_attempt_time: Duration,
    backoff: Backoff,
    budget: RetryBudget,
    breaker: CircuitBreaker,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    telemetry: Telemetry,
}

impl Executor {
    /// Builds an executor with the tokio clock and thread-local randomness.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] for every condition that
    /// [`ExecutorConfig::validate`] rejects.
    pub fn new(config: ExecutorConfig) -> Result<Self, ConfigError> {
        Self::builder().config(config).build()
    }

    /// Starts a builder with the default settings.
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// Returns the breaker every call goes through, for manual control and
    /// for reading its state.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.inner.breaker
    }

    /// Returns the retry budget shared by every call.
    pub fn budget(&self) -> &RetryBudget {
        &self.inner.budget
    }

    /// Returns the settings the executor was built with.
    pub fn config(&self) -> &ExecutorConfig {
        &self.inner.config
    }

    /// Returns the clock the executor reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// Returns the executor's name, the value of its metrics label.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    fn request_deadline(&self) -> Duration {
        self.inner.config.request_deadline
    }
}
