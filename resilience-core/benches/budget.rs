//! Retry budget hot paths against `tower`'s `TpsBudget` and a bare
//! `governor` limiter: a deposit, and a withdrawal that is granted, on one
//! thread and on two threads sharing one budget.

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use governor::{Quota, RateLimiter};
use resilience_core::{BudgetConfig, RetryBudget, TokioClock};
use tower::retry::budget::{Budget as _, TpsBudget};

#[allow(dead_code, reason = "each benchmark binary uses a part of the helpers")]
mod support;

use support::bench_threads;

/// Tokens the withdrawal benchmark puts in the ratio account first: more
/// than a run can withdraw at a few nanoseconds per withdrawal, so every
/// measured withdrawal is granted by the ratio account.
const PREFILLED_TOKENS: f64 = 1e10;

/// Returns a budget with no floor, so that the ratio account serves or
/// refuses every withdrawal.
fn ours(ratio: f64) -> RetryBudget {
    let config = BudgetConfig {
        ratio,
        min_per_second: 0,
        burst: 0,
        max_balance: PREFILLED_TOKENS * 10.0,
    };
    RetryBudget::new(config, Arc::new(TokioClock)).expect("valid budget settings")
}

fn prefilled() -> RetryBudget {
    let budget = ours(1000.0);
    while budget.balance() < PREFILLED_TOKENS {
        budget.deposit();
    }
    budget
}

/// Returns a `TpsBudget` whose reserve of 60 s at 2e9 retries per second
/// grants every withdrawal of a run, the nearest to a prefilled account.
fn tower_budget() -> TpsBudget {
    TpsBudget::new(Duration::from_secs(60), 2_000_000_000, 1.0)
}

fn deposit(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("budget_deposit");

    let budget = ours(0.1);
    bench_threads(&mut group, "resilience-core", || budget.deposit());

    let tower = TpsBudget::new(Duration::from_secs(10), 10, 0.1);
    bench_threads(&mut group, "tower TpsBudget", || tower.deposit());

    group.finish();
}

fn withdraw(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("budget_withdraw");

    let budget = prefilled();
    bench_threads(&mut group, "resilience-core", || {
        assert!(budget.try_withdraw(), "the prefilled balance ran out");
    });

    let tower = tower_budget();
    bench_threads(&mut group, "tower TpsBudget", || {
        assert!(tower.withdraw(), "the reserve ran out");
    });

    let quota = Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX);
    let governor = RateLimiter::direct(quota);
    bench_threads(&mut group, "governor check", || {
        black_box(governor.check().is_ok())
    });

    group.finish();
}

criterion_group!(benches, deposit, withdraw);
criterion_main!(benches);
