//! The error a call returns, and why it gave up.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// Why a call failed.
///
/// | kind | the backend | counts against the breaker | what the caller should do |
/// |---|---|---|---|
/// | `CircuitOpen` | was not contacted by the rejected attempt | only the attempts made before it | fail fast; try again after [`CallError::retry_after`] |
/// | `BudgetExhausted` | failed transiently, and retrying would add load | yes, the attempts made | fail; the backend is struggling for many callers |
/// | `DeadlineExceeded` | did not reply in time, or no retry fits in the time left | yes, the attempts made | fail; the call's time is spent |
/// | `RetriesExhausted` | failed transiently on every attempt | yes | fail; the failure may pass |
/// | `Permanent` | answered with an error that will repeat | no | fix the request; do not retry |
/// | `OutcomeUnknown` | may have applied a request that is not idempotent | yes | check the effect before repeating it |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallErrorKind {
    /// The breaker rejected an attempt: the first one, so the backend was
    /// not contacted, or a retry after failed attempts.
    CircuitOpen,
    /// A retry was due but the retry budget had no token.
    BudgetExhausted,
    /// The request deadline passed, or the next retry could not fit before it.
    DeadlineExceeded,
    /// Every allowed attempt failed transiently.
    RetriesExhausted,
    /// The last attempt failed with a permanent error.
    Permanent,
    /// A non-idempotent attempt failed after it may have reached the backend.
    /// It takes precedence over the deadline and the retry limit.
    OutcomeUnknown,
}

impl CallErrorKind {
    /// Returns a stable snake-case name, used in metrics labels and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CircuitOpen => "circuit_open",
            Self::BudgetExhausted => "budget_exhausted",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::RetriesExhausted => "retries_exhausted",
            Self::Permanent => "permanent",
            Self::OutcomeUnknown => "outcome_unknown",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::CircuitOpen => "circuit open",
            Self::BudgetExhausted => "retry budget exhausted",
            Self::DeadlineExceeded => "deadline exceeded",
            Self::RetriesExhausted => "retries exhausted",
            Self::Permanent => "permanent failure",
            Self::OutcomeUnknown => "outcome unknown after a failed non-idempotent attempt",
        }
    }
}

impl fmt::Display for CallErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failed call: the kind, the attempts made, the time spent and the last
/// underlying error, which [`Error::source`] also returns.
pub struct CallError<E> {
    kind: CallErrorKind,
    attempts: u32,
    elapsed: Duration,
    retry_after: Option<Duration>,
    last_attempt_timed_out: bool,
    last_error: Option<E>,
}

impl<E> CallError<E> {
    pub(crate) fn new(kind: CallErrorKind, attempts: u32, elapsed: Duration) -> Self {
        Self {
            kind,
            attempts,
            elapsed,
            retry_after: None,
            last_attempt_timed_out: false,
            last_error: None,
        }
    }

    pub(crate) fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    pub(crate) fn with_last(mut self, last: LastFailure<E>) -> Self {
        match last {
            LastFailure::Error(error) => self.last_error = Some(error),
            LastFailure::TimedOut => self.last_attempt_timed_out = true,
        }
        self
    }

    /// Returns why the call failed.
    pub fn kind(&self) -> CallErrorKind {
        self.kind
    }

    /// Returns the number of attempts that ran; zero when the breaker rejected
    /// the first attempt.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Returns the time from the start of the call to this error.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Returns how long to wait before the breaker admits a call again; set
    /// only for [`CallErrorKind::CircuitOpen`].
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Returns whether the last attempt ended because its timeout fired.
    pub fn last_attempt_timed_out(&self) -> bool {
        self.last_attempt_timed_out
    }

    /// Returns the error of the last attempt, if it ended with one.
    pub fn last_error(&self) -> Option<&E> {
        self.last_error.as_ref()
    }

    /// Consumes the error and returns the last attempt's error, if any.
    pub fn into_last_error(self) -> Option<E> {
        self.last_error
    }
}

impl<E: fmt::Debug> fmt::Debug for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallError")
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .field("elapsed", &self.elapsed)
            .field("retry_after", &self.retry_after)
            .field("last_attempt_timed_out", &self.last_attempt_timed_out)
            .field("last_error", &self.last_error)
            .finish()
    }
}

impl<E> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {} attempt{} in {} ms",
            self.kind,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.elapsed.as_millis()
        )?;
        if let Some(retry_after) = self.retry_after {
            write!(f, ", retry after {} ms", retry_after.as_millis())?;
        }
        if self.last_attempt_timed_out {
            f.write_str(", last attempt timed out")?;
        }
        Ok(())
    }
}

impl<E> Error for CallError<E>
where
    E: Error + 'static,
{
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.last_error
            .as_ref()
            .map(|error| error as &(dyn Error + 'static))
    }
}

/// The failure of the last attempt.
#[derive(Debug)]
pub(crate) enum LastFailure<E> {
    Error(E),
    TimedOut,
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    const KINDS: [CallErrorKind; 6] = [
        CallErrorKind::CircuitOpen,
        CallErrorKind::BudgetExhausted,
        CallErrorKind::DeadlineExceeded,
        CallErrorKind::RetriesExhausted,
        CallErrorKind::Permanent,
        CallErrorKind::OutcomeUnknown,
    ];

    #[test]
    fn every_kind_renders_lower_case_without_period() {
        for kind in KINDS {
            let text = CallError::<io::Error>::new(kind, 2, Duration::from_millis(35)).to_string();
            assert!(text.starts_with(kind.describe()), "{kind:?}: {text}");
            assert!(
                text.ends_with("after 2 attempts in 35 ms"),
                "{kind:?}: {text}"
            );
            assert_eq!(text, text.to_lowercase(), "{kind:?}: {text}");
            assert!(!text.ends_with('.'), "{kind:?}: {text}");
        }
    }

    #[test]
    fn display_adds_retry_after_and_timeout() {
        let open = CallError::<io::Error>::new(CallErrorKind::CircuitOpen, 0, Duration::ZERO)
            .with_retry_after(Duration::from_millis(250));
        assert_eq!(
            open.to_string(),
            "circuit open after 0 attempts in 0 ms, retry after 250 ms"
        );

        let timed_out =
            CallError::<io::Error>::new(CallErrorKind::DeadlineExceeded, 1, Duration::from_secs(1))
                .with_last(LastFailure::TimedOut);
        assert_eq!(
            timed_out.to_string(),
            "deadline exceeded after 1 attempt in 1000 ms, last attempt timed out"
        );
    }

    #[test]
    fn source_is_the_last_error() {
        let error = CallError::new(CallErrorKind::RetriesExhausted, 2, Duration::ZERO).with_last(
            LastFailure::Error(io::Error::from(io::ErrorKind::ConnectionReset)),
        );
        let source = error.source().expect("the last error is the source");
        assert_eq!(
            source.downcast_ref::<io::Error>().map(io::Error::kind),
            Some(io::ErrorKind::ConnectionReset)
        );
        assert!(
            CallError::<io::Error>::new(CallErrorKind::CircuitOpen, 0, Duration::ZERO)
                .source()
                .is_none()
        );
    }

    #[test]
    fn kind_names_are_stable() {
        let names: Vec<&str> = KINDS.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(
            names,
            [
                "circuit_open",
                "budget_exhausted",
                "deadline_exceeded",
                "retries_exhausted",
                "permanent",
                "outcome_unknown"
            ]
        );
    }
}
