//! Backend-agnostic resilience: classification, deadlines, retries, a retry budget and a circuit breaker.
//!
//! The parts, each usable alone:
//!
//! - [`classify`]: whether an error is worth retrying, and whether the
//!   request may have been sent ([`Classify`], [`Classification`]);
//! - [`clock`]: injected time ([`Clock`], [`TokioClock`], [`ManualClock`]);
//! - [`random`]: injected randomness for jitter ([`RandomSource`]);
//! - [`backoff`]: capped exponential delays with jitter ([`Backoff`]);
//! - [`budget`]: a retry budget shared by all requests ([`RetryBudget`]);
//! - [`breaker`]: a circuit breaker driven by an injected time
//!   ([`CircuitBreaker`]);
//! - [`executor`]: all of them composed around one async operation
//!   ([`Executor`](executor::Executor));
//! - [`serde_duration`]: durations in configuration files.
//!
//! Every configuration type validates once, at construction, and reports a
//! [`ConfigError`] that names the field.

pub mod backoff;
pub mod breaker;
pub mod budget;
pub mod classify;
pub mod clock;
mod config;
pub mod executor;
pub mod random;
pub mod serde_duration;
#[cfg(feature = "tower")]
pub mod tower;

pub use backoff::{Backoff, BackoffConfig, Jitter};
pub use breaker::{
    BreakerConfig, BreakerObserver, BreakerState, CircuitBreaker, Outcome, Permit, Rejected,
    TripPolicy,
};
pub use budget::{BudgetConfig, RetryBudget};
pub use classify::{Classification, Classify, Delivery, ErrorClass};
pub use clock::{Clock, ManualClock, TokioClock};
pub use config::ConfigError;
pub use random::{FixedRandom, RandomSource, SeededRandom, ThreadRandom};
