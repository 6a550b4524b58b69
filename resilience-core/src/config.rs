//! The error returned for a rejected configuration.

use std::borrow::Cow;

/// Rejected configuration: names the field and the allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {reason}")]
pub struct ConfigError {
    field: &'static str,
    reason: String,
}

impl ConfigError {
    /// Creates an error for `field`, such as `"breaker.cooldown"`.
    ///
    /// `reason` states the allowed range and the rejected value, in lower case
    /// without a trailing period.
    pub fn new(field: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            reason: reason.into().into_owned(),
        }
    }

    /// Returns the name of the rejected field.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Returns why the value was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_display_names_field_and_reason() {
        let error = ConfigError::new("backoff.base", "must be greater than zero, got 0ns");

        assert_eq!(
            error.to_string(),
            "invalid backoff.base: must be greater than zero, got 0ns"
        );
        assert_eq!(error.field(), "backoff.base");
        assert_eq!(error.reason(), "must be greater than zero, got 0ns");
    }
}
