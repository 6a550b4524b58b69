//! A retry budget shared by all requests to one backend.
//!
//! A fixed number of retries per request multiplies the load on a backend
//! that is already failing: with three retries, every request becomes four.
//! A budget instead bounds retries to a share of the traffic. It has two
//! accounts:
//!
//! - a ratio account: each first attempt deposits `ratio` of a token, each
//!   retry withdraws a whole one, and the balance is capped at
//!   `max_balance`;
//! - a floor: a token bucket refilled at `min_per_second` with `burst`
//!   tokens, so that a client with little traffic can still retry.
//!
//! During a total outage the load is therefore at most `1 + ratio` times the
//! traffic, plus the floor, however many requests arrive.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use resilience_core::{BudgetConfig, ManualClock, RetryBudget};
//!
//! let clock = ManualClock::new();
//! let config = BudgetConfig { ratio: 0.5, min_per_second: 1, burst: 1, max_balance: 10.0 };
//! let budget = RetryBudget::new(config, Arc::new(clock.clone()))?;
//!
//! budget.deposit();
//! budget.deposit();
//! assert!(budget.try_withdraw()); // the ratio account's one token
//! assert!(budget.try_withdraw()); // the floor's burst
//! assert!(!budget.try_withdraw());
//!
//! clock.advance(Duration::from_secs(1));
//! assert!(budget.try_withdraw()); // the floor refilled one token
//! # Ok::<(), resilience_core::ConfigError>(())
//! ```

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::config::ConfigError;

/// Default [`BudgetConfig::ratio`]: a retry for every ten first attempts.
pub const DEFAULT_BUDGET_RATIO: f64 = 0.1;
/// Default [`BudgetConfig::min_per_second`].
pub const DEFAULT_BUDGET_MIN_PER_SECOND: u32 = 10;
/// Default [`BudgetConfig::burst`].
pub const DEFAULT_BUDGET_BURST: u32 = 10;
/// Default [`BudgetConfig::max_balance`], in tokens.
pub const DEFAULT_BUDGET_MAX_BALANCE: f64 = 100.0;
/// Largest accepted [`BudgetConfig::ratio`].
pub const MAX_BUDGET_RATIO: f64 = 1000.0;
/// Largest accepted [`BudgetConfig::max_balance`], in tokens.
pub const MAX_BUDGET_BALANCE: f64 = 1e12;

/// Micro-tokens in one token: the ratio account counts in whole micro-tokens.
const MICROS_PER_TOKEN: u64 = 1_000_000;

/// Settings of [`RetryBudget`].
///
/// # Default
///
/// - `ratio`: [`DEFAULT_BUDGET_RATIO`]
/// - `min_per_second`: [`DEFAULT_BUDGET_MIN_PER_SECOND`]
/// - `burst`: [`DEFAULT_BUDGET_BURST`]
/// - `max_balance`: [`DEFAULT_BUDGET_MAX_BALANCE`]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BudgetConfig {
    /// Tokens deposited by each first attempt, from 0.0 to
    /// [`MAX_BUDGET_RATIO`]. It is rounded to a millionth of a token.
    pub ratio: f64,
    /// Retries per second that the floor allows whatever the ratio account
    /// holds; 0 disables the floor.
    pub min_per_second: u32,
    /// Retries the floor allows at once after a quiet period, at least 1
    /// when the floor is enabled.
    pub burst: u32,
    /// Cap of the ratio account, in tokens, from 0.0 to [`MAX_BUDGET_BALANCE`].
    pub max_balance: f64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            ratio: DEFAULT_BUDGET_RATIO,
            min_per_second: DEFAULT_BUDGET_MIN_PER_SECOND,
            burst: DEFAULT_BUDGET_BURST,
            max_balance: DEFAULT_BUDGET_MAX_BALANCE,
        }
    }
}

impl BudgetConfig {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// - `ratio` is not a finite number from 0.0 to [`MAX_BUDGET_RATIO`];
    /// - `max_balance` is not a finite number from 0.0 to [`MAX_BUDGET_BALANCE`];
    /// - `burst` is 0 while `min_per_second` is not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=MAX_BUDGET_RATIO).contains(&self.ratio) {
            return Err(ConfigError::new(
                "budget.ratio",
                format!(
                    "must be a number from 0.0 to {MAX_BUDGET_RATIO}, got {}",
                    self.ratio
                ),
            ));
        }
        if !(0.0..=MAX_BUDGET_BALANCE).contains(&self.max_balance) {
            return Err(ConfigError::new(
                "budget.max_balance",
                format!(
                    "must be a number of tokens from 0.0 to {MAX_BUDGET_BALANCE}, got {}",
                    self.max_balance
                ),
            ));
        }
        if self.min_per_second > 0 && self.burst == 0 {
            return Err(ConfigError::new(
                "budget.burst",
                format!(
                    "must be at least 1 while budget.min_per_second is {}, got 0",
                    self.min_per_second
                ),
            ));
        }
        Ok(())
    }
}

/// A retry budget: a ratio account in front of a rate-limited floor.
///
/// It is `Send + Sync`, never waits, and takes no lock: the ratio account is
/// one atomic integer and the floor is a `governor` rate limiter.
#[derive(Debug)]
pub struct RetryBudget {
    deposit_micros: u64,
    max_balance_micros: u64,
    balance_micros: AtomicU64,
    floor: Option<Floor>,
}

type Floor = RateLimiter<NotKeyed, InMemoryState, ElapsedClock, NoOpMiddleware<Duration>>;

impl RetryBudget {
    /// Creates a budget whose floor reads `clock`.
    ///
    /// The ratio account starts empty and the floor starts with its burst.
    ///
    /// # Errors
    ///
    /// Returns the first error of [`BudgetConfig::validate`].
    pub fn new(config: BudgetConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.validate()?;
        let floor = match (
            NonZeroU32::new(config.min_per_second),
            NonZeroU32::new(config.burst),
        ) {
            (Some(rate), Some(burst)) => {
                let quota = Quota::per_second(rate).allow_burst(burst);
                Some(RateLimiter::direct_with_clock(
                    quota,
                    ElapsedClock::new(clock),
                ))
            }
            _ => None,
        };
        Ok(Self {
            deposit_micros: to_micros(config.ratio),
            max_balance_micros: to_micros(config.max_balance),
            balance_micros: AtomicU64::new(0),
            floor,
        })
    }

    /// Deposits `ratio` of a token for one first attempt, up to `max_balance`.
    ///
    /// A full account is only read, not written, so callers on many threads
    /// do not contend for its cache line while the backend is healthy.
    #[inline]
    pub fn deposit(&self) {
        // The closure returns None only when the account is full, and then
        // there is nothing to write.
        let _ = self
            .balance_micros
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |balance| {
                (balance < self.max_balance_micros).then(|| {
                    balance
                        .saturating_add(self.deposit_micros)
                        .min(self.max_balance_micros)
                })
            });
    }

    /// Withdraws one token for a retry, returning `false` when neither the
    /// ratio account nor the floor has one. It never waits.
    pub fn try_withdraw(&self) -> bool {
        let from_ratio = self
            .balance_micros
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |balance| {
                balance.checked_sub(MICROS_PER_TOKEN)
            })
            .is_ok();
        if from_ratio {
            return true;
        }
        match &self.floor {
            Some(floor) => floor.check().is_ok(),
            None => false,
        }
    }

    /// Returns the ratio account's balance in tokens, for metrics and tests.
    pub fn balance(&self) -> f64 {
        self.balance_micros.load(Ordering::Acquire) as f64 / MICROS_PER_TOKEN as f64
    }
}

/// Converts validated tokens to micro-tokens, rounding to the nearest.
fn to_micros(tokens: f64) -> u64 {
    // Validation bounds `tokens` to 1e12, so the product fits in u64.
    (tokens * MICROS_PER_TOKEN as f64).round() as u64
}

/// Our [`Clock`] as a `governor` clock: the time elapsed since the budget was
/// created, saturating at zero if the clock goes backwards.
#[derive(Debug, Clone)]
struct ElapsedClock {
    clock: Arc<dyn Clock>,
    origin: Instant,
}

impl ElapsedClock {
    fn new(clock: Arc<dyn Clock>) -> Self {
        let origin = clock.now();
        Self { clock, origin }
    }
}

impl GovernorClock for ElapsedClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_micros_rounds_to_nearest() {
        assert_eq!(to_micros(0.6), 600_000);
        assert_eq!(to_micros(0.1), 100_000);
        assert_eq!(to_micros(0.000_000_6), 1);
        assert_eq!(to_micros(MAX_BUDGET_BALANCE), 1_000_000_000_000_000_000);
    }
}
