//! Captures tracing events so tests can assert on alarm fields.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// The fields of one event, rendered as strings, with its level.
pub(crate) type Fields = BTreeMap<String, String>;

/// Events recorded while the guard returned by [`capture`] is alive.
#[derive(Debug, Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<Fields>>>);

impl Captured {
    /// Returns the events whose `alarm` field equals `alarm`.
    pub(crate) fn alarms(&self, alarm: &str) -> Vec<Fields> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|fields| fields.get("alarm").map(String::as_str) == Some(alarm))
            .cloned()
            .collect()
    }
}

thread_local! {
    /// The capture of the current thread, if one is active.
    static ACTIVE: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Clears the current thread's capture when dropped.
#[derive(Debug)]
pub(crate) struct CaptureGuard {
    _not_send: PhantomData<*const ()>,
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().take());
    }
}

/// Records every event of the current thread until the guard drops.
///
/// One process-wide subscriber routes each event to the capture of the
/// thread that emits it. A per-thread default subscriber would lose events:
/// tracing-core 0.1 caches each callsite's interest globally, and a callsite
/// first hit on another thread while exactly one scoped subscriber exists
/// is cached as disabled for every thread.
pub(crate) fn capture() -> (Captured, CaptureGuard) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(CaptureLayer);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the unit tests");
    });
    let captured = Captured::default();
    ACTIVE.with(|active| *active.borrow_mut() = Some(captured.clone()));
    let guard = CaptureGuard {
        _not_send: PhantomData,
    };
    (captured, guard)
}

struct CaptureLayer;

impl<S: tracing::Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        ACTIVE.with(|active| {
            let Some(captured) = &*active.borrow() else {
                return;
            };
            let mut visitor = FieldVisitor(Fields::new());
            event.record(&mut visitor);
            visitor
                .0
                .insert("level".to_owned(), event.metadata().level().to_string());
            captured.0.lock().unwrap().push(visitor.0);
        });
    }
}

struct FieldVisitor(Fields);

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::capture;

    fn raise_alarm() {
        tracing::warn!(alarm = "capture_probe", "probe");
    }

    #[test]
    fn capture_keeps_events_of_a_callsite_first_hit_elsewhere() {
        let (captured, _guard) = capture();
        // Another thread, without a capture, registers the callsite first.
        std::thread::spawn(raise_alarm).join().unwrap();
        raise_alarm();
        assert_eq!(captured.alarms("capture_probe").len(), 1);
    }
}
