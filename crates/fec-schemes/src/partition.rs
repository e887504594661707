//! Block partitioning: RFC 5052 §9.1 and the `Partition[]` function of RFC 6330 §4.4.1.2
//! (also used by RFC 5053 §5.3.1.2).
//!
//! All arithmetic is done in `u64`/`u128` with checked operations, so transfer lengths up to
//! 2^48 − 1 (the 48-bit EXT_FTI field) and beyond cannot overflow. Nothing here allocates in
//! proportion to the object: a [`Blocking`] describes every block arithmetically.

use crate::FecError;

/// `Partition[I, J]` of RFC 6330 §4.4.1.2: splits `i` items into `j` parts as evenly as
/// possible. Returns `(IL, IS, JL, JS)`: `JL` parts of `IL` items then `JS` parts of `IS`.
///
/// Returns `None` when `j == 0`.
pub const fn partition(i: u64, j: u64) -> Option<(u64, u64, u64, u64)> {
    if j == 0 {
        return None;
    }
    let il = i.div_ceil(j);
    let is = i / j;
    let jl = i - is * j;
    let js = j - jl;
    Some((il, is, jl, js))
}

/// How an object of `transfer_length` bytes is cut into source blocks of symbols of
/// `symbol_length` bytes: the first `large_blocks` blocks hold `large` symbols, the rest
/// `small` symbols. Only the very last symbol of the object may be short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blocking {
    /// Transfer length L in bytes.
    pub transfer_length: u64,
    /// Encoding symbol length E in bytes (never 0).
    pub symbol_length: u16,
    /// Total number of source symbols T = ceil(L / E).
    pub total_symbols: u64,
    /// Number of source blocks N.
    pub blocks: u64,
    /// Symbols in a large block (A_large / KL).
    pub large: u32,
    /// Symbols in a small block (A_small / KS).
    pub small: u32,
    /// Number of large blocks (I / ZL); they come first.
    pub large_blocks: u64,
}

/// One source block of an object, as the encoders and decoders see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockSpec {
    /// Source Block Number.
    pub sbn: u32,
    /// Number of source symbols k.
    pub source_symbols: u32,
    /// Encoding symbol length E.
    pub symbol_length: u16,
    /// Offset of the block's first byte in the object.
    pub offset: u64,
    /// Bytes of object data in the block: `k * E`, except for the last block, whose last
    /// symbol may be short.
    pub len: u64,
}

impl BlockSpec {
    /// Length of source symbol `esi` on the wire: `E`, except for the last source symbol
    /// of the last block, which may be shorter (RFC 5052 §9.1). Returns `None` for
    /// `esi >= k`.
    pub fn source_symbol_len(&self, esi: u32) -> Option<usize> {
        if esi >= self.source_symbols {
            return None;
        }
        let start = u64::from(esi) * u64::from(self.symbol_length);
        let rest = self.len.saturating_sub(start);
        Some(rest.min(u64::from(self.symbol_length)) as usize)
    }
}

impl Blocking {
    /// How many source symbols at the start of an object keep their place under the RFC
    /// 5052 §9.1 partitioning whatever the transfer length turns out to be: symbol `i`
    /// (bytes `i·E ..`) is ESI `i` of block 0 for every length that contains it, as long as
    /// `i < ⌈(B + 1) / 2⌉`.
    ///
    /// Why: with T ≤ B symbols there is one block and every symbol is in it. With T > B
    /// there are N = ⌈T / B⌉ ≥ 2 blocks and block 0 is a large one, ⌈T / N⌉ symbols; the
    /// smallest that gets over all T > B is at T = B + 1, where it is ⌈(B + 1) / 2⌉
    /// (⌈(kB + 1) / (k + 1)⌉ grows with k). A sender of an object of unknown length may
    /// send these symbols before it knows the length ([`crate::FecScheme::length_independent_prefix`]).
    pub fn rfc5052_length_independent_prefix(b: u32) -> u64 {
        (u64::from(b) + 2) / 2
    }

    /// RFC 5052 §9.1 Block Partitioning Algorithm for transfer length `l`, symbol length `e`
    /// and maximum source block length `b`.
    ///
    /// `l = 0` is legal and gives an object with no blocks (catalogue item 36). `e = 0` and
    /// `b = 0` are rejected (item 37).
    pub fn rfc5052(l: u64, e: u16, b: u32) -> Result<Self, FecError> {
        if e == 0 {
            return Err(FecError::InvalidOti {
                field: "E",
                value: 0,
                reason: "encoding symbol length must be > 0 (RFC 5052 §9.1)",
            });
        }
        if b == 0 {
            return Err(FecError::InvalidOti {
                field: "B",
                value: 0,
                reason: "maximum source block length must be > 0 (RFC 5052 §9.1)",
            });
        }
        let t = l.div_ceil(u64::from(e));
        let n = t.div_ceil(u64::from(b));
        if n == 0 {
            return Ok(Self {
                transfer_length: l,
                symbol_length: e,
                total_symbols: 0,
                blocks: 0,
                large: 0,
                small: 0,
                large_blocks: 0,
            });
        }
        // n >= 1 here, so partition cannot fail; A_large <= B fits in u32.
        let (a_large, a_small, i, _) = match partition(t, n) {
            Some(p) => p,
            None => {
                return Err(FecError::InvalidOti {
                    field: "N",
                    value: 0,
                    reason: "no blocks",
                });
            }
        };
        Ok(Self {
            transfer_length: l,
            symbol_length: e,
            total_symbols: t,
            blocks: n,
            large: a_large as u32,
            small: a_small as u32,
            large_blocks: i,
        })
    }

    /// RFC 6330 §4.4.1.2 (and RFC 5053 §5.3.1.2) source block partitioning: transfer length
    /// `f`, symbol size `t`, `z` source blocks. `Kt = ceil(F/T)` symbols are split by
    /// `Partition[Kt, Z]`.
    pub fn raptor(f: u64, t: u16, z: u32) -> Result<Self, FecError> {
        if t == 0 {
            return Err(FecError::InvalidOti {
                field: "T",
                value: 0,
                reason: "symbol size must be > 0 (RFC 6330 §4.3)",
            });
        }
        let kt = f.div_ceil(u64::from(t));
        if kt == 0 {
            return Ok(Self {
                transfer_length: f,
                symbol_length: t,
                total_symbols: 0,
                blocks: 0,
                large: 0,
                small: 0,
                large_blocks: 0,
            });
        }
        if z == 0 {
            return Err(FecError::InvalidOti {
                field: "Z",
                value: 0,
                reason: "number of source blocks must be > 0 (RFC 6330 §4.3)",
            });
        }
        let (kl, ks, zl, _) = match partition(kt, u64::from(z)) {
            Some(p) => p,
            None => {
                return Err(FecError::InvalidOti {
                    field: "Z",
                    value: 0,
                    reason: "no blocks",
                });
            }
        };
        let kl = u32::try_from(kl).map_err(|_| FecError::InvalidOti {
            field: "Z",
            value: u64::from(z),
            reason: "source blocks too large for 32-bit symbol counts",
        })?;
        Ok(Self {
            transfer_length: f,
            symbol_length: t,
            total_symbols: kt,
            blocks: u64::from(z),
            large: kl,
            small: ks as u32,
            large_blocks: zl,
        })
    }

    /// Number of source symbols of block `sbn`, or `None` if `sbn >= N`.
    pub fn block_symbols(&self, sbn: u64) -> Option<u32> {
        if sbn >= self.blocks {
            None
        } else if sbn < self.large_blocks {
            Some(self.large)
        } else {
            Some(self.small)
        }
    }

    /// Offset in symbols of the first symbol of block `sbn` (`sbn <= N`).
    fn symbol_offset(&self, sbn: u64) -> u64 {
        let large = sbn.min(self.large_blocks);
        let small = sbn - large;
        large * u64::from(self.large) + small * u64::from(self.small)
    }

    /// Describes block `sbn`, or returns [`FecError::SbnOutOfRange`] (catalogue item 29).
    pub fn block(&self, sbn: u32) -> Result<BlockSpec, FecError> {
        let k = self
            .block_symbols(u64::from(sbn))
            .ok_or(FecError::SbnOutOfRange {
                sbn,
                blocks: self.blocks,
            })?;
        let e = u64::from(self.symbol_length);
        // Both products are bounded by T * E < L + E, so they cannot overflow u64 for any
        // L < 2^63; use saturating arithmetic anyway so hostile values cannot panic.
        let offset = self.symbol_offset(u64::from(sbn)).saturating_mul(e);
        let full = u64::from(k).saturating_mul(e);
        let len = full.min(self.transfer_length.saturating_sub(offset));
        Ok(BlockSpec {
            sbn,
            source_symbols: k,
            symbol_length: self.symbol_length,
            offset,
            len,
        })
    }

    /// Finds the block holding byte `offset` of the object.
    pub fn block_of_offset(&self, offset: u64) -> Option<u32> {
        if offset >= self.transfer_length {
            return None;
        }
        let sym = offset / u64::from(self.symbol_length);
        let large_syms = self.large_blocks * u64::from(self.large);
        let sbn = if sym < large_syms {
            sym / u64::from(self.large)
        } else {
            self.large_blocks + (sym - large_syms) / u64::from(self.small.max(1))
        };
        u32::try_from(sbn).ok()
    }

    /// Iterates over all blocks in SBN order.
    pub fn iter(&self) -> impl Iterator<Item = BlockSpec> + '_ {
        (0..self.blocks.min(u64::from(u32::MAX) + 1))
            .filter_map(move |sbn| self.block(sbn as u32).ok())
    }
}

#[cfg(test)]
mod tests {
    /// Brute force over every length up to 5·B symbols: the prefix symbols are ESI i of
    /// block 0 at offset i·E, and one more symbol would not always be.
    #[test]
    fn rfc5052_prefix_holds_for_every_length() {
        let e = 4u16;
        for b in 1u32..=40 {
            let prefix = Blocking::rfc5052_length_independent_prefix(b);
            let mut tight = false;
            for l in 1..=u64::from(b) * 5 * u64::from(e) {
                let bl = Blocking::rfc5052(l, e, b).unwrap();
                let first = bl.block(0).unwrap();
                assert_eq!(first.offset, 0);
                let complete = l / u64::from(e); // symbols wholly inside the object
                for i in 0..prefix.min(complete) {
                    assert!(u64::from(first.source_symbols) > i, "B={b} L={l} i={i}");
                }
                if prefix < complete && u64::from(first.source_symbols) == prefix {
                    tight = true;
                }
            }
            assert!(
                tight || b == 1,
                "B={b}: the prefix is not the largest safe one"
            );
        }
    }

    use super::*;

    fn sizes(b: &Blocking) -> Vec<u32> {
        b.iter().map(|s| s.source_symbols).collect()
    }

    /// RFC 5052 §9.1 worked example from docs/spec-notes.md §2.5: L=1077, E=64, B=8 -> [6, 6, 5].
    #[test]
    fn rfc5052_9_1_example_1077_64_8() {
        let b = Blocking::rfc5052(1077, 64, 8).unwrap();
        assert_eq!(b.total_symbols, 17);
        assert_eq!(sizes(&b), vec![6, 6, 5]);
        let last = b.block(2).unwrap();
        assert_eq!(last.offset, 12 * 64);
        assert_eq!(last.len, 1077 - 12 * 64);
        assert_eq!(last.source_symbol_len(4), Some(1077 - 16 * 64));
        assert_eq!(last.source_symbol_len(5), None);
    }

    /// RFC 5052 §9.1 worked example: L=1000, E=64, B=6 -> [6, 5, 5].
    #[test]
    fn rfc5052_9_1_example_1000_64_6() {
        let b = Blocking::rfc5052(1000, 64, 6).unwrap();
        assert_eq!(sizes(&b), vec![6, 5, 5]);
    }

    /// Catalogue item 36: L = 0 is legal, no division by zero.
    #[test]
    fn bad_input_36_empty_object() {
        let b = Blocking::rfc5052(0, 64, 8).unwrap();
        assert_eq!(b.blocks, 0);
        assert!(b.block(0).is_err());
        let r = Blocking::raptor(0, 64, 1).unwrap();
        assert_eq!(r.blocks, 0);
    }

    /// Catalogue item 37: E = 0 or B = 0 are typed errors.
    #[test]
    fn bad_input_37_zero_e_or_b() {
        assert!(matches!(
            Blocking::rfc5052(10, 0, 8),
            Err(FecError::InvalidOti { field: "E", .. })
        ));
        assert!(matches!(
            Blocking::rfc5052(10, 8, 0),
            Err(FecError::InvalidOti { field: "B", .. })
        ));
        assert!(matches!(
            Blocking::raptor(10, 0, 1),
            Err(FecError::InvalidOti { field: "T", .. })
        ));
        assert!(matches!(
            Blocking::raptor(10, 8, 0),
            Err(FecError::InvalidOti { field: "Z", .. })
        ));
    }

    /// Catalogue item 38: L near 2^48 with tiny E and B must not overflow.
    #[test]
    fn bad_input_38_huge_transfer_length() {
        let l = (1u64 << 48) - 1;
        let b = Blocking::rfc5052(l, 1, 1).unwrap();
        assert_eq!(b.blocks, l);
        let last = b.block(u32::MAX).unwrap();
        assert_eq!(last.source_symbols, 1);
        let b = Blocking::rfc5052(l, 1, u32::MAX).unwrap();
        let total: u64 = b.iter().map(|s| s.len).sum();
        assert_eq!(total, l);
    }

    /// RFC 6330 §4.4.1.2 Partition[] definition.
    #[test]
    fn rfc6330_4_4_1_2_partition() {
        assert_eq!(partition(10, 3), Some((4, 3, 1, 2)));
        assert_eq!(partition(9, 3), Some((3, 3, 0, 3)));
        assert_eq!(partition(1, 1), Some((1, 1, 0, 1)));
        assert_eq!(partition(5, 0), None);
        let b = Blocking::raptor(1000, 10, 3).unwrap();
        assert_eq!(sizes(&b), vec![34, 33, 33]);
        assert_eq!(b.block(2).unwrap().len, 1000 - 670);
    }

    #[test]
    fn block_of_offset_matches_blocks() {
        let b = Blocking::rfc5052(1077, 64, 8).unwrap();
        for blk in b.iter() {
            assert_eq!(b.block_of_offset(blk.offset), Some(blk.sbn));
            assert_eq!(b.block_of_offset(blk.offset + blk.len - 1), Some(blk.sbn));
        }
        assert_eq!(b.block_of_offset(1077), None);
    }

    proptest::proptest! {
        /// Blocks tile the object exactly, sizes differ by at most one, large blocks first.
        #[test]
        fn prop_rfc5052_blocks_tile_object(l in 0u64..5_000_000, e in 1u16..2000, b in 1u32..3000) {
            let bl = Blocking::rfc5052(l, e, b).unwrap();
            let mut next = 0u64;
            let mut prev = u32::MAX;
            for blk in bl.iter() {
                proptest::prop_assert_eq!(blk.offset, next);
                proptest::prop_assert!(blk.source_symbols <= b);
                proptest::prop_assert!(blk.source_symbols <= prev);
                prev = blk.source_symbols;
                next += blk.len;
            }
            proptest::prop_assert_eq!(next, l);
            proptest::prop_assert!(bl.large - bl.small <= 1);
        }
    }
}
