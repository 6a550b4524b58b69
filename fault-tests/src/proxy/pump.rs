//! Copying one direction of a connection while applying its faults.
//!
//! A pump is two futures joined by a bounded queue: the reader timestamps
//! each chunk as it arrives, and the writer delays it until its latency has
//! passed, then applies the other faults. Latency is thus measured from
//! arrival and does not add up over a stream of chunks, and the writer is
//! the only place that decides what happens to a byte, so bytes keep their
//! order.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};

use super::Shared;
use super::fault::{Direction, DirectionFaults, Faults, Latency};

/// Largest chunk read at once.
const CHUNK_SIZE: usize = 16 * 1024;

/// Chunks read ahead of the writer, so a pump buffers at most
/// `CHUNK_SIZE * QUEUE_CHUNKS` bytes (256 KiB) before back-pressure reaches
/// the source socket.
const QUEUE_CHUNKS: usize = 16;

/// Parts of a second that a bandwidth limit spreads its rate over: pieces
/// carry a tenth of a second's bytes.
const BANDWIDTH_PIECES_PER_SECOND: u64 = 10;

/// A message from the reader to the writer.
#[derive(Debug)]
enum Message {
    Data { bytes: Vec<u8>, read_at: Instant },
    Eof,
    Failed(io::Error),
}

/// The outcome of a pump.
#[derive(Debug)]
pub(crate) enum PumpEnd {
    /// The source ended and the end was forwarded with a write shutdown.
    Eof,
    /// A [`CloseAfter`](super::Fault::CloseAfter) limit was reached.
    Close,
    /// Reading or writing failed.
    Failed(io::Error),
}

/// The state of one direction of one connection.
#[derive(Debug)]
pub(crate) struct Pump {
    direction: Direction,
    shared: Arc<Shared>,
    faults: watch::Receiver<Faults>,
    rng: SmallRng,
    /// Bytes forwarded on this connection in this direction.
    forwarded: u64,
    /// The earliest time of the next write under a bandwidth limit.
    next_send: Instant,
}

impl Pump {
    pub(crate) fn new(direction: Direction, shared: Arc<Shared>, seed: u64) -> Self {
        Self {
            direction,
            faults: shared.faults.subscribe(),
            shared,
            rng: SmallRng::seed_from_u64(seed),
            forwarded: 0,
            next_send: Instant::now(),
        }
    }

    /// Copies from `reader` to `writer` until the source ends, a fault
    /// closes the connection or an I/O operation fails.
    pub(crate) async fn run<R, W>(mut self, reader: R, mut writer: W) -> PumpEnd
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let (queue, mut arrivals) = mpsc::channel(QUEUE_CHUNKS);
        let read = read_chunks(reader, queue);
        let write = async {
            loop {
                // The reader keeps its sender, so `None` cannot happen.
                let Some(message) = arrivals.recv().await else {
                    return PumpEnd::Eof;
                };
                match message {
                    Message::Data { bytes, read_at } => {
                        if let Some(end) = self.forward(&mut writer, &bytes, read_at).await {
                            return end;
                        }
                    }
                    Message::Eof => {
                        return match writer.shutdown().await {
                            Ok(()) => PumpEnd::Eof,
                            Err(error) => PumpEnd::Failed(error),
                        };
                    }
                    Message::Failed(error) => return PumpEnd::Failed(error),
                }
            }
        };
        tokio::select! {
            end = write => end,
            never = read => match never {},
        }
    }

    /// Applies the faults to one chunk; returns how the pump ends, if it does.
    async fn forward<W>(
        &mut self,
        writer: &mut W,
        bytes: &[u8],
        read_at: Instant,
    ) -> Option<PumpEnd>
    where
        W: AsyncWrite + Unpin,
    {
        self.wait_latency(read_at).await;
        let faults = self.current();
        if faults.blackhole || self.shared.take_drop(self.direction) {
            self.discard(bytes.len());
            return None;
        }
        let (bytes, close) = match faults.close_after {
            Some(limit) => self.split_at_limit(bytes, limit),
            None => (bytes, false),
        };
        if let Err(error) = self.write_shaped(writer, bytes, &faults).await {
            return Some(PumpEnd::Failed(error));
        }
        close.then_some(PumpEnd::Close)
    }

    /// Waits until the chunk's latency has passed. A fault change draws the
    /// delay again, so clearing the latency releases a waiting chunk.
    async fn wait_latency(&mut self, read_at: Instant) {
        loop {
            let Some(latency) = self.current().latency else {
                return;
            };
            let deadline = read_at + self.draw(latency);
            tokio::select! {
                () = sleep_until(deadline) => return,
                changed = self.faults.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Returns the bytes that fit under the limit and whether the limit is
    /// reached with them. The rest is counted as discarded.
    fn split_at_limit<'b>(&self, bytes: &'b [u8], limit: u64) -> (&'b [u8], bool) {
        let room = usize::try_from(limit.saturating_sub(self.forwarded)).unwrap_or(usize::MAX);
        if bytes.len() < room {
            return (bytes, false);
        }
        self.discard(bytes.len() - room);
        (&bytes[..room], true)
    }

    /// Writes `bytes` in the pieces and at the pace that slicing and the
    /// bandwidth limit set.
    async fn write_shaped<W>(
        &mut self,
        writer: &mut W,
        bytes: &[u8],
        faults: &DirectionFaults,
    ) -> io::Result<()>
    where
        W: AsyncWrite + Unpin,
    {
        for (index, piece) in bytes.chunks(piece_size(faults)).enumerate() {
            if let Some(slice) = faults
                .slice
                .filter(|slice| index > 0 && !slice.delay.is_zero())
            {
                sleep(slice.delay).await;
            }
            if faults.bandwidth.is_some() {
                sleep_until(self.next_send).await;
            }
            writer.write_all(piece).await?;
            self.forwarded = self.forwarded.saturating_add(piece.len() as u64);
            self.shared
                .counters
                .add_forwarded(self.direction, piece.len());
            if let Some(rate) = faults.bandwidth {
                self.next_send =
                    self.next_send.max(Instant::now()) + transmit_time(piece.len(), rate.get());
            }
        }
        writer.flush().await
    }

    fn current(&mut self) -> DirectionFaults {
        *self.faults.borrow_and_update().get(self.direction)
    }

    fn discard(&self, bytes: usize) {
        self.shared.counters.add_discarded(self.direction, bytes);
    }

    /// Draws a delay uniformly from `delay ± jitter`, clamped at zero.
    fn draw(&mut self, latency: Latency) -> Duration {
        let jitter = nanos(latency.jitter);
        if jitter == 0 {
            return latency.delay;
        }
        let offset = self.rng.random_range(0..=jitter.saturating_mul(2));
        Duration::from_nanos(
            nanos(latency.delay)
                .saturating_add(offset)
                .saturating_sub(jitter),
        )
    }
}

/// Reads chunks into the queue until the source ends or fails, then waits
/// forever, so that only the writer decides when the pump ends.
async fn read_chunks<R>(mut reader: R, queue: mpsc::Sender<Message>) -> Infallible
where
    R: AsyncRead + Unpin,
{
    loop {
        let mut bytes = Vec::with_capacity(CHUNK_SIZE);
        let message = match reader.read_buf(&mut bytes).await {
            Ok(0) => Message::Eof,
            Ok(_) => Message::Data {
                bytes,
                read_at: Instant::now(),
            },
            Err(error) => Message::Failed(error),
        };
        let last = !matches!(message, Message::Data { .. });
        // A send fails only after the writer ended, and the pump then drops
        // this future.
        if queue.send(message).await.is_err() || last {
            return std::future::pending().await;
        }
    }
}

/// Returns the largest piece that slicing and the bandwidth limit allow.
fn piece_size(faults: &DirectionFaults) -> usize {
    let slice = faults
        .slice
        .map_or(usize::MAX, |slice| slice.max_bytes.get());
    let bandwidth = faults.bandwidth.map_or(usize::MAX, |rate| {
        let piece = (rate.get() / BANDWIDTH_PIECES_PER_SECOND).max(1);
        usize::try_from(piece).unwrap_or(usize::MAX)
    });
    slice.min(bandwidth)
}

/// Returns the time that `bytes` take at `rate` bytes per second.
fn transmit_time(bytes: usize, rate: u64) -> Duration {
    let nanos = (bytes as u128 * 1_000_000_000) / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "pump_tests.rs"]
mod tests;
