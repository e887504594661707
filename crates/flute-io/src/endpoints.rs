//! Concrete [`DatagramSink`]s and [`DatagramSource`]s: UDP sockets on the real clock,
//! capture files on a virtual clock, a recorder that does both, and a seeded lossy filter.

use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::adapter::{DatagramSink, DatagramSource, DeliverFn};
use crate::pcap::{CapturedDatagram, PcapReader, PcapWriter, ReadStats};
use crate::udp::{TxBatch, UdpReceiver, UdpSender};

/// Longest single sleep, so a shutdown request is seen promptly.
const SHUTDOWN_POLL: Duration = Duration::from_millis(50);

/// Sleeps until `deadline` on the real clock, waking for `shutdown`. Waits under 50 µs
/// yield instead of sleeping; a late wake-up is absorbed by the sender's pacing burst.
pub fn sleep_until(deadline: Instant, shutdown: &AtomicBool) {
    loop {
        let now = Instant::now();
        if now >= deadline || shutdown.load(Ordering::Relaxed) {
            return;
        }
        let left = deadline - now;
        if left > Duration::from_micros(50) {
            std::thread::sleep(left.min(SHUTDOWN_POLL));
        } else {
            std::thread::yield_now();
        }
    }
}

/// Sends to a UDP socket, paced on the real clock.
#[derive(Debug)]
pub struct UdpSink {
    /// The socket.
    pub socket: UdpSender,
}

impl DatagramSink for UdpSink {
    fn now(&mut self) -> Instant {
        Instant::now()
    }
    fn wait_until(&mut self, deadline: Instant, shutdown: &AtomicBool) {
        sleep_until(deadline, shutdown);
    }
    fn send(&mut self, batch: &TxBatch) -> io::Result<()> {
        self.socket.send(batch)
    }
}

/// Records datagrams in a pcap file. Offline (no socket) it runs on a virtual clock that
/// jumps straight to each deadline, so a long paced session is written in no time with
/// the timestamps it would have had.
#[derive(Debug)]
pub struct PcapSink {
    writer: PcapWriter<BufWriter<File>>,
    src: SocketAddr,
    dst: SocketAddr,
    start: Instant,
    wall_start: Duration,
    now: Instant,
}

impl PcapSink {
    /// Creates `path`; datagrams are recorded as sent from `src` to `dst`.
    pub fn create(path: &Path, src: SocketAddr, dst: SocketAddr) -> io::Result<Self> {
        let start = Instant::now();
        Ok(Self {
            writer: PcapWriter::create(path)?,
            src,
            dst,
            start,
            wall_start: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
            now: start,
        })
    }

    fn record(&mut self, at: Instant, batch: &TxBatch) -> io::Result<()> {
        let ts = self.wall_start + at.saturating_duration_since(self.start);
        for d in batch.iter() {
            self.writer.write_udp(ts, self.src, self.dst, d)?;
        }
        Ok(())
    }

    /// Packets written.
    pub fn packets(&self) -> u64 {
        self.writer.packets()
    }
}

impl DatagramSink for PcapSink {
    fn now(&mut self) -> Instant {
        self.now
    }
    fn wait_until(&mut self, deadline: Instant, _shutdown: &AtomicBool) {
        self.now = self.now.max(deadline);
    }
    fn send(&mut self, batch: &TxBatch) -> io::Result<()> {
        self.record(self.now, batch)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Sends to a socket and records the same datagrams, with real timestamps, in a capture.
#[derive(Debug)]
pub struct RecordingSink {
    /// The socket side.
    pub udp: UdpSink,
    /// The capture side.
    pub pcap: PcapSink,
}

impl DatagramSink for RecordingSink {
    fn now(&mut self) -> Instant {
        Instant::now()
    }
    fn wait_until(&mut self, deadline: Instant, shutdown: &AtomicBool) {
        sleep_until(deadline, shutdown);
    }
    fn send(&mut self, batch: &TxBatch) -> io::Result<()> {
        self.udp.send(batch)?;
        self.pcap.record(Instant::now(), batch)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.pcap.flush()
    }
}

/// Receives from a UDP socket on the real clock.
#[derive(Debug)]
pub struct UdpSource {
    /// The socket.
    pub socket: UdpReceiver,
}

impl DatagramSource for UdpSource {
    fn now(&mut self) -> Instant {
        Instant::now()
    }
    fn recv(&mut self, deadline: Option<Instant>, f: &mut DeliverFn<'_>) -> io::Result<bool> {
        let wait = match deadline {
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .min(SHUTDOWN_POLL),
            None => SHUTDOWN_POLL,
        };
        let now = Instant::now();
        let local = self.socket.local_addr();
        self.socket
            .recv(Some(wait), &mut |src, data| f(now, src, local, data))?;
        Ok(true)
    }
}

/// Replays a capture file on a virtual clock: capture time 0 is mapped to the moment the
/// source was opened, and the core's timers fire in capture-time order between packets.
#[derive(Debug)]
pub struct PcapSource {
    reader: PcapReader<BufReader<File>>,
    pending: Option<CapturedDatagram>,
    first_ts: Option<Duration>,
    base: Instant,
    now: Instant,
    /// When set, only datagrams sent to this port are delivered.
    pub port_filter: Option<u16>,
    /// Why reading stopped before the end of the file, if it did.
    read_error: Option<io::Error>,
}

impl PcapSource {
    /// Opens a pcap or pcapng file.
    pub fn open(path: &Path) -> io::Result<Self> {
        let now = Instant::now();
        Ok(Self {
            reader: PcapReader::open(path)?,
            pending: None,
            first_ts: None,
            base: now,
            now,
            port_filter: None,
            read_error: None,
        })
    }

    /// The reader's counters.
    pub fn stats(&self) -> ReadStats {
        self.reader.stats()
    }

    /// The error that ended reading early (a capture cut in the middle of a record, or a
    /// corrupt record), if one did. The datagrams before it were delivered; the source then
    /// reports its end as for a complete capture, so that what arrived can still be used.
    pub fn read_error(&self) -> Option<&io::Error> {
        self.read_error.as_ref()
    }

    fn at(&mut self, ts: Option<Duration>) -> Instant {
        match ts {
            Some(ts) => {
                let first = *self.first_ts.get_or_insert(ts);
                (self.base + ts.saturating_sub(first)).max(self.now)
            }
            None => self.now,
        }
    }
}

impl DatagramSource for PcapSource {
    fn now(&mut self) -> Instant {
        self.now
    }
    fn recv(&mut self, deadline: Option<Instant>, f: &mut DeliverFn<'_>) -> io::Result<bool> {
        // Deliver a bounded run of packets that are due before the deadline.
        for _ in 0..64 {
            let d = match self.pending.take() {
                Some(d) => d,
                None => loop {
                    match self.reader.next_datagram() {
                        Ok(None) => return Ok(false),
                        Ok(Some(d)) if self.port_filter.is_some_and(|p| p != d.dst.port()) => {}
                        Ok(Some(d)) => break d,
                        Err(e) => {
                            self.read_error = Some(e);
                            return Ok(false);
                        }
                    }
                },
            };
            let at = self.at(d.ts);
            if deadline.is_some_and(|dl| at > dl) {
                self.now = self.now.max(deadline.unwrap_or(at));
                self.pending = Some(d);
                return Ok(true);
            }
            self.now = at;
            f(at, d.src, d.dst, &d.payload);
        }
        Ok(true)
    }
}

/// A deterministic pseudo-random generator (xorshift64*), for [`Lossy`]'s seeded loss
/// patterns. Private: tests take `flute_testkit::Rng`.
#[derive(Clone, Debug)]
pub(crate) struct SeededRng(u64);

impl SeededRng {
    /// A generator for `seed` (any value, 0 included).
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }
    /// The next value in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Drops a seeded, deterministic fraction of the datagrams passing through a sink or source.
#[derive(Debug)]
pub struct Lossy<T> {
    inner: T,
    rate: f64,
    rng: SeededRng,
    scratch: TxBatch,
    /// Datagrams dropped so far.
    pub dropped: u64,
    /// Datagrams seen so far (dropped or not).
    pub seen: u64,
}

impl<T> Lossy<T> {
    /// Wraps `inner`, dropping each datagram with probability `rate` (0.0 to 1.0).
    pub fn new(inner: T, rate: f64, seed: u64) -> Self {
        Self {
            inner,
            rate: rate.clamp(0.0, 1.0),
            rng: SeededRng::new(seed),
            scratch: TxBatch::new(),
            dropped: 0,
            seen: 0,
        }
    }
    /// The wrapped sink or source.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }
    /// Unwraps.
    pub fn into_inner(self) -> T {
        self.inner
    }
    fn keep(&mut self) -> bool {
        self.seen += 1;
        let drop = self.rng.next_f64() < self.rate;
        if drop {
            self.dropped += 1;
        }
        !drop
    }
}

impl<T: DatagramSink> DatagramSink for Lossy<T> {
    fn now(&mut self) -> Instant {
        self.inner.now()
    }
    fn wait_until(&mut self, deadline: Instant, shutdown: &AtomicBool) {
        self.inner.wait_until(deadline, shutdown);
    }
    fn send(&mut self, batch: &TxBatch) -> io::Result<()> {
        let mut kept = std::mem::take(&mut self.scratch);
        kept.clear();
        for d in batch.iter() {
            if self.keep() {
                kept.push(d);
            }
        }
        let r = self.inner.send(&kept);
        self.scratch = kept;
        r
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<T: DatagramSource> DatagramSource for Lossy<T> {
    fn now(&mut self) -> Instant {
        self.inner.now()
    }
    fn recv(&mut self, deadline: Option<Instant>, f: &mut DeliverFn<'_>) -> io::Result<bool> {
        let (rate, rng) = (self.rate, &mut self.rng);
        let (seen, dropped) = (&mut self.seen, &mut self.dropped);
        self.inner.recv(deadline, &mut |now, src, dst, data| {
            *seen += 1;
            if rng.next_f64() < rate {
                *dropped += 1;
            } else {
                f(now, src, dst, data);
            }
        })
    }
}
