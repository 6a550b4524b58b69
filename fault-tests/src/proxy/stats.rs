//! Connection and byte counters of a proxy.

use std::sync::atomic::{AtomicU64, Ordering};

use super::fault::{Direction, PerDirection};

/// A snapshot of a proxy's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections accepted, rejected ones included.
    pub accepted: u64,
    /// Connections reset at once because new connections were rejected.
    pub rejected: u64,
    /// Connections reset because the upstream address could not be dialled.
    pub dial_failures: u64,
    /// Connections open now.
    pub open: u64,
    /// Client-to-server bytes.
    pub upstream: DirectionStats,
    /// Server-to-client bytes.
    pub downstream: DirectionStats,
}

impl Stats {
    /// Returns the byte counters of one direction.
    pub fn direction(&self, direction: Direction) -> DirectionStats {
        match direction {
            Direction::Upstream => self.upstream,
            Direction::Downstream => self.downstream,
        }
    }
}

/// Byte counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirectionStats {
    /// Bytes written to the destination socket.
    pub forwarded: u64,
    /// Bytes read and discarded by a fault.
    pub discarded: u64,
}

#[derive(Debug, Default)]
pub(crate) struct DirectionCounters {
    forwarded: AtomicU64,
    discarded: AtomicU64,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) dial_failures: AtomicU64,
    pub(crate) open: AtomicU64,
    bytes: PerDirection<DirectionCounters>,
}

impl Counters {
    pub(crate) fn add_forwarded(&self, direction: Direction, bytes: usize) {
        add(&self.bytes.get(direction).forwarded, bytes);
    }

    pub(crate) fn add_discarded(&self, direction: Direction, bytes: usize) {
        add(&self.bytes.get(direction).discarded, bytes);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let direction = |counters: &DirectionCounters| DirectionStats {
            forwarded: load(&counters.forwarded),
            discarded: load(&counters.discarded),
        };
        Stats {
            accepted: load(&self.accepted),
            rejected: load(&self.rejected),
            dial_failures: load(&self.dial_failures),
            open: load(&self.open),
            upstream: direction(&self.bytes.upstream),
            downstream: direction(&self.bytes.downstream),
        }
    }
}

fn add(counter: &AtomicU64, bytes: usize) {
    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
    counter.fetch_add(bytes, Ordering::Relaxed);
}
