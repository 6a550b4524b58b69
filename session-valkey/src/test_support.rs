//! Captures tracing events so tests can assert on alarm fields.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
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

/// Records every event of the current thread until the guard drops.
pub(crate) fn capture() -> (Captured, DefaultGuard) {
    let captured = Captured::default();
    let layer = CaptureLayer(captured.clone());
    let subscriber = tracing_subscriber::registry().with(layer);
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

struct CaptureLayer(Captured);

impl<S: tracing::Subscriber> Layer<S> for CaptureLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        let mut visitor = FieldVisitor(Fields::new());
        event.record(&mut visitor);
        visitor
            .0
            .insert("level".to_owned(), event.metadata().level().to_string());
        self.0.0.lock().unwrap().push(visitor.0);
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
