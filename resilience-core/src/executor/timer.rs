//! Arming tokio timers so that they never fire after the instant they guard.
//!
//! Tokio's timer fires on whole-millisecond ticks counted from the runtime's
//! start, and rounds the instant it is given up to the next tick
//! (`runtime/time/source.rs` in tokio 1.54).
//! Under paused time the clock then jumps whole milliseconds from the current
//! reading. A timer armed at a deadline that lies between two ticks therefore
//! fires up to 1 ms after it. The executor instead waits whole milliseconds
//! from a clock reading and arms each timer so that the rounding lands on
//! that instant, not after it.

use std::time::{Duration, Instant};

/// The step of tokio's timer: no wait is shorter, and every wait is a whole
/// number of them.
pub(crate) const TIMER_RESOLUTION: Duration = Duration::from_millis(1);

const NANOS_PER_MILLI: u32 = 1_000_000;

/// Returns `duration` truncated to whole milliseconds.
pub(crate) fn whole_millis(duration: Duration) -> Duration {
    let sub_milli = duration.subsec_nanos() % NANOS_PER_MILLI;
    duration - Duration::from_nanos(u64::from(sub_milli))
}

/// Returns the instant to give tokio so that a timer fires at `aligned`,
/// which must be a clock reading plus whole milliseconds.
///
/// Tokio adds one tick less one nanosecond before truncating to a tick, so
/// subtracting the same amount first lands the timer on the tick of
/// `aligned` itself. Under paused time that is `aligned` exactly; a timer
/// without this rounding would fire earlier, never later.
pub(crate) fn timer_instant(aligned: Instant) -> tokio::time::Instant {
    let rounding = TIMER_RESOLUTION - Duration::from_nanos(1);
    let armed = aligned.checked_sub(rounding).unwrap_or(aligned);
    tokio::time::Instant::from_std(armed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_millis_drops_the_sub_millisecond_part() {
        assert_eq!(
            whole_millis(Duration::from_micros(7_300)),
            Duration::from_millis(7)
        );
        assert_eq!(
            whole_millis(Duration::from_millis(1_500)),
            Duration::from_millis(1_500)
        );
        assert_eq!(whole_millis(Duration::from_micros(999)), Duration::ZERO);
        assert_eq!(
            whole_millis(Duration::MAX),
            Duration::new(u64::MAX, 999_000_000)
        );
    }
}
