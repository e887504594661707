//! Coding ahead on other threads (issue 19 §1), the sans-IO way: the sender hands out
//! [`EncodeJob`]s ([`Sender::poll_work`]), the caller runs them anywhere
//! ([`EncodeJob::run`] is pure and `Send`) and gives the results back
//! ([`Sender::complete`]). The sender never spawns a thread.
//!
//! Order is kept: a block whose job has not come back is waited for
//! ([`Sender::is_waiting_for_work`]), never overtaken, so the packets are the same, in the
//! same order, as with no jobs at all.

use super::*;

/// One source block to code ahead: run it ([`Self::run`]) on any thread, then give the
/// result to [`Sender::complete`]. Every job handed out must come back, or its object
/// waits for it forever.
pub struct EncodeJob {
    toi: Toi,
    generation: u64,
    sbn: u32,
    enc: Box<dyn BlockEncoder>,
    /// The repair ESIs the block will be sent with.
    repair: Range<u32>,
}

impl fmt::Debug for EncodeJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodeJob")
            .field("toi", &self.toi)
            .field("sbn", &self.sbn)
            .finish_non_exhaustive()
    }
}

impl EncodeJob {
    /// Codes the block ([`BlockEncoder::prepare_symbols`] with the repair ESIs it will be
    /// sent with: the repair symbols, or what they are made from). Pure: no clock, no I/O,
    /// no shared state.
    pub fn run(mut self) -> EncodeDone {
        let ok = self.enc.prepare_symbols(self.repair.clone()).is_ok();
        EncodeDone {
            toi: self.toi,
            generation: self.generation,
            sbn: self.sbn,
            // A failed preparation is not kept: the block is then coded when its turn
            // comes, and the error, if it recurs, fails the object there as usual.
            enc: ok.then_some(self.enc),
        }
    }

    /// The object.
    pub fn toi(&self) -> Toi {
        self.toi
    }

    /// The source block.
    pub fn sbn(&self) -> u32 {
        self.sbn
    }
}

/// A finished [`EncodeJob`], for [`Sender::complete`].
pub struct EncodeDone {
    toi: Toi,
    generation: u64,
    sbn: u32,
    enc: Option<Box<dyn BlockEncoder>>,
}

impl fmt::Debug for EncodeDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodeDone")
            .field("toi", &self.toi)
            .field("sbn", &self.sbn)
            .field("ok", &self.enc.is_some())
            .finish_non_exhaustive()
    }
}

/// How many objects `poll_work` looks at per call, in sending order.
const LOOKAHEAD_OBJECTS: usize = 16;

impl Sender {
    /// The next block to code ahead, up to [`SenderConfig::encode_ahead`] blocks between
    /// jobs running and results not yet used. Blocks are taken in the order they will be
    /// sent: the highest-priority queue first, objects being sent before waiting ones, then
    /// objects waiting for their FDT Instance; in each object the blocks after those
    /// already loaded. Only blocks that get repair symbols are worth a job (source symbols
    /// are copies). Reads the block from its source here, on the caller's thread.
    pub fn poll_work(&mut self) -> Option<EncodeJob> {
        let ahead = self.cfg.encode_ahead;
        if self.jobs_in_flight + self.ready_blocks >= ahead {
            return None;
        }
        // On the stack: this runs before every packet a pooled sender sends, most often
        // to find nothing to do (an object without repair symbols).
        let mut candidates = [0u128; LOOKAHEAD_OBJECTS];
        let mut n = 0;
        let queued = self
            .queues
            .values()
            .rev()
            .flat_map(|q| q.active.iter().chain(q.waiting.iter()));
        for t in queued.chain(self.pending_announce.values()) {
            if n == LOOKAHEAD_OBJECTS {
                break;
            }
            candidates[n] = *t;
            n += 1;
        }
        for &toi in &candidates[..n] {
            let Some(o) = self.objects.get_mut(&toi) else {
                continue;
            };
            if o.stream.is_some() || o.prepare_off {
                continue;
            }
            let start = if o.in_pass { o.next_sbn } else { 0 };
            let end = start.saturating_add(ahead as u64).min(o.blocking.blocks);
            for sbn in start..end {
                let Ok(sbn) = u32::try_from(sbn) else {
                    break;
                };
                if o.prepared.contains_key(&sbn) {
                    continue;
                }
                let made = o.blocking.block(sbn).ok().and_then(|spec| {
                    if o.repair.symbols(spec.source_symbols) == 0 {
                        return None;
                    }
                    let len = usize::try_from(spec.len).ok()?;
                    let data = o.source.read_block(spec.offset, len).ok()?;
                    o.scheme.encoder(&o.oti, &spec, data).ok()
                });
                let Some(enc) = made else {
                    // No repair, or the block cannot be read or coded here: it is coded
                    // when its turn comes, where a failure is reported as usual.
                    o.prepare_off = true;
                    break;
                };
                o.prepared.insert(sbn, None);
                self.jobs_in_flight += 1;
                let repair = data::repair_esis(enc.as_ref(), enc.block().source_symbols, o.repair);
                return Some(EncodeJob {
                    toi: Toi(toi),
                    generation: o.generation,
                    sbn,
                    enc,
                    repair,
                });
            }
        }
        None
    }

    /// Takes back a finished job. Results for objects that left meanwhile are dropped.
    pub fn complete(&mut self, done: EncodeDone) {
        self.jobs_in_flight = self.jobs_in_flight.saturating_sub(1);
        let Some(o) = self.objects.get_mut(&done.toi.0) else {
            return;
        };
        if o.generation != done.generation || !matches!(o.prepared.get(&done.sbn), Some(None)) {
            return;
        }
        match done.enc {
            Some(enc) => {
                o.prepared.insert(done.sbn, Some(enc));
                self.ready_blocks += 1;
            }
            None => {
                o.prepared.remove(&done.sbn);
            }
        }
    }

    /// True when the last [`Self::poll_transmit`] returned `None` because the next packet's
    /// block is still being coded by a job: give a job back ([`Self::complete`]) and poll
    /// again, at the same time.
    pub fn is_waiting_for_work(&self) -> bool {
        self.stalled
    }

    /// Jobs handed out and not yet given back.
    pub fn jobs_in_flight(&self) -> usize {
        self.jobs_in_flight
    }
}
