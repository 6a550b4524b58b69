//! The drill's safety check: a load never misses an acknowledged label.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// A load that returned fewer labels than were acknowledged for its session
/// before the load began.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Session whose load missed labels.
    pub session: String,
    /// Time from the start of the run to the start of the load.
    #[serde(rename = "load_started_ms", serialize_with = "super::serialize_millis")]
    pub load_started: Duration,
    /// Labels acknowledged before the load began and absent from its result.
    pub missing: BTreeSet<String>,
}

/// Tracks acknowledged appends per session and checks every load against
/// them.
///
/// Times are offsets from the start of the run. An append counts from the
/// time its acknowledgement returned, so a load checks only the labels whose
/// acknowledgement returned strictly before the load started. An append that
/// overlaps the load may or may not be visible to it.
#[derive(Debug, Default)]
pub struct InvariantChecker {
    acknowledged: Mutex<HashMap<String, Vec<Acknowledged>>>,
    violations: Mutex<Vec<Violation>>,
    loads_checked: AtomicU64,
}

#[derive(Debug, Clone)]
struct Acknowledged {
    label: String,
    at: Duration,
}

impl InvariantChecker {
    /// Creates a checker with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that an append of `labels` to `session` was acknowledged at
    /// `at`.
    pub fn record_ack(&self, session: &str, labels: &[&str], at: Duration) {
        let mut acknowledged = self.acknowledged.lock().expect("checker lock poisoned");
        let entries = acknowledged.entry(session.to_owned()).or_default();
        entries.extend(labels.iter().map(|label| Acknowledged {
            label: (*label).to_owned(),
            at,
        }));
    }

    /// Checks a load of `session` that started at `started` and returned
    /// `loaded`. Returns the violation, also kept for [`violations`], when
    /// labels are missing.
    ///
    /// [`violations`]: Self::violations
    pub fn check_load(
        &self,
        session: &str,
        started: Duration,
        loaded: &BTreeSet<String>,
    ) -> Option<Violation> {
        self.loads_checked.fetch_add(1, Ordering::Relaxed);
        let missing: BTreeSet<String> = {
            let acknowledged = self.acknowledged.lock().expect("checker lock poisoned");
            acknowledged
                .get(session)
                .into_iter()
                .flatten()
                .filter(|entry| entry.at < started && !loaded.contains(&entry.label))
                .map(|entry| entry.label.clone())
                .collect()
        };
        if missing.is_empty() {
            return None;
        }
        let violation = Violation {
            session: session.to_owned(),
            load_started: started,
            missing,
        };
        self.violations
            .lock()
            .expect("checker lock poisoned")
            .push(violation.clone());
        Some(violation)
    }

    /// Returns every violation found so far, in the order found.
    pub fn violations(&self) -> Vec<Violation> {
        self.violations
            .lock()
            .expect("checker lock poisoned")
            .clone()
    }

    /// Returns the number of loads checked.
    pub fn loads_checked(&self) -> u64 {
        self.loads_checked.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    fn labels(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn load_missing_an_acknowledged_label_is_flagged() {
        let checker = InvariantChecker::new();
        checker.record_ack("s1", &["PII"], ms(10));
        checker.record_ack("s1", &["SECRET", "EXPORT"], ms(20));

        let violation = checker
            .check_load("s1", ms(30), &labels(&["PII"]))
            .expect("SECRET and EXPORT were acknowledged before the load");

        assert_eq!(violation.session, "s1");
        assert_eq!(violation.load_started, ms(30));
        assert_eq!(violation.missing, labels(&["EXPORT", "SECRET"]));
        assert_eq!(checker.violations(), [violation]);
    }

    #[test]
    fn load_returning_every_acknowledged_label_passes() {
        let checker = InvariantChecker::new();
        checker.record_ack("s1", &["PII"], ms(10));

        let result = checker.check_load("s1", ms(30), &labels(&["PII", "OTHER"]));

        assert_eq!(result, None);
        assert!(checker.violations().is_empty());
        assert_eq!(checker.loads_checked(), 1);
    }

    #[test]
    fn append_acknowledged_after_load_start_is_not_required() {
        let checker = InvariantChecker::new();
        checker.record_ack("s1", &["PII"], ms(30));

        assert_eq!(checker.check_load("s1", ms(30), &labels(&[])), None);
        assert_eq!(checker.check_load("s1", ms(25), &labels(&[])), None);
        assert!(checker.check_load("s1", ms(31), &labels(&[])).is_some());
    }

    #[test]
    fn sessions_are_checked_separately() {
        let checker = InvariantChecker::new();
        checker.record_ack("s1", &["PII"], ms(10));

        assert_eq!(checker.check_load("s2", ms(30), &labels(&[])), None);
        let violation = checker.check_load("s1", ms(30), &labels(&[]));
        assert_eq!(violation.map(|v| v.session), Some("s1".to_owned()));
    }
}
