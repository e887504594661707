//! Errors of the FEC building block.

use crate::{FecEncodingId, FecInstanceId};

/// Everything that can go wrong while reading FEC wire data (EXT_FTI, FEC Payload ID,
/// scheme-specific information) or while coding a block.
///
/// All variants are cheap to copy and carry the offending values, so that a conformance
/// tester can say exactly what was wrong. Constructors never log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FecError {
    /// No scheme is registered for this (Encoding ID, Instance ID).
    #[error("no FEC scheme registered for FEC Encoding ID {encoding_id} instance {instance_id:?}")]
    UnknownScheme {
        /// FEC Encoding ID.
        encoding_id: FecEncodingId,
        /// FEC Instance ID, for under-specified schemes.
        instance_id: Option<FecInstanceId>,
    },
    /// A scheme with the same key is already registered.
    #[error(
        "an FEC scheme for FEC Encoding ID {encoding_id} instance {instance_id:?} is already registered"
    )]
    DuplicateScheme {
        /// FEC Encoding ID.
        encoding_id: FecEncodingId,
        /// FEC Instance ID.
        instance_id: Option<FecInstanceId>,
    },
    /// A buffer was shorter than the field being read or written.
    #[error("{what}: need {needed} bytes, have {available}")]
    Truncated {
        /// Which structure was being read or written.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// EXT_FTI has the wrong HEL for this scheme (RFC 5775 §5 / scheme RFC).
    #[error("EXT_FTI for FEC Encoding ID {encoding_id}: HEL {hel} words, expected {expected}")]
    FtiLength {
        /// FEC Encoding ID.
        encoding_id: FecEncodingId,
        /// Header extension length found (32-bit words).
        hel: usize,
        /// Header extension length the scheme defines.
        expected: usize,
    },
    /// The extension handed to an FTI reader is not EXT_FTI (HET 64).
    #[error("header extension type {het} is not EXT_FTI (64)")]
    NotFti {
        /// The HET found.
        het: u8,
    },
    /// An OTI field is outside the range the scheme allows.
    #[error("invalid OTI field {field} = {value}: {reason}")]
    InvalidOti {
        /// Field name as in the RFC (e.g. "E", "B", "Z", "max_n", "m").
        field: &'static str,
        /// Offending value.
        value: u64,
        /// Why it is invalid, citing the clause.
        reason: &'static str,
    },
    /// The OTI belongs to another scheme than the one asked to use it.
    #[error("OTI is for FEC Encoding ID {found}, scheme is {expected}")]
    SchemeMismatch {
        /// The scheme's Encoding ID.
        expected: FecEncodingId,
        /// The Encoding ID in the OTI.
        found: FecEncodingId,
    },
    /// A value does not fit the width of its wire field.
    #[error("{field} = {value} does not fit in {bits} bits")]
    FieldOverflow {
        /// Field name.
        field: &'static str,
        /// Value.
        value: u64,
        /// Width of the wire field.
        bits: u32,
    },
    /// A Source Block Number is not below the number of blocks of the object.
    #[error("SBN {sbn} out of range: object has {blocks} source blocks")]
    SbnOutOfRange {
        /// Source Block Number.
        sbn: u32,
        /// Number of source blocks.
        blocks: u64,
    },
    /// An Encoding Symbol ID is out of range for the block.
    #[error("ESI {esi} out of range: block accepts ESI < {limit}")]
    EsiOutOfRange {
        /// Encoding Symbol ID.
        esi: u32,
        /// Exclusive limit.
        limit: u32,
    },
    /// A symbol has the wrong length.
    #[error("symbol ESI {esi} has {len} bytes, expected {expected}")]
    SymbolLength {
        /// Encoding Symbol ID.
        esi: u32,
        /// Length received.
        len: usize,
        /// Length expected.
        expected: usize,
    },
    /// The same ESI was pushed twice with different content (catalogue item 41).
    #[error("ESI {esi} received twice with different content")]
    ConflictingSymbol {
        /// Encoding Symbol ID.
        esi: u32,
    },
    /// `decode` was called before enough symbols arrived.
    #[error("block not decodable yet: have {have} symbols, need at least {need}")]
    NotEnoughSymbols {
        /// Symbols received.
        have: u32,
        /// Symbols needed (k).
        need: u32,
    },
    /// The received symbols do not determine the block (e.g. a singular Raptor system).
    #[error("decoding failed: the received symbols do not determine the source block")]
    DecodeFailed,
    /// The FEC Payload ID needs the OTI (e.g. FEC Encoding ID 2, whose split depends on m).
    #[error("FEC Payload ID of FEC Encoding ID {encoding_id} cannot be read without the OTI")]
    NeedsOti {
        /// FEC Encoding ID.
        encoding_id: FecEncodingId,
    },
    /// The operation is not supported by this scheme.
    #[error("{0} is not supported by this FEC scheme")]
    Unsupported(&'static str),
}
