//! The call loop: admission, attempt, outcome, retry decision.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::breaker::{Outcome, Rejected};
use crate::classify::{Classify, Delivery};

use super::attempt::{Attempt, AttemptEnd, run_attempt};
use super::error::LastFailure;
use super::timer::{timer_instant, whole_millis};
use super::{CallError, CallErrorKind, Executor, Idempotency};

/// State carried from one attempt to the next.
struct Progress {
    start: Instant,
    deadline: Instant,
    attempts: u32,
    previous_delay: Duration,
}

/// The next step after an attempt whose outcome is recorded.
enum Step<T, E> {
    Done(T),
    GiveUp(CallErrorKind, LastFailure<E>),
    Failed(LastFailure<E>, Delivery),
}

impl Executor {
    /// Runs `operation` under the executor's deadline, retry, budget and
    /// breaker policy, and returns its value or why it failed.
    ///
    /// `operation` is called once per attempt with that attempt's
    /// [`Attempt`]; each call must start a fresh request. An attempt that is
    /// still running at [`Attempt::deadline`] is dropped, so any connection it uses
    /// should be discarded on drop.
    ///
    /// # Errors
    ///
    /// Returns a [`CallError`] whose [`kind`](CallError::kind) gives the reason the
    /// call gave up. The table on [`CallErrorKind`] explains each kind.
    pub async fn call<T, E, F, Fut>(
        &self,
        idempotency: Idempotency,
        mut operation: F,
    ) -> Result<T, CallError<E>>
    where
        E: Classify,
        F: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let inner = &*self.inner;
        let start = inner.clock.now();
        let mut progress = Progress {
            start,
            deadline: start.checked_add(self.request_deadline()).unwrap_or(start),
            attempts: 0,
            previous_delay: Duration::ZERO,
        };
        let mut now = start;
        let mut last_failure = None;
        loop {
            let permit = match inner.breaker.try_acquire(now) {
                Ok(permit) => permit,
                Err(rejected) => return Err(self.reject(rejected, last_failure, &progress, now)),
            };
            progress.attempts += 1;
            self.count_attempt(progress.attempts);

            let attempt_time = if progress.attempts == 1 {
                inner.first_attempt_time
            } else {
                let time_left = progress.deadline.saturating_duration_since(now);
                whole_millis(inner.config.attempt_timeout.min(time_left))
            };
            // The sum is at most the request deadline, so it does not overflow.
            let attempt_deadline = now + attempt_time;
            let attempt = Attempt::new(progress.attempts, attempt_deadline, progress.deadline);
            let end = run_attempt(operation(attempt), attempt_deadline).await;
            let (step, ended) = self.record(end, permit, now);
            now = ended;

            let (last, delivery) = match step {
                Step::Done(value) => return Ok(self.succeed(value, &progress, now)),
                Step::GiveUp(kind, last) => return Err(self.fail(kind, last, &progress, now)),
                Step::Failed(last, delivery) => (last, delivery),
            };
            match self.plan_retry(&mut progress, idempotency, delivery, now) {
                Ok(wake) => {
                    tracing::debug!(
                        executor = %inner.name,
                        attempt = progress.attempts,
                        delay_ms = progress.previous_delay.as_millis() as u64,
                        timed_out = matches!(last, LastFailure::TimedOut),
                        "retrying after a transient failure"
                    );
                    last_failure = Some(last);
                    tokio::time::sleep_until(timer_instant(wake)).await;
                    now = inner.clock.now();
                }
                Err(kind) => return Err(self.fail(kind, last, &progress, now)),
            }
        }
    }

    /// Records the attempt's outcome with its permit and returns the next
    /// step with the time the attempt ended.
    ///
    /// An attempt that completed on its first poll did not wait, so it ends
    /// at the time it started and the clock is not read again.
    #[inline]
    fn record<T, E: Classify>(
        &self,
        end: AttemptEnd<Result<T, E>>,
        permit: crate::breaker::Permit<'_>,
        started: Instant,
    ) -> (Step<T, E>, Instant) {
        let (result, ended) = match end {
            AttemptEnd::Immediate(result) => (Some(result), started),
            AttemptEnd::Waited(result) => (Some(result), self.inner.clock.now()),
            AttemptEnd::TimedOut => (None, self.inner.clock.now()),
        };
        let step = match result {
            Some(Ok(value)) => {
                permit.record(Outcome::Success, ended);
                Step::Done(value)
            }
            Some(Err(error)) => {
                let class = error.classify();
                if class.is_transient() {
                    permit.record(Outcome::Failure, ended);
                    Step::Failed(LastFailure::Error(error), class.delivery())
                } else {
                    permit.record(Outcome::BackendAnswered, ended);
                    Step::GiveUp(CallErrorKind::Permanent, LastFailure::Error(error))
                }
            }
            None => {
                permit.record(Outcome::Failure, ended);
                Step::Failed(LastFailure::TimedOut, Delivery::Unknown)
            }
        };
        (step, ended)
    }

    /// Decides whether a transient failure is retried and, if so, when the
    /// retry starts. The budget is asked last, so no token is spent on a retry
    /// that a later check would reject.
    fn plan_retry(
        &self,
        progress: &mut Progress,
        idempotency: Idempotency,
        delivery: Delivery,
        now: Instant,
    ) -> Result<Instant, CallErrorKind> {
        let inner = &*self.inner;
        // Checked first: whatever else ends the call, the caller must learn
        // that a request which is not idempotent may have been applied.
        if idempotency == Idempotency::NotIdempotent && delivery != Delivery::NotSent {
            return Err(CallErrorKind::OutcomeUnknown);
        }
        if now >= progress.deadline {
            return Err(CallErrorKind::DeadlineExceeded);
        }
        if progress.attempts > inner.config.max_retries {
            return Err(CallErrorKind::RetriesExhausted);
        }

        let retry = progress.attempts - 1;
        // Tokio sleeps whole milliseconds, so the delay checked against the
        // deadline is cut to the delay the timer actually waits.
        let delay = whole_millis(inner.backoff.delay(
            retry,
            progress.previous_delay,
            inner.random.as_ref(),
        ));
        let wake = now
            .checked_add(delay)
            .ok_or(CallErrorKind::DeadlineExceeded)?;
        let fits = wake
            .checked_add(inner.config.min_attempt_time)
            .is_some_and(|earliest_end| earliest_end <= progress.deadline);
        if !fits {
            return Err(CallErrorKind::DeadlineExceeded);
        }

        if !inner.budget.try_withdraw() {
            return Err(CallErrorKind::BudgetExhausted);
        }
        progress.previous_delay = delay;
        Ok(wake)
    }

    /// Ends a call whose next attempt the breaker rejected, keeping the
    /// failure of the attempt before it, if any.
    fn reject<E>(
        &self,
        rejected: Rejected,
        last: Option<LastFailure<E>>,
        progress: &Progress,
        now: Instant,
    ) -> CallError<E> {
        let elapsed = now.saturating_duration_since(progress.start);
        let mut error = CallError::new(CallErrorKind::CircuitOpen, progress.attempts, elapsed)
            .with_retry_after(rejected.retry_after(now));
        if let Some(last) = last {
            error = error.with_last(last);
        }
        self.give_up(error)
    }

    #[inline]
    fn count_attempt(&self, number: u32) {
        let inner = &*self.inner;
        inner.telemetry.attempts.increment(1);
        if number == 1 {
            inner.budget.deposit();
        } else {
            inner.telemetry.retries.increment(1);
        }
    }

    #[inline]
    fn succeed<T>(&self, value: T, progress: &Progress, now: Instant) -> T {
        let elapsed = now.saturating_duration_since(progress.start);
        let telemetry = &self.inner.telemetry;
        telemetry.success();
        telemetry.duration.record(elapsed.as_secs_f64());
        value
    }

    fn fail<E>(
        &self,
        kind: CallErrorKind,
        last: LastFailure<E>,
        progress: &Progress,
        now: Instant,
    ) -> CallError<E> {
        let elapsed = now.saturating_duration_since(progress.start);
        self.give_up(CallError::new(kind, progress.attempts, elapsed).with_last(last))
    }

    /// Counts, times and logs a call that failed.
    fn give_up<E>(&self, error: CallError<E>) -> CallError<E> {
        let inner = &*self.inner;
        inner.telemetry.failure(error.kind());
        inner
            .telemetry
            .duration
            .record(error.elapsed().as_secs_f64());
        let elapsed_ms = error.elapsed().as_millis() as u64;
        if error.kind() == CallErrorKind::CircuitOpen && error.attempts() == 0 {
            // The breaker's transition is logged at INFO once; a line per
            // rejected call would flood the log during an outage.
            tracing::debug!(executor = %inner.name, kind = error.kind().as_str(), "call rejected");
        } else {
            tracing::warn!(
                executor = %inner.name,
                kind = error.kind().as_str(),
                attempts = error.attempts(),
                elapsed_ms,
                timed_out = error.last_attempt_timed_out(),
                "call failed"
            );
        }
        error
    }
}
