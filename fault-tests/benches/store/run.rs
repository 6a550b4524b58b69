//! One benchmark run: many tasks repeat one operation for a fixed time.

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::clients::{BenchClient, Operation, Session};

/// Highest latency the histograms record, in microseconds: 60 s.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// Figures of one run.
#[derive(Debug, Clone)]
pub(crate) struct RunFigures {
    pub(crate) ops_per_second: f64,
    pub(crate) p50_micros: u64,
    pub(crate) p99_micros: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
}

/// The measurements of one task.
struct TaskFigures {
    latencies: Histogram<u64>,
    completed: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Runs `concurrency` tasks that repeat `operation` through `client` for
/// `duration`, each on its own share of `sessions`.
pub(crate) async fn run(
    client: &Arc<BenchClient>,
    sessions: &Arc<[Session]>,
    operation: Operation,
    concurrency: usize,
    duration: Duration,
) -> RunFigures {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let client = Arc::clone(client);
            let sessions = Arc::clone(sessions);
            tokio::spawn(async move { repeat(&client, &sessions, operation, task, deadline).await })
        })
        .collect();

    let mut latencies = new_histogram();
    let (mut completed, mut errors, mut first_error) = (0, 0, None);
    for task in tasks {
        let figures = task.await.expect("a benchmark task panicked");
        latencies
            .add(&figures.latencies)
            .expect("histograms share their bounds");
        completed += figures.completed;
        errors += figures.errors;
        first_error = first_error.or(figures.first_error);
    }
    let elapsed = start.elapsed();

    RunFigures {
        ops_per_second: completed as f64 / elapsed.as_secs_f64(),
        p50_micros: latencies.value_at_quantile(0.50),
        p99_micros: latencies.value_at_quantile(0.99),
        errors,
        first_error,
    }
}

/// Repeats `operation` until `deadline`, starting at session `task` and
/// stepping by a prime so that tasks spread over the sessions.
async fn repeat(
    client: &BenchClient,
    sessions: &[Session],
    operation: Operation,
    task: usize,
    deadline: Instant,
) -> TaskFigures {
    let mut figures = TaskFigures {
        latencies: new_histogram(),
        completed: 0,
        errors: 0,
        first_error: None,
    };
    let mut index = task;
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            return figures;
        }
        let result = client
            .run(operation, &sessions[index % sessions.len()])
            .await;
        let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
        figures
            .latencies
            .saturating_record(micros.clamp(1, MAX_LATENCY_MICROS));
        match result {
            Ok(()) => figures.completed += 1,
            Err(error) => {
                figures.errors += 1;
                figures.first_error.get_or_insert_with(|| error.to_string());
            }
        }
        index += 7919;
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).expect("valid histogram bounds")
}

/// Returns the median of each figure over `runs`; errors are summed.
pub(crate) fn median(runs: &[RunFigures]) -> RunFigures {
    let middle = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    RunFigures {
        ops_per_second: middle(runs.iter().map(|run| run.ops_per_second).collect()),
        p50_micros: middle(runs.iter().map(|run| run.p50_micros as f64).collect()) as u64,
        p99_micros: middle(runs.iter().map(|run| run.p99_micros as f64).collect()) as u64,
        errors: runs.iter().map(|run| run.errors).sum(),
        first_error: runs.iter().find_map(|run| run.first_error.clone()),
    }
}
