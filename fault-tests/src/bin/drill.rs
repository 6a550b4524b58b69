//! Replays outage scenarios against a real Valkey server under each
//! resilience policy and reports what the callers saw. See `drill --help`
//! and docs/tuning.md.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use fault_tests::drill::{Args, DrillOptions, list_text, render_table, run_drill, write_outputs};
use tracing_subscriber::EnvFilter;

/// Log filter when `RUST_LOG` is unset. The store and the executor log every
/// failure and breaker transition, thousands per drill; the report counts
/// them instead.
const DEFAULT_LOG_FILTER: &str = "warn,session_valkey=off,resilience_core=off";

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        print!("{}", list_text());
        return ExitCode::SUCCESS;
    }
    let options = match args.options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("drill: {message}");
            return ExitCode::from(2);
        }
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    match drill(&options, &args.out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("drill: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the drill, prints the table and writes the report files. Returns
/// the message to print when the drill failed or found invariant violations.
fn drill(options: &DrillOptions, out: &Path) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("failed to start the Tokio runtime: {error}"))?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let report = runtime
        .block_on(run_drill(options, command))
        .map_err(|error| error_chain(&error))?;

    print!("{}", render_table(&report));
    let (json, html) = write_outputs(&report, out).map_err(|error| error_chain(&error))?;
    println!("wrote {} and {}", json.display(), html.display());

    let violations = report.violation_count();
    if violations > 0 {
        return Err(format!(
            "{violations} invariant violations: loads missed acknowledged labels"
        ));
    }
    Ok(())
}

/// Joins an error and its sources with ": ".
fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
