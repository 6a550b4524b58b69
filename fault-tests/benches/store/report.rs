//! Settings from the environment and the Markdown tables of results.

use std::fmt::Write as _;
use std::time::Duration;

use crate::clients::{ClientKind, Operation};
use crate::run::RunFigures;

/// Default seconds per run of a cell.
const DEFAULT_SECONDS: f64 = 3.0;
/// Default runs per cell.
const DEFAULT_RUNS: usize = 3;
/// Default task counts.
const DEFAULT_CONCURRENCY: [usize; 4] = [1, 16, 64, 256];

/// How long and how often each cell runs.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) duration: Duration,
    pub(crate) runs: usize,
    pub(crate) concurrency: Vec<usize>,
    pub(crate) clients: Vec<ClientKind>,
}

impl Settings {
    /// Reads `STORE_BENCH_SECONDS`, `STORE_BENCH_RUNS` and
    /// `STORE_BENCH_CONCURRENCY`, each falling back to its default when unset.
    ///
    /// # Panics
    ///
    /// Panics with the variable's name when a value is set but invalid.
    pub(crate) fn from_env() -> Self {
        let seconds: f64 = parse_var("STORE_BENCH_SECONDS", DEFAULT_SECONDS);
        assert!(
            seconds.is_finite() && seconds > 0.0,
            "STORE_BENCH_SECONDS must be a positive number of seconds, got {seconds}"
        );
        let runs: usize = parse_var("STORE_BENCH_RUNS", DEFAULT_RUNS);
        assert!(runs > 0, "STORE_BENCH_RUNS must be at least 1, got 0");
        let concurrency = match std::env::var("STORE_BENCH_CONCURRENCY") {
            Ok(list) => list
                .split(',')
                .map(|item| match item.trim().parse::<usize>() {
                    Ok(tasks) if tasks > 0 => tasks,
                    _ => panic!(
                        "STORE_BENCH_CONCURRENCY must be positive task counts separated by commas, got {list:?}"
                    ),
                })
                .collect(),
            Err(_) => DEFAULT_CONCURRENCY.to_vec(),
        };
        Self {
            duration: Duration::from_secs_f64(seconds),
            runs,
            concurrency,
            clients: clients_from_env(),
        }
    }

    /// Returns a header naming the settings and the machine's load.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{:?} per run, median of {} runs, tasks {:?}, clients {:?}, 2 tokio workers; {}",
            self.duration,
            self.runs,
            self.concurrency,
            self.clients
                .iter()
                .map(|kind| kind.key())
                .collect::<Vec<_>>(),
            load_average("before")
        )
    }
}

/// Reads `STORE_BENCH_CLIENTS`, a comma-separated list of
/// [`ClientKind::key`]s; every client when unset.
fn clients_from_env() -> Vec<ClientKind> {
    let Ok(list) = std::env::var("STORE_BENCH_CLIENTS") else {
        return ClientKind::ALL.to_vec();
    };
    list.split(',')
        .map(|item| {
            ClientKind::ALL
                .into_iter()
                .find(|kind| kind.key() == item.trim())
                .unwrap_or_else(|| {
                    let keys: Vec<_> = ClientKind::ALL.iter().map(|kind| kind.key()).collect();
                    panic!("STORE_BENCH_CLIENTS lists unknown client {item:?}; known: {keys:?}")
                })
        })
        .collect()
}

fn parse_var<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} is invalid: {value:?}")),
        Err(_) => default,
    }
}

/// Returns the 1, 5 and 15 minute load averages from `/proc/loadavg`.
pub(crate) fn load_average(when: &str) -> String {
    let averages = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let figures: Vec<&str> = averages.split_whitespace().take(3).collect();
    format!("load average {when}: {}", figures.join(" "))
}

/// The median figures of one client at one concurrency.
#[derive(Debug)]
pub(crate) struct Cell {
    pub(crate) kind: ClientKind,
    pub(crate) concurrency: usize,
    pub(crate) figures: RunFigures,
}

/// Formats `cells` as a Markdown table with ratios against the raw
/// `MultiplexedConnection` at the same concurrency.
pub(crate) fn table(operation: Operation, cells: &[Cell]) -> String {
    let mut out = format!("\n### {}\n\n", operation.name());
    out.push_str("| client | tasks | ops/s | × raw | p50 µs | p99 µs | p99 × raw | errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for cell in cells {
        let baseline = cells
            .iter()
            .find(|other| {
                other.kind == ClientKind::Multiplexed && other.concurrency == cell.concurrency
            })
            .map_or(&cell.figures, |other| &other.figures);
        let figures = &cell.figures;
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {} | {} | {:.2} | {} |",
            cell.kind.name(),
            cell.concurrency,
            figures.ops_per_second,
            figures.ops_per_second / baseline.ops_per_second,
            figures.p50_micros,
            figures.p99_micros,
            figures.p99_micros as f64 / baseline.p99_micros as f64,
            figures.errors,
        );
    }
    for cell in cells {
        if let Some(error) = &cell.figures.first_error {
            let _ = writeln!(
                out,
                "\n{} at {} tasks, first error: {error}",
                cell.kind.name(),
                cell.concurrency
            );
        }
    }
    out
}
