//! Request statistics of one run: counts, denials by reason and latency,
//! in total and per time bucket.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::recovery::Tally;

/// Denial reason of a request that could not start because `--concurrency`
/// requests were already in flight.
pub const OVERLOAD: &str = "overload";
/// Highest latency the histograms track; longer requests count as this.
const MAX_TRACKED_MICROS: u64 = 60_000_000;

/// Latency quantiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl LatencySummary {
    fn from_histogram(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let millis = |micros: u64| micros as f64 / 1000.0;
        Self {
            p50_ms: millis(histogram.value_at_quantile(0.5)),
            p99_ms: millis(histogram.value_at_quantile(0.99)),
            p999_ms: millis(histogram.value_at_quantile(0.999)),
            max_ms: millis(histogram.max()),
        }
    }
}

/// Totals of one run's requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSummary {
    /// Requests issued, overload denials included.
    pub requests: u64,
    /// Requests that succeeded.
    pub successes: u64,
    /// Denied requests by reason.
    pub denials: BTreeMap<String, u64>,
    /// Successes divided by requests.
    pub availability: f64,
    /// Latency of every request that started, successful or denied.
    pub latency: LatencySummary,
}

/// Requests issued in one bucket, with their latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestBucket {
    /// Requests that succeeded.
    pub successes: u64,
    /// Requests denied, overload included.
    pub denials: u64,
    /// 99th percentile latency of the requests that started, in
    /// milliseconds.
    pub latency_p99_ms: f64,
    /// Maximum latency of the requests that started, in milliseconds.
    pub latency_max_ms: f64,
}

impl RequestBucket {
    /// Returns the bucket's success and denial counts.
    pub fn tally(&self) -> Tally {
        Tally {
            successes: self.successes,
            denials: self.denials,
        }
    }
}

/// Collects request results of one run; requests are placed in the bucket
/// of the time they were issued.
#[derive(Debug)]
pub struct RequestStats {
    bucket_width: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    successes: u64,
    denials: BTreeMap<String, u64>,
    latency: Histogram<u64>,
    buckets: Vec<BucketTally>,
}

#[derive(Debug)]
struct BucketTally {
    successes: u64,
    denials: u64,
    latency: Histogram<u64>,
}

impl RequestStats {
    /// Creates empty statistics with buckets of `bucket_width`.
    ///
    /// # Panics
    ///
    /// Panics when `bucket_width` is zero.
    pub fn new(bucket_width: Duration) -> Self {
        assert!(!bucket_width.is_zero(), "bucket width must be above zero");
        Self {
            bucket_width,
            inner: Mutex::new(Inner {
                successes: 0,
                denials: BTreeMap::new(),
                latency: new_histogram(3),
                buckets: Vec::new(),
            }),
        }
    }

    /// Records a request issued at `issued` (from the start of the run) that
    /// succeeded after `latency`.
    pub fn record_success(&self, issued: Duration, latency: Duration) {
        let mut inner = self.inner.lock().expect("stats lock poisoned");
        inner.successes += 1;
        record_latency(&mut inner.latency, latency);
        let bucket = inner.bucket(self.index(issued));
        bucket.successes += 1;
        record_latency(&mut bucket.latency, latency);
    }

    /// Records a denied request. `latency` is `None` for a request that
    /// never started.
    pub fn record_denial(&self, issued: Duration, latency: Option<Duration>, reason: &str) {
        let mut inner = self.inner.lock().expect("stats lock poisoned");
        *inner.denials.entry(reason.to_owned()).or_default() += 1;
        if let Some(latency) = latency {
            record_latency(&mut inner.latency, latency);
        }
        let bucket = inner.bucket(self.index(issued));
        bucket.denials += 1;
        if let Some(latency) = latency {
            record_latency(&mut bucket.latency, latency);
        }
    }

    /// Returns the totals.
    pub fn summary(&self) -> RequestSummary {
        let inner = self.inner.lock().expect("stats lock poisoned");
        let denied: u64 = inner.denials.values().sum();
        let requests = inner.successes + denied;
        RequestSummary {
            requests,
            successes: inner.successes,
            denials: inner.denials.clone(),
            availability: if requests == 0 {
                0.0
            } else {
                inner.successes as f64 / requests as f64
            },
            latency: LatencySummary::from_histogram(&inner.latency),
        }
    }

    /// Returns `count` buckets from the start of the run; buckets with no
    /// request are empty.
    pub fn buckets(&self, count: usize) -> Vec<RequestBucket> {
        let inner = self.inner.lock().expect("stats lock poisoned");
        (0..count)
            .map(|index| match inner.buckets.get(index) {
                Some(tally) => {
                    let latency = LatencySummary::from_histogram(&tally.latency);
                    RequestBucket {
                        successes: tally.successes,
                        denials: tally.denials,
                        latency_p99_ms: latency.p99_ms,
                        latency_max_ms: latency.max_ms,
                    }
                }
                None => RequestBucket {
                    successes: 0,
                    denials: 0,
                    latency_p99_ms: 0.0,
                    latency_max_ms: 0.0,
                },
            })
            .collect()
    }

    fn index(&self, issued: Duration) -> usize {
        (issued.as_nanos() / self.bucket_width.as_nanos()) as usize
    }
}

impl Inner {
    fn bucket(&mut self, index: usize) -> &mut BucketTally {
        while self.buckets.len() <= index {
            self.buckets.push(BucketTally {
                successes: 0,
                denials: 0,
                latency: new_histogram(2),
            });
        }
        &mut self.buckets[index]
    }
}

fn new_histogram(significant_figures: u8) -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, significant_figures)
        .expect("static histogram bounds are valid")
}

fn record_latency(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.clamp(1, MAX_TRACKED_MICROS));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn summary_counts_requests_by_result() {
        let stats = RequestStats::new(ms(100));
        stats.record_success(ms(5), ms(2));
        stats.record_success(ms(6), ms(4));
        stats.record_denial(ms(7), Some(ms(500)), "deadline_exceeded");
        stats.record_denial(ms(8), None, OVERLOAD);

        let summary = stats.summary();

        assert_eq!(summary.requests, 4);
        assert_eq!(summary.successes, 2);
        assert_eq!(summary.denials.get("deadline_exceeded"), Some(&1));
        assert_eq!(summary.denials.get(OVERLOAD), Some(&1));
        assert_eq!(summary.availability, 0.5);
    }

    #[test]
    fn latency_covers_started_requests_only() {
        let stats = RequestStats::new(ms(100));
        for _ in 0..99 {
            stats.record_success(ms(0), ms(1));
        }
        stats.record_denial(ms(0), Some(ms(800)), "deadline_exceeded");
        stats.record_denial(ms(0), None, OVERLOAD);

        let latency = stats.summary().latency;

        assert!((latency.p50_ms - 1.0).abs() < 0.01, "{latency:?}");
        assert!((latency.max_ms - 800.0).abs() < 1.0, "{latency:?}");
    }

    #[test]
    fn requests_land_in_their_issue_bucket() {
        let stats = RequestStats::new(ms(100));
        stats.record_success(ms(50), ms(900));
        stats.record_denial(ms(250), Some(ms(1)), "circuit_open");

        let buckets = stats.buckets(4);

        let counts: Vec<(u64, u64)> = buckets.iter().map(|b| (b.successes, b.denials)).collect();
        assert_eq!(counts, [(1, 0), (0, 0), (0, 1), (0, 0)]);
        assert!(
            (buckets[0].latency_max_ms - 900.0).abs() < 10.0,
            "{:?}",
            buckets[0]
        );
        assert_eq!(buckets[1].latency_max_ms, 0.0);
    }

    #[test]
    fn empty_stats_have_zero_figures() {
        let summary = RequestStats::new(ms(100)).summary();
        assert_eq!(summary.requests, 0);
        assert_eq!(summary.availability, 0.0);
        assert_eq!(summary.latency, LatencySummary::default());
    }
}
