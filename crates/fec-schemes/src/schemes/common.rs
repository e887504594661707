//! Pieces shared by systematic codecs.

use bytes::Bytes;

use crate::{BlockSpec, FecError, PushOutcome};

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
