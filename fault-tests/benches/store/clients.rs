//! The clients compared: the session store with and without its reply
//! check, and redis-rs issuing the same commands itself.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use redis::aio::ConnectionLike;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::{Client, RedisError, Value};
use session_valkey::{SessionStore, SessionStoreError, ValkeyConfig, ValkeySessionStore};
use sha2::{Digest, Sha256};

/// Key prefix of the store, spelled out so the raw clients address the same keys.
pub(crate) const KEY_PREFIX: &str = "bench";
/// Sliding expiry that every append sets, in seconds.
pub(crate) const TTL_SECONDS: u64 = 24 * 60 * 60;
/// Labels of every session: each append adds them again, so sets keep their size.
pub(crate) const LABELS: [&str; 2] = ["PII", "SECRET"];

/// The operation a benchmark cell repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `SMEMBERS key`.
    Load,
    /// `MULTI`, `SADD key labels`, `EXPIRE key ttl`, `EXEC`.
    Append,
}

impl Operation {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Load => "load (SMEMBERS)",
            Self::Append => "append (MULTI SADD EXPIRE EXEC)",
        }
    }
}

/// The kinds of client, in the order of the result tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    /// Raw `MultiplexedConnection`, the baseline of every ratio.
    Multiplexed,
    /// Raw `MultiplexedConnection` with `ECHO <nonce>` after each round trip.
    MultiplexedEcho,
    /// `ConnectionManager` over one multiplexed connection.
    Manager,
    /// `ValkeySessionStore` with `reply_check: false`, its default.
    Store,
    /// `ValkeySessionStore` with `reply_check: true`.
    StoreChecked,
}

impl ClientKind {
    pub(crate) const ALL: [Self; 5] = [
        Self::Multiplexed,
        Self::MultiplexedEcho,
        Self::Manager,
        Self::Store,
        Self::StoreChecked,
    ];

    /// Returns the short name that `STORE_BENCH_CLIENTS` lists.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Multiplexed => "raw",
            Self::MultiplexedEcho => "raw-echo",
            Self::Manager => "manager",
            Self::Store => "store",
            Self::StoreChecked => "store-checked",
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Multiplexed => "redis MultiplexedConnection",
            Self::MultiplexedEcho => "redis MultiplexedConnection + ECHO",
            Self::Manager => "redis ConnectionManager",
            Self::Store => "ValkeySessionStore, reply_check off",
            Self::StoreChecked => "ValkeySessionStore, reply_check on",
        }
    }
}

/// One client, shared by every task of a cell.
pub(crate) enum BenchClient {
    Raw {
        connection: MultiplexedConnection,
        echo: bool,
        next_nonce: AtomicU64,
    },
    Manager(ConnectionManager),
    /// Boxed, because the store is several times larger than a connection.
    Store(Box<ValkeySessionStore>),
}

impl fmt::Debug for BenchClient {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Raw { echo, .. } => formatter.debug_struct("Raw").field("echo", echo).finish(),
            Self::Manager(_) => formatter.write_str("Manager"),
            Self::Store(store) => store.fmt(formatter),
        }
    }
}

/// A failed benchmark request.
#[derive(Debug)]
pub(crate) enum RequestError {
    Redis(RedisError),
    Store(SessionStoreError),
    /// The reply was well formed but not what the seeded data implies.
    Unexpected(String),
}

impl fmt::Display for RequestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Redis(error) => write!(formatter, "redis: {error}"),
            Self::Store(error) => write!(formatter, "store: {error}"),
            Self::Unexpected(message) => formatter.write_str(message),
        }
    }
}

impl From<RedisError> for RequestError {
    fn from(error: RedisError) -> Self {
        Self::Redis(error)
    }
}

impl From<SessionStoreError> for RequestError {
    fn from(error: SessionStoreError) -> Self {
        Self::Store(error)
    }
}

/// A session of the benchmark: its id for the store, its key for redis-rs.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) key: String,
}

impl Session {
    pub(crate) fn new(index: usize) -> Self {
        let id = format!("bench-session-{index}");
        let key = format!(
            "{KEY_PREFIX}:{}",
            hex::encode(Sha256::digest(id.as_bytes()))
        );
        Self { id, key }
    }
}

/// Returns the store settings for `operation`: with a TTL for appends, so
/// they send `EXPIRE`, and without one for loads, so a load is `SMEMBERS`
/// alone. Everything else keeps the store's defaults.
pub(crate) fn store_config(url: &str, operation: Operation, reply_check: bool) -> ValkeyConfig {
    let ttl_seconds = match operation {
        Operation::Load => None,
        Operation::Append => Some(TTL_SECONDS),
    };
    ValkeyConfig {
        key_prefix: KEY_PREFIX.to_owned(),
        ttl_seconds,
        reply_check,
        ..ValkeyConfig::new(url)
    }
}

impl BenchClient {
    /// Connects a client of `kind` to `url`, set up for `operation`.
    pub(crate) async fn connect(
        kind: ClientKind,
        url: &str,
        operation: Operation,
    ) -> Result<Self, RequestError> {
        let client = Client::open(url)?;
        Ok(match kind {
            ClientKind::Multiplexed | ClientKind::MultiplexedEcho => Self::Raw {
                connection: client.get_multiplexed_async_connection().await?,
                echo: kind == ClientKind::MultiplexedEcho,
                next_nonce: AtomicU64::new(1),
            },
            ClientKind::Manager => Self::Manager(client.get_connection_manager().await?),
            ClientKind::Store | ClientKind::StoreChecked => {
                let config = store_config(url, operation, kind == ClientKind::StoreChecked);
                let store = ValkeySessionStore::new(config).map_err(|error| {
                    RequestError::Unexpected(format!("invalid store settings: {error}"))
                })?;
                Self::Store(Box::new(store))
            }
        })
    }

    /// Runs `operation` once on `session`.
    pub(crate) async fn run(
        &self,
        operation: Operation,
        session: &Session,
    ) -> Result<(), RequestError> {
        match (self, operation) {
            (Self::Store(store), Operation::Load) => {
                let labels = store.load(&session.id).await?;
                expect_labels(labels.len())
            }
            (Self::Store(store), Operation::Append) => {
                store.append(&session.id, &LABELS).await?;
                Ok(())
            }
            (
                Self::Raw {
                    connection,
                    echo,
                    next_nonce,
                },
                operation,
            ) => {
                let nonce = echo.then(|| next_nonce.fetch_add(1, Ordering::Relaxed));
                raw_request(&mut connection.clone(), operation, &session.key, nonce).await
            }
            (Self::Manager(manager), operation) => {
                raw_request(&mut manager.clone(), operation, &session.key, None).await
            }
        }
    }
}

/// Sends `operation` on `key` through redis-rs, followed by `ECHO nonce`
/// when a nonce is given, and checks the replies.
async fn raw_request<C: ConnectionLike>(
    connection: &mut C,
    operation: Operation,
    key: &str,
    nonce: Option<u64>,
) -> Result<(), RequestError> {
    match (operation, nonce) {
        (Operation::Load, None) => {
            let members: Vec<String> = redis::cmd("SMEMBERS")
                .arg(key)
                .query_async(connection)
                .await?;
            expect_labels(members.len())
        }
        (Operation::Load, Some(nonce)) => {
            let (members, echoed): (Vec<String>, u64) = redis::pipe()
                .cmd("SMEMBERS")
                .arg(key)
                .cmd("ECHO")
                .arg(nonce)
                .query_async(connection)
                .await?;
            expect_nonce(nonce, echoed)?;
            expect_labels(members.len())
        }
        (Operation::Append, None) => {
            redis::pipe()
                .atomic()
                .sadd(key, &LABELS)
                .ignore()
                .expire(key, TTL_SECONDS as i64)
                .ignore()
                .query_async::<()>(connection)
                .await?;
            Ok(())
        }
        (Operation::Append, Some(nonce)) => {
            // An atomic pipeline cannot carry a command after EXEC, so the
            // transaction is spelled out as the store does it.
            let replies: Vec<Value> = redis::pipe()
                .cmd("MULTI")
                .cmd("SADD")
                .arg(key)
                .arg(&LABELS)
                .cmd("EXPIRE")
                .arg(key)
                .arg(TTL_SECONDS)
                .cmd("EXEC")
                .cmd("ECHO")
                .arg(nonce)
                .query_async(connection)
                .await?;
            match replies.last() {
                Some(Value::BulkString(bytes)) if bytes == nonce.to_string().as_bytes() => Ok(()),
                other => Err(RequestError::Unexpected(format!(
                    "ECHO returned {other:?}, expected {nonce}"
                ))),
            }
        }
    }
}

fn expect_labels(count: usize) -> Result<(), RequestError> {
    if count == LABELS.len() {
        return Ok(());
    }
    Err(RequestError::Unexpected(format!(
        "load returned {count} labels, expected {}",
        LABELS.len()
    )))
}

fn expect_nonce(sent: u64, echoed: u64) -> Result<(), RequestError> {
    if sent == echoed {
        return Ok(());
    }
    Err(RequestError::Unexpected(format!(
        "ECHO returned {echoed}, expected {sent}"
    )))
}
