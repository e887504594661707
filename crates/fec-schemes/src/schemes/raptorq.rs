//! RaptorQ FEC scheme, FEC Encoding ID 6 (RFC 6330), on the [`raptorq`] crate.
//!
//! # Wire formats
//!
//! - FEC Payload ID (RFC 6330 §3.2): SBN (8 bits) | ESI (24 bits).
//! - EXT_FTI (RFC 6330 §3.3.2 / §3.3.3 carried in RFC 5775 §5.2, HEL = 4):
//!
//!   | bytes | field |
//!   |---|---|
//!   | `[0]` | HET = 64 |
//!   | `[1]` | HEL = 4 |
//!   | `[2..7)` | Transfer Length F (40 bits) |
//!   | `[7]` | reserved (0) |
//!   | `[8..10)` | Symbol Size T (16 bits) |
//!   | `[10]` | Z, number of source blocks (8 bits) |
//!   | `[11..13)` | N, number of sub-blocks per source block (16 bits) |
//!   | `[13]` | Al, symbol alignment (8 bits) |
//!   | `[14..16)` | padding (0), ignored on read |
//!
//! - FDT `FEC-OTI-Scheme-Specific-Info` (RFC 6330 §3.3.3): Z (8) | N (16) | Al (8), 4 bytes.
//!
//! # Validation
//!
//! The `raptorq` crate panics on malformed input (short packets, `symbol_size == 0`,
//! `T % Al != 0`, more than 56403 symbols per block, ...). Everything coming from the wire is
//! therefore checked here first (catalogue item 34 of `docs/spec-notes.md` §4):
//! Z = 0, Z > 255 (see below), N = 0, Al = 0, T = 0, T not a multiple of Al, T/Al < N,
//! K > 56403 in the largest source block (so K' ≤ 56403, RFC 6330 §4.4.1.2 and Table 2),
//! F > 946270874880 (RFC 6330 §4.3), ESI ≥ 2^24 and SBN ≥ Z.
//!
//! **Z = 256** \[UNV\]: the catalogue says Z ≤ 256, but Z is an 8-bit field. We do **not**
//! reinterpret Z = 0 as 256, because catalogue item 34 requires Z = 0 to be rejected, the
//! `raptorq` crate itself stores Z as a `u8`, and RFC 6330 erratum 5548 lowers the F limit to
//! 942574504275 = 56403 · 65535 · 255, which is exactly the limit for Z ≤ 255. So
//! `SchemeSpecific::RaptorQ { z: 256, .. }` is refused with [`FecError::FieldOverflow`].
//!
//! # Blocking and sub-blocking
//!
//! Source blocks follow RFC 6330 §4.4.1.2 through [`Blocking::raptor`]; the tests check that
//! it gives the same block sizes as `raptorq::calculate_block_offsets`. Sub-blocks (N > 1)
//! follow the same clause: the (zero-padded) source block of K·T bytes is split into N
//! sub-blocks by `Partition[T/Al, N]`, and source symbol i is the concatenation of sub-symbol
//! i of every sub-block. The `raptorq` per-block API (`SourceBlockEncoder`,
//! `SourceBlockDecoder`) does the coding with the same sub-block layout.
//!
//! # Symbols on the wire
//!
//! Every encoding symbol is T bytes (RFC 6330 §4.4.1.2 pads the last source block with
//! zeros), so the encoder always writes T bytes. The decoder also accepts the last source
//! symbol of the object short (the RFC 5052 convention) and pads it with zeros.
//!
//! # Decoding
//!
//! With every source symbol received (N = 1) the block is their concatenation. With
//! 1 ≤ r ≤ K/16 source symbols missing (and K ≤ 8192), the missing ones are solved for
//! directly (`raptorq/fast.rs`): the contribution of the known source symbols to each
//! received repair symbol comes from cached generator rows (r ≤ 96, K ≤ 2048,
//! `raptorq/generator.rs`) or from one encode with the cached plan, and an r x r system over
//! GF(256) gives the rest, so the cost follows the loss. Otherwise, or when that system is
//! singular (RaptorQ is not MDS), `raptorq`'s `SourceBlockDecoder` decodes from every
//! stored symbol. docs/benchmarks.md has the measurements and the crossovers.
//!
//! A decoder keeps at most 2k + 64 distinct symbols (later ones are reported as
//! [`PushOutcome::NotNeeded`]), so a hostile sender cannot make it hold 2^24 symbols.
//!
//! Repair symbols are generated on demand: source symbols are copied straight from the block
//! data, and the `raptorq` encoder (which solves for the intermediate symbols) is only built
//! when the first repair symbol is asked for. It is built from an encoding plan (the
//! recorded solution of the constraint matrix, which depends on K alone) taken from a
//! bounded process-wide cache, so the blocks of an object, and objects, that share K solve
//! the matrix once; see `raptorq/plan.rs` for the bound (at most 8 plans, 48 MiB, K ≤ 8192).

mod fast;
mod generator;
mod plan;

use core::ops::Range;

use bytes::Bytes;
use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, SourceBlockDecoder, SourceBlockEncoder,
};

use crate::schemes::common::{
    Admitted, SymbolLog, check_block_data, check_block_of, check_esi, missing_esis,
};
use crate::schemes::raptor_family::{
    check_t_n_al, deinterleave_block, largest_block, write_interleaved_source_symbol,
};
use crate::wire::{be, check_width, fti_body, fti_prefix, out_prefix, put_be};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecScheme, Oti,
    PushOutcome, SbnEsiLayout, SchemeKey, SchemeSpecific,
};

const FTI_LEN: usize = 16;
/// Largest F allowed by RFC 6330 §4.3.
pub const MAX_TRANSFER_LENGTH: u64 = 946_270_874_880;
/// Largest number of source symbols per source block (K'max of RFC 6330 Table 2).
pub const MAX_SOURCE_SYMBOLS: u32 = 56_403;
/// Exclusive limit of the 24-bit ESI field (catalogue item 34).
pub const ESI_LIMIT: u32 = 1 << 24;

/// The RaptorQ scheme (FEC Encoding ID 6, RFC 6330).
#[derive(Debug, Clone, Copy, Default)]
pub struct RaptorQ;

impl RaptorQ {
    /// An OTI for RaptorQ: transfer length F, symbol size T, Z source blocks, N sub-blocks,
    /// alignment Al. `max_source_block_length` is filled with the largest block length (in
    /// symbols), or 0 when the parameters are invalid or the object is empty.
    pub fn oti(transfer_length: u64, symbol_size: u16, z: u16, n: u16, al: u8) -> Oti {
        Oti {
            encoding_id: FecEncodingId::RAPTORQ,
            instance_id: None,
            transfer_length,
            encoding_symbol_length: symbol_size,
            max_source_block_length: largest_block(transfer_length, symbol_size, z),
            max_encoding_symbols: None,
            scheme_specific: SchemeSpecific::RaptorQ { z, n, al },
        }
    }

    /// Picks Z for an object so that no source block exceeds `max_k` source symbols
    /// (clamped to 1..=56403), with N = 1 and Al = 1. Returns `None` if the object needs
    /// more than 255 blocks.
    pub fn oti_for(transfer_length: u64, symbol_size: u16, max_k: u32) -> Option<Oti> {
        if symbol_size == 0 {
            return None;
        }
        let max_k = u64::from(max_k.clamp(1, MAX_SOURCE_SYMBOLS));
        let kt = transfer_length.div_ceil(u64::from(symbol_size));
        let z = kt.div_ceil(max_k).max(1);
        let z = u16::try_from(z).ok().filter(|&z| z <= 255)?;
        Some(Self::oti(transfer_length, symbol_size, z, 1, 1))
    }
}

impl RaptorQ {
    /// A block decoder like [`FecScheme::decoder`] whose fast path (solve for the r missing
    /// source symbols) is tried up to `fast_r_max` missing source symbols instead of the
    /// default crossover (0 turns it off), with generator rows up to `generator_r_max` and
    /// a re-encode of the block above. For benchmarks that place the crossovers; not part
    /// of the supported API.
    #[doc(hidden)]
    pub fn decoder_with_fast_limits(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        fast_r_max: u32,
        generator_r_max: u32,
    ) -> Result<Box<dyn BlockDecoder>, FecError> {
        let mut d = RqDecoder::new(BlockParams::new(self, oti, block)?);
        d.fast_r_max = fast_r_max;
        d.generator_r_max = generator_r_max;
        Ok(Box::new(d))
    }
}

/// RaptorQ scheme-specific parameters (Z, N, Al) of an OTI, checked.
pub(crate) fn rq_params(oti: &Oti) -> Result<(u16, u16, u8), FecError> {
    match oti.scheme_specific {
        SchemeSpecific::RaptorQ { z, n, al } => Ok((z, n, al)),
        _ => Err(FecError::InvalidOti {
            field: "Scheme-Specific-Info",
            value: 0,
            reason: "RaptorQ OTI needs SchemeSpecific::RaptorQ { z, n, al } (RFC 6330 §3.3.3)",
        }),
    }
}

/// The FEC Payload ID, named `FEC Payload ID (ID 6)` in errors: 8-bit SBN, 24-bit ESI.
const PAYLOAD_ID: SbnEsiLayout = SbnEsiLayout::of(8, 24);

impl FecScheme for RaptorQ {
    fn key(&self) -> SchemeKey {
        SchemeKey::fully_specified(FecEncodingId::RAPTORQ)
    }

    fn name(&self) -> &'static str {
        "RaptorQ"
    }

    fn payload_id_layout(&self) -> Option<SbnEsiLayout> {
        Some(PAYLOAD_ID)
    }

    fn fti_len(&self, _oti: &Oti) -> usize {
        FTI_LEN
    }

    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, FecEncodingId::RAPTORQ, FTI_LEN)?;
        // Length checked above: every field is in range.
        let f = be(ext, 2, 5).unwrap_or(0);
        let t = be(ext, 8, 2).unwrap_or(0) as u16;
        let z = be(ext, 10, 1).unwrap_or(0) as u16;
        let n = be(ext, 11, 2).unwrap_or(0) as u16;
        let al = be(ext, 13, 1).unwrap_or(0) as u8;
        let oti = Self::oti(f, t, z, n, al);
        self.validate_oti(&oti)?;
        Ok(oti)
    }

    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        let (z, n, al) = rq_params(oti)?;
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 5, oti.transfer_length);
        put_be(out, 8, 2, oti.encoding_symbol_length.into());
        put_be(out, 10, 1, z.into());
        put_be(out, 11, 2, n.into());
        put_be(out, 13, 1, al.into());
        Ok(FTI_LEN)
    }

    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        if info.len() != 4 {
            return Err(FecError::InvalidOti {
                field: "Scheme-Specific-Info",
                value: info.len() as u64,
                reason: "RaptorQ scheme-specific info is 4 bytes: Z(8) N(16) Al(8) (RFC 6330 §3.3.3)",
            });
        }
        let z = u16::from(info[0]);
        let n = u16::from_be_bytes([info[1], info[2]]);
        let al = info[3];
        if z == 0 {
            return Err(FecError::InvalidOti {
                field: "Z",
                value: 0,
                reason: "number of source blocks must be > 0 (RFC 6330 §4.3)",
            });
        }
        if n == 0 {
            return Err(FecError::InvalidOti {
                field: "N",
                value: 0,
                reason: "number of sub-blocks must be > 0 (RFC 6330 §4.3)",
            });
        }
        if al == 0 {
            return Err(FecError::InvalidOti {
                field: "Al",
                value: 0,
                reason: "symbol alignment must be > 0 (RFC 6330 §4.3)",
            });
        }
        Ok(SchemeSpecific::RaptorQ { z, n, al })
    }

    fn write_scheme_specific_info(&self, oti: &Oti) -> Vec<u8> {
        match rq_params(oti) {
            Ok((z, n, al)) => {
                let n = n.to_be_bytes();
                vec![z.min(255) as u8, n[0], n[1], al]
            }
            Err(_) => Vec::new(),
        }
    }

    /// Z chosen so that no block exceeds `max_source_block` (default 1024) source symbols;
    /// N = 1, Al = 1.
    fn oti_for(
        &self,
        transfer_length: u64,
        symbol_length: u16,
        max_source_block: Option<u32>,
        _repair_ratio: f64,
    ) -> Result<Oti, FecError> {
        let oti = Self::oti_for(transfer_length, symbol_length, max_source_block.unwrap_or(1024))
            .or_else(|| Self::oti_for(transfer_length, symbol_length, MAX_SOURCE_SYMBOLS))
            .ok_or(FecError::InvalidOti {
                field: "Z",
                value: 256,
                reason: "RFC 6330 §3.3.2: the object needs more than 255 source blocks of this symbol size",
            })?;
        self.validate_oti(&oti).map(|()| oti)
    }

    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        if oti.encoding_id != FecEncodingId::RAPTORQ {
            return Err(FecError::SchemeMismatch {
                expected: FecEncodingId::RAPTORQ,
                found: oti.encoding_id,
            });
        }
        let (z, n, al) = rq_params(oti)?;
        if oti.transfer_length > MAX_TRANSFER_LENGTH {
            return Err(FecError::InvalidOti {
                field: "F",
                value: oti.transfer_length,
                reason: "transfer length above 946270874880 (RFC 6330 §4.3)",
            });
        }
        if z == 0 {
            return Err(FecError::InvalidOti {
                field: "Z",
                value: 0,
                reason: "number of source blocks must be > 0 (RFC 6330 §4.3)",
            });
        }
        check_width("Z", z.into(), 8)?;
        check_t_n_al(oti.encoding_symbol_length, n.into(), al)?;
        let blocking = Blocking::raptor(
            oti.transfer_length,
            oti.encoding_symbol_length,
            u32::from(z),
        )?;
        if blocking.total_symbols > 0 && blocking.large > MAX_SOURCE_SYMBOLS {
            return Err(FecError::InvalidOti {
                field: "K",
                value: blocking.large.into(),
                reason: "more than K'max = 56403 source symbols in a block: ceil(ceil(F/T)/Z) too large (RFC 6330 §4.4.1.2)",
            });
        }
        if blocking.total_symbols > 0 && blocking.small == 0 {
            return Err(FecError::InvalidOti {
                field: "Z",
                value: z.into(),
                reason: "more source blocks than source symbols: some blocks would be empty (RFC 6330 §4.4.1.2)",
            });
        }
        Ok(())
    }

    /// With one source block and no sub-blocking (Z = 1, N = 1, as the OTI of a small
    /// object has), source symbol `i` is bytes `i·T ..` for every transfer length the OTI
    /// can carry (K ≤ K'max = 56403, RFC 6330 §4.4.1.2): a longer object fails the OTI
    /// check instead. With Z > 1 or N > 1 the symbols depend on the length: none.
    fn length_independent_prefix(&self, oti: &Oti) -> u64 {
        match rq_params(oti) {
            Ok((1, 1, _)) => 56_403,
            _ => 0,
        }
    }

    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        self.validate_oti(oti)?;
        let (z, _, _) = rq_params(oti)?;
        Blocking::raptor(
            oti.transfer_length,
            oti.encoding_symbol_length,
            u32::from(z),
        )
    }

    fn esi_limit(&self, _oti: &Oti, _block: &BlockSpec) -> u32 {
        ESI_LIMIT
    }

    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        let params = BlockParams::new(self, oti, block)?;
        check_block_data(block, &data)?;
        Ok(Box::new(RqEncoder {
            p: params,
            data,
            inner: None,
            ahead: None,
        }))
    }

    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        let p = BlockParams::new(self, oti, block)?;
        Ok(Box::new(RqDecoder::new(p)))
    }
}

/// Everything a block coder needs, validated once.
#[derive(Debug, Clone, Copy)]
struct BlockParams {
    block: BlockSpec,
    t: u16,
    n: u16,
    al: u8,
}

impl BlockParams {
    fn new(scheme: &RaptorQ, oti: &Oti, block: &BlockSpec) -> Result<Self, FecError> {
        let blocking = scheme.blocking(oti)?;
        // The block must be one of this object's blocks: a hostile BlockSpec must not reach
        // raptorq (which would panic on K = 0 or K > 56403).
        check_block_of(&blocking, block)?;
        let (_, n, al) = rq_params(oti)?;
        Ok(Self {
            block: *block,
            t: oti.encoding_symbol_length,
            n,
            al,
        })
    }

    fn k(&self) -> u32 {
        self.block.source_symbols
    }

    /// raptorq OTI for one block: F = K·T, one block, N sub-blocks, Al. All asserts of
    /// `ObjectTransmissionInformation::new` hold: K ≤ 56403, T % Al == 0.
    fn rq_config(&self) -> ObjectTransmissionInformation {
        ObjectTransmissionInformation::new(
            u64::from(self.k()) * u64::from(self.t),
            self.t,
            1,
            self.n,
            self.al,
        )
    }
}

struct RqEncoder {
    p: BlockParams,
    data: Bytes,
    inner: Option<SourceBlockEncoder>,
    /// Repair symbols written ahead by `prepare_symbols`: ESI `.0` and up.
    ahead: Option<(u32, Vec<EncodingPacket>)>,
}

impl RqEncoder {
    /// The raptorq encoder of this block (its intermediate symbols), built on first use.
    fn inner(&mut self) -> &mut SourceBlockEncoder {
        let p = self.p;
        let data = &self.data;
        self.inner.get_or_insert_with(|| {
            let t = usize::from(p.t);
            let k = p.k();
            let full = k as usize * t;
            let config = p.rq_config();
            // K <= 56403 (validated in BlockParams::new), so it fits raptorq's u16; the plan
            // has exactly K source symbols, which with_encoding_plan requires.
            let plan = plan::plan_for(k as u16);
            if data.len() == full {
                SourceBlockEncoder::with_encoding_plan(p.block.sbn as u8, &config, data, &plan)
            } else {
                // Only the last block of an object needs padding to K·T.
                let mut padded = vec![0u8; full];
                padded[..data.len()].copy_from_slice(data);
                SourceBlockEncoder::with_encoding_plan(p.block.sbn as u8, &config, &padded, &plan)
            }
        })
    }
}

impl BlockEncoder for RqEncoder {
    fn prepare(&mut self) -> Result<(), FecError> {
        self.inner();
        Ok(())
    }

    /// Writes the repair symbols of `repair` now, all in one `repair_packets` call, so that
    /// the thread that sends them only copies; then drops the intermediate symbols (here,
    /// on the preparing thread), which an ESI outside the range rebuilds on demand. At most
    /// k symbols are written ahead (no more memory than the block itself); a longer range
    /// is only prepared.
    fn prepare_symbols(&mut self, repair: Range<u32>) -> Result<(), FecError> {
        let k = self.p.k();
        let start = repair.start.max(k);
        let end = repair.end.min(ESI_LIMIT);
        let count = end.saturating_sub(start);
        if count == 0 || count > k {
            return self.prepare();
        }
        let packets = self.inner().repair_packets(start - k, count);
        self.ahead = Some((start, packets));
        self.inner = None;
        Ok(())
    }

    fn block(&self) -> &BlockSpec {
        &self.p.block
    }

    fn esi_limit(&self) -> u32 {
        ESI_LIMIT
    }

    fn write_symbol(&mut self, esi: u32, out: &mut [u8]) -> Result<usize, FecError> {
        let t = usize::from(self.p.t);
        check_esi(esi, ESI_LIMIT)?;
        let out = out_prefix(out, t, "symbol buffer")?;
        let k = self.p.k();
        if esi < k {
            write_interleaved_source_symbol(
                &self.data,
                k,
                self.p.t,
                self.p.n.into(),
                self.p.al,
                esi,
                out,
            );
            return Ok(t);
        }
        if let Some((first, ahead)) = &self.ahead {
            let at = esi.checked_sub(*first).and_then(|i| ahead.get(i as usize));
            if let Some(sym) = at {
                let sym = Some(sym.data())
                    .filter(|d| d.len() == t)
                    .ok_or(FecError::DecodeFailed)?;
                out.copy_from_slice(sym);
                return Ok(t);
            }
        }
        let packets = self.inner().repair_packets(esi - k, 1);
        let sym = packets
            .first()
            .map(EncodingPacket::data)
            .filter(|d| d.len() == t)
            .ok_or(FecError::DecodeFailed)?;
        out.copy_from_slice(sym);
        Ok(t)
    }
}

struct RqDecoder {
    p: BlockParams,
    /// Distinct symbols received, for duplicate/conflict detection.
    seen: SymbolLog,
    /// Symbols not yet handed to raptorq.
    pending: Vec<EncodingPacket>,
    inner: Option<SourceBlockDecoder>,
    source_received: u32,
    missing: Vec<bool>,
    result: Option<Bytes>,
    /// The fast path (`raptorq/fast.rs`) is tried when 1 ≤ r ≤ this many source symbols
    /// are missing.
    fast_r_max: u32,
    /// Repair symbols beyond r that the fast path takes into its system.
    fast_extra_rows: u32,
    /// Up to this r (and K ≤ `generator::MAX_K`) the fast path uses cached generator rows
    /// instead of re-encoding the block.
    generator_r_max: u32,
    /// How the block was (or was not yet) decoded.
    path: DecodePath,
}

/// How a RaptorQ block was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecodePath {
    /// Not decoded yet.
    NotYet,
    /// Every source symbol was there (N = 1): concatenation.
    Source,
    /// Re-encode with the cached plan and solve for the r missing source symbols.
    Fast,
    /// Cached generator rows of the repair ESIs and solve for the r missing source symbols.
    Generator,
    /// `raptorq`'s full decode.
    Full,
}

impl RqDecoder {
    fn new(p: BlockParams) -> Self {
        Self {
            p,
            seen: SymbolLog::new(p.block, p.t, ESI_LIMIT, p.n <= 1),
            pending: Vec::new(),
            inner: None,
            source_received: 0,
            missing: vec![true; p.block.source_symbols as usize],
            result: None,
            fast_r_max: fast::default_r_max(p.k()),
            fast_extra_rows: fast::DEFAULT_EXTRA_ROWS,
            generator_r_max: fast::DEFAULT_GENERATOR_R_MAX,
            path: DecodePath::NotYet,
        }
    }

    /// The fast path for r missing source symbols, if it applies: 1 ≤ r ≤ `fast_r_max`,
    /// K within the plan cache's bound (a plan generated for one block only would cost more
    /// than the decode it saves), nothing handed to `raptorq` yet. `None` also when the
    /// chosen repair symbols do not determine the missing ones; the caller then runs the
    /// full decode on every symbol.
    fn try_fast(&self, r: u32) -> Option<(Vec<u8>, DecodePath)> {
        let k = self.p.k();
        if r == 0 || r > self.fast_r_max || k > plan::MAX_CACHED_K || self.inner.is_some() {
            return None;
        }
        let missing: Vec<u32> = (0..k)
            .filter(|&e| self.missing.get(e as usize).copied().unwrap_or(false))
            .collect();
        if missing.len() != r as usize {
            return None;
        }
        let input = fast::Input {
            k,
            t: self.p.t,
            packets: &self.pending,
            missing: &missing,
            extra_rows: self.fast_extra_rows,
        };
        if r <= self.generator_r_max {
            if let Some(g) = generator::generator_for(k) {
                return fast::decode_with_generator(&input, &g).map(|b| (b, DecodePath::Generator));
            }
        }
        fast::decode(&input).map(|b| (b, DecodePath::Fast))
    }
}

impl BlockDecoder for RqDecoder {
    fn block(&self) -> &BlockSpec {
        &self.p.block
    }

    fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError> {
        // Only the last source symbol of the object may be short; it is padded with zeros.
        let data = match self.seen.admit(esi, symbol, self.result.is_some())? {
            Admitted::New(data) => data,
            Admitted::Done(outcome) => return Ok(outcome),
        };
        let k = self.p.k();
        if esi < k {
            self.source_received += 1;
            if let Some(m) = self.missing.get_mut(esi as usize) {
                *m = false;
            }
        }
        self.pending.push(EncodingPacket::new(
            raptorq::PayloadId::new(self.p.block.sbn as u8, esi),
            data,
        ));
        Ok(PushOutcome::Accepted)
    }

    fn received(&self) -> u32 {
        self.seen.len() as u32
    }

    fn is_decodable(&self) -> bool {
        self.result.is_some() || self.seen.len() as u64 >= u64::from(self.p.k())
    }

    fn decode(&mut self) -> Result<Bytes, FecError> {
        if let Some(r) = &self.result {
            return Ok(r.clone());
        }
        let k = self.p.k();
        let have = self.seen.len() as u32;
        if have < k {
            return Err(FecError::NotEnoughSymbols { have, need: k });
        }
        let len = self.p.block.len as usize;
        let r = k - self.source_received.min(k);
        let out = if r == 0 && self.p.n <= 1 && self.inner.is_none() {
            // Every source symbol is here: no decoding, just concatenation.
            let t = usize::from(self.p.t);
            let mut buf = vec![0u8; k as usize * t];
            for pkt in &self.pending {
                let esi = pkt.payload_id().encoding_symbol_id() as usize;
                if esi < k as usize {
                    buf[esi * t..(esi + 1) * t].copy_from_slice(pkt.data());
                }
            }
            self.path = DecodePath::Source;
            buf
        } else if let Some((wire, path)) = self.try_fast(r) {
            self.path = path;
            let p = self.p;
            deinterleave_block(wire, k, p.t, p.n.into(), p.al)
        } else {
            let p = self.p;
            let dec = self.inner.get_or_insert_with(|| {
                SourceBlockDecoder::new(
                    p.block.sbn as u8,
                    &p.rq_config(),
                    u64::from(k) * u64::from(p.t),
                )
            });
            let pending = core::mem::take(&mut self.pending);
            let out = dec.decode(pending).ok_or(FecError::DecodeFailed)?;
            self.path = DecodePath::Full;
            out
        };
        let mut out = out;
        out.truncate(len);
        let bytes = Bytes::from(out);
        self.pending = Vec::new();
        self.missing.fill(false);
        self.result = Some(bytes.clone());
        Ok(bytes)
    }

    fn missing_source_symbols(&self) -> Vec<u32> {
        missing_esis(&self.missing, self.p.k(), self.result.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// Every block of `oti`: our encoder (plan from the cache) writes the same source and
    /// repair symbols as `raptorq`'s own `SourceBlockEncoder::new` on the zero-padded block.
    fn assert_plan_encoding_matches_raptorq(oti: &Oti, repair: u32) {
        let (_, n, al) = rq_params(oti).unwrap();
        let t = oti.encoding_symbol_length;
        let data = pattern(oti.transfer_length as usize, oti.transfer_length);
        let blocking = RaptorQ.blocking(oti).unwrap();
        for blk in blocking.iter() {
            let k = blk.source_symbols;
            let start = blk.offset as usize;
            let bytes = Bytes::copy_from_slice(&data[start..start + blk.len as usize]);
            let mut padded = bytes.to_vec();
            padded.resize(k as usize * usize::from(t), 0);
            let cfg = ObjectTransmissionInformation::new(padded.len() as u64, t, 1, n, al);
            let reference = SourceBlockEncoder::new(blk.sbn as u8, &cfg, &padded);
            let mut enc = RaptorQ.encoder(oti, &blk, bytes.clone()).unwrap();
            let mut buf = vec![0u8; usize::from(t)];
            for (esi, want) in reference.source_packets().iter().enumerate() {
                enc.write_symbol(esi as u32, &mut buf).unwrap();
                assert_eq!(buf, want.data(), "K={k} SBN={} source ESI {esi}", blk.sbn);
            }
            // The same repair symbols from an encoder that wrote them ahead
            // (`prepare_symbols`, what a sender's encode job does), asked for after the
            // source symbols, then once more (the symbols written ahead are kept).
            let mut ahead = RaptorQ.encoder(oti, &blk, bytes.clone()).unwrap();
            ahead.prepare_symbols(k..k + repair).unwrap();
            let wants = reference.repair_packets(0, repair);
            for (i, want) in wants.iter().enumerate() {
                let esi = k + i as u32;
                assert_eq!(want.payload_id().encoding_symbol_id(), esi);
                enc.write_symbol(esi, &mut buf).unwrap();
                assert_eq!(buf, want.data(), "K={k} SBN={} repair ESI {esi}", blk.sbn);
            }
            for _ in 0..2 {
                for (i, want) in wants.iter().enumerate() {
                    let esi = k + i as u32;
                    ahead.write_symbol(esi, &mut buf).unwrap();
                    assert_eq!(buf, want.data(), "K={k} SBN={} ahead ESI {esi}", blk.sbn);
                }
            }
            // Past the range written ahead: rebuilt on demand, still the same symbol.
            let beyond = reference.repair_packets(repair, 1);
            ahead.write_symbol(k + repair, &mut buf).unwrap();
            assert_eq!(
                buf,
                beyond[0].data(),
                "K={k} SBN={} past the range",
                blk.sbn
            );
        }
    }

    #[test]
    fn plan_encoding_is_byte_identical_n1() {
        // K = 1; one block with a short last symbol; blocks of K = 16 and 15 with a short
        // last block; three blocks of K = 200 (the second and third are cache hits), the
        // last one short.
        for oti in [
            RaptorQ::oti(10, 16, 1, 1, 1),
            RaptorQ::oti(1000, 64, 1, 1, 1),
            RaptorQ::oti(31 * 32 - 5, 32, 2, 1, 4),
            RaptorQ::oti(3 * 200 * 8 - 5, 8, 3, 1, 1),
        ] {
            assert_plan_encoding_matches_raptorq(&oti, 12);
        }
    }

    #[test]
    fn plan_encoding_is_byte_identical_with_sub_blocks() {
        // N = 4, Al = 4 (sub-symbols of 16 bytes); N = 3, Al = 2 with uneven sub-blocks
        // (T/Al = 20 = 7 + 7 + 6); both with a zero-padded last block.
        for oti in [
            RaptorQ::oti(5000, 64, 2, 4, 4),
            RaptorQ::oti(40 * 100 - 17, 40, 3, 3, 2),
        ] {
            assert_plan_encoding_matches_raptorq(&oti, 10);
        }
    }

    /// Minutes in a debug build (unoptimised `raptorq`); run it with
    /// `cargo test --release -p fec-schemes --lib -- --ignored above_the_cached_k`.
    #[test]
    #[ignore = "slow without optimisation; run with --release -- --ignored"]
    fn plan_encoding_is_byte_identical_above_the_cached_k() {
        // K = 8193 > MAX_CACHED_K: a plan of its own, not kept.
        let k = plan::MAX_CACHED_K + 1;
        let oti = RaptorQ::oti(u64::from(k) * 4 - 1, 4, 1, 1, 1);
        assert_eq!(RaptorQ.blocking(&oti).unwrap().large, k);
        assert_plan_encoding_matches_raptorq(&oti, 3);
    }

    #[test]
    fn blocking_matches_raptorq_calculate_block_offsets() {
        for &(f, t, z) in &[
            (1u64, 1u16, 1u16),
            (1000, 10, 3),
            (1_000_000, 1280, 7),
            (65_536, 64, 255),
            (123_457, 100, 13),
        ] {
            let ours = Blocking::raptor(f, t, z.into()).unwrap();
            let cfg = ObjectTransmissionInformation::new(f, t, z as u8, 1, 1);
            let data = vec![0u8; f as usize];
            let theirs = raptorq::calculate_block_offsets(&data, &cfg);
            let ours: Vec<(usize, usize)> = ours
                .iter()
                .map(|b| {
                    let start = b.offset as usize;
                    (start, start + b.source_symbols as usize * usize::from(t))
                })
                .collect();
            assert_eq!(ours, theirs, "F={f} T={t} Z={z}");
        }
    }

    /// Encodes every block of `oti`, feeds each decoder the ESIs `pick(K)` chooses and
    /// checks the decoded block is byte-identical to the source.
    fn assert_decodes(oti: &Oti, pick: &dyn Fn(u32, u32) -> Vec<u32>) {
        let t = usize::from(oti.encoding_symbol_length);
        let data = pattern(oti.transfer_length as usize, oti.transfer_length ^ 0x5a);
        for blk in RaptorQ.blocking(oti).unwrap().iter() {
            let start = blk.offset as usize;
            let src = Bytes::copy_from_slice(&data[start..start + blk.len as usize]);
            let mut enc = RaptorQ.encoder(oti, &blk, src.clone()).unwrap();
            let mut dec = RaptorQ.decoder(oti, &blk).unwrap();
            let mut buf = vec![0u8; t];
            for esi in pick(blk.source_symbols, blk.sbn) {
                enc.write_symbol(esi, &mut buf).unwrap();
                assert_eq!(dec.push(esi, &buf).unwrap(), PushOutcome::Accepted);
            }
            assert!(dec.is_decodable());
            let got = dec.decode().unwrap();
            assert_eq!(got, src, "K={} SBN={}", blk.source_symbols, blk.sbn);
            assert!(dec.missing_source_symbols().is_empty());
            // A second decode returns the same bytes without work.
            assert_eq!(dec.decode().unwrap(), src);
        }
    }

    /// Source ESIs 0..K without `lost`, then `lost.len() + extra` repair ESIs.
    fn all_but(k: u32, lost: &[u32], extra: u32) -> Vec<u32> {
        let r = lost.iter().filter(|&&e| e < k).count() as u32;
        (0..k)
            .filter(|e| !lost.contains(e))
            .chain(k..k + r + extra)
            .collect()
    }

    #[test]
    fn decode_all_source_symbols() {
        for oti in [
            RaptorQ::oti(1000, 64, 1, 1, 1),
            RaptorQ::oti(5000, 64, 2, 4, 4),
        ] {
            assert_decodes(&oti, &|k, _| (0..k).collect());
        }
    }

    #[test]
    fn decode_one_missing_source_symbol() {
        let oti = RaptorQ::oti(100 * 48, 48, 1, 1, 1);
        for lost in [0u32, 1, 57, 99] {
            assert_decodes(&oti, &|k, _| all_but(k, &[lost], 0));
        }
    }

    #[test]
    fn decode_r_missing_source_symbols() {
        let oti = RaptorQ::oti(200 * 32, 32, 1, 1, 1);
        for r in [2u32, 5, 20, 100] {
            let lost: Vec<u32> = (0..r).map(|i| i * 200 / r).collect();
            assert_decodes(&oti, &|k, _| all_but(k, &lost, 0));
            assert_decodes(&oti, &|k, _| all_but(k, &lost, 3));
        }
    }

    #[test]
    fn decode_from_repair_symbols_only() {
        let oti = RaptorQ::oti(150 * 16 - 3, 16, 1, 1, 1);
        assert_decodes(&oti, &|k, _| (k..2 * k + 2).collect());
        // Repair ESIs far from K.
        assert_decodes(&oti, &|k, _| (100_000..100_000 + k + 2).collect());
    }

    #[test]
    fn decode_random_esi_sets() {
        let oti = RaptorQ::oti(120 * 24 - 7, 24, 1, 1, 1);
        for seed in 1..12u64 {
            let pick = move |k: u32, _sbn: u32| {
                let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let mut esis: Vec<u32> = Vec::new();
                // K + 2 distinct ESIs from 0..2K, in random order.
                while esis.len() < k as usize + 2 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let esi = (x % u64::from(2 * k)) as u32;
                    if !esis.contains(&esi) {
                        esis.push(esi);
                    }
                }
                esis
            };
            assert_decodes(&oti, &pick);
        }
    }

    #[test]
    fn decode_with_sub_blocks() {
        for oti in [
            RaptorQ::oti(5000, 64, 2, 4, 4),
            RaptorQ::oti(40 * 100 - 17, 40, 3, 3, 2),
        ] {
            assert_decodes(&oti, &|k, sbn| all_but(k, &[sbn, k / 2, k - 1], 1));
        }
    }

    #[test]
    fn decode_last_short_block() {
        // Three blocks, the last one short (fewer symbols, its last symbol partial); lose
        // the last source symbol of every block.
        let oti = RaptorQ::oti(3 * 80 * 16 - 37, 16, 3, 1, 1);
        let blocking = RaptorQ.blocking(&oti).unwrap();
        assert!(blocking.iter().last().unwrap().len % 16 != 0);
        assert_decodes(&oti, &|k, _| all_but(k, &[k - 1], 0));
        assert_decodes(&oti, &|k, _| all_but(k, &[0, k - 1], 2));
    }

    // ---- The fast path (raptorq/fast.rs): byte-identity with the full decode. ----

    /// Decodes block `blk` of `oti` (data `src`) from the symbols `esis`, pushed in that
    /// order, with the fast path bounded by `r_max` (0 = off) and `extra` rows beyond r.
    fn decode_via(
        oti: &Oti,
        blk: &BlockSpec,
        src: &Bytes,
        esis: &[u32],
        r_max: u32,
        extra: u32,
        generator_r_max: u32,
    ) -> (Result<Bytes, FecError>, DecodePath) {
        let p = BlockParams::new(&RaptorQ, oti, blk).unwrap();
        let mut dec = RqDecoder::new(p);
        dec.fast_r_max = r_max;
        dec.fast_extra_rows = extra;
        dec.generator_r_max = generator_r_max;
        let mut enc = RaptorQ.encoder(oti, blk, src.clone()).unwrap();
        let mut buf = vec![0u8; usize::from(oti.encoding_symbol_length)];
        for &esi in esis {
            enc.write_symbol(esi, &mut buf).unwrap();
            assert_eq!(dec.push(esi, &buf).unwrap(), PushOutcome::Accepted);
        }
        let got = dec.decode();
        (got, dec.path)
    }

    fn block_data(oti: &Oti, blk: &BlockSpec) -> Bytes {
        let data = pattern(oti.transfer_length as usize, oti.transfer_length ^ 0xfa57);
        let start = blk.offset as usize;
        Bytes::copy_from_slice(&data[start..start + blk.len as usize])
    }

    /// For every block of `oti`: the fast path (r_max = `r_max`) and the full decode
    /// (fast path off) both give the source, and the fast path was the one taken.
    fn assert_fast_matches_full(oti: &Oti, r_max: u32, pick: &dyn Fn(u32, u32) -> Vec<u32>) {
        for blk in RaptorQ.blocking(oti).unwrap().iter() {
            let k = blk.source_symbols;
            let src = block_data(oti, &blk);
            let esis = pick(k, blk.sbn);
            let r = k - esis.iter().filter(|&&e| e < k).count() as u32;
            assert!(r >= 1, "the test must lose a source symbol");
            let (fast, path) =
                decode_via(oti, &blk, &src, &esis, r_max, fast::DEFAULT_EXTRA_ROWS, 0);
            let (full, full_path) = decode_via(oti, &blk, &src, &esis, 0, 0, 0);
            assert_eq!(full_path, DecodePath::Full);
            let full = full.unwrap();
            assert_eq!(full, src, "full decode, K={k} r={r}");
            assert_eq!(path, DecodePath::Fast, "K={k} r={r}: fast path not taken");
            assert_eq!(fast.unwrap(), full, "fast path, K={k} r={r}");
            // The generator-row variant of the fast path, same symbols.
            let (by_rows, path) = decode_via(
                oti,
                &blk,
                &src,
                &esis,
                r_max,
                fast::DEFAULT_EXTRA_ROWS,
                u32::MAX,
            );
            assert_eq!(
                path,
                DecodePath::Generator,
                "K={k} r={r}: generator rows not used"
            );
            assert_eq!(by_rows.unwrap(), full, "generator rows, K={k} r={r}");
        }
    }

    /// `r` lost source ESIs spread over 0..k (first, last and in between).
    fn spread(k: u32, r: u32) -> Vec<u32> {
        (0..r)
            .map(|i| (u64::from(i) * u64::from(k - 1) / u64::from(r.max(2) - 1)) as u32)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Source ESIs 0..K without `lost`, then `count` repair ESIs that are not contiguous:
    /// K + 3i + (i mod 2), and one far away (ESI 70000 + K).
    fn all_but_sparse(k: u32, lost: &[u32], count: u32) -> Vec<u32> {
        let mut v: Vec<u32> = (0..k).filter(|e| !lost.contains(e)).collect();
        v.push(70_000 + k);
        v.extend((0..count.saturating_sub(1)).map(|i| k + 3 * i + (i % 2)));
        v
    }

    #[test]
    fn fast_path_small_k() {
        // K = 1 (the only source symbol lost, short), K = 10, K = 101 with a short last symbol.
        let k1 = RaptorQ::oti(10, 16, 1, 1, 1);
        assert_fast_matches_full(&k1, u32::MAX, &|k, _| all_but(k, &[0], 0));
        assert_fast_matches_full(&k1, u32::MAX, &|k, _| all_but_sparse(k, &[0], 3));
        let k10 = RaptorQ::oti(10 * 16, 16, 1, 1, 1);
        for lost in [vec![0u32], vec![9], vec![0, 9], vec![1, 4, 5, 8]] {
            assert_fast_matches_full(&k10, u32::MAX, &|k, _| all_but(k, &lost, 0));
            assert_fast_matches_full(&k10, u32::MAX, &|k, _| {
                all_but_sparse(k, &lost, lost.len() as u32 + 2)
            });
        }
        let k101 = RaptorQ::oti(101 * 24 - 5, 24, 1, 1, 1);
        assert_eq!(RaptorQ.blocking(&k101).unwrap().large, 101);
        for r in [1u32, 2, 10, 51] {
            let lost = spread(101, r);
            assert_eq!(lost.len() as u32, r);
            assert_fast_matches_full(&k101, u32::MAX, &|k, _| all_but(k, &lost, 0));
            assert_fast_matches_full(&k101, u32::MAX, &|k, _| all_but_sparse(k, &lost, r + 4));
        }
    }

    #[test]
    fn fast_path_k1024_up_to_the_crossover() {
        // K = 1024 decodes take seconds each without optimisation: the full decode is run
        // once (r = 51, the 5 % case of the bench); the other r are checked against the
        // source, which the full decode also gives (decode_r_missing_source_symbols).
        let oti = RaptorQ::oti(1024 * 8, 8, 1, 1, 1);
        let r_max = fast::default_r_max(1024);
        let lost = spread(1024, 51);
        assert_fast_matches_full(&oti, r_max, &|k, _| all_but_sparse(k, &lost, 51));
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let src = block_data(&oti, &blk);
        for r in [1u32, 2, 10, r_max] {
            let esis = all_but(1024, &spread(1024, r), 2);
            let (got, path) =
                decode_via(&oti, &blk, &src, &esis, r_max, fast::DEFAULT_EXTRA_ROWS, 0);
            assert_eq!(path, DecodePath::Fast, "r = {r}");
            assert_eq!(got.unwrap(), src, "r = {r}");
            let (got, path) = decode_via(
                &oti,
                &blk,
                &src,
                &esis,
                r_max,
                fast::DEFAULT_EXTRA_ROWS,
                u32::MAX,
            );
            assert_eq!(path, DecodePath::Generator, "r = {r}");
            assert_eq!(got.unwrap(), src, "r = {r}");
        }
        // Above the crossover the full decode is used.
        let esis = all_but(1024, &spread(1024, r_max + 1), 2);
        let (got, path) = decode_via(&oti, &blk, &src, &esis, r_max, fast::DEFAULT_EXTRA_ROWS, 0);
        assert_eq!(path, DecodePath::Full);
        assert_eq!(got.unwrap(), src);
    }

    #[test]
    fn fast_path_short_last_block_and_sub_blocks() {
        // Three blocks (K = 80, 80, 79 with a partial last symbol).
        let oti = RaptorQ::oti(3 * 80 * 16 - 37, 16, 3, 1, 1);
        assert_fast_matches_full(&oti, u32::MAX, &|k, _| all_but(k, &[k - 1], 0));
        assert_fast_matches_full(&oti, u32::MAX, &|k, _| all_but_sparse(k, &[0, 7, k - 1], 5));
        // N > 1: the fast path codes the interleaved wire symbols as they are.
        for oti in [
            RaptorQ::oti(5000, 64, 2, 4, 4),
            RaptorQ::oti(40 * 100 - 17, 40, 3, 3, 2),
        ] {
            assert_fast_matches_full(&oti, u32::MAX, &|k, sbn| {
                all_but(k, &[sbn, k / 2, k - 1], 1)
            });
        }
    }

    #[test]
    fn fast_path_default_applies_through_the_trait() {
        // Through RaptorQ.decoder (the callers' API), K = 160, r = 10 ≤ K/16: byte-identical.
        let oti = RaptorQ::oti(160 * 32, 32, 1, 1, 1);
        assert_eq!(fast::default_r_max(160), 10);
        assert_decodes(&oti, &|k, _| all_but(k, &spread(k, 10), 1));
        // And the default tiers: r = 10 ≤ 96 uses generator rows, r = 10 with the generator
        // tier off re-encodes; r = 11 > 10 is the full decode.
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let src = block_data(&oti, &blk);
        let esis = all_but(160, &spread(160, 10), 1);
        let d = fast::default_r_max(160);
        let x = fast::DEFAULT_EXTRA_ROWS;
        let g = fast::DEFAULT_GENERATOR_R_MAX;
        assert_eq!(
            decode_via(&oti, &blk, &src, &esis, d, x, g),
            (Ok(src.clone()), DecodePath::Generator)
        );
        assert_eq!(
            decode_via(&oti, &blk, &src, &esis, d, x, 0),
            (Ok(src.clone()), DecodePath::Fast)
        );
        let esis = all_but(160, &spread(160, 11), 1);
        assert_eq!(
            decode_via(&oti, &blk, &src, &esis, d, x, g),
            (Ok(src), DecodePath::Full)
        );
    }

    /// Generator coefficient G[esi][i] of source symbol i in encoding symbol `esi` for K
    /// source symbols: encode the identity block (symbol i = unit vector e_i of K bytes).
    fn generator_row(k: u32, esi: u32) -> Vec<u8> {
        let oti = RaptorQ::oti(u64::from(k) * u64::from(k), k as u16, 1, 1, 1);
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let mut id = vec![0u8; (k * k) as usize];
        for i in 0..k as usize {
            id[i * k as usize + i] = 1;
        }
        let mut enc = RaptorQ.encoder(&oti, &blk, Bytes::from(id)).unwrap();
        let mut row = vec![0u8; k as usize];
        enc.write_symbol(esi, &mut row).unwrap();
        row
    }

    #[test]
    fn singular_fast_system_falls_back_to_the_full_decode() {
        // Search, for K = 10, a repair ESI x whose coefficient on some source symbol a is
        // zero: with a lost and x the only repair symbol used, the 1 x 1 system is singular.
        let k = 10u32;
        let (a, x) = (k..k + 2000)
            .find_map(|x| {
                generator_row(k, x)
                    .iter()
                    .position(|&c| c == 0)
                    .map(|a| (a as u32, x))
            })
            .expect("a zero coefficient among 2000 repair rows");
        let y = (k..k + 2000)
            .find(|&y| y != x && generator_row(k, y)[a as usize] != 0)
            .unwrap();
        let oti = RaptorQ::oti(u64::from(k) * 16, 16, 1, 1, 1);
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let src = block_data(&oti, &blk);
        let mut esis: Vec<u32> = (0..k).filter(|&e| e != a).collect();
        esis.push(x);
        // K symbols that do not determine the block: both decoders fail.
        let (got, path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, 0, 0);
        assert_eq!(got, Err(FecError::DecodeFailed));
        assert_eq!(path, DecodePath::NotYet);
        let (got, _) = decode_via(&oti, &blk, &src, &esis, 0, 0, 0);
        assert_eq!(got, Err(FecError::DecodeFailed));
        // With y after x: the fast path with no extra row sees only x (singular) and the
        // full decode, on every symbol, gets the source.
        esis.push(y);
        let (got, path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, 0, 0);
        assert_eq!(path, DecodePath::Full);
        assert_eq!(got.unwrap(), src);
        let (got, path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, 0, u32::MAX);
        assert_eq!(path, DecodePath::Full);
        assert_eq!(got.unwrap(), src);
        // With one extra row the fast path takes x and y and solves.
        let (got, path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, 1, 0);
        assert_eq!(path, DecodePath::Fast);
        assert_eq!(got.unwrap(), src);
        let (got, path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, 1, u32::MAX);
        assert_eq!(path, DecodePath::Generator);
        assert_eq!(got.unwrap(), src);
    }

    #[test]
    fn fast_path_ignores_malformed_input() {
        // Wrong symbol lengths never reach the fast path (SymbolLog refuses them), and the
        // fast path itself refuses inconsistent input without panicking.
        let pk = |esi: u32, len: usize| {
            EncodingPacket::new(raptorq::PayloadId::new(0, esi), vec![1u8; len])
        };
        let packets = vec![pk(0, 8), pk(2, 8), pk(3, 7)];
        let base = fast::Input {
            k: 3,
            t: 8,
            packets: &packets,
            missing: &[1],
            extra_rows: 0,
        };
        assert!(fast::decode(&base).is_none()); // repair symbol of 7 bytes
        let packets = vec![pk(0, 5), pk(2, 8), pk(3, 8)];
        assert!(
            fast::decode(&fast::Input {
                packets: &packets,
                ..base
            })
            .is_none()
        );
        let packets = vec![pk(0, 8), pk(2, 8), pk(3, 8)];
        assert!(
            fast::decode(&fast::Input {
                packets: &packets,
                missing: &[5],
                ..base
            })
            .is_none()
        );
        assert!(
            fast::decode(&fast::Input {
                packets: &packets,
                missing: &[],
                ..base
            })
            .is_none()
        );
        assert!(
            fast::decode(&fast::Input {
                packets: &packets,
                missing: &[0, 1],
                ..base
            })
            .is_none()
        );
        assert!(
            fast::decode(&fast::Input {
                packets: &packets,
                t: u16::MAX,
                ..base
            })
            .is_none()
        );
        // The generator-row variant refuses the same inputs.
        let g = generator::generator_for(3).unwrap();
        for packets in [
            vec![pk(0, 8), pk(2, 8), pk(3, 7)],
            vec![pk(0, 5), pk(2, 8), pk(3, 8)],
            vec![pk(0, 8), pk(2, 8)],
        ] {
            let inp = fast::Input {
                packets: &packets,
                ..base
            };
            assert!(fast::decode_with_generator(&inp, &g).is_none());
        }
        let packets = vec![pk(0, 8), pk(2, 8), pk(3, 8)];
        for missing in [&[5u32][..], &[], &[0, 1]] {
            let inp = fast::Input {
                packets: &packets,
                missing,
                ..base
            };
            assert!(fast::decode_with_generator(&inp, &g).is_none());
        }
        // The consistent version of the same input decodes.
        let oti = RaptorQ::oti(24, 8, 1, 1, 1);
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let src = block_data(&oti, &blk);
        let (got, path) = decode_via(&oti, &blk, &src, &[0, 2, 3], u32::MAX, 0, 0);
        assert_eq!(path, DecodePath::Fast);
        assert_eq!(got.unwrap(), src);
        let (got, path) = decode_via(&oti, &blk, &src, &[0, 2, 3], u32::MAX, 0, u32::MAX);
        assert_eq!(path, DecodePath::Generator);
        assert_eq!(got.unwrap(), src);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(40))]
        /// Random K, T, loss pattern and repair ESIs (all repair symbols used): the fast
        /// path and the full decode agree, both the source or both `DecodeFailed`.
        #[test]
        fn fast_path_agrees_with_full_decode(
            k in 1u32..=120,
            t in proptest::sample::select(vec![1u16, 4, 13, 32]),
            seed in proptest::prelude::any::<u64>(),
            loss in 1u32..=100,
            extra in 0u32..=3,
        ) {
            let oti = RaptorQ::oti(u64::from(k) * u64::from(t), t, 1, 1, 1);
            let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
            proptest::prop_assert_eq!(blk.source_symbols, k);
            let src = block_data(&oti, &blk);
            let mut x = seed | 1;
            let mut next = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
            let mut lost: Vec<u32> = (0..k).filter(|_| next() % 100 < u64::from(loss)).collect();
            if lost.is_empty() {
                lost.push((next() % u64::from(k)) as u32);
            }
            let r = lost.len() as u32;
            let mut esis: Vec<u32> = (0..k).filter(|e| !lost.contains(e)).collect();
            let mut repairs = std::collections::BTreeSet::new();
            while repairs.len() < (r + extra) as usize {
                repairs.insert(k + (next() % 3000) as u32);
            }
            esis.extend(repairs);
            let (fast, path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, u32::MAX, 0);
            let (full, _) = decode_via(&oti, &blk, &src, &esis, 0, 0, 0);
            let (by_rows, gen_path) = decode_via(&oti, &blk, &src, &esis, u32::MAX, u32::MAX, u32::MAX);
            proptest::prop_assert_eq!(&fast, &full);
            proptest::prop_assert_eq!(&by_rows, &full);
            if by_rows.is_ok() {
                proptest::prop_assert_eq!(gen_path, DecodePath::Generator);
            }
            if let Ok(got) = fast {
                proptest::prop_assert_eq!(got, src);
                proptest::prop_assert_eq!(path, DecodePath::Fast);
            } else {
                proptest::prop_assert_eq!(full, Err(FecError::DecodeFailed));
            }
        }
    }
}
