//! File repair (3GPP TS 26.346 §9.3), the sans-IO part: objects that end incomplete are
//! kept ("parked", within [`ReceiverConfig::repair_max_objects`] and
//! [`ReceiverConfig::repair_max_buffered_bytes`]) with everything received so far; the
//! caller asks for the missing symbols with [`Receiver::repair_request`], fetches them over
//! HTTP (or any way it likes), and hands the `application/simpleSymbolContainer` body to
//! [`Receiver::handle_repair_symbols`]. The object then goes through the same decoders and
//! the same output pipeline (Content-MD5, content decoding, Content-Length) as a broadcast
//! one, and ends in [`ReceiverEvent::ObjectComplete`] or [`ReceiverEvent::ObjectFailed`].
//!
//! The receiver hooks in at one place: where an object fails for
//! [`FailReason::Timeout`] or [`FailReason::SessionClosed`] and has its FDT entry, it is
//! parked instead and [`ReceiverEvent::ObjectIncomplete`] is reported.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use flute_repair::{
    ContainerCodec, ContainerError, IdRange, PostFileRepair, RepairQuery, SymbolRequest,
};

use crate::assembly::{Assembly, Budget, Pushed};
use crate::config::ReceiverConfig;
use crate::events::{FailReason, ReceiverEvent, SessionId};
use crate::pipeline::Pipeline;
use crate::receiver::Receiver;
use crate::sink::{ObjectLocation, ObjectSink};
use fdt::File as FdtFile;
use lct_header::Toi;

/// Most groups one repair body may hold.
pub const MAX_REPAIR_GROUPS: usize = 1 << 20;

/// Why a repair body was not used. The object stays parked, unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RepairError {
    /// No object with this session and TOI is waiting for repair.
    #[error("no object waiting for repair with TOI {toi}")]
    UnknownObject {
        /// The TOI.
        toi: Toi,
    },
    /// The body is not a valid symbol container for the object.
    #[error("repair body: {0}")]
    Container(#[from] ContainerError),
}

/// What one repair body did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RepairProgress {
    /// Symbols the decoders accepted (new ones).
    pub symbols_accepted: u64,
    /// Source blocks decoded.
    pub blocks_decoded: u64,
    /// The object finished (delivered or failed; see the event).
    pub finished: bool,
}

/// Counters of file repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RepairStats {
    /// Objects waiting for repair now.
    pub parked_objects: usize,
    /// Bytes they hold (undecoded blocks, decoded blocks waiting to be written).
    pub parked_bytes: u64,
    /// Objects that could not be parked (limits), and failed.
    pub refused: u64,
    /// Objects completed after repair.
    pub repaired_objects: u64,
    /// Bytes of those objects (transport length).
    pub repaired_object_bytes: u64,
    /// Symbols accepted from repair bodies.
    pub symbols_accepted: u64,
    /// Bytes of symbol data accepted from repair bodies (symbols x T).
    pub symbol_bytes: u64,
    /// Repair bodies refused as invalid.
    pub bodies_refused: u64,
}

struct ParkedObject {
    asm: Assembly,
    file: Arc<FdtFile>,
    pipeline: Option<Pipeline>,
    reason: FailReason,
    /// What the session's FDT announced (TS 26.346 §9.3.1), if anything.
    service: Option<PostFileRepair>,
}

/// The objects waiting for repair.
pub(crate) struct Parked {
    objects: BTreeMap<(SessionId, u128), ParkedObject>,
    budget: Budget,
    max_objects: usize,
    stats: RepairStats,
}

impl Parked {
    pub(crate) fn new(cfg: &ReceiverConfig) -> Self {
        Self {
            objects: BTreeMap::new(),
            budget: Budget {
                used: 0,
                max: cfg.repair_max_buffered_bytes,
            },
            max_objects: cfg.repair_max_objects,
            stats: RepairStats::default(),
        }
    }

    /// True if an object that ended incomplete for `reason`, holding `held` bytes, is to
    /// be kept: repair is on, the reason is one repair can cure, and the limits have room
    /// (a refusal for the limits is counted).
    pub(crate) fn accepts(
        &mut self,
        session: SessionId,
        toi: u128,
        reason: &FailReason,
        held: u64,
    ) -> bool {
        let curable = matches!(
            reason,
            FailReason::Timeout { .. } | FailReason::SessionClosed
        );
        if self.max_objects == 0 || !curable {
            return false;
        }
        let room = self.objects.len() < self.max_objects
            && !self.objects.contains_key(&(session, toi))
            && self.budget.used.saturating_add(held) <= self.budget.max;
        if !room {
            self.stats.refused += 1;
        }
        room
    }

    /// Keeps an object ([`Self::accepts`] said yes) with the repair servers its session's
    /// FDT announced, moving what it holds from the receiver's `live` budget to the repair
    /// budget. Returns the event to report.
    pub(crate) fn park(
        &mut self,
        (session, toi): (SessionId, u128),
        (mut asm, file, pipeline): (Assembly, Arc<FdtFile>, Option<Pipeline>),
        reason: FailReason,
        service: Option<PostFileRepair>,
        live: &mut Budget,
    ) -> ReceiverEvent {
        // Repair symbols are decoded here, at once: no decode jobs for parked objects.
        asm.stop_deferring(live);
        let held = asm.held();
        live.release(held);
        self.budget.charge(held);
        let event = ReceiverEvent::ObjectIncomplete {
            session,
            toi: Toi(toi),
            content_location: file.content_location.clone(),
            reason: reason.clone(),
        };
        self.objects.insert(
            (session, toi),
            ParkedObject {
                asm,
                file,
                pipeline,
                reason,
                service,
            },
        );
        event
    }

    fn find(&self, toi: u128) -> Option<&(SessionId, u128)> {
        self.objects.keys().find(|(_, t)| *t == toi)
    }

    fn stats(&self) -> RepairStats {
        RepairStats {
            parked_objects: self.objects.len(),
            parked_bytes: self.budget.used,
            ..self.stats
        }
    }
}

/// The query for what `asm` still misses.
fn query_for(asm: &Assembly, file_uri: &str) -> RepairQuery {
    let missing = asm.missing();
    let all_untouched = asm.decoded_blocks() == 0
        && missing.len() as u64 == asm.blocks()
        && missing.iter().all(|m| m.untouched);
    let mut parts: Vec<SymbolRequest> = Vec::new();
    if !all_untouched {
        for m in missing {
            if m.untouched {
                // Consecutive untouched blocks become one SBN range.
                if let Some(last) = parts.last_mut() {
                    if last.esi.is_empty() && last.sbn.last().checked_add(1) == Some(m.sbn) {
                        if let Some(r) = IdRange::new(last.sbn.first(), m.sbn) {
                            last.sbn = r;
                            continue;
                        }
                    }
                }
                parts.push(SymbolRequest::blocks(IdRange::single(m.sbn)));
            } else {
                let esi = flute_repair::ranges_of(m.missing_esis);
                if esi.is_empty() {
                    // Every source symbol is in but the block did not decode (a code that
                    // needs more than k): ask for the whole block.
                    parts.push(SymbolRequest::blocks(IdRange::single(m.sbn)));
                } else {
                    parts.push(SymbolRequest::symbols(m.sbn, esi));
                }
            }
        }
    }
    RepairQuery {
        file_uri: file_uri.to_owned(),
        parts,
    }
}

/// What the repair code needs of a [`Receiver`]; see `Receiver::repair_parts`.
pub(crate) struct RepairParts<'a> {
    pub(crate) cfg: &'a ReceiverConfig,
    pub(crate) parked: &'a mut Parked,
    pub(crate) sink: &'a mut dyn ObjectSink,
    pub(crate) events: &'a mut VecDeque<ReceiverEvent>,
}

impl Receiver {
    /// The objects that ended incomplete and wait for repair, as (session, TOI), in order.
    pub fn repair_pending(&self) -> Vec<(SessionId, Toi)> {
        self.parked()
            .objects
            .keys()
            .map(|(s, t)| (*s, Toi(*t)))
            .collect()
    }

    /// The repair request for object `toi` (the first waiting object with that TOI, by
    /// session order): its `Content-Location` as `fileURI` and, per source block not
    /// decoded yet, the missing source symbols as ESI ranges (a block of which nothing
    /// arrived is asked for whole, consecutive ones as one SBN range; nothing at all
    /// received: the whole file). At most [`crate::MAX_MISSING_BLOCKS`] blocks are listed;
    /// ask again after the answer for the rest. `None` if no object with that TOI is waiting
    /// for repair (see [`ReceiverEvent::ObjectIncomplete`]).
    pub fn repair_request(&self, toi: Toi) -> Option<RepairQuery> {
        let toi = toi.0;
        let key = *self.parked().find(toi)?;
        self.repair_request_in(&key.0, Toi(toi))
    }

    /// Like [`Self::repair_request`], for one session.
    pub fn repair_request_in(&self, session: &SessionId, toi: Toi) -> Option<RepairQuery> {
        let toi = toi.0;
        let p = self.parked().objects.get(&(*session, toi))?;
        Some(query_for(&p.asm, &p.file.content_location))
    }

    /// The repair servers and back-off (TS 26.346 §9.3.1 `postFileRepair`) the FDT of the
    /// waiting object's session announced, if it did (newest FDT instance that had one).
    pub fn repair_service(&self, session: &SessionId, toi: Toi) -> Option<&PostFileRepair> {
        let toi = toi.0;
        self.parked()
            .objects
            .get(&(*session, toi))
            .and_then(|p| p.service.as_ref())
    }

    /// The FEC Object Transmission Information of the waiting object (`session`, `toi`): a
    /// client uses it to bound and split its requests (`flute_repair::split_query`).
    pub fn repair_oti(&self, session: &SessionId, toi: Toi) -> Option<&fec_schemes::Oti> {
        let toi = toi.0;
        self.parked()
            .objects
            .get(&(*session, toi))
            .map(|p| &p.asm.oti)
    }

    /// Feeds a repair response body (`application/simpleSymbolContainer`, TS 26.346
    /// §9.3.6) to the waiting object (`session`, `toi`).
    ///
    /// The whole body is checked first against the object's scheme, OTI and blocking
    /// (length indicators, Payload IDs, symbol sizes, truncation): an invalid body is
    /// refused as a whole with [`RepairError::Container`] and the object stays as it was.
    /// A valid body's symbols go to the object's decoders; decoded blocks are written in
    /// order through the normal output pipeline, and a complete object is verified
    /// (Content-MD5, content decoding, Content-Length) and reported with
    /// [`ReceiverEvent::ObjectComplete`], or [`ReceiverEvent::ObjectFailed`] if a check
    /// fails (a server that sent wrong data for missing symbols is caught by Content-MD5,
    /// when the FDT has one).
    pub fn handle_repair_symbols(
        &mut self,
        session: &SessionId,
        toi: Toi,
        body: &[u8],
    ) -> Result<RepairProgress, RepairError> {
        let toi = toi.0;
        let parts = self.repair_parts();
        handle(parts, (*session, toi), body)
    }

    /// Gives up repairing object (`session`, `toi`): it fails with the reason it ended
    /// incomplete for ([`ReceiverEvent::ObjectFailed`]). Returns false if it was not
    /// waiting.
    pub fn abandon_repair(&mut self, session: &SessionId, toi: Toi) -> bool {
        let toi = toi.0;
        let parts = self.repair_parts();
        let Some(mut p) = parts.parked.objects.remove(&(*session, toi)) else {
            return false;
        };
        p.asm.release(&mut parts.parked.budget);
        if let Some(pl) = p.pipeline.take() {
            pl.abort();
        }
        parts.events.push_back(ReceiverEvent::ObjectFailed {
            session: *session,
            toi: Toi(toi),
            reason: p.reason,
        });
        true
    }

    /// The file repair counters.
    pub fn repair_stats(&self) -> RepairStats {
        self.parked().stats()
    }
}

fn handle(
    parts: RepairParts<'_>,
    key: (SessionId, u128),
    body: &[u8],
) -> Result<RepairProgress, RepairError> {
    let RepairParts {
        cfg,
        parked,
        sink,
        events,
    } = parts;
    let Some(p) = parked.objects.get_mut(&key) else {
        return Err(RepairError::UnknownObject { toi: Toi(key.1) });
    };
    let scheme = p.asm.scheme.clone();
    let oti = p.asm.oti.clone();
    let groups = match ContainerCodec::new(scheme.as_ref(), &oti)
        .and_then(|c| c.parse(body, MAX_REPAIR_GROUPS))
    {
        Ok(g) => g,
        Err(e) => {
            parked.stats.bodies_refused += 1;
            return Err(e.into());
        }
    };
    let t = u64::from(oti.encoding_symbol_length);
    let mut progress = RepairProgress::default();
    for g in groups {
        let mut accepted = 0u64;
        let pushed = p.asm.push(
            g.payload_id.sbn,
            g.payload_id.esi,
            g.symbols,
            &mut parked.budget,
            &mut accepted,
        );
        progress.symbols_accepted += accepted;
        if let Pushed::Decoded(_) = pushed {
            progress.blocks_decoded += 1;
            events.push_back(ReceiverEvent::Progress {
                session: key.0,
                toi: Toi(key.1),
                blocks_decoded: p.asm.decoded_blocks(),
                blocks_total: p.asm.blocks(),
            });
        }
    }
    parked.stats.symbols_accepted += progress.symbols_accepted;
    parked.stats.symbol_bytes += progress.symbols_accepted * t;
    let done = write_ready(cfg, sink, key, p, &mut parked.budget);
    if let Some(result) = done {
        progress.finished = true;
        if let Some(mut p) = parked.objects.remove(&key) {
            p.asm.release(&mut parked.budget);
            if let Some(pl) = p.pipeline.take() {
                pl.abort();
            }
            let event = match result {
                Ok((location, content_length)) => {
                    parked.stats.repaired_objects += 1;
                    parked.stats.repaired_object_bytes += p.asm.oti.transfer_length;
                    ReceiverEvent::ObjectComplete {
                        session: key.0,
                        toi: Toi(key.1),
                        content_location: p.file.content_location.clone(),
                        location,
                        content_length,
                    }
                }
                Err(reason) => ReceiverEvent::ObjectFailed {
                    session: key.0,
                    toi: Toi(key.1),
                    reason,
                },
            };
            events.push_back(event);
        }
    }
    Ok(progress)
}

/// Writes the blocks that are next in order; finishes the object when it is complete.
fn write_ready(
    cfg: &ReceiverConfig,
    sink: &mut dyn ObjectSink,
    key: (SessionId, u128),
    p: &mut ParkedObject,
    budget: &mut Budget,
) -> Option<Result<(ObjectLocation, u64), FailReason>> {
    let result = (|| {
        let blocks = p.asm.take_in_order(budget);
        if blocks.is_empty() && !p.asm.is_complete() {
            return Ok(None);
        }
        if p.pipeline.is_none() {
            p.pipeline = Some(crate::object::open_pipeline(
                cfg, sink, key.0, key.1, &p.file,
            )?);
        }
        if let Some(pl) = &mut p.pipeline {
            for b in blocks {
                pl.write(&b)?;
            }
        }
        if p.asm.is_complete() {
            match p.pipeline.take() {
                Some(pl) => pl.finish().map(Some),
                None => Ok(None),
            }
        } else {
            Ok(None)
        }
    })();
    match result {
        Ok(None) => None,
        Ok(Some(done)) => Some(Ok(done)),
        Err(e) => Some(Err(e)),
    }
}
