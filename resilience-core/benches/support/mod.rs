//! Timing loops shared by the benchmarks: one thread, or several threads
//! hammering one shared instance.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, BenchmarkId, measurement::WallTime};

pub(crate) mod open;

/// Thread counts of every contended benchmark: alone, and two threads on
/// the 2-vCPU machine the figures were taken on.
pub(crate) const THREAD_COUNTS: [usize; 2] = [1, 2];

/// Runs `worker` on `threads` threads at once and returns the longest
/// elapsed time any of them reported.
///
/// Each worker receives the barrier and the number of operations to run. It
/// does its own setup, waits on the barrier and then times its loop. The
/// result divided by `iters` is the time per operation per thread while all
/// threads run together.
pub(crate) fn contended<W>(threads: usize, iters: u64, worker: W) -> Duration
where
    W: Fn(&Barrier, u64) -> Duration + Sync,
{
    let barrier = Barrier::new(threads);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| worker(&barrier, iters)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a benchmark thread panicked"))
            .max()
            .unwrap_or_default()
    })
}

/// Waits on `barrier`, then times `iters` calls of `operation`.
pub(crate) fn timed_loop<T>(
    barrier: &Barrier,
    iters: u64,
    mut operation: impl FnMut() -> T,
) -> Duration {
    barrier.wait();
    let start = Instant::now();
    for _ in 0..iters {
        black_box(operation());
    }
    start.elapsed()
}

/// Registers `operation` under `name` once per entry of [`THREAD_COUNTS`],
/// every thread calling it on the same shared state.
pub(crate) fn bench_threads<T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    operation: impl Fn() -> T + Sync,
) {
    for threads in THREAD_COUNTS {
        group.bench_function(BenchmarkId::new(name, threads), |bencher| {
            bencher.iter_custom(|iters| {
                contended(threads, iters, |barrier, iters| {
                    timed_loop(barrier, iters, &operation)
                })
            });
        });
    }
}
