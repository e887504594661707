//! LDPC-Staircase FEC scheme, FEC Encoding ID 3 (RFC 5170).
//!
//! - FEC Payload ID (RFC 5170 §4.1): SBN (12 bits) | ESI (20 bits).
//! - EXT_FTI (RFC 5170 §4.2.4.1, HEL = 5): HET=64 | HEL | Transfer Length L (48) |
//!   E (16) | N1m3 (8) | G (8) | B (16) | max_n (16) | PRNG seed (32).
//! - FDT `FEC-OTI-Scheme-Specific-Info` (RFC 5170 §4.2.4.2): PRNG seed (32) | N1m3 (8) | G (8).
//! - n for a block of k source symbols (RFC 5170 §5.5): `floor(k * max_n / B)`.
//! - Parity-check matrix (RFC 5170 §5.7, §6.2): the Park-Miller "minimal standard" PRNG
//!   seeded with the OTI's seed, N1 "1"s per source column spread evenly over the n-k
//!   rows, every row completed to at least two source entries, then the staircase on the
//!   repair columns. Checked byte for byte against OpenFEC (`tests/ldpc_openfec.rs`).
//! - Encoding (RFC 5170 §6.3): repair symbol i is the XOR of the source symbols of row i
//!   and of repair symbol i-1.
//! - Decoding (RFC 5170 §6.4 allows any algorithm): iterative peeling on the parity-check
//!   rows, then Gaussian elimination over GF(2) on what is left (maximum-likelihood), so
//!   the reception overhead is the code's own.
//!
//! Limits of this implementation (typed [`FecError::InvalidOti`] beyond them): G = 1,
//! 3 <= N1 <= [`MAX_N1`], the 12-bit SBN bounds the number of blocks to 4096, and the
//! Gaussian elimination step handles at most [`MAX_ML_UNKNOWNS`] symbols left unknown
//! by peeling (more gives [`FecError::DecodeFailed`], bounding memory and time).
//!
//! The field layouts of EXT_FTI and of the FDT scheme-specific information come from
//! recollection of RFC 5170 §4.2 and are not cross-checked against a peer yet (OpenFEC is
//! a codec only and has no wire format); see docs/conformance/fec-schemes.md.

use bytes::Bytes;

use crate::schemes::SourceBlockBuffer;
use crate::schemes::common::check_block_data;
use crate::wire::{be, check_width, fti_body, fti_prefix, out_prefix, put_be};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecScheme, Oti,
    PayloadId, PushOutcome, SbnEsiLayout, SchemeKey, SchemeSpecific,
};

const FTI_LEN: usize = 20;
const SSI_LEN: usize = 6;

/// Largest N1 (1s per source column) accepted. RFC 5170 allows up to 258 (N1m3 is 8
/// bits); the construction costs O(N1 * k) memory, so it is bounded here.
pub const MAX_N1: u8 = 32;

/// Most symbols left unknown after peeling that the Gaussian elimination step takes on.
pub const MAX_ML_UNKNOWNS: usize = 4096;

/// A default N1 for callers that have no preference: 3, the smallest the RFC allows and
/// the fastest to code; with maximum-likelihood decoding its overhead stays small for
/// blocks of hundreds of symbols and more.
pub const DEFAULT_N1: u8 = 3;

/// The FEC Payload ID: 12-bit SBN, 20-bit ESI (RFC 5170 §4.1).
const PAYLOAD_ID: SbnEsiLayout = SbnEsiLayout::of(12, 20);

/// The LDPC-Staircase scheme (FEC Encoding ID 3).
#[derive(Debug, Clone, Copy, Default)]
pub struct LdpcStaircase;

impl LdpcStaircase {
    /// An OTI for this scheme: object of `transfer_length` bytes, symbols of
    /// `symbol_length` bytes, at most `max_source_block_length` (B) source symbols and
    /// `max_encoding_symbols` (max_n) encoding symbols per block, N1 and the PRNG seed.
    pub fn oti(
        transfer_length: u64,
        symbol_length: u16,
        max_source_block_length: u32,
        max_encoding_symbols: u32,
        n1: u8,
        seed: u32,
    ) -> Oti {
        Oti {
            encoding_id: FecEncodingId::LDPC_STAIRCASE,
            instance_id: None,
            transfer_length,
            encoding_symbol_length: symbol_length,
            max_source_block_length,
            max_encoding_symbols: Some(max_encoding_symbols),
            scheme_specific: SchemeSpecific::LdpcStaircase { n1, seed },
        }
    }

    fn params(oti: &Oti) -> (u8, u32) {
        match oti.scheme_specific {
            SchemeSpecific::LdpcStaircase { n1, seed } => (n1, seed),
            _ => (0, 0),
        }
    }

    /// Number of encoding symbols n of a block of `k` source symbols (RFC 5170 §5.5).
    fn n_of(oti: &Oti, k: u32) -> u32 {
        let b = u64::from(oti.max_source_block_length.max(1));
        let max_n = u64::from(oti.max_encoding_symbols.unwrap_or(0));
        let n = u64::from(k) * max_n / b;
        u32::try_from(n.max(u64::from(k))).unwrap_or(u32::MAX)
    }
}

impl FecScheme for LdpcStaircase {
    fn key(&self) -> SchemeKey {
        SchemeKey::fully_specified(FecEncodingId::LDPC_STAIRCASE)
    }

    fn name(&self) -> &'static str {
        "LDPC-Staircase"
    }

    fn payload_id_len(&self) -> usize {
        4
    }

    fn read_payload_id(&self, buf: &[u8], _oti: Option<&Oti>) -> Result<PayloadId, FecError> {
        PAYLOAD_ID.read_named(buf, "FEC Payload ID (ID 3)")
    }

    fn payload_id_layout(&self) -> Option<SbnEsiLayout> {
        Some(PAYLOAD_ID)
    }

    fn write_payload_id(&self, id: &PayloadId, _oti: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        PAYLOAD_ID.write_named(id, out, "FEC Payload ID (ID 3)")
    }

    fn fti_len(&self, _oti: &Oti) -> usize {
        FTI_LEN
    }

    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, FecEncodingId::LDPC_STAIRCASE, FTI_LEN)?;
        // Length checked above: every field below is in range.
        let l = be(ext, 2, 6).unwrap_or(0);
        let e = be(ext, 8, 2).unwrap_or(0) as u16;
        let n1m3 = be(ext, 10, 1).unwrap_or(0);
        let g = be(ext, 11, 1).unwrap_or(0);
        let b = be(ext, 12, 2).unwrap_or(0) as u32;
        let max_n = be(ext, 14, 2).unwrap_or(0) as u32;
        let seed = be(ext, 16, 4).unwrap_or(0) as u32;
        check_g(g)?;
        let n1 = n1_of(n1m3)?;
        let oti = Self::oti(l, e, b, max_n, n1, seed);
        self.validate_oti(&oti)?;
        Ok(oti)
    }

    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        let (n1, seed) = Self::params(oti);
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 6, oti.transfer_length);
        put_be(out, 8, 2, oti.encoding_symbol_length.into());
        put_be(out, 10, 1, u64::from(n1 - 3));
        put_be(out, 11, 1, 1);
        put_be(out, 12, 2, oti.max_source_block_length.into());
        put_be(out, 14, 2, oti.max_encoding_symbols.unwrap_or(0).into());
        put_be(out, 16, 4, seed.into());
        Ok(FTI_LEN)
    }

    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        if info.len() != SSI_LEN {
            return Err(FecError::Truncated {
                what: "FEC-OTI-Scheme-Specific-Info (ID 3)",
                needed: SSI_LEN,
                available: info.len(),
            });
        }
        let seed = be(info, 0, 4).unwrap_or(0) as u32;
        let n1 = n1_of(be(info, 4, 1).unwrap_or(0))?;
        check_g(be(info, 5, 1).unwrap_or(0))?;
        check_seed(seed)?;
        Ok(SchemeSpecific::LdpcStaircase { n1, seed })
    }

    fn write_scheme_specific_info(&self, oti: &Oti) -> Vec<u8> {
        let (n1, seed) = Self::params(oti);
        let mut v = seed.to_be_bytes().to_vec();
        v.push(n1.saturating_sub(3));
        v.push(1);
        v
    }

    /// B is 1024 by default and grows when the object needs more than 4096 blocks (the SBN
    /// has 12 bits, B and max_n 16, RFC 5170 §4); max_n = ⌈B·(1 + ratio)⌉; N1 = 3, PRNG seed 1.
    fn oti_for(
        &self,
        transfer_length: u64,
        symbol_length: u16,
        max_source_block: Option<u32>,
        repair_ratio: f64,
    ) -> Result<Oti, FecError> {
        let kt = transfer_length.div_ceil(u64::from(symbol_length.max(1)));
        let need = u32::try_from(kt.div_ceil(4096)).unwrap_or(u32::MAX);
        let b = max_source_block.unwrap_or(1024).max(need).clamp(1, 50_000);
        let factor = 1.0 + repair_ratio.max(0.0);
        let max_n = ((f64::from(b) * factor).ceil() as u32).clamp(b, 65_535);
        let oti = Self::oti(transfer_length, symbol_length, b, max_n, DEFAULT_N1, 1);
        self.validate_oti(&oti).map(|()| oti)
    }

    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        if oti.encoding_id != FecEncodingId::LDPC_STAIRCASE {
            return Err(FecError::SchemeMismatch {
                expected: FecEncodingId::LDPC_STAIRCASE,
                found: oti.encoding_id,
            });
        }
        let SchemeSpecific::LdpcStaircase { n1, seed } = oti.scheme_specific else {
            return Err(FecError::InvalidOti {
                field: "scheme-specific",
                value: 0,
                reason: "LDPC-Staircase needs N1 and the PRNG seed (RFC 5170 §4.2.3)",
            });
        };
        check_width("L", oti.transfer_length, 48)?;
        check_seed(seed)?;
        if !(3..=MAX_N1).contains(&n1) {
            return Err(FecError::InvalidOti {
                field: "N1",
                value: n1.into(),
                reason: "N1 must be at least 3 (RFC 5170 §4.2.3) and at most 32 here",
            });
        }
        if oti.encoding_symbol_length == 0 {
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
                reason: "maximum source block length must be > 0 (RFC 5170 §5.2)",
            });
        }
        check_width("B", b.into(), 16)?;
        let max_n = oti.max_encoding_symbols.unwrap_or(0);
        check_width("max_n", max_n.into(), 16)?;
        if max_n < b {
            return Err(FecError::InvalidOti {
                field: "max_n",
                value: max_n.into(),
                reason: "max_n must be at least B (RFC 5170 §5.4)",
            });
        }
        let blocking = Blocking::rfc5052(oti.transfer_length, oti.encoding_symbol_length, b)?;
        if blocking.blocks > 1 << 12 {
            return Err(FecError::InvalidOti {
                field: "N",
                value: blocking.blocks,
                reason: "more source blocks than the 12-bit SBN can number (RFC 5170 §4.1)",
            });
        }
        Ok(())
    }

    fn length_independent_prefix(&self, oti: &Oti) -> u64 {
        Blocking::rfc5052_length_independent_prefix(oti.max_source_block_length)
    }

    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        self.validate_oti(oti)?;
        Blocking::rfc5052(
            oti.transfer_length,
            oti.encoding_symbol_length,
            oti.max_source_block_length,
        )
    }

    fn esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32 {
        Self::n_of(oti, block.source_symbols)
    }

    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        self.validate_oti(oti)?;
        check_block_data(block, &data)?;
        let (n1, seed) = Self::params(oti);
        let k = block.source_symbols;
        let n = Self::n_of(oti, k);
        Ok(Box::new(LdpcEncoder {
            block: *block,
            data,
            n,
            n1,
            seed,
            repair: None,
        }))
    }

    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        self.validate_oti(oti)?;
        let (n1, seed) = Self::params(oti);
        let k = block.source_symbols;
        let n = Self::n_of(oti, k);
        let matrix = Matrix::new(k, n - k, n1, seed);
        Ok(Box::new(LdpcDecoder {
            src: SourceBlockBuffer::new(*block),
            repair: vec![None; (n - k) as usize],
            repair_count: 0,
            matrix,
            n,
            done: false,
        }))
    }
}

fn check_g(g: u64) -> Result<(), FecError> {
    if g != 1 {
        return Err(FecError::InvalidOti {
            field: "G",
            value: g,
            reason: "only G = 1 encoding symbol per packet is supported (RFC 5170 §5.3)",
        });
    }
    Ok(())
}

fn n1_of(n1m3: u64) -> Result<u8, FecError> {
    match u8::try_from(n1m3 + 3) {
        Ok(n1) if n1 <= MAX_N1 => Ok(n1),
        _ => Err(FecError::InvalidOti {
            field: "N1",
            value: n1m3 + 3,
            reason: "N1 above the largest supported (32)",
        }),
    }
}

fn check_seed(seed: u32) -> Result<(), FecError> {
    if !(1..=0x7FFF_FFFE).contains(&seed) {
        return Err(FecError::InvalidOti {
            field: "seed",
            value: seed.into(),
            reason: "PRNG seed must be in 1..=2^31-2 (RFC 5170 §5.7)",
        });
    }
    Ok(())
}

/// The Park-Miller "minimal standard" PRNG of RFC 5170 §5.7: x <- 16807 x mod (2^31 - 1),
/// scaled to `0..maxv`.
#[derive(Debug, Clone)]
pub struct Prng {
    state: u64,
}

impl Prng {
    /// A generator seeded with `seed` (1..=2^31-2).
    pub fn new(seed: u32) -> Self {
        Self {
            state: u64::from(seed),
        }
    }

    /// The next value, in `0..maxv`.
    pub fn rand(&mut self, maxv: u64) -> u64 {
        self.state = self.state * 16807 % 0x7FFF_FFFF;
        // The RFC's scaling: floor(x * maxv / (2^31 - 1)), computed in double precision.
        ((self.state as f64) * (maxv as f64) / (0x7FFF_FFFF as f64)) as u64
    }
}

/// The source part of the parity-check matrix: for each of the n-k rows, the source
/// symbols (0..k) in it. Repair symbol i is in row i and row i+1 (the staircase).
#[derive(Debug, Clone)]
pub struct Matrix {
    k: u32,
    /// Source columns of each row.
    rows: Vec<Vec<u32>>,
    /// Rows of each source column.
    cols: Vec<Vec<u32>>,
}

impl Matrix {
    /// Builds the matrix for `k` source and `r` repair symbols (RFC 5170 §6.2). When
    /// `r < n1`, N1 is lowered to `r` (the RFC's construction needs N1 <= n-k).
    pub fn new(k: u32, r: u32, n1: u8, seed: u32) -> Self {
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); r as usize];
        let mut cols: Vec<Vec<u32>> = vec![Vec::new(); k as usize];
        if r == 0 || k == 0 {
            return Self { k, rows, cols };
        }
        let n1 = u32::from(n1).min(r);
        let mut prng = Prng::new(seed);
        let total = (n1 * k) as usize;
        let mut u: Vec<u32> = (0..total as u32).map(|i| i % r).collect();
        let mut t = 0usize;
        for j in 0..k as usize {
            for _ in 0..n1 {
                let has = |cols: &Vec<Vec<u32>>, row: u32| cols[j].contains(&row);
                let available = (t..total).any(|i| !has(&cols, u[i]));
                let row = if available {
                    let mut i;
                    loop {
                        i = t + prng.rand((total - t) as u64) as usize;
                        if !has(&cols, u[i]) {
                            break;
                        }
                    }
                    let row = u[i];
                    u[i] = u[t];
                    t += 1;
                    row
                } else {
                    let mut row;
                    loop {
                        row = prng.rand(r.into()) as u32;
                        if !has(&cols, row) {
                            break;
                        }
                    }
                    row
                };
                cols[j].push(row);
                rows[row as usize].push(j as u32);
            }
        }
        drop(u);
        // Rows with fewer than two source entries get more.
        // (Indices below are in range: rows are < r, columns < k, by construction.)
        for (i, row) in rows.iter_mut().enumerate() {
            if row.is_empty() {
                let j = prng.rand(k.into()) as u32;
                row.push(j);
                cols[j as usize].push(i as u32);
            }
            if let [first] = row[..] {
                if k > 1 {
                    let mut j;
                    loop {
                        j = prng.rand(k.into()) as u32;
                        if j != first {
                            break;
                        }
                    }
                    row.push(j);
                    cols[j as usize].push(i as u32);
                }
            }
        }
        Self { k, rows, cols }
    }

    /// Number of rows (repair symbols).
    pub fn repair_symbols(&self) -> u32 {
        self.rows.len() as u32
    }

    /// Source symbols of row `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        self.rows.get(i).map_or(&[], Vec::as_slice)
    }

    /// Computes every repair symbol of `t` bytes from the padded source block `src`
    /// (`k * t` bytes) into `out` (`r * t` bytes).
    pub fn encode(&self, src: &[u8], t: usize, out: &mut [u8]) {
        for (i, row) in self.rows.iter().enumerate() {
            let (before, rest) = out.split_at_mut(i * t);
            let p = &mut rest[..t];
            if i == 0 {
                p.fill(0);
            } else {
                p.copy_from_slice(&before[(i - 1) * t..]);
            }
            for &j in row {
                let s = j as usize * t;
                xor_into(p, &src[s..s + t]);
            }
        }
    }
}

/// `dst ^= src`, written so that the compiler vectorises it (wide chunks, no bounds
/// checks in the loop).
#[inline]
pub fn xor_into(dst: &mut [u8], src: &[u8]) {
    let mut d = dst.chunks_exact_mut(32);
    let mut s = src.chunks_exact(32);
    for (d, s) in (&mut d).zip(&mut s) {
        for (x, y) in d.iter_mut().zip(s) {
            *x ^= *y;
        }
    }
    for (x, y) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *x ^= *y;
    }
}

struct LdpcEncoder {
    block: BlockSpec,
    data: Bytes,
    n: u32,
    n1: u8,
    seed: u32,
    /// Every repair symbol, computed on the first repair request.
    repair: Option<Vec<u8>>,
}

impl LdpcEncoder {
    /// Every repair symbol of the block, computed on first use.
    fn repair(&mut self) -> &[u8] {
        let k = self.block.source_symbols;
        let t = usize::from(self.block.symbol_length);
        let (n, n1, seed, data) = (self.n, self.n1, self.seed, &self.data);
        self.repair.get_or_insert_with(|| {
            let r = n - k;
            let matrix = Matrix::new(k, r, n1, seed);
            let mut padded = data.to_vec();
            padded.resize(k as usize * t, 0);
            let mut rep = vec![0u8; r as usize * t];
            matrix.encode(&padded, t, &mut rep);
            rep
        })
    }
}

impl BlockEncoder for LdpcEncoder {
    fn prepare(&mut self) -> Result<(), FecError> {
        if self.n > self.block.source_symbols {
            self.repair();
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
        let t = usize::from(self.block.symbol_length);
        if let Some(len) = self.block.source_symbol_len(esi) {
            let start = esi as usize * t;
            let src = self
                .data
                .get(start..start + len)
                .ok_or(FecError::EsiOutOfRange { esi, limit: k })?;
            out_prefix(out, len, "symbol buffer")?.copy_from_slice(src);
            return Ok(len);
        }
        if esi >= self.n {
            return Err(FecError::EsiOutOfRange { esi, limit: self.n });
        }
        let dst = out_prefix(out, t, "symbol buffer")?;
        let repair = self.repair();
        let i = (esi - k) as usize * t;
        dst.copy_from_slice(&repair[i..i + t]);
        Ok(t)
    }
}

struct LdpcDecoder {
    src: SourceBlockBuffer,
    repair: Vec<Option<Box<[u8]>>>,
    repair_count: u32,
    matrix: Matrix,
    n: u32,
    done: bool,
}

impl LdpcDecoder {
    fn t(&self) -> usize {
        usize::from(self.src.block().symbol_length)
    }

    /// Solves the block; returns false, with nothing changed, when the received symbols
    /// do not determine it.
    fn solve(&mut self) -> bool {
        let k = self.matrix.k as usize;
        let r = self.repair.len();
        let t = self.t();
        let known = |d: &Self, v: usize| {
            if v < k {
                d.src.has(v as u32)
            } else {
                d.repair[v - k].is_some()
            }
        };
        // Variables of row i: its source columns, repair i, repair i-1.
        let row_vars = |i: usize| {
            let m = &self.matrix;
            m.row(i)
                .iter()
                .map(|&j| j as usize)
                .chain(core::iter::once(k + i))
                .chain((i > 0).then_some(k + i - 1))
        };
        // Symbolic peeling.
        let mut solved = vec![false; k + r];
        for (v, s) in solved.iter_mut().enumerate() {
            *s = known(self, v);
        }
        let mut unknown_in_row: Vec<u32> = (0..r)
            .map(|i| row_vars(i).filter(|&v| !solved[v]).count() as u32)
            .collect();
        let mut queue: Vec<usize> = (0..r).filter(|&i| unknown_in_row[i] == 1).collect();
        let mut plan: Vec<(usize, usize)> = Vec::new();
        while let Some(i) = queue.pop() {
            if unknown_in_row[i] != 1 {
                continue;
            }
            let Some(v) = row_vars(i).find(|&v| !solved[v]) else {
                continue;
            };
            solved[v] = true;
            plan.push((i, v));
            let rows_of_v: Vec<usize> = if v < k {
                self.matrix.cols[v].iter().map(|&x| x as usize).collect()
            } else {
                let ri = v - k;
                let mut x = vec![ri];
                if ri + 1 < r {
                    x.push(ri + 1);
                }
                x
            };
            for row in rows_of_v {
                unknown_in_row[row] = unknown_in_row[row].saturating_sub(1);
                if unknown_in_row[row] == 1 {
                    queue.push(row);
                }
            }
        }
        // Unknown repair symbols first, unknown source symbols last: the elimination then
        // gives a pivot to every source column exactly when every source symbol is
        // determined by what was received, whether or not the unknown repair symbols are
        // (a row whose leading 1 is a source column has 0 in every repair column). A
        // pivot in every column, repair ones included, is more than decoding needs. (On
        // `flute-fec-sim`'s 60 000 overhead trials the two rules gave identical numbers:
        // the long tail there is the code's own at N1 = 3.)
        let mut left: Vec<usize> = (k..k + r).filter(|&v| !solved[v]).collect();
        let unknown_repair = left.len();
        left.extend((0..k).filter(|&v| !solved[v]));
        let need_ml = left.len() > unknown_repair;
        // Gaussian elimination over the rows that still have unknowns.
        if need_ml {
            if left.len() > MAX_ML_UNKNOWNS {
                return false;
            }
            let u = left.len();
            let mut index = vec![usize::MAX; k + r];
            for (c, &v) in left.iter().enumerate() {
                index[v] = c;
            }
            let words = u.div_ceil(64);
            let eq_rows: Vec<usize> = (0..r).filter(|&i| unknown_in_row[i] > 0).collect();
            if eq_rows.len() < u - unknown_repair {
                return false;
            }
            let mut bits: Vec<Vec<u64>> = eq_rows
                .iter()
                .map(|&i| {
                    let mut b = vec![0u64; words];
                    for v in row_vars(i) {
                        let c = index[v];
                        if c != usize::MAX {
                            b[c / 64] ^= 1 << (c % 64);
                        }
                    }
                    b
                })
                .collect();
            // Symbolic elimination, recording the pivot order; the same operations are
            // then applied to the symbols. `pivot_of[c]`: the position in `order` of
            // column c's pivot row; a repair column may have none (left undetermined).
            let mut order: Vec<usize> = (0..eq_rows.len()).collect();
            let mut ops: Vec<(usize, usize)> = Vec::new();
            let mut pivot_of = vec![usize::MAX; u];
            let mut next = 0;
            for c in 0..u {
                let Some(p) =
                    (next..order.len()).find(|&p| bits[order[p]][c / 64] >> (c % 64) & 1 == 1)
                else {
                    if c < unknown_repair {
                        continue;
                    }
                    return false;
                };
                order.swap(next, p);
                pivot_of[c] = next;
                let pr = order[next];
                next += 1;
                for (q, &qr) in order.iter().enumerate() {
                    if q != pivot_of[c] && bits[qr][c / 64] >> (c % 64) & 1 == 1 {
                        let (a, b) = if pr < qr {
                            let (x, y) = bits.split_at_mut(qr);
                            (&x[pr], &mut y[0])
                        } else {
                            let (x, y) = bits.split_at_mut(pr);
                            (&y[0], &mut x[qr])
                        };
                        for (w, s) in b.iter_mut().zip(a.iter()) {
                            *w ^= *s;
                        }
                        ops.push((pr, qr));
                    }
                }
            }
            // The same operations on the symbols.
            let mut rhs: Vec<Vec<u8>> = Vec::with_capacity(eq_rows.len());
            // Peeled values are needed first.
            let (mut values, at) = self.apply_plan(&plan, t);
            for &i in &eq_rows {
                let mut acc = vec![0u8; t];
                for v in row_vars(i) {
                    if index[v] == usize::MAX {
                        xor_into(&mut acc, self.value(v, &values, &at, t));
                    }
                }
                rhs.push(acc);
            }
            for (pr, qr) in ops {
                let (a, b) = if pr < qr {
                    let (x, y) = rhs.split_at_mut(qr);
                    (&x[pr], &mut y[0])
                } else {
                    let (x, y) = rhs.split_at_mut(pr);
                    (&y[0], &mut x[qr])
                };
                xor_into(b, a);
            }
            // The source symbols (what `commit` keeps; unknown repair symbols are not
            // needed once the block is decoded).
            for (c, &v) in left.iter().enumerate().skip(unknown_repair) {
                let sym = core::mem::take(&mut rhs[order[pivot_of[c]]]);
                values.push((v, sym));
            }
            self.commit(values, t);
            return true;
        }
        let (values, _) = self.apply_plan(&plan, t);
        self.commit(values, t);
        true
    }

    /// The current value of variable `v`: received, or solved by peeling (`values`, found
    /// through the index `at`).
    fn value<'a>(
        &'a self,
        v: usize,
        values: &'a [(usize, Vec<u8>)],
        at: &[usize],
        t: usize,
    ) -> &'a [u8] {
        let k = self.matrix.k as usize;
        if v < k && self.src.has(v as u32) {
            return self.src_slice(v, t);
        }
        if v >= k {
            if let Some(Some(s)) = self.repair.get(v - k) {
                return s;
            }
        }
        at.get(v)
            .and_then(|&i| values.get(i))
            .map_or(&[], |(_, s)| s.as_slice())
    }

    fn src_slice(&self, v: usize, t: usize) -> &[u8] {
        self.src.padded().get(v * t..(v + 1) * t).unwrap_or(&[])
    }

    /// Runs the peeling plan on the symbols.
    #[allow(clippy::type_complexity)]
    fn apply_plan(&self, plan: &[(usize, usize)], t: usize) -> (Vec<(usize, Vec<u8>)>, Vec<usize>) {
        let k = self.matrix.k as usize;
        let mut values: Vec<(usize, Vec<u8>)> = Vec::with_capacity(plan.len());
        // Index of each solved variable in `values`, for O(1) lookups.
        let mut at = vec![usize::MAX; k + self.repair.len()];
        for &(i, v) in plan {
            let mut acc = vec![0u8; t];
            let vars = self
                .matrix
                .row(i)
                .iter()
                .map(|&j| j as usize)
                .chain(core::iter::once(k + i))
                .chain((i > 0).then_some(k + i - 1));
            for x in vars {
                if x == v {
                    continue;
                }
                let s: &[u8] = if at[x] != usize::MAX {
                    &values[at[x]].1
                } else if x < k {
                    self.src_slice(x, t)
                } else {
                    self.repair[x - k].as_deref().unwrap_or(&[])
                };
                xor_into(&mut acc, s);
            }
            at[v] = values.len();
            values.push((v, acc));
        }
        (values, at)
    }

    fn commit(&mut self, values: Vec<(usize, Vec<u8>)>, t: usize) {
        let k = self.matrix.k as usize;
        for (v, s) in values {
            if v < k && !self.src.has(v as u32) {
                if let Some(d) = self.src.padded_mut().get_mut(v * t..(v + 1) * t) {
                    d.copy_from_slice(&s);
                }
                self.src.mark(v as u32);
            }
        }
        self.done = true;
    }
}

impl BlockDecoder for LdpcDecoder {
    fn block(&self) -> &BlockSpec {
        self.src.block()
    }

    fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError> {
        let k = self.src.block().source_symbols;
        if esi < k {
            if self.done {
                return Ok(PushOutcome::NotNeeded);
            }
            return self.src.push(esi, symbol);
        }
        if esi >= self.n {
            return Err(FecError::EsiOutOfRange { esi, limit: self.n });
        }
        let t = self.t();
        if symbol.len() != t {
            return Err(FecError::SymbolLength {
                esi,
                len: symbol.len(),
                expected: t,
            });
        }
        let slot = &mut self.repair[(esi - k) as usize];
        if let Some(old) = slot {
            return if **old == *symbol {
                Ok(PushOutcome::Duplicate)
            } else {
                Err(FecError::ConflictingSymbol { esi })
            };
        }
        // Memory bound (catalogue item 39), as for the fountain codes: beyond 2k + 64
        // symbols more cannot realistically help, so they are not stored.
        if self.done || u64::from(self.src.count() + self.repair_count) >= 2 * u64::from(k) + 64 {
            return Ok(PushOutcome::NotNeeded);
        }
        *slot = Some(symbol.into());
        self.repair_count += 1;
        Ok(PushOutcome::Accepted)
    }

    fn received(&self) -> u32 {
        self.src.count() + self.repair_count
    }

    fn is_decodable(&self) -> bool {
        self.done || self.received() >= self.src.block().source_symbols
    }

    fn decode(&mut self) -> Result<Bytes, FecError> {
        let k = self.src.block().source_symbols;
        if !self.done {
            if self.received() < k {
                return Err(FecError::NotEnoughSymbols {
                    have: self.received(),
                    need: k,
                });
            }
            if !self.src.is_complete() && !self.solve() {
                return Err(FecError::DecodeFailed);
            }
            self.done = true;
        }
        Ok(self.src.take())
    }

    fn missing_source_symbols(&self) -> Vec<u32> {
        self.src.missing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 5170 §4.1: SBN 12 bits | ESI 20 bits, hand-assembled: SBN 0xABC, ESI 0x12345.
    #[test]
    fn rfc5170_4_1_payload_id_vector() {
        let id = LdpcStaircase
            .read_payload_id(&hex!("ABC12345"), None)
            .unwrap();
        assert_eq!((id.sbn, id.esi), (0xABC, 0x12345));
        let oti = LdpcStaircase::oti(1000, 64, 16, 24, 3, 1);
        let mut out = [0u8; 4];
        LdpcStaircase.write_payload_id(&id, &oti, &mut out).unwrap();
        assert_eq!(out, hex!("ABC12345"));
        let too_big = PayloadId {
            sbn: 1 << 12,
            esi: 0,
            source_block_length: None,
        };
        assert!(
            LdpcStaircase
                .write_payload_id(&too_big, &oti, &mut out)
                .is_err()
        );
    }

    /// RFC 5170 §4.2.4.1 (layout [UNV], see the module docs): HET 64, HEL 5, L = 66613,
    /// E = 1400, N1m3 = 4 (N1 = 7), G = 1, B = 1024, max_n = 1229, seed = 0x01020304.
    #[test]
    fn rfc5170_4_2_ext_fti_vector() {
        let bytes = hex!("40 05 000000010435 0578 04 01 0400 04CD 01020304");
        let oti = LdpcStaircase.read_fti(&bytes).unwrap();
        assert_eq!(
            oti,
            LdpcStaircase::oti(66613, 1400, 1024, 1229, 7, 0x0102_0304)
        );
        let mut out = [0u8; FTI_LEN];
        assert_eq!(LdpcStaircase.write_fti(&oti, &mut out).unwrap(), FTI_LEN);
        assert_eq!(out, bytes);
        // FDT scheme-specific info: seed | N1m3 | G.
        let ssi = LdpcStaircase.write_scheme_specific_info(&oti);
        assert_eq!(ssi, hex!("01020304 04 01"));
        assert_eq!(
            LdpcStaircase.read_scheme_specific_info(&ssi).unwrap(),
            oti.scheme_specific
        );
    }

    /// Hostile EXT_FTI values: seed 0 or 2^31-1, G != 1, N1 above the bound, B = 0,
    /// max_n < B, more than 4096 blocks, wrong HEL: typed errors, no panic.
    #[test]
    fn bad_input_ldpc_hostile_fti_values() {
        let good = hex!("40 05 000000010435 0578 04 01 0400 04CD 01020304");
        let patch = |at: usize, v: &[u8]| {
            let mut b = good;
            b[at..at + v.len()].copy_from_slice(v);
            b
        };
        for bad in [
            patch(16, &hex!("00000000")), // seed 0
            patch(16, &hex!("7FFFFFFF")), // seed 2^31-1
            patch(16, &hex!("FFFFFFFF")), // seed above 31 bits
            patch(11, &[2]),              // G = 2
            patch(11, &[0]),              // G = 0
            patch(10, &[0xFF]),           // N1 = 258
            patch(10, &[30]),             // N1 = 33 > MAX_N1
            patch(12, &hex!("0000")),     // B = 0
            patch(14, &hex!("0001")),     // max_n < B
        ]
        .iter()
        {
            assert!(
                matches!(
                    LdpcStaircase.read_fti(bad),
                    Err(FecError::InvalidOti { .. })
                ),
                "{bad:02x?}"
            );
        }
        // More than 4096 blocks (12-bit SBN): L = 2^40, E = 1, B = 1.
        let many = LdpcStaircase::oti(1 << 40, 1, 1, 2, 3, 1);
        assert!(matches!(
            LdpcStaircase.validate_oti(&many),
            Err(FecError::InvalidOti { field: "N", .. })
        ));
        // Wrong HEL.
        let mut short = good;
        short[1] = 4;
        assert!(LdpcStaircase.read_fti(&short[..16]).is_err());
        // A wrong-length scheme-specific info.
        assert!(LdpcStaircase.read_scheme_specific_info(&[1, 2, 3]).is_err());
    }

    /// RFC 5170 §6.2: every row has at least two source entries and each source column
    /// at least N1 (when N1 <= n-k); the repair columns form the staircase.
    #[test]
    fn rfc5170_6_2_matrix_shape() {
        let m = Matrix::new(100, 20, 3, 7);
        assert_eq!(m.repair_symbols(), 20);
        for i in 0..20 {
            assert!(m.row(i).len() >= 2, "row {i}");
        }
        for c in &m.cols {
            assert!(c.len() >= 3);
        }
        // N1 larger than n-k is lowered to n-k instead of failing.
        let m = Matrix::new(10, 2, 5, 7);
        assert!(m.cols.iter().all(|c| c.len() == 2));
    }

    /// ML decoding: a block is recovered from k + a few symbols even when many of them
    /// are repair symbols (peeling alone would stall), and a failure leaves the decoder
    /// usable.
    #[test]
    fn rfc5170_6_4_ml_decoding_near_k() {
        let (k, r, t) = (200u32, 100u32, 8usize);
        let oti = LdpcStaircase::oti(u64::from(k) * t as u64, t as u16, k, k + r, 3, 99);
        let block = LdpcStaircase.blocking(&oti).unwrap().block(0).unwrap();
        let data: Vec<u8> = (0..k as usize * t).map(|i| (i * 13 + 5) as u8).collect();
        let mut enc = LdpcStaircase
            .encoder(&oti, &block, Bytes::from(data.clone()))
            .unwrap();
        let mut dec = LdpcStaircase.decoder(&oti, &block).unwrap();
        // Symbols arrive in a seeded random order over all n ESIs; decode is tried after
        // each one from k on.
        let mut order: Vec<u32> = (0..k + r).collect();
        let mut x: u64 = 0x1234_5678_9ABC_DEF1;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut buf = vec![0u8; t];
        let mut used = 0;
        let mut out = None;
        for esi in order {
            let n = enc.write_symbol(esi, &mut buf).unwrap();
            dec.push(esi, &buf[..n]).unwrap();
            used += 1;
            if dec.is_decodable() {
                match dec.decode() {
                    Ok(b) => {
                        out = Some(b);
                        break;
                    }
                    Err(FecError::DecodeFailed) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        assert_eq!(&out.unwrap()[..], &data[..]);
        // 212 symbols with this seed (6 % overhead, the code's own at k = 200, N1 = 3);
        // peeling alone needs noticeably more.
        assert!(used <= k + 20, "needed {used} symbols for k = {k}");
    }
}
