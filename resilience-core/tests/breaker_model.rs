//! The circuit breaker checked step by step against a small reference model.

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use resilience_core::{
    BreakerConfig, BreakerState, CircuitBreaker, Outcome, Permit, RandomSource, SeededRandom,
    TripPolicy,
};
use support::RecordingObserver;

/// The reference model: one plain state machine, with no atomics, lock or
/// generation packing.
#[derive(Debug)]
struct Model {
    config: BreakerConfig,
    random: SeededRandom,
    state: ModelState,
    generation: u64,
    cooldown: Duration,
    transitions: Vec<(BreakerState, BreakerState, Instant)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ModelState {
    Closed {
        calls: u64,
        failures: u64,
    },
    Open {
        retry_at: Instant,
    },
    HalfOpen {
        outstanding: u32,
        successes: u32,
        dwell_start: Instant,
    },
    Disabled,
    ForcedOpen,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Closed,
    Probe,
    Bypass,
}

type Admission = Result<(u64, Kind), (Instant, BreakerState)>;

impl Model {
    fn new(config: BreakerConfig, seed: u64) -> Self {
        Self {
            cooldown: config.cooldown,
            config,
            random: SeededRandom::new(seed),
            state: ModelState::Closed {
                calls: 0,
                failures: 0,
            },
            generation: 0,
            transitions: Vec::new(),
        }
    }

    fn public_state(&self) -> BreakerState {
        match self.state {
            ModelState::Closed { .. } => BreakerState::Closed,
            ModelState::Open { .. } => BreakerState::Open,
            ModelState::HalfOpen { .. } => BreakerState::HalfOpen,
            ModelState::Disabled => BreakerState::Disabled,
            ModelState::ForcedOpen => BreakerState::ForcedOpen,
        }
    }

    fn go(&mut self, state: ModelState, now: Instant) {
        let from = self.public_state();
        self.state = state;
        self.generation += 1;
        let to = self.public_state();
        if from != to {
            self.transitions.push((from, to, now));
        }
    }

    fn open(&mut self, now: Instant) {
        let factor = 1.0 - self.config.cooldown_jitter * self.random.next_unit();
        let open_for = Duration::from_nanos((self.cooldown.as_nanos() as f64 * factor) as u64);
        self.go(
            ModelState::Open {
                retry_at: now + open_for,
            },
            now,
        );
    }

    fn reopen(&mut self, now: Instant) {
        let grown = self.cooldown.as_nanos() as f64 * self.config.cooldown_growth;
        self.cooldown = if grown >= self.config.max_cooldown.as_nanos() as f64 {
            self.config.max_cooldown
        } else {
            Duration::from_nanos(grown as u64)
        };
        self.open(now);
    }

    fn acquire(&mut self, now: Instant) -> Admission {
        let generation = self.generation;
        match &mut self.state {
            ModelState::Closed { .. } => Ok((generation, Kind::Closed)),
            ModelState::Disabled => Ok((generation, Kind::Bypass)),
            ModelState::ForcedOpen => Err((now + self.config.cooldown, BreakerState::ForcedOpen)),
            ModelState::Open { retry_at } if now < *retry_at => {
                Err((*retry_at, BreakerState::Open))
            }
            ModelState::Open { .. } => {
                let half_open = ModelState::HalfOpen {
                    outstanding: 1,
                    successes: 0,
                    dwell_start: now,
                };
                self.go(half_open, now);
                Ok((self.generation, Kind::Probe))
            }
            ModelState::HalfOpen {
                outstanding,
                dwell_start,
                ..
            } => {
                let dwell_end = *dwell_start + self.config.max_half_open;
                if *outstanding > 0 && now >= dwell_end {
                    self.reopen(now);
                    let ModelState::Open { retry_at } = self.state else {
                        unreachable!()
                    };
                    return Err((retry_at, BreakerState::Open));
                }
                if *outstanding < self.config.max_probes.get() {
                    if *outstanding == 0 {
                        *dwell_start = (*dwell_start).max(now);
                    }
                    *outstanding += 1;
                    return Ok((generation, Kind::Probe));
                }
                Err((dwell_end, BreakerState::HalfOpen))
            }
        }
    }

    fn record(&mut self, generation: u64, kind: Kind, outcome: Outcome, now: Instant) {
        if generation != self.generation {
            return;
        }
        match (kind, outcome) {
            (Kind::Closed, Outcome::Success) => {
                self.closed_trips(false);
            }
            (Kind::Closed, Outcome::Failure) => {
                let trips = self.closed_trips(true);
                if trips {
                    self.cooldown = self.config.cooldown;
                    self.open(now);
                }
            }
            (Kind::Probe, _) => self.record_probe(outcome, now),
            _ => {}
        }
    }

    fn record_probe(&mut self, outcome: Outcome, now: Instant) {
        let ModelState::HalfOpen {
            outstanding,
            successes,
            dwell_start,
        } = &mut self.state
        else {
            unreachable!("a probe of the current generation implies half-open");
        };
        *outstanding -= 1;
        *dwell_start = (*dwell_start).max(now);
        match outcome {
            Outcome::Failure => self.reopen(now),
            Outcome::Success => {
                *successes += 1;
                if *successes >= self.config.probe_successes_to_close.get() {
                    self.go(
                        ModelState::Closed {
                            calls: 0,
                            failures: 0,
                        },
                        now,
                    );
                }
            }
            _ => {}
        }
    }

    /// Counts one closed-state outcome and returns whether the policy trips.
    fn closed_trips(&mut self, failed: bool) -> bool {
        let ModelState::Closed { calls, failures } = &mut self.state else {
            unreachable!()
        };
        match self.config.trip {
            TripPolicy::ConsecutiveFailures { threshold } => {
                *failures = if failed { *failures + 1 } else { 0 };
                *failures >= u64::from(threshold.get())
            }
            TripPolicy::FailureRate {
                window,
                min_calls,
                threshold_percent,
            } => {
                *calls += 1;
                *failures += u64::from(failed);
                let trips = failed
                    && *calls >= u64::from(min_calls.get())
                    && *failures * 100 >= u64::from(threshold_percent) * *calls;
                if *calls >= u64::from(window.get()) {
                    *calls /= 2;
                    *failures /= 2;
                }
                trips
            }
            _ => unreachable!("unknown trip policy"),
        }
    }

    fn release(&mut self, generation: u64, kind: Kind) {
        if let (true, Kind::Probe, ModelState::HalfOpen { outstanding, .. }) =
            (generation == self.generation, kind, &mut self.state)
        {
            *outstanding -= 1;
        }
    }

    fn operator(&mut self, state: ModelState, now: Instant) {
        self.go(state, now);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Acquire,
    Record { index: usize, outcome: Outcome },
    Drop { index: usize },
    Advance(Duration),
    Rewind(Duration),
    AcquireAroundRetryAt,
    ForceOpen,
    Disable,
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![
        Just(Outcome::Success),
        Just(Outcome::Failure),
        Just(Outcome::BackendAnswered)
    ];
    prop_oneof![
        5 => Just(Op::Acquire),
        5 => (any::<usize>(), outcome).prop_map(|(index, outcome)| Op::Record { index, outcome }),
        2 => any::<usize>().prop_map(|index| Op::Drop { index }),
        3 => (0u64..1_500).prop_map(|ms| Op::Advance(Duration::from_millis(ms))),
        1 => (1u64..3).prop_map(|ns| Op::Advance(Duration::from_nanos(ns))),
        1 => (0u64..1_500).prop_map(|ms| Op::Rewind(Duration::from_millis(ms))),
        2 => Just(Op::AcquireAroundRetryAt),
        1 => prop_oneof![Just(Op::ForceOpen), Just(Op::Disable), Just(Op::Reset)],
    ]
}

fn nonzero(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).unwrap()
}

fn trip_policy() -> impl Strategy<Value = TripPolicy> {
    let consecutive = (1u32..=5).prop_map(|threshold| TripPolicy::ConsecutiveFailures {
        threshold: nonzero(threshold),
    });
    let rate = (1u32..=8)
        .prop_flat_map(|window| (Just(window), 1..=window, 1u8..=100))
        .prop_map(|(window, min_calls, percent)| TripPolicy::FailureRate {
            window: nonzero(window),
            min_calls: nonzero(min_calls),
            threshold_percent: percent,
        });
    prop_oneof![consecutive, rate]
}

fn breaker_config() -> impl Strategy<Value = BreakerConfig> {
    (
        trip_policy(),
        1u64..=1_000,
        prop::sample::select(vec![1.0, 1.5, 2.0, 3.0]),
        1u64..=8,
        prop::sample::select(vec![0.0, 0.2, 0.5, 1.0]),
        1u32..=3,
        1u32..=3,
        1u64..=2_000,
    )
        .prop_map(
            |(trip, cooldown_ms, growth, max_factor, jitter, probes, successes, dwell_ms)| {
                let cooldown = Duration::from_millis(cooldown_ms);
                BreakerConfig {
                    trip,
                    cooldown,
                    cooldown_growth: growth,
                    max_cooldown: cooldown * max_factor as u32,
                    cooldown_jitter: jitter,
                    max_probes: nonzero(probes),
                    probe_successes_to_close: nonzero(successes),
                    max_half_open: Duration::from_millis(dwell_ms),
                }
            },
        )
}

struct HeldPermit<'a> {
    permit: Permit<'a>,
    generation: u64,
    kind: Kind,
}

/// Runs `ops` on a breaker and the model, checking every promise after each step.
fn run(config: BreakerConfig, seed: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let observer = Arc::new(RecordingObserver::default());
    let breaker = CircuitBreaker::new(config.clone(), Arc::new(SeededRandom::new(seed)))
        .unwrap()
        .with_observer(observer.clone());
    let mut model = Model::new(config.clone(), seed);
    let base = Instant::now();
    let mut offset = Duration::ZERO;
    let mut held: Vec<HeldPermit<'_>> = Vec::new();

    for (step, op) in ops.into_iter().enumerate() {
        let now = base + offset;
        let context = format!(
            "step {step}: {op:?} at +{offset:?}, model {:?}",
            model.state
        );
        match op {
            Op::Acquire => acquire_both(&breaker, &mut model, now, &mut held, &context)?,
            Op::Record { index, outcome } if !held.is_empty() => {
                let HeldPermit {
                    permit,
                    generation,
                    kind,
                } = held.remove(index % held.len());
                permit.record(outcome, now);
                model.record(generation, kind, outcome, now);
            }
            Op::Drop { index } if !held.is_empty() => {
                let HeldPermit {
                    permit,
                    generation,
                    kind,
                } = held.remove(index % held.len());
                drop(permit);
                model.release(generation, kind);
            }
            Op::Record { .. } | Op::Drop { .. } => {}
            Op::Advance(step) => offset += step,
            Op::Rewind(step) => offset = offset.saturating_sub(step),
            Op::AcquireAroundRetryAt => {
                if let ModelState::Open { retry_at } = model.state {
                    offset = check_retry_at_exact(
                        &breaker, &mut model, retry_at, base, &mut held, &context,
                    )?;
                }
            }
            Op::ForceOpen => {
                breaker.force_open(now);
                model.operator(ModelState::ForcedOpen, now);
            }
            Op::Disable => {
                breaker.disable(now);
                model.operator(ModelState::Disabled, now);
            }
            Op::Reset => {
                breaker.reset(now);
                model.operator(
                    ModelState::Closed {
                        calls: 0,
                        failures: 0,
                    },
                    now,
                );
            }
        }

        prop_assert_eq!(breaker.state(), model.public_state(), "{}", context);
        prop_assert_eq!(&observer.transitions(), &model.transitions, "{}", context);
        if let ModelState::HalfOpen { outstanding, .. } = model.state {
            let live_probes = held
                .iter()
                .filter(|h| h.kind == Kind::Probe && h.generation == model.generation)
                .count();
            prop_assert_eq!(live_probes, outstanding as usize, "{}", context);
            prop_assert!(outstanding <= config.max_probes.get(), "{}", context);
        }
    }
    Ok(())
}

fn acquire_both<'a>(
    breaker: &'a CircuitBreaker,
    model: &mut Model,
    now: Instant,
    held: &mut Vec<HeldPermit<'a>>,
    context: &str,
) -> Result<(), TestCaseError> {
    let actual = breaker.try_acquire(now);
    let expected = model.acquire(now);
    match (actual, expected) {
        (Ok(permit), Ok((generation, kind))) => {
            prop_assert_eq!(permit.is_probe(), kind == Kind::Probe, "{}", context);
            held.push(HeldPermit {
                permit,
                generation,
                kind,
            });
        }
        (Err(rejected), Err((retry_at, state))) => {
            prop_assert_eq!(rejected.retry_at(), retry_at, "{}", context);
            prop_assert_eq!(rejected.state(), state, "{}", context);
            prop_assert_eq!(
                rejected.retry_after(now),
                retry_at.saturating_duration_since(now),
                "{}",
                context
            );
        }
        (actual, expected) => {
            prop_assert!(
                false,
                "{}: breaker {:?}, model {:?}",
                context,
                actual,
                expected
            );
        }
    }
    Ok(())
}

/// Acquires 1 ns before `retry_at`, which must be rejected with the same
/// `retry_at`, then at `retry_at`, which must be admitted as a probe.
fn check_retry_at_exact<'a>(
    breaker: &'a CircuitBreaker,
    model: &mut Model,
    retry_at: Instant,
    base: Instant,
    held: &mut Vec<HeldPermit<'a>>,
    context: &str,
) -> Result<Duration, TestCaseError> {
    let just_before = retry_at - Duration::from_nanos(1);
    let rejected = breaker.try_acquire(just_before);
    prop_assert_eq!(
        rejected.as_ref().err().map(|r| r.retry_at()),
        Some(retry_at),
        "{}",
        context
    );
    prop_assert_eq!(
        rejected.as_ref().err().map(|r| r.retry_after(just_before)),
        Some(Duration::from_nanos(1)),
        "{}",
        context
    );
    drop(rejected);
    prop_assert!(model.acquire(just_before).is_err(), "{}", context);

    acquire_both(breaker, model, retry_at, held, context)?;
    prop_assert!(
        held.last().is_some_and(|h| h.kind == Kind::Probe),
        "{}: not admitted at retry_at",
        context
    );
    Ok(retry_at.saturating_duration_since(base))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/breaker_model.txt"
        )))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn breaker_matches_reference_model(
        config in breaker_config(),
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        run(config, seed, ops)?;
    }
}
