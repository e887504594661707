//! Errors of the ALC layer.

use fec_schemes::{FecEncodingId, FecError, FecInstanceId};
use lct_header::LctError;

/// Everything that can be wrong with an ALC packet (RFC 5775 §4), on parse or emit.
///
/// Wraps the LCT and FEC errors; every variant is `Copy` and carries the offending values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlcError {
    /// The LCT header or one of its extensions is malformed.
    #[error(transparent)]
    Lct(#[from] LctError),
    /// The FEC building block refused a field (EXT_FTI, FEC Payload ID, OTI, ranges).
    #[error(transparent)]
    Fec(#[from] FecError),
    /// No FEC Encoding ID is configured for this codepoint.
    #[error("no FEC Encoding ID is mapped to codepoint {codepoint}")]
    UnknownCodepoint {
        /// The LCT codepoint.
        codepoint: u8,
    },
    /// No scheme (or more than one, without EXT_FTI or a known OTI to choose) is
    /// registered for the FEC Encoding ID.
    #[error("no unique FEC scheme for FEC Encoding ID {encoding_id} instance {instance_id:?}")]
    UnknownScheme {
        /// FEC Encoding ID.
        encoding_id: FecEncodingId,
        /// FEC Instance ID, when known.
        instance_id: Option<FecInstanceId>,
    },
    /// The packet ends inside the FEC Payload ID.
    #[error("FEC Payload ID truncated: need {needed} bytes, have {available}")]
    TruncatedPayloadId {
        /// Length of the FEC Payload ID of the scheme.
        needed: usize,
        /// Bytes after the LCT header.
        available: usize,
    },
    /// The packet carries no encoding symbol bytes.
    #[error("zero-length encoding symbol")]
    EmptySymbol,
    /// The encoding symbol(s) are longer than the OTI allows (E, or G * E for RS).
    #[error("encoding symbol data of {len} bytes exceeds the maximum {max}")]
    SymbolTooLong {
        /// Bytes of symbol data.
        len: usize,
        /// The maximum (E times the symbols per packet).
        max: usize,
    },
    /// EXT_FTI (or the OTI supplied) belongs to another scheme than the codepoint's.
    #[error("OTI for FEC Encoding ID {found} in a packet whose codepoint maps to {expected}")]
    SchemeMismatch {
        /// The FEC Encoding ID given by the codepoint.
        expected: FecEncodingId,
        /// The FEC Encoding ID of the OTI.
        found: FecEncodingId,
    },
    /// EXT_FTI and the OTI known from elsewhere (the FDT) disagree (catalogue item 40).
    #[error("EXT_FTI disagrees with the known OTI for FEC Encoding ID {encoding_id}")]
    ConflictingOti {
        /// FEC Encoding ID.
        encoding_id: FecEncodingId,
    },
    /// FEC Encoding ID 129: the Source Block Length in the packet disagrees with the
    /// blocking algorithm (catalogue item 32).
    #[error("SBN {sbn}: packet says {in_packet} source symbols, blocking says {expected}")]
    SourceBlockLength {
        /// Source Block Number.
        sbn: u32,
        /// Source Block Length in the FEC Payload ID.
        in_packet: u32,
        /// Source Block Length from the OTI.
        expected: u32,
    },
    /// The output buffer is too small.
    #[error("output buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}
