//! FEC Encoding IDs and FEC Instance IDs (RFC 5052 §5, IANA "RMT FEC Encoding IDs").

use core::fmt;

/// An FEC Encoding ID (RFC 5052 §5.1), an 8-bit value.
///
/// Values 0–127 are Fully-Specified schemes; 128–255 are Under-Specified and need an
/// FEC Instance ID as well (RFC 5052 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FecEncodingId(pub u8);

impl FecEncodingId {
    /// Compact No-Code (RFC 5445).
    pub const COMPACT_NO_CODE: Self = Self(0);
    /// Raptor (RFC 5053).
    pub const RAPTOR: Self = Self(1);
    /// Reed-Solomon over GF(2^m) (RFC 5510 §5).
    pub const RS_GF2M: Self = Self(2);
    /// LDPC Staircase (RFC 5170).
    pub const LDPC_STAIRCASE: Self = Self(3);
    /// LDPC Triangle (RFC 5170).
    pub const LDPC_TRIANGLE: Self = Self(4);
    /// Reed-Solomon over GF(2^8) (RFC 5510 §4).
    pub const RS_GF28: Self = Self(5);
    /// RaptorQ (RFC 6330).
    pub const RAPTORQ: Self = Self(6);
    /// Small Block, Large Block and Expandable FEC (RFC 5445 §4).
    pub const SMALL_LARGE_EXPANDABLE: Self = Self(128);
    /// Small Block Systematic FEC (RFC 5445 §5); Instance ID 0 is RS over GF(2^8) (RFC 5510 §6).
    pub const SMALL_BLOCK_SYSTEMATIC: Self = Self(129);
    /// Compact FEC (RFC 5445 §6).
    pub const COMPACT: Self = Self(130);

    /// True for Under-Specified schemes (128–255), which carry an FEC Instance ID.
    pub const fn is_under_specified(self) -> bool {
        self.0 >= 128
    }
}

impl fmt::Display for FecEncodingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An FEC Instance ID (RFC 5052 §5.2), 16 bits on the wire in EXT_FTI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FecInstanceId(pub u16);

impl fmt::Display for FecInstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The key under which a scheme is registered: the Encoding ID, plus the Instance ID for
/// Under-Specified schemes (`None` for Fully-Specified ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SchemeKey {
    /// FEC Encoding ID.
    pub encoding_id: FecEncodingId,
    /// FEC Instance ID; `None` for Fully-Specified schemes.
    pub instance_id: Option<FecInstanceId>,
}

impl SchemeKey {
    /// Key of a Fully-Specified scheme.
    pub const fn fully_specified(encoding_id: FecEncodingId) -> Self {
        Self {
            encoding_id,
            instance_id: None,
        }
    }

    /// Key of an Under-Specified scheme.
    pub const fn under_specified(encoding_id: FecEncodingId, instance_id: FecInstanceId) -> Self {
        Self {
            encoding_id,
            instance_id: Some(instance_id),
        }
    }

    /// Normalises a key read from the wire: Fully-Specified IDs ignore any Instance ID.
    pub const fn normalized(
        encoding_id: FecEncodingId,
        instance_id: Option<FecInstanceId>,
    ) -> Self {
        if encoding_id.is_under_specified() {
            Self {
                encoding_id,
                instance_id,
            }
        } else {
            Self {
                encoding_id,
                instance_id: None,
            }
        }
    }
}
