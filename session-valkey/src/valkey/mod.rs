//! The Valkey implementation of the store.

mod check;
mod classify;
mod config;
mod connection;
mod key;
mod protocol;
mod reply_error;
mod store;
mod validate;

pub use check::ServerCheck;
pub use classify::{BackendError, classify_redis_error};
pub use config::{
    DEFAULT_BREAKER_FAILURE_THRESHOLD, DEFAULT_COMMAND_TIMEOUT, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_KEY_PREFIX, DEFAULT_MAX_RETRIES, DEFAULT_TTL_SECONDS, MAX_KEY_PREFIX_BYTES,
    MAX_REQUEST_DEADLINE_MS, MAX_RETRIES, MAX_TIMEOUT_MS, MAX_TTL_SECONDS, MIN_REQUEST_DEADLINE_MS,
    StoreConfig, ValkeyConfig,
};
pub use reply_error::{ReplyError, ReplyErrorKind};
pub use store::{EXECUTOR_NAME, ValkeySessionStore};
