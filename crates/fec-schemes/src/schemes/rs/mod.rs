//! Reed-Solomon FEC schemes of RFC 5510: FEC Encoding IDs 5 (GF(2^8)), 2 (GF(2^m)) and
//! 129 with FEC Instance ID 0 (Small Block Systematic, GF(2^8)).
//!
//! | FEC Encoding ID | type | FEC Payload ID | EXT_FTI (HEL) |
//! |---|---|---|---|
//! | 5 | [`RsGf28`] | SBN 24 \| ESI 8 (RFC 5510 §4.1) | L 48, E 16, B 8, max_n 8 (3) |
//! | 2 | [`RsGf2m`] | SBN 32−m \| ESI m (RFC 5510 §5.1) | L 48, m 8, G 8, E 16, B 16, max_n 16 (4) |
//! | 129/0 | [`RsSmallBlock`] | SBN 32 \| SBL 16 \| ESI 16 (RFC 5510 §6, RFC 5445 §5.1) | L 48, Instance ID 16, E 16, B 16, max_n 16 (4) |
//!
//! # Code construction
//!
//! The code is the systematic Vandermonde code of Luigi Rizzo's `fec.c`, also used by
//! OpenFEC and zfec, which the RFC 5510 abstract declares itself compatible with:
//! GF(2^m) with the primitive polynomials of RFC 5510 §8.1 (see [`gf`]), evaluation points
//! `0, alpha^0, alpha^1, ..., alpha^(n-2)` for the n rows of the Vandermonde matrix, made
//! systematic by multiplying by the inverse of its top k x k part (see [`matrix`]). The
//! first k encoding symbols are the source symbols; ESI `k + j` is repair row `j`.
//!
//! \[UNV\] RFC 5510 §8 read literally evaluates at `alpha^0 .. alpha^(n-1)`; Rizzo, OpenFEC
//! and zfec do not, and we follow them (docs/spec-notes.md §3). Our repair bytes equal the libopenfec
//! and zfec known-answer vectors in `tests/rs_kat.rs` and `tests/rs_zfec.rs`.
//! `reed-solomon-erasure` uses yet other points and is not interoperable.
//!
//! # Number of encoding symbols
//!
//! For a source block of k symbols, `n = floor(k * max_n / B)` (RFC 5510 §7 \[UNV\]: the
//! formula is the one quoted in docs/spec-notes.md §2.5; the RFC text was not available), raised to
//! at least k so that a block never has fewer encoding than source symbols. Since
//! k <= B <= max_n <= 2^m − 1, n <= 2^m − 1 always holds once the OTI is valid. See
//! [`encoding_symbols`].
//!
//! # Lenient on receipt
//!
//! Senders and encoders keep `n` above: [`crate::FecScheme::esi_limit`] and
//! [`BlockEncoder::esi_limit`] are `n`, and encoders reject ESI >= n. Decoders accept
//! every ESI that has an evaluation point, `ESI < 2^m` ([`receive_esi_limit`]): the
//! points `0, alpha^0, ..., alpha^(2^m - 2)` are the 2^m distinct elements of GF(2^m)
//! (ESI `r >= 1` maps to `alpha^(r-1)`, and the powers repeat only from `r - 1 = 2^m - 1`
//! on), so any k of these rows still form an invertible system. The coefficients of repair
//! row `j` depend on (m, k) and the evaluation point of ESI `j` only, never on n, so a
//! repair symbol from a sender that computed a larger n is the same symbol an encoder
//! with our n would produce, had it gone that far. This is for senders that send more
//! than n encoding symbols for a block: the `flute` crate (ypo/flute 1.11.7) sends
//! `k + max_parity` symbols for a short last source block, beyond
//! `floor(k * max_n / B)`. ESIs at or beyond 2^m (possible in the 16-bit ESI of ID 129,
//! or in ID 5 only when a caller passes one) stay [`FecError::EsiOutOfRange`]. For ID 2
//! and ID 5 every ESI the FEC Payload ID can carry (m bits, 8 bits) is thus accepted.
//!
//! # Symbols and elements
//!
//! For m = 8 each byte is an element. For m = 16 a symbol is a sequence of big-endian
//! 16-bit elements; for other m the symbol is a bit string cut into m-bit elements, most
//! significant bit first, and E * 8 must be a multiple of m (\[UNV\]: OpenFEC only supports
//! m = 4, 8 and 16 and stores 16-bit elements in host byte order).
//!
//! # Encoder and decoder
//!
//! The encoder sends source symbols straight from the block data (the last symbol of the
//! object may be short; it is zero-padded for coding). On the first request for any
//! repair symbol it computes *all* n − k repair symbols in one pass over the source
//! block (the multi-row kernel loads every source byte once per group of 8 repair rows,
//! which is several times faster than row-at-a-time), and serves later requests from that
//! buffer.
//!
//! The decoder keeps source symbols in place in a [`SourceBlockBuffer`] and repair symbols
//! aside. With e source symbols missing it takes the e lowest repair ESIs, subtracts the
//! known source symbols' contribution from them, and multiplies by the (cached) inverse of
//! the e x e submatrix of G (missing columns x used repair rows). That is the inverse of
//! the k x k matrix of received rows restricted to the unknowns, and costs O(e * k) symbol
//! operations instead of O(k^2).
//!
//! Generators per (m, k), parity coefficient matrices per (m, k, n) and decode inverses
//! per erasure pattern are cached in small process-wide LRUs behind mutexes.
//!
//! # Kernels
//!
//! GF(2^8): [`gf8_simd`] (GFNI `gf2p8affineqb`, else AVX2 or SSSE3 `pshufb` split-nibble
//! tables, else a scalar product table), chosen at run time. GF(2^16): [`gf16`] (GFNI +
//! AVX2 on a tower-field representation, else AVX2 `vpshufb` split-nibble tables, else
//! scalar tables; cache-blocked). Other m: unpacked elements and log/exp tables (slow, for
//! interoperability only).
//!
//! # Cost limits
//!
//! A valid OTI can still ask for expensive work: building the generator of a block costs
//! O(k^2) field operations once per (m, k), and a decode with e missing source symbols
//! inverts an e x e matrix in O(e^3) (Gauss-Jordan; the matrix is Cauchy-like, so an
//! O(e^2) inverse is possible but not implemented). With m = 16 and k, e in the tens of
//! thousands this takes minutes; receivers facing untrusted senders should bound B (and so
//! k) by policy before creating decoders. Decoders also allocate k * E bytes up front.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::schemes::SourceBlockBuffer;
use crate::schemes::common::{check_block_data, check_esi};
use crate::wire::{check_width, out_prefix};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, Oti, PushOutcome,
};

pub mod gf;
pub mod gf16;
pub mod gf8_simd;
mod id129_small_block;
mod id2_gf2m;
mod id5_gf256;
pub mod matrix;

pub use id2_gf2m::{DEFAULT_G, DEFAULT_M, RsGf2m};
pub use id5_gf256::RsGf28;
pub use id129_small_block::{INSTANCE_ID, RsSmallBlock};

use matrix::Generator;

/// Number of encoding symbols of a block of `k` source symbols:
/// `max(k, floor(k * max_n / B))` (RFC 5510 §7 \[UNV\]). Returns `k` when `b == 0`.
pub fn encoding_symbols(k: u32, b: u32, max_n: u32) -> u32 {
    if b == 0 {
        return k;
    }
    let n = u64::from(k) * u64::from(max_n) / u64::from(b);
    u32::try_from(n).unwrap_or(u32::MAX).max(k)
}

/// [`encoding_symbols`] of `block` under `oti` (B and max_n of the OTI): the
/// [`crate::FecScheme::esi_limit`] of all three RS schemes.
pub(crate) fn block_encoding_symbols(oti: &Oti, block: &BlockSpec) -> u32 {
    encoding_symbols(
        block.source_symbols,
        oti.max_source_block_length,
        oti.max_encoding_symbols.unwrap_or(0),
    )
}

/// Exclusive upper bound of the ESIs an RS *decoder* accepts in GF(2^m): `2^m`, one per
/// evaluation point (see the module docs, "Lenient on receipt"). Encoders and
/// [`crate::FecScheme::esi_limit`] keep `n` ([`encoding_symbols`]).
pub fn receive_esi_limit(m: u8) -> u32 {
    1u32 << m.min(16)
}

/// Field widths of one scheme's OTI, for [`validate`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) encoding_id: FecEncodingId,
    /// Width in bits of B and max_n in EXT_FTI.
    pub(crate) b_bits: u32,
    /// Width in bits of the SBN field.
    pub(crate) sbn_bits: u32,
}

/// Common RFC 5510 OTI checks (catalogue items 31, 33, 37, 38); returns the blocking.
pub(crate) fn validate(oti: &Oti, m: u8, lim: Limits) -> Result<Blocking, FecError> {
    if oti.encoding_id != lim.encoding_id {
        return Err(FecError::SchemeMismatch {
            expected: lim.encoding_id,
            found: oti.encoding_id,
        });
    }
    check_width("L", oti.transfer_length, 48)?;
    let field = gf::field(m).ok_or(FecError::InvalidOti {
        field: "m",
        value: m.into(),
        reason: "RFC 5510 §5.2: m must be in 2..=16",
    })?;
    let e = oti.encoding_symbol_length;
    if e == 0 {
        return Err(FecError::InvalidOti {
            field: "E",
            value: 0,
            reason: "encoding symbol length must be > 0 (RFC 5052 §9.1)",
        });
    }
    let b = oti.max_source_block_length;
    if b == 0 {
        return Err(FecError::InvalidOti {
            field: "B",
            value: 0,
            reason: "maximum source block length must be > 0 (RFC 5052 §9.1)",
        });
    }
    check_width("B", b.into(), lim.b_bits)?;
    let max_n = oti.max_encoding_symbols.ok_or(FecError::InvalidOti {
        field: "max_n",
        value: 0,
        reason: "RFC 5510 requires the maximum number of encoding symbols",
    })?;
    check_width("max_n", max_n.into(), lim.b_bits)?;
    if max_n < b {
        return Err(FecError::InvalidOti {
            field: "max_n",
            value: max_n.into(),
            reason: "max_n must be >= B (RFC 5510: k <= n)",
        });
    }
    if max_n > field.order() {
        return Err(FecError::InvalidOti {
            field: "max_n",
            value: max_n.into(),
            reason: "RFC 5510: n must be <= 2^m - 1",
        });
    }
    if (u32::from(e) * 8) % u32::from(m) != 0 {
        return Err(FecError::InvalidOti {
            field: "E",
            value: e.into(),
            reason: "E * 8 must be a multiple of m (whole m-bit elements)",
        });
    }
    let blocking = Blocking::rfc5052(oti.transfer_length, e, b)?;
    if blocking.blocks > 1u64 << lim.sbn_bits {
        return Err(FecError::InvalidOti {
            field: "N",
            value: blocking.blocks,
            reason: "more source blocks than the SBN field can number (RFC 5510)",
        });
    }
    Ok(blocking)
}

/// `outputs = coefs x inputs` in GF(2^m), dispatching to the fast kernels for m = 8, 16.
fn combine(m: u8, coefs: &[u16], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    match m {
        8 => {
            let c8: Vec<u8> = coefs.iter().map(|&c| c as u8).collect();
            gf8_simd::matmul(&c8, inputs, outputs);
        }
        16 => gf16::matmul(coefs, inputs, outputs),
        _ => {
            if let Some(f) = gf::field(m) {
                gf::matmul_generic(f, coefs, inputs, outputs);
            }
        }
    }
}

fn check_block(m: u8, oti: &Oti, block: &BlockSpec) -> Result<(), FecError> {
    let k = block.source_symbols;
    let order = (1u32 << m) - 1;
    if k == 0 || k > order || k > oti.max_source_block_length {
        return Err(FecError::InvalidOti {
            field: "k",
            value: k.into(),
            reason: "source block length must be in 1..=B and <= 2^m - 1",
        });
    }
    if block.symbol_length != oti.encoding_symbol_length
        || block.len > u64::from(k) * u64::from(block.symbol_length)
    {
        return Err(FecError::InvalidOti {
            field: "block length",
            value: block.len,
            reason: "block does not match the OTI",
        });
    }
    Ok(())
}

/// Makes an RS block encoder (OTI already validated).
pub(crate) fn encoder(
    m: u8,
    oti: &Oti,
    block: &BlockSpec,
    data: Bytes,
) -> Result<Box<dyn BlockEncoder>, FecError> {
    check_block(m, oti, block)?;
    check_block_data(block, &data)?;
    let n = block_encoding_symbols(oti, block);
    Ok(Box::new(RsEncoder {
        m,
        n,
        block: *block,
        data,
        parity: None,
    }))
}

/// Makes an RS block decoder (OTI already validated).
pub(crate) fn decoder(
    m: u8,
    oti: &Oti,
    block: &BlockSpec,
) -> Result<Box<dyn BlockDecoder>, FecError> {
    check_block(m, oti, block)?;
    Ok(Box::new(RsDecoder {
        m,
        limit: receive_esi_limit(m),
        buf: SourceBlockBuffer::new(*block),
        repair: BTreeMap::new(),
        done: None,
    }))
}

struct RsEncoder {
    m: u8,
    n: u32,
    block: BlockSpec,
    data: Bytes,
    /// All n − k repair symbols, computed on the first repair request.
    parity: Option<Vec<u8>>,
}

impl RsEncoder {
    fn compute_parity(&mut self) -> Result<&[u8], FecError> {
        if self.parity.is_none() {
            let k = self.block.source_symbols;
            let e = usize::from(self.block.symbol_length);
            let r = (self.n - k) as usize;
            let gen_ = Generator::get(self.m, k)?;
            let coefs = gen_.parity_rows(self.n);
            // The last source symbol may be short: pad a copy of it.
            let full = self.data.len() / e;
            let mut last = vec![0u8; e];
            let mut inputs: Vec<&[u8]> = self.data.chunks_exact(e).collect();
            if full < k as usize {
                let tail = &self.data[full * e..];
                last[..tail.len()].copy_from_slice(tail);
                inputs.push(&last);
            }
            while inputs.len() < k as usize {
                // Only reachable for blocks shorter than k symbols: treat as zero symbols.
                inputs.push(&[]);
            }
            let zero = vec![0u8; e];
            let inputs: Vec<&[u8]> = inputs
                .into_iter()
                .map(|s| if s.len() == e { s } else { &zero[..] })
                .collect();
            let mut parity = vec![0u8; r * e];
            let mut outs: Vec<&mut [u8]> = parity.chunks_exact_mut(e).collect();
            combine(self.m, &coefs, &inputs, &mut outs);
            self.parity = Some(parity);
        }
        Ok(self.parity.as_deref().unwrap_or(&[]))
    }
}

impl BlockEncoder for RsEncoder {
    fn prepare(&mut self) -> Result<(), FecError> {
        if self.n > self.block.source_symbols {
            self.compute_parity()?;
        }
        Ok(())
    }

    fn block(&self) -> &BlockSpec {
        &self.block
    }

    fn esi_limit(&self) -> u32 {
        self.n
    }

    fn write_symbol(&mut self, esi: u32, out: &mut [u8]) -> Result<usize, FecError> {
        let k = self.block.source_symbols;
        let e = usize::from(self.block.symbol_length);
        if let Some(len) = self.block.source_symbol_len(esi) {
            let start = esi as usize * e;
            let src = self
                .data
                .get(start..start + len)
                .ok_or(FecError::EsiOutOfRange { esi, limit: self.n })?;
            out_prefix(out, len, "symbol buffer")?.copy_from_slice(src);
            return Ok(len);
        }
        check_esi(esi, self.n)?;
        let dst = out_prefix(out, e, "symbol buffer")?;
        let limit = self.n;
        let parity = self.compute_parity()?;
        let j = (esi - k) as usize;
        let src = parity
            .get(j * e..(j + 1) * e)
            .ok_or(FecError::EsiOutOfRange { esi, limit })?;
        dst.copy_from_slice(src);
        Ok(e)
    }
}

struct RsDecoder {
    m: u8,
    /// Exclusive ESI bound on receipt: [`receive_esi_limit`], not n.
    limit: u32,
    buf: SourceBlockBuffer,
    repair: BTreeMap<u32, Vec<u8>>,
    done: Option<Bytes>,
}

impl RsDecoder {
    fn k(&self) -> u32 {
        self.buf.block().source_symbols
    }
}

impl BlockDecoder for RsDecoder {
    fn block(&self) -> &BlockSpec {
        self.buf.block()
    }

    fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError> {
        let k = self.k();
        check_esi(esi, self.limit)?;
        if self.done.is_some() {
            return Ok(PushOutcome::NotNeeded);
        }
        if esi < k {
            if !self.buf.has(esi) && self.is_decodable() {
                // Check the length anyway so that garbage is reported.
                let expected = self.buf.block().source_symbol_len(esi).unwrap_or(0);
                let e = usize::from(self.buf.block().symbol_length);
                if symbol.len() != expected && symbol.len() != e {
                    return Err(FecError::SymbolLength {
                        esi,
                        len: symbol.len(),
                        expected,
                    });
                }
                return Ok(PushOutcome::NotNeeded);
            }
            return self.buf.push(esi, symbol);
        }
        let e = usize::from(self.buf.block().symbol_length);
        if symbol.len() != e {
            return Err(FecError::SymbolLength {
                esi,
                len: symbol.len(),
                expected: e,
            });
        }
        if let Some(have) = self.repair.get(&esi) {
            return if have.as_slice() == symbol {
                Ok(PushOutcome::Duplicate)
            } else {
                Err(FecError::ConflictingSymbol { esi })
            };
        }
        if self.is_decodable() {
            return Ok(PushOutcome::NotNeeded);
        }
        self.repair.insert(esi, symbol.to_vec());
        Ok(PushOutcome::Accepted)
    }

    fn received(&self) -> u32 {
        self.buf.count() + self.repair.len() as u32
    }

    fn is_decodable(&self) -> bool {
        self.done.is_some() || self.received() >= self.k()
    }

    fn decode(&mut self) -> Result<Bytes, FecError> {
        if let Some(d) = &self.done {
            return Ok(d.clone());
        }
        let k = self.k();
        if self.received() < k {
            return Err(FecError::NotEnoughSymbols {
                have: self.received(),
                need: k,
            });
        }
        let missing = self.buf.missing();
        if !missing.is_empty() {
            let e = usize::from(self.buf.block().symbol_length);
            let used: Vec<u32> = self.repair.keys().copied().take(missing.len()).collect();
            let gen_ = Generator::get(self.m, k)?;
            let inv = gen_.decode_matrix(&missing, &used)?;
            // Step 1: p'_i = p_i + sum over known source c of G[used_i][c] * s_c.
            let known: Vec<u32> = (0..k).filter(|&c| self.buf.has(c)).collect();
            let ne = missing.len();
            let mut adjusted = vec![0u8; ne * e];
            {
                let data: &[u8] = self.buf.padded_mut();
                let mut inputs: Vec<&[u8]> = Vec::with_capacity(1 + known.len());
                let mut coefs = Vec::with_capacity(ne * (ne + known.len()));
                for &r in &used {
                    inputs.push(self.repair.get(&r).map(|v| v.as_slice()).unwrap_or(&[]));
                }
                for &c in &known {
                    let s = c as usize * e;
                    inputs.push(&data[s..s + e]);
                }
                for (i, &r) in used.iter().enumerate() {
                    let row = gen_.row(r);
                    coefs.extend((0..ne).map(|j| u16::from(i == j)));
                    coefs.extend(known.iter().map(|&c| row[c as usize]));
                }
                let mut outs: Vec<&mut [u8]> = adjusted.chunks_exact_mut(e).collect();
                combine(self.m, &coefs, &inputs, &mut outs);
            }
            // Step 2: missing = A^-1 * p'.
            let mut recovered = vec![0u8; ne * e];
            {
                let inputs: Vec<&[u8]> = adjusted.chunks_exact(e).collect();
                let mut outs: Vec<&mut [u8]> = recovered.chunks_exact_mut(e).collect();
                combine(self.m, &inv, &inputs, &mut outs);
            }
            let data = self.buf.padded_mut();
            for (j, &c) in missing.iter().enumerate() {
                let s = c as usize * e;
                data[s..s + e].copy_from_slice(&recovered[j * e..(j + 1) * e]);
            }
            for &c in &missing {
                self.buf.mark(c);
            }
        }
        let out = self.buf.take();
        self.repair.clear();
        self.done = Some(out.clone());
        Ok(out)
    }

    fn missing_source_symbols(&self) -> Vec<u32> {
        if self.done.is_some() {
            Vec::new()
        } else {
            self.buf.missing()
        }
    }
}

/// Shared helper: an RS OTI with the given parts.
pub(crate) fn make_oti(
    encoding_id: FecEncodingId,
    instance_id: Option<crate::FecInstanceId>,
    l: u64,
    e: u16,
    b: u32,
    max_n: u32,
    scheme_specific: crate::SchemeSpecific,
) -> Oti {
    Oti {
        encoding_id,
        instance_id,
        transfer_length: l,
        encoding_symbol_length: e,
        max_source_block_length: b,
        max_encoding_symbols: Some(max_n),
        scheme_specific,
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn f<T: Send + Sync>() {}
    f::<RsGf28>();
    f::<RsGf2m>();
    f::<RsSmallBlock>();
    f::<Arc<Generator>>();
}

/// Source block length k and total n for a Reed-Solomon code over GF(2^8) (n <= 255, RFC
/// 5510 §8.1): at most `max_source_block` (default 200) source symbols, and k small enough
/// that `repair_ratio` more still fit under 255.
pub(crate) fn rs8_k_n(max_source_block: Option<u32>, repair_ratio: f64) -> (u32, u32) {
    let factor = 1.0 + repair_ratio.max(0.0);
    let fit = ((255.0 / factor).floor() as u32).clamp(1, 255);
    let k = max_source_block.unwrap_or(200).clamp(1, fit);
    let n = ((f64::from(k) * factor).ceil() as u32).clamp(k, 255);
    (k, n)
}
