//! The optional startup self-check of the server's durability settings.

use redis::Value;
use resilience_core::executor::Idempotency;

use crate::alarm::{
    ALARM_EVICTION_POLICY, ALARM_NO_APPENDONLY, ALARM_SERVER_CHECK_FAILED, error_chain,
};
use crate::error::{AttemptError, SessionStoreError};
use crate::valkey::reply_error::ReplyError;
use crate::valkey::store::ValkeySessionStore;

/// The server settings that decide whether acknowledged labels survive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    /// The server's `maxmemory-policy`; anything but `noeviction` may evict
    /// label sets under memory pressure.
    pub maxmemory_policy: String,
    /// Whether the server writes an append-only file.
    pub appendonly: bool,
}

impl ServerCheck {
    /// Returns whether labels can neither be evicted nor lost on a restart
    /// (up to the `appendfsync` window).
    pub fn is_durable(&self) -> bool {
        self.maxmemory_policy == "noeviction" && self.appendonly
    }
}

impl ValkeySessionStore {
    /// Reads `maxmemory-policy` and `appendonly` with `CONFIG GET` and logs a
    /// WARN alarm for each unsafe setting.
    ///
    /// Call it once at startup. It needs the `config|get` ACL permission,
    /// which the store's operations do not.
    ///
    /// # Errors
    ///
    /// Returns the error of the round trip, for example when `CONFIG` is
    /// not permitted, and logs the `session_store_server_check_failed` alarm.
    pub async fn check_server(&self) -> Result<ServerCheck, SessionStoreError> {
        let mut pipeline = redis::pipe();
        pipeline.cmd("CONFIG").arg("GET").arg("maxmemory-policy");
        pipeline.cmd("CONFIG").arg("GET").arg("appendonly");
        let result = self
            .executor
            .call(Idempotency::Idempotent, |_attempt| {
                self.slot.execute(&pipeline, 2, parse_check)
            })
            .await
            .map_err(SessionStoreError::from);
        match &result {
            Ok(check) => warn_if_unsafe(check),
            Err(error) => tracing::warn!(
                alarm = ALARM_SERVER_CHECK_FAILED,
                reason = error.reason(),
                error = %error_chain(error),
                "could not read the server's eviction and persistence settings"
            ),
        }
        result
    }
}

fn warn_if_unsafe(check: &ServerCheck) {
    if check.maxmemory_policy != "noeviction" {
        tracing::warn!(
            alarm = ALARM_EVICTION_POLICY,
            maxmemory_policy = %check.maxmemory_policy,
            "the server may evict session labels; set maxmemory-policy to noeviction"
        );
    }
    if !check.appendonly {
        tracing::warn!(
            alarm = ALARM_NO_APPENDONLY,
            "the server keeps no append-only file, so a restart loses recent labels"
        );
    }
}

fn parse_check(replies: Vec<Value>) -> Result<ServerCheck, AttemptError> {
    let mut replies = replies.into_iter();
    let policy = config_value(replies.next().unwrap_or_default())?;
    let appendonly = config_value(replies.next().unwrap_or_default())?;
    Ok(ServerCheck {
        maxmemory_policy: policy,
        appendonly: appendonly == "yes",
    })
}

/// Extracts the value from a `CONFIG GET` reply: a `[name, value]` array in
/// RESP2, a one-entry map in RESP3.
fn config_value(reply: Value) -> Result<String, AttemptError> {
    let value = match reply {
        Value::Array(mut pair) if pair.len() == 2 => pair.pop().unwrap_or_default(),
        Value::Map(mut entries) if entries.len() == 1 => {
            entries.pop().map(|(_, value)| value).unwrap_or_default()
        }
        Value::ServerError(error) => {
            let error = redis::RedisError::from(error);
            return Err(crate::valkey::BackendError::command(error).into());
        }
        other => {
            return Err(ReplyError::unexpected("CONFIG GET", "one name and value", &other).into());
        }
    };
    match value {
        Value::BulkString(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Value::SimpleString(text) => Ok(text),
        other => Err(ReplyError::unexpected("CONFIG GET", "a string value", &other).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> Value {
        Value::Array(vec![
            Value::BulkString(name.as_bytes().to_vec()),
            Value::BulkString(value.as_bytes().to_vec()),
        ])
    }

    #[test]
    fn parses_resp2_pairs() {
        let check = parse_check(vec![
            pair("maxmemory-policy", "allkeys-lru"),
            pair("appendonly", "yes"),
        ])
        .unwrap();
        assert_eq!(check.maxmemory_policy, "allkeys-lru");
        assert!(check.appendonly);
        assert!(!check.is_durable());
    }

    #[test]
    fn parses_resp3_maps() {
        let entry = |name: &str, value: &str| {
            Value::Map(vec![(
                Value::BulkString(name.as_bytes().to_vec()),
                Value::BulkString(value.as_bytes().to_vec()),
            )])
        };
        let check = parse_check(vec![
            entry("maxmemory-policy", "noeviction"),
            entry("appendonly", "yes"),
        ])
        .unwrap();
        assert!(check.is_durable());
    }

    #[test]
    fn empty_reply_for_a_hidden_setting_is_rejected() {
        let error = parse_check(vec![Value::Array(vec![]), pair("appendonly", "no")]).unwrap_err();
        assert!(matches!(error, AttemptError::Reply(_)), "{error:?}");
    }
}
