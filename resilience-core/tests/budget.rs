//! Retry budget: exact allowances on a manual clock, and the ratio-plus-floor bound.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use resilience_core::{BudgetConfig, Clock, ManualClock, RetryBudget};

fn budget(config: BudgetConfig) -> (RetryBudget, ManualClock) {
    let clock = ManualClock::new();
    let budget = RetryBudget::new(config, Arc::new(clock.clone())).unwrap();
    (budget, clock)
}

fn withdraw_all(budget: &RetryBudget) -> u32 {
    let mut withdrawn = 0;
    while budget.try_withdraw() {
        withdrawn += 1;
        assert!(withdrawn < 1_000_000, "the budget never ran out");
    }
    withdrawn
}

#[test]
fn frozen_clock_allows_ratio_share_plus_burst() {
    let config = BudgetConfig {
        ratio: 0.1,
        min_per_second: 10,
        burst: 10,
        max_balance: 100.0,
    };
    let (budget, clock) = budget(config);

    for _ in 0..100 {
        budget.deposit();
    }
    assert_eq!(
        withdraw_all(&budget),
        10 + 10,
        "10% of 100 plus a burst of 10"
    );

    clock.advance(Duration::from_millis(100));
    assert_eq!(
        withdraw_all(&budget),
        1,
        "one floor period at 10 per second"
    );
}

#[test]
fn ratio_account_is_exact() {
    let config = BudgetConfig {
        ratio: 0.6,
        min_per_second: 0,
        burst: 0,
        max_balance: 100.0,
    };
    let (budget, _clock) = budget(config);

    for _ in 0..5 {
        budget.deposit();
    }

    assert_eq!(budget.balance(), 3.0);
    assert_eq!(withdraw_all(&budget), 3);
    assert_eq!(budget.balance(), 0.0);
}

#[test]
fn balance_is_capped_at_max_balance() {
    let config = BudgetConfig {
        ratio: 1.0,
        min_per_second: 0,
        burst: 0,
        max_balance: 2.5,
    };
    let (budget, _clock) = budget(config);

    for _ in 0..10 {
        budget.deposit();
    }

    assert_eq!(budget.balance(), 2.5);
    assert_eq!(withdraw_all(&budget), 2);
    assert_eq!(budget.balance(), 0.5);
}

#[test]
fn disabled_floor_and_empty_account_allow_nothing() {
    let config = BudgetConfig {
        min_per_second: 0,
        ..BudgetConfig::default()
    };
    let (budget, clock) = budget(config);

    assert!(!budget.try_withdraw());
    clock.advance(Duration::from_secs(3_600));
    assert!(!budget.try_withdraw());
}

#[test]
fn clock_going_backwards_adds_no_floor_tokens() {
    let config = BudgetConfig {
        ratio: 0.0,
        min_per_second: 1,
        burst: 1,
        max_balance: 0.0,
    };
    let (budget, clock) = budget(config);
    let start = clock.now();

    clock.advance(Duration::from_secs(10));
    assert_eq!(withdraw_all(&budget), 1, "burst of 1 after a quiet period");
    clock.set(start);
    assert_eq!(withdraw_all(&budget), 0);
    clock.set(start + Duration::from_secs(10));
    assert_eq!(withdraw_all(&budget), 0, "the same instant again");
    clock.advance(Duration::from_secs(1));
    assert_eq!(withdraw_all(&budget), 1);
}

#[test]
fn concurrent_withdrawals_never_exceed_deposits_and_burst() {
    let config = BudgetConfig {
        ratio: 0.5,
        min_per_second: 5,
        burst: 5,
        max_balance: 1_000.0,
    };
    let (budget, _clock) = budget(config);
    for _ in 0..100 {
        budget.deposit();
    }

    let withdrawn: u32 = thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| withdraw_all(&budget)))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });

    assert_eq!(withdrawn, 50 + 5);
}

#[derive(Debug, Clone)]
enum Step {
    Deposit,
    Withdraw,
    Advance(Duration),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Deposit),
        4 => Just(Step::Withdraw),
        1 => (0u64..2_000).prop_map(|ms| Step::Advance(Duration::from_millis(ms))),
    ]
}

fn config() -> impl Strategy<Value = BudgetConfig> {
    (0.0f64..3.0, 0u32..20, 1u32..20, 0.0f64..50.0).prop_map(
        |(ratio, min_per_second, burst, max_balance)| BudgetConfig {
            ratio,
            min_per_second,
            burst,
            max_balance,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/budget.txt"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn withdrawals_never_exceed_ratio_plus_floor(
        config in config(),
        steps in prop::collection::vec(step(), 1..400),
    ) {
        let (budget, clock) = budget(config.clone());
        let start = clock.now();
        let mut deposits = 0u64;
        let mut withdrawals = 0u64;

        for step in steps {
            match step {
                Step::Deposit => {
                    budget.deposit();
                    deposits += 1;
                }
                Step::Withdraw => withdrawals += u64::from(budget.try_withdraw()),
                Step::Advance(by) => clock.advance(by),
            }

            let deposited = (config.ratio * 1e6).round() * deposits as f64 / 1e6;
            let ratio_share = deposited.floor() as u64;
            let floor = if config.min_per_second == 0 {
                0
            } else {
                // The floor's period is 1 s / rate, truncated to whole nanoseconds.
                let period = 1_000_000_000 / u128::from(config.min_per_second);
                let elapsed = (clock.now() - start).as_nanos();
                u64::from(config.burst) + (elapsed / period) as u64
            };
            prop_assert!(
                withdrawals <= ratio_share + floor,
                "{} withdrawals after {} deposits, ratio share {}, floor {}",
                withdrawals, deposits, ratio_share, floor,
            );
            prop_assert!(budget.balance() <= config.max_balance + 1e-6);
        }
    }
}

#[test]
fn budget_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RetryBudget>();
}
