//! The tower layer retries through the executor.
#![cfg(feature = "tower")]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use resilience_core::executor::{CallErrorKind, Executor, ExecutorConfig, Idempotency};
use resilience_core::tower::ExecutorLayer;
use tower::{ServiceBuilder, ServiceExt, service_fn};

#[tokio::test(start_paused = true)]
async fn layer_retries_a_transient_service_error() {
    let executor = Executor::new(ExecutorConfig::default()).expect("default settings are valid");
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let service = ServiceBuilder::new()
        .layer(ExecutorLayer::new(executor, Idempotency::Idempotent))
        .service(service_fn(move |request: u32| {
            let first = counted.fetch_add(1, Ordering::Relaxed) == 0;
            async move {
                if first {
                    Err(io::Error::from(io::ErrorKind::ConnectionReset))
                } else {
                    Ok(request * 2)
                }
            }
        }));

    let response = service.oneshot(21).await.expect("the retry succeeds");

    assert_eq!(response, 42);
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn layer_returns_a_permanent_error_after_one_attempt() {
    let executor = Executor::new(ExecutorConfig::default()).expect("default settings are valid");
    let service = ServiceBuilder::new()
        .layer(ExecutorLayer::new(executor, Idempotency::Idempotent))
        .service(service_fn(|_: ()| async {
            Err::<(), _>(io::Error::from(io::ErrorKind::PermissionDenied))
        }));

    let error = service.oneshot(()).await.expect_err("permission denied");

    assert_eq!(error.kind(), CallErrorKind::Permanent);
    assert_eq!(error.attempts(), 1);
}
