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

/// Counts shared by the loaders and the test.
#[derive(Debug, Default)]
struct Counts {
    successes: AtomicU64,
    failures: AtomicU64,
}

/// Tasks that load sessions in a loop until [`stop`](Self::stop).
#[derive(Debug)]
pub(crate) struct Loaders {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    tasks: JoinSet<Vec<String>>,
}

impl Loaders {
    /// Starts one loader per session. Each load must fail or return the
    /// session's labels, within `bound`.
    pub(crate) fn start(
        store: &Arc<ValkeySessionStore>,
        sessions: &[Session],
        bound: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let mut tasks = JoinSet::new();
        for session in sessions.iter().cloned() {
            let store = Arc::clone(store);
            let stop = Arc::clone(&stop);
            let counts = Arc::clone(&counts);
            tasks.spawn(async move {
                let mut violations = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let started = Instant::now();
                    let result = store.load(&session.id).await;
                    let elapsed = started.elapsed();
                    let counter = if result.is_ok() {
                        &counts.successes
                    } else {
                        &counts.failures
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
            });
        }
        Self {
            stop,
            counts,
            tasks,
        }
    }

    /// Returns the number of successful loads so far.
    pub(crate) fn successes(&self) -> u64 {
        self.counts.successes.load(Ordering::Acquire)
    }

    /// Returns the number of failed loads so far.
    pub(crate) fn failures(&self) -> u64 {
        self.counts.failures.load(Ordering::Acquire)
    }

    /// Stops the loaders after their current load and returns every
    /// violation they recorded.
    pub(crate) async fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        let mut violations = Vec::new();
        while let Some(joined) = self.tasks.join_next().await {
            violations.extend(joined.expect("a loader task panicked"));
        }
        violations
    }
}
