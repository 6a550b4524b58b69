//! Circuit breaker hot paths against `recloser` and `failsafe`: the closed
//! path (admit, then record a success) and a rejection while open, on one
//! thread and on two threads sharing one breaker.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use recloser::Recloser;
use resilience_core::{BreakerConfig, CircuitBreaker, FixedRandom, Outcome};

#[allow(dead_code, reason = "each benchmark binary uses a part of the helpers")]
mod support;

use support::bench_threads;
use support::open::{open_breaker, open_failsafe, open_recloser};

fn closed_path(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("breaker_closed");

    let breaker = CircuitBreaker::new(BreakerConfig::default(), Arc::new(FixedRandom::new(0.0)))
        .expect("valid breaker settings");
    // The breaker never reads a clock, so the benchmark passes one reading as
    // the executor does.
    let now = Instant::now();
    bench_threads(&mut group, "resilience-core", || {
        let permit = breaker
            .try_acquire(black_box(now))
            .expect("a closed breaker admits");
        permit.record(Outcome::Success, now);
    });

    let recloser = Recloser::default();
    bench_threads(&mut group, "recloser call", || {
        recloser.call(|| Ok::<_, ()>(black_box(1)))
    });

    let failsafe = failsafe::Config::new().build();
    bench_threads(&mut group, "failsafe call", || {
        failsafe.call(|| Ok::<_, ()>(black_box(1)))
    });

    let failsafe = failsafe::Config::new().build();
    bench_threads(&mut group, "failsafe permitted+on_success", || {
        assert!(failsafe.is_call_permitted(), "a closed breaker admits");
        failsafe.on_success();
    });

    group.finish();
}

fn open_rejection(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("breaker_open");

    let breaker = open_breaker(Instant::now());
    // The peers read the clock on this path, so ours is given a fresh reading.
    bench_threads(&mut group, "resilience-core", || {
        assert!(
            breaker.try_acquire(Instant::now()).is_err(),
            "the breaker is open"
        );
    });

    let recloser = open_recloser();
    bench_threads(&mut group, "recloser call", || {
        assert!(
            recloser.call(|| Ok::<_, ()>(black_box(1))).is_err(),
            "recloser is open"
        );
    });

    let failsafe = open_failsafe();
    bench_threads(&mut group, "failsafe call", || {
        assert!(
            failsafe.call(|| Ok::<_, ()>(black_box(1))).is_err(),
            "failsafe is open"
        );
    });

    group.finish();
}

criterion_group!(benches, closed_path, open_rejection);
criterion_main!(benches);
