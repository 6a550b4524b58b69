//! The success path of a call allocates nothing, counted with dhat's
//! allocator.

use std::io;

use resilience_core::executor::{Executor, ExecutorConfig, Idempotency};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

#[test]
fn ready_call_on_closed_breaker_allocates_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    let executor = Executor::new(ExecutorConfig::default()).expect("default settings are valid");

    runtime.block_on(async {
        let call = || executor.call(Idempotency::Idempotent, |_| async { Ok::<_, io::Error>(1) });
        for _ in 0..10 {
            call().await.expect("warm-up call succeeds");
        }

        let before = dhat::HeapStats::get();
        for _ in 0..1000 {
            call().await.expect("call succeeds");
        }
        let after = dhat::HeapStats::get();

        assert_eq!(
            after.total_blocks - before.total_blocks,
            0,
            "1000 calls allocated {} blocks ({} bytes)",
            after.total_blocks - before.total_blocks,
            after.total_bytes - before.total_bytes
        );
    });
}
