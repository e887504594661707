//! FEC Object Transmission Information (RFC 5052 §6.2) and FEC Payload IDs (RFC 5052 §6.1).

use crate::{FecEncodingId, FecInstanceId, SchemeKey};

/// Scheme-specific part of the OTI (RFC 5052 §6.2.3), in typed form for the built-in
/// schemes and as raw bytes for any other scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SchemeSpecific {
    /// The scheme has no scheme-specific OTI (Compact No-Code, RS over GF(2^8), 128, 129, 130).
    #[default]
    None,
    /// Raptor (RFC 5053 §3.2.3): Z source blocks, N sub-blocks, symbol alignment Al.
    Raptor {
        /// Number of source blocks Z (16 bits on the wire).
        z: u16,
        /// Number of sub-blocks N (8 bits).
        n: u8,
        /// Symbol alignment Al in bytes (8 bits).
        al: u8,
    },
    /// RaptorQ (RFC 6330 §3.3.3): Z source blocks, N sub-blocks, symbol alignment Al.
    RaptorQ {
        /// Number of source blocks Z (8 bits on the wire; 1..=256 here, see the scheme docs).
        z: u16,
        /// Number of sub-blocks N (16 bits).
        n: u16,
        /// Symbol alignment Al in bytes (8 bits).
        al: u8,
    },
    /// Reed-Solomon over GF(2^m) (RFC 5510 §5.2): field size m and symbols per packet G.
    ReedSolomon {
        /// Field size exponent m (2..=16).
        m: u8,
        /// Number of encoding symbols per packet G.
        g: u8,
    },
    /// Opaque bytes for a scheme the FEC building block does not know.
    Opaque(Vec<u8>),
}

/// FEC Object Transmission Information: everything a receiver needs to decode an object
/// (RFC 5052 §6.2). Carried in EXT_FTI (RFC 5775 §5.2) or in the FDT (RFC 6726 §3.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Oti {
    /// FEC Encoding ID (mandatory element, RFC 5052 §6.2.1).
    pub encoding_id: FecEncodingId,
    /// FEC Instance ID, for Under-Specified schemes only.
    pub instance_id: Option<FecInstanceId>,
    /// Transfer length L (RaptorQ/Raptor: F), in bytes.
    pub transfer_length: u64,
    /// Encoding symbol length E (RaptorQ/Raptor: T), in bytes.
    pub encoding_symbol_length: u16,
    /// Maximum source block length B, in symbols. Raptor and RaptorQ do not carry it on the
    /// wire (they use Z); their schemes fill it with the largest block length.
    pub max_source_block_length: u32,
    /// Maximum number of encoding symbols per block (max_n), where the scheme has one.
    pub max_encoding_symbols: Option<u32>,
    /// Scheme-specific elements.
    pub scheme_specific: SchemeSpecific,
}

impl Oti {
    /// The registry key of the scheme this OTI belongs to.
    pub const fn key(&self) -> SchemeKey {
        SchemeKey::normalized(self.encoding_id, self.instance_id)
    }
}

/// An FEC Payload ID (RFC 5052 §6.1) in decoded form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PayloadId {
    /// Source Block Number.
    pub sbn: u32,
    /// Encoding Symbol ID of the first symbol in the packet.
    pub esi: u32,
    /// Source Block Length, carried only by FEC Encoding ID 129 (RFC 5445 §5.1).
    pub source_block_length: Option<u32>,
}
