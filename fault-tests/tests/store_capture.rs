//! The event capture that the store tests share: each test sees its own
//! events, whatever other tests emit at the same time.

mod store_common;

use store_common::capture;

fn raise_alarm() {
    tracing::warn!(alarm = "capture_probe", "probe");
}

#[test]
fn capture_keeps_events_of_a_callsite_first_hit_elsewhere() {
    let (captured, _guard) = capture();

    // Another thread, without a capture, registers the callsite first, as a
    // test that fails a load without capturing does.
    std::thread::spawn(raise_alarm).join().unwrap();
    raise_alarm();

    assert_eq!(captured.alarms("capture_probe").len(), 1, "{captured}");
}

#[test]
fn capture_ignores_events_of_other_threads() {
    let (captured, _guard) = capture();

    std::thread::spawn(|| {
        let (_other, _guard) = capture();
        raise_alarm();
    })
    .join()
    .unwrap();

    assert!(captured.alarms("capture_probe").is_empty(), "{captured}");
}
