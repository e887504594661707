//! Decoding on other threads (issue 19 §1), the sans-IO way. With
//! `ReceiverConfig::decode_jobs`, a block that needs a real decode is handed out as a
//! [`DecodeJob`] ([`crate::Receiver::poll_work`]); the caller runs it anywhere
//! ([`DecodeJob::run`] is pure and `Send`) and gives it back
//! ([`crate::Receiver::complete`]), while the receiver goes on with the next datagrams.
//!
//! Order is kept in two ways. Results are applied in the order the jobs were handed out,
//! whatever order they finish in. And every job is a barrier in the event queue: events
//! that come after it wait in the queue, and the events the job causes when it is applied
//! (progress, the object's completion) are put at the barrier, where they would have been
//! without jobs. So objects are delivered, and events come out, in the same order as with
//! decoding inside `handle_datagram`.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use fec_schemes::BlockDecoder;

use crate::events::SessionId;

/// One source block to decode: run it ([`Self::run`]) on any thread and give the result to
/// [`crate::Receiver::complete`]. Every job handed out must come back: later events wait for
/// it.
pub struct DecodeJob {
    pub(crate) seq: u64,
    pub(crate) session: SessionId,
    pub(crate) toi: u128,
    pub(crate) sbn: u32,
    pub(crate) dec: Box<dyn BlockDecoder>,
}

impl core::fmt::Debug for DecodeJob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DecodeJob")
            .field("seq", &self.seq)
            .field("toi", &self.toi)
            .field("sbn", &self.sbn)
            .finish_non_exhaustive()
    }
}

impl DecodeJob {
    /// Decodes the block. Pure: no clock, no I/O, no shared state.
    pub fn run(mut self) -> DecodeDone {
        let result = self.dec.decode();
        DecodeDone {
            seq: self.seq,
            session: self.session,
            toi: self.toi,
            sbn: self.sbn,
            result: match result {
                Ok(bytes) => Ok(bytes),
                // Not enough symbols after all: the decoder goes back to collecting them.
                Err(_) => Err(self.dec),
            },
        }
    }
}

/// A finished [`DecodeJob`], for [`crate::Receiver::complete`].
pub struct DecodeDone {
    pub(crate) seq: u64,
    pub(crate) session: SessionId,
    pub(crate) toi: u128,
    pub(crate) sbn: u32,
    pub(crate) result: Result<Bytes, Box<dyn BlockDecoder>>,
}

impl core::fmt::Debug for DecodeDone {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DecodeDone")
            .field("seq", &self.seq)
            .field("toi", &self.toi)
            .field("sbn", &self.sbn)
            .field("decoded", &self.result.is_ok())
            .finish_non_exhaustive()
    }
}

/// A resolved barrier (`Work::next_ready`).
pub(crate) enum Ready {
    Job(DecodeDone),
    Symbol {
        seq: u64,
        session: SessionId,
        toi: u128,
    },
}

/// What a barrier waits for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Waiting {
    /// A job's result.
    Job(u64),
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
        self.barriers.push_back((
            Waiting::Job(job.seq),
            self.events_taken + events_len as u64,
        ));
        self.queue.push_back(job);
    }

    /// A symbol held under `seq` for a block a job is decoding.
    pub(crate) fn push_symbol(&mut self, seq: u64, session: SessionId, toi: u128, events_len: usize) {
        self.barriers.push_back((
            Waiting::Symbol { seq, session, toi },
            self.events_taken + events_len as u64,
        ));
    }

    /// Jobs handed out (or to be) and not applied.
    pub(crate) fn jobs(&self) -> usize {
        self.barriers
            .iter()
            .filter(|(w, _)| matches!(w, Waiting::Job(_)))
            .count()
    }

    /// Whether the next event (absolute index `events_taken`) may be handed out.
    pub(crate) fn event_free(&self) -> bool {
        self.barriers
            .front()
            .is_none_or(|&(_, at)| self.events_taken < at)
    }

    /// The next barrier that can be resolved, in order: a finished job, or a held symbol.
    pub(crate) fn next_ready(&mut self) -> Option<(Ready, u64)> {
        let &(w, at) = self.barriers.front()?;
        let ready = match w {
            Waiting::Job(seq) => Ready::Job(self.done.remove(&seq)?),
            Waiting::Symbol { seq, session, toi } => Ready::Symbol { seq, session, toi },
        };
        self.barriers.pop_front();
        Some((ready, at))
    }

    /// `n` events were put at a barrier: the later barriers move by `n`.
    pub(crate) fn shift(&mut self, n: usize) {
        for b in &mut self.barriers {
            b.1 += n as u64;
        }
    }
}
