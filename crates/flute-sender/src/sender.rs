//! The sans-IO sender state machine: its state, its public API and its timers.
//!
//! - [`fdt_carousel`]: FDT Instances and the packets that carry them;
//! - [`data`]: the object scheduler and the packets that carry the objects.

mod data;
mod fdt_carousel;
mod work;

pub use work::{EncodeDone, EncodeJob};

use data::{default_oti, write_packet};
use fdt_carousel::fdt_oti_template;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fec_schemes::{
    BlockEncoder, Blocking, FecEncodingId, FecScheme, Oti, PayloadId, SchemeSpecific,
};
use lct_header::{ExtCenc, ExtFdt, Tsi};

use crate::config::{FdtMode, FtiMode, Profile, SenderConfig};
use crate::fdt_out;
use crate::object::{Carousel, FecChoice, Object, ObjectSource, Repair};
use crate::pacing::TokenBucket;
use crate::wire;
use crate::{ContentEncoding, SendError, Toi};
use alc::{AlcRepr, EncodedFti};

/// The earliest time of a timer list.
fn earliest(list: &[(Instant, u128)]) -> Option<Instant> {
    list.iter().map(|(t, _)| *t).min()
}

/// Largest TOI: 112 bits (RFC 5651 §5.1, O=3 and H=1).
const TOI_MAX: u128 = (1 << 112) - 1;
/// FDT Instance IDs are 20 bits and wrap (RFC 6726 §3.4.1).
/// At most this share of a paced sender's rate goes to FDT repetitions.
const FDT_SHARE: f64 = 0.05;

const FDT_ID_MASK: u32 = (1 << 20) - 1;

/// One datagram written by [`Sender::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transmit {
    /// Bytes written at the start of the caller's buffer.
    pub len: usize,
    /// TOI of the packet (0 for FDT Instances).
    pub toi: Toi,
    /// Source Block Number of the symbol.
    pub sbn: u32,
    /// Encoding Symbol ID of the symbol.
    pub esi: u32,
    /// FDT Instance ID for FDT packets.
    pub fdt_instance_id: Option<u32>,
    /// The close-object flag B is set.
    pub close_object: bool,
    /// The close-session flag A is set.
    pub close_session: bool,
}

/// Something the application may want to know; drained with [`Sender::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderEvent {
    /// A pass over the object finished (every source and repair symbol of every block was
    /// sent once more). `pass` counts from 1.
    CarouselCycleDone {
        /// The object.
        toi: Toi,
        /// Number of passes finished so far.
        pass: u32,
    },
    /// An FDT Instance could not be built (its FEC OTI from `SenderConfig::fdt_fec` cannot
    /// carry it, or the writer refused it); the objects it would announce wait.
    FdtFailed {
        /// What went wrong.
        error: SendError,
    },
    /// An FDT Instance was transmitted completely for the first time.
    FdtPublished {
        /// Its FDT Instance ID.
        instance_id: u32,
        /// Number of File entries it describes.
        files: usize,
    },
    /// Reading or coding the object failed; the object was dropped (no close-object flag).
    ObjectFailed {
        /// The object.
        toi: Toi,
        /// What went wrong (for a source that failed to read, [`SendError::Io`]).
        error: SendError,
    },
    /// The object's deadline ([`Object::deadline`]) passed before its last packet was
    /// sent: the rest of it is not sent, and it leaves the FDT at the next instance.
    ObjectExpired {
        /// The object.
        toi: Toi,
    },
    /// The object was removed by [`Sender::remove_object`].
    ObjectRemoved {
        /// The object.
        toi: Toi,
    },
    /// The first packet of the object was sent.
    ObjectStarted {
        /// The object.
        toi: Toi,
    },
    /// The object's last packet (with the close-object flag) was sent.
    ObjectSent {
        /// The object.
        toi: Toi,
    },
    /// The session's last packet (with the close-session flag) was sent, or the session
    /// ended with nothing to send after [`Sender::close`].
    SessionClosed,
}

/// Counters, from [`Sender::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderStats {
    /// Datagrams written.
    pub packets: u64,
    /// Bytes written (datagram lengths).
    pub bytes: u64,
    /// FDT packets among them.
    pub fdt_packets: u64,
    /// FDT Instances built.
    pub fdt_instances: u64,
    /// Source symbols sent.
    pub source_symbols: u64,
    /// Repair symbols sent.
    pub repair_symbols: u64,
    /// Objects completely sent.
    pub objects_sent: u64,
    /// Objects dropped after a source read error.
    pub objects_failed: u64,
    /// Times [`Sender::poll_transmit`] held a packet back because of pacing.
    pub paced: u64,
    /// FDT Instances that could not be built (see [`SenderEvent::FdtFailed`]).
    pub fdt_errors: u64,
    /// Objects whose deadline passed before they were completely sent
    /// ([`SenderEvent::ObjectExpired`]).
    pub objects_expired: u64,
    /// Source symbols of objects of unknown length sent before their length was known
    /// ([`Object::stream`]); they are counted in `source_symbols` too.
    pub early_symbols: u64,
}

struct ActiveBlock {
    enc: Box<dyn BlockEncoder>,
    sbn: u32,
    k: u32,
    next_esi: u32,
    end_esi: u32,
}

struct ObjEntry {
    file: fdt::File,
    oti: Oti,
    /// EXT_FTI encoded once for `oti` (made at the first data packet, made again if `oti`
    /// changed, e.g. when a stream's length becomes known), copied into every packet that
    /// carries it instead of encoding the OTI per packet.
    fti: Option<EncodedFti>,
    scheme: Arc<dyn FecScheme>,
    blocking: Blocking,
    source: Box<dyn ObjectSource>,
    repair: Repair,
    priority: u8,
    carousel: Carousel,
    interleave: u32,
    passes_done: u32,
    started: bool,
    /// Current pass: next block to load, the interleaved group, the cursor in it.
    in_pass: bool,
    pass_start: Option<Instant>,
    next_sbn: u64,
    group: Vec<ActiveBlock>,
    cursor: usize,
    group_left: u64,
    /// An object of unknown length whose end has not come yet ([`Object::stream`]).
    stream: Option<OpenStream>,
    /// Distinguishes this object from an earlier one with the same TOI (encode jobs).
    generation: u64,
    /// Blocks coded ahead ([`Sender::poll_work`]) by SBN: `None` while the job runs.
    prepared: HashMap<u32, Option<Box<dyn BlockEncoder>>>,
    /// No more jobs for this object (no repair symbols, or a block that failed to load).
    prepare_off: bool,
    /// Waiting for its FDT Instance to be sent (in `Sender::pending_announce` under its
    /// generation).
    pending: bool,
    /// Entries of this object in its priority queue's waiting line, so that forgetting
    /// an object that is in none (the usual case: it just finished its last pass) scans
    /// no queue. Never less than the true count.
    waiting: u32,
    /// It has an entry in `Sender::deadlines`.
    has_deadline: bool,
    /// Its entries in `Sender::timers`.
    timers: u32,
}

/// The bytes of an object of unknown length so far, and how far its early symbols got.
struct OpenStream {
    data: Vec<u8>,
    /// Early source symbols sent: ESI 0..sent of block 0.
    sent: u64,
    /// At most this many are sent early ([`FecScheme::length_independent_prefix`]).
    prefix: u64,
    md5: bool,
    /// Out of the queues, waiting for bytes.
    parked: bool,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<u128>,
    active: Vec<u128>,
    rr: usize,
}

struct FdtInstance {
    id: u32,
    /// In `Sender::fdt_queue`.
    queued: bool,
    data: Bytes,
    oti: Oti,
    blocking: Blocking,
    created: SystemTime,
    tois: Vec<u128>,
    published: bool,
}

struct FdtTx {
    /// The instance's key in `Sender::fdt_instances`.
    seq: u64,
    id: u32,
    sbn: u32,
    esi: u32,
    enc: Option<Box<dyn BlockEncoder>>,
}

/// What a call to the object scheduler produced.
enum Produced {
    Packet(Transmit),
    Nothing,
}

/// A sans-IO FLUTE sender: objects in, ALC/LCT datagrams out.
///
/// # Polling order
///
/// The sender never reads a clock and never does I/O. The caller:
/// 1. inserts objects with [`Self::insert_object`] (at any time);
/// 2. calls [`Self::poll_transmit`] with the current time until it returns `None`,
///    sending each datagram it writes;
/// 3. drains [`Self::poll_event`];
/// 4. sleeps until [`Self::poll_timeout`] (or until it has a new object), then calls
///    [`Self::handle_timeout`] and goes back to 2.
///
/// Packets leave in this order: FDT Instances that are due first (an object's data never
/// precedes the first complete transmission of an FDT Instance describing it), then data
/// of the highest-priority queue that has an object ready; inside a queue, up to
/// `objects_per_queue` objects take turns packet by packet; inside an object,
/// `interleave` blocks take turns symbol by symbol, each block sending source symbols
/// (ESI 0..k) then repair symbols.
pub struct Sender {
    cfg: SenderConfig,
    objects: HashMap<u128, ObjEntry>,
    queues: BTreeMap<u8, Queue>,
    /// Objects waiting for their FDT Instance to be sent, by generation (insertion order).
    pending_announce: BTreeMap<u64, u128>,
    /// Pending objects that have no FDT Instance yet (`FdtMode::PerObject`): new ones, and
    /// those whose instance could not be built (tried again at the next refresh).
    /// (generation, TOI): an entry of an object since replaced by another with the same
    /// TOI is stale and skipped.
    fdt_unbuilt: Vec<(u64, u128)>,
    /// Objects taken out of the session since the last refresh. `FdtMode::PerObject`: their
    /// instances go at the next refresh, without a scan of every instance. `FdtMode::Full`:
    /// if a new object uses one of their TOIs again, the next refresh builds a new instance.
    fdt_dead: Vec<u128>,
    /// The instance of each object (`FdtMode::PerObject`: one object per instance).
    fdt_by_toi: HashMap<u128, u64>,
    /// Key of the next FDT Instance in `fdt_instances` (never reused, unlike the 20-bit
    /// FDT Instance ID).
    fdt_seq: u64,
    /// Entries of `fdt_queue` whose instance is still there (`FdtInstance::queued`).
    fdt_queued: usize,
    timers: Vec<(Instant, u128)>,
    /// The earliest of `timers`, so that a packet costs no scan of them.
    next_timer: Option<Instant>,
    /// Objects with a deadline ([`Object::deadline`]).
    deadlines: Vec<(Instant, u128)>,
    /// The earliest of `deadlines`.
    next_deadline: Option<Instant>,
    fdt_scheme: Arc<dyn FecScheme>,
    fdt_next_id: u32,
    /// The live FDT Instances in the order they were built, by `fdt_seq`.
    fdt_instances: BTreeMap<u64, FdtInstance>,
    fdt_dirty: bool,
    /// Objects left the session since the FDT was built: the FDT drops them at the next
    /// carousel repetition rather than at once (a new instance per finished object made FDT
    /// traffic grow with the square of the number of files; issue 13 §3).
    fdt_stale: bool,
    /// Instances to send, by key; an entry whose instance is gone is skipped.
    fdt_queue: VecDeque<u64>,
    fdt_tx: Option<FdtTx>,
    fdt_next_carousel: Option<Instant>,
    last_fdt: Option<FdtInstance>,
    events: VecDeque<SenderEvent>,
    stats: SenderStats,
    pacer: Option<TokenBucket>,
    next_toi: u128,
    last_payload: usize,
    closing: bool,
    closed: bool,
    /// Objects inserted so far (`ObjEntry::generation`).
    generation: u64,
    /// Encode jobs handed out and not yet completed.
    jobs_in_flight: usize,
    /// Encoders coded ahead and not yet used, over every object.
    ready_blocks: usize,
    /// The last `poll_transmit` waits for a block whose encode job has not come back.
    stalled: bool,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("tsi", &self.cfg.tsi)
            .field("objects", &self.objects.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender for `config`. Fails if the FDT's FEC scheme is not registered or the
    /// configuration is out of range.
    pub fn new(config: SenderConfig) -> Result<Self, SendError> {
        if config.tsi.0 >= 1 << 48 {
            return Err(SendError::InvalidConfig("TSI must fit in 48 bits"));
        }
        if config.pacing.is_some_and(|p| p.bits_per_second == 0) {
            return Err(SendError::InvalidConfig("pacing rate must be > 0"));
        }
        if config.symbol_length == 0 || config.max_source_block_length == 0 {
            return Err(SendError::InvalidConfig(
                "symbol length and block length must be > 0",
            ));
        }
        if config.profile == Profile::Mbms && config.fdt_encoding.cenc_code().is_none() {
            return Err(SendError::EncodingNotAllowed("for the FDT"));
        }
        if config.fdt_encoding.cenc_code().is_none() {
            return Err(SendError::InvalidConfig(
                "FDT Content-Encoding needs an EXT_CENC code",
            ));
        }
        if config.first_fdt_instance_id > FDT_ID_MASK {
            return Err(SendError::InvalidConfig(
                "FDT Instance ID must fit in 20 bits",
            ));
        }
        let fdt_oti = fdt_oti_template(&config, 1);
        let fdt_scheme = config.registry.for_oti(&fdt_oti)?.clone();
        // An FDT packet that cannot fit would never be sent: say so now.
        let needed = crate::mtu::fdt_header_len(&config, &fdt_oti)
            + usize::from(fdt_oti.encoding_symbol_length);
        if needed > config.max_datagram_size {
            return Err(SendError::PacketTooLarge {
                needed,
                max: config.max_datagram_size,
            });
        }
        let first_id = config.first_fdt_instance_id;
        Ok(Self {
            pacer: config.pacing.map(TokenBucket::new),
            cfg: config,
            objects: HashMap::new(),
            queues: BTreeMap::new(),
            pending_announce: BTreeMap::new(),
            fdt_unbuilt: Vec::new(),
            fdt_dead: Vec::new(),
            fdt_by_toi: HashMap::new(),
            fdt_seq: 0,
            fdt_queued: 0,
            timers: Vec::new(),
            next_timer: None,
            deadlines: Vec::new(),
            next_deadline: None,
            fdt_scheme,
            fdt_next_id: first_id,
            fdt_instances: BTreeMap::new(),
            fdt_dirty: false,
            fdt_stale: false,
            fdt_queue: VecDeque::new(),
            fdt_tx: None,
            fdt_next_carousel: None,
            last_fdt: None,
            events: VecDeque::new(),
            stats: SenderStats::default(),
            next_toi: 1,
            last_payload: 0,
            closing: false,
            closed: false,
            generation: 0,
            jobs_in_flight: 0,
            ready_blocks: 0,
            stalled: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.cfg
    }

    /// Adds an object. It is described in the next FDT Instance, and its data follows
    /// once that instance has been sent. Returns its TOI.
    ///
    /// With a Content-Encoding or Content-MD5 the source is read once, in 64 KiB chunks,
    /// here; otherwise it is only read block by block while it is sent.
    pub fn insert_object(&mut self, obj: Object, now: Instant) -> Result<Toi, SendError> {
        let _ = now;
        if self.closing {
            return Err(SendError::Closed);
        }
        if obj.content_location.is_empty() {
            return Err(SendError::EmptyContentLocation);
        }
        if self.cfg.profile == Profile::Mbms && obj.encoding.cenc_code().is_none() {
            return Err(SendError::EncodingNotAllowed(
                obj.encoding.token().unwrap_or("?"),
            ));
        }
        let toi = match obj.toi {
            Some(Toi(0)) => return Err(SendError::ReservedToi),
            Some(Toi(t)) if t > TOI_MAX => return Err(SendError::ToiTooLarge(t)),
            Some(Toi(t)) if self.objects.contains_key(&t) => {
                return Err(SendError::DuplicateToi(Toi(t)));
            }
            Some(Toi(t)) => t,
            None => self.allocate_toi()?,
        };
        let Object {
            mut source,
            content_location,
            content_type,
            fec,
            repair,
            encoding,
            md5,
            md5_value,
            cache_control,
            etag,
            groups,
            priority,
            carousel,
            interleave,
            deadline,
            stream,
            ..
        } = obj;
        if stream && encoding != ContentEncoding::Null {
            return Err(SendError::InvalidConfig(
                "Content-Encoding needs the whole object: not available for an object of unknown length",
            ));
        }
        let stream_md5 = stream && md5;
        let md5 = md5 && !stream;
        // A digest the caller gave is used as it is: the source is not hashed.
        let given = md5_value.filter(|_| md5);
        let hash = md5 && given.is_none();
        let content_length = source.len();
        let (encoded, md5) = if encoding != ContentEncoding::Null || hash {
            crate::encode::scan(source.as_mut(), encoding, hash)?
        } else {
            (None, None)
        };
        let md5 = given.or(md5);
        if let Some(e) = encoded {
            source = Box::new(Bytes::from(e));
        }
        let transfer_length = source.len();
        let oti = match fec {
            FecChoice::Default => default_oti(&self.cfg, transfer_length),
            FecChoice::Template(mut o) => {
                o.transfer_length = transfer_length;
                o
            }
            FecChoice::Builder(f) => {
                let mut o = f(transfer_length);
                o.transfer_length = transfer_length;
                o
            }
        };
        let scheme = self.cfg.registry.for_oti(&oti)?.clone();
        let blocking = scheme.blocking(&oti)?;
        if blocking.blocks > u64::from(u32::MAX) {
            return Err(SendError::InvalidConfig("too many source blocks"));
        }
        let mut probe = AlcRepr::new(self.cfg.tsi, Toi(toi), &oti, PayloadId::default())?;
        probe.send_fti = true;
        let needed = probe.header_len(&*scheme) + usize::from(oti.encoding_symbol_length);
        if needed > self.cfg.max_datagram_size {
            return Err(SendError::PacketTooLarge {
                needed,
                max: self.cfg.max_datagram_size,
            });
        }
        let stream = stream.then(|| OpenStream {
            data: Vec::new(),
            sent: 0,
            prefix: scheme.length_independent_prefix(&oti),
            md5: stream_md5,
            parked: false,
        });
        let mbms = self.cfg.profile == Profile::Mbms;
        let mut file = fdt_out::file_entry(
            toi,
            content_location,
            content_length,
            content_type,
            encoding.token(),
            md5,
            &oti,
            scheme.write_scheme_specific_info(&oti),
        );
        if stream.is_some() {
            // Filled in by `finish_stream`; the entry is not published before.
            file.content_length = None;
            file.transfer_length = None;
        }
        if mbms {
            file.cache_control = cache_control;
            file.file_etag = etag;
            file.groups = groups;
        }
        // Refuse now what the FDT writer would refuse later (e.g. characters XML cannot carry).
        fdt_out::render(
            self.cfg.profile,
            0,
            false,
            false,
            vec![file.clone()],
            &self.cfg.fdt_extensions,
        )?;
        self.objects.insert(
            toi,
            ObjEntry {
                file,
                oti,
                fti: None,
                scheme,
                blocking,
                source,
                repair,
                priority,
                carousel,
                interleave: interleave.max(1),
                passes_done: 0,
                started: false,
                in_pass: false,
                pass_start: None,
                next_sbn: 0,
                group: Vec::with_capacity(interleave.clamp(1, 64) as usize),
                cursor: 0,
                group_left: 0,
                stream,
                generation: self.generation,
                prepared: HashMap::new(),
                prepare_off: false,
                pending: false,
                waiting: 0,
                has_deadline: deadline.is_some(),
                timers: 0,
            },
        );
        self.generation += 1;
        let open = self.objects.get(&toi).is_some_and(|o| o.stream.is_some());
        if open {
            // Not in the FDT until its length is known (see `Object::stream`): its early
            // symbols are queued at once.
            self.enqueue(toi);
        } else {
            self.announce(toi);
        }
        if let Some(d) = deadline {
            self.deadlines.push((d, toi));
            self.next_deadline = Some(self.next_deadline.map_or(d, |n| n.min(d)));
        }
        Ok(Toi(toi))
    }

    /// Removes an object at once: it leaves the FDT and no more of its packets are sent
    /// (so it gets no close-object flag).
    pub fn remove_object(&mut self, toi: Toi) -> Result<(), SendError> {
        let Some(o) = self.take_object(toi.0) else {
            return Err(SendError::UnknownToi(toi));
        };
        self.forget(toi.0, Some(&o));
        self.events.push_back(SenderEvent::ObjectRemoved { toi });
        Ok(())
    }

    /// Appends `data` to an object of unknown length ([`Object::stream`]). Its source
    /// symbols whose place cannot change go out as they fill.
    pub fn write_stream(&mut self, toi: Toi, data: &[u8]) -> Result<(), SendError> {
        let o = self
            .objects
            .get_mut(&toi.0)
            .ok_or(SendError::UnknownToi(toi))?;
        let st = o.stream.as_mut().ok_or(SendError::NotAStream(toi))?;
        st.data.extend_from_slice(data);
        let e = u64::from(o.oti.encoding_symbol_length);
        let ready = st.sent < st.prefix.min(st.data.len() as u64 / e);
        if st.parked && ready {
            st.parked = false;
            self.enqueue(toi.0);
        }
        Ok(())
    }

    /// The end of an object of unknown length: its length is now known. The object gets a
    /// new FDT Instance with Content-Length and Transfer-Length (and Content-MD5 if asked
    /// for), then its passes go out like any object's: EXT_FTI as configured, the
    /// close-object flag on its last packet.
    ///
    /// Fails, and drops the object ([`SenderEvent::ObjectFailed`]), if the length does not
    /// fit the object's FEC scheme (e.g. too many symbols for one RaptorQ block).
    pub fn finish_stream(&mut self, toi: Toi, now: Instant) -> Result<(), SendError> {
        let o = self
            .objects
            .get_mut(&toi.0)
            .ok_or(SendError::UnknownToi(toi))?;
        let st = o.stream.take().ok_or(SendError::NotAStream(toi))?;
        match Self::complete_stream(o, st) {
            Ok(()) => {}
            Err(error) => {
                let o = self.take_object(toi.0);
                self.forget(toi.0, o.as_ref());
                self.stats.objects_failed += 1;
                self.events.push_back(SenderEvent::ObjectFailed {
                    toi,
                    error: error.clone(),
                });
                if self.objects.is_empty() {
                    self.refresh_fdt(now);
                }
                return Err(error);
            }
        }
        // Announce it; its passes wait for that instance (`fdt_sent`).
        for q in self.queues.values_mut() {
            q.waiting.retain(|t| *t != toi.0);
            q.active.retain(|t| *t != toi.0);
        }
        if let Some(o) = self.objects.get_mut(&toi.0) {
            o.waiting = 0;
        }
        self.announce(toi.0);
        Ok(())
    }

    fn complete_stream(o: &mut ObjEntry, st: OpenStream) -> Result<(), SendError> {
        let data = Bytes::from(st.data);
        let len = data.len() as u64;
        let md5 = if st.md5 {
            crate::encode::scan(&mut data.clone(), ContentEncoding::Null, true)?.1
        } else {
            None
        };
        let mut oti = o.oti.clone();
        oti.transfer_length = len;
        let blocking = o.scheme.blocking(&oti)?;
        if blocking.blocks > u64::from(u32::MAX) {
            return Err(SendError::InvalidConfig("too many source blocks"));
        }
        if st.sent > 0 {
            // The early symbols must be where the final partition puts them.
            let first = blocking.block(0)?;
            if first.offset != 0 || u64::from(first.source_symbols) < st.sent {
                return Err(SendError::InvalidConfig(
                    "the FEC scheme's length-independent prefix does not hold",
                ));
            }
        }
        o.file.content_length = Some(len);
        o.file.transfer_length = Some(len);
        o.file.content_md5 = md5;
        o.oti = oti;
        o.blocking = blocking;
        o.source = Box::new(data);
        Ok(())
    }

    /// Moves an object to priority queue `priority` (see [`Object::priority`]), keeping
    /// its place in its current pass: a live packager raises the newest segment and lowers
    /// the one before it, whose carousel then yields to the new one packet by packet.
    pub fn set_priority(&mut self, toi: Toi, priority: u8) -> Result<(), SendError> {
        let o = self
            .objects
            .get_mut(&toi.0)
            .ok_or(SendError::UnknownToi(toi))?;
        let old = std::mem::replace(&mut o.priority, priority);
        if old == priority {
            return Ok(());
        }
        let Some(q) = self.queues.get_mut(&old) else {
            return Ok(()); // not queued (waiting for its FDT Instance or a carousel timer)
        };
        let was_active = q.active.contains(&toi.0);
        let was_waiting = q.waiting.contains(&toi.0);
        q.active.retain(|t| *t != toi.0);
        q.waiting.retain(|t| *t != toi.0);
        let nq = self.queues.entry(priority).or_default();
        if was_active {
            // Mid-pass: it goes on first among the objects waiting in its new queue.
            nq.waiting.push_front(toi.0);
        } else if was_waiting {
            nq.waiting.push_back(toi.0);
        }
        if let Some(o) = self.objects.get_mut(&toi.0) {
            o.waiting = u32::from(was_active || was_waiting);
        }
        Ok(())
    }

    /// Closes the session: no new objects; objects repeated until removed finish their
    /// current pass; the FDT carries `Complete="true"` (Full FDT mode); the last packet of
    /// the session carries the close-session flag A.
    pub fn close(&mut self) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.fdt_dirty = true;
    }

    /// True once the close-session packet has gone out (or there was nothing to close).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Counters.
    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SenderEvent> {
        self.events.pop_front()
    }

    /// When [`Self::handle_timeout`] (or [`Self::poll_transmit`]) should be called next:
    /// the pacer's release time, the next FDT carousel repetition or the next object
    /// carousel pass. `None`: nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut t: Option<Instant> = None;
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        // The close-session packet of an idle closing session is paced too.
        if self.has_ready_work() || self.closing && self.is_idle() {
            min(self.pacer.as_ref().and_then(TokenBucket::next_ready));
        }
        min(self.fdt_next_carousel);
        min(self.next_timer);
        min(self.next_deadline);
        t
    }

    /// Processes timers due at `now`: object deadlines, FDT carousel repetitions and
    /// carousel passes.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
        if self.next_timer.is_some_and(|t| t <= now) {
            let mut i = 0;
            while i < self.timers.len() {
                if self.timers[i].0 <= now {
                    let (_, toi) = self.timers.swap_remove(i);
                    if let Some(o) = self.objects.get_mut(&toi) {
                        o.timers = o.timers.saturating_sub(1);
                    }
                    self.enqueue(toi);
                } else {
                    i += 1;
                }
            }
            self.next_timer = earliest(&self.timers);
        }
        if self.fdt_next_carousel.is_some_and(|t| t <= now) {
            self.fdt_next_carousel = None;
            if std::mem::take(&mut self.fdt_stale) {
                self.refresh_fdt(now);
            }
            let wall = self.cfg.clock.wall_time(now);
            let half = self.cfg.fdt_carousel.expires_after / 2;
            let stale = self
                .fdt_instances
                .values()
                .any(|i| i.created + half <= wall);
            if stale {
                self.rebuild_all_fdt(now);
            }
            let busy = self.fdt_tx.as_ref().map(|t| t.seq);
            for (seq, i) in &mut self.fdt_instances {
                if busy != Some(*seq) && !i.queued {
                    i.queued = true;
                    self.fdt_queued += 1;
                    self.fdt_queue.push_back(*seq);
                }
            }
            if let Some(iv) = self.cfg.fdt_carousel.interval {
                if !self.fdt_instances.is_empty() {
                    self.fdt_next_carousel = Some(now + self.fdt_repeat_interval(iv));
                }
            }
        }
    }

    /// Writes the next datagram into `buf` and describes it, or returns `None` when there
    /// is nothing to send at `now` (idle, waiting for a carousel timer, or held back by
    /// pacing: see [`Self::poll_timeout`]). `buf` should hold
    /// [`SenderConfig::max_datagram_size`] bytes; a shorter buffer gets `None`.
    ///
    /// Allocation-free per packet in steady state: symbols are written by the FEC scheme
    /// straight into `buf`; allocations happen once per source block (reading it and
    /// making its encoder) and once per FDT Instance.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.stalled = false;
        if self.closed || buf.len() < self.cfg.max_datagram_size {
            return None;
        }
        self.handle_timeout(now);
        if self.fdt_dirty {
            self.refresh_fdt(now);
        }
        if !(self.has_ready_work() || self.closing && self.is_idle()) {
            return None;
        }
        if let Some(p) = self.pacer.as_mut() {
            if p.ready_at(now).is_some() {
                self.stats.paced += 1;
                return None;
            }
        }
        let mut t = if self.fdt_tx.is_some() || self.fdt_queued > 0 {
            self.next_fdt_packet(now, buf)
        } else {
            match self.next_data_packet(now, buf) {
                Produced::Packet(t) => Some(t),
                Produced::Nothing => None,
            }
        };
        if t.is_none() && self.closing && self.is_idle() {
            // Nothing left but the close-session flag: repeat the first packet of the
            // last FDT Instance with A set (RFC 5651 §5.1).
            t = self.close_packet(now, buf);
            if t.is_none() {
                self.closed = true;
                self.events.push_back(SenderEvent::SessionClosed);
                return None;
            }
        }
        let mut t = t?;
        if self.closing && self.is_idle() && !t.close_session {
            // This is the session's last packet: set A (RFC 5651 §5.1).
            lct_header::LctPacket::new_unchecked(&mut buf[..]).set_close_session(true);
            t.close_session = true;
        }
        if t.close_session {
            self.closed = true;
            self.events.push_back(SenderEvent::SessionClosed);
        }
        self.stats.packets += 1;
        self.stats.bytes += t.len as u64;
        if let Some(p) = self.pacer.as_mut() {
            p.consume(t.len, self.last_payload);
        }
        Some(t)
    }

    fn has_ready_work(&self) -> bool {
        self.fdt_tx.is_some()
            || self.fdt_queued > 0
            || self
                .queues
                .values()
                .any(|q| !q.active.is_empty() || !q.waiting.is_empty())
    }

    /// Nothing is left to send: every object finished and no FDT is pending.
    fn is_idle(&self) -> bool {
        self.objects.is_empty() && self.fdt_tx.is_none() && self.fdt_queued == 0
    }

    fn allocate_toi(&mut self) -> Result<u128, SendError> {
        for _ in 0..1024 {
            let t = self.next_toi;
            self.next_toi = if t >= TOI_MAX { 1 } else { t + 1 };
            if !self.objects.contains_key(&t) {
                return Ok(t);
            }
        }
        Err(SendError::ToiExhausted)
    }

    /// Puts object `toi` at the end of its priority queue's waiting line (if it exists).
    fn enqueue(&mut self, toi: u128) {
        if let Some(o) = self.objects.get_mut(&toi) {
            o.waiting += 1;
            self.queues
                .entry(o.priority)
                .or_default()
                .waiting
                .push_back(toi);
        }
    }

    /// Object `toi` (inserted, or its length now known) waits for an FDT Instance
    /// describing it; its data follows once that instance has been sent (`fdt_sent`).
    fn announce(&mut self, toi: u128) {
        if let Some(o) = self.objects.get_mut(&toi) {
            if !o.pending {
                o.pending = true;
                self.pending_announce.insert(o.generation, toi);
                self.fdt_unbuilt.push((o.generation, toi));
            }
        }
        self.fdt_dirty = true;
    }

    /// Removes an object, and the blocks it had coded ahead.
    fn take_object(&mut self, toi: u128) -> Option<ObjEntry> {
        let o = self.objects.remove(&toi)?;
        self.ready_blocks -= o.prepared.values().filter(|e| e.is_some()).count();
        if o.pending {
            self.pending_announce.remove(&o.generation);
        }
        // `FdtMode::PerObject`: its instance goes at the next refresh; `FdtMode::Full`: the
        // next refresh builds a new instance even if the set of TOIs is the same again.
        self.fdt_dead.push(toi);
        Some(o)
    }

    /// Drops every trace of `toi` from the queues, timers and FDT. `o`: the object as
    /// `take_object` returned it (`None`: look everywhere). Costs no scan of a queue,
    /// timer list or FDT Instance list the object is not in.
    fn forget(&mut self, toi: u128, o: Option<&ObjEntry>) {
        let waiting = o.is_none_or(|o| o.waiting > 0);
        for q in self.queues.values_mut() {
            if waiting {
                q.waiting.retain(|t| *t != toi);
            }
            q.active.retain(|t| *t != toi);
        }
        if o.is_none_or(|o| o.timers > 0) {
            self.timers.retain(|(_, t)| *t != toi);
            self.next_timer = earliest(&self.timers);
        }
        if o.is_none_or(|o| o.has_deadline) {
            self.deadlines.retain(|(_, t)| *t != toi);
            self.next_deadline = earliest(&self.deadlines);
        }
        self.fdt_stale = true;
    }

    /// Drops the objects whose deadline is `now` or earlier (issue 17 §2).
    fn expire(&mut self, now: Instant) {
        if self.next_deadline.is_none_or(|t| t > now) {
            return;
        }
        let (due, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deadlines)
            .into_iter()
            .partition(|(t, _)| *t <= now);
        self.deadlines = keep;
        self.next_deadline = earliest(&self.deadlines);
        for (_, toi) in due {
            let Some(o) = self.take_object(toi) else {
                continue;
            };
            self.forget(toi, Some(&o));
            self.stats.objects_expired += 1;
            self.events
                .push_back(SenderEvent::ObjectExpired { toi: Toi(toi) });
        }
        // As in `finish_pass`: with no object left the FDT is brought in line now, so that
        // a closing session knows its last packet; otherwise at its next repetition.
        if self.objects.is_empty() {
            self.refresh_fdt(now);
        }
    }

    /// The time until the next FDT repetition: the configured interval, stretched so that
    /// repeating the live instances takes at most [`FDT_SHARE`] of the paced rate. With many
    /// files the FDT grows with their number, and a fixed interval would make the FDT cost
    /// grow with the square of it over a long transmission.
    fn fdt_repeat_interval(&self, configured: Duration) -> Duration {
        let Some(p) = self.cfg.pacing.as_ref().filter(|p| p.bits_per_second > 0) else {
            return configured;
        };
        let bytes: u64 = self
            .fdt_instances
            .values()
            .map(|i| i.data.len() as u64 + i.blocking.blocks.max(1) * 64)
            .sum();
        let share = p.bits_per_second as f64 * FDT_SHARE / 8.0;
        configured.max(Duration::from_secs_f64(bytes as f64 / share))
    }
}
