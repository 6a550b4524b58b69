//! Replies that arrived but cannot be trusted or decoded.

use resilience_core::{Classification, Classify};

/// The kind of defect found in a reply.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyErrorKind {
    /// The closing `ECHO` returned another nonce: the connection's replies
    /// are out of step with its requests. Transient; the connection is
    /// discarded and a retry dials a fresh one.
    NonceMismatch,
    /// A reply had a type or length that the command never returns.
    /// Transient, treated like a mismatch; the connection is discarded.
    UnexpectedReply,
    /// A set member is not valid UTF-8. Permanent: the stored data is bad.
    NonUtf8Member,
}

/// A reply that failed the integrity or decoding checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReplyError {
    kind: ReplyErrorKind,
    message: String,
}

impl ReplyError {
    pub(crate) fn nonce_mismatch() -> Self {
        Self {
            kind: ReplyErrorKind::NonceMismatch,
            message: "reply nonce does not match the request's nonce".to_owned(),
        }
    }

    pub(crate) fn unexpected(command: &str, expected: &str, actual: &redis::Value) -> Self {
        Self {
            kind: ReplyErrorKind::UnexpectedReply,
            message: format!(
                "unexpected reply to {command}: expected {expected}, got {}",
                value_type(actual)
            ),
        }
    }

    pub(crate) fn reply_count(expected: usize, actual: usize) -> Self {
        Self {
            kind: ReplyErrorKind::UnexpectedReply,
            message: format!("expected {expected} replies in the round trip, got {actual}"),
        }
    }

    pub(crate) fn non_utf8_member(index: usize) -> Self {
        Self {
            kind: ReplyErrorKind::NonUtf8Member,
            message: format!("set member {index} is not valid UTF-8"),
        }
    }

    /// Returns what was wrong with the reply.
    pub fn kind(&self) -> ReplyErrorKind {
        self.kind
    }

    /// Returns whether the connection that delivered the reply is out of
    /// step and must be discarded.
    pub(crate) fn discards_connection(&self) -> bool {
        match self.kind {
            ReplyErrorKind::NonceMismatch | ReplyErrorKind::UnexpectedReply => true,
            ReplyErrorKind::NonUtf8Member => false,
        }
    }
}

impl Classify for ReplyError {
    fn classify(&self) -> Classification {
        match self.kind {
            ReplyErrorKind::NonceMismatch | ReplyErrorKind::UnexpectedReply => {
                Classification::transient()
            }
            ReplyErrorKind::NonUtf8Member => Classification::permanent(),
        }
    }
}

/// Names the RESP type of a value without printing its contents.
fn value_type(value: &redis::Value) -> &'static str {
    match value {
        redis::Value::Nil => "nil",
        redis::Value::Int(_) => "integer",
        redis::Value::BulkString(_) => "bulk string",
        redis::Value::Array(_) => "array",
        redis::Value::SimpleString(_) => "simple string",
        redis::Value::Okay => "OK",
        redis::Value::Map(_) => "map",
        redis::Value::Attribute { .. } => "attribute",
        redis::Value::Set(_) => "set",
        redis::Value::Double(_) => "double",
        redis::Value::Boolean(_) => "boolean",
        redis::Value::VerbatimString { .. } => "verbatim string",
        redis::Value::BigNumber(_) => "big number",
        redis::Value::Push { .. } => "push",
        redis::Value::ServerError(_) => "error",
        _ => "value of an unknown type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_render_lower_case_without_period() {
        let cases = [
            (
                ReplyError::nonce_mismatch(),
                "reply nonce does not match the request's nonce",
            ),
            (
                ReplyError::unexpected("SMEMBERS", "an array", &redis::Value::Int(3)),
                "unexpected reply to SMEMBERS: expected an array, got integer",
            ),
            (
                ReplyError::reply_count(3, 2),
                "expected 3 replies in the round trip, got 2",
            ),
            (
                ReplyError::non_utf8_member(4),
                "set member 4 is not valid UTF-8",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn only_bad_data_is_permanent_and_keeps_the_connection() {
        let mismatch = ReplyError::nonce_mismatch();
        assert!(mismatch.classify().is_transient());
        assert!(mismatch.discards_connection());
        let unexpected = ReplyError::reply_count(2, 1);
        assert!(unexpected.classify().is_transient());
        assert!(unexpected.discards_connection());
        let non_utf8 = ReplyError::non_utf8_member(0);
        assert!(!non_utf8.classify().is_transient());
        assert!(!non_utf8.discards_connection());
    }
}
