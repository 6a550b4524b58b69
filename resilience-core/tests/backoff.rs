//! Backoff delays: exact values with a fixed random value, and bounds for any input.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use resilience_core::{Backoff, BackoffConfig, FixedRandom, Jitter, RandomSource};

const BASE: Duration = Duration::from_millis(100);
const CAP: Duration = Duration::from_secs(10);
const RETRIES: [u32; 7] = [0, 1, 63, 64, 65, 1000, u32::MAX];

fn backoff(jitter: Jitter) -> Backoff {
    Backoff::new(BackoffConfig {
        base: BASE,
        cap: CAP,
        jitter,
    })
    .unwrap()
}

/// `min(CAP, BASE * 2^retry)` for the retries in [`RETRIES`].
fn expected_capped(retry: u32) -> Duration {
    match retry {
        0 => BASE,
        1 => 2 * BASE,
        _ => CAP,
    }
}

#[test]
fn no_jitter_gives_capped_exponential_at_extreme_retries() {
    let backoff = backoff(Jitter::None);
    for retry in RETRIES {
        let delay = backoff.delay(retry, Duration::ZERO, &FixedRandom::new(0.7));
        assert_eq!(delay, expected_capped(retry), "retry {retry}");
    }
}

#[test]
fn full_jitter_at_half_gives_half_of_capped_delay() {
    let backoff = backoff(Jitter::Full);
    for retry in RETRIES {
        let delay = backoff.delay(retry, Duration::ZERO, &FixedRandom::new(0.5));
        assert_eq!(delay, expected_capped(retry) / 2, "retry {retry}");
    }
    let at_cap = backoff.delay(u32::MAX, Duration::ZERO, &FixedRandom::new(0.5));
    assert_eq!(at_cap, CAP / 2);
}

#[test]
fn full_jitter_at_zero_gives_zero() {
    let delay = backoff(Jitter::Full).delay(5, Duration::ZERO, &FixedRandom::new(0.0));
    assert_eq!(delay, Duration::ZERO);
}

#[test]
fn equal_jitter_keeps_half_and_spreads_the_rest() {
    let backoff = backoff(Jitter::Equal);
    for retry in RETRIES {
        let low = backoff.delay(retry, Duration::ZERO, &FixedRandom::new(0.0));
        let middle = backoff.delay(retry, Duration::ZERO, &FixedRandom::new(0.5));
        let capped = expected_capped(retry);
        assert_eq!(low, capped / 2, "retry {retry}");
        assert_eq!(middle, capped / 2 + capped / 4, "retry {retry}");
    }
}

#[test]
fn decorrelated_jitter_spreads_from_base_to_three_times_previous() {
    let backoff = backoff(Jitter::Decorrelated);
    let half = FixedRandom::new(0.5);

    let first = backoff.delay(0, Duration::ZERO, &half);
    assert_eq!(first, BASE * 2, "halfway between base and 3 * base");

    let next = backoff.delay(1, Duration::from_secs(1), &half);
    assert_eq!(
        next,
        Duration::from_millis(1_550),
        "halfway between 100 ms and 3 s"
    );

    let capped = backoff.delay(u32::MAX, Duration::MAX, &half);
    assert_eq!(capped, CAP);
}

#[test]
fn random_outside_unit_interval_is_clamped() {
    #[derive(Debug)]
    struct Broken(f64);
    impl RandomSource for Broken {
        fn next_unit(&self) -> f64 {
            self.0
        }
    }

    let backoff = backoff(Jitter::Full);
    assert_eq!(backoff.delay(200, Duration::ZERO, &Broken(7.0)), CAP);
    assert_eq!(
        backoff.delay(200, Duration::ZERO, &Broken(-1.0)),
        Duration::ZERO
    );
    assert_eq!(
        backoff.delay(200, Duration::ZERO, &Broken(f64::NAN)),
        Duration::ZERO
    );
}

#[test]
fn accessors_return_config() {
    let backoff = backoff(Jitter::Full);
    assert_eq!(backoff.base(), BASE);
    assert_eq!(backoff.cap(), CAP);
}

#[test]
fn default_jitter_is_full() {
    assert_eq!(Jitter::default(), Jitter::Full);
    assert_eq!(BackoffConfig::default().jitter, Jitter::Full);
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
        Just(Jitter::None),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (1u64..=10_000_000_000).prop_map(Duration::from_nanos),
        (1u64..=u64::MAX).prop_map(Duration::from_secs),
        Just(Duration::MAX),
    ]
}

/// `min(cap, base * 2^retry)` computed by repeated saturating doubling.
fn reference_capped(base: Duration, cap: Duration, retry: u32) -> Duration {
    let mut delay = base;
    for _ in 0..retry.min(200) {
        if delay >= cap {
            break;
        }
        delay = delay.saturating_mul(2);
    }
    delay.min(cap)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/backoff.txt"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn delay_stays_within_jitter_bounds(
        base in duration(),
        extra in duration(),
        jitter in jitter(),
        retry in any::<u32>(),
        previous in duration(),
        random in 0.0f64..1.0,
    ) {
        let cap = base.saturating_add(extra);
        let backoff = Backoff::new(BackoffConfig { base, cap, jitter }).unwrap();
        let delay = backoff.delay(retry, previous, &FixedRandom::new(random));
        let capped = reference_capped(base, cap, retry);

        prop_assert!(delay <= cap, "delay {:?} above cap {:?}", delay, cap);
        match jitter {
            Jitter::None => prop_assert_eq!(delay, capped),
            Jitter::Full => prop_assert!(delay <= capped, "{:?} > {:?}", delay, capped),
            Jitter::Equal => {
                prop_assert!(delay >= capped / 2, "{:?} < half of {:?}", delay, capped);
                prop_assert!(delay <= capped, "{:?} > {:?}", delay, capped);
            }
            Jitter::Decorrelated => {
                let upper = previous.max(base).saturating_mul(3).min(cap);
                prop_assert!(delay >= base, "{:?} below base {:?}", delay, base);
                prop_assert!(delay <= upper, "{:?} above {:?}", delay, upper);
            }
            _ => prop_assert!(false, "unknown jitter {:?}", jitter),
        }
    }

    #[test]
    fn full_jitter_is_random_times_capped_delay(
        base_ms in 1u64..=1_000,
        retry in 0u32..=40,
        random in 0.0f64..1.0,
    ) {
        let base = Duration::from_millis(base_ms);
        let cap = Duration::from_secs(3_600);
        let backoff = Backoff::new(BackoffConfig { base, cap, jitter: Jitter::Full }).unwrap();

        let delay = backoff.delay(retry, Duration::ZERO, &FixedRandom::new(random));

        let capped = reference_capped(base, cap, retry).as_nanos() as f64;
        let expected = (capped * random).floor();
        prop_assert!((delay.as_nanos() as f64 - expected).abs() <= 1.0, "{:?} vs {} ns", delay, expected);
    }
}
