//! The I/O helpers: a `Sender` or `Receiver` driven by `flute-io`'s adapter loops into or
//! from a pcap file or a UDP socket, detached from the interpreter (the GIL is released)
//! while they run. No protocol logic here: this is `flute send` / `flute recv` glue.

use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use flute_io::{
    PcapSink, PcapSource, UdpOptions, UdpReceiver, UdpSender, UdpSink, UdpSource, run_receiver,
    run_sender,
};
use flute_receiver::{Receiver, ReceiverEvent};
use flute_sender::Sender;
use pyo3::prelude::*;

/// How often a running loop looks for a pending `KeyboardInterrupt`.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Polls Python's signal handlers at most every [`SIGNAL_CHECK`]; keeps the first error.
struct Signals {
    next: Instant,
    error: Option<PyErr>,
}

impl Signals {
    fn new() -> Self {
        Self {
            next: Instant::now() + SIGNAL_CHECK,
            error: None,
        }
    }

    /// True when the loop must stop (a signal handler raised).
    fn interrupted(&mut self) -> bool {
        if self.error.is_some() {
            return true;
        }
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + SIGNAL_CHECK;
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            self.error = Some(e);
            return true;
        }
        false
    }

    fn finish<T>(self, v: T) -> PyResult<T> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }
}

/// What a sender run moved.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moved {
    pub(crate) datagrams: u64,
    pub(crate) bytes: u64,
}

/// Closes `sender` and writes its whole session to the capture `path`, on a virtual clock
/// (pacing and carousel intervals become timestamps, not waits).
pub(crate) fn sender_to_pcap(
    py: Python<'_>,
    sender: &mut Sender,
    path: &Path,
    src: SocketAddr,
    dst: SocketAddr,
) -> PyResult<Moved> {
    sender.close();
    py.detach(|| {
        let mut sink = PcapSink::create(path, src, dst)?;
        drive_sender(sender, &mut sink, None)
    })
}

/// Closes `sender` and sends its session to `dst` over UDP, on the real clock (paced if
/// the sender has a rate). Stops early after `timeout`.
pub(crate) fn sender_to_udp(
    py: Python<'_>,
    sender: &mut Sender,
    dst: SocketAddr,
    bind: Option<SocketAddr>,
    opts: &UdpOptions,
    timeout: Option<Duration>,
) -> PyResult<Moved> {
    sender.close();
    py.detach(|| {
        let socket = UdpSender::open(dst, bind, opts)?;
        let mut sink = UdpSink { socket };
        drive_sender(sender, &mut sink, timeout)
    })
}

fn drive_sender<K: flute_io::DatagramSink>(
    sender: &mut Sender,
    sink: &mut K,
    timeout: Option<Duration>,
) -> PyResult<Moved> {
    let shutdown = AtomicBool::new(false);
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut signals = Signals::new();
    let stats = run_sender(sender, sink, &shutdown, |s: &mut Sender| {
        // Only peek at SessionClosed; other events stay for `Sender.events()`.
        if s.is_closed() || signals.interrupted() || deadline.is_some_and(|d| Instant::now() >= d) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    signals.finish(Moved {
        datagrams: stats.datagrams,
        bytes: stats.bytes,
    })
}

/// Counters of a receiver run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Received {
    pub(crate) datagrams: u64,
    pub(crate) bytes: u64,
    pub(crate) frames: u64,
    pub(crate) not_udp: u64,
    pub(crate) fragments: u64,
    pub(crate) reassembled: u64,
    pub(crate) reassembly_failed: u64,
    pub(crate) malformed: u64,
}

/// Feeds the capture `path` (pcap or pcapng, IP fragments reassembled) into `receiver`,
/// on the capture's clock; `port` keeps only datagrams to that UDP port. Events go to
/// `backlog`.
pub(crate) fn pcap_to_receiver(
    py: Python<'_>,
    receiver: &mut Receiver,
    backlog: &mut Vec<ReceiverEvent>,
    path: &Path,
    port: Option<u16>,
) -> PyResult<Received> {
    py.detach(|| {
        let mut source = PcapSource::open(path)?;
        source.port_filter = port;
        let shutdown = AtomicBool::new(false);
        let mut signals = Signals::new();
        let stats = run_receiver(receiver, &mut source, &shutdown, |r: &mut Receiver| {
            while let Some(ev) = r.poll_event() {
                backlog.push(ev);
            }
            if signals.interrupted() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        let rs = source.stats();
        signals.finish(Received {
            datagrams: stats.datagrams,
            bytes: stats.bytes,
            frames: rs.frames,
            not_udp: rs.not_udp,
            fragments: rs.fragments,
            reassembled: rs.reassembled,
            reassembly_failed: rs.reassembly_failed,
            malformed: rs.malformed,
        })
    })
}

/// When a UDP receive run stops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Until {
    /// Stop when a session ends (close-session flag or idle).
    pub(crate) session_closed: bool,
    /// Stop after this many objects completed or failed.
    pub(crate) objects: Option<u64>,
    /// Stop after this long.
    pub(crate) timeout: Option<Duration>,
}

/// Receives from a UDP socket bound to `listen` (a multicast group is joined, SSM with
/// `source`) into `receiver` until `until` says so. Events go to `backlog`.
pub(crate) fn udp_to_receiver(
    py: Python<'_>,
    receiver: &mut Receiver,
    backlog: &mut Vec<ReceiverEvent>,
    listen: SocketAddr,
    source: Option<IpAddr>,
    opts: &UdpOptions,
    until: Until,
) -> PyResult<Received> {
    py.detach(|| {
        let socket = UdpReceiver::bind(listen, source, opts)?;
        let mut src = UdpSource { socket };
        let shutdown = AtomicBool::new(false);
        let deadline = until.timeout.map(|t| Instant::now() + t);
        let mut signals = Signals::new();
        let mut done = 0u64;
        let mut closed = false;
        let stats = run_receiver(receiver, &mut src, &shutdown, |r: &mut Receiver| {
            while let Some(ev) = r.poll_event() {
                match &ev {
                    ReceiverEvent::ObjectComplete { .. } | ReceiverEvent::ObjectFailed { .. } => {
                        done += 1;
                    }
                    ReceiverEvent::SessionClosed { .. } => closed = true,
                    _ => {}
                }
                backlog.push(ev);
            }
            let stop = (until.session_closed && closed)
                || until.objects.is_some_and(|n| done >= n)
                || deadline.is_some_and(|d| Instant::now() >= d)
                || signals.interrupted();
            if stop {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        signals.finish(Received {
            datagrams: stats.datagrams,
            bytes: stats.bytes,
            ..Received::default()
        })
    })
}
