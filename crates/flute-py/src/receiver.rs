//! `flute_rs.Receiver`: the sans-IO `flute_receiver::Receiver` with time in seconds, events
//! as Python objects and objects in memory or in a directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flute_io::FsSink;
use flute_io::UdpOptions;
use flute_receiver::{
    Endpoint, MemorySink, ObjectSink, Receiver, ReceiverConfig, ReceiverEvent, WallClock,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::args::{Int, datagram, ip_addr, socket_addr};
use crate::errors::{Kind, error};
use crate::events::{from_receiver, snake};
use crate::fec::REGISTRY;
use crate::guarded::Guarded;
use crate::io;
use crate::time::{Clock, seconds};

/// A wall clock the binding sets before each call, from the receiver's own clock (so that
/// explicit `now` values also move FDT `Expires` checks).
#[derive(Debug, Default)]
pub(crate) struct SharedWall(AtomicU64);

impl SharedWall {
    pub(crate) fn set(&self, t: SystemTime) {
        let nanos = t
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.0.store(nanos, Ordering::Relaxed);
    }
}

impl WallClock for SharedWall {
    fn wall_time(&self, _now: Instant) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// The state behind a `flute_rs.Receiver`.
pub(crate) struct ReceiverState {
    /// `None` once closed.
    pub(crate) core: Option<Receiver>,
    pub(crate) clock: Clock,
    pub(crate) wall: Option<Arc<SharedWall>>,
    endpoint: Endpoint,
    /// Events taken out of the core when it was closed.
    backlog: Vec<ReceiverEvent>,
}

fn closed() -> PyErr {
    error(Kind::SessionClosed, "the receiver is closed")
}

impl ReceiverState {
    /// The core and the instant of `now`, with the wall clock moved to it.
    pub(crate) fn at(&mut self, now: Option<f64>) -> PyResult<(&mut Receiver, Instant)> {
        let now = self.clock.at(now)?;
        if let Some(w) = &self.wall {
            w.set(self.clock.wall(now));
        }
        let core = self.core.as_mut().ok_or_else(closed)?;
        Ok((core, now))
    }

    fn endpoint(&self, destination: Option<&str>, source: Option<&str>) -> PyResult<Endpoint> {
        let mut ep = self.endpoint;
        if let Some(d) = destination {
            ep.destination = socket_addr("destination", d)?;
        }
        if let Some(s) = source {
            ep.source = Some(ip_addr("source", s)?);
        }
        Ok(ep)
    }
}

/// A FLUTE receiver (RFC 6726): datagrams in, verified objects and events out.
///
/// Objects are kept in memory (`ObjectComplete.data`) or, with `output_dir`, written
/// under it (`ObjectComplete.path`; a temporary file renamed once the object is verified).
/// A bad datagram is never an exception: it is counted in `stats.dropped`. Every limit of
/// the Rust receiver is an argument (`None` keeps the default). Times are seconds on this
/// receiver's clock (0.0 when it was created); `now=None` is the real monotonic time.
#[pyclass(module = "flute_rs", name = "Receiver", frozen)]
pub(crate) struct PyReceiver {
    pub(crate) state: Guarded<ReceiverState>,
}

#[pymethods]
impl PyReceiver {
    /// - `output_dir`: write objects under this directory (created if needed); default: memory.
    /// - `tsi`: accept only this TSI (an int) or these TSIs (a list); default: any.
    /// - `destination`, `source`: the endpoint datagrams are attributed to by default
    ///   (`"ip:port"`, `"ip"`); sessions are keyed by (endpoint, TSI).
    /// - `check_expires`: refuse expired FDT Instances, by the wall clock `wall_time`
    ///   (seconds since the Unix epoch at time 0.0; default: the system clock).
    /// - limits: `max_sessions`, `max_concurrent_objects`, `max_object_size`,
    ///   `max_buffered_bytes`, `max_pending_bytes`, `max_fdt_size`, `max_fdt_files`,
    ///   `max_finished_memory`, `zstd_window_log_max`; timeouts in seconds:
    ///   `pending_timeout`, `object_idle_timeout`, `session_idle_timeout`,
    ///   `close_session_grace`.
    #[new]
    #[pyo3(signature = (
        output_dir = None, *, tsi = None, destination = None, source = None,
        check_expires = false, wall_time = None, max_sessions = None,
        max_concurrent_objects = None, max_object_size = None, max_buffered_bytes = None,
        max_pending_bytes = None, pending_timeout = None, object_idle_timeout = None,
        session_idle_timeout = None, close_session_grace = None, max_fdt_size = None,
        max_fdt_files = None, max_finished_memory = None, zstd_window_log_max = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        output_dir: Option<PathBuf>,
        tsi: Option<&Bound<'_, PyAny>>,
        destination: Option<&str>,
        source: Option<&str>,
        check_expires: bool,
        wall_time: Option<f64>,
        max_sessions: Option<Int<usize>>,
        max_concurrent_objects: Option<Int<usize>>,
        max_object_size: Option<Int<u64>>,
        max_buffered_bytes: Option<Int<u64>>,
        max_pending_bytes: Option<Int<u64>>,
        pending_timeout: Option<f64>,
        object_idle_timeout: Option<f64>,
        session_idle_timeout: Option<f64>,
        close_session_grace: Option<f64>,
        max_fdt_size: Option<Int<u64>>,
        max_fdt_files: Option<Int<usize>>,
        max_finished_memory: Option<Int<usize>>,
        zstd_window_log_max: Option<Int<u32>>,
    ) -> PyResult<Self> {
        let clock = Clock::new(wall_time)?;
        let mut cfg = ReceiverConfig::with_registry(REGISTRY.clone());
        if let Some(t) = tsi {
            cfg.tsi_allow_list = Some(match t.extract::<Int<u64>>() {
                Ok(one) => vec![one.0],
                Err(_) => t
                    .extract::<Vec<Int<u64>>>()
                    .map_err(|_| {
                        pyo3::exceptions::PyTypeError::new_err(
                            "tsi must be an int or a list of ints",
                        )
                    })?
                    .into_iter()
                    .map(|i| i.0)
                    .collect(),
            });
        }
        macro_rules! set {
            ($field:ident) => {
                if let Some(v) = $field {
                    cfg.$field = v.0;
                }
            };
        }
        macro_rules! set_secs {
            ($field:ident) => {
                if let Some(v) = $field {
                    cfg.$field = seconds(stringify!($field), v)?;
                }
            };
        }
        set!(max_sessions);
        set!(max_concurrent_objects);
        set!(max_object_size);
        set!(max_buffered_bytes);
        set!(max_pending_bytes);
        set!(max_fdt_size);
        set!(max_fdt_files);
        set!(max_finished_memory);
        set!(zstd_window_log_max);
        set_secs!(pending_timeout);
        set_secs!(object_idle_timeout);
        set_secs!(session_idle_timeout);
        set_secs!(close_session_grace);
        let wall = check_expires.then(|| {
            let w = Arc::new(SharedWall::default());
            w.set(clock.wall_origin());
            w
        });
        cfg.wall_clock = wall.clone().map(|w| w as Arc<dyn WallClock>);
        let sink: Box<dyn ObjectSink> = match &output_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                Box::new(FsSink::new(dir.clone()))
            }
            None => Box::new(MemorySink),
        };
        let mut endpoint = Endpoint {
            source: None,
            destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        };
        if let Some(d) = destination {
            endpoint.destination = socket_addr("destination", d)?;
        }
        if let Some(s) = source {
            endpoint.source = Some(ip_addr("source", s)?);
        }
        let core = crate::guarded::guard(|| Ok(Receiver::with_sink(cfg, sink)))?;
        Ok(Self {
            state: Guarded::new(ReceiverState {
                core: Some(core),
                clock,
                wall,
                endpoint,
                backlog: Vec::new(),
            }),
        })
    }

    /// Handles one datagram (`bytes`, `bytearray` or `memoryview`) received at `now`.
    /// Never raises for bad content: a datagram that cannot be used is counted in
    /// `stats.dropped`. Raises `SessionClosedError` after `close()`.
    #[pyo3(signature = (datagram, now = None, *, destination = None, source = None))]
    fn push(
        &self,
        py: Python<'_>,
        datagram: &Bound<'_, PyAny>,
        now: Option<f64>,
        destination: Option<&str>,
        source: Option<&str>,
    ) -> PyResult<()> {
        let data = self::datagram(datagram)?;
        self.state.with(py, |s| {
            let ep = s.endpoint(destination, source)?;
            let (core, now) = s.at(now)?;
            core.handle_datagram(now, ep, &data);
            Ok(())
        })
    }

    /// Handles every datagram of `datagrams` (a list, tuple or any iterable of bytes-like
    /// objects), all received at `now`. Returns how many were handled.
    #[pyo3(signature = (datagrams, now = None, *, destination = None, source = None))]
    fn push_many(
        &self,
        py: Python<'_>,
        datagrams: &Bound<'_, PyAny>,
        now: Option<f64>,
        destination: Option<&str>,
        source: Option<&str>,
    ) -> PyResult<usize> {
        self.state.with(py, |s| {
            let ep = s.endpoint(destination, source)?;
            let (core, now) = s.at(now)?;
            let mut n = 0;
            if let Ok(list) = datagrams.cast::<PyList>() {
                for item in list.iter() {
                    core.handle_datagram(now, ep, &datagram(&item)?);
                    n += 1;
                }
            } else if let Ok(tuple) = datagrams.cast::<PyTuple>() {
                for item in tuple.iter() {
                    core.handle_datagram(now, ep, &datagram(&item)?);
                    n += 1;
                }
            } else {
                for item in datagrams.try_iter()? {
                    core.handle_datagram(now, ep, &datagram(&item?)?);
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Processes the timers due at `now`: object and session idle timeouts, the end of the
    /// close-session grace period, expiry of buffered datagrams.
    #[pyo3(signature = (now = None))]
    fn handle_timeout(&self, py: Python<'_>, now: Option<f64>) -> PyResult<()> {
        self.state.with(py, |s| {
            let (core, now) = s.at(now)?;
            core.handle_timeout(now);
            Ok(())
        })
    }

    /// When `handle_timeout()` has something to do next, in seconds on this receiver's
    /// clock, or `None`.
    fn poll_timeout(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        self.state.with(py, |s| {
            let clock = s.clock;
            Ok(s.core
                .as_ref()
                .and_then(Receiver::poll_timeout)
                .map(|t| clock.secs(t)))
        })
    }

    /// The events since the last call, oldest first (`ReceiverEvent` subclasses:
    /// `FdtReceived`, `ObjectStarted`, `ObjectProgress`, `ObjectComplete`,
    /// `ObjectFailed`, `SessionClosed`).
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        self.state.with(py, |s| {
            for ev in s.backlog.drain(..) {
                if let Some(obj) = from_receiver(py, ev)? {
                    list.append(obj)?;
                }
            }
            if let Some(core) = s.core.as_mut() {
                while let Some(ev) = core.poll_event() {
                    if let Some(obj) = from_receiver(py, ev)? {
                        list.append(obj)?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(list)
    }

    /// What is still missing of object `toi`, per source block not yet decoded
    /// (`MissingBlock`), or `None` if no live session is receiving it.
    fn missing(&self, py: Python<'_>, toi: Int<u128>) -> PyResult<Option<Vec<MissingBlock>>> {
        self.state.with(py, |s| {
            let core = s.core.as_ref().ok_or_else(closed)?;
            Ok(core.missing(flute_receiver::Toi(toi.0)).map(|v| {
                v.into_iter()
                    .map(|m| MissingBlock {
                        sbn: m.sbn,
                        source_symbols: m.source_symbols,
                        untouched: m.untouched,
                        missing_esis: m.missing_esis,
                    })
                    .collect()
            }))
        })
    }

    /// Counters over all sessions (`ReceiverStats`).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<ReceiverStats> {
        let st = self
            .state
            .with(py, |s| Ok(s.core.as_ref().ok_or_else(closed)?.stats()))?;
        let dropped = PyDict::new(py);
        for (reason, n) in &st.total.dropped {
            dropped.set_item(snake(&format!("{reason:?}")), n)?;
        }
        Ok(ReceiverStats {
            datagrams: st.total.datagrams,
            bytes: st.total.bytes,
            symbols_accepted: st.total.symbols_accepted,
            dropped: dropped.unbind(),
            dropped_total: st.total.dropped_total(),
            buffered: st.total.buffered,
            fdt_instances: st.total.fdt_instances,
            blocks_decoded: st.total.blocks_decoded,
            objects_completed: st.total.objects_completed,
            objects_failed: st.total.objects_failed,
            buffered_bytes: st.buffered_bytes,
            pending_bytes: st.pending_bytes,
            active_objects: st.active_objects,
            sessions: st.sessions.len(),
        })
    }

    /// Feeds the capture file `path` (pcap or pcapng; IP fragments are reassembled) into
    /// this receiver on the capture's own clock; `port` keeps only datagrams sent to that
    /// UDP port. The GIL is released while it runs. Returns a dict of counters
    /// (`datagrams`, `bytes`, `frames`, `not_udp`, `fragments`, `reassembled`,
    /// `reassembly_failed`, `malformed`).
    #[pyo3(signature = (path, *, port = None))]
    fn run_pcap<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        port: Option<Int<u16>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let r = self.state.with(py, |s| {
            if let Some(w) = &s.wall {
                w.set(s.clock.wall(Instant::now()));
            }
            let core = s.core.as_mut().ok_or_else(closed)?;
            io::pcap_to_receiver(py, core, &mut s.backlog, &path, port.map(|p| p.0))
        })?;
        received_dict(py, &r)
    }

    /// Receives from a UDP socket bound to `listen` (`"ip:port"`; a multicast group is
    /// joined, source-specifically with `source`) until a session ends
    /// (`until_closed`), `max_objects` objects completed or failed, or `timeout` seconds
    /// passed. The GIL is released while it runs. Returns a dict of counters.
    #[pyo3(signature = (listen, *, source = None, interface = None, timeout = None, max_objects = None, until_closed = true))]
    #[allow(clippy::too_many_arguments)]
    fn run_udp<'py>(
        &self,
        py: Python<'py>,
        listen: &str,
        source: Option<&str>,
        interface: Option<String>,
        timeout: Option<f64>,
        max_objects: Option<Int<u64>>,
        until_closed: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let listen = socket_addr("listen", listen)?;
        let source = source.map(|s| ip_addr("source", s)).transpose()?;
        let until = io::Until {
            session_closed: until_closed,
            objects: max_objects.map(|n| n.0),
            timeout: timeout.map(|t| seconds("timeout", t)).transpose()?,
        };
        if !until.session_closed && until.objects.is_none() && until.timeout.is_none() {
            return Err(crate::errors::invalid(
                "run_udp needs a stop condition: until_closed, max_objects or timeout",
            ));
        }
        let opts = UdpOptions {
            interface,
            ..UdpOptions::default()
        };
        let r = self.state.with(py, |s| {
            if let Some(w) = &s.wall {
                w.set(s.clock.wall(Instant::now()));
            }
            let core = s.core.as_mut().ok_or_else(closed)?;
            io::udp_to_receiver(py, core, &mut s.backlog, listen, source, &opts, until)
        })?;
        received_dict(py, &r)
    }

    /// Ends the receiver: objects still incomplete are dropped (their partial files
    /// removed), pending events stay readable through `events()`, and any later `push`
    /// raises `SessionClosedError`. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.state.with(py, |s| {
            if let Some(mut core) = s.core.take() {
                while let Some(ev) = core.poll_event() {
                    s.backlog.push(ev);
                }
            }
            Ok(())
        })
    }

    /// True after `close()`.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        self.state.with(py, |s| Ok(s.core.is_none()))
    }

    /// The current time on this receiver's clock, in seconds.
    #[getter]
    fn time(&self, py: Python<'_>) -> PyResult<f64> {
        self.state.with(py, |s| Ok(s.clock.secs(Instant::now())))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.state.with(py, |s| {
            Ok(match &s.core {
                None => "Receiver(closed)".to_owned(),
                Some(c) => {
                    let st = c.stats();
                    format!(
                        "Receiver(sessions={}, datagrams={}, objects_completed={})",
                        st.sessions.len(),
                        st.total.datagrams,
                        st.total.objects_completed
                    )
                }
            })
        })
    }
}

/// A source block of an object that is not decoded yet (`Receiver.missing()`).
#[pyclass(module = "flute_rs", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct MissingBlock {
    /// Source Block Number.
    pub(crate) sbn: u32,
    /// Source symbols k of the block.
    pub(crate) source_symbols: u32,
    /// Nothing of the block was received (every ESI in 0..k is missing, none is listed).
    pub(crate) untouched: bool,
    /// Source ESIs not received.
    pub(crate) missing_esis: Vec<u32>,
}

#[pymethods]
impl MissingBlock {
    fn __repr__(&self) -> String {
        format!(
            "MissingBlock(sbn={}, source_symbols={}, untouched={}, missing_esis={:?})",
            self.sbn, self.source_symbols, self.untouched, self.missing_esis
        )
    }
}

/// Counters of a `Receiver`, over all its sessions (ended ones included).
#[pyclass(module = "flute_rs", frozen, get_all)]
pub(crate) struct ReceiverStats {
    /// Datagrams handed in.
    pub(crate) datagrams: u64,
    /// Bytes handed in.
    pub(crate) bytes: u64,
    /// Symbols accepted by a decoder.
    pub(crate) symbols_accepted: u64,
    /// Datagrams or symbols not used, by reason (`"malformed"`, `"duplicate_symbol"`, ...).
    pub(crate) dropped: Py<PyDict>,
    /// Sum of `dropped`.
    pub(crate) dropped_total: u64,
    /// Datagrams buffered while waiting for their FDT or OTI.
    pub(crate) buffered: u64,
    /// FDT Instances accepted.
    pub(crate) fdt_instances: u64,
    /// Source blocks decoded.
    pub(crate) blocks_decoded: u64,
    /// Objects delivered.
    pub(crate) objects_completed: u64,
    /// Objects failed.
    pub(crate) objects_failed: u64,
    /// Bytes now held in undecoded blocks.
    pub(crate) buffered_bytes: u64,
    /// Bytes of datagrams now waiting for their FDT or OTI.
    pub(crate) pending_bytes: u64,
    /// Objects being received now.
    pub(crate) active_objects: usize,
    /// Live sessions.
    pub(crate) sessions: usize,
}

#[pymethods]
impl ReceiverStats {
    fn __repr__(&self) -> String {
        format!(
            "ReceiverStats(datagrams={}, bytes={}, objects_completed={}, objects_failed={}, dropped_total={})",
            self.datagrams,
            self.bytes,
            self.objects_completed,
            self.objects_failed,
            self.dropped_total
        )
    }
}

fn received_dict<'py>(py: Python<'py>, r: &io::Received) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("datagrams", r.datagrams)?;
    d.set_item("bytes", r.bytes)?;
    d.set_item("frames", r.frames)?;
    d.set_item("not_udp", r.not_udp)?;
    d.set_item("fragments", r.fragments)?;
    d.set_item("reassembled", r.reassembled)?;
    d.set_item("reassembly_failed", r.reassembly_failed)?;
    d.set_item("malformed", r.malformed)?;
    Ok(d)
}
