//! The `SessionStore` trait: the contract every backend keeps.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use crate::error::SessionStoreError;
use crate::labels::Labels;

/// The future a [`SessionStore`] method returns.
///
/// The futures are boxed so that the trait is dyn-compatible and a gateway can
/// hold an `Arc<dyn SessionStore>`. One allocation per call is small next to
/// a network round trip.
pub type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, SessionStoreError>> + Send + 'a>>;

/// A fail-closed store of per-session labels.
///
/// # Contract
///
/// - `load` returns `Ok` with an empty set only when the backend confirmed
///   that the session has no labels. Every other doubt (unreachable, timed
///   out, breaker open, undecodable or mismatched reply) is an `Err`, and
///   the caller must deny the request.
/// - `append` is a set union on the server. Once it returned `Ok`, every
///   later `load` of the same session returns the appended labels, unless the
///   key expired.
/// - Both methods validate their input first (see [`crate::validate_session_id`]
///   and [`crate::validate_labels`]) and return
///   [`SessionStoreError::InvalidInput`] without contacting the backend.
/// - Appending an empty list succeeds without a round trip.
/// - Dropping a returned future cancels the operation. An append cancelled
///   this way may or may not have been applied.
pub trait SessionStore: Send + Sync + Debug {
    /// Loads the labels of a session.
    fn load<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Labels>;

    /// Adds labels to a session's set, keeping the labels already there.
    fn append<'a>(&'a self, session_id: &'a str, labels: &'a [&'a str]) -> StoreFuture<'a, ()>;
}
