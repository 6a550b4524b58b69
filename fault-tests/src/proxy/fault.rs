//! The faults that a proxy applies to the bytes of one direction.

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

/// The direction of a byte stream through the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server: requests.
    Upstream,
    /// Server to client: replies.
    Downstream,
}

/// One fault of a direction. Setting a fault replaces the previous fault of
/// the same kind in that direction and keeps the other kinds.
///
/// Faults act per chunk: the bytes of one read from the source socket, at
/// most 16 KiB. A chunk is checked against the faults in force when it is
/// about to be written, so a change also acts on open connections and on
/// chunks already read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Delays each chunk until `delay ± jitter` after the proxy read it,
    /// drawn uniformly and clamped at zero. Chunks keep their order, so a
    /// long draw also holds back the chunks behind it.
    Latency {
        /// The mean added delay.
        delay: Duration,
        /// The maximum deviation from `delay`, either way.
        jitter: Duration,
    },
    /// Reads and discards every chunk and forwards nothing. The end of the
    /// stream (FIN) is still forwarded.
    Blackhole,
    /// Forwards the first `n` bytes of the connection in this direction,
    /// counted from the connection's start, then closes the connection
    /// (FIN to the client and to the server). A connection already past `n`
    /// closes when its next chunk arrives.
    CloseAfter(u64),
    /// Writes each chunk in pieces of at most `max_bytes`, waiting `delay`
    /// between two pieces of one chunk.
    Slice {
        /// The largest piece.
        max_bytes: NonZeroUsize,
        /// The wait between two pieces; zero writes them back to back.
        delay: Duration,
    },
    /// Limits the rate to this many bytes per second. Bytes go out in pieces
    /// of a tenth of a second's worth, at least one byte, and the first
    /// piece goes out at once.
    Bandwidth(NonZeroU64),
}

/// Latency settings of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Latency {
    pub(crate) delay: Duration,
    pub(crate) jitter: Duration,
}

/// Slicing settings of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slice {
    pub(crate) max_bytes: NonZeroUsize,
    pub(crate) delay: Duration,
}

/// The faults in force in one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DirectionFaults {
    pub(crate) latency: Option<Latency>,
    pub(crate) blackhole: bool,
    pub(crate) close_after: Option<u64>,
    pub(crate) slice: Option<Slice>,
    pub(crate) bandwidth: Option<NonZeroU64>,
}

impl DirectionFaults {
    pub(crate) fn apply(&mut self, fault: Fault) {
        match fault {
            Fault::Latency { delay, jitter } => self.latency = Some(Latency { delay, jitter }),
            Fault::Blackhole => self.blackhole = true,
            Fault::CloseAfter(limit) => self.close_after = Some(limit),
            Fault::Slice { max_bytes, delay } => self.slice = Some(Slice { max_bytes, delay }),
            Fault::Bandwidth(rate) => self.bandwidth = Some(rate),
        }
    }
}

/// A pair of values, one per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PerDirection<T> {
    pub(crate) upstream: T,
    pub(crate) downstream: T,
}

impl<T> PerDirection<T> {
    pub(crate) fn get(&self, direction: Direction) -> &T {
        match direction {
            Direction::Upstream => &self.upstream,
            Direction::Downstream => &self.downstream,
        }
    }

    pub(crate) fn get_mut(&mut self, direction: Direction) -> &mut T {
        match direction {
            Direction::Upstream => &mut self.upstream,
            Direction::Downstream => &mut self.downstream,
        }
    }
}

/// The faults in force in both directions.
pub(crate) type Faults = PerDirection<DirectionFaults>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_a_fault_keeps_other_kinds() {
        let mut faults = DirectionFaults::default();

        faults.apply(Fault::Blackhole);
        faults.apply(Fault::CloseAfter(10));
        faults.apply(Fault::CloseAfter(3));

        assert!(faults.blackhole);
        assert_eq!(faults.close_after, Some(3));
        assert_eq!(faults.latency, None);
    }

    #[test]
    fn directions_are_kept_apart() {
        let mut faults = Faults::default();

        faults
            .get_mut(Direction::Downstream)
            .apply(Fault::Blackhole);

        assert!(faults.get(Direction::Downstream).blackhole);
        assert!(!faults.get(Direction::Upstream).blackhole);
    }
}
