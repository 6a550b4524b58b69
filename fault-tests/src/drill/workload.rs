//! The synthetic gateway: requests issued open-loop at a fixed rate.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use session_valkey::SessionStore;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, MissedTickBehavior};

use super::invariant::InvariantChecker;
use super::stats::{OVERLOAD, RequestStats};

/// Settings of the synthetic gateway.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Workload {
    /// Requests issued per second.
    pub(crate) rate: u32,
    /// Requests in flight at most; a request issued beyond it is denied as
    /// [`OVERLOAD`] without starting.
    pub(crate) concurrency: usize,
    /// Distinct sessions, chosen uniformly.
    pub(crate) sessions: u32,
    /// Share of requests that append a label after the load.
    pub(crate) append_share: f64,
    /// Seed of the session and append choices.
    pub(crate) seed: u64,
}

/// State shared by every request of a run.
#[derive(Debug)]
pub(crate) struct RequestContext {
    pub(crate) store: Arc<dyn SessionStore>,
    pub(crate) stats: Arc<RequestStats>,
    pub(crate) checker: Arc<InvariantChecker>,
    /// Start of the run; every time is measured from it.
    pub(crate) origin: Instant,
    /// Prefix of the session ids, unique to the run.
    pub(crate) session_prefix: String,
}

/// Issues requests at `workload.rate` from `context.origin` until `length`
/// has passed, each as its own task, then waits up to `drain` for the
/// requests in flight. Returns the number of requests still unfinished.
///
/// The schedule does not wait for replies: a tick that finds
/// `workload.concurrency` requests in flight records an overload denial.
/// When the ticker falls behind, the missed ticks fire at once, so the rate
/// holds on average.
pub(crate) async fn generate(
    context: Arc<RequestContext>,
    workload: &Workload,
    length: Duration,
    drain: Duration,
) -> usize {
    let period = Duration::from_secs_f64(1.0 / f64::from(workload.rate.max(1)));
    let mut ticker = tokio::time::interval_at(context.origin, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let end = context.origin + length;
    let in_flight = Arc::new(Semaphore::new(workload.concurrency));
    let mut random = StdRng::seed_from_u64(workload.seed);
    let mut sequence: u64 = 0;

    loop {
        let scheduled = ticker.tick().await;
        if scheduled >= end {
            break;
        }
        sequence += 1;
        let issued = scheduled - context.origin;
        let session = format!(
            "{}-{}",
            context.session_prefix,
            random.random_range(0..workload.sessions.max(1))
        );
        let label = random
            .random_bool(workload.append_share)
            .then(|| format!("l{sequence}"));
        match Arc::clone(&in_flight).try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(request(
                    Arc::clone(&context),
                    session,
                    label,
                    issued,
                    permit,
                ));
            }
            Err(_) => context.stats.record_denial(issued, None, OVERLOAD),
        }
    }

    let all = u32::try_from(workload.concurrency).unwrap_or(u32::MAX);
    match tokio::time::timeout(drain, in_flight.acquire_many(all)).await {
        Ok(_) => 0,
        Err(_) => workload.concurrency - in_flight.available_permits(),
    }
}

/// Runs one gateway request: loads the session's labels, then appends
/// `label` if given. Holds `_permit` until it ends.
async fn request(
    context: Arc<RequestContext>,
    session: String,
    label: Option<String>,
    issued: Duration,
    _permit: OwnedSemaphorePermit,
) {
    let scheduled = context.origin + issued;
    let load_started = context.origin.elapsed();
    match context.store.load(&session).await {
        Ok(labels) => {
            context.checker.check_load(&session, load_started, &labels);
        }
        Err(error) => {
            let latency = scheduled.elapsed();
            context
                .stats
                .record_denial(issued, Some(latency), error.reason());
            return;
        }
    }
    if let Some(label) = label {
        let labels = [label.as_str()];
        if let Err(error) = context.store.append(&session, &labels).await {
            let latency = scheduled.elapsed();
            context
                .stats
                .record_denial(issued, Some(latency), error.reason());
            return;
        }
        context
            .checker
            .record_ack(&session, &labels, context.origin.elapsed());
    }
    context.stats.record_success(issued, scheduled.elapsed());
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use session_valkey::MemorySessionStore;

    use super::*;

    fn context(store: Arc<dyn SessionStore>) -> Arc<RequestContext> {
        Arc::new(RequestContext {
            store,
            stats: Arc::new(RequestStats::new(Duration::from_millis(100))),
            checker: Arc::new(InvariantChecker::new()),
            origin: Instant::now(),
            session_prefix: "test".to_owned(),
        })
    }

    fn workload(rate: u32, concurrency: usize) -> Workload {
        Workload {
            rate,
            concurrency,
            sessions: 5,
            append_share: 0.5,
            seed: 3,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn issues_the_rate_times_the_length() {
        let context = context(Arc::new(MemorySessionStore::new()));

        let unfinished = generate(
            Arc::clone(&context),
            &workload(100, 16),
            Duration::from_secs(2),
            Duration::from_secs(1),
        )
        .await;

        let summary = context.stats.summary();
        assert_eq!(unfinished, 0);
        assert_eq!(summary.requests, 200);
        assert_eq!(summary.successes, 200);
        assert!(context.checker.violations().is_empty());
        assert_eq!(context.checker.loads_checked(), 200);
    }

    /// A store whose operations never finish, like a server that never
    /// replies.
    #[derive(Debug)]
    struct Stalled;

    impl SessionStore for Stalled {
        fn load<'a>(
            &'a self,
            _session_id: &'a str,
        ) -> session_valkey::StoreFuture<'a, BTreeSet<String>> {
            Box::pin(std::future::pending())
        }

        fn append<'a>(
            &'a self,
            _session_id: &'a str,
            _labels: &'a [&'a str],
        ) -> session_valkey::StoreFuture<'a, ()> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stalled_backend_does_not_slow_the_schedule() {
        let context = context(Arc::new(Stalled));

        let unfinished = generate(
            Arc::clone(&context),
            &workload(100, 10),
            Duration::from_secs(1),
            Duration::from_millis(500),
        )
        .await;

        let summary = context.stats.summary();
        assert_eq!(unfinished, 10);
        assert_eq!(summary.denials.get(OVERLOAD), Some(&90));
        assert_eq!(summary.successes, 0);
    }
}
