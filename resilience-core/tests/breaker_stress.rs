//! Threads recording outcomes while an operator resets, forces open and disables.

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use resilience_core::{
    BreakerConfig, BreakerState, CircuitBreaker, Outcome, SeededRandom, TripPolicy,
};
use support::RecordingObserver;

const WORKERS: u64 = 4;
const OPERATIONS: u64 = 20_000;
const OPERATOR_ACTIONS: u64 = 2_000;

/// A shared time that every thread moves forward by a few microseconds.
struct SharedTime {
    origin: Instant,
    micros: AtomicU64,
}

impl SharedTime {
    fn tick(&self, micros: u64) -> Instant {
        let elapsed = self.micros.fetch_add(micros, Ordering::Relaxed) + micros;
        self.origin + Duration::from_micros(elapsed)
    }
}

fn config() -> BreakerConfig {
    BreakerConfig {
        trip: TripPolicy::ConsecutiveFailures {
            threshold: NonZeroU32::new(3).unwrap(),
        },
        cooldown: Duration::from_micros(200),
        max_cooldown: Duration::from_millis(2),
        max_probes: NonZeroU32::new(2).unwrap(),
        probe_successes_to_close: NonZeroU32::new(2).unwrap(),
        max_half_open: Duration::from_millis(1),
        ..BreakerConfig::default()
    }
}

/// Acquires and records a pseudo-random mix of outcomes, sometimes dropping
/// the permit or holding it across later acquires.
fn work(breaker: &CircuitBreaker, time: &SharedTime, seed: u64) {
    let mut state = seed;
    let mut kept = None;
    for _ in 0..OPERATIONS {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let roll = state >> 60;
        let now = time.tick(1 + (state >> 58 & 3));
        let Ok(permit) = breaker.try_acquire(now) else {
            continue;
        };
        match roll {
            0..=6 => permit.record(Outcome::Failure, now),
            7..=11 => permit.record(Outcome::Success, now),
            12 => permit.record(Outcome::BackendAnswered, now),
            13 => drop(permit),
            _ => {
                if let Some(old) = kept.replace(permit) {
                    old.record(Outcome::Success, now);
                }
            }
        }
    }
}

fn operate(breaker: &CircuitBreaker, time: &SharedTime, stop: &AtomicBool) {
    for action in 0..OPERATOR_ACTIONS {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let now = time.tick(3);
        match action % 7 {
            0 => breaker.force_open(now),
            1 => breaker.disable(now),
            _ => breaker.reset(now),
        }
        thread::yield_now();
    }
}

#[test]
fn racing_records_and_operator_keep_transitions_chained() {
    let observer = Arc::new(RecordingObserver::default());
    let breaker = CircuitBreaker::new(config(), Arc::new(SeededRandom::new(3)))
        .unwrap()
        .with_observer(observer.clone());
    let time = SharedTime {
        origin: Instant::now(),
        micros: AtomicU64::new(0),
    };
    let stop = AtomicBool::new(false);

    thread::scope(|scope| {
        let (breaker, time) = (&breaker, &time);
        let workers: Vec<_> = (0..WORKERS)
            .map(|seed| scope.spawn(move || work(breaker, time, seed * 7 + 1)))
            .collect();
        scope.spawn(|| operate(breaker, time, &stop));
        for worker in workers {
            worker.join().expect("a worker panicked");
        }
        stop.store(true, Ordering::Relaxed);
    });

    let transitions = observer.transitions();
    assert!(transitions.len() > 100, "{} transitions", transitions.len());
    assert_eq!(transitions[0].0, BreakerState::Closed);
    for pair in transitions.windows(2) {
        let [(_, to, _), (from, _, _)] = pair else {
            unreachable!()
        };
        assert_eq!(
            to, from,
            "transition {:?} does not follow {:?}",
            pair[1], pair[0]
        );
        assert_ne!(
            pair[1].0, pair[1].1,
            "a reported transition changes the state"
        );
    }
    assert_eq!(
        transitions.last().map(|(_, to, _)| *to),
        Some(breaker.state())
    );
}

#[test]
fn breaker_recovers_after_racing_records() {
    let breaker = CircuitBreaker::new(config(), Arc::new(SeededRandom::new(5))).unwrap();
    let time = SharedTime {
        origin: Instant::now(),
        micros: AtomicU64::new(0),
    };

    thread::scope(|scope| {
        let (breaker, time) = (&breaker, &time);
        for seed in 0..WORKERS {
            scope.spawn(move || work(breaker, time, seed * 11 + 3));
        }
    });

    // Every permit is gone, so after the longest cooldown and dwell the
    // breaker must admit probes again and close on their successes.
    let mut now = time.tick(0);
    for _ in 0..10 {
        now += Duration::from_millis(4);
        if let Ok(permit) = breaker.try_acquire(now) {
            permit.record(Outcome::Success, now);
        }
        if breaker.state() == BreakerState::Closed {
            return;
        }
    }
    panic!("breaker stuck in {:?} at {now:?}", breaker.state());
}
