//! Error classification: whether a failure is worth retrying and whether the request may have been sent.
//!
//! ```
//! use std::io;
//! use resilience_core::{Classify, Delivery, ErrorClass};
//!
//! let refused = io::Error::from(io::ErrorKind::ConnectionRefused).classify();
//! assert_eq!(refused.class(), ErrorClass::Transient);
//! assert_eq!(refused.delivery(), Delivery::NotSent);
//!
//! let reset = io::Error::from(io::ErrorKind::ConnectionReset).classify();
//! assert!(reset.is_transient());
//! assert_eq!(reset.delivery(), Delivery::Unknown);
//!
//! let denied = io::Error::from(io::ErrorKind::PermissionDenied).classify();
//! assert_eq!(denied.class(), ErrorClass::Permanent);
//! ```

use std::io;

/// Whether a failure may go away if the request is repeated.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The backend may be unreachable or overloaded. A later attempt may
    /// succeed, so the failure may be retried and counts against the breaker.
    Transient,
    /// The backend answered, or the request itself is wrong. Repeating it
    /// gives the same answer, so it is not retried and does not count
    /// against the breaker.
    Permanent,
}

/// Whether the failed request may have reached the server.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The failure proves the request never left this process, so even a
    /// request that is not idempotent may be repeated.
    NotSent,
    /// The request may have been sent and applied, so only an idempotent
    /// request may be repeated.
    Unknown,
}

/// The class and delivery of one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Classification {
    class: ErrorClass,
    delivery: Delivery,
}

impl Classification {
    /// Creates a transient classification whose request may have been sent.
    pub const fn transient() -> Self {
        Self {
            class: ErrorClass::Transient,
            delivery: Delivery::Unknown,
        }
    }

    /// Creates a transient classification for a failure that proves the
    /// request never left, such as a refused connection.
    pub const fn transient_not_sent() -> Self {
        Self {
            class: ErrorClass::Transient,
            delivery: Delivery::NotSent,
        }
    }

    /// Creates a permanent classification.
    pub const fn permanent() -> Self {
        Self {
            class: ErrorClass::Permanent,
            delivery: Delivery::Unknown,
        }
    }

    /// Returns whether the failure may go away on a later attempt.
    pub const fn class(&self) -> ErrorClass {
        self.class
    }

    /// Returns whether the failed request may have reached the server.
    pub const fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// Returns `true` for [`ErrorClass::Transient`].
    pub const fn is_transient(&self) -> bool {
        matches!(self.class, ErrorClass::Transient)
    }
}

/// An error that reports whether it is worth retrying.
pub trait Classify {
    /// Classifies this error.
    fn classify(&self) -> Classification;
}

/// Classifies by [`io::ErrorKind`].
///
/// The mapping is approximate: the kind alone cannot tell every cause apart.
/// Kinds that describe the network or the passage of time are transient.
/// `ConnectionRefused` is the only kind taken as proof that nothing was sent,
/// because a TCP connect is refused before any request byte is written. Every
/// other kind, including [`io::ErrorKind::Other`] and kinds that later Rust
/// versions add, is permanent, so an unknown failure fails closed rather than
/// being repeated.
impl Classify for io::Error {
    fn classify(&self) -> Classification {
        use io::ErrorKind as Kind;

        match self.kind() {
            // The peer's TCP stack rejected the connect, so no request left.
            Kind::ConnectionRefused => Classification::transient_not_sent(),

            // The connection broke or stalled. The request may have been sent.
            Kind::ConnectionReset
            | Kind::ConnectionAborted
            | Kind::BrokenPipe
            | Kind::NotConnected
            | Kind::UnexpectedEof
            | Kind::TimedOut
            | Kind::WouldBlock
            | Kind::Interrupted
            | Kind::HostUnreachable
            | Kind::NetworkUnreachable
            | Kind::NetworkDown
            | Kind::AddrInUse
            | Kind::AddrNotAvailable
            | Kind::ResourceBusy => Classification::transient(),

            // The request, the data or the local setup is wrong. Repeating
            // the request gives the same result.
            Kind::InvalidInput
            | Kind::InvalidData
            | Kind::PermissionDenied
            | Kind::Unsupported
            | Kind::NotFound
            | Kind::AlreadyExists
            | Kind::WriteZero
            | Kind::OutOfMemory
            | Kind::Other => Classification::permanent(),

            // File-system kinds and kinds added after this list was written.
            _ => Classification::permanent(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_class_and_delivery() {
        let cases = [
            (
                Classification::transient(),
                ErrorClass::Transient,
                Delivery::Unknown,
            ),
            (
                Classification::transient_not_sent(),
                ErrorClass::Transient,
                Delivery::NotSent,
            ),
            (
                Classification::permanent(),
                ErrorClass::Permanent,
                Delivery::Unknown,
            ),
        ];
        for (classification, class, delivery) in cases {
            assert_eq!(classification.class(), class, "{classification:?}");
            assert_eq!(classification.delivery(), delivery, "{classification:?}");
            assert_eq!(
                classification.is_transient(),
                class == ErrorClass::Transient,
                "{classification:?}"
            );
        }
    }
}
