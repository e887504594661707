//! The adapter loops: the only code that connects the sans-IO sender and receiver to
//! sockets, capture files and the clock. They carry no protocol logic: they move datagrams,
//! sleep until the core's next timer, and stop on a shutdown flag.

use std::io;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::udp::TxBatch;

/// The sans-IO sender as the loop sees it (implemented for `flute_sender::Sender` in
/// this crate, and by test doubles).
pub trait SenderCore {
    /// Writes the next datagram due at `now` at the start of `buf` (resizing it if it is
    /// too short; its old contents are irrelevant) and returns its length, or `None` when nothing is due (pacing) or everything is sent.
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize>;
    /// When the core next wants to run (pacing, carousel); `None` when idle for good.
    fn poll_timeout(&mut self) -> Option<Instant>;
    /// Lets the core act on timers that expired by `now`.
    fn handle_timeout(&mut self, now: Instant);
}

/// The sans-IO receiver as the loop sees it.
pub trait ReceiverCore {
    /// Feeds one datagram received at `now` from `src`, sent to `dst`.
    fn handle_datagram(&mut self, now: Instant, src: SocketAddr, dst: SocketAddr, data: &[u8]);
    /// The core's next timer (object expiry, FDT expiry), if any.
    fn poll_timeout(&mut self) -> Option<Instant>;
    /// Lets the core act on timers that expired by `now`.
    fn handle_timeout(&mut self, now: Instant);
    /// The source has ended: finish any work in flight (decode jobs), so that the last
    /// events can be read. Default: nothing to do.
    fn finish(&mut self) {}
}

/// Where the sender's datagrams go: a socket, a capture file, or both. Each sink also owns
/// the notion of time (real for sockets, virtual for an offline capture).
pub trait DatagramSink {
    /// The current time.
    fn now(&mut self) -> Instant;
    /// Returns once `deadline` is reached or `shutdown` is set.
    fn wait_until(&mut self, deadline: Instant, shutdown: &AtomicBool);
    /// Sends (or records) every datagram of `batch`.
    fn send(&mut self, batch: &TxBatch) -> io::Result<()>;
    /// Flushes buffered output.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The callback a [`DatagramSource`] hands each datagram to: (arrival time, source,
/// destination, payload).
pub type DeliverFn<'a> = dyn FnMut(Instant, SocketAddr, SocketAddr, &[u8]) + 'a;

/// Where the receiver's datagrams come from: a socket or a capture file.
pub trait DatagramSource {
    /// The current time.
    fn now(&mut self) -> Instant;
    /// Waits until `deadline` at most (forever when `None`, within the limits of the
    /// shutdown polling) and hands each datagram to `f` as (arrival time, source,
    /// destination, payload). Returns `Ok(false)` once the source is exhausted.
    fn recv(&mut self, deadline: Option<Instant>, f: &mut DeliverFn<'_>) -> io::Result<bool>;
}

impl<T: DatagramSource + ?Sized> DatagramSource for &mut T {
    fn now(&mut self) -> Instant {
        (**self).now()
    }
    fn recv(&mut self, deadline: Option<Instant>, f: &mut DeliverFn<'_>) -> io::Result<bool> {
        (**self).recv(deadline, f)
    }
}

impl<T: DatagramSink + ?Sized> DatagramSink for &mut T {
    fn now(&mut self) -> Instant {
        (**self).now()
    }
    fn wait_until(&mut self, deadline: Instant, shutdown: &AtomicBool) {
        (**self).wait_until(deadline, shutdown);
    }
    fn send(&mut self, batch: &TxBatch) -> io::Result<()> {
        (**self).send(batch)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
}

/// Counters from one adapter run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopStats {
    /// Datagrams moved.
    pub datagrams: u64,
    /// Payload bytes moved.
    pub bytes: u64,
    /// True when the loop stopped because of the shutdown flag.
    pub interrupted: bool,
}

/// Datagrams gathered per system call at most.
pub const MAX_BATCH: usize = 64;

/// Drives `core` into `sink` until the core is idle, `observe` breaks, or `shutdown` is set.
///
/// `observe` runs after every batch with the core, so the caller can drain its events and
/// update progress; returning `ControlFlow::Break` ends the loop.
pub fn run_sender<S: SenderCore, K: DatagramSink>(
    core: &mut S,
    sink: &mut K,
    shutdown: &AtomicBool,
    mut observe: impl FnMut(&mut S) -> ControlFlow<()>,
) -> io::Result<LoopStats> {
    let mut stats = LoopStats::default();
    let mut batch = TxBatch::new();
    let mut buf = Vec::with_capacity(65_536);
    loop {
        if shutdown.load(Ordering::Relaxed) {
            stats.interrupted = true;
            break;
        }
        let now = sink.now();
        core.handle_timeout(now);
        batch.clear();
        while batch.len() < MAX_BATCH {
            match core.poll_transmit(now, &mut buf) {
                Some(n) => batch.push(&buf[..n]),
                None => break,
            }
        }
        sink.send(&batch)?;
        stats.datagrams += batch.len() as u64;
        stats.bytes += batch.bytes() as u64;
        if observe(core).is_break() {
            break;
        }
        if batch.len() == MAX_BATCH {
            continue; // more may be due right now
        }
        match core.poll_timeout() {
            Some(t) => sink.wait_until(t, shutdown),
            None if batch.is_empty() => break, // idle for good
            None => {}
        }
    }
    sink.flush()?;
    Ok(stats)
}

/// Feeds datagrams from `source` into `core` until the source ends, `drain` breaks, or
/// `shutdown` is set.
///
/// `drain` runs after every received batch and every timer with the core; that is where the
/// caller takes the core's events and hands object data to its sink.
pub fn run_receiver<R: ReceiverCore, S: DatagramSource + ?Sized>(
    core: &mut R,
    source: &mut S,
    shutdown: &AtomicBool,
    mut drain: impl FnMut(&mut R) -> ControlFlow<()>,
) -> io::Result<LoopStats> {
    let mut stats = LoopStats::default();
    loop {
        if shutdown.load(Ordering::Relaxed) {
            stats.interrupted = true;
            break;
        }
        let deadline = core.poll_timeout();
        let more = source.recv(deadline, &mut |now, src, dst, data| {
            stats.datagrams += 1;
            stats.bytes += data.len() as u64;
            core.handle_datagram(now, src, dst, data);
        })?;
        let now = source.now();
        if deadline.is_some_and(|d| d <= now) {
            core.handle_timeout(now);
        }
        let stop = drain(core).is_break();
        if !more && !stop {
            // The last datagrams may have left work in flight.
            core.finish();
            let _ = drain(core);
        }
        if stop || !more {
            break;
        }
    }
    Ok(stats)
}
