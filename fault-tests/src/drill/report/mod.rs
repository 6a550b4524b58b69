//! The drill's results: the figures of every run, as JSON, a terminal table
//! and an HTML page with SVG timelines.

mod chart;
mod html;
mod table;

use std::time::Duration;

use serde::Serialize;

pub use html::render_html;
pub use table::render_table;

use super::faults::AppliedFault;
use super::invariant::Violation;
use super::policy::Policy;
use super::recorder::{BreakerStateValue, Transition};
use super::recovery::Recovery;
use super::scenario::Scenario;
use super::stats::{OVERLOAD, RequestBucket, RequestSummary};
use super::timeline::FaultWindow;

/// Every figure of one drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The command line that produced the report.
    pub command: String,
    /// The machine the drill ran on.
    pub machine: Machine,
    /// The workload settings shared by every run.
    pub settings: Settings,
    /// Runs in the order they ran.
    pub runs: Vec<RunReport>,
    /// Scenarios that were not run, with the reason.
    pub skipped: Vec<SkippedScenario>,
}

impl DrillReport {
    /// Returns the number of invariant violations over every run.
    pub fn violation_count(&self) -> usize {
        self.runs.iter().map(|run| run.violations.len()).sum()
    }
}

/// The machine the drill ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the drill.
    pub cpus: usize,
    /// Operating system and architecture.
    pub platform: String,
    /// The server under test: the version the drill started, or "external".
    pub server: String,
}

/// The workload settings of a drill.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Shortest length of each run, in milliseconds.
    pub duration_ms: u64,
    /// Requests issued per second.
    pub rate: u32,
    /// Requests in flight at most; more are denied as overload.
    pub concurrency: usize,
    /// Distinct sessions the requests spread over.
    pub sessions: u32,
    /// Share of requests that also append a label.
    pub append_share: f64,
    /// Seed of the workload, the jitter and the brownout slices.
    pub seed: u64,
    /// Width of a timeline bucket, in milliseconds.
    pub bucket_ms: u64,
}

/// A scenario that the drill did not run.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedScenario {
    /// The scenario.
    pub scenario: Scenario,
    /// The reason it was skipped.
    pub reason: String,
}

/// The figures of one scenario under one policy.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The fault timeline replayed.
    pub scenario: Scenario,
    /// The settings under test.
    pub policy: Policy,
    /// Length of the run in milliseconds.
    pub length_ms: u64,
    /// Request counts, denials and latency.
    #[serde(flatten)]
    pub requests: RequestSummary,
    /// Backend attempts started, retries included.
    pub backend_attempts: u64,
    /// Retries started.
    pub retries: u64,
    /// Backend attempts per request that started (overload excluded).
    pub attempts_per_request: f64,
    /// Connections the proxy accepted, rejected ones included.
    pub new_connections: u64,
    /// Breaker state changes.
    pub breaker_transitions: usize,
    /// How long after the fault the requests succeeded again.
    pub recovery: Recovery,
    /// Spans of the run with a fault active.
    pub fault_windows: Vec<FaultWindow>,
    /// Fault actions as applied.
    pub faults: Vec<AppliedFault>,
    /// Every breaker transition.
    pub transitions: Vec<Transition>,
    /// Loads checked by the invariant checker.
    pub loads_checked: u64,
    /// Loads that missed acknowledged labels.
    pub violations: Vec<Violation>,
    /// Requests still running when the run stopped waiting for them; they
    /// are in no other figure.
    pub unfinished_requests: usize,
    /// Per-bucket figures from the start of the run.
    pub buckets: Vec<TimelineBucket>,
}

/// The figures of one time bucket of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineBucket {
    /// Start of the bucket from the start of the run, in milliseconds.
    pub start_ms: u64,
    /// Requests issued in the bucket, by result, and their latency.
    #[serde(flatten)]
    pub requests: RequestBucket,
    /// Backend attempts started in the bucket.
    pub attempts: u64,
    /// Connections the proxy accepted in the bucket.
    pub new_connections: u64,
    /// Breaker state at the end of the bucket.
    pub breaker_state: BreakerStateValue,
}

/// Cumulative counters read at the end of each bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CounterSample {
    pub(crate) attempts: u64,
    pub(crate) connections: u64,
}

/// Builds the timeline from per-bucket request figures, cumulative counter
/// samples taken at each bucket's end, and the breaker transitions.
pub(crate) fn timeline(
    requests: Vec<RequestBucket>,
    samples: &[CounterSample],
    transitions: &[Transition],
    width: Duration,
) -> Vec<TimelineBucket> {
    let mut previous = CounterSample::default();
    requests
        .into_iter()
        .enumerate()
        .map(|(index, requests)| {
            let sample = samples.get(index).copied().unwrap_or(previous);
            let end = width * (index as u32 + 1);
            let breaker_state = transitions
                .iter()
                .take_while(|transition| transition.at < end)
                .last()
                .map_or(BreakerStateValue::Closed, |transition| transition.to);
            let bucket = TimelineBucket {
                start_ms: u64::try_from((width * index as u32).as_millis()).unwrap_or(u64::MAX),
                requests,
                attempts: sample.attempts.saturating_sub(previous.attempts),
                new_connections: sample.connections.saturating_sub(previous.connections),
                breaker_state,
            };
            previous = sample;
            bucket
        })
        .collect()
}

/// Returns backend attempts per request that started.
pub(crate) fn attempts_per_request(attempts: u64, requests: &RequestSummary) -> f64 {
    let overload = requests.denials.get(OVERLOAD).copied().unwrap_or(0);
    let started = requests.requests.saturating_sub(overload);
    if started == 0 {
        0.0
    } else {
        attempts as f64 / started as f64
    }
}

/// Builds a small report with one run, for rendering tests.
#[cfg(test)]
pub(super) fn sample_report() -> DrillReport {
    use std::collections::BTreeMap;

    use super::stats::LatencySummary;

    let bucket = |start_ms, successes, denials| TimelineBucket {
        start_ms,
        requests: RequestBucket {
            successes,
            denials,
            latency_p99_ms: 2.0,
            latency_max_ms: 3.0,
        },
        attempts: successes + denials,
        new_connections: 1,
        breaker_state: BreakerStateValue::Closed,
    };
    let run = RunReport {
        scenario: Scenario::Blip,
        policy: Policy::Full,
        length_ms: 300,
        requests: RequestSummary {
            requests: 30,
            successes: 20,
            denials: BTreeMap::from([
                ("circuit_open".to_owned(), 7),
                ("backend_transient".to_owned(), 3),
            ]),
            availability: 20.0 / 30.0,
            latency: LatencySummary {
                p50_ms: 1.5,
                p99_ms: 9.0,
                p999_ms: 12.0,
                max_ms: 15.0,
            },
        },
        backend_attempts: 25,
        retries: 2,
        attempts_per_request: 25.0 / 30.0,
        new_connections: 3,
        breaker_transitions: 0,
        recovery: Recovery::Recovered {
            after: Duration::from_millis(100),
        },
        fault_windows: vec![FaultWindow {
            start: Duration::from_millis(100),
            end: Duration::from_millis(200),
        }],
        faults: Vec::new(),
        transitions: Vec::new(),
        loads_checked: 20,
        violations: Vec::new(),
        unfinished_requests: 0,
        buckets: vec![bucket(0, 10, 0), bucket(100, 0, 10), bucket(200, 10, 0)],
    };
    DrillReport {
        command: "drill --scenario blip".to_owned(),
        machine: Machine {
            cpus: 2,
            platform: "linux x86_64".to_owned(),
            server: "valkey-server 9.1.2 started by the drill".to_owned(),
        },
        settings: Settings {
            duration_ms: 300,
            rate: 100,
            concurrency: 10,
            sessions: 5,
            append_share: 0.1,
            seed: 1,
            bucket_ms: 100,
        },
        runs: vec![run],
        skipped: vec![SkippedScenario {
            scenario: Scenario::Restart,
            reason: "it signals the server process".to_owned(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn bucket(successes: u64) -> RequestBucket {
        RequestBucket {
            successes,
            denials: 0,
            latency_p99_ms: 1.0,
            latency_max_ms: 2.0,
        }
    }

    #[test]
    fn timeline_turns_cumulative_samples_into_deltas() {
        let samples = [
            CounterSample {
                attempts: 10,
                connections: 1,
            },
            CounterSample {
                attempts: 25,
                connections: 1,
            },
            CounterSample {
                attempts: 25,
                connections: 4,
            },
        ];
        let buckets = timeline(
            vec![bucket(10), bucket(15), bucket(0)],
            &samples,
            &[],
            Duration::from_millis(100),
        );
        let deltas: Vec<(u64, u64, u64)> = buckets
            .iter()
            .map(|b| (b.start_ms, b.attempts, b.new_connections))
            .collect();
        assert_eq!(deltas, [(0, 10, 1), (100, 15, 0), (200, 0, 3)]);
    }

    #[test]
    fn timeline_shows_breaker_state_at_bucket_end() {
        let transitions = [
            Transition {
                at: Duration::from_millis(150),
                from: BreakerStateValue::Closed,
                to: BreakerStateValue::Open,
            },
            Transition {
                at: Duration::from_millis(320),
                from: BreakerStateValue::Open,
                to: BreakerStateValue::HalfOpen,
            },
        ];
        let buckets = timeline(
            vec![bucket(1), bucket(1), bucket(1), bucket(1)],
            &[],
            &transitions,
            Duration::from_millis(100),
        );
        let states: Vec<BreakerStateValue> = buckets.iter().map(|b| b.breaker_state).collect();
        assert_eq!(
            states,
            [
                BreakerStateValue::Closed,
                BreakerStateValue::Open,
                BreakerStateValue::Open,
                BreakerStateValue::HalfOpen
            ]
        );
    }

    #[test]
    fn attempts_per_request_leaves_out_overload() {
        let requests = RequestSummary {
            requests: 12,
            successes: 8,
            denials: BTreeMap::from([(OVERLOAD.to_owned(), 2), ("circuit_open".to_owned(), 2)]),
            availability: 0.75,
            latency: Default::default(),
        };
        assert_eq!(attempts_per_request(15, &requests), 1.5);
    }
}
