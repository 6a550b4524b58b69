//! Setup shared by the session store tests: stores aimed at a test server,
//! server statistics and a tracing layer that records alarm fields.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Once};

use fault_tests::Server;
use fault_tests::resp::Reply;
use session_valkey::{Labels, ValkeyConfig, ValkeySessionStore};
use sha2::{Digest, Sha256};
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Returns the default settings for `server`, with `adjust` applied.
pub(crate) fn config_for(server: &Server, adjust: impl FnOnce(&mut ValkeyConfig)) -> ValkeyConfig {
    let mut config = ValkeyConfig::new(server.url());
    adjust(&mut config);
    config
}

/// Builds a store for `server` with `adjust` applied to the default settings.
pub(crate) fn store_for(
    server: &Server,
    adjust: impl FnOnce(&mut ValkeyConfig),
) -> ValkeySessionStore {
    ValkeySessionStore::new(config_for(server, adjust)).expect("valid store settings")
}

/// Sets timeouts far above a loopback round trip, so that a test that
/// counts attempts does not see a retry when the machine is busy.
pub(crate) fn relax_timeouts(config: &mut ValkeyConfig) {
    config.connect_timeout_ms = 5_000;
    config.command_timeout_ms = 5_000;
    config.request_deadline_ms = 20_000;
}

/// Returns the key the store uses for `session_id` under the default prefix.
pub(crate) fn key_of(session_id: &str) -> String {
    format!(
        "taint:v1:{}",
        hex::encode(Sha256::digest(session_id.as_bytes()))
    )
}

pub(crate) fn labels(items: &[&str]) -> Labels {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// Sends one command to `server` and returns the reply, panicking with the
/// server's log on an I/O error.
pub(crate) fn command<A: AsRef<[u8]>>(server: &Server, args: &[A]) -> Reply {
    server
        .command(args)
        .unwrap_or_else(|error| panic!("command failed: {error}\n{}", server.log_tail(20)))
}

/// Returns a field of `INFO <section>` as an integer.
pub(crate) fn info_field(server: &Server, section: &str, field: &str) -> i64 {
    let Reply::Bulk(text) = command(server, &["INFO", section]) else {
        panic!("INFO {section} did not return a bulk string");
    };
    let text = String::from_utf8(text).expect("INFO is text");
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("INFO {section} has no {field}:\n{text}"))
        .trim()
        .parse()
        .expect("an integer field")
}

/// Returns how many connections the server accepted so far, including the
/// connection of this query.
pub(crate) fn connections_received(server: &Server) -> i64 {
    info_field(server, "stats", "total_connections_received")
}

/// Returns how many times `command` ran, from `INFO commandstats`; zero if
/// it never ran.
pub(crate) fn command_calls(server: &Server, command_name: &str) -> i64 {
    let Reply::Bulk(text) = command(server, &["INFO", "commandstats"]) else {
        panic!("INFO commandstats did not return a bulk string");
    };
    let text = String::from_utf8(text).expect("INFO is text");
    let prefix = format!("cmdstat_{command_name}:calls=");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
        .unwrap_or(0)
}

/// Returns the TTL of `key` in seconds (-1 without expiry, -2 if missing).
pub(crate) fn ttl(server: &Server, key: &str) -> i64 {
    match command(server, &["TTL", key]) {
        Reply::Integer(seconds) => seconds,
        other => panic!("TTL returned {other:?}"),
    }
}

/// The fields of one tracing event, rendered as strings, with its level.
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

/// Records every event of the current thread until the guard drops. The
/// tests run on tokio's current-thread runtime, so the store's events are
/// emitted on this thread.
///
/// One process-wide subscriber routes each event to the capture of the
/// thread that emits it. A per-thread default subscriber would lose events:
/// tracing-core 0.1 caches each callsite's interest globally, and a callsite
/// first hit by a test without a capture, while exactly one other test holds
/// a scoped subscriber, is cached as disabled for every thread.
pub(crate) fn capture() -> (Captured, CaptureGuard) {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(CaptureLayer);
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the store tests");
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

impl fmt::Display for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for event in self.0.lock().unwrap().iter() {
            writeln!(f, "{event:?}")?;
        }
        Ok(())
    }
}
