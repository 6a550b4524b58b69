//! Loaders that keep a store busy through an outage and record every result
//! that a fail-closed store must not return.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use session_valkey::{SessionStore, ValkeySessionStore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::valkey::{Session, fail_open};

/// Pause between two loads of one loader, so that a few loaders do not
/// saturate a shared machine while every call fails at once.
const LOAD_PACE: Duration = Duration::from_millis(5);

/// State shared by the loaders and the test.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    successes: AtomicU64,
    failures: AtomicU64,
}

/// Tasks that load sessions in a loop until [`stop`](Self::stop).
#[derive(Debug)]
pub(crate) struct Loaders {
    shared: Arc<Shared>,
    tasks: JoinSet<Vec<String>>,
}

impl Loaders {
    /// Starts one loader per session. Each load must fail or return the
    /// session's labels, and end within `bound`.
    pub(crate) fn start(
        store: &Arc<ValkeySessionStore>,
        sessions: &[Session],
        bound: Duration,
    ) -> Self {
        let shared = Arc::new(Shared::default());
        let mut tasks = JoinSet::new();
        for session in sessions.iter().cloned() {
            let (store, shared) = (Arc::clone(store), Arc::clone(&shared));
            tasks.spawn(load_until_stopped(store, session, bound, shared));
        }
        Self { shared, tasks }
    }

    /// Returns the number of successful loads so far.
    pub(crate) fn successes(&self) -> u64 {
        self.shared.successes.load(Ordering::Acquire)
    }

    /// Returns the number of failed loads so far.
    pub(crate) fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Acquire)
    }

    /// Stops the loaders after their current load and returns every
    /// violation they recorded.
    pub(crate) async fn stop(mut self) -> Vec<String> {
        self.shared.stop.store(true, Ordering::Release);
        let mut violations = Vec::new();
        while let Some(joined) = self.tasks.join_next().await {
            violations.extend(joined.expect("a loader task panicked"));
        }
        violations
    }
}

/// Loads `session` until the loaders stop, and returns a description of
/// each load that succeeded with other labels or took longer than `bound`.
async fn load_until_stopped(
    store: Arc<ValkeySessionStore>,
    session: Session,
    bound: Duration,
    shared: Arc<Shared>,
) -> Vec<String> {
    let mut violations = Vec::new();
    while !shared.stop.load(Ordering::Acquire) {
        let started = Instant::now();
        let result = store.load(&session.id).await;
        let elapsed = started.elapsed();

        let counter = match result {
            Ok(_) => &shared.successes,
            Err(_) => &shared.failures,
        };
        counter.fetch_add(1, Ordering::AcqRel);
        violations.extend(fail_open(&session, &result));
        if elapsed > bound {
            violations.push(format!(
                "load of {} took {elapsed:?}, more than {bound:?}",
                session.id
            ));
        }
        tokio::time::sleep(LOAD_PACE).await;
    }
    violations
}
