//! One attempt: its deadlines, and running it under its timeout.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

use super::timer::timer_instant;

/// The number and deadlines of one attempt, passed to the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    number: u32,
    deadline: Instant,
    request_deadline: Instant,
}

impl Attempt {
    pub(crate) fn new(number: u32, deadline: Instant, request_deadline: Instant) -> Self {
        Self {
            number,
            deadline,
            request_deadline,
        }
    }

    /// Returns the attempt's number: 1 for the first attempt, 2 for the
    /// first retry.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// Returns whether this attempt is a retry.
    pub fn is_retry(&self) -> bool {
        self.number > 1
    }

    /// Returns the instant at which the executor abandons this attempt: the
    /// earlier of its start plus the attempt timeout and the request deadline,
    /// cut to whole milliseconds after its start because tokio's timer counts
    /// whole milliseconds. Work inside the attempt, such as dialing a
    /// connection, should end by then.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Returns the deadline of the whole call.
    pub fn request_deadline(&self) -> Instant {
        self.request_deadline
    }
}

/// The end of one attempt.
pub(crate) enum AttemptEnd<T> {
    /// The operation completed on its first poll, without waiting.
    Immediate(T),
    /// The operation completed after waiting at least once.
    Waited(T),
    /// The attempt's deadline passed first; the operation was dropped.
    TimedOut,
}

/// Runs `operation` until it completes or `deadline` passes.
///
/// `deadline` must be a clock reading plus whole milliseconds, so that the
/// timer fires at it rather than on the next tick. The operation is polled
/// once before any timer exists, so an operation that is ready at once costs
/// no timer registration.
pub(crate) async fn run_attempt<F: Future>(
    operation: F,
    deadline: Instant,
) -> AttemptEnd<F::Output> {
    let mut operation = pin!(operation);
    let first = poll_fn(|cx| Poll::Ready(operation.as_mut().poll(cx))).await;
    if let Poll::Ready(output) = first {
        return AttemptEnd::Immediate(output);
    }
    match tokio::time::timeout_at(timer_instant(deadline), operation).await {
        Ok(output) => AttemptEnd::Waited(output),
        Err(_elapsed) => AttemptEnd::TimedOut,
    }
}
