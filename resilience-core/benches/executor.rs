//! The executor's `call` around an operation that is ready at once, against
//! calling the operation directly, the async breakers of `recloser` and
//! `failsafe`, `tokio::time::timeout`, and two clock reads for reference.
//!
//! Each thread runs its loop inside `block_on` of its own current-thread
//! tokio runtime; with two threads, both share one executor or breaker.

use std::future::{Future, ready};
use std::hint::black_box;
use std::io;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use failsafe::futures::CircuitBreaker as _;
use recloser::{AsyncRecloser, Recloser};
use resilience_core::Outcome;
use resilience_core::executor::{Executor, ExecutorConfig, Idempotency};
use tokio::runtime::{Builder, Runtime};

#[allow(dead_code, reason = "each benchmark binary uses a part of the helpers")]
mod support;

use support::{THREAD_COUNTS, bench_threads, contended};

/// Deadline given to `tokio::time::timeout`, the executor's default request deadline.
const DEADLINE: Duration = Duration::from_secs(1);

fn runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime")
}

/// The operation every variant wraps: ready at once, never failing.
fn operation() -> impl Future<Output = Result<u64, io::Error>> {
    ready(Ok(black_box(1)))
}

/// Registers `name` once per thread count. Each thread builds its own
/// runtime, waits on the barrier, then times `iters` awaits of `call` inside
/// one `block_on`.
fn bench_async<C, Fut>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, call: C)
where
    C: Fn() -> Fut + Sync,
    Fut: Future,
{
    for threads in THREAD_COUNTS {
        group.bench_function(BenchmarkId::new(name, threads), |bencher| {
            bencher.iter_custom(|iters| {
                contended(threads, iters, |barrier: &Barrier, iters| {
                    let runtime = runtime();
                    barrier.wait();
                    runtime.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            black_box(call().await);
                        }
                        start.elapsed()
                    })
                })
            });
        });
    }
}

fn ready_call(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("executor_ready_call");

    bench_async(&mut group, "direct", operation);

    let executor = Executor::new(ExecutorConfig::default()).expect("default settings are valid");
    bench_async(&mut group, "resilience-core call", || async {
        executor
            .call(Idempotency::Idempotent, |_attempt| operation())
            .await
            .expect("a ready operation succeeds")
    });

    let recloser = AsyncRecloser::from(Recloser::default());
    // The same breaker, budget and clock driven by hand with only the steps
    // a ready call needs: the executor's floor on this path.
    let parts = executor.clone();
    bench_async(&mut group, "resilience-core parts by hand", || async {
        let now = parts.clock().now();
        let permit = parts
            .breaker()
            .try_acquire(now)
            .expect("a closed breaker admits");
        parts.budget().deposit();
        let value = operation().await.expect("a ready operation succeeds");
        permit.record(Outcome::Success, now);
        value
    });

    bench_async(&mut group, "recloser AsyncRecloser::call", || {
        recloser.call(operation())
    });

    let failsafe = failsafe::Config::new().build();
    bench_async(&mut group, "failsafe futures call", || {
        failsafe.call(operation())
    });

    bench_async(&mut group, "tokio timeout", || {
        tokio::time::timeout(DEADLINE, operation())
    });

    group.finish();
}

fn clock_reads(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("clock_read");

    bench_threads(&mut group, "std Instant::now", Instant::now);
    bench_async(&mut group, "tokio Instant::now", || {
        ready(tokio::time::Instant::now())
    });

    group.finish();
}

criterion_group!(benches, ready_call, clock_reads);
criterion_main!(benches);
