//! A fail-closed store of per-session security labels, in memory or in Valkey.
//!
//! An authorization gateway loads a session's labels (`PII`, `SECRET`) before
//! each policy decision and appends to them after it. A missing label means
//! over-authorization, so the store fails closed: a confirmed miss is an empty
//! set, and every other doubt is a [`SessionStoreError`] on which the caller
//! denies the request.
//!
//! - [`SessionStore`] is the contract, dyn-compatible for `Arc<dyn SessionStore>`.
//! - [`MemorySessionStore`] keeps labels in the process.
//! - [`ValkeySessionStore`] keeps each session's labels in a Valkey set under
//!   `<key_prefix>:<hex SHA-256 of the session id>`.
//!
//! # Round trips of the Valkey store
//!
//! | operation | commands, in one write |
//! |---|---|
//! | load | `SMEMBERS key`, `EXPIRE key ttl` (with a TTL), `ECHO nonce` (with `reply_check`) |
//! | append | `MULTI`, `SADD key labels...`, `EXPIRE key ttl`, `EXEC`, `ECHO nonce` (with `reply_check`) |
//!
//! Every reply is checked: an error inside `EXEC` fails the append, a set
//! member that is not UTF-8 fails the load, and an `ECHO` that returns another
//! request's nonce fails the attempt and discards the connection. A failed
//! `EXPIRE` on load is the one exception: the labels are returned and the
//! `session_store_ttl_refresh_failed` alarm is logged. A `READONLY` reply fails
//! the load instead, because it shows that a replica served the members.
//!
//! # Alarms
//!
//! Failures are logged at WARN with a stable `alarm` field; the names are the
//! `ALARM_*` constants. Every failed operation logs [`ALARM_FAILURE`] with
//! `op` (`load` or `append`) and `reason` ([`SessionStoreError::reason`]).
//!
//! ```
//! use session_valkey::{MemorySessionStore, SessionStore};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemorySessionStore::new();
//! store.append("session-1", &["PII"]).await.unwrap();
//! store.append("session-1", &["SECRET", "PII"]).await.unwrap();
//! let labels = store.load("session-1").await.unwrap();
//! assert_eq!(labels.into_iter().collect::<Vec<_>>(), ["PII", "SECRET"]);
//! assert!(store.load("session-2").await.unwrap().is_empty());
//! # });
//! ```

mod alarm;
mod error;
mod labels;
mod memory;
mod store;
#[cfg(test)]
mod test_support;
mod valkey;

pub use alarm::{
    ALARM_EVICTION_POLICY, ALARM_FAILURE, ALARM_NO_APPENDONLY, ALARM_SERVER_CHECK_FAILED,
    ALARM_TTL_REFRESH_FAILED, ALARM_TTL_SHORTER_THAN_SESSION,
};
pub use error::{AttemptError, SessionStoreError};
pub use labels::{
    InvalidInput, Labels, MAX_LABEL_BYTES, MAX_LABELS_PER_APPEND, MAX_SESSION_ID_BYTES,
    validate_labels, validate_session_id,
};
pub use memory::MemorySessionStore;
pub use store::{SessionStore, StoreFuture};
pub use valkey::*;
