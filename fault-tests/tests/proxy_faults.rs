//! Faults of the proxy on open connections, against an echo server on
//! 127.0.0.1.
//!
//! These tests run on the real clock: Tokio's paused clock jumps to the next
//! timer whenever the runtime parks, also while socket I/O is still pending,
//! so a guard timeout would fire early. Exact timing is checked with the
//! paused clock in the pump's unit tests. Here a timed check bounds a wait
//! from below only, measured from an instant taken before the write, and
//! discards are confirmed through the counters before a read may time out.

mod support;

use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

use fault_tests::{Direction, Fault};
use support::{
    connect_checked, echo_behind_proxy, guarded, random_payload, round_trip, wait_until,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};

/// How long a read waits for bytes that a fault has already discarded.
const NOTHING_ARRIVES: Duration = Duration::from_millis(100);

#[tokio::test]
async fn blackhole_on_open_connection_discards_until_cleared() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.set(Direction::Upstream, Fault::Blackhole);
    stream.write_all(b"lost").await.unwrap();
    wait_until("the proxy to discard the request", || {
        proxy.stats().upstream.discarded == 4
    })
    .await;
    let mut buf = [0; 16];
    let read = timeout(NOTHING_ARRIVES, stream.read(&mut buf)).await;

    assert!(read.is_err(), "read returned {read:?} through a blackhole");
    proxy.clear();
    assert_eq!(round_trip(&mut stream, b"kept").await, b"kept");
}

#[tokio::test]
async fn downstream_fault_leaves_upstream_alone() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;
    let before = proxy.stats();

    proxy.set(Direction::Downstream, Fault::Blackhole);
    stream.write_all(b"request").await.unwrap();
    wait_until("the proxy to discard the echo", || {
        proxy.stats().downstream.discarded == 7
    })
    .await;
    let mut buf = [0; 16];
    let read = timeout(NOTHING_ARRIVES, stream.read(&mut buf)).await;

    assert!(read.is_err(), "read returned {read:?} through a blackhole");
    let after = proxy.stats();
    assert_eq!(after.upstream.forwarded - before.upstream.forwarded, 7);
    assert_eq!(after.upstream.discarded, 0);
    assert_eq!(after.downstream.forwarded, before.downstream.forwarded);
}

#[tokio::test]
async fn latency_holds_reply_until_it_elapses() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;
    let delay = Duration::from_millis(200);

    proxy.set(
        Direction::Downstream,
        Fault::Latency {
            delay,
            jitter: Duration::ZERO,
        },
    );
    let sent_at = Instant::now();
    stream.write_all(b"ping").await.unwrap();
    let mut reply = [0; 4];
    let early = timeout_at(
        sent_at + delay - Duration::from_millis(1),
        stream.read_exact(&mut reply),
    )
    .await;

    assert!(
        early.is_err(),
        "the reply came before the latency: {early:?}"
    );
    guarded("the delayed reply", stream.read_exact(&mut reply))
        .await
        .unwrap();
    assert_eq!(&reply, b"ping");
    assert!(
        sent_at.elapsed() >= delay,
        "elapsed {:?}",
        sent_at.elapsed()
    );
}

#[tokio::test]
async fn cleared_latency_releases_held_reply() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.set(
        Direction::Downstream,
        Fault::Latency {
            delay: Duration::from_secs(3600),
            jitter: Duration::ZERO,
        },
    );
    stream.write_all(b"held").await.unwrap();
    let mut reply = [0; 4];
    let early = timeout(NOTHING_ARRIVES, stream.read_exact(&mut reply)).await;
    proxy.clear();

    assert!(
        early.is_err(),
        "the reply came before the latency: {early:?}"
    );
    guarded("the released reply", stream.read_exact(&mut reply))
        .await
        .unwrap();
    assert_eq!(&reply, b"held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jittered_latency_keeps_byte_order() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;
    let latency = Fault::Latency {
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(15),
    };

    proxy.set(Direction::Upstream, latency);
    proxy.set(Direction::Downstream, latency);
    let mut expected = Vec::new();
    for index in 0..100u8 {
        let message = [b'a' + index % 26; 3];
        stream.write_all(&message).await.unwrap();
        expected.extend_from_slice(&message);
        tokio::task::yield_now().await;
    }
    let mut received = vec![0; expected.len()];
    guarded("the delayed echoes", stream.read_exact(&mut received))
        .await
        .unwrap();

    assert_eq!(
        String::from_utf8_lossy(&received),
        String::from_utf8_lossy(&expected)
    );
}

#[tokio::test]
async fn bandwidth_limit_spreads_bytes_over_time() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.set(
        Direction::Downstream,
        Fault::Bandwidth(NonZeroU64::new(10_000).unwrap()),
    );
    let sent_at = Instant::now();
    let payload = random_payload(2000, 3);
    let echoed = round_trip(&mut stream, &payload).await;

    assert!(
        echoed == payload,
        "the echoed bytes differ from the payload"
    );
    // Two pieces of 1000 bytes: the first at once, the second 100 ms later.
    assert!(
        sent_at.elapsed() >= Duration::from_millis(100),
        "elapsed {:?}",
        sent_at.elapsed()
    );
}

#[tokio::test]
async fn close_after_limit_delivers_exactly_limit() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.set(Direction::Downstream, Fault::CloseAfter(5 + 6));
    stream.write_all(b"0123456789").await.unwrap();
    let mut received = Vec::new();
    guarded("EOF after the limit", stream.read_to_end(&mut received))
        .await
        .unwrap();

    // The first 5 bytes were the round trip of `connect_checked`.
    assert_eq!(received, b"012345");
    assert_eq!(proxy.stats().downstream.discarded, 4);
}

#[tokio::test]
async fn slicing_keeps_bytes_identical() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;
    let slice = Fault::Slice {
        max_bytes: NonZeroUsize::new(7).unwrap(),
        delay: Duration::ZERO,
    };

    proxy.set(Direction::Upstream, slice);
    proxy.set(Direction::Downstream, slice);
    let payload = random_payload(200 * 1024, 5);
    let echoed = round_trip(&mut stream, &payload).await;

    assert!(
        echoed == payload,
        "the echoed bytes differ from the payload"
    );
}

#[tokio::test]
async fn drop_next_loses_one_chunk_and_keeps_connection() {
    let (_echo, proxy) = echo_behind_proxy().await;
    let mut stream = connect_checked(&proxy).await;

    proxy.drop_next(Direction::Downstream);
    stream.write_all(b"first").await.unwrap();
    support::wait_until("the proxy to discard the first echo", || {
        proxy.stats().downstream.discarded == 5
    })
    .await;

    assert_eq!(round_trip(&mut stream, b"second").await, b"second");
    assert_eq!(proxy.stats().downstream.discarded, 5);
}
