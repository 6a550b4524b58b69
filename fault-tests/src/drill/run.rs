//! One run: a scenario replayed under one policy.

use std::sync::Arc;
use std::time::Duration;

use resilience_core::SeededRandom;
use resilience_core::executor::Executor;
use session_valkey::{EXECUTOR_NAME, ValkeySessionStore};
use tokio::time::Instant;

use super::BUCKET;
use super::backend::Backend;
use super::faults::{self, AppliedFault, FaultTargets};
use super::invariant::InvariantChecker;
use super::policy::Policy;
use super::progress::Progress;
use super::recorder::{DrillRecorder, RunMetrics};
use super::recovery::{Tally, time_to_recover};
use super::report::{self, CounterSample, RunReport};
use super::runner::DrillError;
use super::scenario::{Scenario, TimelineParams};
use super::stats::RequestStats;
use super::workload::{self, RequestContext, Workload};

/// Prefix of the keys the drill writes, apart from production keys.
const KEY_PREFIX: &str = "drill";
/// Expiry of the drill's keys, so an external server does not keep them.
const KEY_TTL_SECONDS: u64 = 3600;
/// Extra wait for requests in flight beyond the request deadline.
const DRAIN_MARGIN: Duration = Duration::from_secs(1);

/// Everything that defines one run.
#[derive(Debug, Clone)]
pub(crate) struct RunPlan {
    pub(crate) scenario: Scenario,
    pub(crate) policy: Policy,
    pub(crate) params: TimelineParams,
    /// Time during which requests are issued.
    pub(crate) length: Duration,
    pub(crate) workload: Workload,
    /// Prefix of the run's session ids, unique per run.
    pub(crate) session_prefix: String,
}

impl RunPlan {
    /// Returns the number of timeline buckets of the run.
    pub(crate) fn bucket_count(&self) -> usize {
        self.length.as_nanos().div_ceil(BUCKET.as_nanos()) as usize
    }
}

/// Runs one plan through a fresh proxy and store, then restores the server.
pub(crate) async fn run_once(
    plan: &RunPlan,
    backend: &Backend,
    recorder: &DrillRecorder,
    progress: &Progress,
) -> Result<RunReport, DrillError> {
    let timeline = plan.scenario.timeline(&plan.params);
    let targets = FaultTargets::start(
        backend.addr(),
        backend.server().cloned(),
        &timeline,
        plan.workload.seed,
    )
    .await
    .map_err(DrillError::Proxy)?;
    let targets = Arc::new(targets);
    let endpoint = backend.store_endpoint(targets.entry_addr());
    let (store, metrics, drain) = build_store(plan, &endpoint, recorder)?;

    let context = Arc::new(RequestContext {
        store: Arc::new(store),
        stats: Arc::new(RequestStats::new(BUCKET)),
        checker: Arc::new(InvariantChecker::new()),
        origin: metrics.origin(),
        session_prefix: plan.session_prefix.clone(),
    });
    let driver = tokio::spawn(faults::drive(
        timeline,
        Arc::clone(&targets),
        metrics.origin(),
    ));
    let sampler = tokio::spawn(sample(
        Arc::clone(&targets),
        Arc::clone(&metrics),
        plan.bucket_count(),
        progress.clone(),
    ));

    let unfinished =
        workload::generate(Arc::clone(&context), &plan.workload, plan.length, drain).await;
    let applied = driver.await.map_err(DrillError::Task)?;
    let samples = sampler.await.map_err(DrillError::Task)?;
    faults::restore(&targets)
        .await
        .map_err(|reason| DrillError::Restore {
            scenario: plan.scenario,
            reason,
        })?;

    Ok(build_report(
        plan, &context, &metrics, &targets, applied, &samples, unfinished,
    ))
}

/// Builds the run's store with a seeded executor whose metrics go to a new
/// run of `recorder`, which also sets the start of the run. Returns the
/// store, the run's metrics and how long to wait for requests in flight at
/// the end.
fn build_store(
    plan: &RunPlan,
    endpoint: &str,
    recorder: &DrillRecorder,
) -> Result<(ValkeySessionStore, Arc<RunMetrics>, Duration), DrillError> {
    let mut config = plan.policy.store_config(endpoint);
    config.key_prefix = KEY_PREFIX.to_owned();
    config.ttl_seconds = Some(KEY_TTL_SECONDS);
    let drain = Duration::from_millis(config.request_deadline_ms) + DRAIN_MARGIN;
    let config_error = |source| DrillError::Config {
        policy: plan.policy,
        source,
    };

    // The executor registers its metrics when it is built, so the run's
    // figures must be current before that.
    let metrics = recorder.begin_run(Instant::now());
    let executor = Executor::builder()
        .config(config.executor_config())
        .random(Arc::new(SeededRandom::new(plan.workload.seed)))
        .name(EXECUTOR_NAME)
        .build();
    recorder.end_run();
    let store = ValkeySessionStore::with_executor(config, executor.map_err(config_error)?)
        .map_err(config_error)?;
    Ok((store, metrics, drain))
}

/// Reads the cumulative counters at the end of every bucket.
async fn sample(
    targets: Arc<FaultTargets>,
    metrics: Arc<RunMetrics>,
    buckets: usize,
    progress: Progress,
) -> Vec<CounterSample> {
    let mut ticker = tokio::time::interval_at(metrics.origin() + BUCKET, BUCKET);
    let mut samples = Vec::with_capacity(buckets);
    for _ in 0..buckets {
        ticker.tick().await;
        samples.push(CounterSample {
            attempts: metrics.attempts(),
            connections: targets.connections(),
        });
        progress.advance();
    }
    samples
}

fn build_report(
    plan: &RunPlan,
    context: &RequestContext,
    metrics: &RunMetrics,
    targets: &FaultTargets,
    faults: Vec<AppliedFault>,
    samples: &[CounterSample],
    unfinished: usize,
) -> RunReport {
    let requests = context.stats.summary();
    let request_buckets = context.stats.buckets(plan.bucket_count());
    let tallies: Vec<Tally> = request_buckets
        .iter()
        .map(|bucket| bucket.tally())
        .collect();
    let timeline = plan.scenario.timeline(&plan.params);
    let transitions = metrics.transitions();
    let attempts = metrics.attempts();
    RunReport {
        scenario: plan.scenario,
        policy: plan.policy,
        length_ms: u64::try_from(plan.length.as_millis()).unwrap_or(u64::MAX),
        backend_attempts: attempts,
        retries: metrics.retries(),
        attempts_per_request: report::attempts_per_request(attempts, &requests),
        new_connections: targets.connections(),
        breaker_transitions: transitions.len(),
        recovery: time_to_recover(&tallies, BUCKET, timeline.fault_end()),
        fault_windows: timeline.windows().to_vec(),
        faults,
        buckets: report::timeline(request_buckets, samples, &transitions, BUCKET),
        transitions,
        loads_checked: context.checker.loads_checked(),
        violations: context.checker.violations(),
        unfinished_requests: unfinished,
        requests,
    }
}
