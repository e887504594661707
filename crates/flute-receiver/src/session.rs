//! Per-session state (sessions, objects in progress, FDT assemblies, buffered datagrams) and
//! the routing of one parsed datagram to the FDT or the object path.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use fec_schemes::Oti;

use crate::assembly::{Assembly, Budget, Pushed};
use crate::config::ReceiverConfig;
use crate::liveness::Liveness;
use alc::AlcParser;
use fdt::File as FdtFile;
use lct_header::ContentEncoding;

use crate::events::*;
use crate::fdt_in::*;
use crate::object::*;
use crate::packet::{self, LctView};
use crate::pipeline::Pipeline;
use crate::sink::ObjectSink;
use crate::stats::{DropReason, SessionStats};

pub(crate) struct Ctx {
    /// The ALC parser (FLUTE header rules on), over the configuration's registry.
    pub(crate) parser: AlcParser,
    pub(crate) sink: Box<dyn ObjectSink>,
    pub(crate) events: VecDeque<ReceiverEvent>,
    pub(crate) budget: Budget,
    pub(crate) pending_bytes: u64,
    pub(crate) objects: usize,
    pub(crate) unattributed: SessionStats,
    pub(crate) retired: SessionStats,
    pub(crate) sessions_evicted: u64,
    /// Objects kept for file repair (`crate::repair`).
    pub(crate) repair: crate::repair::Parked,
    /// Decode jobs (`crate::work`).
    pub(crate) work: crate::work::Work,
}

pub(crate) struct ObjectState {
    pub(crate) asm: Assembly,
    pub(crate) file: Option<Arc<FdtFile>>,
    pub(crate) pipeline: Option<Pipeline>,
    pub(crate) live: Liveness,
    /// Timed out with decoded blocks: the undecoded blocks were released, the decoded ones
    /// are kept for the sender's next round of the same TOI (issue 13 §1). No timer runs.
    pub(crate) dormant: bool,
    pub(crate) sender_closed: bool,
    /// The EXT_FTI bytes last checked against `asm.oti`: a packet carrying the same bytes
    /// needs no second parse (every packet may carry EXT_FTI).
    pub(crate) fti_seen: Option<Box<[u8]>>,
}

pub(crate) struct FdtAsm {
    pub(crate) asm: Assembly,
    pub(crate) cenc: Option<ContentEncoding>,
    pub(crate) buf: Vec<u8>,
    pub(crate) last: Instant,
}

/// What a buffered datagram waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingKey {
    /// The OTI (EXT_FTI) of FDT Instance `id`.
    Fdt(u32),
    /// The FDT entry or OTI of the object with this TOI.
    Object(u128),
}

pub(crate) struct Pending {
    pub(crate) key: PendingKey,
    pub(crate) at: Instant,
    pub(crate) data: Bytes,
    /// The packet as `alc` parsed it on arrival (not parsed again on replay).
    pub(crate) view: packet::DetachedView,
}

pub(crate) struct Session {
    pub(crate) id: SessionId,
    pub(crate) stats: SessionStats,
    pub(crate) live: Liveness,
    pub(crate) closing_at: Option<Instant>,
    pub(crate) files: HashMap<u128, Arc<FdtFile>>,
    pub(crate) current_fdt: Option<u32>,
    /// TOIs listed by the current FDT instance: its repetitions keep those objects alive.
    pub(crate) listed: HashSet<u128>,
    pub(crate) fdt_complete: bool,
    pub(crate) fdt_asm: HashMap<u32, FdtAsm>,
    pub(crate) fdt_seen: VecDeque<u32>,
    pub(crate) objects: HashMap<u128, ObjectState>,
    pub(crate) finished: HashSet<u128>,
    pub(crate) finished_order: VecDeque<u128>,
    pub(crate) pending: VecDeque<Pending>,
    /// The repair servers the newest FDT instance announced (`crate::repair`).
    pub(crate) post_file_repair: Option<flute_repair::PostFileRepair>,
}

pub(crate) const MAX_FDT_ASSEMBLIES: usize = 8;
pub(crate) const FDT_SEEN_MEMORY: usize = 64;

impl Session {
    pub(crate) fn new(id: SessionId, now: Instant) -> Self {
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
    pub(crate) fn touch_listed_objects(&mut self, now: Instant) {
        if self.listed.is_empty() {
            return;
        }
        for (toi, o) in &mut self.objects {
            if self.listed.contains(toi) {
                o.live.touch(now);
            }
        }
    }

    pub(crate) fn mark_finished(&mut self, toi: u128, max: usize) {
        if self.finished.insert(toi) {
            self.finished_order.push_back(toi);
            while self.finished_order.len() > max.max(1) {
                if let Some(old) = self.finished_order.pop_front() {
                    self.finished.remove(&old);
                    if !self.listed.contains(&old) {
                        self.files.remove(&old);
                    }
                }
            }
        }
        if !self.listed.contains(&toi) {
            self.files.remove(&toi);
        }
    }

    /// Forgets the FDT entries of finished objects that the current FDT instance no longer
    /// lists. Without this a long-lived session (a live sender that adds objects and takes
    /// old ones out of its FDT) keeps one entry per object it ever announced. A repetition of
    /// an older instance that lists such a file again adds the entry back; the finished set
    /// keeps the object from being received twice.
    pub(crate) fn forget_finished_files(&mut self) {
        let (finished, listed) = (&self.finished, &self.listed);
        self.files
            .retain(|toi, _| listed.contains(toi) || !finished.contains(toi));
    }
}

/// The OTI of the packet's EXT_FTI, as `alc` decoded it (an EXT_FTI it could not decode
/// never reaches here: the packet was dropped as [`DropReason::BadFti`]).
pub(crate) fn oti_from_fti(view: &LctView<'_>) -> Option<Oti> {
    view.fti_oti.clone()
}

/// The transfer length the FDT gives for a (resolved) file: Transfer-Length, or
/// Content-Length without content encoding (`fdt::File::effective_transfer_length`).
pub(crate) fn fdt_transfer_length(f: &FdtFile) -> Option<u64> {
    f.transfer_length
}

pub(crate) fn buffer(
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

pub(crate) fn replay(
    ctx: &mut Ctx,
    cfg: &ReceiverConfig,
    s: &mut Session,
    now: Instant,
    key: PendingKey,
) {
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

pub(crate) fn process(
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

/// Reads the packet's FEC Payload ID (as `alc` decoded it, or through the scheme with the
/// object's OTI: Reed-Solomon over GF(2^m), whose layout depends on m, and packets whose
/// scheme only the FDT names) and pushes its symbol(s) into `asm`. The FDT path and the
/// object path both take their symbols through here.
pub(crate) fn push_symbol(
    asm: &mut Assembly,
    view: &LctView<'_>,
    budget: &mut Budget,
    accepted: &mut u64,
) -> Result<Pushed, DropReason> {
    let (sbn, esi, pl) = match view.payload_id {
        Some((id, len)) => (id.sbn, id.esi, len),
        None => {
            let id = asm
                .scheme
                .read_payload_id(view.payload, Some(&asm.oti))
                .map_err(|_| DropReason::BadPayloadId)?;
            (id.sbn, id.esi, asm.scheme.payload_id_len())
        }
    };
    let sym = view.payload.get(pl..).unwrap_or(&[]);
    Ok(asm.push(sbn, esi, sym, budget, accepted))
}
