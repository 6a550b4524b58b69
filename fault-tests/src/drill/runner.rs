//! Runs every planned scenario and policy and collects the report.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use resilience_core::ConfigError;
use tokio::task::JoinError;

use crate::server::ServerError;

use super::BUCKET;
use super::backend::Backend;
use super::cli::DrillOptions;
use super::policy::Policy;
use super::progress::Progress;
use super::recorder::DrillRecorder;
use super::report::{DrillReport, Machine, Settings, SkippedScenario, render_html};
use super::run::{RunPlan, run_once};
use super::scenario::{Scenario, TimelineParams};
use super::workload::Workload;

/// Latest time from the start of a run to its first fault.
const MAX_FAULT_START: Duration = Duration::from_secs(2);
/// Shortest time a run goes on after its last fault ends, so that recovery
/// can be measured.
const MIN_TAIL: Duration = Duration::from_secs(2);

/// A failure that stops the drill.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    /// The drill's own server did not start.
    #[error("failed to start valkey-server")]
    Server(#[from] Box<ServerError>),
    /// The install script for the missing server failed.
    #[error("failed to install valkey-server with {}: {reason}; run `bash scripts/install-valkey.sh` and try again", script.display())]
    Install {
        /// The script that was run.
        script: PathBuf,
        /// The failure.
        reason: String,
    },
    /// `--endpoint` cannot be used.
    #[error("invalid endpoint {endpoint}: {reason}")]
    Endpoint {
        /// The endpoint, without credentials.
        endpoint: String,
        /// The reason for the rejection.
        reason: String,
    },
    /// The fault proxy did not start.
    #[error("failed to start the fault proxy")]
    Proxy(#[source] io::Error),
    /// A policy's store settings were rejected.
    #[error("invalid store settings for policy {policy}")]
    Config {
        /// The policy.
        policy: Policy,
        /// The rejected setting.
        #[source]
        source: ConfigError,
    },
    /// The server could not be brought back after a scenario.
    #[error("failed to restore the server after scenario {scenario}: {reason}")]
    Restore {
        /// The scenario that ran.
        scenario: Scenario,
        /// The failure.
        reason: String,
    },
    /// Another `metrics` recorder was installed first.
    #[error("{0}")]
    Recorder(String),
    /// A drill task panicked.
    #[error("a drill task failed")]
    Task(#[source] JoinError),
    /// The report could not be drawn.
    #[error("failed to render the HTML report: {0}")]
    Render(String),
    /// A report file could not be written.
    #[error("failed to write {}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Runs the drill that `options` describe and returns its report.
///
/// Starts a `valkey-server` unless `options.endpoint` names one, and installs
/// the drill's global `metrics` recorder.
///
/// # Errors
///
/// Returns a [`DrillError`] when the server, the proxy or a store cannot be
/// set up, or a scenario leaves the server unrecoverable. Invariant
/// violations are not errors: they are in the report.
pub async fn run_drill(options: &DrillOptions, command: String) -> Result<DrillReport, DrillError> {
    let recorder = DrillRecorder::install_global().map_err(DrillError::Recorder)?;
    let backend = match &options.endpoint {
        Some(endpoint) => Backend::external(endpoint)?,
        None => Backend::start_owned()?,
    };
    let (plans, skipped) = plan_runs(options, &backend);
    let buckets = plans.iter().map(|plan| plan.bucket_count() as u64).sum();
    let progress = Progress::new(buckets, options.progress);
    for skip in &skipped {
        progress.println(&format!(
            "skipping scenario {}: {}",
            skip.scenario, skip.reason
        ));
    }

    let mut runs = Vec::with_capacity(plans.len());
    for (index, plan) in plans.iter().enumerate() {
        let label = format!("{} / {}", plan.scenario, plan.policy);
        progress.start_run(index, plans.len(), &label);
        let run = run_once(plan, &backend, recorder, &progress).await?;
        for violation in &run.violations {
            progress.println(&format!(
                "INVARIANT VIOLATION in {label}: session {} (load at {} ms) missed {:?}",
                violation.session,
                violation.load_started.as_millis(),
                violation.missing,
            ));
        }
        runs.push(run);
    }
    progress.finish();

    Ok(DrillReport {
        command,
        machine: Machine {
            cpus: std::thread::available_parallelism().map_or(1, usize::from),
            platform: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            server: backend.describe(),
        },
        settings: settings(options),
        runs,
        skipped,
    })
}

fn settings(options: &DrillOptions) -> Settings {
    Settings {
        duration_ms: millis(options.duration),
        rate: options.rate,
        concurrency: options.concurrency,
        sessions: options.sessions,
        append_share: options.append_share,
        seed: options.seed,
        bucket_ms: millis(BUCKET),
    }
}

/// Plans one run per scenario and policy, and skips the scenarios that need
/// a server process the drill does not own.
fn plan_runs(options: &DrillOptions, backend: &Backend) -> (Vec<RunPlan>, Vec<SkippedScenario>) {
    let fault_start = MAX_FAULT_START.min(options.duration / 4);
    let unique = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    let mut plans = Vec::new();
    let mut skipped = Vec::new();
    for &scenario in &options.scenarios {
        if scenario.needs_server_process() && backend.server().is_none() {
            skipped.push(SkippedScenario {
                scenario,
                reason: "it signals the server process, and --endpoint names a server the drill did not start".to_owned(),
            });
            continue;
        }
        for &policy in &options.policies {
            let config = policy.store_config("redis://127.0.0.1");
            let params = TimelineParams {
                fault_start,
                attempt_timeout: Duration::from_millis(config.command_timeout_ms),
            };
            let fault_end = scenario.timeline(&params).fault_end().unwrap_or_default();
            plans.push(RunPlan {
                scenario,
                policy,
                length: options.duration.max(fault_end + MIN_TAIL),
                params,
                workload: Workload {
                    rate: options.rate,
                    concurrency: options.concurrency,
                    sessions: options.sessions,
                    append_share: options.append_share,
                    seed: options.seed,
                },
                session_prefix: format!("{unique}-{scenario}-{policy}"),
            });
        }
    }
    (plans, skipped)
}

/// Writes `drill.json` and `drill.html` into `dir`, creating it, and returns
/// their paths.
///
/// # Errors
///
/// Returns [`DrillError::Output`] for a file that cannot be written and
/// [`DrillError::Render`] for a chart that cannot be drawn.
pub fn write_outputs(report: &DrillReport, dir: &Path) -> Result<(PathBuf, PathBuf), DrillError> {
    let output_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DrillError::Output { path, source }
    };
    std::fs::create_dir_all(dir).map_err(output_error(dir))?;
    let json_path = dir.join("drill.json");
    let json = serde_json::to_string_pretty(report).map_err(|error| DrillError::Output {
        path: json_path.clone(),
        source: io::Error::other(error),
    })?;
    std::fs::write(&json_path, json).map_err(output_error(&json_path))?;
    let html_path = dir.join("drill.html");
    let html = render_html(report).map_err(DrillError::Render)?;
    std::fs::write(&html_path, html).map_err(output_error(&html_path))?;
    Ok((json_path, html_path))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
