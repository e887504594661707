//! Wire formats of the Under-Specified FEC Encoding IDs 128 and 130 (RFC 5445 §4 and §6).
//!
//! These IDs name a *family* of codes: the FEC Instance ID (RFC 5052 §5.2) says which code
//! is used, and no codec is standardised for them. This module therefore provides only the
//! wire formats, as reusable helpers that an out-of-tree [`crate::FecScheme`] delegates to
//! (see `examples/xor_parity.rs`). Neither ID is registered in [`crate::schemes::builtin`].
//!
//! | ID | FEC Payload ID | EXT_FTI (HEL = 4) |
//! |---|---|---|
//! | 128, Small Block, Large Block and Expandable (RFC 5445 §4.1, §4.2) | SBN (32) \| ESI (32) | `[2..8)` L 48 · `[8..10)` FEC Instance ID · `[10..12)` E · `[12..16)` B 32 |
//! | 130, Compact FEC (RFC 5445 §6.1, §6.2) | SBN (16) \| ESI (16) | same as 128 |
//!
//! Blocking uses the RFC 5052 §9.1 algorithm with L, E and B. The helpers check that the
//! resulting SBNs and the source ESIs fit the Payload ID fields; any limit on repair ESIs is
//! the instance's business.

use crate::wire::{be, check_width, fti_body, fti_prefix, put_be};
use crate::{
    Blocking, FecEncodingId, FecError, FecInstanceId, Oti, PayloadId, SbnEsiLayout, SchemeSpecific,
};

/// Length of EXT_FTI for IDs 128 and 130, HET and HEL included (HEL = 4).
pub const FTI_LEN: usize = 16;

/// The layout parameters shared by 128 and 130.
#[derive(Debug, Clone, Copy)]
struct Layout {
    id: FecEncodingId,
    /// The FEC Payload ID: SBN and ESI fields of equal width.
    pid: SbnEsiLayout,
    what: &'static str,
}

const L128: Layout = Layout {
    id: FecEncodingId::SMALL_LARGE_EXPANDABLE,
    pid: SbnEsiLayout::of(32, 32),
    what: "FEC Payload ID (ID 128)",
};
const L130: Layout = Layout {
    id: FecEncodingId::COMPACT,
    pid: SbnEsiLayout::of(16, 16),
    what: "FEC Payload ID (ID 130)",
};

impl Layout {
    fn bits(self) -> u32 {
        u32::from(self.pid.sbn_bits())
    }

    fn limit(self) -> u64 {
        1u64 << self.bits()
    }

    fn oti(self, instance_id: u16, l: u64, e: u16, b: u32) -> Oti {
        Oti {
            encoding_id: self.id,
            instance_id: Some(FecInstanceId(instance_id)),
            transfer_length: l,
            encoding_symbol_length: e,
            max_source_block_length: b,
            max_encoding_symbols: None,
            scheme_specific: SchemeSpecific::None,
        }
    }

    fn read_payload_id(self, buf: &[u8]) -> Result<PayloadId, FecError> {
        self.pid.read_named(buf, self.what)
    }

    fn write_payload_id(self, id: &PayloadId, out: &mut [u8]) -> Result<(), FecError> {
        self.pid.write_named(id, out, self.what)
    }

    fn read_fti(self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, self.id, FTI_LEN)?;
        // Length checked above: every field is in range.
        let l = be(ext, 2, 6).unwrap_or(0);
        let inst = be(ext, 8, 2).unwrap_or(0) as u16;
        let e = be(ext, 10, 2).unwrap_or(0) as u16;
        let b = be(ext, 12, 4).unwrap_or(0) as u32;
        let oti = self.oti(inst, l, e, b);
        self.validate(&oti)?;
        Ok(oti)
    }

    fn write_fti(self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate(oti)?;
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 6, oti.transfer_length);
        put_be(
            out,
            8,
            2,
            oti.instance_id.map(|i| u64::from(i.0)).unwrap_or(0),
        );
        put_be(out, 10, 2, oti.encoding_symbol_length.into());
        put_be(out, 12, 4, oti.max_source_block_length.into());
        Ok(FTI_LEN)
    }

    fn validate(self, oti: &Oti) -> Result<(), FecError> {
        if oti.encoding_id != self.id {
            return Err(FecError::SchemeMismatch {
                expected: self.id,
                found: oti.encoding_id,
            });
        }
        if oti.instance_id.is_none() {
            return Err(FecError::InvalidOti {
                field: "FEC Instance ID",
                value: 0,
                reason: "Under-Specified schemes need an FEC Instance ID (RFC 5052 §5.2)",
            });
        }
        check_width("L", oti.transfer_length, 48)?;
        let blocking = Blocking::rfc5052(
            oti.transfer_length,
            oti.encoding_symbol_length,
            oti.max_source_block_length,
        )?;
        if blocking.blocks > self.limit() {
            return Err(FecError::InvalidOti {
                field: "N",
                value: blocking.blocks,
                reason: "more source blocks than the SBN field can number (RFC 5445 §4.1/§6.1)",
            });
        }
        if u64::from(blocking.large) > self.limit() {
            return Err(FecError::InvalidOti {
                field: "B",
                value: blocking.large.into(),
                reason: "more source symbols per block than the ESI field can number (RFC 5445 §4.1/§6.1)",
            });
        }
        Ok(())
    }

    fn blocking(self, oti: &Oti) -> Result<Blocking, FecError> {
        self.validate(oti)?;
        Blocking::rfc5052(
            oti.transfer_length,
            oti.encoding_symbol_length,
            oti.max_source_block_length,
        )
    }
}

macro_rules! wire_helper {
    ($(#[$doc:meta])* $name:ident, $layout:expr, $pid:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct $name;

        impl $name {
            /// The FEC Encoding ID.
            pub const ENCODING_ID: FecEncodingId = $layout.id;
            /// Length of the FEC Payload ID in bytes.
            pub const PAYLOAD_ID_LEN: usize = $pid;
            /// Length of EXT_FTI in bytes (HET and HEL included).
            pub const FTI_LEN: usize = FTI_LEN;

            /// An OTI: FEC Instance ID, transfer length L, symbol length E, max source
            /// block length B.
            pub fn oti(instance_id: u16, transfer_length: u64, symbol_length: u16, max_source_block_length: u32) -> Oti {
                $layout.oti(instance_id, transfer_length, symbol_length, max_source_block_length)
            }

            /// Reads the FEC Payload ID from the start of `buf`.
            pub fn read_payload_id(buf: &[u8]) -> Result<PayloadId, FecError> {
                $layout.read_payload_id(buf)
            }

            /// Writes `id` to the start of `out`; SBN and ESI must fit their fields.
            pub fn write_payload_id(id: &PayloadId, out: &mut [u8]) -> Result<(), FecError> {
                $layout.write_payload_id(id, out)
            }

            /// Reads EXT_FTI (`ext` is the whole extension, HET and HEL included) and
            /// validates it with [`Self::validate_oti`].
            pub fn read_fti(ext: &[u8]) -> Result<Oti, FecError> {
                $layout.read_fti(ext)
            }

            /// Writes EXT_FTI for `oti` into `out`; returns the bytes written.
            pub fn write_fti(oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
                $layout.write_fti(oti, out)
            }

            /// Checks the common OTI: Encoding ID, Instance ID present, L < 2^48,
            /// E > 0, B > 0, and that SBNs and source ESIs fit the Payload ID fields.
            pub fn validate_oti(oti: &Oti) -> Result<(), FecError> {
                $layout.validate(oti)
            }

            /// The RFC 5052 §9.1 blocking of the object, after [`Self::validate_oti`].
            pub fn blocking(oti: &Oti) -> Result<Blocking, FecError> {
                $layout.blocking(oti)
            }
        }
    };
}

wire_helper!(
    /// Wire format of FEC Encoding ID 128, Small Block, Large Block and Expandable FEC
    /// (RFC 5445 §4): Payload ID SBN (32) | ESI (32); EXT_FTI L 48 | Instance ID 16 | E 16 | B 32.
    UnderSpecified128Wire,
    L128,
    8
);

wire_helper!(
    /// Wire format of FEC Encoding ID 130, Compact FEC (RFC 5445 §6): Payload ID
    /// SBN (16) | ESI (16); EXT_FTI as for ID 128.
    Compact130Wire,
    L130,
    4
);

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 5445 §4.2 (EXT_FTI of ID 128), hand-assembled: L = 0x0000_0001_0435, Instance
    /// ID 0x7001, E = 1400, B = 64.
    #[test]
    fn rfc5445_4_2_ext_fti_vector_128() {
        let bytes = hex!("40 04 000000010435 7001 0578 00000040");
        let oti = UnderSpecified128Wire::read_fti(&bytes).unwrap();
        assert_eq!(oti, UnderSpecified128Wire::oti(0x7001, 66613, 1400, 64));
        let mut out = [0xAA; 16];
        assert_eq!(
            UnderSpecified128Wire::write_fti(&oti, &mut out).unwrap(),
            16
        );
        assert_eq!(out, bytes);
    }

    /// RFC 5445 §6.2 (EXT_FTI of ID 130): same layout as 128.
    #[test]
    fn rfc5445_6_2_ext_fti_vector_130() {
        let bytes = hex!("40 04 000000000400 0001 0100 00000004");
        let oti = Compact130Wire::read_fti(&bytes).unwrap();
        assert_eq!(oti, Compact130Wire::oti(1, 1024, 256, 4));
        assert_eq!(oti.encoding_id, FecEncodingId::COMPACT);
        let mut out = [0; 16];
        Compact130Wire::write_fti(&oti, &mut out).unwrap();
        assert_eq!(out, bytes);
    }

    /// RFC 5445 §4.1: FEC Payload ID of ID 128 is SBN (32) | ESI (32).
    #[test]
    fn rfc5445_4_1_payload_id_vector_128() {
        let bytes = hex!("01020304 05060708");
        let id = UnderSpecified128Wire::read_payload_id(&bytes).unwrap();
        assert_eq!((id.sbn, id.esi), (0x0102_0304, 0x0506_0708));
        let mut out = [0; 8];
        UnderSpecified128Wire::write_payload_id(&id, &mut out).unwrap();
        assert_eq!(out, bytes);
        assert!(matches!(
            UnderSpecified128Wire::read_payload_id(&bytes[..7]),
            Err(FecError::Truncated { needed: 8, .. })
        ));
    }

    /// RFC 5445 §6.1: FEC Payload ID of ID 130 is SBN (16) | ESI (16).
    #[test]
    fn rfc5445_6_1_payload_id_vector_130() {
        let id = Compact130Wire::read_payload_id(&hex!("0102 0304")).unwrap();
        assert_eq!((id.sbn, id.esi), (0x0102, 0x0304));
        let mut out = [0; 4];
        Compact130Wire::write_payload_id(&id, &mut out).unwrap();
        assert_eq!(out, hex!("01020304"));
        let too_big = PayloadId {
            sbn: 0x1_0000,
            esi: 0,
            source_block_length: None,
        };
        assert!(matches!(
            Compact130Wire::write_payload_id(&too_big, &mut out),
            Err(FecError::FieldOverflow { bits: 16, .. })
        ));
    }

    /// Catalogue items 22 and 37: wrong HEL, E = 0, B = 0 are typed errors.
    #[test]
    fn bad_input_22_37_under_specified() {
        assert!(matches!(
            Compact130Wire::read_fti(&hex!("40 03 000000000400 0001 0100")),
            Err(FecError::FtiLength { hel: 3, .. })
        ));
        assert!(matches!(
            Compact130Wire::read_fti(&hex!("40 04 000000000400 0001 0000 00000004")),
            Err(FecError::InvalidOti { field: "E", .. })
        ));
        assert!(matches!(
            UnderSpecified128Wire::read_fti(&hex!("40 04 000000000400 0001 0100 00000000")),
            Err(FecError::InvalidOti { field: "B", .. })
        ));
        // 130: more than 2^16 blocks cannot be numbered.
        assert!(matches!(
            Compact130Wire::read_fti(&hex!("40 04 000100000000 0001 0001 00000001")),
            Err(FecError::InvalidOti { field: "N", .. })
        ));
    }
}

#[cfg(test)]
mod prop_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// IDs 128 and 130: EXT_FTI parse(write(x)) == x for valid OTIs.
        #[test]
        fn prop_under_specified_fti_round_trip(
            inst in any::<u16>(), l in 0u64..(1 << 48), e in 1u16..=u16::MAX, b in 1u32..=u32::MAX,
        ) {
            let mut out = [0u8; FTI_LEN];
            let oti = UnderSpecified128Wire::oti(inst, l, e, b);
            if UnderSpecified128Wire::validate_oti(&oti).is_ok() {
                UnderSpecified128Wire::write_fti(&oti, &mut out).unwrap();
                prop_assert_eq!(UnderSpecified128Wire::read_fti(&out).unwrap(), oti);
            }
            let oti = Compact130Wire::oti(inst, l, e, b);
            if Compact130Wire::validate_oti(&oti).is_ok() {
                Compact130Wire::write_fti(&oti, &mut out).unwrap();
                prop_assert_eq!(Compact130Wire::read_fti(&out).unwrap(), oti);
            }
        }

        /// IDs 128 and 130: Payload ID parse(write(x)) == x.
        #[test]
        fn prop_under_specified_payload_id_round_trip(sbn in any::<u32>(), esi in any::<u32>()) {
            let id = PayloadId { sbn, esi, source_block_length: None };
            let mut out = [0u8; 8];
            UnderSpecified128Wire::write_payload_id(&id, &mut out).unwrap();
            prop_assert_eq!(UnderSpecified128Wire::read_payload_id(&out).unwrap(), id);
            let small = PayloadId { sbn: sbn & 0xFFFF, esi: esi & 0xFFFF, source_block_length: None };
            Compact130Wire::write_payload_id(&small, &mut out).unwrap();
            prop_assert_eq!(Compact130Wire::read_payload_id(&out).unwrap(), small);
        }

        /// Arbitrary bytes never panic the readers.
        #[test]
        fn prop_under_specified_readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let _ = UnderSpecified128Wire::read_fti(&bytes);
            let _ = Compact130Wire::read_fti(&bytes);
            let _ = UnderSpecified128Wire::read_payload_id(&bytes);
            let _ = Compact130Wire::read_payload_id(&bytes);
        }
    }
}
