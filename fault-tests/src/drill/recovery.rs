//! Time to recover: how long after a fault ends the requests succeed again.

use std::time::Duration;

use serde::Serialize;

/// Availability a bucket needs to count as recovered.
pub const RECOVERED_AVAILABILITY: f64 = 0.99;
/// How long availability must stay at [`RECOVERED_AVAILABILITY`] or above.
pub const RECOVERY_HOLD: Duration = Duration::from_millis(500);

/// Requests issued in one time bucket, split by result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests that succeeded.
    pub successes: u64,
    /// Requests that were denied, overload included.
    pub denials: u64,
}

impl Tally {
    /// Returns the share of successful requests, or `None` for an empty
    /// bucket.
    pub fn availability(&self) -> Option<f64> {
        let total = self.successes + self.denials;
        (total > 0).then(|| self.successes as f64 / total as f64)
    }
}

/// The outcome of the requests after the fault ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Recovery {
    /// The scenario has no fault.
    NoFault,
    /// Availability reached the threshold this long after the fault ended
    /// and held for [`RECOVERY_HOLD`].
    Recovered {
        /// Time from the end of the fault to the start of the first bucket
        /// of the recovered stretch.
        #[serde(rename = "after_ms", serialize_with = "super::serialize_millis")]
        after: Duration,
    },
    /// Availability never held the threshold before the run ended.
    NotRecovered,
}

impl Recovery {
    /// Returns the recovery time as shown in the table.
    pub fn label(&self) -> String {
        match self {
            Recovery::NoFault => "-".to_owned(),
            Recovery::Recovered { after } => format!("{} ms", after.as_millis()),
            Recovery::NotRecovered => "not recovered".to_owned(),
        }
    }
}

/// Finds the first bucket that starts at or after `fault_end` from which every
/// bucket of the next [`RECOVERY_HOLD`] has an availability of at least
/// [`RECOVERED_AVAILABILITY`].
///
/// Bucket `i` covers `[i * width, (i + 1) * width)` from the start of the
/// run. An empty bucket counts as available, because nothing in it was
/// denied. A stretch cut short by the end of the run does not count.
///
/// # Panics
///
/// Panics when `width` is zero.
pub fn time_to_recover(
    buckets: &[Tally],
    width: Duration,
    fault_end: Option<Duration>,
) -> Recovery {
    assert!(!width.is_zero(), "bucket width must be above zero");
    let Some(fault_end) = fault_end else {
        return Recovery::NoFault;
    };
    let width_ns = width.as_nanos();
    let first = fault_end.as_nanos().div_ceil(width_ns) as usize;
    let hold = RECOVERY_HOLD.as_nanos().div_ceil(width_ns) as usize;
    let available = |tally: &Tally| {
        tally
            .availability()
            .is_none_or(|share| share >= RECOVERED_AVAILABILITY)
    };

    let mut stretch_start = None;
    for (index, tally) in buckets.iter().enumerate().skip(first) {
        if !available(tally) {
            stretch_start = None;
            continue;
        }
        let start = *stretch_start.get_or_insert(index);
        if index + 1 - start >= hold {
            let bucket_start = width * start as u32;
            return Recovery::Recovered {
                after: bucket_start.saturating_sub(fault_end),
            };
        }
    }
    Recovery::NotRecovered
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDTH: Duration = Duration::from_millis(100);

    fn tallies(shares: &[(u64, u64)]) -> Vec<Tally> {
        shares
            .iter()
            .map(|&(successes, denials)| Tally { successes, denials })
            .collect()
    }

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn no_fault_means_no_recovery_time() {
        let buckets = tallies(&[(10, 0); 10]);
        assert_eq!(time_to_recover(&buckets, WIDTH, None), Recovery::NoFault);
    }

    #[test]
    fn recovery_starts_at_first_bucket_of_a_held_stretch() {
        // Fault ends at 200 ms; buckets 2 and 3 still fail, 4..9 succeed.
        let buckets = tallies(&[
            (0, 10),
            (0, 10),
            (0, 10),
            (5, 5),
            (100, 0),
            (100, 0),
            (99, 1),
            (100, 0),
            (100, 0),
            (100, 0),
        ]);
        let recovery = time_to_recover(&buckets, WIDTH, Some(ms(200)));
        assert_eq!(recovery, Recovery::Recovered { after: ms(200) });
    }

    #[test]
    fn fault_end_mid_bucket_uses_next_bucket() {
        let buckets = tallies(&[
            (0, 10),
            (0, 10),
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
        ]);
        let recovery = time_to_recover(&buckets, WIDTH, Some(ms(150)));
        assert_eq!(recovery, Recovery::Recovered { after: ms(50) });
    }

    #[test]
    fn dip_below_threshold_restarts_the_stretch() {
        let buckets = tallies(&[
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
            (97, 3),
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
            (10, 0),
        ]);
        let recovery = time_to_recover(&buckets, WIDTH, Some(ms(0)));
        assert_eq!(recovery, Recovery::Recovered { after: ms(500) });
    }

    #[test]
    fn stretch_cut_by_end_of_run_is_not_recovered() {
        let buckets = tallies(&[(0, 10), (10, 0), (10, 0), (10, 0), (10, 0)]);
        let recovery = time_to_recover(&buckets, WIDTH, Some(ms(100)));
        assert_eq!(recovery, Recovery::NotRecovered);
    }

    #[test]
    fn empty_buckets_count_as_available() {
        let buckets = tallies(&[(0, 10), (0, 0), (0, 0), (10, 0), (0, 0), (10, 0)]);
        let recovery = time_to_recover(&buckets, WIDTH, Some(ms(100)));
        assert_eq!(recovery, Recovery::Recovered { after: ms(0) });
    }

    #[test]
    fn labels_read_as_in_the_table() {
        assert_eq!(Recovery::NoFault.label(), "-");
        assert_eq!(Recovery::Recovered { after: ms(300) }.label(), "300 ms");
        assert_eq!(Recovery::NotRecovered.label(), "not recovered");
    }
}
