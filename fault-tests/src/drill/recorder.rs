//! A `metrics` recorder that counts the executor's backend attempts and logs
//! its breaker transitions for the run in progress.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};
use resilience_core::executor::{ATTEMPTS_TOTAL, BREAKER_STATE, RETRIES_TOTAL};
use serde::Serialize;
use tokio::time::Instant;

/// Value of the breaker state gauge for a closed breaker.
const CLOSED: f64 = 0.0;

/// One breaker transition seen through the state gauge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Transition {
    /// Time from the start of the run.
    #[serde(rename = "at_ms", serialize_with = "super::serialize_millis")]
    pub at: Duration,
    /// State left.
    pub from: BreakerStateValue,
    /// State entered.
    pub to: BreakerStateValue,
}

/// A breaker state as the executor's state gauge encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerStateValue {
    /// Gauge value 0.
    Closed,
    /// Gauge value 1.
    Open,
    /// Gauge value 2.
    HalfOpen,
    /// Gauge value 3.
    Disabled,
    /// Gauge value 4.
    ForcedOpen,
    /// Any other gauge value.
    Unknown,
}

impl BreakerStateValue {
    /// Decodes a value of the executor's state gauge.
    pub fn from_gauge(value: f64) -> Self {
        match value as i64 {
            0 => Self::Closed,
            1 => Self::Open,
            2 => Self::HalfOpen,
            3 => Self::Disabled,
            4 => Self::ForcedOpen,
            _ => Self::Unknown,
        }
    }

    /// Returns the gauge value; [`Unknown`](Self::Unknown) is -1.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::Open => 1.0,
            Self::HalfOpen => 2.0,
            Self::Disabled => 3.0,
            Self::ForcedOpen => 4.0,
            Self::Unknown => -1.0,
        }
    }
}

/// Attempts, retries and breaker transitions of one run.
#[derive(Debug)]
pub struct RunMetrics {
    origin: Instant,
    attempts: AtomicU64,
    retries: AtomicU64,
    breaker: Mutex<BreakerLog>,
}

#[derive(Debug)]
struct BreakerLog {
    state: f64,
    transitions: Vec<Transition>,
}

impl RunMetrics {
    /// Creates empty figures for a run that started at `origin`.
    pub fn new(origin: Instant) -> Self {
        Self {
            origin,
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            breaker: Mutex::new(BreakerLog {
                state: CLOSED,
                transitions: Vec::new(),
            }),
        }
    }

    /// Returns the start of the run.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Returns the backend attempts started so far, retries included.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Returns the retries started so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Returns the current breaker state.
    pub fn breaker_state(&self) -> BreakerStateValue {
        BreakerStateValue::from_gauge(self.breaker.lock().expect("metrics lock poisoned").state)
    }

    /// Returns every breaker transition so far, in order.
    pub fn transitions(&self) -> Vec<Transition> {
        self.breaker
            .lock()
            .expect("metrics lock poisoned")
            .transitions
            .clone()
    }

    fn set_breaker_state(&self, value: f64) {
        let at = self.origin.elapsed();
        let mut log = self.breaker.lock().expect("metrics lock poisoned");
        if log.state == value {
            return;
        }
        let transition = Transition {
            at,
            from: BreakerStateValue::from_gauge(log.state),
            to: BreakerStateValue::from_gauge(value),
        };
        log.transitions.push(transition);
        log.state = value;
    }
}

/// Counter handle that adds to one of a run's atomic counters.
#[derive(Debug)]
struct RunCounter {
    run: Arc<RunMetrics>,
    retries: bool,
}

impl CounterFn for RunCounter {
    fn increment(&self, value: u64) {
        self.counter().fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.counter().fetch_max(value, Ordering::Relaxed);
    }
}

impl RunCounter {
    fn counter(&self) -> &AtomicU64 {
        if self.retries {
            &self.run.retries
        } else {
            &self.run.attempts
        }
    }
}

/// Gauge handle that logs the breaker state of a run.
#[derive(Debug)]
struct BreakerGauge {
    run: Arc<RunMetrics>,
}

impl GaugeFn for BreakerGauge {
    fn increment(&self, value: f64) {
        let current = self.run.breaker_state().gauge();
        self.run.set_breaker_state(current + value);
    }

    fn decrement(&self, value: f64) {
        let current = self.run.breaker_state().gauge();
        self.run.set_breaker_state(current - value);
    }

    fn set(&self, value: f64) {
        self.run.set_breaker_state(value);
    }
}

/// The drill's `metrics` recorder.
///
/// Metric handles bind to the run that was current when they were
/// registered. The executor registers its handles when it is built, so the
/// drill builds each run's store after [`begin_run`](Self::begin_run).
/// Metrics other than attempts, retries and the breaker state are dropped.
#[derive(Debug, Clone, Default)]
pub struct DrillRecorder {
    current: Arc<Mutex<Option<Arc<RunMetrics>>>>,
}

impl DrillRecorder {
    /// Installs a recorder as the process's global `metrics` recorder, once,
    /// and returns it.
    ///
    /// # Errors
    ///
    /// Returns a message when another global recorder was installed first.
    pub fn install_global() -> Result<&'static DrillRecorder, String> {
        static INSTALLED: OnceLock<Result<DrillRecorder, String>> = OnceLock::new();
        INSTALLED
            .get_or_init(|| {
                let recorder = DrillRecorder::default();
                metrics::set_global_recorder(recorder.clone())
                    .map(|()| recorder)
                    .map_err(|error| {
                        format!("failed to install the drill's metrics recorder: {error}")
                    })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Starts collecting for a run that started at `origin` and returns its
    /// figures.
    pub fn begin_run(&self, origin: Instant) -> Arc<RunMetrics> {
        let run = Arc::new(RunMetrics::new(origin));
        *self.current.lock().expect("recorder lock poisoned") = Some(Arc::clone(&run));
        run
    }

    /// Stops binding new handles to the current run.
    pub fn end_run(&self) {
        *self.current.lock().expect("recorder lock poisoned") = None;
    }

    fn current(&self) -> Option<Arc<RunMetrics>> {
        self.current.lock().expect("recorder lock poisoned").clone()
    }
}

impl Recorder for DrillRecorder {
    fn describe_counter(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn describe_gauge(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn describe_histogram(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        let retries = match key.name() {
            name if name == ATTEMPTS_TOTAL => false,
            name if name == RETRIES_TOTAL => true,
            _ => return Counter::noop(),
        };
        match self.current() {
            Some(run) => Counter::from_arc(Arc::new(RunCounter { run, retries })),
            None => Counter::noop(),
        }
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        match self.current() {
            Some(run) if key.name() == BREAKER_STATE => {
                Gauge::from_arc(Arc::new(BreakerGauge { run }))
            }
            _ => Gauge::noop(),
        }
    }

    fn register_histogram(&self, _key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

    #[tokio::test]
    async fn counters_bind_to_run_at_registration() {
        let recorder = DrillRecorder::default();
        let first = recorder.begin_run(Instant::now());
        let attempts = recorder.register_counter(&Key::from_static_name(ATTEMPTS_TOTAL), &METADATA);
        let retries = recorder.register_counter(&Key::from_static_name(RETRIES_TOTAL), &METADATA);
        let second = recorder.begin_run(Instant::now());

        attempts.increment(3);
        retries.increment(1);

        assert_eq!(first.attempts(), 3);
        assert_eq!(first.retries(), 1);
        assert_eq!(second.attempts(), 0);
    }

    #[tokio::test]
    async fn breaker_gauge_logs_each_change_once() {
        let recorder = DrillRecorder::default();
        let run = recorder.begin_run(Instant::now());
        let gauge = recorder.register_gauge(&Key::from_static_name(BREAKER_STATE), &METADATA);

        for value in [0.0, 1.0, 1.0, 2.0, 0.0] {
            gauge.set(value);
        }

        let states: Vec<_> = run.transitions().iter().map(|t| (t.from, t.to)).collect();
        assert_eq!(
            states,
            [
                (BreakerStateValue::Closed, BreakerStateValue::Open),
                (BreakerStateValue::Open, BreakerStateValue::HalfOpen),
                (BreakerStateValue::HalfOpen, BreakerStateValue::Closed),
            ]
        );
        assert_eq!(run.breaker_state(), BreakerStateValue::Closed);
    }

    #[test]
    fn unbound_and_other_metrics_are_dropped() {
        let recorder = DrillRecorder::default();
        let before = recorder.register_counter(&Key::from_static_name(ATTEMPTS_TOTAL), &METADATA);
        before.increment(1);
        let run = recorder.begin_run(Instant::now());
        let other = recorder.register_counter(&Key::from_static_name("other_total"), &METADATA);
        other.increment(1);
        assert_eq!(run.attempts(), 0);
    }
}
