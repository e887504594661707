//! `flute_rs.Sender`: the sans-IO `flute_sender::Sender` with time in seconds.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;

use flute_io::UdpOptions;
use std::sync::Arc;

use bytes::Bytes;
use flute_sender::{
    AnchoredClock, Carousel, FdtCarousel, FdtMode, FtiMode, Object, Pacing, PacingUnit, Profile,
    ReadSeekSource, Repair, Sender, SenderConfig, Toi, Tsi,
};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};

use crate::args::{Int, content_encoding, socket_addr};
use crate::errors::{invalid, send_error};
use crate::events::from_sender;
use crate::fec::{FecKind, PyOti, REGISTRY, check};
use crate::guarded::Guarded;
use crate::io;
use crate::time::{Clock, seconds};

/// The state behind a `flute_rs.Sender`.
pub(crate) struct SenderState {
    pub(crate) core: Sender,
    pub(crate) clock: Clock,
    buf: Vec<u8>,
    default_fec: Option<FecKind>,
}

/// A FLUTE sender (RFC 6726): objects in, ALC/LCT datagrams out, with an FDT carousel,
/// every FEC scheme of the toolkit, priorities, carousels, pacing and content encoding.
///
/// It does no I/O: `read()` / `read_many(n)` return the datagrams, and the caller sends
/// them (or use `run_pcap()` / `run_udp()`). Every method that depends on time takes
/// `now`: seconds on this sender's clock (0.0 when it was created); `None` means the real
/// monotonic time.
#[pyclass(module = "flute_rs", name = "Sender", frozen)]
pub(crate) struct PySender {
    pub(crate) state: Guarded<SenderState>,
}

fn profile(name: &str) -> PyResult<Profile> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "rfc6726" => Profile::Rfc6726,
        "rfc3926" => Profile::Rfc3926,
        "mbms" | "3gpp" => Profile::Mbms,
        other => {
            return Err(invalid(format!(
                "unknown profile {other:?} (expected \"rfc6726\", \"rfc3926\" or \"mbms\")"
            )));
        }
    })
}

fn fdt_mode(name: &str) -> PyResult<FdtMode> {
    Ok(match name {
        "full" => FdtMode::Full,
        "per_object" => FdtMode::PerObject,
        other => {
            return Err(invalid(format!(
                "unknown fdt_mode {other:?} (expected \"full\" or \"per_object\")"
            )));
        }
    })
}

fn fti_mode(name: &str) -> PyResult<FtiMode> {
    Ok(match name {
        "always" => FtiMode::Always,
        "first_symbol_of_block" => FtiMode::FirstSymbolOfBlock,
        "never" => FtiMode::Never,
        other => {
            return Err(invalid(format!(
                "unknown fti {other:?} (expected \"always\", \"first_symbol_of_block\" or \"never\")"
            )));
        }
    })
}

/// Options of one object, shared by `insert` and `insert_file`.
struct ObjectOptions<'a> {
    content_type: Option<String>,
    toi: Option<Int<u128>>,
    oti: Option<PyRef<'a, PyOti>>,
    repair: Option<Int<u32>>,
    repair_percent: Option<Int<u32>>,
    content_encoding: Option<String>,
    content_md5: bool,
    priority: Int<u8>,
    carousel: Int<u32>,
    carousel_interval: f64,
    until_removed: bool,
    interleave: Int<u32>,
    etag: Option<String>,
    groups: Option<Vec<String>>,
}

impl ObjectOptions<'_> {
    fn apply(self, mut obj: Object, default_fec: Option<FecKind>) -> PyResult<Object> {
        if let Some(ct) = self.content_type {
            obj = obj.content_type(ct);
        }
        if let Some(t) = self.toi {
            obj = obj.toi(Toi(t.0));
        }
        if let Some(kind) = self.oti.map(|o| o.kind).or(default_fec) {
            obj = obj.fec_with(move |len| kind.oti_for(len));
        }
        obj = match (self.repair, self.repair_percent) {
            (Some(_), Some(_)) => {
                return Err(invalid("give repair or repair_percent, not both"));
            }
            (Some(n), None) => obj.repair(Repair::Count(n.0)),
            (None, Some(p)) => obj.repair(Repair::Percent(p.0)),
            (None, None) => obj,
        };
        obj = obj
            .content_encoding(content_encoding(self.content_encoding.as_deref())?)
            .content_md5(self.content_md5)
            .priority(self.priority.0);
        let interval = seconds("carousel_interval", self.carousel_interval)?;
        obj = obj.carousel(if self.until_removed {
            Carousel::UntilRemoved { interval }
        } else {
            if self.carousel.0 == 0 {
                return Err(invalid("carousel must be at least 1 pass"));
            }
            Carousel::Times {
                times: self.carousel.0,
                interval,
            }
        });
        if self.interleave.0 == 0 {
            return Err(invalid("interleave must be at least 1"));
        }
        obj = obj.interleave(self.interleave.0);
        if let Some(e) = self.etag {
            obj = obj.etag(e);
        }
        for g in self.groups.unwrap_or_default() {
            obj = obj.group(g);
        }
        Ok(obj)
    }
}

impl SenderState {
    fn insert(&mut self, obj: Object, opts: ObjectOptions<'_>, now: Option<f64>) -> PyResult<u128> {
        let now = self.clock.at(now)?;
        let obj = opts.apply(obj, self.default_fec)?;
        self.core
            .insert_object(obj, now)
            .map(|t| t.0)
            .map_err(send_error)
    }

    fn next<'py>(
        &mut self,
        py: Python<'py>,
        now: std::time::Instant,
    ) -> Option<Bound<'py, PyBytes>> {
        let t = self.core.poll_transmit(now, &mut self.buf)?;
        Some(PyBytes::new(py, &self.buf[..t.len]))
    }
}

#[pymethods]
impl PySender {
    /// A sender for session `tsi` (Transport Session Identifier, up to 48 bits).
    ///
    /// - `oti`: default FEC of objects (default: `Oti.no_code(1400, 64)`).
    /// - `profile`: `"rfc6726"` (FLUTE v2), `"rfc3926"` (FLUTE v1) or `"mbms"` (3GPP TS 26.346).
    /// - `max_datagram_size`: largest datagram written (default 1472).
    /// - `fdt_mode`: `"full"` (every FDT Instance lists every object) or `"per_object"`.
    /// - `fdt_interval`: seconds between FDT repetitions, `None` to send each once.
    /// - `fdt_expires`: seconds an FDT Instance stays valid.
    /// - `fdt_oti`: FEC of the FDT itself (No-Code or Reed-Solomon; default No-Code).
    /// - `fdt_content_encoding`: `None`, `"zlib"`, `"deflate"` or `"gzip"` (EXT_CENC).
    /// - `fdt_ext_time`: carry EXT_TIME (sender current time) on FDT packets.
    /// - `fti`: where EXT_FTI goes: `"always"`, `"first_symbol_of_block"` or `"never"`.
    /// - `pacing_bps`: target rate in bits per second on the wire (`None`: as fast as read).
    /// - `objects_per_queue`: objects of one priority sent at the same time.
    /// - `first_fdt_instance_id`: FDT Instance ID of the first instance (20 bits).
    /// - `wall_time`: wall-clock time of time 0.0 in seconds since the Unix epoch, for FDT
    ///   `Expires` and EXT_TIME (default: the system clock).
    #[new]
    #[pyo3(signature = (
        tsi = Int(1), *, oti = None, profile = "rfc6726", max_datagram_size = Int(1472),
        fdt_mode = "full", fdt_interval = Some(1.0), fdt_expires = 3600.0, fdt_oti = None,
        fdt_content_encoding = None, fdt_ext_time = false, fti = "always", pacing_bps = None,
        pacing_burst_bytes = Int(15_000), objects_per_queue = Int(1),
        first_fdt_instance_id = Int(0), wall_time = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        tsi: Int<u64>,
        oti: Option<PyRef<'_, PyOti>>,
        profile: &str,
        max_datagram_size: Int<usize>,
        fdt_mode: &str,
        fdt_interval: Option<f64>,
        fdt_expires: f64,
        fdt_oti: Option<PyRef<'_, PyOti>>,
        fdt_content_encoding: Option<&str>,
        fdt_ext_time: bool,
        fti: &str,
        pacing_bps: Option<Int<u64>>,
        pacing_burst_bytes: Int<u64>,
        objects_per_queue: Int<usize>,
        first_fdt_instance_id: Int<u32>,
        wall_time: Option<f64>,
    ) -> PyResult<Self> {
        let clock = Clock::new(wall_time)?;
        let wall = Arc::new(AnchoredClock::new(clock.origin(), clock.wall_origin()));
        let mut cfg = SenderConfig::new(Tsi(tsi.0), wall);
        cfg.registry = REGISTRY.clone();
        cfg.profile = self::profile(profile)?;
        if !(64..=65_535).contains(&max_datagram_size.0) {
            return Err(invalid("max_datagram_size must be between 64 and 65535"));
        }
        cfg.max_datagram_size = max_datagram_size.0;
        cfg.fdt_mode = self::fdt_mode(fdt_mode)?;
        cfg.fdt_carousel = FdtCarousel {
            interval: fdt_interval
                .map(|s| seconds("fdt_interval", s))
                .transpose()?,
            expires_after: seconds("fdt_expires", fdt_expires)?,
        };
        if let Some(o) = fdt_oti {
            match o.kind {
                FecKind::Raptor { .. } | FecKind::RaptorQ { .. } => {
                    return Err(invalid(
                        "fdt_oti must be No-Code or Reed-Solomon (an FDT is small)",
                    ));
                }
                kind => {
                    let oti = kind.oti_for(0);
                    check(&kind.oti_for(u64::from(kind.symbol_length())))?;
                    cfg.fdt_fec = Some(oti);
                }
            }
        }
        cfg.fdt_encoding = content_encoding(fdt_content_encoding)?;
        cfg.fdt_ext_time = fdt_ext_time;
        cfg.fti = fti_mode(fti)?;
        cfg.pacing = pacing_bps.map(|bps| Pacing {
            bits_per_second: bps.0,
            burst_bytes: pacing_burst_bytes.0,
            unit: PacingUnit::Wire,
            overhead: 28,
        });
        if objects_per_queue.0 == 0 {
            return Err(invalid("objects_per_queue must be at least 1"));
        }
        cfg.objects_per_queue = objects_per_queue.0;
        cfg.first_fdt_instance_id = first_fdt_instance_id.0;
        let buf = vec![0; cfg.max_datagram_size];
        let core = crate::guarded::guard(|| Sender::new(cfg).map_err(send_error))?;
        Ok(Self {
            state: Guarded::new(SenderState {
                core,
                clock,
                buf,
                default_fec: oti.map(|o| o.kind),
            }),
        })
    }

    /// Adds an object held in memory (`bytes` are shared, not copied) and returns its TOI.
    ///
    /// - `content_location`: FDT `Content-Location` (a URI or a relative path).
    /// - `content_type`: FDT `Content-Type`.
    /// - `toi`: use this TOI (1 .. 2^112) instead of the next free one.
    /// - `oti`: FEC of this object (default: the sender's).
    /// - `repair` / `repair_percent`: repair symbols per source block, as a count or a
    ///   percentage of the block's source symbols (FEC schemes other than No-Code).
    /// - `content_encoding`: `None`, `"zlib"`, `"deflate"`, `"gzip"` or `"zstd"`.
    /// - `content_md5`: publish Content-MD5.
    /// - `priority`: higher values pre-empt lower ones (0..255).
    /// - `carousel`: number of passes; `until_removed=True` repeats until `remove()` or
    ///   `close()`; `carousel_interval`: seconds between the starts of two passes.
    /// - `interleave`: number of source blocks sent interleaved.
    /// - `etag`, `groups`: 3GPP `File-ETag` and `Group` (profile `"mbms"`).
    #[pyo3(signature = (
        data, content_location, *, content_type = None, toi = None, oti = None, repair = None,
        repair_percent = None, content_encoding = None, content_md5 = false, priority = Int(0),
        carousel = Int(1), carousel_interval = 0.0, until_removed = false, interleave = Int(1),
        etag = None, groups = None, now = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &self,
        py: Python<'_>,
        data: PyBackedBytes,
        content_location: String,
        content_type: Option<String>,
        toi: Option<Int<u128>>,
        oti: Option<PyRef<'_, PyOti>>,
        repair: Option<Int<u32>>,
        repair_percent: Option<Int<u32>>,
        content_encoding: Option<String>,
        content_md5: bool,
        priority: Int<u8>,
        carousel: Int<u32>,
        carousel_interval: f64,
        until_removed: bool,
        interleave: Int<u32>,
        etag: Option<String>,
        groups: Option<Vec<String>>,
        now: Option<f64>,
    ) -> PyResult<u128> {
        let opts = ObjectOptions {
            content_type,
            toi,
            oti,
            repair,
            repair_percent,
            content_encoding,
            content_md5,
            priority,
            carousel,
            carousel_interval,
            until_removed,
            interleave,
            etag,
            groups,
        };
        let obj = Object::from_bytes(content_location, Bytes::from_owner(data));
        self.state.with(py, |s| s.insert(obj, opts, now))
    }

    /// Adds a file, read block by block while it is sent (never loaded whole unless a
    /// content encoding is asked for), and returns its TOI. `content_location` defaults to
    /// the file name. The other options are those of `insert()`.
    #[pyo3(signature = (
        path, content_location = None, *, content_type = None, toi = None, oti = None,
        repair = None, repair_percent = None, content_encoding = None, content_md5 = false,
        priority = Int(0), carousel = Int(1), carousel_interval = 0.0, until_removed = false,
        interleave = Int(1), etag = None, groups = None, now = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn insert_file(
        &self,
        py: Python<'_>,
        path: PathBuf,
        content_location: Option<String>,
        content_type: Option<String>,
        toi: Option<Int<u128>>,
        oti: Option<PyRef<'_, PyOti>>,
        repair: Option<Int<u32>>,
        repair_percent: Option<Int<u32>>,
        content_encoding: Option<String>,
        content_md5: bool,
        priority: Int<u8>,
        carousel: Int<u32>,
        carousel_interval: f64,
        until_removed: bool,
        interleave: Int<u32>,
        etag: Option<String>,
        groups: Option<Vec<String>>,
        now: Option<f64>,
    ) -> PyResult<u128> {
        let opts = ObjectOptions {
            content_type,
            toi,
            oti,
            repair,
            repair_percent,
            content_encoding,
            content_md5,
            priority,
            carousel,
            carousel_interval,
            until_removed,
            interleave,
            etag,
            groups,
        };
        let location = match content_location {
            Some(l) => l,
            None => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| invalid(format!("{} has no file name", path.display())))?,
        };
        let file = File::open(&path)?;
        let source = ReadSeekSource::new(file)?;
        let obj = Object::from_source(location, Box::new(source));
        self.state.with(py, |s| s.insert(obj, opts, now))
    }

    /// Removes an object at once (it leaves the FDT; no more of its packets are sent).
    /// Raises `UnknownObjectError` (a `KeyError`) for an unknown TOI.
    fn remove(&self, py: Python<'_>, toi: Int<u128>) -> PyResult<()> {
        self.state
            .with(py, |s| s.core.remove_object(Toi(toi.0)).map_err(send_error))
    }

    /// Closes the session: no new objects (`insert` raises `SessionClosedError`); what is
    /// queued is still sent, the FDT says `Complete="true"`, and the last packet carries
    /// the close-session flag. `read()` returns `None` once everything is out.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.state.with(py, |s| {
            s.core.close();
            Ok(())
        })
    }

    /// True once the close-session packet has been read.
    #[getter]
    fn closed(&self, py: Python<'_>) -> PyResult<bool> {
        self.state.with(py, |s| Ok(s.core.is_closed()))
    }

    /// The next datagram due at `now`, or `None` (nothing due: idle, waiting for a
    /// carousel or pacing timer, see `poll_timeout()`, or closed).
    #[pyo3(signature = (now = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        now: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        self.state.with(py, |s| {
            let now = s.clock.at(now)?;
            Ok(s.next(py, now))
        })
    }

    /// Up to `n` datagrams due at `now`, as a list of `bytes` (shorter, possibly empty,
    /// when fewer are due).
    #[pyo3(signature = (n, now = None))]
    fn read_many<'py>(
        &self,
        py: Python<'py>,
        n: Int<usize>,
        now: Option<f64>,
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        self.state.with(py, |s| {
            let now = s.clock.at(now)?;
            for _ in 0..n.0 {
                match s.next(py, now) {
                    Some(d) => list.append(d)?,
                    None => break,
                }
            }
            Ok(())
        })?;
        Ok(list)
    }

    /// When `handle_timeout()` or `read()` should be called next, in seconds on this
    /// sender's clock (carousel repetitions, pacing), or `None` when nothing is scheduled.
    fn poll_timeout(&self, py: Python<'_>) -> PyResult<Option<f64>> {
        self.state
            .with(py, |s| Ok(s.core.poll_timeout().map(|t| s.clock.secs(t))))
    }

    /// Processes the timers due at `now` (carousel repetitions, FDT refresh).
    #[pyo3(signature = (now = None))]
    fn handle_timeout(&self, py: Python<'_>, now: Option<f64>) -> PyResult<()> {
        self.state.with(py, |s| {
            let now = s.clock.at(now)?;
            s.core.handle_timeout(now);
            Ok(())
        })
    }

    /// The events since the last call, oldest first (`SenderEvent` subclasses).
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        self.state.with(py, |s| {
            while let Some(ev) = s.core.poll_event() {
                if let Some(obj) = from_sender(py, ev)? {
                    list.append(obj)?;
                }
            }
            Ok(())
        })?;
        Ok(list)
    }

    /// Counters (`SenderStats`).
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<SenderStats> {
        self.state.with(py, |s| {
            let st = s.core.stats();
            Ok(SenderStats {
                packets: st.packets,
                bytes: st.bytes,
                fdt_packets: st.fdt_packets,
                fdt_instances: st.fdt_instances,
                source_symbols: st.source_symbols,
                repair_symbols: st.repair_symbols,
                objects_sent: st.objects_sent,
                objects_failed: st.objects_failed,
                paced: st.paced,
                fdt_errors: st.fdt_errors,
            })
        })
    }

    /// Closes the session and writes all of it to the capture file `path` (pcap), on a
    /// virtual clock: pacing and carousel intervals become packet timestamps, not waits.
    /// The GIL is released while it runs. Returns `(datagrams, bytes)`.
    #[pyo3(signature = (path, *, destination = "224.0.0.1:3400", source = None))]
    fn run_pcap(
        &self,
        py: Python<'_>,
        path: PathBuf,
        destination: &str,
        source: Option<&str>,
    ) -> PyResult<(u64, u64)> {
        let dst = socket_addr("destination", destination)?;
        let src = match source {
            Some(s) => socket_addr("source", s)?,
            None => match dst.ip() {
                std::net::IpAddr::V4(_) => SocketAddr::from(([127, 0, 0, 1], 40_000)),
                std::net::IpAddr::V6(_) => SocketAddr::from(([0, 0, 0, 0, 0, 0, 0, 1], 40_000)),
            },
        };
        if src.is_ipv4() != dst.is_ipv4() {
            return Err(invalid(
                "source and destination must be of the same IP family",
            ));
        }
        let moved = self
            .state
            .with(py, |s| io::sender_to_pcap(py, &mut s.core, &path, src, dst))?;
        Ok((moved.datagrams, moved.bytes))
    }

    /// Closes the session and sends all of it to `destination` (`"ip:port"`, unicast or
    /// multicast) over UDP on the real clock, paced if the sender has `pacing_bps`. The GIL
    /// is released while it runs; `timeout` (seconds) stops it early. Returns
    /// `(datagrams, bytes)`.
    #[pyo3(signature = (destination, *, bind = None, interface = None, ttl = Int(1), multicast_loop = true, timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn run_udp(
        &self,
        py: Python<'_>,
        destination: &str,
        bind: Option<&str>,
        interface: Option<String>,
        ttl: Int<u32>,
        multicast_loop: bool,
        timeout: Option<f64>,
    ) -> PyResult<(u64, u64)> {
        let dst = socket_addr("destination", destination)?;
        let bind = bind.map(|b| socket_addr("bind", b)).transpose()?;
        let timeout = timeout.map(|t| seconds("timeout", t)).transpose()?;
        let opts = UdpOptions {
            interface,
            ttl: ttl.0,
            multicast_loop,
            ..UdpOptions::default()
        };
        let moved = self.state.with(py, |s| {
            io::sender_to_udp(py, &mut s.core, dst, bind, &opts, timeout)
        })?;
        Ok((moved.datagrams, moved.bytes))
    }

    /// The current time on this sender's clock, in seconds.
    #[getter]
    fn time(&self, py: Python<'_>) -> PyResult<f64> {
        self.state
            .with(py, |s| Ok(s.clock.secs(std::time::Instant::now())))
    }

    /// The Transport Session Identifier.
    #[getter]
    fn tsi(&self, py: Python<'_>) -> PyResult<u64> {
        self.state.with(py, |s| Ok(s.core.config().tsi.0))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.state.with(py, |s| {
            let st = s.core.stats();
            Ok(format!(
                "Sender(tsi={}, packets={}, closed={})",
                s.core.config().tsi.0,
                st.packets,
                s.core.is_closed()
            ))
        })
    }
}

/// Counters of a `Sender`.
#[pyclass(module = "flute_rs", frozen, get_all)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct SenderStats {
    /// Datagrams written.
    pub(crate) packets: u64,
    /// Bytes written.
    pub(crate) bytes: u64,
    /// FDT packets among them.
    pub(crate) fdt_packets: u64,
    /// FDT Instances built.
    pub(crate) fdt_instances: u64,
    /// Source symbols sent.
    pub(crate) source_symbols: u64,
    /// Repair symbols sent.
    pub(crate) repair_symbols: u64,
    /// Objects completely sent.
    pub(crate) objects_sent: u64,
    /// Objects dropped after a read error.
    pub(crate) objects_failed: u64,
    /// Times a packet was held back by pacing.
    pub(crate) paced: u64,
    /// FDT Instances that could not be built.
    pub(crate) fdt_errors: u64,
}

#[pymethods]
impl SenderStats {
    fn __repr__(&self) -> String {
        format!(
            "SenderStats(packets={}, bytes={}, fdt_packets={}, source_symbols={}, repair_symbols={}, objects_sent={})",
            self.packets,
            self.bytes,
            self.fdt_packets,
            self.source_symbols,
            self.repair_symbols,
            self.objects_sent
        )
    }
}
