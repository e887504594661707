//! The pluggable FEC scheme interface.
//!
//! A scheme is only known at run time (from the codepoint, EXT_FTI or the FDT), so the
//! interface is object-safe: a [`FecScheme`] is a factory and a wire codec for one
//! (FEC Encoding ID, FEC Instance ID); it hands out one [`BlockEncoder`] or
//! [`BlockDecoder`] per source block. Nothing in `alc`, the sender or the receiver knows
//! any concrete scheme.

use core::fmt;
use core::ops::Range;

use bytes::Bytes;

use crate::{
    BlockSpec, Blocking, FecError, Oti, PayloadId, SbnEsiLayout, SchemeKey, SchemeSpecific,
};

/// The header extension type of EXT_FTI (RFC 5775 §5.2).
pub const EXT_FTI: u8 = 64;

const NO_LAYOUT: &str =
    "this FEC scheme declares no FEC Payload ID layout and does not implement its Payload ID";

/// One FEC scheme: its wire formats (FEC Payload ID, EXT_FTI, FDT scheme-specific info),
/// its OTI rules, its block partitioning, and its codec.
///
/// Implementations must never panic on any input: every length and value coming from the
/// wire is checked and reported as a [`FecError`].
pub trait FecScheme: Send + Sync + fmt::Debug {
    /// The (Encoding ID, Instance ID) this scheme is registered under.
    fn key(&self) -> SchemeKey;

    /// A short human-readable name, e.g. `"Compact No-Code"`.
    fn name(&self) -> &'static str;

    /// Length in bytes of the FEC Payload ID this scheme puts in front of the symbols.
    ///
    /// Default: the length of [`Self::payload_id_layout`] (0 when there is none, so a scheme
    /// without a layout must implement this).
    fn payload_id_len(&self) -> usize {
        self.payload_id_layout().map_or(0, SbnEsiLayout::byte_len)
    }

    /// Reads a FEC Payload ID from the first [`Self::payload_id_len`] bytes of `buf`.
    ///
    /// `oti` is `None` when the receiver does not know the object's OTI yet; schemes whose
    /// Payload ID layout depends on the OTI (ID 2) return [`FecError::NeedsOti`] then.
    ///
    /// Default: read through [`Self::payload_id_layout`]; a scheme without a layout must
    /// implement this (the default then returns [`FecError::Unsupported`]).
    fn read_payload_id(&self, buf: &[u8], oti: Option<&Oti>) -> Result<PayloadId, FecError> {
        let _ = oti;
        match self.payload_id_layout() {
            Some(layout) => layout.read_named(buf, "FEC Payload ID"),
            None => Err(FecError::Unsupported(NO_LAYOUT)),
        }
    }

    /// The FEC Payload ID's layout when it is a plain SBN field followed by an ESI field
    /// whatever the OTI (see [`SbnEsiLayout`]); `None` (the default) otherwise.
    ///
    /// When this returns `Some(layout)`, `layout.read(buf)` must equal
    /// [`Self::read_payload_id`]`(buf, oti)` for every `buf` and `oti`, and
    /// `layout.byte_len()` must equal [`Self::payload_id_len`]: packet parsers use it to decode
    /// the Payload ID without calling the scheme. The [`crate::conformance`] suite checks
    /// both.
    fn payload_id_layout(&self) -> Option<SbnEsiLayout> {
        None
    }

    /// Writes `id` into the first [`Self::payload_id_len`] bytes of `out`.
    ///
    /// Default: written through [`Self::payload_id_layout`], as for
    /// [`Self::read_payload_id`].
    fn write_payload_id(&self, id: &PayloadId, oti: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        let _ = oti;
        match self.payload_id_layout() {
            Some(layout) => layout.write_named(id, out, "FEC Payload ID"),
            None => Err(FecError::Unsupported(NO_LAYOUT)),
        }
    }

    /// How many encoding symbols one packet may carry for an object with this OTI. The
    /// packet layer accepts up to this many times E bytes of symbol data per packet.
    /// Default 1; Reed-Solomon over GF(2^m) returns G (RFC 5510 §5).
    fn max_symbols_per_packet(&self, oti: &Oti) -> usize {
        let _ = oti;
        1
    }

    /// How many source symbols at the start of an object sent with `oti` keep their place,
    /// ESI `i` of source block 0 carrying bytes `i·E .. (i+1)·E`, whatever the transfer
    /// length turns out to be (`oti.transfer_length` is ignored). A sender of an object of
    /// unknown length (a pipe, a growing file) may send these symbols before it knows the
    /// length; the rest waits until it does.
    ///
    /// Default 0: the scheme gives no such guarantee, so nothing is sent early. Schemes that
    /// partition by RFC 5052 §9.1 return [`Blocking::rfc5052_length_independent_prefix`].
    /// A scheme whose FEC Payload ID carries the block length (ID 129) must return 0.
    fn length_independent_prefix(&self, oti: &Oti) -> u64 {
        let _ = oti;
        0
    }

    /// The OTI this scheme uses for an object of `transfer_length` bytes sent in symbols of
    /// `symbol_length` bytes, with source blocks of at most `max_source_block` symbols
    /// (`None`: the scheme's default) and about `repair_ratio` repair symbols per source
    /// symbol (0.2 = 20 % repair; ignored by codes without a fixed n). The result passes
    /// [`Self::validate_oti`].
    ///
    /// This is how senders, the CLI and test tools build an OTI without knowing the scheme.
    /// Default: [`FecError::Unsupported`], for schemes that can only be received.
    fn oti_for(
        &self,
        transfer_length: u64,
        symbol_length: u16,
        max_source_block: Option<u32>,
        repair_ratio: f64,
    ) -> Result<Oti, FecError> {
        let _ = (
            transfer_length,
            symbol_length,
            max_source_block,
            repair_ratio,
        );
        Err(FecError::Unsupported(
            "this FEC scheme does not build OTIs (FecScheme::oti_for)",
        ))
    }

    /// Length in bytes of this scheme's EXT_FTI, HET and HEL included (a multiple of 4).
    fn fti_len(&self, oti: &Oti) -> usize;

    /// Decodes an EXT_FTI header extension: `ext` is the whole extension, starting with
    /// HET (= 64) and HEL, exactly `HEL * 4` bytes long.
    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError>;

    /// Encodes `oti` as an EXT_FTI header extension into `out` (HET and HEL included) and
    /// returns the number of bytes written ([`Self::fti_len`]).
    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError>;

    /// Decodes the FDT attribute `FEC-OTI-Scheme-Specific-Info` (already base64-decoded).
    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError>;

    /// Encodes the scheme-specific OTI for the FDT attribute `FEC-OTI-Scheme-Specific-Info`
    /// (before base64). Empty when the scheme has none.
    fn write_scheme_specific_info(&self, oti: &Oti) -> Vec<u8>;

    /// Checks every OTI field against the scheme's limits. Receivers call this on any OTI
    /// from the wire or the FDT before anything else.
    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError>;

    /// The object's block partitioning. Calls [`Self::validate_oti`] first.
    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError>;

    /// Whether two OTIs of one object (say, its EXT_FTI and its FDT entry, or two packets'
    /// EXT_FTIs) describe the same coding. When they do not, the object's OTI changed
    /// within the session, which RFC 6726 §3.4.2 forbids (catalogue item 40): the packet
    /// layer (`alc`'s `ConflictingOti`) and the receiver both ask this one question.
    ///
    /// Default: same scheme key, same scheme-specific part, the same max_n where both give
    /// one, and the same partitioning (transfer length, symbol length, block sizes). Fields
    /// that do not change the coding may differ: RaptorQ's EXT_FTI has no B, for instance,
    /// so an FDT's B is only a hint. A scheme whose OTI holds more may override this.
    fn same_coding(&self, a: &Oti, b: &Oti) -> bool {
        a.key() == b.key()
            && a.scheme_specific == b.scheme_specific
            && (a.max_encoding_symbols == b.max_encoding_symbols
                || a.max_encoding_symbols.is_none()
                || b.max_encoding_symbols.is_none())
            && matches!((self.blocking(a), self.blocking(b)), (Ok(x), Ok(y)) if x == y)
    }

    /// Exclusive upper bound of the ESIs of block `block`: `n` for block codes, the ESI
    /// field limit for rateless codes.
    fn esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32;

    /// Exclusive upper bound of the ESIs a *receiver* accepts for `block`. Defaults to
    /// [`Self::esi_limit`]. A scheme that is lenient on receipt (Reed-Solomon accepts every
    /// ESI that has an evaluation point, see [`crate::schemes::rs`]) returns more, and the
    /// packet layer (`alc`) checks against this limit rather than the sender's.
    fn receive_esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32 {
        self.esi_limit(oti, block)
    }

    /// Makes an encoder for one source block. `data` holds exactly `block.len` bytes.
    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError>;

    /// Makes a decoder for one source block.
    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError>;
}

/// Encodes one source block. Repair symbols are generated on demand.
pub trait BlockEncoder: Send {
    /// The block being encoded.
    fn block(&self) -> &BlockSpec;

    /// Exclusive upper bound of the ESIs this encoder can produce.
    fn esi_limit(&self) -> u32;

    /// Writes encoding symbol `esi` into `out` and returns its length: `E` bytes, except
    /// for the last source symbol of the object, which may be short (RFC 5052 §9.1).
    /// `out` must hold at least `E` bytes.
    fn write_symbol(&mut self, esi: u32, out: &mut [u8]) -> Result<usize, FecError>;

    /// Does the block's expensive work now: whatever the first repair symbol would otherwise
    /// compute (RaptorQ and Raptor: the intermediate symbols; Reed-Solomon and
    /// LDPC-Staircase: every repair symbol). Afterwards `write_symbol` only copies. A sender
    /// calls this on a worker thread (the encoder is `Send`) so that coding overlaps with
    /// sending; the symbols are the same either way. Default: nothing to do.
    fn prepare(&mut self) -> Result<(), FecError> {
        Ok(())
    }

    /// [`Self::prepare`] for a sender that knows which repair symbols it will ask for: the
    /// ESIs in `repair` (at or above k). An encoder may write those symbols now, so that
    /// `write_symbol` of them only copies (RaptorQ does: each of its repair symbols is a
    /// combination of the intermediate symbols). Any ESI, in `repair` or not, may still be
    /// asked for afterwards and gives the same symbol as without this call. Default:
    /// [`Self::prepare`].
    fn prepare_symbols(&mut self, repair: Range<u32>) -> Result<(), FecError> {
        let _ = repair;
        self.prepare()
    }
}

/// What happened to a symbol pushed into a [`BlockDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// The symbol was new and was kept.
    Accepted,
    /// The same symbol had been received before (identical content); it was dropped.
    Duplicate,
    /// The block was already decodable; the symbol was not needed.
    NotNeeded,
}

/// Decodes one source block from symbols pushed one at a time, in any order.
pub trait BlockDecoder: Send {
    /// The block being decoded.
    fn block(&self) -> &BlockSpec;

    /// Adds encoding symbol `esi`. Source symbols are `E` bytes long except the last
    /// source symbol of the object, which may be short. Errors: ESI out of range, wrong
    /// length, or (where the decoder can tell) the same ESI with different content.
    fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError>;

    /// Number of distinct symbols accepted so far.
    fn received(&self) -> u32;

    /// True once [`Self::decode`] would succeed (for codes like Raptor where this can only
    /// be known by trying, true once decoding is likely and `decode` may still fail).
    fn is_decodable(&self) -> bool;

    /// Recovers the source block: exactly `block().len` bytes.
    fn decode(&mut self) -> Result<Bytes, FecError>;

    /// Source symbols (ESI < k) not received so far, for repair requests.
    fn missing_source_symbols(&self) -> Vec<u32>;
}
