//! The commands of each round trip and the checks on their replies.
//!
//! Every round trip is sent as one plain pipeline and its replies are read
//! raw, one value per command, so that each reply is checked here. An append
//! spells out `MULTI ... EXEC` instead of using `Pipeline::atomic`, because
//! the closing `ECHO` must follow `EXEC` to prove that the whole round trip,
//! transaction included, arrived in order.

use redis::{Pipeline, RedisError, ServerError, ServerErrorKind, Value};

use crate::error::AttemptError;
use crate::labels::Labels;
use crate::valkey::classify::BackendError;
use crate::valkey::reply_error::ReplyError;

/// One round trip: the commands and what their replies must look like.
#[derive(Debug)]
pub(crate) struct Request {
    pipeline: Pipeline,
    reply_count: usize,
    refreshes_ttl: bool,
    nonce: Option<String>,
}

impl Request {
    /// Builds `SMEMBERS key`, then `EXPIRE key ttl` when a TTL is set, then
    /// `ECHO nonce` when a nonce is given.
    pub(crate) fn load(key: &str, ttl_seconds: Option<u64>, nonce: Option<String>) -> Self {
        let mut pipeline = redis::pipe();
        pipeline.cmd("SMEMBERS").arg(key);
        if let Some(ttl) = ttl_seconds {
            pipeline.cmd("EXPIRE").arg(key).arg(ttl);
        }
        Self::finish(pipeline, ttl_seconds.is_some(), nonce)
    }

    /// Builds `MULTI`, `SADD key labels...`, `EXPIRE key ttl` when a TTL is
    /// set, `EXEC`, then `ECHO nonce` when a nonce is given.
    pub(crate) fn append(
        key: &str,
        labels: &[&str],
        ttl_seconds: Option<u64>,
        nonce: Option<String>,
    ) -> Self {
        let mut pipeline = redis::pipe();
        pipeline.cmd("MULTI");
        pipeline.cmd("SADD").arg(key).arg(labels);
        if let Some(ttl) = ttl_seconds {
            pipeline.cmd("EXPIRE").arg(key).arg(ttl);
        }
        pipeline.cmd("EXEC");
        Self::finish(pipeline, ttl_seconds.is_some(), nonce)
    }

    fn finish(mut pipeline: Pipeline, refreshes_ttl: bool, nonce: Option<String>) -> Self {
        if let Some(nonce) = &nonce {
            pipeline.cmd("ECHO").arg(nonce);
        }
        let reply_count = pipeline.len();
        Self {
            pipeline,
            reply_count,
            refreshes_ttl,
            nonce,
        }
    }

    pub(crate) fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub(crate) fn reply_count(&self) -> usize {
        self.reply_count
    }

    /// Checks the reply count and the closing nonce, then returns the
    /// replies to the store's own commands.
    ///
    /// An error reply in place of the nonce means that the server rejected
    /// the `ECHO`, most often because the ACL user lacks `+echo`. That error
    /// is returned as it is, so that it is classified by its code instead of
    /// being reported, retried and counted as a mismatch. The attempt fails
    /// either way, because the round trip could not be checked.
    fn verify(&self, mut replies: Vec<Value>) -> Result<Vec<Value>, AttemptError> {
        if replies.len() != self.reply_count {
            return Err(ReplyError::reply_count(self.reply_count, replies.len()).into());
        }
        if let Some(nonce) = &self.nonce {
            match replies.pop() {
                Some(Value::BulkString(bytes)) if bytes == nonce.as_bytes() => {}
                Some(Value::ServerError(error)) => return Err(server_error(error)),
                _ => return Err(ReplyError::nonce_mismatch().into()),
            }
        }
        Ok(replies)
    }
}

/// The decoded result of a load round trip.
#[derive(Debug)]
pub(crate) struct LoadReply {
    pub(crate) labels: Labels,
    /// The server's error for the `EXPIRE` that slides the TTL, if it failed.
    pub(crate) refresh_error: Option<ServerError>,
}

/// Checks and decodes the replies of a load.
pub(crate) fn parse_load(
    request: &Request,
    replies: Vec<Value>,
) -> Result<LoadReply, AttemptError> {
    let mut replies = request.verify(replies)?.into_iter();
    let members = replies.next().unwrap_or_default();
    let labels = parse_members(members)?;
    let refresh_error = if request.refreshes_ttl {
        match replies.next().unwrap_or_default() {
            Value::Int(_) => None,
            // READONLY proves that a replica served the SMEMBERS, and a
            // replica may lack appends that the primary acknowledged.
            Value::ServerError(error) if error.kind() == Some(ServerErrorKind::ReadOnly) => {
                return Err(server_error(error));
            }
            Value::ServerError(error) => Some(error),
            other => return Err(ReplyError::unexpected("EXPIRE", "an integer", &other).into()),
        }
    } else {
        None
    };
    Ok(LoadReply {
        labels,
        refresh_error,
    })
}

fn parse_members(reply: Value) -> Result<Labels, AttemptError> {
    let members = match reply {
        Value::Array(members) | Value::Set(members) => members,
        Value::ServerError(error) => return Err(server_error(error)),
        other => return Err(ReplyError::unexpected("SMEMBERS", "an array", &other).into()),
    };
    let mut labels = Labels::new();
    for (index, member) in members.into_iter().enumerate() {
        let Value::BulkString(bytes) = member else {
            return Err(ReplyError::unexpected("SMEMBERS", "bulk string members", &member).into());
        };
        let label = String::from_utf8(bytes).map_err(|_| ReplyError::non_utf8_member(index))?;
        labels.insert(label);
    }
    Ok(labels)
}

/// Checks the replies of an append: `MULTI` returned OK, every command was
/// queued, and every result inside `EXEC` is a success.
///
/// An error at queue time (`NOPERM`, `OOM`) aborts the transaction and makes
/// `EXEC` return `EXECABORT`; the queue-time error is returned because it
/// names the cause.
pub(crate) fn parse_append(request: &Request, replies: Vec<Value>) -> Result<(), AttemptError> {
    let mut replies = request.verify(replies)?;
    let exec = replies.pop().unwrap_or_default();
    let mut replies = replies.into_iter();
    match replies.next().unwrap_or_default() {
        Value::Okay => {}
        Value::ServerError(error) => return Err(server_error(error)),
        other => return Err(ReplyError::unexpected("MULTI", "OK", &other).into()),
    }
    let queued_count = replies.len();
    for reply in replies {
        match reply {
            Value::SimpleString(status) if status == "QUEUED" => {}
            Value::ServerError(error) => return Err(server_error(error)),
            other => return Err(ReplyError::unexpected("MULTI", "QUEUED", &other).into()),
        }
    }
    let results = match exec {
        Value::Array(results) if results.len() == queued_count => results,
        Value::ServerError(error) => return Err(server_error(error)),
        other => return Err(ReplyError::unexpected("EXEC", "an array of results", &other).into()),
    };
    for result in results {
        match result {
            Value::Int(_) => {}
            Value::ServerError(error) => return Err(server_error(error)),
            other => return Err(ReplyError::unexpected("EXEC", "integer results", &other).into()),
        }
    }
    Ok(())
}

fn server_error(error: ServerError) -> AttemptError {
    BackendError::command(RedisError::from(error)).into()
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
