//! The receiver state machine: `Receiver`, its public API and its tables. The work per
//! datagram lives in `session` (routing, buffering), `fdt_in` (FDT instances) and `object`
//! (objects to delivery); the public types are in `events`. These modules import each other
//! and the leaf modules, never this one (only `repair`, which adds methods to `Receiver`).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::assembly::{Budget, MissingBlock};
use crate::config::ReceiverConfig;
use crate::liveness::pick_victim;
use alc::AlcParser;
use lct_header::{Toi, Tsi};

use crate::assembly::Pushed;
use crate::events::*;
use crate::object::*;
use crate::packet::{self};
use crate::session::*;
use crate::sink::{MemorySink, ObjectSink};
use crate::stats::{DropReason, SessionStats};
use crate::work::{Applying, DecodeDone, DecodeJob, Outcome, Ready};

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
                work: crate::work::Work::default(),
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
        // One lookup for a known session (the common case); a new one may need room first.
        let s = match self.sessions.entry(id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) => {
                if self.sessions.len() >= self.cfg.max_sessions && !self.evict_a_session(now) {
                    self.ctx.unattributed.datagrams += 1;
                    self.ctx.unattributed.bytes += datagram.len() as u64;
                    self.ctx.unattributed.drop(DropReason::SessionLimit);
                    return;
                }
                self.sessions
                    .entry(id)
                    .or_insert_with(|| Session::new(id, now))
            }
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

    /// The next event, if any. With decode jobs, events after a job that has not come
    /// back wait for it ([`Self::complete`]).
    pub fn poll_event(&mut self) -> Option<ReceiverEvent> {
        if !self.ctx.work.event_free() {
            return None;
        }
        let e = self.ctx.events.pop_front()?;
        self.ctx.work.events_taken += 1;
        Some(e)
    }

    /// The next job to run on another thread (with [`ReceiverConfig::decode_jobs`]): a block
    /// to decode, or an object's next bytes to hash, decode and write. Also poll after
    /// [`Self::complete`]: a content piece's return can release the object's next piece.
    pub fn poll_work(&mut self) -> Option<DecodeJob> {
        self.ctx.work.queue.pop_front()
    }

    /// Takes back a finished decode job. Results are applied in the order the jobs were
    /// handed out: a job that finished early waits for the older ones.
    pub fn complete(&mut self, done: DecodeDone) {
        match done.result {
            Outcome::Pieces(pieces) => {
                for (seq, result) in pieces {
                    let piece = DecodeDone {
                        seq,
                        session: done.session,
                        toi: done.toi,
                        result,
                    };
                    self.ctx.work.done.insert(seq, piece);
                }
            }
            _ => {
                self.ctx.work.done.insert(done.seq, done);
            }
        }
        while let Some((ready, at, index)) = self.ctx.work.next_ready() {
            let before = self.ctx.events.len();
            self.ctx.work.applying = Some(Applying {
                at,
                before,
                index,
                inserted: 0,
            });
            let failed = match ready {
                Ready::Job(done) => self.apply(*done),
                Ready::Symbol { seq, session, toi } => {
                    self.apply_held(seq, session, toi);
                    None
                }
            };
            let inserted = self.ctx.work.applying.take().map_or(0, |a| a.inserted);
            // The events this job caused go where it was handed out.
            let caused: Vec<ReceiverEvent> = self.ctx.events.drain(before..).collect();
            let n = caused.len();
            let pos = usize::try_from(at.saturating_sub(self.ctx.work.events_taken))
                .unwrap_or(usize::MAX)
                .min(self.ctx.events.len());
            for (i, e) in caused.into_iter().enumerate() {
                self.ctx.events.insert(pos + i, e);
            }
            self.ctx.work.shift(n, index + inserted);
            if let Some((session, toi)) = failed {
                self.retract_progress(pos + n, session, toi);
            }
        }
    }

    /// Jobs handed out or waiting to be (including content pieces waiting for their
    /// object's earlier piece), not yet applied.
    pub fn jobs_pending(&self) -> usize {
        self.ctx.work.jobs()
    }

    /// A symbol held while its block's job ran: pushed now, where it arrived.
    fn apply_held(&mut self, seq: u64, session: SessionId, toi: u128) {
        let Some(s) = self.sessions.get_mut(&session) else {
            // The session ended meanwhile: its counters were retired.
            self.ctx.retired.drop(DropReason::Done);
            return;
        };
        let Some(o) = s.objects.get_mut(&toi) else {
            // Its object completed when the job was applied: the symbol came after the
            // decode, and is counted as it would have been without jobs.
            s.stats.drop(DropReason::Done);
            return;
        };
        let pushed = o
            .asm
            .release_held(seq, &mut self.ctx.budget, &mut s.stats.symbols_accepted);
        match pushed {
            Pushed::Dropped(r) => s.stats.drop(r),
            Pushed::Decoded(_) => {
                s.stats.blocks_decoded += 1;
                self.ctx.events.push_back(ReceiverEvent::Progress {
                    session: s.id,
                    toi: Toi(toi),
                    blocks_decoded: o.asm.decoded_blocks(),
                    blocks_total: o.asm.blocks(),
                });
                advance(&self.cfg, &mut self.ctx, s, toi);
            }
            Pushed::Accepted | Pushed::Deferred(_) | Pushed::Held(_) => {}
        }
    }

    /// The object's content failed at this piece: without jobs it would have left the
    /// table here, so the progress it made after (queued from index `from`) never was.
    fn retract_progress(&mut self, from: usize, session: SessionId, toi: u128) {
        let mut i = from;
        while i < self.ctx.events.len() {
            let ours = matches!(
                &self.ctx.events[i],
                ReceiverEvent::Progress { session: s, toi: t, .. } if *s == session && t.0 == toi
            );
            if ours {
                self.ctx.events.remove(i);
                self.ctx.work.unshift(self.ctx.work.events_taken + i as u64);
            } else {
                i += 1;
            }
        }
    }

    /// Applies a finished job; for a content piece that failed, returns its object.
    fn apply(&mut self, done: DecodeDone) -> Option<(SessionId, u128)> {
        let (sbn, result) = match done.result {
            Outcome::Block { sbn, result } => (sbn, result),
            Outcome::Content { pipeline, result } => {
                return self.apply_content(done.seq, done.session, done.toi, pipeline, result);
            }
            Outcome::Skipped | Outcome::Pieces(_) => return None,
        };
        let s = self.sessions.get_mut(&done.session)?;
        let o = s.objects.get_mut(&done.toi)?;
        let decoded = o.asm.job_done(sbn, done.seq, result, &mut self.ctx.budget);
        if decoded {
            s.stats.blocks_decoded += 1;
            self.ctx.events.push_back(ReceiverEvent::Progress {
                session: s.id,
                toi: Toi(done.toi),
                blocks_decoded: o.asm.decoded_blocks(),
                blocks_total: o.asm.blocks(),
            });
            advance(&self.cfg, &mut self.ctx, s, done.toi);
        }
        None
    }

    /// A content piece is back: the pipeline goes on with the object's next piece (or back
    /// to the object); the object's last piece reports it delivered or failed, and so does
    /// a piece that failed (the pieces after it are skipped).
    fn apply_content(
        &mut self,
        seq: u64,
        session: SessionId,
        toi: u128,
        pipeline: Option<Box<crate::pipeline::Pipeline>>,
        result: Result<Option<(crate::ObjectLocation, u64)>, FailReason>,
    ) -> Option<(SessionId, u128)> {
        let key = (session, toi);
        // No lane, or another job's: the object went (and maybe started again).
        let (ours, last) = match self.ctx.work.lanes.get(&key) {
            Some(l) => ((l.out.0..=l.out.1).contains(&seq), l.out.1 == seq),
            None => (false, false),
        };
        if !ours {
            if let Some(p) = pipeline {
                (*p).abort();
            }
            return None;
        }
        if matches!(result, Ok(None)) && !last {
            // Written, with more pieces of the same job after it.
            return None;
        }
        let mut lane = self.ctx.work.lanes.remove(&key)?;
        // The digest of a split object came back: its writing pipeline commits or aborts.
        let result = match self.ctx.work.split.remove(&key) {
            Some(sp) if !matches!(result, Ok(None)) => match (result, sp.commit) {
                (Ok(Some(_)), Some(w)) => w.finish().map(Some),
                (Ok(Some(_)), None) => Err(FailReason::ContentDecoding("internal".into())),
                (r, w) => {
                    if let Some(w) = w {
                        w.abort();
                    }
                    r
                }
            },
            Some(sp) => {
                self.ctx.work.split.insert(key, sp);
                result
            }
            None => result,
        };
        let failed = result.is_err();
        let delivered = match result {
            Ok(None) => {
                let Some(p) = pipeline else {
                    self.ctx.work.lanes.insert(key, lane);
                    return None;
                };
                // At most `MAX_BATCH` pieces a job: the loop, when it waits for the workers,
                // waits for a few blocks' work, not for all that piled up.
                let n = lane.pending.len().min(crate::work::MAX_BATCH);
                let first = lane.pending.front().map(|p| p.seq);
                let last = lane.pending.get(n.saturating_sub(1)).map(|p| p.seq);
                match (first, last) {
                    (Some(first), Some(last)) => {
                        lane.out = (first, last);
                        let pieces: Vec<crate::work::Piece> = lane.pending.drain(..n).collect();
                        self.ctx.work.queue.push_back(DecodeJob {
                            seq: first,
                            session,
                            toi,
                            kind: crate::work::JobKind::Content {
                                pipeline: p,
                                pieces,
                            },
                        });
                        self.ctx.work.lanes.insert(key, lane);
                    }
                    _ => match self.ctx.work.split.get_mut(&key) {
                        // A hash-only pipeline waits in its object's split.
                        Some(sp) => sp.idle = Some(*p),
                        None => match self
                            .sessions
                            .get_mut(&session)
                            .and_then(|s| s.objects.get_mut(&toi))
                        {
                            Some(o) => o.pipeline = Some(*p),
                            None => (*p).abort(),
                        },
                    },
                }
                return None;
            }
            Ok(Some(done)) => Ok(done),
            Err(e) => Err(e),
        };
        for p in lane.pending.drain(..) {
            self.ctx.work.skip(p.seq, session, toi);
        }
        match self.sessions.get_mut(&session) {
            Some(s) if s.objects.contains_key(&toi) => {
                finish_object(&self.cfg, &mut self.ctx, s, toi, Some(delivered));
            }
            Some(s) => report(&self.cfg, &mut self.ctx, s, toi, &lane.file, delivered),
            None => {
                // The session ended after the object's last piece went out: it is reported
                // here, before the session's end, as it would have been inline.
                let event = match delivered {
                    Ok((location, len)) => {
                        self.ctx.retired.objects_completed += 1;
                        ReceiverEvent::ObjectComplete {
                            session,
                            toi: Toi(toi),
                            content_location: lane.file.content_location.clone(),
                            location,
                            content_length: len,
                        }
                    }
                    Err(reason) => {
                        self.ctx.retired.objects_failed += 1;
                        ReceiverEvent::ObjectFailed {
                            session,
                            toi: Toi(toi),
                            reason,
                        }
                    }
                };
                self.ctx.events.push_back(event);
            }
        }
        failed.then_some(key)
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
    /// announced objects never started (no packet of them arrived). A finished object
    /// (complete or failed) that the newest FDT instance no longer lists is forgotten, so
    /// this stays bounded in a session that runs for days.
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

    /// Whether object `toi` of `session` finished (delivered or failed) and is remembered
    /// as such, so that its repetitions are not received again (the newest
    /// `ReceiverConfig::max_finished_memory` objects of a session).
    pub fn is_finished(&self, session: &SessionId, toi: Toi) -> bool {
        self.sessions
            .get(session)
            .is_some_and(|s| s.finished.contains(&toi.0))
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
