//! Errors of the LCT layer.

/// Everything that can be wrong with an LCT header or one of its header extensions.
///
/// Every variant is cheap to copy and carries the offending values (byte offsets are from
/// the start of the LCT header, or of the extension area for the raw extension iterator).
/// Constructors never log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LctError {
    /// The buffer ends inside a field.
    #[error("{what} truncated at offset {offset}: need {needed} bytes, have {available}")]
    Truncated {
        /// Which structure was being read or written.
        what: &'static str,
        /// Offset at which the structure starts.
        offset: usize,
        /// Bytes needed from `offset`.
        needed: usize,
        /// Bytes available from `offset`.
        available: usize,
    },
    /// The LCT version field V is not 1 (RFC 5651 §5.1).
    #[error("unsupported LCT version {version} (only 1 is defined)")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// HDR_LEN is below 2 + C + S + O + H words: the header would end inside CCI/TSI/TOI.
    #[error("HDR_LEN {hdr_len} words is below the minimum {min_words} implied by C/S/O/H")]
    HdrLenTooShort {
        /// HDR_LEN found (32-bit words).
        hdr_len: u8,
        /// Minimum HDR_LEN for the flags found.
        min_words: usize,
    },
    /// HDR_LEN * 4 is beyond the end of the datagram.
    #[error("HDR_LEN covers {header_len} bytes but the packet has only {available}")]
    HdrLenExceedsPacket {
        /// Header length in bytes (HDR_LEN * 4).
        header_len: usize,
        /// Bytes in the packet.
        available: usize,
    },
    /// A variable-length header extension (HET < 128) has HEL = 0.
    #[error("header extension HET {het} at offset {offset} has HEL = 0")]
    ZeroHel {
        /// Header extension type.
        het: u8,
        /// Offset of the extension in the extension area.
        offset: usize,
    },
    /// A header extension runs past the end of the extension area (HDR_LEN) or the buffer.
    #[error("header extension HET {het} at offset {offset} needs {needed} bytes, {available} left")]
    ExtensionOverrun {
        /// Header extension type.
        het: u8,
        /// Offset of the extension in the extension area.
        offset: usize,
        /// Extension length in bytes (HEL * 4, or 4 for HET >= 128).
        needed: usize,
        /// Bytes left in the extension area.
        available: usize,
    },
    /// A typed header extension has the wrong length for its type.
    #[error("header extension HET {het}: {len} bytes, expected {expected}")]
    ExtensionLength {
        /// Header extension type.
        het: u8,
        /// Length found, in bytes.
        len: usize,
        /// Length the type requires, in bytes.
        expected: usize,
    },
    /// A typed decoder was handed an extension of another type.
    #[error("header extension type {found}, expected {expected}")]
    WrongHet {
        /// The HET the decoder handles.
        expected: u8,
        /// The HET found.
        found: u8,
    },
    /// A field value is outside the range its definition allows.
    #[error("invalid {field} = {value}")]
    InvalidValue {
        /// Field name as in the RFC (e.g. "EXT_FDT V", "CENC").
        field: &'static str,
        /// Offending value.
        value: u128,
    },
    /// A value does not fit the width chosen for its wire field.
    #[error("{field} = {value} does not fit in {bits} bits")]
    ValueTooWide {
        /// Field name.
        field: &'static str,
        /// Value.
        value: u128,
        /// Width of the wire field in bits.
        bits: u32,
    },
    /// The TSI and TOI widths cannot be expressed with one shared H flag, or a field is
    /// present with width 0 (or absent with a non-zero width).
    #[error("TSI of {tsi_bits} bits and TOI of {toi_bits} bits cannot share one H flag")]
    UnencodableWidths {
        /// TSI width in bits.
        tsi_bits: u32,
        /// TOI width in bits.
        toi_bits: u32,
    },
    /// A header extension occurs twice where at most one is allowed (catalogue item 17).
    #[error("header extension HET {het} occurs more than once")]
    DuplicateExtension {
        /// Header extension type.
        het: u8,
    },
    /// FLUTE requires a field the header does not carry (RFC 6726 §3.3 / catalogue item 9).
    #[error("FLUTE packet without {field}")]
    MissingField {
        /// "TSI", "TOI" or "EXT_FDT".
        field: &'static str,
    },
    /// A header extension appears where the protocol forbids it (EXT_FDT or EXT_CENC on a
    /// TOI other than 0, catalogue items 9 and 21), or one that the receiver's policy
    /// refuses (EXT_AUTH, item 24).
    #[error("header extension HET {het} not allowed on TOI {toi}")]
    UnexpectedExtension {
        /// Header extension type.
        het: u8,
        /// TOI of the packet.
        toi: u128,
    },
}
