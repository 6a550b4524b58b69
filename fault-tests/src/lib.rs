//! Test infrastructure for fault drills against a real `valkey-server`.
//!
//! - [`ServerBuilder`] starts a `valkey-server` (or a TLS-enabled
//!   `redis-server`) on a free port of 127.0.0.1 in its own temporary folder,
//!   and [`Server`] kills, restarts, pauses and resumes it.
//! - [`Proxy`] is a TCP proxy between a client and one upstream address whose
//!   [`Fault`]s change at runtime and act on open connections too.
//! - [`resp`] is a minimal blocking RESP client for readiness checks and
//!   test assertions.
//! - [`TlsFiles`] generates a test CA and a server certificate for loopback.

pub mod drill;
pub mod proxy;
pub mod resp;
pub mod server;

pub use proxy::{Direction, DirectionStats, Fault, Proxy, Stats};
pub use server::{Server, ServerBuilder, ServerError, TlsFiles};
