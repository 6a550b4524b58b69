//! The outage drill: replays fault scenarios against a real `valkey-server`
//! under each resilience policy and reports what the callers saw.
//!
//! A run pairs one [`Scenario`] with one [`Policy`]. A synthetic gateway
//! issues requests at a fixed rate (open loop: a stalled backend does not
//! slow the load down), each through the store, the fault [`Proxy`] and
//! the server. Each request loads a session's labels and sometimes appends
//! one. The run records every result, the backend attempts and breaker
//! transitions (through a `metrics` recorder), and checks that no load
//! misses a label acknowledged before the load began.
//!
//! The `drill` binary is the command line over [`run_drill`].
//!
//! [`Proxy`]: crate::Proxy

mod backend;
mod cli;
mod faults;
mod invariant;
mod policy;
mod progress;
mod recorder;
mod recovery;
mod relay;
mod report;
mod run;
mod runner;
mod scenario;
mod stats;
mod timeline;
mod workload;

use std::time::Duration;

pub use backend::Backend;
pub use cli::{Args, DEFAULT_POLICIES, DEFAULT_SCENARIOS, DrillOptions, list_text};
pub use faults::AppliedFault;
pub use invariant::{InvariantChecker, Violation};
pub use policy::Policy;
pub use recorder::{BreakerStateValue, DrillRecorder, RunMetrics, Transition};
pub use recovery::{RECOVERED_AVAILABILITY, RECOVERY_HOLD, Recovery, Tally, time_to_recover};
pub use report::{
    DrillReport, Machine, RunReport, Settings, SkippedScenario, TimelineBucket, render_html,
    render_table,
};
pub use runner::{DrillError, run_drill, write_outputs};
pub use scenario::{BROWNOUT_DELAYED_SHARE, BROWNOUT_EXTRA_DELAY, Scenario, TimelineParams};
pub use stats::{LatencySummary, OVERLOAD, RequestBucket, RequestStats, RequestSummary};
pub use timeline::{FaultAction, FaultStep, FaultWindow, Timeline};

/// Width of the time buckets of timelines and of the recovery measure.
pub const BUCKET: Duration = Duration::from_millis(100);

/// Serializes a duration as whole milliseconds.
fn serialize_millis<S: serde::Serializer>(
    value: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
}
