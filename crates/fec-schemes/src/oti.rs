//! FEC Object Transmission Information (RFC 5052 §6.2) and FEC Payload IDs (RFC 5052 §6.1).

use crate::wire::{check_width, out_prefix, put_be};
use crate::{FecEncodingId, FecError, FecInstanceId, SchemeKey};

/// Scheme-specific part of the OTI (RFC 5052 §6.2.3), in typed form for the built-in
/// schemes and as raw bytes for any other scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// LDPC-Staircase (RFC 5170 §4.2.3): N1 (1s per source column) and the PRNG seed.
    LdpcStaircase {
        /// N1, at least 3 (N1 - 3 on the wire, 8 bits).
        n1: u8,
        /// PRNG seed, 1..=2^31-2 (32 bits).
        seed: u32,
    },
    /// Opaque bytes for a scheme the FEC building block does not know.
    Opaque(Vec<u8>),
}

/// FEC Object Transmission Information: everything a receiver needs to decode an object
/// (RFC 5052 §6.2). Carried in EXT_FTI (RFC 5775 §5.2) or in the FDT (RFC 6726 §3.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PayloadId {
    /// Source Block Number.
    pub sbn: u32,
    /// Encoding Symbol ID of the first symbol in the packet.
    pub esi: u32,
    /// Source Block Length, carried only by FEC Encoding ID 129 (RFC 5445 §5.1).
    pub source_block_length: Option<u32>,
}

/// A FEC Payload ID that is nothing but a big-endian Source Block Number field followed by
/// an Encoding Symbol ID field, 4 or 8 bytes in all, whatever the OTI: the layout of FEC
/// Encoding IDs 0 and 1 (16 + 16 bits), 5 (24 + 8), 6 (8 + 24), 128 (32 + 32) and 130
/// (16 + 16).
///
/// A scheme that has such a layout says so through [`crate::FecScheme::payload_id_layout`],
/// so that a packet parser can decode the Payload ID inline, without a call through the
/// scheme object; the result is the same as [`crate::FecScheme::read_payload_id`]'s (the
/// [`crate::conformance`] suite checks it).
///
/// ```
/// use fec_schemes::{PayloadId, SbnEsiLayout};
///
/// // RaptorQ (RFC 6330 §3.2): 8-bit SBN, 24-bit ESI.
/// let layout = SbnEsiLayout::new(8, 24).unwrap();
/// let id = layout.read(&[0x02, 0x00, 0x01, 0x00]).unwrap();
/// assert_eq!((id.sbn, id.esi), (2, 256));
/// let mut out = [0u8; 4];
/// layout.write(&PayloadId { sbn: 2, esi: 256, source_block_length: None }, &mut out).unwrap();
/// assert_eq!(out, [0x02, 0x00, 0x01, 0x00]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SbnEsiLayout {
    sbn_bits: u8,
    esi_bits: u8,
}

impl SbnEsiLayout {
    /// SBN and ESI fields of `sbn_bits` and `esi_bits` bits (each 1..=32, 32 or 64 in
    /// all). `None` for any other widths.
    pub const fn new(sbn_bits: u8, esi_bits: u8) -> Option<Self> {
        let total = sbn_bits as u32 + esi_bits as u32;
        if sbn_bits == 0 || esi_bits == 0 || sbn_bits > 32 || esi_bits > 32 {
            return None;
        }
        if total != 32 && total != 64 {
            return None;
        }
        Some(Self { sbn_bits, esi_bits })
    }

    /// The built-in schemes' layouts, from constant widths that `new` accepts.
    pub(crate) const fn of(sbn_bits: u8, esi_bits: u8) -> Self {
        Self { sbn_bits, esi_bits }
    }

    /// Width of the SBN field in bits.
    pub const fn sbn_bits(self) -> u8 {
        self.sbn_bits
    }

    /// Width of the ESI field in bits.
    pub const fn esi_bits(self) -> u8 {
        self.esi_bits
    }

    /// Length of the Payload ID in bytes (4 or 8).
    pub const fn byte_len(self) -> usize {
        (self.sbn_bits as usize + self.esi_bits as usize) / 8
    }

    /// Reads the Payload ID from the start of `buf` (bytes after [`Self::byte_len`] are
    /// ignored); `None` when `buf` is shorter than [`Self::byte_len`].
    #[inline]
    pub fn read(self, buf: &[u8]) -> Option<PayloadId> {
        let v = if self.byte_len() == 4 {
            u64::from(u32::from_be_bytes(*buf.first_chunk::<4>()?))
        } else {
            u64::from_be_bytes(*buf.first_chunk::<8>()?)
        };
        let esi_bits = u32::from(self.esi_bits);
        // Both fields are at most 32 bits wide: the casts keep every bit.
        Some(PayloadId {
            sbn: (v >> esi_bits) as u32,
            esi: (v & ((1u64 << esi_bits) - 1)) as u32,
            source_block_length: None,
        })
    }

    /// [`Self::read`], with [`FecError::Truncated`] for `what` when `buf` is too short.
    pub(crate) fn read_named(self, buf: &[u8], what: &'static str) -> Result<PayloadId, FecError> {
        self.read(buf).ok_or(FecError::Truncated {
            what,
            needed: self.byte_len(),
            available: buf.len(),
        })
    }

    /// Writes `id` to the start of `out`. Fails with [`FecError::FieldOverflow`] when the
    /// SBN or the ESI does not fit its field (checked first), then with
    /// [`FecError::Truncated`] when `out` is shorter than [`Self::byte_len`].
    pub fn write(self, id: &PayloadId, out: &mut [u8]) -> Result<(), FecError> {
        self.write_named(id, out, "FEC Payload ID")
    }

    /// [`Self::write`], naming the Payload ID `what` in a [`FecError::Truncated`].
    pub(crate) fn write_named(
        self,
        id: &PayloadId,
        out: &mut [u8],
        what: &'static str,
    ) -> Result<(), FecError> {
        check_width("SBN", id.sbn.into(), self.sbn_bits.into())?;
        check_width("ESI", id.esi.into(), self.esi_bits.into())?;
        let len = self.byte_len();
        let out = out_prefix(out, len, what)?;
        let v = (u64::from(id.sbn) << self.esi_bits) | u64::from(id.esi);
        put_be(out, 0, len, v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbn_esi_layout_widths() {
        assert!(SbnEsiLayout::new(16, 16).is_some());
        assert!(SbnEsiLayout::new(32, 32).is_some());
        assert!(SbnEsiLayout::new(24, 8).is_some());
        assert!(SbnEsiLayout::new(0, 32).is_none());
        assert!(SbnEsiLayout::new(32, 0).is_none());
        assert!(SbnEsiLayout::new(40, 24).is_none());
        assert!(SbnEsiLayout::new(16, 8).is_none());
        assert_eq!(
            SbnEsiLayout::new(8, 24).map(SbnEsiLayout::byte_len),
            Some(4)
        );
        assert_eq!(
            SbnEsiLayout::new(32, 32).map(SbnEsiLayout::byte_len),
            Some(8)
        );
    }

    /// RFC 5445 §3.1 (ID 0: SBN 16 | ESI 16), RFC 5510 §4.1 (ID 5: SBN 24 | ESI 8),
    /// RFC 6330 §3.2 (ID 6: SBN 8 | ESI 24), RFC 5445 §4.1 (ID 128: SBN 32 | ESI 32).
    #[test]
    fn sbn_esi_layout_reads_and_writes_rfc_layouts() {
        let cases: [(u8, u8, &[u8], u32, u32); 4] = [
            (16, 16, &[0x12, 0x34, 0x56, 0x78], 0x1234, 0x5678),
            (24, 8, &[0x12, 0x34, 0x56, 0x78], 0x12_3456, 0x78),
            (8, 24, &[0x12, 0x34, 0x56, 0x78], 0x12, 0x34_5678),
            (32, 32, &[1, 2, 3, 4, 5, 6, 7, 8], 0x0102_0304, 0x0506_0708),
        ];
        for (sbn_bits, esi_bits, bytes, sbn, esi) in cases {
            let l = SbnEsiLayout::new(sbn_bits, esi_bits).unwrap();
            let id = l.read(bytes).unwrap();
            assert_eq!((id.sbn, id.esi, id.source_block_length), (sbn, esi, None));
            let mut out = vec![0u8; bytes.len()];
            l.write(&id, &mut out).unwrap();
            assert_eq!(out, bytes);
            // Truncated input and output buffers.
            assert_eq!(l.read(&bytes[..bytes.len() - 1]), None);
            assert_eq!(
                l.read_named(&bytes[..bytes.len() - 1], "t"),
                Err(FecError::Truncated {
                    what: "t",
                    needed: bytes.len(),
                    available: bytes.len() - 1
                })
            );
            assert!(matches!(
                l.write(&id, &mut out[..1]),
                Err(FecError::Truncated { .. })
            ));
            // A value one bit too wide for each field.
            let wide_sbn = PayloadId {
                sbn: ((1u64 << sbn_bits) & 0xFFFF_FFFF) as u32,
                ..id
            };
            if sbn_bits < 32 {
                assert!(matches!(
                    l.write(&wide_sbn, &mut out),
                    Err(FecError::FieldOverflow { field: "SBN", .. })
                ));
            }
            if esi_bits < 32 {
                let wide_esi = PayloadId {
                    esi: 1 << esi_bits,
                    ..id
                };
                assert!(matches!(
                    l.write(&wide_esi, &mut out),
                    Err(FecError::FieldOverflow { field: "ESI", .. })
                ));
            }
        }
    }
}
