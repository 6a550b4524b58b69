//! Label sets and the input rules that every store applies before any I/O.

use std::collections::BTreeSet;

/// The labels of one session, sorted and without duplicates.
pub type Labels = BTreeSet<String>;

/// Maximum length of a session id, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 512;

/// Maximum length of one label, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

/// Maximum number of labels in one append.
pub const MAX_LABELS_PER_APPEND: usize = 64;

/// Input that a store rejects before it contacts any backend.
///
/// Values are never echoed back: a session id may be a bearer token, so the
/// error reports lengths and positions only.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    /// The session id is the empty string.
    #[error("session id is empty")]
    EmptySessionId,
    /// The session id is longer than [`MAX_SESSION_ID_BYTES`].
    #[error("session id is {len} bytes long, the maximum is {MAX_SESSION_ID_BYTES}")]
    SessionIdTooLong {
        /// Length of the rejected session id in bytes.
        len: usize,
    },
    /// The label at `index` is the empty string.
    #[error("label {index} is empty")]
    EmptyLabel {
        /// Position of the label in the request.
        index: usize,
    },
    /// The label at `index` is longer than [`MAX_LABEL_BYTES`].
    #[error("label {index} is {len} bytes long, the maximum is {MAX_LABEL_BYTES}")]
    LabelTooLong {
        /// Position of the label in the request.
        index: usize,
        /// Length of the rejected label in bytes.
        len: usize,
    },
    /// The append carries more than [`MAX_LABELS_PER_APPEND`] labels.
    #[error("append has {count} labels, the maximum is {MAX_LABELS_PER_APPEND}")]
    TooManyLabels {
        /// Number of labels in the request.
        count: usize,
    },
}

/// Checks a session id against the rules every store enforces.
///
/// # Errors
///
/// [`InvalidInput::EmptySessionId`] or [`InvalidInput::SessionIdTooLong`].
pub fn validate_session_id(session_id: &str) -> Result<(), InvalidInput> {
    if session_id.is_empty() {
        return Err(InvalidInput::EmptySessionId);
    }
    if session_id.len() > MAX_SESSION_ID_BYTES {
        return Err(InvalidInput::SessionIdTooLong {
            len: session_id.len(),
        });
    }
    Ok(())
}

/// Checks the labels of one append against the rules every store enforces.
///
/// An empty list is valid: appending nothing succeeds without a round trip.
///
/// # Errors
///
/// [`InvalidInput::TooManyLabels`], [`InvalidInput::EmptyLabel`] or
/// [`InvalidInput::LabelTooLong`] for the first offending label.
pub fn validate_labels(labels: &[&str]) -> Result<(), InvalidInput> {
    if labels.len() > MAX_LABELS_PER_APPEND {
        return Err(InvalidInput::TooManyLabels {
            count: labels.len(),
        });
    }
    for (index, label) in labels.iter().enumerate() {
        if label.is_empty() {
            return Err(InvalidInput::EmptyLabel { index });
        }
        if label.len() > MAX_LABEL_BYTES {
            return Err(InvalidInput::LabelTooLong {
                index,
                len: label.len(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_at_limit_is_accepted() {
        let id = "s".repeat(MAX_SESSION_ID_BYTES);
        assert_eq!(validate_session_id(&id), Ok(()));
    }

    #[test]
    fn session_id_rules_reject_empty_and_long() {
        assert_eq!(validate_session_id(""), Err(InvalidInput::EmptySessionId));
        let long = "s".repeat(MAX_SESSION_ID_BYTES + 1);
        assert_eq!(
            validate_session_id(&long),
            Err(InvalidInput::SessionIdTooLong {
                len: MAX_SESSION_ID_BYTES + 1
            })
        );
    }

    #[test]
    fn label_length_counts_bytes_not_chars() {
        // "é" is two bytes in UTF-8, so 129 of them exceed 256 bytes.
        let label = "é".repeat(129);
        assert_eq!(
            validate_labels(&[label.as_str()]),
            Err(InvalidInput::LabelTooLong { index: 0, len: 258 })
        );
        let label = "é".repeat(128);
        assert_eq!(validate_labels(&[label.as_str()]), Ok(()));
    }

    #[test]
    fn label_rules_name_the_offending_position() {
        assert_eq!(
            validate_labels(&["PII", ""]),
            Err(InvalidInput::EmptyLabel { index: 1 })
        );
        let many = vec!["PII"; MAX_LABELS_PER_APPEND + 1];
        assert_eq!(
            validate_labels(&many),
            Err(InvalidInput::TooManyLabels {
                count: MAX_LABELS_PER_APPEND + 1
            })
        );
        let enough = vec!["PII"; MAX_LABELS_PER_APPEND];
        assert_eq!(validate_labels(&enough), Ok(()));
        assert_eq!(validate_labels(&[]), Ok(()));
    }

    #[test]
    fn invalid_input_messages_render() {
        let cases = [
            (InvalidInput::EmptySessionId, "session id is empty"),
            (
                InvalidInput::SessionIdTooLong { len: 600 },
                "session id is 600 bytes long, the maximum is 512",
            ),
            (InvalidInput::EmptyLabel { index: 2 }, "label 2 is empty"),
            (
                InvalidInput::LabelTooLong { index: 0, len: 300 },
                "label 0 is 300 bytes long, the maximum is 256",
            ),
            (
                InvalidInput::TooManyLabels { count: 65 },
                "append has 65 labels, the maximum is 64",
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }
}
