//! A `valkey-server` behind a fault proxy, and a session store that reaches
//! the server through the proxy and counts its attempts.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use fault_tests::{Proxy, Server, ServerBuilder};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use resilience_core::TripPolicy;
use resilience_core::executor::{ATTEMPTS_TOTAL, RETRIES_TOTAL};
use session_valkey::{Labels, SessionStore, SessionStoreError, ValkeyConfig, ValkeySessionStore};
use tokio::time::Instant;

use super::HANG_GUARD;

/// Seed of the proxy's latency jitter, fixed so that runs repeat.
const PROXY_SEED: u64 = 7;

/// Pause between two loads of [`load_until_ok`].
const RELOAD_PAUSE: Duration = Duration::from_millis(10);

/// Timeouts for tests that need the fault-free path to succeed: 1 s per
/// attempt and 3 s per call, far above a loopback round trip, so that a slow
/// reply on a loaded machine does not cause a retry.
const RELAXED_TIMEOUT_MS: u64 = 1_000;
const RELAXED_DEADLINE_MS: u64 = 3_000;

/// Time a call may take past its request deadline: the scheduling slack
/// that a caller must allow for on a loaded machine.
pub(crate) const DEADLINE_MARGIN: Duration = Duration::from_millis(250);

/// Breaker cooldown of every test store, without jitter, so that a test can
/// wait for the half-open state.
pub(crate) const COOLDOWN: Duration = Duration::from_millis(200);

/// A running server, a proxy in front of it and a store aimed at the proxy.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) server: Server,
    pub(crate) proxy: Proxy,
    pub(crate) store: Arc<ValkeySessionStore>,
    pub(crate) config: ValkeyConfig,
    pub(crate) meter: AttemptMeter,
}

impl Backend {
    /// Starts a plain `valkey-server`, a proxy and a store with
    /// [`base_config`] changed by `adjust`.
    pub(crate) async fn start(adjust: impl FnOnce(&mut ValkeyConfig)) -> Self {
        Self::start_with(ServerBuilder::valkey(), adjust).await
    }

    /// Starts the server that `builder` describes, a proxy and a store with
    /// [`base_config`] changed by `adjust`.
    pub(crate) async fn start_with(
        builder: ServerBuilder,
        adjust: impl FnOnce(&mut ValkeyConfig),
    ) -> Self {
        let server = builder
            .start()
            .unwrap_or_else(|error| panic!("the test server did not start: {error}"));
        let proxy = Proxy::start_seeded(server.addr(), PROXY_SEED)
            .await
            .expect("the proxy binds a free port of 127.0.0.1");
        let mut config = base_config(&proxy);
        adjust(&mut config);

        // The executor registers its metrics when it is built, so the
        // recorder only has to be installed while the store is built.
        let recorder = DebuggingRecorder::new();
        let meter = AttemptMeter(recorder.snapshotter());
        let store =
            metrics::with_local_recorder(&recorder, || ValkeySessionStore::new(config.clone()))
                .unwrap_or_else(|error| panic!("invalid store settings {config:?}: {error}"));

        Self {
            server,
            proxy,
            store: Arc::new(store),
            config,
            meter,
        }
    }

    /// Returns the request deadline of the store's settings.
    pub(crate) fn request_deadline(&self) -> Duration {
        Duration::from_millis(self.config.request_deadline_ms)
    }

    /// Returns the server's log tail, for failure messages.
    pub(crate) fn log(&self) -> String {
        self.server.log_tail(20)
    }
}

/// Returns settings that reach the server through `proxy`, with relaxed
/// timeouts, one retry and a breaker that opens after 5 consecutive
/// failures for [`COOLDOWN`] without jitter or growth.
pub(crate) fn base_config(proxy: &Proxy) -> ValkeyConfig {
    let mut config = ValkeyConfig::new(format!("redis://{}", proxy.addr()));
    config.connect_timeout_ms = RELAXED_TIMEOUT_MS;
    config.command_timeout_ms = RELAXED_TIMEOUT_MS;
    config.request_deadline_ms = RELAXED_DEADLINE_MS;
    config.max_retries = 1;
    config.breaker.cooldown = COOLDOWN;
    config.breaker.cooldown_jitter = 0.0;
    config.breaker.cooldown_growth = 1.0;
    config
}

/// Sets short timeouts, so that a call to an unresponsive server ends
/// quickly: 100 ms to dial, 200 ms per attempt and 400 ms per call.
pub(crate) fn short_timeouts(config: &mut ValkeyConfig) {
    config.connect_timeout_ms = 100;
    config.command_timeout_ms = 200;
    config.request_deadline_ms = 400;
}

/// Sets a breaker that opens after `threshold` consecutive failed attempts.
pub(crate) fn trip_after(config: &mut ValkeyConfig, threshold: u32) {
    let threshold = NonZeroU32::new(threshold).expect("a breaker threshold above zero");
    config.breaker.trip = TripPolicy::ConsecutiveFailures { threshold };
}

/// Attempts and retries that the store's executor started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attempts {
    pub(crate) attempts: u64,
    pub(crate) retries: u64,
}

/// Reads the executor's `resilience_attempts_total` and
/// `resilience_retries_total` counters.
#[derive(Debug)]
pub(crate) struct AttemptMeter(Snapshotter);

impl AttemptMeter {
    /// Returns the counts since the previous call, because a snapshot of the
    /// debugging recorder resets the counters it reads.
    pub(crate) fn take(&self) -> Attempts {
        let mut counts = Attempts::default();
        for (key, _, _, value) in self.0.snapshot().into_vec() {
            let DebugValue::Counter(count) = value else {
                continue;
            };
            if key.kind() != MetricKind::Counter {
                continue;
            }
            match key.key().name() {
                ATTEMPTS_TOTAL => counts.attempts += count,
                RETRIES_TOTAL => counts.retries += count,
                _ => {}
            }
        }
        counts
    }
}

/// A session id and labels that no other session of the test carries.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) labels: Labels,
}

/// Returns `count` sessions named `<prefix>-<index>`, each with two labels
/// of its own.
pub(crate) fn sessions(prefix: &str, count: usize) -> Vec<Session> {
    (0..count)
        .map(|index| {
            let id = format!("{prefix}-{index}");
            let labels = [format!("{id}/pii"), format!("{id}/secret")].into();
            Session { id, labels }
        })
        .collect()
}

/// Appends every session's labels, failing the test on any error.
pub(crate) async fn append_all(store: &ValkeySessionStore, sessions: &[Session]) {
    for session in sessions {
        let labels: Vec<&str> = session.labels.iter().map(String::as_str).collect();
        store
            .append(&session.id, &labels)
            .await
            .unwrap_or_else(|error| panic!("append to {} failed: {error}", session.id));
    }
}

/// Loads `session_id` until a load succeeds and returns its labels, failing
/// the test with the last error after [`HANG_GUARD`].
pub(crate) async fn load_until_ok(store: &ValkeySessionStore, session_id: &str) -> Labels {
    let give_up = Instant::now() + HANG_GUARD;
    loop {
        let error = match store.load(session_id).await {
            Ok(labels) => return labels,
            Err(error) => error,
        };
        assert!(
            Instant::now() < give_up,
            "load of {session_id} still failed after {HANG_GUARD:?}: {error}"
        );
        tokio::time::sleep(RELOAD_PAUSE).await;
    }
}

/// Returns a description of `result` when a fail-closed store must not
/// return it: a success with other labels than the session's.
pub(crate) fn fail_open(
    session: &Session,
    result: &Result<Labels, SessionStoreError>,
) -> Option<String> {
    match result {
        Ok(labels) if *labels != session.labels => Some(format!(
            "load of {} returned {labels:?}, expected {:?} or an error",
            session.id, session.labels
        )),
        _ => None,
    }
}
