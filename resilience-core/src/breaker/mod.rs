//! A circuit breaker driven by an injected time.
//!
//! The breaker stops calls to a backend that keeps failing, so that callers
//! fail fast and the backend gets room to recover. It never reads a clock:
//! every event carries its time as `now`.
//!
//! ```text
//!                  trip policy met
//!     +--------+  (Failure outcomes)   +------+
//!     | Closed | --------------------> | Open | <-------------------+
//!     +--------+                       +------+                     |
//!         ^                               |                         |
//!         |                               | acquire at or after     | a probe failed, or
//!         |                               | retry_at                | no report within
//!         |                               v                         | max_half_open
//!         |  probe_successes_to_close +----------+                  |
//!         +-------------------------- | HalfOpen | -----------------+
//!              successful probes      +----------+
//!                                     at most max_probes permits
//!
//!     force_open -> ForcedOpen (rejects all)   disable -> Disabled (admits all)
//!     reset      -> Closed, from any state
//! ```
//!
//! Every change of state starts a new generation. A permit remembers the
//! generation that issued it, and its outcome is ignored once the
//! generation has moved on: a late failure neither reopens nor extends the
//! open period, and a late success does not close it. A probe permit
//! dropped without an outcome frees its slot. Each failed probe multiplies
//! the cooldown by `cooldown_growth` up to `max_cooldown`, and closing
//! restores the initial cooldown.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, Instant};
//! use resilience_core::{BreakerConfig, BreakerState, CircuitBreaker, FixedRandom, Outcome};
//!
//! let config = BreakerConfig { cooldown_jitter: 0.0, ..BreakerConfig::default() };
//! let breaker = CircuitBreaker::new(config, Arc::new(FixedRandom::new(0.0)))?;
//! let start = Instant::now();
//!
//! for _ in 0..5 {
//!     breaker.try_acquire(start).unwrap().record(Outcome::Failure, start);
//! }
//! assert_eq!(breaker.state(), BreakerState::Open);
//!
//! let rejected = breaker.try_acquire(start).unwrap_err();
//! assert_eq!(rejected.retry_after(start), Duration::from_millis(250));
//!
//! let probe = breaker.try_acquire(rejected.retry_at()).unwrap();
//! assert_eq!(breaker.state(), BreakerState::HalfOpen);
//! probe.record(Outcome::Success, rejected.retry_at());
//! assert_eq!(breaker.state(), BreakerState::Closed);
//! # Ok::<(), resilience_core::ConfigError>(())
//! ```

mod circuit;
mod config;
mod counter;
mod observer;
mod permit;
mod state;

pub use circuit::CircuitBreaker;
pub use config::{
    BreakerConfig, DEFAULT_COOLDOWN, DEFAULT_COOLDOWN_GROWTH, DEFAULT_COOLDOWN_JITTER,
    DEFAULT_FAILURE_RATE_MIN_CALLS, DEFAULT_FAILURE_RATE_PERCENT, DEFAULT_FAILURE_RATE_WINDOW,
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_MAX_COOLDOWN, DEFAULT_MAX_HALF_OPEN, DEFAULT_MAX_PROBES,
    DEFAULT_PROBE_SUCCESSES_TO_CLOSE, MAX_BREAKER_DURATION, MAX_FAILURE_RATE_WINDOW, TripPolicy,
};
pub use observer::BreakerObserver;
pub use permit::{Permit, Rejected};
pub use state::{BreakerState, Outcome};
