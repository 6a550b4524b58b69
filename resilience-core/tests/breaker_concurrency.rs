//! Many threads racing for half-open probe slots.

mod support;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use resilience_core::{
    BreakerConfig, BreakerState, CircuitBreaker, FixedRandom, Outcome, TripPolicy,
};
use support::RecordingObserver;

const THREADS: usize = 50;
const ROUNDS: usize = 10_000;
const MAX_PROBES: u32 = 3;
const COOLDOWN: Duration = Duration::from_millis(1);

/// Each round trips the breaker, then all threads acquire at the end of the
/// cooldown at once. A thread holds what it got until the next round starts,
/// so no slot is freed while others are still trying.
#[test]
fn concurrent_acquirers_get_exactly_max_probes() {
    let config = BreakerConfig {
        trip: TripPolicy::ConsecutiveFailures {
            threshold: NonZeroU32::MIN,
        },
        cooldown: COOLDOWN,
        max_cooldown: COOLDOWN,
        cooldown_jitter: 0.0,
        max_probes: NonZeroU32::new(MAX_PROBES).unwrap(),
        ..BreakerConfig::default()
    };
    let observer = Arc::new(RecordingObserver::default());
    let breaker = CircuitBreaker::new(config, Arc::new(FixedRandom::new(0.0)))
        .unwrap()
        .with_observer(observer.clone());
    let start = Instant::now();
    let round_start = |round: usize| start + Duration::from_millis(10) * round as u32;
    let barrier = Barrier::new(THREADS + 1);
    let admitted = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    // Failures are collected, not asserted inside the scope: a panic there
    // would leave the other threads waiting at the barrier forever.
    let mut wrong_rounds = Vec::new();

    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                let mut held = None;
                for round in 0..ROUNDS {
                    barrier.wait();
                    // The previous round's permit is from an older generation.
                    drop(held.take());
                    held = breaker.try_acquire(round_start(round) + COOLDOWN).ok();
                    if held.is_some() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                }
                // Dropping the last permit before every thread has tried
                // would free a slot within the last round.
                barrier.wait();
            });
        }

        for round in 0..ROUNDS {
            let now = round_start(round);
            breaker.reset(now);
            breaker
                .try_acquire(now)
                .unwrap()
                .record(Outcome::Failure, now);
            let state = breaker.state();
            barrier.wait();
            while finished.load(Ordering::SeqCst) < THREADS {
                thread::yield_now();
            }
            finished.store(0, Ordering::SeqCst);
            let got = admitted.swap(0, Ordering::SeqCst);
            if state != BreakerState::Open || got != MAX_PROBES as usize {
                wrong_rounds.push((round, state, got));
            }
        }
        barrier.wait();
    });

    assert_eq!(
        wrong_rounds,
        [],
        "(round, state before acquiring, permits admitted)"
    );
    assert_eq!(
        observer.count(BreakerState::Open, BreakerState::HalfOpen),
        ROUNDS
    );
    assert_eq!(
        observer.count(BreakerState::Closed, BreakerState::Open),
        ROUNDS
    );
}
