//! Reassembly of one transport object from encoding symbols: one FEC decoder per source
//! block, created on the first symbol of the block and dropped as soon as the block decodes.
//! Decoded blocks wait in `ready` until every block before them is out, so content leaves
//! in order; everything held is charged to a shared [`Budget`].

use std::collections::hash_map::Entry;
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
    Dropped(DropReason),
}

pub(crate) struct Assembly {
    pub(crate) oti: Oti,
    pub(crate) scheme: Arc<dyn FecScheme>,
    pub(crate) blocking: Blocking,
    decoders: HashMap<u32, (Box<dyn BlockDecoder>, u64)>,
    next_out: u64,
    ready: BTreeMap<u32, Bytes>,
    decoded_blocks: u64,
}

impl Assembly {
    pub(crate) fn new(oti: Oti, scheme: Arc<dyn FecScheme>) -> Result<Self, FecError> {
        let blocking = scheme.blocking(&oti)?;
        Ok(Self {
            oti,
            scheme,
            blocking,
            decoders: HashMap::new(),
            next_out: 0,
            ready: BTreeMap::new(),
            decoded_blocks: 0,
        })
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
        if u64::from(sbn) >= self.blocking.blocks {
            return Pushed::Dropped(DropReason::BadSymbol);
        }
        if self.is_block_done(sbn) {
            return Pushed::Dropped(DropReason::NotNeeded);
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
        for (_, (_, charge)) in self.decoders.drain() {
            budget.release(charge);
        }
    }

    /// Bytes this assembly holds against its budget: open decoders and decoded blocks not
    /// yet handed out.
    pub(crate) fn held(&self) -> u64 {
        let open: u64 = self.decoders.values().map(|(_, c)| *c).sum();
        let ready: u64 = self.ready.values().map(|b| b.len() as u64).sum();
        open.saturating_add(ready)
    }

    /// Releases everything this assembly holds.
    pub(crate) fn release(&mut self, budget: &mut Budget) {
        for (_, (_, charge)) in self.decoders.drain() {
            budget.release(charge);
        }
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
            if self.is_block_done(block.sbn) {
                continue;
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
