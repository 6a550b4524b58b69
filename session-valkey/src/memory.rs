//! The in-process store, for tests and single-instance deployments.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::alarm::{Operation, report_failure};
use crate::error::SessionStoreError;
use crate::labels::{InvalidInput, Labels, validate_labels, validate_session_id};
use crate::store::{SessionStore, StoreFuture};

/// A [`SessionStore`] that keeps labels in a map inside the process.
///
/// It applies the same input rules as the Valkey store. Labels live until the
/// store is dropped: there is no expiry, and nothing is shared between
/// processes or survives a restart.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    sessions: Mutex<HashMap<String, Labels>>,
}

impl MemorySessionStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SessionStore for MemorySessionStore {
    fn load<'a>(&'a self, session_id: &'a str) -> StoreFuture<'a, Labels> {
        Box::pin(async move {
            validate_session_id(session_id)
                .inspect_err(|error| report_invalid(Operation::Load, error))?;
            // A holder that panicked leaves a valid map: at worst part of its
            // append was applied, which a set union allows.
            let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            Ok(sessions.get(session_id).cloned().unwrap_or_default())
        })
    }

    fn append<'a>(&'a self, session_id: &'a str, labels: &'a [&'a str]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            validate_session_id(session_id)
                .and_then(|()| validate_labels(labels))
                .inspect_err(|error| report_invalid(Operation::Append, error))?;
            if labels.is_empty() {
                return Ok(());
            }
            let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
            let set = sessions.entry(session_id.to_owned()).or_default();
            set.extend(labels.iter().map(|label| (*label).to_owned()));
            Ok(())
        })
    }
}

/// Logs the failure alarm for input that broke a rule.
fn report_invalid(operation: Operation, error: &InvalidInput) {
    report_failure(operation, &SessionStoreError::InvalidInput(error.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::ALARM_FAILURE;
    use crate::labels::MAX_LABELS_PER_APPEND;
    use crate::test_support::capture;
    use std::sync::Arc;

    fn labels(items: &[&str]) -> Labels {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    #[tokio::test]
    async fn unknown_session_loads_empty() {
        let store = MemorySessionStore::new();
        assert_eq!(store.load("nobody").await.unwrap(), Labels::new());
    }

    #[tokio::test]
    async fn appends_accumulate_as_a_union() {
        let store = MemorySessionStore::new();
        store.append("s1", &["PII"]).await.unwrap();
        store.append("s1", &["SECRET", "PII"]).await.unwrap();
        store.append("s2", &["OTHER"]).await.unwrap();
        assert_eq!(store.load("s1").await.unwrap(), labels(&["PII", "SECRET"]));
        assert_eq!(store.load("s2").await.unwrap(), labels(&["OTHER"]));
    }

    #[tokio::test]
    async fn empty_append_stores_nothing() {
        let store = MemorySessionStore::new();
        store.append("s1", &[]).await.unwrap();
        assert!(store.sessions.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn invalid_input_is_rejected_without_change() {
        let store = MemorySessionStore::new();
        let error = store.append("s1", &["PII", ""]).await.unwrap_err();
        assert!(matches!(
            error,
            SessionStoreError::InvalidInput(InvalidInput::EmptyLabel { index: 1 })
        ));
        assert_eq!(error.reason(), "invalid_input");
        assert_eq!(store.load("s1").await.unwrap(), Labels::new());

        let error = store.load("").await.unwrap_err();
        assert!(matches!(
            error,
            SessionStoreError::InvalidInput(InvalidInput::EmptySessionId)
        ));

        let many = vec!["PII"; MAX_LABELS_PER_APPEND + 1];
        let error = store.append("s1", &many).await.unwrap_err();
        assert!(matches!(
            error,
            SessionStoreError::InvalidInput(InvalidInput::TooManyLabels { .. })
        ));
    }

    #[tokio::test]
    async fn usable_as_a_shared_trait_object() {
        let store: Arc<dyn SessionStore> = Arc::new(MemorySessionStore::new());
        let writer = Arc::clone(&store);
        tokio::spawn(async move { writer.append("s1", &["PII"]).await })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.load("s1").await.unwrap(), labels(&["PII"]));
    }

    #[tokio::test]
    async fn rejected_input_raises_the_failure_alarm() {
        let (captured, _guard) = capture();
        let store = MemorySessionStore::new();
        store.load("").await.unwrap_err();
        store.append("s1", &[""]).await.unwrap_err();
        store.append("s1", &["PII"]).await.unwrap();
        let alarms = captured.alarms(ALARM_FAILURE);
        assert_eq!(alarms.len(), 2, "{alarms:?}");
        assert_eq!(alarms[0]["op"], "load");
        assert_eq!(alarms[1]["op"], "append");
        for alarm in &alarms {
            assert_eq!(alarm["reason"], "invalid_input");
            assert_eq!(alarm["level"], "WARN");
        }
        assert_eq!(
            alarms[1]["error"],
            "invalid session store input: label 0 is empty"
        );
    }
}
