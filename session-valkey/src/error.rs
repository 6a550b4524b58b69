//! The store's error type and the failure of one backend attempt.

use std::time::Duration;

use resilience_core::executor::{CallError, CallErrorKind};
use resilience_core::{Classification, Classify, ErrorClass};

use crate::labels::InvalidInput;
use crate::valkey::{BackendError, ReplyError, ReplyErrorKind};

/// Why a store operation failed. Every variant means "deny the request".
///
/// | variant | temporary | counted by the breaker | what the caller does |
/// |---|---|---|---|
/// | [`CircuitOpen`](Self::CircuitOpen) | yes | no (nothing was sent) | deny, retry after `retry_after` |
/// | [`BudgetExhausted`](Self::BudgetExhausted) | yes | each failed attempt | deny |
/// | [`DeadlineExceeded`](Self::DeadlineExceeded) | yes | each failed attempt | deny |
/// | [`Transient`](Self::Transient) | yes | each failed attempt | deny |
/// | [`Permanent`](Self::Permanent) | no | no (the server answered) | deny, fix the server or the ACL |
/// | [`CorruptReply`](Self::CorruptReply) | no | see [`ReplyErrorKind`] | deny, inspect the stored data |
/// | [`ReplyMismatch`](Self::ReplyMismatch) | yes | yes | deny |
/// | [`InvalidInput`](Self::InvalidInput) | no | no (no round trip) | deny, fix the caller |
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SessionStoreError {
    /// The circuit breaker rejected the call without contacting the server.
    #[error("session store is unavailable: circuit breaker is open")]
    CircuitOpen {
        /// Time until the breaker admits a probe, when it is known.
        retry_after: Option<Duration>,
    },
    /// A retry was needed but the retry budget had no token left.
    #[error("session store is unavailable: retry budget exhausted after {attempts} attempts")]
    BudgetExhausted {
        /// Attempts made, the first one included.
        attempts: u32,
        /// Failure of the last attempt, if it returned one.
        #[source]
        last_error: Option<AttemptError>,
    },
    /// The request deadline passed before an attempt succeeded.
    #[error("session store is unavailable: request deadline exceeded after {attempts} attempts")]
    DeadlineExceeded {
        /// Attempts made, the first one included.
        attempts: u32,
        /// Time from the start of the call to the moment it gave up.
        elapsed: Duration,
        /// Failure of the last attempt, if it returned one.
        #[source]
        last_error: Option<AttemptError>,
    },
    /// Every attempt failed with a temporary backend failure, or the outcome
    /// of the last attempt is unknown.
    #[error("session store backend failed temporarily after {attempts} attempts")]
    Transient {
        /// Attempts made, the first one included.
        attempts: u32,
        /// Failure of the last attempt; `None` when the attempt timed out.
        #[source]
        last_error: Option<AttemptError>,
    },
    /// The server answered with an error that a retry does not fix.
    #[error("session store backend rejected the request")]
    Permanent {
        /// Attempts made, the first one included.
        attempts: u32,
        /// The server's or the client library's error.
        #[source]
        source: BackendError,
    },
    /// The reply could not be decoded into labels.
    #[error("session store reply is corrupt")]
    CorruptReply {
        /// Attempts made, the first one included.
        attempts: u32,
        /// The defect found in the reply.
        #[source]
        source: ReplyError,
    },
    /// The reply carried another request's nonce, so the connection was out
    /// of step with its requests.
    #[error("session store reply does not match the request")]
    ReplyMismatch {
        /// Attempts made, the first one included.
        attempts: u32,
        /// The mismatch that was detected.
        #[source]
        source: ReplyError,
    },
    /// The session id or a label broke an input rule.
    #[error("invalid session store input")]
    InvalidInput(#[from] InvalidInput),
}

impl SessionStoreError {
    /// Returns the stable snake_case name of the variant, used as the
    /// `reason` field of the `session_store_failure` alarm.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::CircuitOpen { .. } => "circuit_open",
            Self::BudgetExhausted { .. } => "budget_exhausted",
            Self::DeadlineExceeded { .. } => "deadline_exceeded",
            Self::Transient { .. } => "backend_transient",
            Self::Permanent { .. } => "backend_permanent",
            Self::CorruptReply { .. } => "corrupt_reply",
            Self::ReplyMismatch { .. } => "reply_mismatch",
            Self::InvalidInput(_) => "invalid_input",
        }
    }

    /// Returns whether the store gave up without a definite answer from the
    /// server: breaker open, budget spent or deadline passed.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::CircuitOpen { .. } | Self::BudgetExhausted { .. } | Self::DeadlineExceeded { .. }
        )
    }

    /// Returns the number of backend attempts made; zero when none was made.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::CircuitOpen { .. } | Self::InvalidInput(_) => 0,
            Self::BudgetExhausted { attempts, .. }
            | Self::DeadlineExceeded { attempts, .. }
            | Self::Transient { attempts, .. }
            | Self::Permanent { attempts, .. }
            | Self::CorruptReply { attempts, .. }
            | Self::ReplyMismatch { attempts, .. } => *attempts,
        }
    }

    /// Returns how long to wait before the breaker admits a call again, when
    /// the breaker rejected this one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::CircuitOpen { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl From<CallError<AttemptError>> for SessionStoreError {
    fn from(error: CallError<AttemptError>) -> Self {
        let attempts = error.attempts();
        match error.kind() {
            CallErrorKind::CircuitOpen => Self::CircuitOpen {
                retry_after: error.retry_after(),
            },
            CallErrorKind::BudgetExhausted => Self::BudgetExhausted {
                attempts,
                last_error: error.into_last_error(),
            },
            CallErrorKind::DeadlineExceeded => Self::DeadlineExceeded {
                attempts,
                elapsed: error.elapsed(),
                last_error: error.into_last_error(),
            },
            // Permanent, retries exhausted, outcome unknown, and any kind the
            // executor adds later: the last attempt's failure decides.
            _ => from_last_error(attempts, error.into_last_error()),
        }
    }
}

/// Maps the failure of the last attempt to the variant that names it.
fn from_last_error(attempts: u32, last_error: Option<AttemptError>) -> SessionStoreError {
    match last_error {
        Some(AttemptError::Reply(source)) => match source.kind() {
            ReplyErrorKind::NonceMismatch => SessionStoreError::ReplyMismatch { attempts, source },
            _ => SessionStoreError::CorruptReply { attempts, source },
        },
        Some(AttemptError::Backend(source))
            if source.classify().class() == ErrorClass::Permanent =>
        {
            SessionStoreError::Permanent { attempts, source }
        }
        last_error => SessionStoreError::Transient {
            attempts,
            last_error,
        },
    }
}

/// The failure of one attempt: the error type the executor classifies.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum AttemptError {
    /// Dialing or the command failed in the client library or on the server.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The reply arrived but could not be trusted or decoded.
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

impl Classify for AttemptError {
    fn classify(&self) -> Classification {
        match self {
            Self::Backend(error) => error.classify(),
            Self::Reply(error) => error.classify(),
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
