//! A `tower` layer that runs every request of a service through an
//! [`Executor`]. Enabled by the `tower` feature.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::{Layer, Service, ServiceExt};

use crate::classify::Classify;
use crate::executor::{CallError, Executor, Idempotency};

/// Wraps services in an [`ExecutorService`].
#[derive(Debug, Clone)]
pub struct ExecutorLayer {
    executor: Executor,
    idempotency: Idempotency,
}

impl ExecutorLayer {
    /// Creates a layer whose requests all have the given idempotency.
    pub fn new(executor: Executor, idempotency: Idempotency) -> Self {
        Self {
            executor,
            idempotency,
        }
    }
}

impl<S> Layer<S> for ExecutorLayer {
    type Service = ExecutorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ExecutorService {
            inner,
            executor: self.executor.clone(),
            idempotency: self.idempotency,
        }
    }
}

/// A service whose requests run under an executor's deadline, retries,
/// budget and breaker.
///
/// Each attempt clones the inner service and the request, waits for the
/// clone to be ready and calls it, so readiness counts against the attempt's
/// timeout. The response future is boxed: one allocation per request.
#[derive(Debug, Clone)]
pub struct ExecutorService<S> {
    inner: S,
    executor: Executor,
    idempotency: Idempotency,
}

/// The future an [`ExecutorService`] returns.
pub type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, CallError<E>>> + Send>>;

impl<S, Request> Service<Request> for ExecutorService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Classify + Send + 'static,
    Request: Clone + Send + 'static,
{
    type Response = S::Response;
    type Error = CallError<S::Error>;
    type Future = ResponseFuture<S::Response, S::Error>;

    /// Always ready: each attempt waits for its own clone of the inner
    /// service, under the attempt's timeout.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let inner = self.inner.clone();
        let executor = self.executor.clone();
        let idempotency = self.idempotency;
        Box::pin(async move {
            executor
                .call(idempotency, move |_attempt| {
                    let service = inner.clone();
                    let request = request.clone();
                    async move { service.oneshot(request).await }
                })
                .await
        })
    }
}
