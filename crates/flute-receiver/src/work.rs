//! Decoding and content on other threads (issue 19 §1), the sans-IO way. With
//! `ReceiverConfig::decode_jobs`, a block that needs a real decode is handed out as a
//! [`DecodeJob`] ([`crate::Receiver::poll_work`]), and so are an object's decoded blocks,
//! in order, on their way out (Content-MD5, content decoding, the sink's writer: a
//! *content piece*); the caller runs it anywhere ([`DecodeJob::run`] is pure and `Send`)
//! and gives it back ([`crate::Receiver::complete`]), while the receiver goes on with the
//! next datagrams.
//!
//! Order is kept in two ways. Results are applied in the order the jobs were handed out,
//! whatever order they finish in. And every job is a barrier in the event queue: events
//! that come after it wait in the queue, and the events the job causes when it is applied
//! (progress, the object's completion) are put at the barrier, where they would have been
//! without jobs. So objects are delivered, and events come out, in the same order as with
//! decoding inside `handle_datagram`.
//!
//! Content pieces: an object's output pipeline (its MD5 state, its inflate or zstd state,
//! its writer) travels in the piece and comes back with the result, so the object's bytes
//! go through in order and never on two threads at once; pieces made while it is out wait
//! in the object's [`Lane`], each with its barrier already in place, and the next one is
//! handed out when the pipeline returns. Memory stays what it was: a piece holds the
//! blocks the pipeline would have consumed at that moment. The object's last piece checks
//! Content-MD5 and Content-Length and commits; the object leaves the receiver's table when
//! that piece is handed out (as it would on finishing inline) and is reported when it
//! comes back. A piece changes no state that later barriers read, so an unfinished piece
//! does not hold them back ([`Work::next_ready`]); its own events still go to its place.
//! A piece that fails (corrupt content, wrong digest) skips the object's later pieces and
//! takes back the object's progress events queued after it: without jobs the object would
//! have failed there.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use fdt::File as FdtFile;
use fec_schemes::BlockDecoder;

use crate::events::{FailReason, SessionId};
use crate::pipeline::Pipeline;
use crate::sink::ObjectLocation;

/// Work to run on any thread and give back to [`crate::Receiver::complete`]: the decode
/// of one source block, or the next in-order bytes of one object through its output
/// pipeline (Content-MD5, content decoding, the sink's writer; the last piece also checks
/// and commits). Every job handed out must come back: later events wait for it.
pub struct DecodeJob {
    pub(crate) seq: u64,
    pub(crate) session: SessionId,
    pub(crate) toi: u128,
    pub(crate) kind: JobKind,
}

pub(crate) enum JobKind {
    Block {
        sbn: u32,
        dec: Box<dyn BlockDecoder>,
    },
    /// Pieces of one object (its decoded blocks, in order), with the object's pipeline
    /// (its MD5 and decoder state): one object has at most one such job out, so its bytes
    /// go through in order and never on two threads at once. The pieces that waited for
    /// the pipeline go out together, in one job.
    Content {
        pipeline: Box<Pipeline>,
        pieces: Vec<Piece>,
    },
}

impl core::fmt::Debug for DecodeJob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("DecodeJob");
        d.field("seq", &self.seq).field("toi", &self.toi);
        match &self.kind {
            JobKind::Block { sbn, .. } => d.field("sbn", sbn),
            JobKind::Content { pieces, .. } => d.field("content_pieces", &pieces.len()),
        };
        d.finish_non_exhaustive()
    }
}

impl DecodeJob {
    /// Runs the job. Pure: no clock, no shared state; a content job writes to the object's
    /// [`crate::ObjectWriter`] (the sink's I/O happens on the thread that runs it).
    pub fn run(self) -> DecodeDone {
        let result = match self.kind {
            JobKind::Block { sbn, mut dec } => {
                let result = match dec.decode() {
                    Ok(bytes) => Ok(bytes),
                    // Not enough symbols after all: the decoder goes back to collecting them.
                    Err(_) => Err(dec),
                };
                Outcome::Block { sbn, result }
            }
            JobKind::Content { pipeline, pieces } => Outcome::Pieces(run_pieces(pipeline, pieces)),
        };
        DecodeDone {
            seq: self.seq,
            session: self.session,
            toi: self.toi,
            result,
        }
    }
}

/// Writes the pieces in order; each gets its outcome, and the last one the pipeline back
/// (unless the object finished or failed: then the pieces after are skipped).
fn run_pieces(pipeline: Box<Pipeline>, pieces: Vec<Piece>) -> Vec<(u64, Outcome)> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut pipeline = Some(pipeline);
    for piece in pieces {
        let Some(mut p) = pipeline.take() else {
            out.push((piece.seq, Outcome::Skipped));
            continue;
        };
        let result = match piece.blocks.iter().try_for_each(|b| p.write(b)) {
            Err(e) => {
                (*p).abort();
                Err(e)
            }
            Ok(()) if piece.finish => (*p).finish().map(Some),
            Ok(()) => {
                pipeline = Some(p);
                Ok(None)
            }
        };
        out.push((
            piece.seq,
            Outcome::Content {
                pipeline: None,
                result,
            },
        ));
    }
    if let (Some(p), Some((_, Outcome::Content { pipeline: slot, .. }))) =
        (pipeline, out.last_mut())
    {
        *slot = Some(p);
    }
    out
}

/// A finished [`DecodeJob`], for [`crate::Receiver::complete`].
pub struct DecodeDone {
    pub(crate) seq: u64,
    pub(crate) session: SessionId,
    pub(crate) toi: u128,
    pub(crate) result: Outcome,
}

pub(crate) enum Outcome {
    Block {
        sbn: u32,
        result: Result<Bytes, Box<dyn BlockDecoder>>,
    },
    Content {
        /// Back for the next piece, unless the object finished or failed.
        pipeline: Option<Box<Pipeline>>,
        /// `Some` when the object was committed.
        result: Result<Option<(ObjectLocation, u64)>, FailReason>,
    },
    /// A content piece not run: an earlier piece of its object failed, or the object went.
    Skipped,
    /// A content job's pieces, each with its own sequence number (split by `complete`).
    Pieces(Vec<(u64, Self)>),
}

impl core::fmt::Debug for DecodeDone {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("DecodeDone");
        d.field("seq", &self.seq).field("toi", &self.toi);
        match &self.result {
            Outcome::Block { sbn, result } => d.field("sbn", sbn).field("decoded", &result.is_ok()),
            Outcome::Content { result, .. } => d.field("content_ok", &result.is_ok()),
            Outcome::Skipped => d.field("skipped", &true),
            Outcome::Pieces(p) => d.field("content_pieces", &p.len()),
        };
        d.finish_non_exhaustive()
    }
}

/// Content pieces one job takes at most (those that waited for the object's pipeline).
pub(crate) const MAX_BATCH: usize = 8;

/// The content pieces of one object while its pipeline is out in a job.
pub(crate) struct Lane {
    /// The pieces of the job that has the pipeline: sequence numbers `out.0..=out.1`.
    pub(crate) out: (u64, u64),
    /// Pieces made since, each with its barrier already in place, in order.
    pub(crate) pending: VecDeque<Piece>,
    pub(crate) file: Arc<FdtFile>,
}

pub(crate) struct Piece {
    pub(crate) seq: u64,
    pub(crate) blocks: Vec<Bytes>,
    pub(crate) finish: bool,
}

/// The hash side of an object whose Content-MD5 runs apart from its writes.
#[derive(Default)]
pub(crate) struct Split {
    /// The hash-only pipeline while no piece has it.
    pub(crate) idle: Option<Pipeline>,
    /// The object's writing pipeline once its last piece went out: committed, or aborted,
    /// when that piece's digest comes back.
    pub(crate) commit: Option<Pipeline>,
}

/// A barrier being applied (`Receiver::complete`): barriers made meanwhile go where it
/// was, after the events it has caused so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applying {
    pub(crate) at: u64,
    pub(crate) before: usize,
    /// Where it was in `Work::barriers`.
    pub(crate) index: usize,
    pub(crate) inserted: usize,
}

/// A resolved barrier (`Work::next_ready`).
pub(crate) enum Ready {
    Job(Box<DecodeDone>),
    Symbol {
        seq: u64,
        session: SessionId,
        toi: u128,
    },
}

/// What a barrier waits for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Waiting {
    /// A block decode's result.
    Job(u64),
    /// A content piece's result.
    Content(u64),
    /// Nothing: a symbol held while its block's job ran (`Assembly::release_held`), to be
    /// pushed after that job, where it arrived.
    Symbol {
        seq: u64,
        session: SessionId,
        toi: u128,
    },
}

/// The receiver's side of the jobs.
#[derive(Default)]
pub(crate) struct Work {
    next_seq: u64,
    /// Jobs not handed out yet.
    pub(crate) queue: VecDeque<DecodeJob>,
    /// Jobs and held symbols not applied yet, oldest first, each with the absolute event
    /// index of its barrier.
    pub(crate) barriers: VecDeque<(Waiting, u64)>,
    /// Finished jobs waiting for the older ones.
    pub(crate) done: BTreeMap<u64, DecodeDone>,
    /// Events taken by `poll_event` so far (event indexes are absolute).
    pub(crate) events_taken: u64,
    /// Objects whose pipeline is out in a content job.
    pub(crate) lanes: HashMap<(SessionId, u128), Lane>,
    /// Objects without content encoding whose Content-MD5 is computed apart
    /// (`Pipeline::split_md5`): the content pieces carry the hash only, the writes stay
    /// on the loop.
    pub(crate) split: HashMap<(SessionId, u128), Split>,
    pub(crate) applying: Option<Applying>,
    /// Job and content barriers in `barriers`.
    jobs: usize,
}

impl Work {
    /// Queues a job for block `sbn` of (`session`, `toi`), with its barrier after the
    /// `events_len` events queued so far. Returns its sequence number.
    pub(crate) fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub(crate) fn push(&mut self, job: DecodeJob, events_len: usize) {
        self.barrier(Waiting::Job(job.seq), events_len);
        self.queue.push_back(job);
    }

    /// A barrier after the `events_len` events queued so far; while a barrier is being
    /// applied, at its place instead (after the events it has caused so far).
    fn barrier(&mut self, w: Waiting, events_len: usize) {
        if matches!(w, Waiting::Job(_) | Waiting::Content(_)) {
            self.jobs += 1;
        }
        match &mut self.applying {
            Some(a) => {
                let at = a.at + events_len.saturating_sub(a.before) as u64;
                self.barriers.insert(a.index + a.inserted, (w, at));
                a.inserted += 1;
            }
            None => self
                .barriers
                .push_back((w, self.events_taken + events_len as u64)),
        }
    }

    /// The next in-order bytes of an object (`blocks`, and whether they are its last), as
    /// a content job with its barrier here. `pipeline` is `None` while the object's
    /// pipeline is out in an earlier job: the piece waits in the object's lane.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn content(
        &mut self,
        session: SessionId,
        toi: u128,
        file: &Arc<FdtFile>,
        pipeline: Option<Pipeline>,
        blocks: Vec<Bytes>,
        finish: bool,
        events_len: usize,
    ) {
        let seq = self.next_seq();
        self.barrier(Waiting::Content(seq), events_len);
        match pipeline {
            Some(pipeline) => {
                self.lanes.insert(
                    (session, toi),
                    Lane {
                        out: (seq, seq),
                        pending: VecDeque::new(),
                        file: Arc::clone(file),
                    },
                );
                self.queue.push_back(DecodeJob {
                    seq,
                    session,
                    toi,
                    kind: JobKind::Content {
                        pipeline: Box::new(pipeline),
                        pieces: vec![Piece {
                            seq,
                            blocks,
                            finish,
                        }],
                    },
                });
            }
            None => match self.lanes.get_mut(&(session, toi)) {
                Some(lane) => lane.pending.push_back(Piece {
                    seq,
                    blocks,
                    finish,
                }),
                None => self.skip(seq, session, toi),
            },
        }
    }

    /// Whether object (`session`, `toi`) has its pipeline out in a content job.
    pub(crate) fn content_out(&self, session: SessionId, toi: u128) -> bool {
        self.lanes.contains_key(&(session, toi))
    }

    /// The object left the table while its pipeline was out: its waiting pieces are
    /// skipped, and the pipeline is aborted when its job comes back.
    pub(crate) fn drop_lane(&mut self, session: SessionId, toi: u128) {
        self.split.remove(&(session, toi));
        if let Some(lane) = self.lanes.remove(&(session, toi)) {
            for p in lane.pending {
                self.skip(p.seq, session, toi);
            }
        }
    }

    /// Resolves the barrier of a piece that will not run.
    pub(crate) fn skip(&mut self, seq: u64, session: SessionId, toi: u128) {
        self.done.insert(
            seq,
            DecodeDone {
                seq,
                session,
                toi,
                result: Outcome::Skipped,
            },
        );
    }

    /// A symbol held under `seq` for a block a job is decoding.
    pub(crate) fn push_symbol(
        &mut self,
        seq: u64,
        session: SessionId,
        toi: u128,
        events_len: usize,
    ) {
        self.barrier(Waiting::Symbol { seq, session, toi }, events_len);
    }

    /// Jobs handed out (or to be) and not applied.
    pub(crate) fn jobs(&self) -> usize {
        self.jobs
    }

    /// Whether the next event (absolute index `events_taken`) may be handed out.
    pub(crate) fn event_free(&self) -> bool {
        self.barriers
            .front()
            .is_none_or(|&(_, at)| self.events_taken < at)
    }

    /// The next barrier that can be resolved, with its place in `barriers`: a finished job
    /// or a held symbol, in order, except that unfinished content pieces are passed over.
    /// A piece changes nothing the later barriers read (it only writes the object out), and
    /// its events go to its own place when it comes back, before those of later barriers;
    /// so the block decodes behind it apply, and their progress counts, as without jobs.
    pub(crate) fn next_ready(&mut self) -> Option<(Ready, u64, usize)> {
        let mut index = None;
        for (i, &(w, _)) in self.barriers.iter().enumerate() {
            match w {
                Waiting::Content(seq) if !self.done.contains_key(&seq) => {}
                Waiting::Job(seq) if !self.done.contains_key(&seq) => return None,
                _ => {
                    index = Some(i);
                    break;
                }
            }
        }
        let i = index?;
        let (w, at) = *self.barriers.get(i)?;
        let ready = match w {
            Waiting::Job(seq) | Waiting::Content(seq) => {
                let done = self.done.remove(&seq)?;
                self.jobs -= 1;
                Ready::Job(Box::new(done))
            }
            Waiting::Symbol { seq, session, toi } => Ready::Symbol { seq, session, toi },
        };
        self.barriers.remove(i);
        Some((ready, at, i))
    }

    /// `n` events were put at a barrier: the later barriers move by `n`, from index `skip`
    /// on (the earlier ones are content pieces before it, and those made while it was
    /// applied, already placed among its events).
    pub(crate) fn shift(&mut self, n: usize, skip: usize) {
        for b in self.barriers.iter_mut().skip(skip) {
            b.1 += n as u64;
        }
    }

    /// The event at absolute index `at` was taken out of the queue: later barriers move
    /// back by one.
    pub(crate) fn unshift(&mut self, at: u64) {
        for b in &mut self.barriers {
            if b.1 > at {
                b.1 -= 1;
            }
        }
    }
}
