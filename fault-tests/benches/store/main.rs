//! Store throughput and latency against a real `valkey-server` on
//! 127.0.0.1: `ValkeySessionStore` with and without its reply check, next
//! to redis-rs's `MultiplexedConnection` and `ConnectionManager` issuing the
//! same commands.
//!
//! Every cell runs for a fixed time on a 2-worker tokio runtime, and the
//! clients take turns within each round, so a change in the machine's load
//! hits them alike. Settings, from the environment:
//!
//! - `STORE_BENCH_SECONDS`: seconds per run of a cell, default 3;
//! - `STORE_BENCH_RUNS`: runs per cell, whose median is printed, default 3;
//! - `STORE_BENCH_CONCURRENCY`: comma-separated task counts, default
//!   `1,16,64,256`;
//! - `STORE_BENCH_CLIENTS`: comma-separated clients out of `raw`,
//!   `raw-echo`, `manager`, `store` and `store-checked`, default all. Ratios
//!   need `raw`.
//!
//! Prints one Markdown table per operation. Command-line arguments, such as
//! the `--bench` that cargo passes, are ignored.

mod clients;
mod report;
mod run;

use std::sync::Arc;
use std::time::Duration;

use fault_tests::ServerBuilder;
use session_valkey::SessionStore;

use clients::{BenchClient, ClientKind, LABELS, Operation, Session};
use report::{Cell, Settings};

/// Sessions the tasks spread over, each seeded with [`LABELS`].
const SESSIONS: usize = 1024;
/// Run time before the measured runs of each concurrency, to open
/// connections and reach a steady state.
const WARM_UP: Duration = Duration::from_millis(500);

fn main() {
    let settings = Settings::from_env();
    let server = ServerBuilder::valkey().start().unwrap_or_else(|error| {
        panic!("valkey-server failed to start: {error}. Install it with scripts/install-valkey.sh")
    });
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a 2-worker tokio runtime");

    println!("{}", settings.describe());
    runtime.block_on(async {
        let sessions: Arc<[Session]> = (0..SESSIONS).map(Session::new).collect();
        seed(&url, &sessions).await;
        for operation in [Operation::Load, Operation::Append] {
            let cells = measure(&url, &sessions, operation, &settings).await;
            println!("{}", report::table(operation, &cells));
        }
    });
    println!("{}", report::load_average("after"));
}

/// Adds [`LABELS`] to every session through the store itself, then checks
/// that redis-rs reads them under the key it computed.
async fn seed(url: &str, sessions: &[Session]) {
    let store = BenchClient::connect(ClientKind::Store, url, Operation::Append)
        .await
        .unwrap_or_else(|error| panic!("failed to connect to {url}: {error}"));
    let BenchClient::Store(store) = store else {
        unreachable!("a store client is a store");
    };
    for session in sessions {
        store
            .append(&session.id, &LABELS)
            .await
            .unwrap_or_else(|error| panic!("seeding {} failed: {error}", session.id));
    }
    let raw = BenchClient::connect(ClientKind::Multiplexed, url, Operation::Load)
        .await
        .unwrap_or_else(|error| panic!("failed to connect to {url}: {error}"));
    raw.run(Operation::Load, &sessions[0])
        .await
        .unwrap_or_else(|error| {
            panic!("redis-rs failed to read the labels the store seeded: {error}")
        });
}

/// Measures every client at every concurrency for `operation`.
async fn measure(
    url: &str,
    sessions: &Arc<[Session]>,
    operation: Operation,
    settings: &Settings,
) -> Vec<Cell> {
    let mut clients = Vec::new();
    for &kind in &settings.clients {
        let client = BenchClient::connect(kind, url, operation)
            .await
            .unwrap_or_else(|error| panic!("{} failed to connect: {error}", kind.name()));
        clients.push((kind, Arc::new(client)));
    }

    let mut cells = Vec::new();
    for &concurrency in &settings.concurrency {
        for (_, client) in &clients {
            run::run(client, sessions, operation, concurrency, WARM_UP).await;
        }
        let mut runs = vec![Vec::new(); clients.len()];
        for round in 0..settings.runs {
            eprintln!("{} x{concurrency}: round {}", operation.name(), round + 1);
            for ((_, client), figures) in clients.iter().zip(&mut runs) {
                let run = run::run(client, sessions, operation, concurrency, settings.duration);
                figures.push(run.await);
            }
        }
        for ((kind, _), figures) in clients.iter().zip(runs) {
            cells.push(Cell {
                kind: *kind,
                concurrency,
                figures: run::median(&figures),
            });
        }
    }
    cells
}
