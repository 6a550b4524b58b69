//! Unit tests of the pump against an in-memory source and a writer that
//! records every write call with its (paused) time.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::{NonZeroU64, NonZeroUsize};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncWriteExt, DuplexStream, duplex};

use super::*;
use crate::proxy::Fault;

/// Every write call with its time.
type WriteLog = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A writer that records each write call and whether it was shut down.
#[derive(Clone, Debug, Default)]
struct Recorder {
    writes: WriteLog,
    shut_down: Arc<AtomicBool>,
}

impl Recorder {
    fn sizes(&self) -> Vec<usize> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .map(|(_, bytes)| bytes.len())
            .collect()
    }

    fn offsets_from(&self, start: Instant) -> Vec<Duration> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .map(|(at, _)| *at - start)
            .collect()
    }

    fn bytes(&self) -> Vec<u8> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, bytes)| bytes.clone())
            .collect()
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes
            .lock()
            .unwrap()
            .push((Instant::now(), buf.to_vec()));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut_down.store(true, Ordering::SeqCst);
        Poll::Ready(Ok(()))
    }
}

struct Harness {
    shared: Arc<Shared>,
    source: DuplexStream,
    recorder: Recorder,
    task: tokio::task::JoinHandle<PumpEnd>,
}

/// Starts an upstream pump with `faults` from a duplex source to a recorder.
fn start(faults: &[Fault]) -> Harness {
    let shared = Arc::new(Shared::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), 7));
    for fault in faults {
        shared
            .faults
            .send_modify(|all| all.get_mut(Direction::Upstream).apply(*fault));
    }
    let (source, reader) = duplex(1 << 16);
    let recorder = Recorder::default();
    let pump = Pump::new(Direction::Upstream, Arc::clone(&shared), 7);
    let task = tokio::spawn(pump.run(reader, recorder.clone()));
    Harness {
        shared,
        source,
        recorder,
        task,
    }
}

#[tokio::test(start_paused = true)]
async fn end_of_stream_is_forwarded_as_shutdown() {
    let mut harness = start(&[]);

    harness.source.write_all(b"hello").await.unwrap();
    drop(harness.source);
    let end = harness.task.await.unwrap();

    assert!(matches!(end, PumpEnd::Eof), "{end:?}");
    assert_eq!(harness.recorder.bytes(), b"hello");
    assert!(harness.recorder.shut_down.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn slice_writes_pieces_with_delay_between() {
    let slice = Fault::Slice {
        max_bytes: NonZeroUsize::new(3).unwrap(),
        delay: Duration::from_millis(5),
    };
    let mut harness = start(&[slice]);
    let start_time = Instant::now();

    harness.source.write_all(b"0123456789").await.unwrap();
    drop(harness.source);
    harness.task.await.unwrap();

    assert_eq!(harness.recorder.sizes(), [3, 3, 3, 1]);
    assert_eq!(harness.recorder.bytes(), b"0123456789");
    let offsets: Vec<u64> = harness
        .recorder
        .offsets_from(start_time)
        .iter()
        .map(|offset| offset.as_millis() as u64)
        .collect();
    assert_eq!(offsets, [0, 5, 10, 15]);
}

#[tokio::test(start_paused = true)]
async fn bandwidth_paces_tenth_of_second_pieces() {
    let mut harness = start(&[Fault::Bandwidth(NonZeroU64::new(100).unwrap())]);
    let start_time = Instant::now();

    harness.source.write_all(&[7; 35]).await.unwrap();
    drop(harness.source);
    harness.task.await.unwrap();

    assert_eq!(harness.recorder.sizes(), [10, 10, 10, 5]);
    let offsets = harness.recorder.offsets_from(start_time);
    let expected: Vec<Duration> = [0, 100, 200, 300].map(Duration::from_millis).to_vec();
    assert_eq!(offsets, expected);
}

#[tokio::test(start_paused = true)]
async fn latency_counts_from_arrival_of_each_chunk() {
    let latency = Fault::Latency {
        delay: Duration::from_millis(100),
        jitter: Duration::ZERO,
    };
    let mut harness = start(&[latency]);
    let start_time = Instant::now();

    harness.source.write_all(b"first").await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    harness.source.write_all(b"second").await.unwrap();
    drop(harness.source);
    harness.task.await.unwrap();

    assert_eq!(harness.recorder.bytes(), b"firstsecond");
    let offsets = harness.recorder.offsets_from(start_time);
    let expected: Vec<Duration> = [100, 110].map(Duration::from_millis).to_vec();
    assert_eq!(
        offsets, expected,
        "the second chunk waits from its own arrival"
    );
}

#[tokio::test(start_paused = true)]
async fn jittered_chunks_keep_their_order() {
    let latency = Fault::Latency {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(9),
    };
    let mut harness = start(&[latency]);
    let start_time = Instant::now();

    let mut expected = Vec::new();
    for index in 0..20u8 {
        harness.source.write_all(&[index; 2]).await.unwrap();
        expected.extend_from_slice(&[index; 2]);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(harness.source);
    harness.task.await.unwrap();

    assert_eq!(harness.recorder.bytes(), expected);
    let offsets = harness.recorder.offsets_from(start_time);
    assert_eq!(offsets.len(), 20, "each chunk is one write");
    for (index, offset) in offsets.iter().enumerate() {
        let arrival = Duration::from_millis(index as u64);
        assert!(
            *offset >= arrival + Duration::from_millis(1),
            "chunk {index} at {offset:?}"
        );
    }
    assert!(offsets.is_sorted());
}

#[tokio::test(start_paused = true)]
async fn cleared_latency_releases_waiting_chunk() {
    let latency = Fault::Latency {
        delay: Duration::from_secs(3600),
        jitter: Duration::ZERO,
    };
    let mut harness = start(&[latency]);
    let start_time = Instant::now();

    harness.source.write_all(b"held").await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        harness.recorder.sizes().is_empty(),
        "written before the latency"
    );
    harness.shared.faults.send_replace(Faults::default());
    drop(harness.source);
    harness.task.await.unwrap();

    assert_eq!(harness.recorder.bytes(), b"held");
    assert_eq!(
        harness.recorder.offsets_from(start_time),
        [Duration::from_secs(1)]
    );
}

#[tokio::test(start_paused = true)]
async fn close_after_forwards_exactly_the_limit() {
    let mut harness = start(&[Fault::CloseAfter(4)]);

    harness.source.write_all(b"abcdefgh").await.unwrap();
    let end = harness.task.await.unwrap();

    assert!(matches!(end, PumpEnd::Close), "{end:?}");
    assert_eq!(harness.recorder.bytes(), b"abcd");
    let stats = harness.shared.counters.snapshot().upstream;
    assert_eq!((stats.forwarded, stats.discarded), (4, 4));
}

#[tokio::test]
async fn jitter_stays_within_bounds_and_varies() {
    let shared = Arc::new(Shared::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), 7));
    let mut pump = Pump::new(Direction::Downstream, shared, 42);
    let latency = Latency {
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(4),
    };

    let draws: Vec<Duration> = (0..1000).map(|_| pump.draw(latency)).collect();

    let min = draws.iter().min().unwrap();
    let max = draws.iter().max().unwrap();
    assert!(*min >= Duration::from_millis(6), "min {min:?}");
    assert!(*max <= Duration::from_millis(14), "max {max:?}");
    assert!(
        *min < Duration::from_millis(7),
        "draws never went low: min {min:?}"
    );
    assert!(
        *max > Duration::from_millis(13),
        "draws never went high: max {max:?}"
    );
}

#[tokio::test]
async fn jitter_larger_than_delay_clamps_at_zero() {
    let shared = Arc::new(Shared::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), 7));
    let mut pump = Pump::new(Direction::Downstream, shared, 42);
    let latency = Latency {
        delay: Duration::from_millis(1),
        jitter: Duration::from_millis(10),
    };

    let draws: Vec<Duration> = (0..1000).map(|_| pump.draw(latency)).collect();

    assert!(draws.contains(&Duration::ZERO), "no draw was clamped");
    assert!(draws.iter().all(|draw| *draw <= Duration::from_millis(11)));
}
