//! The receiver state machine.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use fec_schemes::{FecEncodingId, FecScheme, Oti};

use crate::assembly::{Assembly, Budget, MissingBlock, Pushed};
use crate::config::ReceiverConfig;
use crate::fdt_model::{FdtLimits, fdt_file_oti, parse_fdt};
use crate::liveness::{Liveness, Standing, pick_victim};
use alc::AlcParser;
use fdt::File as FdtFile;
use lct_header::{ContentEncoding, Toi, Tsi};

use crate::packet::{self, LctView};
use crate::pipeline::{Pipeline, supported_encoding};
use crate::sink::{MemorySink, ObjectLocation, ObjectMeta, ObjectSink};
use crate::stats::{DropReason, SessionStats};

/// Where a datagram came from and was sent to. Part of the session key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// Source address, if known (source-specific multicast).
    pub source: Option<IpAddr>,
    /// Destination address and port.
    pub destination: SocketAddr,
}

impl Default for Endpoint {
    fn default() -> Self {
        Self {
            source: None,
            destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        }
    }
}

/// A FLUTE session: an endpoint and a Transport Session Identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Transport Session Identifier.
    pub tsi: Tsi,
}

/// Why an object was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailReason {
    /// The content could not be decoded per its Content-Encoding.
    #[error("content decoding failed: {0}")]
    ContentDecoding(String),
    /// Content-Length does not match the delivered content.
    #[error("Content-Length {expected} but {actual} bytes of content")]
    ContentLengthMismatch {
        /// From the FDT.
        expected: u64,
        /// Delivered.
        actual: u64,
    },
    /// The OTI is invalid for its scheme or no scheme is registered for it.
    #[error("invalid or unsupported OTI")]
    InvalidOti,
    /// Content-MD5 does not match.
    #[error("Content-MD5 mismatch")]
    Md5Mismatch,
    /// The object was received but no FDT entry described it before the timeout.
    #[error("no FDT entry for the object")]
    NoFdtEntry,
    /// The session ended (close-session or idle) before the object was complete.
    #[error("session closed before the object was complete")]
    SessionClosed,
    /// The sink refused the object or failed.
    #[error("sink: {0}")]
    Sink(crate::SinkError),
    /// No packet of the object (and no FDT instance listing it) arrived within the object
    /// idle timeout, and no block of it had been decoded; or, for an object that had
    /// decoded blocks and was kept for the sender's next round, its session ended.
    #[error("timed out with {missing_blocks} source blocks not decodable")]
    Timeout {
        /// Blocks still not decoded.
        missing_blocks: u64,
    },
    /// Evicted from a full object table (or with its evicted session) to make room for a
    /// new object or session ([`ReceiverConfig::max_concurrent_objects`],
    /// [`ReceiverConfig::max_sessions`]).
    #[error("evicted to make room ({})", if *made_progress { "stalled" } else { "no symbol accepted" })]
    Evicted {
        /// Whether any symbol of the object had been accepted. Objects that made no
        /// progress are typically junk (a flood of TOIs) and not worth listing.
        made_progress: bool,
    },
    /// Transfer length or content larger than `max_object_size`.
    #[error("object larger than max_object_size")]
    TooLarge,
    /// The FDT and EXT_FTI disagree on the transfer length (catalogue item 54).
    #[error("transfer length {fdt} in the FDT, {fti} in EXT_FTI")]
    TransferLengthMismatch {
        /// From the FDT.
        fdt: u64,
        /// From EXT_FTI.
        fti: u64,
    },
    /// The Content-Encoding is not supported.
    #[error("unsupported Content-Encoding {0:?}")]
    UnsupportedContentEncoding(String),
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The sender set the A flag (close session, RFC 5651 §5.1).
    CloseSession,
    /// No datagram within the session idle timeout.
    Idle,
    /// Evicted from a full session table to make room for a new session
    /// ([`ReceiverConfig::max_sessions`]). The session is not remembered as closed: its
    /// packets may open it again.
    Evicted,
}

/// What the receiver reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReceiverEvent {
    /// An FDT instance was accepted.
    FdtReceived {
        /// Session.
        session: SessionId,
        /// FDT Instance ID.
        instance_id: u32,
        /// Number of `File` entries.
        files: usize,
        /// The `Complete` attribute.
        complete: bool,
    },
    /// The receiver started assembling an object.
    ObjectStarted {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Transfer length from the OTI.
        transfer_length: u64,
        /// Content-Location, if the FDT entry is known already.
        content_location: Option<String>,
    },
    /// A source block of an object was decoded.
    Progress {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Blocks decoded so far.
        blocks_decoded: u64,
        /// Blocks in the object.
        blocks_total: u64,
    },
    /// An object was delivered complete and verified.
    ObjectComplete {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Content-Location.
        content_location: String,
        /// Where the sink put it.
        location: ObjectLocation,
        /// Length of the content after content decoding.
        content_length: u64,
    },
    /// An object failed; nothing was delivered.
    ObjectFailed {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Why.
        reason: FailReason,
    },
    /// A session ended.
    SessionClosed {
        /// Session.
        session: SessionId,
        /// Why.
        reason: CloseReason,
    },
    /// An object ended incomplete and is kept for file repair (only with
    /// [`ReceiverConfig::repair_max_objects`] > 0): ask for the missing symbols with
    /// [`Receiver::repair_request`], feed the answer to [`Receiver::handle_repair_symbols`]
    /// (or give up with [`Receiver::abandon_repair`]). It ends later in `ObjectComplete` or
    /// `ObjectFailed`.
    ObjectIncomplete {
        /// Session.
        session: SessionId,
        /// TOI.
        toi: Toi,
        /// Content-Location (the repair query's `fileURI`).
        content_location: String,
        /// Why it ended incomplete.
        reason: FailReason,
    },
}

/// Counters of the receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Everything, including datagrams that could not be attributed to a session and
    /// sessions that have ended.
    pub total: SessionStats,
    /// Live sessions.
    pub sessions: BTreeMap<SessionId, SessionStats>,
    /// Bytes currently held in undecoded or not-yet-written blocks.
    pub buffered_bytes: u64,
    /// Bytes of datagrams currently waiting for their FDT entry or OTI.
    pub pending_bytes: u64,
    /// Objects currently being received.
    pub active_objects: usize,
    /// Sessions evicted from the full session table ([`CloseReason::Evicted`]).
    pub sessions_evicted: u64,
}

struct Ctx {
    /// The ALC parser (FLUTE header rules on), over the configuration's registry.
    parser: AlcParser,
    sink: Box<dyn ObjectSink>,
    events: VecDeque<ReceiverEvent>,
    budget: Budget,
    pending_bytes: u64,
    objects: usize,
    unattributed: SessionStats,
    retired: SessionStats,
    sessions_evicted: u64,
    /// Objects kept for file repair (`crate::repair`).
    repair: crate::repair::Parked,
}

struct ObjectState {
    asm: Assembly,
    file: Option<Arc<FdtFile>>,
    pipeline: Option<Pipeline>,
    live: Liveness,
    /// Timed out with decoded blocks: the undecoded blocks were released, the decoded ones
    /// are kept for the sender's next round of the same TOI (issue 13 §1). No timer runs.
    dormant: bool,
    sender_closed: bool,
    /// The EXT_FTI bytes last checked against `asm.oti`: a packet carrying the same bytes
    /// needs no second parse (every packet may carry EXT_FTI).
    fti_seen: Option<Box<[u8]>>,
}

struct FdtAsm {
    asm: Assembly,
    cenc: Option<ContentEncoding>,
    buf: Vec<u8>,
    last: Instant,
}

/// What a buffered datagram waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingKey {
    /// The OTI (EXT_FTI) of FDT Instance `id`.
    Fdt(u32),
    /// The FDT entry or OTI of the object with this TOI.
    Object(u128),
}

struct Pending {
    key: PendingKey,
    at: Instant,
    data: Bytes,
    /// The packet as `alc` parsed it on arrival (not parsed again on replay).
    view: packet::DetachedView,
}

struct Session {
    id: SessionId,
    stats: SessionStats,
    live: Liveness,
    closing_at: Option<Instant>,
    files: HashMap<u128, Arc<FdtFile>>,
    current_fdt: Option<u32>,
    /// TOIs listed by the current FDT instance: its repetitions keep those objects alive.
    listed: HashSet<u128>,
    fdt_complete: bool,
    fdt_asm: HashMap<u32, FdtAsm>,
    fdt_seen: VecDeque<u32>,
    objects: HashMap<u128, ObjectState>,
    finished: HashSet<u128>,
    finished_order: VecDeque<u128>,
    pending: VecDeque<Pending>,
    /// The repair servers the newest FDT instance announced (`crate::repair`).
    post_file_repair: Option<flute_repair::PostFileRepair>,
}

const MAX_FDT_ASSEMBLIES: usize = 8;
const FDT_SEEN_MEMORY: usize = 64;

/// The FLUTE receiver. See the crate documentation.
pub struct Receiver {
    cfg: ReceiverConfig,
    ctx: Ctx,
    sessions: HashMap<SessionId, Session>,
    tombstones: HashMap<SessionId, Instant>,
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("sessions", &self.sessions.len())
            .field("objects", &self.ctx.objects)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// A receiver delivering objects in memory ([`MemorySink`]).
    pub fn new(config: ReceiverConfig) -> Self {
        Self::with_sink(config, Box::new(MemorySink))
    }

    /// A receiver delivering objects to `sink`.
    pub fn with_sink(config: ReceiverConfig, sink: Box<dyn ObjectSink>) -> Self {
        let budget = Budget {
            used: 0,
            max: config.max_buffered_bytes,
        };
        let parser = AlcParser::new(Arc::clone(&config.registry)).flute(true);
        let repair = crate::repair::Parked::new(&config);
        Self {
            cfg: config,
            ctx: Ctx {
                parser,
                repair,
                sink,
                events: VecDeque::new(),
                budget,
                pending_bytes: 0,
                objects: 0,
                unattributed: SessionStats::default(),
                retired: SessionStats::default(),
                sessions_evicted: 0,
            },
            sessions: HashMap::new(),
            tombstones: HashMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.cfg
    }

    /// Handles one datagram received at `now` on `endpoint`. Never fails: a bad datagram is
    /// counted in the stats under its [`DropReason`].
    pub fn handle_datagram(&mut self, now: Instant, endpoint: Endpoint, datagram: &[u8]) {
        let view = match packet::parse(&self.ctx.parser, datagram) {
            Ok(v) => v,
            Err(r) => {
                self.ctx.unattributed.datagrams += 1;
                self.ctx.unattributed.bytes += datagram.len() as u64;
                self.ctx.unattributed.drop(r);
                return;
            }
        };
        if let Some(allow) = &self.cfg.tsi_allow_list {
            if !allow.contains(&view.tsi) {
                self.ctx.unattributed.datagrams += 1;
                self.ctx.unattributed.bytes += datagram.len() as u64;
                self.ctx.unattributed.drop(DropReason::TsiFiltered);
                return;
            }
        }
        let id = SessionId {
            endpoint,
            tsi: Tsi(view.tsi),
        };
        if !self.tombstones.is_empty() && self.tombstones.contains_key(&id) {
            self.ctx.unattributed.datagrams += 1;
            self.ctx.unattributed.bytes += datagram.len() as u64;
            self.ctx.unattributed.drop(DropReason::ClosedSession);
            return;
        }
        if !self.sessions.contains_key(&id)
            && self.sessions.len() >= self.cfg.max_sessions
            && !self.evict_a_session(now)
        {
            self.ctx.unattributed.datagrams += 1;
            self.ctx.unattributed.bytes += datagram.len() as u64;
            self.ctx.unattributed.drop(DropReason::SessionLimit);
            return;
        }
        let s = match self.sessions.entry(id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => v.insert(Session::new(id, now)),
        };
        s.stats.datagrams += 1;
        s.stats.bytes += datagram.len() as u64;
        s.live.touch(now);
        let close = view.close_session;
        let before = (s.stats.symbols_accepted, s.stats.fdt_instances);
        if view.signal_only {
            s.stats.drop(DropReason::BadPayloadId);
        } else {
            process(&self.cfg, &mut self.ctx, s, now, view, datagram);
        }
        if (s.stats.symbols_accepted, s.stats.fdt_instances) != before {
            s.live.progress(now);
        }
        if close && s.closing_at.is_none() {
            s.closing_at = Some(now + self.cfg.close_session_grace);
            if self.cfg.close_session_grace.is_zero() {
                self.end_session(id, now, CloseReason::CloseSession);
            }
        }
    }

    /// Makes room in the full session table (see [`crate::liveness`]). False if every
    /// session is delivering.
    fn evict_a_session(&mut self, now: Instant) -> bool {
        let window = self.cfg.object_idle_timeout;
        let victim = pick_victim(
            self.sessions
                .iter()
                .map(|(id, s)| (*id, s.live.standing(now, window))),
        );
        let Some(victim) = victim else {
            return false;
        };
        self.ctx.sessions_evicted += 1;
        self.end_session(victim, now, CloseReason::Evicted);
        true
    }

    fn end_session(&mut self, id: SessionId, now: Instant, reason: CloseReason) {
        let Some(mut s) = self.sessions.remove(&id) else {
            return;
        };
        let ctx = &mut self.ctx;
        let mut tois: Vec<u128> = s.objects.keys().copied().collect();
        tois.sort_unstable();
        for toi in tois {
            let why = match s.objects.get(&toi) {
                Some(o) if reason == CloseReason::Evicted => FailReason::Evicted {
                    made_progress: o.live.last_progress.is_some(),
                },
                Some(o) if o.file.is_none() => FailReason::NoFdtEntry,
                Some(o) if o.dormant => FailReason::Timeout {
                    missing_blocks: o.asm.blocks() - o.asm.decoded_blocks(),
                },
                _ => FailReason::SessionClosed,
            };
            fail_object(ctx, &mut s, toi, why);
        }
        for (_, mut f) in s.fdt_asm.drain() {
            f.asm.release(&mut ctx.budget);
        }
        for p in s.pending.drain(..) {
            ctx.pending_bytes = ctx.pending_bytes.saturating_sub(p.data.len() as u64);
        }
        ctx.retired.add(&s.stats);
        ctx.events.push_back(ReceiverEvent::SessionClosed {
            session: id,
            reason,
        });
        if reason != CloseReason::Evicted {
            self.tombstones
                .insert(id, now + self.cfg.session_idle_timeout);
        }
    }

    /// Handles timers due at or before `now`: object idle timeouts, session idle timeouts,
    /// the end of the close-session grace period, and expiry of buffered datagrams.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tombstones.retain(|_, until| *until > now);
        let mut ended = Vec::new();
        for (id, s) in &mut self.sessions {
            if s.closing_at.is_some_and(|t| t <= now) {
                ended.push((*id, CloseReason::CloseSession));
                continue;
            }
            if s.live.last_activity + self.cfg.session_idle_timeout <= now {
                ended.push((*id, CloseReason::Idle));
                continue;
            }
            let ctx = &mut self.ctx;
            let mut idle: Vec<u128> = s
                .objects
                .iter()
                .filter(|(_, o)| {
                    !o.dormant && o.live.last_activity + self.cfg.object_idle_timeout <= now
                })
                .map(|(t, _)| *t)
                .collect();
            idle.sort_unstable();
            for toi in idle {
                object_idle(ctx, s, toi);
            }
            let timeout = self.cfg.pending_timeout;
            s.pending.retain(|p| {
                let keep = p.at + timeout > now;
                if !keep {
                    ctx.pending_bytes = ctx.pending_bytes.saturating_sub(p.data.len() as u64);
                }
                keep
            });
            let idle_t = self.cfg.object_idle_timeout;
            s.fdt_asm.retain(|_, f| {
                let keep = f.last + idle_t > now;
                if !keep {
                    f.asm.release(&mut ctx.budget);
                }
                keep
            });
        }
        ended.sort_by_key(|(id, _)| *id);
        for (id, reason) in ended {
            self.end_session(id, now, reason);
        }
    }

    /// The earliest time [`Self::handle_timeout`] has something to do, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut min = |x: Instant| t = Some(t.map_or(x, |y| y.min(x)));
        for until in self.tombstones.values() {
            min(*until);
        }
        for s in self.sessions.values() {
            if let Some(c) = s.closing_at {
                min(c);
            }
            min(s.live.last_activity + self.cfg.session_idle_timeout);
            for o in s.objects.values().filter(|o| !o.dormant) {
                min(o.live.last_activity + self.cfg.object_idle_timeout);
            }
            if let Some(p) = s.pending.front() {
                min(p.at + self.cfg.pending_timeout);
            }
            for f in s.fdt_asm.values() {
                min(f.last + self.cfg.object_idle_timeout);
            }
        }
        t
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ReceiverEvent> {
        self.ctx.events.pop_front()
    }

    /// The counters.
    pub fn stats(&self) -> ReceiverStats {
        let mut total = self.ctx.unattributed.clone();
        total.add(&self.ctx.retired);
        let mut sessions = BTreeMap::new();
        for (id, s) in &self.sessions {
            total.add(&s.stats);
            sessions.insert(*id, s.stats.clone());
        }
        ReceiverStats {
            total,
            sessions,
            buffered_bytes: self.ctx.budget.used,
            pending_bytes: self.ctx.pending_bytes,
            active_objects: self.ctx.objects,
            sessions_evicted: self.ctx.sessions_evicted,
        }
    }

    /// What is still missing of object `toi` (in the first live session that has it): per
    /// source block not yet decoded, the source ESIs not received (blocks of which nothing
    /// arrived are flagged `untouched` instead of listing `0..k`; at most
    /// [`crate::MAX_MISSING_BLOCKS`] blocks). `None` if no live session is receiving that
    /// object.
    pub fn missing(&self, toi: Toi) -> Option<Vec<MissingBlock>> {
        let toi = toi.0;
        let mut ids: Vec<&SessionId> = self.sessions.keys().collect();
        ids.sort();
        ids.into_iter().find_map(|id| self.missing_in(id, Toi(toi)))
    }

    /// The files the FDT of a live session has announced so far: (TOI, Content-Location),
    /// in TOI order. Empty for an unknown session. With the delivery events this tells which
    /// announced objects never started (no packet of them arrived).
    pub fn announced_files(&self, session: &SessionId) -> Vec<(Toi, String)> {
        let Some(s) = self.sessions.get(session) else {
            return Vec::new();
        };
        let mut v: Vec<(Toi, String)> = s
            .files
            .iter()
            .map(|(toi, f)| (Toi(*toi), f.content_location.clone()))
            .collect();
        v.sort_unstable();
        v
    }

    /// Like [`Self::missing`], for one session.
    pub fn missing_in(&self, session: &SessionId, toi: Toi) -> Option<Vec<MissingBlock>> {
        let toi = toi.0;
        self.sessions
            .get(session)?
            .objects
            .get(&toi)
            .map(|o| o.asm.missing())
    }

    /// The objects kept for file repair (`crate::repair`).
    pub(crate) fn parked(&self) -> &crate::repair::Parked {
        &self.ctx.repair
    }

    /// What file repair (`crate::repair`) works with.
    pub(crate) fn repair_parts(&mut self) -> crate::repair::RepairParts<'_> {
        crate::repair::RepairParts {
            cfg: &self.cfg,
            parked: &mut self.ctx.repair,
            sink: &mut *self.ctx.sink,
            events: &mut self.ctx.events,
        }
    }
}

impl Session {
    fn new(id: SessionId, now: Instant) -> Self {
        Self {
            id,
            stats: SessionStats::default(),
            live: Liveness::new(now),
            closing_at: None,
            files: HashMap::new(),
            current_fdt: None,
            listed: HashSet::new(),
            fdt_complete: false,
            fdt_asm: HashMap::new(),
            fdt_seen: VecDeque::new(),
            objects: HashMap::new(),
            finished: HashSet::new(),
            finished_order: VecDeque::new(),
            pending: VecDeque::new(),
            post_file_repair: None,
        }
    }

    /// A packet of the current FDT instance, or the instance itself, lists these live
    /// objects: their sender is still sending them (issue 13 §1).
    fn touch_listed_objects(&mut self, now: Instant) {
        if self.listed.is_empty() {
            return;
        }
        for (toi, o) in &mut self.objects {
            if self.listed.contains(toi) {
                o.live.touch(now);
            }
        }
    }

    fn mark_finished(&mut self, toi: u128, max: usize) {
        if self.finished.insert(toi) {
            self.finished_order.push_back(toi);
            while self.finished_order.len() > max.max(1) {
                if let Some(old) = self.finished_order.pop_front() {
                    self.finished.remove(&old);
                }
            }
        }
    }
}

/// The OTI of the packet's EXT_FTI, as `alc` decoded it (an EXT_FTI it could not decode
/// never reaches here: the packet was dropped as [`DropReason::BadFti`]).
fn oti_from_fti(view: &LctView<'_>) -> Option<Oti> {
    view.fti_oti.clone()
}

/// The transfer length the FDT gives for a (resolved) file: Transfer-Length, or
/// Content-Length without content encoding (`fdt::File::effective_transfer_length`).
fn fdt_transfer_length(f: &FdtFile) -> Option<u64> {
    f.transfer_length
}

fn buffer(
    ctx: &mut Ctx,
    cfg: &ReceiverConfig,
    s: &mut Session,
    now: Instant,
    key: PendingKey,
    view: &LctView<'_>,
    raw: &[u8],
) {
    let n = raw.len() as u64;
    if ctx.pending_bytes.saturating_add(n) > cfg.max_pending_bytes {
        s.stats.drop(DropReason::BufferFull);
        return;
    }
    ctx.pending_bytes += n;
    s.stats.buffered += 1;
    s.pending.push_back(Pending {
        key,
        at: now,
        data: Bytes::copy_from_slice(raw),
        view: view.detach(raw),
    });
}

fn replay(ctx: &mut Ctx, cfg: &ReceiverConfig, s: &mut Session, now: Instant, key: PendingKey) {
    if !s.pending.iter().any(|p| p.key == key) {
        return;
    }
    let (mine, rest): (VecDeque<Pending>, VecDeque<Pending>) = std::mem::take(&mut s.pending)
        .into_iter()
        .partition(|p| p.key == key);
    s.pending = rest;
    for p in mine {
        ctx.pending_bytes = ctx.pending_bytes.saturating_sub(p.data.len() as u64);
        let view = p.view.attach(&p.data);
        process(cfg, ctx, s, now, view, &p.data);
    }
}

fn process(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: LctView<'_>,
    raw: &[u8],
) {
    if view.toi == 0 {
        process_fdt(cfg, ctx, s, now, &view, raw);
    } else {
        process_data(cfg, ctx, s, now, &view, raw);
    }
}

/// (SBN, ESI, length of the FEC Payload ID) of the packet: as `alc` decoded it, or through
/// the scheme with the object's OTI (Reed-Solomon over GF(2^m), whose layout depends on m,
/// and packets whose scheme only the FDT names).
fn read_symbol(
    scheme: &dyn FecScheme,
    oti: &Oti,
    view: &LctView<'_>,
) -> Result<(u32, u32, usize), DropReason> {
    if let Some((id, len)) = view.payload_id {
        return Ok((id.sbn, id.esi, len));
    }
    let id = scheme
        .read_payload_id(view.payload, Some(oti))
        .map_err(|_| DropReason::BadPayloadId)?;
    Ok((id.sbn, id.esi, scheme.payload_id_len()))
}

fn process_fdt(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: &LctView<'_>,
    raw: &[u8],
) {
    let Some((_, id)) = view.fdt else {
        return;
    };
    if s.fdt_seen.contains(&id) {
        if s.current_fdt == Some(id) {
            s.touch_listed_objects(now);
        }
        s.stats.drop(DropReason::Done);
        return;
    }
    let fti = oti_from_fti(view);
    if !s.fdt_asm.contains_key(&id) {
        let Some(oti) = fti.clone() else {
            // Without EXT_FTI the FDT instance's length is unknown: keep the packet until
            // a packet of the same instance brings it.
            buffer(ctx, cfg, s, now, PendingKey::Fdt(id), view, raw);
            return;
        };
        if oti.transfer_length > cfg.max_fdt_size {
            s.stats.drop(DropReason::FdtRejected);
            return;
        }
        let Ok(scheme) = cfg.registry.for_oti(&oti).cloned() else {
            s.stats.drop(DropReason::UnknownScheme);
            return;
        };
        let Ok(asm) = Assembly::new(oti, scheme) else {
            s.stats.drop(DropReason::BadFti);
            return;
        };
        if s.fdt_asm.len() >= MAX_FDT_ASSEMBLIES {
            if let Some(old) = s
                .fdt_asm
                .iter()
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| *k)
            {
                if let Some(mut f) = s.fdt_asm.remove(&old) {
                    f.asm.release(&mut ctx.budget);
                }
            }
        }
        s.fdt_asm.insert(
            id,
            FdtAsm {
                asm,
                cenc: view.cenc,
                buf: Vec::new(),
                last: now,
            },
        );
        replay(ctx, cfg, s, now, PendingKey::Fdt(id));
        if s.fdt_seen.contains(&id) {
            s.stats.drop(DropReason::Done);
            return;
        }
    }
    let Some(f) = s.fdt_asm.get_mut(&id) else {
        return;
    };
    if let Some(oti) = &fti {
        if !f.asm.scheme.same_coding(oti, &f.asm.oti) {
            s.stats.drop(DropReason::BadFti);
            return;
        }
    }
    if f.cenc.is_none() {
        f.cenc = view.cenc;
    }
    f.last = now;
    let (sbn, esi, pl) = match read_symbol(f.asm.scheme.as_ref(), &f.asm.oti, view) {
        Ok(x) => x,
        Err(r) => {
            s.stats.drop(r);
            return;
        }
    };
    let sym = view.payload.get(pl..).unwrap_or(&[]);
    match f.asm.push(
        sbn,
        esi,
        sym,
        &mut ctx.budget,
        &mut s.stats.symbols_accepted,
    ) {
        Pushed::Dropped(r) => s.stats.drop(r),
        Pushed::Accepted => {}
        Pushed::Decoded(_) => {
            for b in f.asm.take_in_order(&mut ctx.budget) {
                f.buf.extend_from_slice(&b);
            }
        }
    }
    if f.asm.is_complete() {
        if let Some(f) = s.fdt_asm.remove(&id) {
            s.fdt_seen.push_back(id);
            while s.fdt_seen.len() > FDT_SEEN_MEMORY {
                s.fdt_seen.pop_front();
            }
            finish_fdt(cfg, ctx, s, now, id, f.cenc, f.buf);
        }
    }
}

/// EXT_CENC decompression with an output cap (`fdt::inflate`; catalogue items 20, 61).
fn inflate(cenc: Option<ContentEncoding>, data: Vec<u8>, cap: u64) -> Option<Vec<u8>> {
    match cenc {
        None | Some(ContentEncoding::Null) => Some(data),
        Some(c) => fdt::inflate(c, &data, usize::try_from(cap).unwrap_or(usize::MAX)).ok(),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish_fdt(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    id: u32,
    cenc: Option<ContentEncoding>,
    buf: Vec<u8>,
) {
    let Some(xml) = inflate(cenc, buf, cfg.max_fdt_size) else {
        s.stats.drop(DropReason::FdtRejected);
        return;
    };
    let limits = FdtLimits {
        max_files: cfg.max_fdt_files,
        max_depth: 32,
        max_attr_len: 64 * 1024,
    };
    let Ok(info) = parse_fdt(&xml, &limits) else {
        s.stats.drop(DropReason::FdtRejected);
        return;
    };
    if let Some(clock) = &cfg.wall_clock {
        if info.expires.is_before(clock.wall_time(now)) {
            s.stats.drop(DropReason::FdtRejected);
            return;
        }
    }
    // Newest by instance-ID order on the 20-bit circle (RFC 6726 §3.4.1; item 19).
    let newer = s
        .current_fdt
        .is_none_or(|cur| lct_header::fdt_instance_newer(id, cur));
    let mut touched = Vec::new();
    if newer {
        s.listed = info.files.iter().map(|f| f.toi).collect();
    }
    let post_file_repair = flute_repair::PostFileRepair::find_in(&info);
    for file in info.files {
        let known = s.files.contains_key(&file.toi);
        if !known && s.fdt_complete && newer {
            // Complete="true" promised no new files in *later* instances (RFC 6726 §3.4.2;
            // item 58). An older instance that arrives after it (reordering, or a
            // carousel copy) describes files of the session from before: they are used.
            continue;
        }
        if known && !newer {
            continue;
        }
        touched.push(file.toi);
        s.files.insert(file.toi, Arc::new(file));
    }
    if newer {
        s.current_fdt = Some(id);
        if info.complete == Some(true) {
            s.fdt_complete = true;
        }
        if let Some(Ok(p)) = post_file_repair {
            s.post_file_repair = Some(p);
        }
    }
    s.stats.fdt_instances += 1;
    s.touch_listed_objects(now);
    ctx.events.push_back(ReceiverEvent::FdtReceived {
        session: s.id,
        instance_id: id,
        files: s.files.len(),
        complete: info.complete == Some(true),
    });
    touched.sort_unstable();
    for toi in touched {
        if s.finished.contains(&toi) {
            continue;
        }
        let Some(file) = s.files.get(&toi).cloned() else {
            continue;
        };
        if s.objects.contains_key(&toi) {
            let attach = s.objects.get(&toi).is_some_and(|o| o.file.is_none());
            if attach {
                attach_file(cfg, ctx, s, toi, file);
            }
        } else if s.pending.iter().any(|p| p.key == PendingKey::Object(toi)) {
            replay(ctx, cfg, s, now, PendingKey::Object(toi));
        } else if fdt_transfer_length(&file) == Some(0) {
            deliver_empty(cfg, ctx, s, toi, &file);
        }
    }
}

fn meta(s: &Session, toi: u128, f: &FdtFile) -> ObjectMeta {
    ObjectMeta {
        session: s.id,
        toi: Toi(toi),
        content_location: f.content_location.clone(),
        content_type: f.content_type.clone(),
        content_length: f.content_length,
    }
}

/// A zero-length object needs no packet: the FDT entry is all there is (item 36).
fn deliver_empty(cfg: &ReceiverConfig, ctx: &mut Ctx, s: &mut Session, toi: u128, f: &FdtFile) {
    let result = (|| {
        if !supported_encoding(f.content_encoding.as_deref()) {
            return Err(FailReason::UnsupportedContentEncoding(
                f.content_encoding.clone().unwrap_or_default(),
            ));
        }
        let w = ctx.sink.open(&meta(s, toi, f))?;
        let p = Pipeline::new(
            w,
            f.content_encoding.as_deref(),
            f.content_md5.map(|m| m.to_vec()),
            f.content_length,
            cfg.max_object_size,
            cfg.zstd_window_log_max,
        )?;
        p.finish()
    })();
    report(cfg, ctx, s, toi, f, result);
}

fn report(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    f: &FdtFile,
    result: Result<(ObjectLocation, u64), FailReason>,
) {
    s.mark_finished(toi, cfg.max_finished_memory);
    match result {
        Ok((location, len)) => {
            s.stats.objects_completed += 1;
            ctx.events.push_back(ReceiverEvent::ObjectComplete {
                session: s.id,
                toi: Toi(toi),
                content_location: f.content_location.clone(),
                location,
                content_length: len,
            });
        }
        Err(reason) => {
            s.stats.objects_failed += 1;
            ctx.events.push_back(ReceiverEvent::ObjectFailed {
                session: s.id,
                toi: Toi(toi),
                reason,
            });
        }
    }
}

fn fail_object(ctx: &mut Ctx, s: &mut Session, toi: u128, reason: FailReason) {
    let Some(mut o) = s.objects.remove(&toi) else {
        return;
    };
    ctx.objects = ctx.objects.saturating_sub(1);
    // File repair: an incomplete object with an FDT entry may be kept instead (`repair.rs`).
    if let Some(file) = o.file.clone() {
        if ctx.repair.accepts(s.id, toi, &reason, o.asm.held()) {
            let (asm, pipeline) = (o.asm, o.pipeline);
            let service = s.post_file_repair.clone();
            let event = ctx.repair.park(
                (s.id, toi),
                (asm, file, pipeline),
                reason,
                service,
                &mut ctx.budget,
            );
            ctx.events.push_back(event);
            return;
        }
    }
    o.asm.release(&mut ctx.budget);
    if let Some(p) = o.pipeline.take() {
        p.abort();
    }
    // Not remembered as finished: a carousel repetition may start it again.
    if matches!(reason, FailReason::Evicted { .. }) {
        s.stats.objects_evicted += 1;
    } else {
        s.stats.objects_failed += 1;
    }
    ctx.events.push_back(ReceiverEvent::ObjectFailed {
        session: s.id,
        toi: Toi(toi),
        reason,
    });
}

/// The object idle timeout of `toi` expired. An object with decoded blocks is kept,
/// dormant, for the sender's next round of the same TOI (its undecoded blocks are released);
/// one without fails.
fn object_idle(ctx: &mut Ctx, s: &mut Session, toi: u128) {
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    let reason = if o.file.is_none() {
        FailReason::NoFdtEntry
    } else if o.asm.decoded_blocks() > 0 {
        o.asm.release_undecoded(&mut ctx.budget);
        o.dormant = true;
        return;
    } else {
        FailReason::Timeout {
            missing_blocks: o.asm.blocks() - o.asm.decoded_blocks(),
        }
    };
    fail_object(ctx, s, toi, reason);
}

/// Makes room in the full object table for a new object of session `s`, by the rule of
/// [`crate::liveness`], among the objects of `s`. False if all of them are delivering.
fn evict_an_object(cfg: &ReceiverConfig, ctx: &mut Ctx, s: &mut Session, now: Instant) -> bool {
    let window = cfg.object_idle_timeout;
    let victim = pick_victim(s.objects.iter().map(|(toi, o)| {
        let standing = if o.dormant {
            Standing::Stale(o.live.last_progress.unwrap_or(o.live.last_activity))
        } else {
            o.live.standing(now, window)
        };
        (*toi, standing)
    }));
    let Some(toi) = victim else {
        return false;
    };
    let made_progress = s
        .objects
        .get(&toi)
        .is_some_and(|o| o.live.last_progress.is_some());
    fail_object(ctx, s, toi, FailReason::Evicted { made_progress });
    true
}

fn attach_file(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    file: Arc<FdtFile>,
) {
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    if let Some(l) = fdt_transfer_length(&file) {
        if l != o.asm.oti.transfer_length {
            let fti = o.asm.oti.transfer_length;
            finish_object(
                cfg,
                ctx,
                s,
                toi,
                Some(Err(FailReason::TransferLengthMismatch { fdt: l, fti })),
            );
            return;
        }
    }
    o.file = Some(file);
    advance(cfg, ctx, s, toi);
}

/// Writes out whatever is ready, and finishes the object if it is complete.
fn advance(cfg: &ReceiverConfig, ctx: &mut Ctx, s: &mut Session, toi: u128) {
    let id = s.id;
    let Some(o) = s.objects.get_mut(&toi) else {
        return;
    };
    let Some(file) = o.file.clone() else {
        return;
    };
    let result = (|| {
        if o.pipeline.is_none() {
            let m = ObjectMeta {
                session: id,
                toi: Toi(toi),
                content_location: file.content_location.clone(),
                content_type: file.content_type.clone(),
                content_length: file.content_length,
            };
            let w = ctx.sink.open(&m)?;
            o.pipeline = Some(Pipeline::new(
                w,
                file.content_encoding.as_deref(),
                file.content_md5.map(|m| m.to_vec()),
                file.content_length,
                cfg.max_object_size,
                cfg.zstd_window_log_max,
            )?);
        }
        let blocks = o.asm.take_in_order(&mut ctx.budget);
        if let Some(p) = &mut o.pipeline {
            for b in blocks {
                p.write(&b)?;
            }
        }
        if o.asm.is_complete() {
            match o.pipeline.take() {
                Some(p) => p.finish().map(Some),
                None => Ok(None),
            }
        } else {
            Ok(None)
        }
    })();
    match result {
        Ok(None) => {}
        Ok(Some(done)) => finish_object(cfg, ctx, s, toi, Some(Ok(done))),
        Err(e) => finish_object(cfg, ctx, s, toi, Some(Err(e))),
    }
}

fn finish_object(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    toi: u128,
    result: Option<Result<(ObjectLocation, u64), FailReason>>,
) {
    let Some(result) = result else {
        return;
    };
    let Some(mut o) = s.objects.remove(&toi) else {
        return;
    };
    ctx.objects = ctx.objects.saturating_sub(1);
    o.asm.release(&mut ctx.budget);
    if let Some(p) = o.pipeline.take() {
        p.abort();
    }
    let file = o
        .file
        .clone()
        .unwrap_or_else(|| Arc::new(FdtFile::new(toi, String::new())));
    report(cfg, ctx, s, toi, &file, result);
}

fn process_data(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: &LctView<'_>,
    raw: &[u8],
) {
    let toi = view.toi;
    if s.objects.contains_key(&toi) {
        // The common case first. A TOI in `objects` is never in `finished`: finishing
        // removes the object, and a finished TOI is never started again.
        push_data(cfg, ctx, s, now, view);
        return;
    }
    if s.finished.contains(&toi) {
        s.stats.drop(DropReason::Done);
        return;
    }
    let oti = oti_from_fti(view).or_else(|| {
        s.files
            .get(&toi)
            .and_then(|f| fdt_file_oti(&cfg.registry, f, FecEncodingId(view.codepoint)).ok())
    });
    let Some(oti) = oti else {
        // Neither EXT_FTI nor a usable FDT entry yet (item 42).
        buffer(ctx, cfg, s, now, PendingKey::Object(toi), view, raw);
        return;
    };
    let Ok(scheme) = cfg.registry.for_oti(&oti).cloned() else {
        s.stats.drop(DropReason::UnknownScheme);
        return;
    };
    if oti.transfer_length > cfg.max_object_size {
        s.mark_finished(toi, cfg.max_finished_memory);
        s.stats.objects_failed += 1;
        ctx.events.push_back(ReceiverEvent::ObjectFailed {
            session: s.id,
            toi: Toi(toi),
            reason: FailReason::TooLarge,
        });
        return;
    }
    if ctx.objects >= cfg.max_concurrent_objects && !evict_an_object(cfg, ctx, s, now) {
        s.stats.drop(DropReason::ObjectLimit);
        return;
    }
    let Ok(asm) = Assembly::new(oti, scheme) else {
        s.stats.drop(DropReason::BadFti);
        return;
    };
    let transfer_length = asm.oti.transfer_length;
    ctx.objects += 1;
    s.objects.insert(
        toi,
        ObjectState {
            asm,
            file: None,
            pipeline: None,
            live: Liveness::new(now),
            dormant: false,
            sender_closed: false,
            fti_seen: None,
        },
    );
    ctx.events.push_back(ReceiverEvent::ObjectStarted {
        session: s.id,
        toi: Toi(toi),
        transfer_length,
        content_location: s.files.get(&toi).map(|f| f.content_location.clone()),
    });
    push_data(cfg, ctx, s, now, view);
    replay(ctx, cfg, s, now, PendingKey::Object(toi));
    if let Some(file) = s.files.get(&toi).cloned() {
        if s.objects.get(&toi).is_some_and(|o| o.file.is_none()) {
            attach_file(cfg, ctx, s, toi, file);
        }
    }
}

fn push_data(
    cfg: &ReceiverConfig,
    ctx: &mut Ctx,
    s: &mut Session,
    now: Instant,
    view: &LctView<'_>,
) {
    let toi = view.toi;
    let id = s.id;
    let Some(o) = s.objects.get_mut(&toi) else {
        s.stats.drop(DropReason::Done);
        return;
    };
    if let Some(fti) = view.fti {
        if o.fti_seen.as_deref() != Some(fti) {
            // alc already decoded this EXT_FTI (`view.fti_oti`); the object's scheme says
            // whether it is the coding the object started with.
            match &view.fti_oti {
                Some(oti) if o.asm.scheme.same_coding(oti, &o.asm.oti) => {
                    o.fti_seen = Some(fti.into());
                }
                _ => {
                    // Conflicting OTI for the same TOI (item 40).
                    s.stats.drop(DropReason::BadFti);
                    return;
                }
            }
        }
    }
    // Any packet of the object is activity, even a symbol that is not needed any more: its
    // sender is still sending it (issue 13 §1).
    o.live.touch(now);
    o.dormant = false;
    if view.close_object {
        // B flag: no more packets will be sent for this object. It stays open (it may
        // still complete from packets in flight) until its idle timeout.
        o.sender_closed = true;
    }
    let (sbn, esi, pl) = match read_symbol(o.asm.scheme.as_ref(), &o.asm.oti, view) {
        Ok(x) => x,
        Err(r) => {
            s.stats.drop(r);
            return;
        }
    };
    let sym = view.payload.get(pl..).unwrap_or(&[]);
    match o.asm.push(
        sbn,
        esi,
        sym,
        &mut ctx.budget,
        &mut s.stats.symbols_accepted,
    ) {
        Pushed::Dropped(r) => s.stats.drop(r),
        Pushed::Accepted => o.live.progress(now),
        Pushed::Decoded(_) => {
            o.live.progress(now);
            s.stats.blocks_decoded += 1;
            ctx.events.push_back(ReceiverEvent::Progress {
                session: id,
                toi: Toi(toi),
                blocks_decoded: o.asm.decoded_blocks(),
                blocks_total: o.asm.blocks(),
            });
            advance(cfg, ctx, s, toi);
            return;
        }
    }
    if o.asm.is_complete() {
        // Zero-block object (transfer length 0) started from EXT_FTI.
        advance(cfg, ctx, s, toi);
    }
}
