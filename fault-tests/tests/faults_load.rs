//! Many concurrent callers under faults: acknowledged appends survive a
//! flapping network, and a sustained outage gets no more attempts than the
//! retry budget allows.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fault_tests::{Direction, Fault, Proxy};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use resilience_core::BudgetConfig;
use session_valkey::{SessionStore, ValkeySessionStore};
use support::guarded;
use support::valkey::{
    Backend, Session, append_all, fail_open, load_until_ok, sessions, trip_after,
};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Tasks that append while the network flaps.
const APPENDERS: usize = 64;

/// How long the network flaps.
const FLAPPING: Duration = Duration::from_millis(2_500);

/// Callers that load during the sustained outage.
const CALLERS: usize = 32;

/// How long the sustained outage lasts.
const OUTAGE: Duration = Duration::from_secs(2);

/// Pause between two calls of one task, so that dozens of tasks do not
/// saturate a shared machine while calls fail at once.
const CALL_PACE: Duration = Duration::from_millis(20);

/// Seed of the fault sequence, fixed so that a failure repeats.
const SEED: u64 = 0xF1A9;

/// The labels one appender sent, and those the store acknowledged.
#[derive(Debug, Default)]
struct Appended {
    attempted: BTreeSet<String>,
    acknowledged: BTreeSet<String>,
}

/// Appends a new label to `session_id` until `stop` is set.
async fn append_until(
    store: Arc<ValkeySessionStore>,
    session_id: String,
    stop: Arc<AtomicBool>,
) -> Appended {
    let mut appended = Appended::default();
    for number in 0.. {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let label = format!("{session_id}/{number}");
        appended.attempted.insert(label.clone());
        if store.append(&session_id, &[label.as_str()]).await.is_ok() {
            appended.acknowledged.insert(label);
        }
        tokio::time::sleep(CALL_PACE).await;
    }
    appended
}

/// Changes the fault every 100 to 300 ms until `FLAPPING` has passed: resets
/// of open connections, a blackhole in both directions, rejected new
/// connections, or normal flow. Ends with normal flow.
async fn flap(proxy: &Proxy) {
    let mut rng = SmallRng::seed_from_u64(SEED);
    let started = Instant::now();
    while started.elapsed() < FLAPPING {
        proxy.clear();
        match rng.random_range(0..4) {
            0 => proxy.reset_all(),
            1 => {
                proxy.set(Direction::Upstream, Fault::Blackhole);
                proxy.set(Direction::Downstream, Fault::Blackhole);
            }
            2 => {
                proxy.reject_connections(true);
                proxy.reset_all();
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..=300))).await;
    }
    proxy.clear();
}

/// Starts one appender per session of its own, all stopped by `stop`.
fn spawn_appenders(
    store: &Arc<ValkeySessionStore>,
    stop: &Arc<AtomicBool>,
) -> JoinSet<(String, Appended)> {
    let mut appenders = JoinSet::new();
    for index in 0..APPENDERS {
        let session_id = format!("flapping-{index}");
        let task = append_until(Arc::clone(store), session_id.clone(), Arc::clone(stop));
        appenders.spawn(async move { (session_id, task.await) });
    }
    appenders
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_flapping() {
    let backend = Backend::start(|config| {
        config.connect_timeout_ms = 100;
        config.command_timeout_ms = 200;
        config.request_deadline_ms = 600;
        config.max_retries = 2;
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut appenders = spawn_appenders(&backend.store, &stop);

    flap(&backend.proxy).await;
    stop.store(true, Ordering::Release);
    let mut results = Vec::new();
    while let Some(joined) = guarded("the appenders", appenders.join_next()).await {
        results.push(joined.unwrap());
    }

    let acknowledged: usize = results
        .iter()
        .map(|(_, sent)| sent.acknowledged.len())
        .sum();
    let attempted: usize = results.iter().map(|(_, sent)| sent.attempted.len()).sum();
    assert!(acknowledged > 0, "no append succeeded during the flapping");
    assert!(
        acknowledged < attempted,
        "every append succeeded: the faults did not bite"
    );
    for (session_id, appended) in &results {
        let loaded = load_until_ok(&backend.store, session_id).await;
        let lost: Vec<_> = appended.acknowledged.difference(&loaded).collect();
        let foreign: Vec<_> = loaded.difference(&appended.attempted).collect();
        assert!(
            lost.is_empty(),
            "{session_id}: acknowledged labels missing after the faults: {lost:?}"
        );
        assert!(
            foreign.is_empty(),
            "{session_id}: labels that were never appended: {foreign:?}"
        );
    }
}

/// Loads in a loop from one caller per session until `OUTAGE` has passed
/// since `started`, and returns the number of calls and every result that
/// a fail-closed store must not return.
async fn load_through_outage(
    store: &Arc<ValkeySessionStore>,
    sessions: Vec<Session>,
    started: Instant,
) -> (u64, Vec<String>) {
    let mut callers = JoinSet::new();
    for session in sessions {
        let store = Arc::clone(store);
        callers.spawn(async move {
            let (mut calls, mut violations) = (0, Vec::new());
            while started.elapsed() < OUTAGE {
                violations.extend(fail_open(&session, &store.load(&session.id).await));
                calls += 1;
                tokio::time::sleep(CALL_PACE).await;
            }
            (calls, violations)
        });
    }
    let (mut calls, mut violations) = (0, Vec::new());
    while let Some(joined) = guarded("the callers", callers.join_next()).await {
        let (caller_calls, caller_violations) = joined.unwrap();
        calls += caller_calls;
        violations.extend(caller_violations);
    }
    (calls, violations)
}

/// Returns the most attempts that `calls` calls may start in `elapsed`.
///
/// Retries come from the ratio account or from the floor. The ratio account
/// contains `balance` tokens at the start and gains `ratio` per first
/// attempt. The floor contains `burst` tokens at most and gains
/// `min_per_second` per second.
fn budget_bound(budget: &BudgetConfig, balance: f64, calls: u64, elapsed: Duration) -> f64 {
    calls as f64 * (1.0 + budget.ratio)
        + balance
        + f64::from(budget.min_per_second) * elapsed.as_secs_f64()
        + f64::from(budget.burst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_attempts_stay_within_budget() {
    let backend = Backend::start(|config| {
        // Without the budget, every call would make six attempts: the retry
        // count and the deadline allow them, and the breaker never opens.
        config.max_retries = 5;
        config.backoff.base = Duration::from_millis(1);
        config.backoff.cap = Duration::from_millis(5);
        config.budget.ratio = 0.1;
        config.budget.min_per_second = 5;
        config.budget.burst = 5;
        trip_after(config, u32::MAX);
    })
    .await;
    let sessions = sessions("outage", CALLERS);
    append_all(&backend.store, &sessions).await;
    let balance = backend.store.executor().budget().balance();
    backend.meter.take();

    // Refused connections fail each attempt at once, the most attempts an
    // outage can provoke.
    backend.proxy.reject_connections(true);
    backend.proxy.reset_all();
    let started = Instant::now();
    let (calls, violations) = load_through_outage(&backend.store, sessions, started).await;
    let elapsed = started.elapsed();
    let attempts = backend.meter.take().attempts;

    let bound = budget_bound(&backend.config.budget, balance, calls, elapsed);
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(
        attempts as f64 <= bound,
        "{attempts} attempts for {calls} calls in {elapsed:?}, more than the budget's {bound:.1}"
    );
    assert!(
        attempts > calls,
        "{attempts} attempts for {calls} calls: the budget granted no retry"
    );
}
