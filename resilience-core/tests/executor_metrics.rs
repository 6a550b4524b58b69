//! The executor's metrics, read back through a debugging recorder.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};
use resilience_core::executor::{
    ATTEMPTS_TOTAL, CALL_DURATION_SECONDS, CALLS_TOTAL, Executor, ExecutorConfig, Idempotency,
    RETRIES_TOTAL,
};

/// Every metric of one snapshot; a snapshot drains what it reads, so a test
/// takes one and queries it.
type Metrics = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

fn value<'a>(
    metrics: &'a Metrics,
    kind: MetricKind,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<&'a DebugValue> {
    metrics
        .iter()
        .find(|(key, _, _, _)| {
            key.kind() == kind
                && key.key().name() == name
                && labels.iter().all(|(label, expected)| {
                    key.key()
                        .labels()
                        .any(|found| found.key() == *label && found.value() == *expected)
                })
        })
        .map(|(_, _, _, value)| value)
}

fn counter(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(metrics, MetricKind::Counter, name, labels) {
        Some(DebugValue::Counter(count)) => *count,
        other => panic!("counter {name} {labels:?} not recorded: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn retried_call_is_counted_under_the_documented_names() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let executor = metrics::with_local_recorder(&recorder, || {
        Executor::builder()
            .config(ExecutorConfig::default())
            .name("sessions")
            .build()
            .expect("default settings are valid")
    });
    let calls = AtomicU32::new(0);

    executor
        .call(Idempotency::Idempotent, |_| {
            let first = calls.fetch_add(1, Ordering::Relaxed) == 0;
            async move {
                if first {
                    Err(io::Error::from(io::ErrorKind::ConnectionReset))
                } else {
                    Ok(())
                }
            }
        })
        .await
        .expect("the retry succeeds");

    let metrics: Metrics = snapshotter.snapshot().into_vec();
    let labels = [("executor", "sessions")];
    assert_eq!(counter(&metrics, ATTEMPTS_TOTAL, &labels), 2);
    assert_eq!(counter(&metrics, RETRIES_TOTAL, &labels), 1);
    assert_eq!(
        counter(
            &metrics,
            CALLS_TOTAL,
            &[("executor", "sessions"), ("outcome", "success")]
        ),
        1
    );
    match value(
        &metrics,
        MetricKind::Histogram,
        CALL_DURATION_SECONDS,
        &labels,
    ) {
        Some(DebugValue::Histogram(samples)) => assert_eq!(samples.len(), 1),
        other => panic!("call duration not recorded: {other:?}"),
    }
}
