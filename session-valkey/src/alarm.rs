//! Stable alarm names, logged in the `alarm` field of WARN events.

use crate::error::SessionStoreError;

/// A load or an append failed; the caller denies the request.
pub const ALARM_FAILURE: &str = "session_store_failure";

/// A load returned the labels but could not slide the key's expiry forward.
pub const ALARM_TTL_REFRESH_FAILED: &str = "session_store_ttl_refresh_failed";

/// The configured TTL is shorter than the declared session lifetime, so the
/// labels of an idle but still valid session can expire.
pub const ALARM_TTL_SHORTER_THAN_SESSION: &str = "session_store_ttl_shorter_than_session";

/// The server may evict keys under memory pressure (`maxmemory-policy` is not
/// `noeviction`), which silently drops labels.
pub const ALARM_EVICTION_POLICY: &str = "session_store_eviction_policy";

/// The server does not write an append-only file, so a restart loses the
/// labels appended since the last snapshot.
pub const ALARM_NO_APPENDONLY: &str = "session_store_no_appendonly";

/// The startup self-check could not read the server's configuration.
pub const ALARM_SERVER_CHECK_FAILED: &str = "session_store_server_check_failed";

/// Store operation named in the `op` field of an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Load,
    Append,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Load => "load",
            Self::Append => "append",
        }
    }
}

/// Logs the `session_store_failure` alarm for a failed operation.
pub(crate) fn report_failure(operation: Operation, error: &SessionStoreError) {
    tracing::warn!(
        alarm = ALARM_FAILURE,
        op = operation.as_str(),
        reason = error.reason(),
        attempts = error.attempts(),
        error = %error_chain(error),
        "session store operation failed, denying"
    );
}

/// Renders an error and its sources as one line, separated by ": ".
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut rendered = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        rendered.push_str(": ");
        rendered.push_str(&cause.to_string());
        source = cause.source();
    }
    rendered
}
