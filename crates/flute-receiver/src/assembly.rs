//! Reassembly of one transport object from encoding symbols: one FEC decoder per source
//! block, created on the first symbol of the block and dropped as soon as the block decodes.
//! Decoded blocks wait in `ready` until every block before them is out, so content leaves
//! in order; everything held is charged to a shared [`Budget`].

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use fec_schemes::{BlockDecoder, Blocking, FecError, FecScheme, Oti, PushOutcome};

use crate::stats::DropReason;

/// Bytes held in undecoded blocks and in decoded blocks not yet written out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) used: u64,
    pub(crate) max: u64,
}

impl Budget {
    pub(crate) fn try_charge(&mut self, n: u64) -> bool {
        match self.used.checked_add(n) {
            Some(u) if u <= self.max => {
                self.used = u;
                true
            }
            _ => false,
        }
    }
    pub(crate) fn charge(&mut self, n: u64) {
        self.used = self.used.saturating_add(n);
    }
    pub(crate) fn release(&mut self, n: u64) {
        self.used = self.used.saturating_sub(n);
    }
}

/// What pushing one symbol did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Accepted,
    /// Accepted, and block `sbn` is now decoded.
    Decoded(u32),
    /// Accepted, and block `sbn` is decodable: its decoder waits in the assembly to be
    /// handed out as a decode job ([`Assembly::hand_out`]).
    Deferred(u32),
    /// For block `sbn`, which a job is decoding: kept aside ([`Assembly::hold`]) and pushed
    /// when the job is back, in case the decode needed more symbols.
    Held(u32),
    Dropped(DropReason),
}

/// A block decoded elsewhere (a decode job): its budget charge, the job's sequence number,
/// and its decoder until the job is handed out.
pub(crate) struct Deferred {
    pub(crate) charge: u64,
    pub(crate) seq: u64,
    pub(crate) dec: Option<Box<dyn BlockDecoder>>,
}

pub(crate) struct Assembly {
    pub(crate) oti: Oti,
    pub(crate) scheme: Arc<dyn FecScheme>,
    pub(crate) blocking: Blocking,
    /// Open decoders by SBN: a few at a time (one in order without loss), looked up on
    /// every symbol, so an ordered map (a couple of comparisons, no hashing).
    decoders: BTreeMap<u32, (Box<dyn BlockDecoder>, u64)>,
    next_out: u64,
    pub(crate) ready: BTreeMap<u32, Bytes>,
    decoded_blocks: u64,
    /// Hand decodable blocks out as decode jobs (`ReceiverConfig::decode_jobs`; objects
    /// only, never the FDT).
    pub(crate) defer: bool,
    pub(crate) deferred: HashMap<u32, Deferred>,
    /// Symbols that came for a block while a job decoded it, by their sequence number:
    /// (SBN, ESI, the packet's symbol bytes).
    held: HashMap<u64, (u32, u32, Vec<u8>)>,
    /// Per block, symbols held and not yet pushed: while there are any, a new symbol of the
    /// block is held too, behind them (after a failed decode the block takes its symbols in
    /// the order they came). At most k per block.
    held_count: HashMap<u32, u32>,
    last_held: Option<(u32, u32, Vec<u8>)>,
}

impl Assembly {
    pub(crate) fn new(oti: Oti, scheme: Arc<dyn FecScheme>) -> Result<Self, FecError> {
        let blocking = scheme.blocking(&oti)?;
        Ok(Self {
            oti,
            scheme,
            blocking,
            decoders: BTreeMap::new(),
            next_out: 0,
            ready: BTreeMap::new(),
            decoded_blocks: 0,
            defer: false,
            deferred: HashMap::new(),
            held: HashMap::new(),
            held_count: HashMap::new(),
            last_held: None,
        })
    }

    /// Files the symbol of the last [`Pushed::Held`] under `seq`.
    pub(crate) fn hold(&mut self, seq: u64) {
        if let Some(h) = self.last_held.take() {
            self.held.insert(seq, h);
        }
    }

    /// The job of its block is back: pushes the symbol held under `seq` as if it arrived
    /// now (a failed decode needed it), decoding at once if it completes the block.
    pub(crate) fn release_held(
        &mut self,
        seq: u64,
        budget: &mut Budget,
        accepted: &mut u64,
    ) -> Pushed {
        let Some((sbn, esi, data)) = self.held.remove(&seq) else {
            return Pushed::Dropped(DropReason::NotNeeded);
        };
        if let Some(n) = self.held_count.get_mut(&sbn) {
            *n -= 1;
            if *n == 0 {
                self.held_count.remove(&sbn);
            }
        }
        let defer = std::mem::replace(&mut self.defer, false);
        let r = self.push_inner(sbn, esi, &data, budget, accepted, true);
        self.defer = defer;
        r
    }

    /// Takes the decoder of deferred block `sbn` to hand it out as job `seq`.
    pub(crate) fn hand_out(&mut self, sbn: u32, seq: u64) -> Option<Box<dyn BlockDecoder>> {
        let d = self.deferred.get_mut(&sbn)?;
        d.seq = seq;
        d.dec.take()
    }

    /// A decode job came back for block `sbn`: with the block's bytes, it is decoded (true);
    /// with an error, its decoder goes back to collecting symbols. Ignored (false) unless
    /// the block still waits for job `seq`.
    pub(crate) fn job_done(
        &mut self,
        sbn: u32,
        seq: u64,
        result: Result<Bytes, Box<dyn BlockDecoder>>,
        budget: &mut Budget,
    ) -> bool {
        if self.deferred.get(&sbn).map(|d| d.seq) != Some(seq) {
            return false;
        }
        let Some(d) = self.deferred.remove(&sbn) else {
            return false;
        };
        match result {
            Ok(bytes) => {
                budget.release(d.charge);
                budget.charge(bytes.len() as u64);
                self.ready.insert(sbn, bytes);
                self.decoded_blocks += 1;
                true
            }
            Err(dec) => {
                self.decoders.insert(sbn, (dec, d.charge));
                false
            }
        }
    }

    /// Stops handing out jobs (the object leaves the receive path, e.g. for repair): blocks
    /// waiting for a job are given up, as undecoded blocks are.
    pub(crate) fn stop_deferring(&mut self, budget: &mut Budget) {
        self.defer = false;
        for (_, d) in self.deferred.drain() {
            budget.release(d.charge);
        }
        self.held.clear();
        self.held_count.clear();
    }

    pub(crate) fn blocks(&self) -> u64 {
        self.blocking.blocks
    }

    pub(crate) fn decoded_blocks(&self) -> u64 {
        self.decoded_blocks
    }

    fn is_block_done(&self, sbn: u32) -> bool {
        u64::from(sbn) < self.next_out || self.ready.contains_key(&sbn)
    }

    /// True once every block has been decoded and handed out.
    pub(crate) fn is_complete(&self) -> bool {
        self.next_out >= self.blocking.blocks
    }

    /// Pushes the symbols of one packet: `data` holds one or more consecutive symbols
    /// starting at `esi`, each `E` bytes except possibly the last.
    pub(crate) fn push(
        &mut self,
        sbn: u32,
        esi: u32,
        data: &[u8],
        budget: &mut Budget,
        accepted: &mut u64,
    ) -> Pushed {
        self.push_inner(sbn, esi, data, budget, accepted, false)
    }

    /// [`Self::push`]; `replay`: a held symbol pushed in its turn (not held again).
    fn push_inner(
        &mut self,
        sbn: u32,
        esi: u32,
        data: &[u8],
        budget: &mut Budget,
        accepted: &mut u64,
        replay: bool,
    ) -> Pushed {
        if u64::from(sbn) >= self.blocking.blocks {
            return Pushed::Dropped(DropReason::BadSymbol);
        }
        if self.is_block_done(sbn) {
            return Pushed::Dropped(DropReason::NotNeeded);
        }
        let waiting = self.deferred.contains_key(&sbn) || self.held_count.contains_key(&sbn);
        if waiting && !replay {
            let k = self.blocking.block(sbn).map_or(0, |b| b.source_symbols);
            let n = self.held_count.entry(sbn).or_insert(0);
            if data.is_empty() || *n >= k.max(1) {
                if *n == 0 {
                    self.held_count.remove(&sbn);
                }
                return Pushed::Dropped(DropReason::NotNeeded);
            }
            *n += 1;
            self.last_held = Some((sbn, esi, data.to_vec()));
            return Pushed::Held(sbn);
        }
        if data.is_empty() {
            // Catalogue item 27: a zero-length symbol carries nothing.
            return Pushed::Dropped(DropReason::BadSymbol);
        }
        let (dec, _) = match self.decoders.entry(sbn) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let Ok(block) = self.blocking.block(sbn) else {
                    return Pushed::Dropped(DropReason::BadSymbol);
                };
                let charge =
                    u64::from(block.source_symbols).saturating_mul(u64::from(block.symbol_length));
                if !budget.try_charge(charge) {
                    return Pushed::Dropped(DropReason::BlockBudget);
                }
                match self.scheme.decoder(&self.oti, &block) {
                    Ok(d) => v.insert((d, charge)),
                    Err(_) => {
                        budget.release(charge);
                        return Pushed::Dropped(DropReason::BadSymbol);
                    }
                }
            }
        };
        let e = usize::from(self.oti.encoding_symbol_length.max(1));
        let mut result = Pushed::Dropped(DropReason::DuplicateSymbol);
        for (i, sym) in data.chunks(e).enumerate() {
            let Some(id) = esi.checked_add(i as u32) else {
                break;
            };
            match dec.push(id, sym) {
                Ok(PushOutcome::Accepted) => {
                    *accepted += 1;
                    result = Pushed::Accepted;
                }
                Ok(PushOutcome::Duplicate) => {}
                Ok(_) => {
                    if result != Pushed::Accepted {
                        result = Pushed::Dropped(DropReason::NotNeeded);
                    }
                }
                Err(_) => {
                    if result != Pushed::Accepted {
                        result = Pushed::Dropped(DropReason::BadSymbol);
                    }
                }
            }
        }
        if result == Pushed::Accepted && dec.is_decodable() {
            // A real decode (source symbols missing) goes to a job; so does every block of
            // an object that already waits for one, so that blocks complete in the order
            // they would without jobs.
            let defer = self.defer
                && (!self.deferred.is_empty() || !dec.missing_source_symbols().is_empty());
            if defer {
                if let Some((dec, charge)) = self.decoders.remove(&sbn) {
                    self.deferred.insert(
                        sbn,
                        Deferred {
                            charge,
                            seq: 0,
                            dec: Some(dec),
                        },
                    );
                }
                return Pushed::Deferred(sbn);
            }
            if let Ok(bytes) = dec.decode() {
                if let Some((_, charge)) = self.decoders.remove(&sbn) {
                    budget.release(charge);
                }
                budget.charge(bytes.len() as u64);
                self.ready.insert(sbn, bytes);
                self.decoded_blocks += 1;
                return Pushed::Decoded(sbn);
            }
        }
        result
    }

    /// Takes the decoded blocks that are next in order, releasing their budget.
    pub(crate) fn take_in_order(&mut self, budget: &mut Budget) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Ok(sbn) = u32::try_from(self.next_out) {
            let Some(b) = self.ready.remove(&sbn) else {
                break;
            };
            budget.release(b.len() as u64);
            out.push(b);
            self.next_out += 1;
        }
        out
    }

    /// Releases the decoders of blocks not decoded yet (their symbols will have to be
    /// received again); decoded blocks are kept.
    pub(crate) fn release_undecoded(&mut self, budget: &mut Budget) {
        for (_, (_, charge)) in std::mem::take(&mut self.decoders) {
            budget.release(charge);
        }
        for (_, d) in self.deferred.drain() {
            budget.release(d.charge);
        }
        self.held.clear();
        self.held_count.clear();
    }

    /// Bytes this assembly holds against its budget: open decoders and decoded blocks not
    /// yet handed out.
    pub(crate) fn held(&self) -> u64 {
        let open: u64 = self.decoders.values().map(|(_, c)| *c).sum::<u64>()
            + self.deferred.values().map(|d| d.charge).sum::<u64>();
        let ready: u64 = self.ready.values().map(|b| b.len() as u64).sum();
        open.saturating_add(ready)
    }

    /// Releases everything this assembly holds.
    pub(crate) fn release(&mut self, budget: &mut Budget) {
        for (_, (_, charge)) in std::mem::take(&mut self.decoders) {
            budget.release(charge);
        }
        for (_, d) in self.deferred.drain() {
            budget.release(d.charge);
        }
        self.held.clear();
        self.held_count.clear();
        for (_, b) in std::mem::take(&mut self.ready) {
            budget.release(b.len() as u64);
        }
    }

    /// Missing source symbols per block that is not decoded yet, lowest SBN first, at most
    /// [`MAX_MISSING_BLOCKS`] blocks. Blocks of which nothing was received are reported
    /// with `untouched` set and no ESI list (all of `0..k` are missing), so the answer
    /// stays small for any object size.
    pub(crate) fn missing(&self) -> Vec<MissingBlock> {
        let mut out = Vec::new();
        for block in self.blocking.iter() {
            if out.len() >= MAX_MISSING_BLOCKS {
                break;
            }
            if self.is_block_done(block.sbn) || self.deferred.contains_key(&block.sbn) {
                continue; // decoded, or being decoded by a job
            }
            let (untouched, esis) = match self.decoders.get(&block.sbn) {
                Some((d, _)) => (false, d.missing_source_symbols()),
                None => (true, Vec::new()),
            };
            out.push(MissingBlock {
                sbn: block.sbn,
                source_symbols: block.source_symbols,
                untouched,
                missing_esis: esis,
            });
        }
        out
    }
}

/// Largest number of blocks [`crate::Receiver::missing`] reports.
pub const MAX_MISSING_BLOCKS: usize = 65_536;

/// What is still missing of one source block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingBlock {
    /// Source Block Number.
    pub sbn: u32,
    /// Number of source symbols k of the block.
    pub source_symbols: u32,
    /// Nothing of this block was received: every ESI in `0..k` is missing (not listed).
    pub untouched: bool,
    /// Source symbols (ESI < k) not received. With an FEC code, receiving any
    /// `missing_esis.len()` more symbols of the block (source or repair) usually suffices.
    pub missing_esis: Vec<u32>,
}
