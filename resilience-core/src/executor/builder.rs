//! Step-by-step construction of an [`Executor`].

use std::sync::Arc;

use crate::backoff::Backoff;
use crate::breaker::{BreakerObserver, CircuitBreaker};
use crate::budget::RetryBudget;
use crate::clock::{Clock, TokioClock};
use crate::config::ConfigError;
use crate::random::{RandomSource, ThreadRandom};

use super::telemetry::{Telemetry, TransitionLog};
use super::timer::whole_millis;
use super::{Executor, ExecutorConfig, Inner};

/// Default value of the executor's metrics label.
pub const DEFAULT_EXECUTOR_NAME: &str = "default";

/// Builds an [`Executor`]; every part has a default.
///
/// ```
/// use std::sync::Arc;
/// use resilience_core::clock::TokioClock;
/// use resilience_core::executor::{Executor, ExecutorConfig};
/// use resilience_core::random::SeededRandom;
///
/// let executor = Executor::builder()
///     .config(ExecutorConfig { max_retries: 2, ..ExecutorConfig::default() })
///     .clock(Arc::new(TokioClock))
///     .random(Arc::new(SeededRandom::new(7)))
///     .name("sessions")
///     .build()
///     .expect("valid settings");
/// assert_eq!(executor.config().max_retries, 2);
/// assert_eq!(executor.name(), "sessions");
/// ```
#[derive(Debug, Default)]
pub struct ExecutorBuilder {
    config: ExecutorConfig,
    clock: Option<Arc<dyn Clock>>,
    random: Option<Arc<dyn RandomSource>>,
    observer: Option<Arc<dyn BreakerObserver>>,
    name: Option<Arc<str>>,
}

impl ExecutorBuilder {
    /// Sets the settings; the default is [`ExecutorConfig::default`].
    pub fn config(mut self, config: ExecutorConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the clock; the default is [`TokioClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets the random source of the backoff and cooldown jitter; the
    /// default is [`ThreadRandom`].
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = Some(random);
        self
    }

    /// Adds an observer notified of each breaker transition, after the
    /// executor's own log line and gauge update.
    pub fn observer(mut self, observer: Arc<dyn BreakerObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sets the value of the `executor` label on every metric and log line;
    /// the default is [`DEFAULT_EXECUTOR_NAME`].
    pub fn name(mut self, name: impl Into<Arc<str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Validates the settings and builds the executor.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] for every condition that
    /// [`ExecutorConfig::validate`] rejects.
    pub fn build(self) -> Result<Executor, ConfigError> {
        self.config.validate()?;
        let name = self
            .name
            .unwrap_or_else(|| Arc::from(DEFAULT_EXECUTOR_NAME));
        let clock = self.clock.unwrap_or_else(|| Arc::new(TokioClock));
        let random = self.random.unwrap_or_else(|| Arc::new(ThreadRandom));

        let backoff = Backoff::new(self.config.backoff.clone())?;
        let budget = RetryBudget::new(self.config.budget.clone(), Arc::clone(&clock))?;
        let log = TransitionLog::new(Arc::clone(&name), self.observer);
        let breaker = CircuitBreaker::new(self.config.breaker.clone(), Arc::clone(&random))?
            .with_observer(Arc::new(log));
        let telemetry = Telemetry::register(&name);

        Ok(Executor {
            inner: Arc::new(Inner {
                name,
                first_attempt_time: whole_millis(
                    self.config
                        .attempt_timeout
                        .min(self.config.request_deadline),
                ),
                config: self.config,
                backoff,
                budget,
                breaker,
                clock,
                random,
                telemetry,
            }),
        })
    }
}
