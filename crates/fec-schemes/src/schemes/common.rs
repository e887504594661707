//! Pieces shared by systematic codecs.

use std::collections::HashMap;

use bytes::Bytes;

use crate::{BlockSpec, Blocking, FecError, PushOutcome, SchemeSpecific};

/// Reads the FDT scheme-specific info of a scheme that has none: empty is
/// [`SchemeSpecific::None`], anything else [`FecError::InvalidOti`] with `reason`.
pub(crate) fn no_scheme_specific(
    info: &[u8],
    reason: &'static str,
) -> Result<SchemeSpecific, FecError> {
    if info.is_empty() {
        Ok(SchemeSpecific::None)
    } else {
        Err(FecError::InvalidOti {
            field: "Scheme-Specific-Info",
            value: info.len() as u64,
            reason,
        })
    }
}

/// Checks that an encoder's source `data` is exactly the block: [`FecError::InvalidOti`]
/// with field `"block length"` otherwise.
pub(crate) fn check_block_data(block: &BlockSpec, data: &[u8]) -> Result<(), FecError> {
    if data.len() as u64 != block.len {
        return Err(FecError::InvalidOti {
            field: "block length",
            value: data.len() as u64,
            reason: "source data does not match the block length",
        });
    }
    Ok(())
}

/// Checks that `block` is one of the blocks of `blocking` (a hostile [`BlockSpec`] must not
/// reach a codec): the block's own error for an SBN beyond the object, else
/// [`FecError::InvalidOti`] with field `"block"` when it differs.
pub(crate) fn check_block_of(blocking: &Blocking, block: &BlockSpec) -> Result<(), FecError> {
    let expected = blocking.block(block.sbn)?;
    if expected != *block {
        return Err(FecError::InvalidOti {
            field: "block",
            value: block.sbn.into(),
            reason: "block does not belong to this OTI's partitioning",
        });
    }
    Ok(())
}

/// Fails with [`FecError::EsiOutOfRange`] unless `esi < limit`.
pub(crate) fn check_esi(esi: u32, limit: u32) -> Result<(), FecError> {
    if esi >= limit {
        return Err(FecError::EsiOutOfRange { esi, limit });
    }
    Ok(())
}

/// What [`SymbolLog::admit`] made of a received symbol.
pub(crate) enum Admitted {
    /// A new symbol, padded to T bytes; the decoder stores it.
    New(Vec<u8>),
    /// Nothing to store: a duplicate, or a symbol beyond the memory bound.
    Done(PushOutcome),
}

/// Receipt bookkeeping shared by the fountain-code decoders (Raptor, RaptorQ): ESI range,
/// symbol length, duplicate/conflict detection by fingerprint, and a memory bound of
/// 2k + 64 distinct symbols.
///
/// Source ESIs (below k, the bulk of the traffic) are looked up in a `Vec` indexed by ESI;
/// only repair ESIs, which the sender picks from a 2^24 space, go through a `HashMap`
/// (std's SipHash keeps it robust against chosen ESIs).
#[derive(Debug)]
pub(crate) struct SymbolLog {
    block: BlockSpec,
    /// Symbol size T.
    t: u16,
    /// Exclusive ESI limit.
    esi_limit: u32,
    /// Whether the last source symbol may arrive short (no sub-blocking).
    short_ok: bool,
    /// Source ESI -> fingerprint of the (padded) symbol, [`UNSEEN`] if not received.
    source: Vec<u64>,
    /// Number of source ESIs received.
    source_count: usize,
    /// Repair ESI -> fingerprint.
    repair: HashMap<u32, u64>,
}

/// Marks a source ESI not received in [`SymbolLog::source`]; [`fingerprint`] never returns it.
const UNSEEN: u64 = 0;

impl SymbolLog {
    /// An empty log for `block` (symbols of `t` bytes, ESIs below `esi_limit`). The last
    /// source symbol may arrive short when `short_ok`; it is then padded with zeros.
    /// Allocates 8 bytes per source symbol, which the caller's OTI validation bounds.
    pub(crate) fn new(block: BlockSpec, t: u16, esi_limit: u32, short_ok: bool) -> Self {
        Self {
            block,
            t,
            esi_limit,
            short_ok,
            source: vec![UNSEEN; block.source_symbols as usize],
            source_count: 0,
            repair: HashMap::new(),
        }
    }

    /// Number of distinct symbols stored.
    pub(crate) fn len(&self) -> usize {
        self.source_count + self.repair.len()
    }

    /// Checks symbol `esi` (range, length, duplicate or conflict, memory bound) and returns
    /// it padded to T bytes if it is new. `done` says the block is already decoded.
    pub(crate) fn admit(
        &mut self,
        esi: u32,
        symbol: &[u8],
        done: bool,
    ) -> Result<Admitted, FecError> {
        check_esi(esi, self.esi_limit)?;
        let t = usize::from(self.t);
        let short_ok = self.short_ok
            && self
                .block
                .source_symbol_len(esi)
                .filter(|&l| l < t)
                .is_some_and(|l| symbol.len() == l);
        if symbol.len() != t && !short_ok {
            return Err(FecError::SymbolLength {
                esi,
                len: symbol.len(),
                expected: t,
            });
        }
        // The fingerprint is of the padded symbol, so that a short last source symbol and
        // the same symbol sent padded to T bytes are duplicates, not a conflict.
        let mut data = Vec::with_capacity(t);
        data.extend_from_slice(symbol);
        data.resize(t, 0);
        let fp = fingerprint(&data);
        let old = match self.source.get(esi as usize) {
            Some(&old) => (old != UNSEEN).then_some(old),
            None => self.repair.get(&esi).copied(),
        };
        if let Some(old) = old {
            return if old == fp {
                Ok(Admitted::Done(PushOutcome::Duplicate))
            } else {
                Err(FecError::ConflictingSymbol { esi })
            };
        }
        // Memory bound: beyond 2k + 64 distinct symbols more cannot realistically help, so
        // they are not stored (a hostile sender cannot make the decoder hold 2^24 symbols).
        if done || self.len() as u64 >= 2 * u64::from(self.block.source_symbols) + 64 {
            return Ok(Admitted::Done(PushOutcome::NotNeeded));
        }
        match self.source.get_mut(esi as usize) {
            Some(slot) => {
                *slot = fp;
                self.source_count += 1;
            }
            None => {
                self.repair.insert(esi, fp);
            }
        }
        Ok(Admitted::New(data))
    }
}

/// Source ESIs below `k` still flagged in `missing`; none once the block is `done`.
pub(crate) fn missing_esis(missing: &[bool], k: u32, done: bool) -> Vec<u32> {
    if done {
        return Vec::new();
    }
    (0..k)
        .filter(|&i| missing.get(i as usize).copied().unwrap_or(false))
        .collect()
}

/// A fast 64-bit fingerprint (multiply–xorshift mixing over four independent 8-byte lanes, so the multiplications overlap), used to
/// recognise a repeated ESI without keeping a second copy of every symbol. Never
/// [`UNSEEN`]. Not collision-resistant: an attacker who can forge symbols can forge anything
/// anyway, and a collision only makes a conflicting symbol look like a duplicate (it is
/// dropped either way).
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    const M: u64 = 0x9E37_79B9_7F4A_7C15;
    fn mix(h: u64, v: u64) -> u64 {
        let h = (h ^ v).wrapping_mul(M);
        h ^ (h >> 29)
    }
    fn word(c: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    }
    let seed = bytes.len() as u64 ^ 0x243F_6A88_85A3_08D3;
    let mut lanes = [
        seed,
        seed ^ M,
        seed.rotate_left(17),
        seed.rotate_left(41) ^ M,
    ];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (lane, c) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            *lane = mix(*lane, word(c));
        }
    }
    let mut h = lanes.iter().fold(seed, |h, &l| mix(h, l));
    let mut words = blocks.remainder().chunks_exact(8);
    for c in &mut words {
        h = mix(h, word(c));
    }
    for &b in words.remainder() {
        h = mix(h, u64::from(b));
    }
    if h == UNSEEN { 1 } else { h }
}

/// Collects the source symbols of one block into a single buffer of `block.len` bytes
/// (padded to `k * E` while collecting), copying each symbol exactly once.
///
/// Useful for any systematic code: received source symbols land in place, and a decoder
/// only has to fill the gaps.
#[derive(Debug, Clone)]
pub struct SourceBlockBuffer {
    block: BlockSpec,
    data: Vec<u8>,
    have: Vec<bool>,
    count: u32,
}

impl SourceBlockBuffer {
    /// An empty buffer for `block`. Allocates `k * E` bytes, which the caller's OTI
    /// validation bounds.
    pub fn new(block: BlockSpec) -> Self {
        let full = block.source_symbols as usize * usize::from(block.symbol_length);
        Self {
            block,
            data: vec![0; full],
            have: vec![false; block.source_symbols as usize],
            count: 0,
        }
    }

    /// The block.
    pub fn block(&self) -> &BlockSpec {
        &self.block
    }

    /// Stores source symbol `esi`, checking range, length and duplicates.
    pub fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError> {
        let k = self.block.source_symbols;
        let expected = self
            .block
            .source_symbol_len(esi)
            .ok_or(FecError::EsiOutOfRange { esi, limit: k })?;
        let e = usize::from(self.block.symbol_length);
        // The short last symbol may also arrive padded to E (schemes that always send E bytes).
        if symbol.len() != expected && symbol.len() != e {
            return Err(FecError::SymbolLength {
                esi,
                len: symbol.len(),
                expected,
            });
        }
        let start = esi as usize * e;
        let dst = &mut self.data[start..start + expected];
        let src = &symbol[..expected];
        if self.have[esi as usize] {
            return if dst == src {
                Ok(PushOutcome::Duplicate)
            } else {
                Err(FecError::ConflictingSymbol { esi })
            };
        }
        dst.copy_from_slice(src);
        self.have[esi as usize] = true;
        self.count += 1;
        Ok(PushOutcome::Accepted)
    }

    /// Whether source symbol `esi` is present.
    pub fn has(&self, esi: u32) -> bool {
        self.have.get(esi as usize).copied().unwrap_or(false)
    }

    /// Number of source symbols present.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// True when every source symbol is present.
    pub fn is_complete(&self) -> bool {
        self.count == self.block.source_symbols
    }

    /// Missing source ESIs.
    pub fn missing(&self) -> Vec<u32> {
        (0..self.block.source_symbols)
            .filter(|&i| !self.has(i))
            .collect()
    }

    /// The padded `k * E` buffer as collected so far (missing symbols are zeros).
    pub fn padded(&self) -> &[u8] {
        &self.data
    }

    /// The padded `k * E` buffer, for decoders that fill in missing symbols.
    pub fn padded_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Marks `esi` as present after a decoder filled it in.
    pub fn mark(&mut self, esi: u32) {
        if let Some(h) = self.have.get_mut(esi as usize) {
            if !*h {
                *h = true;
                self.count += 1;
            }
        }
    }

    /// The source block, `block.len` bytes. Takes the buffer out; call once.
    pub fn take(&mut self) -> Bytes {
        let mut data = core::mem::take(&mut self.data);
        data.truncate(self.block.len as usize);
        Bytes::from(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// K = 4 symbols of T = 8 bytes, the last one 3 bytes long on the wire.
    fn log() -> SymbolLog {
        let block = BlockSpec {
            sbn: 0,
            source_symbols: 4,
            symbol_length: 8,
            offset: 0,
            len: 27,
        };
        SymbolLog::new(block, 8, 1 << 24, true)
    }

    fn admit(log: &mut SymbolLog, esi: u32, sym: &[u8]) -> Result<Option<PushOutcome>, FecError> {
        Ok(match log.admit(esi, sym, false)? {
            Admitted::New(data) => {
                assert_eq!(data.len(), 8);
                None
            }
            Admitted::Done(o) => Some(o),
        })
    }

    #[test]
    fn source_and_repair_duplicates_and_conflicts() {
        let mut l = log();
        assert_eq!(admit(&mut l, 0, &[1; 8]).unwrap(), None);
        assert_eq!(
            admit(&mut l, 0, &[1; 8]).unwrap(),
            Some(PushOutcome::Duplicate)
        );
        assert!(matches!(
            admit(&mut l, 0, &[2; 8]),
            Err(FecError::ConflictingSymbol { esi: 0 })
        ));
        // Repair ESIs, near and far.
        for esi in [4u32, 1000, (1 << 24) - 1] {
            assert_eq!(admit(&mut l, esi, &[3; 8]).unwrap(), None);
            assert_eq!(
                admit(&mut l, esi, &[3; 8]).unwrap(),
                Some(PushOutcome::Duplicate)
            );
            assert!(matches!(
                admit(&mut l, esi, &[4; 8]),
                Err(FecError::ConflictingSymbol { .. })
            ));
        }
        assert_eq!(l.len(), 4);
        assert!(matches!(
            l.admit(1 << 24, &[0; 8], false),
            Err(FecError::EsiOutOfRange { .. })
        ));
    }

    #[test]
    fn short_last_symbol_and_its_padded_form_are_duplicates() {
        let mut l = log();
        assert_eq!(admit(&mut l, 3, &[9, 9, 9]).unwrap(), None);
        let padded = [9, 9, 9, 0, 0, 0, 0, 0];
        assert_eq!(
            admit(&mut l, 3, &padded).unwrap(),
            Some(PushOutcome::Duplicate)
        );
        assert!(matches!(
            admit(&mut l, 3, &[9, 9, 9, 0, 0, 0, 0, 1]),
            Err(FecError::ConflictingSymbol { esi: 3 })
        ));
        // Only the last source symbol may be short.
        assert!(matches!(
            admit(&mut l, 2, &[9, 9, 9]),
            Err(FecError::SymbolLength { .. })
        ));
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn memory_bound_2k_plus_64() {
        let mut l = log();
        for esi in 0..(2 * 4 + 64) {
            assert_eq!(admit(&mut l, 100 + esi, &[1; 8]).unwrap(), None);
        }
        assert_eq!(
            admit(&mut l, 0, &[1; 8]).unwrap(),
            Some(PushOutcome::NotNeeded)
        );
        assert_eq!(l.len(), 72);
    }

    #[test]
    fn fingerprint_sees_every_byte() {
        for len in 0..80usize {
            let base: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let fp = fingerprint(&base);
            assert_ne!(fp, UNSEEN);
            assert_eq!(fp, fingerprint(&base.clone()));
            for i in 0..len {
                let mut other = base.clone();
                other[i] ^= 0x80;
                assert_ne!(fingerprint(&other), fp, "len {len} byte {i}");
            }
            let mut longer = base.clone();
            longer.push(0);
            assert_ne!(fingerprint(&longer), fp, "len {len} vs zero-extended");
        }
    }
}
