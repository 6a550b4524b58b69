//! Heap allocations per call on the hot paths, ours and the peers', counted
//! with `dhat` as the global allocator. Prints a Markdown table.
//!
//! Run with `cargo bench -p resilience-core --bench alloc`; arguments are
//! ignored.

use std::future::{Future, ready};
use std::hint::black_box;
use std::io;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use failsafe::CircuitBreaker as _;
use governor::{Quota, RateLimiter};
use recloser::{AsyncRecloser, Recloser};
use resilience_core::executor::{Executor, ExecutorConfig, Idempotency};
use resilience_core::{
    BreakerConfig, BudgetConfig, CircuitBreaker, FixedRandom, Outcome, RetryBudget, TokioClock,
};
use tokio::runtime::Runtime;
use tower::retry::budget::{Budget as _, TpsBudget};

#[allow(dead_code, reason = "each benchmark binary uses a part of the helpers")]
mod support;

use support::open::{open_breaker, open_failsafe, open_recloser};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Calls made before counting, so that lazy one-time setup is not counted.
const WARM_UP_CALLS: u64 = 1_000;
/// Calls counted per path.
const COUNTED_CALLS: u64 = 100_000;

/// Allocations of one path, per call.
struct Row {
    path: &'static str,
    blocks_per_call: f64,
    bytes_per_call: f64,
}

impl Row {
    fn between(path: &'static str, before: &dhat::HeapStats, after: &dhat::HeapStats) -> Self {
        Self {
            path,
            blocks_per_call: (after.total_blocks - before.total_blocks) as f64
                / COUNTED_CALLS as f64,
            bytes_per_call: (after.total_bytes - before.total_bytes) as f64 / COUNTED_CALLS as f64,
        }
    }
}

fn count<T>(path: &'static str, mut operation: impl FnMut() -> T) -> Row {
    for _ in 0..WARM_UP_CALLS {
        black_box(operation());
    }
    let before = dhat::HeapStats::get();
    for _ in 0..COUNTED_CALLS {
        black_box(operation());
    }
    Row::between(path, &before, &dhat::HeapStats::get())
}

fn count_async<C, Fut>(runtime: &Runtime, path: &'static str, mut call: C) -> Row
where
    C: FnMut() -> Fut,
    Fut: Future,
{
    runtime.block_on(async {
        for _ in 0..WARM_UP_CALLS {
            black_box(call().await);
        }
        let before = dhat::HeapStats::get();
        for _ in 0..COUNTED_CALLS {
            black_box(call().await);
        }
        Row::between(path, &before, &dhat::HeapStats::get())
    })
}

fn operation() -> impl Future<Output = Result<u64, io::Error>> {
    ready(Ok(black_box(1)))
}

fn breaker_rows() -> Vec<Row> {
    let now = Instant::now();
    let ours = CircuitBreaker::new(BreakerConfig::default(), Arc::new(FixedRandom::new(0.0)))
        .expect("valid breaker settings");
    let recloser = Recloser::default();
    let failsafe = failsafe::Config::new().build();
    let open = open_breaker(now);
    let open_recloser = open_recloser();
    let open_failsafe = open_failsafe();
    vec![
        count("control: Box::new(u64)", || Box::new(black_box(1_u64))),
        count("resilience-core breaker acquire + record(Success)", || {
            ours.try_acquire(now)
                .expect("a closed breaker admits")
                .record(Outcome::Success, now);
        }),
        count("recloser Recloser::call", || {
            recloser.call(|| Ok::<_, ()>(1))
        }),
        count("failsafe call", || failsafe.call(|| Ok::<_, ()>(1))),
        count("failsafe is_call_permitted + on_success", || {
            failsafe.is_call_permitted();
            failsafe.on_success();
        }),
        count("resilience-core breaker rejection while open", || {
            open.try_acquire(Instant::now()).is_err()
        }),
        count("recloser rejection while open", || {
            open_recloser.call(|| Ok::<_, ()>(1)).is_err()
        }),
        count("failsafe rejection while open", || {
            open_failsafe.call(|| Ok::<_, ()>(1)).is_err()
        }),
    ]
}

fn budget_rows() -> Vec<Row> {
    let config = BudgetConfig {
        ratio: 1.0,
        ..BudgetConfig::default()
    };
    let ours = RetryBudget::new(config, Arc::new(TokioClock)).expect("valid budget settings");
    let tower = TpsBudget::new(Duration::from_secs(10), 10, 1.0);
    let quota = Quota::per_second(NonZeroU32::MAX).allow_burst(NonZeroU32::MAX);
    let governor = RateLimiter::direct(quota);
    vec![
        count("resilience-core budget deposit + try_withdraw", || {
            ours.deposit();
            ours.try_withdraw()
        }),
        count("tower TpsBudget deposit + withdraw", || {
            tower.deposit();
            tower.withdraw()
        }),
        count("governor check", || governor.check().is_ok()),
    ]
}

fn async_rows() -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread tokio runtime");
    let executor = Executor::new(ExecutorConfig::default()).expect("default settings are valid");
    let open_executor =
        Executor::new(ExecutorConfig::default()).expect("default settings are valid");
    let recloser = AsyncRecloser::from(Recloser::default());
    let failsafe = failsafe::Config::new().build();
    runtime.block_on(async {
        open_executor
            .breaker()
            .force_open(open_executor.clock().now())
    });
    vec![
        count_async(&runtime, "resilience-core executor call", || {
            executor.call(Idempotency::Idempotent, |_attempt| operation())
        }),
        count_async(&runtime, "resilience-core executor call while open", || {
            open_executor.call(Idempotency::Idempotent, |_attempt| operation())
        }),
        count_async(&runtime, "recloser AsyncRecloser::call", || {
            recloser.call(operation())
        }),
        count_async(&runtime, "failsafe futures call", || {
            failsafe::futures::CircuitBreaker::call(&failsafe, operation())
        }),
        count_async(&runtime, "tokio::time::timeout", || {
            tokio::time::timeout(Duration::from_secs(1), operation())
        }),
    ]
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut rows = breaker_rows();
    rows.extend(budget_rows());
    rows.extend(async_rows());

    println!("| path | allocations per call | bytes per call |");
    println!("|---|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.3} | {:.1} |",
            row.path, row.blocks_per_call, row.bytes_per_call
        );
    }
}
