//! Reed-Solomon over GF(2^m), FEC Encoding ID 2 (RFC 5510 §5).
//!
//! - FEC Payload ID (RFC 5510 §5.1): SBN (32 − m bits) | ESI (m bits); reading it needs m,
//!   so [`FecScheme::read_payload_id`] without an OTI returns [`FecError::NeedsOti`].
//! - EXT_FTI (RFC 5510 §5.2, RFC 5775 §5.2), HEL = 4: HET=64 | HEL | L (48) | m (8) |
//!   G (8) | E (16) | B (16) | max_n (16).
//! - FDT `FEC-OTI-Scheme-Specific-Info`: m (8) | G (8). When absent, m = 8 and G = 1
//!   (RFC 5510 §5.2 defaults \[UNV\]).
//! - G (encoding symbols per packet) is carried and validated (G >= 1) but packing several
//!   symbols into one packet is the packet layer's business: the codec works per symbol.

use bytes::Bytes;

use super::{Limits, block_encoding_symbols, make_oti, validate};
use crate::wire::{be, check_width, fti_body, fti_prefix, out_prefix, put_be};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecScheme, Oti,
    PayloadId, SchemeKey, SchemeSpecific,
};

const FTI_LEN: usize = 16;

/// Default m when the OTI does not say (RFC 5510 §5.2 \[UNV\]).
pub const DEFAULT_M: u8 = 8;
/// Default G when the OTI does not say (RFC 5510 §5.2 \[UNV\]).
pub const DEFAULT_G: u8 = 1;

/// Reed-Solomon over GF(2^m), FEC Encoding ID 2.
#[derive(Debug, Clone, Copy, Default)]
pub struct RsGf2m;

impl RsGf2m {
    /// An OTI for this scheme.
    pub fn oti(transfer_length: u64, symbol_length: u16, b: u32, max_n: u32, m: u8, g: u8) -> Oti {
        make_oti(
            FecEncodingId::RS_GF2M,
            None,
            transfer_length,
            symbol_length,
            b,
            max_n,
            SchemeSpecific::ReedSolomon { m, g },
        )
    }

    /// (m, G) of an OTI: the scheme-specific values, or the defaults when there are none.
    pub fn m_g(oti: &Oti) -> Result<(u8, u8), FecError> {
        match oti.scheme_specific {
            SchemeSpecific::ReedSolomon { m, g } => Ok((m, g)),
            SchemeSpecific::None => Ok((DEFAULT_M, DEFAULT_G)),
            _ => Err(FecError::InvalidOti {
                field: "Scheme-Specific-Info",
                value: 0,
                reason: "FEC Encoding ID 2 needs m and G (RFC 5510 §5.2)",
            }),
        }
    }

    fn m(oti: &Oti) -> Result<u8, FecError> {
        let (m, g) = Self::m_g(oti)?;
        if !(2..=16).contains(&m) {
            return Err(FecError::InvalidOti {
                field: "m",
                value: m.into(),
                reason: "RFC 5510 §5.2: m must be in 2..=16",
            });
        }
        if g == 0 {
            return Err(FecError::InvalidOti {
                field: "G",
                value: 0,
                reason: "RFC 5510 §5.2: G must be >= 1",
            });
        }
        Ok(m)
    }

    fn limits(m: u8) -> Limits {
        Limits {
            encoding_id: FecEncodingId::RS_GF2M,
            b_bits: 16,
            sbn_bits: 32 - u32::from(m),
        }
    }
}

impl FecScheme for RsGf2m {
    fn key(&self) -> SchemeKey {
        SchemeKey::fully_specified(FecEncodingId::RS_GF2M)
    }

    fn name(&self) -> &'static str {
        "Reed-Solomon over GF(2^m)"
    }

    fn payload_id_len(&self) -> usize {
        4
    }

    fn read_payload_id(&self, buf: &[u8], oti: Option<&Oti>) -> Result<PayloadId, FecError> {
        let oti = oti.ok_or(FecError::NeedsOti {
            encoding_id: FecEncodingId::RS_GF2M,
        })?;
        let m = Self::m(oti)?;
        let v = be(buf, 0, 4).ok_or(FecError::Truncated {
            what: "FEC Payload ID (ID 2)",
            needed: 4,
            available: buf.len(),
        })?;
        Ok(PayloadId {
            sbn: (v >> m) as u32,
            esi: (v & ((1 << m) - 1)) as u32,
            source_block_length: None,
        })
    }

    fn write_payload_id(&self, id: &PayloadId, oti: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        let m = Self::m(oti)?;
        let sbn_bits = 32 - u32::from(m);
        check_width("SBN", id.sbn.into(), sbn_bits)?;
        check_width("ESI", id.esi.into(), m.into())?;
        let out = out_prefix(out, 4, "FEC Payload ID (ID 2)")?;
        put_be(out, 0, 4, (u64::from(id.sbn) << m) | u64::from(id.esi));
        Ok(())
    }

    fn fti_len(&self, _oti: &Oti) -> usize {
        FTI_LEN
    }

    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, FecEncodingId::RS_GF2M, FTI_LEN)?;
        // Length checked above: every field is in range.
        let l = be(ext, 2, 6).unwrap_or(0);
        let m = be(ext, 8, 1).unwrap_or(0) as u8;
        let g = be(ext, 9, 1).unwrap_or(0) as u8;
        let e = be(ext, 10, 2).unwrap_or(0) as u16;
        let b = be(ext, 12, 2).unwrap_or(0) as u32;
        let max_n = be(ext, 14, 2).unwrap_or(0) as u32;
        let oti = Self::oti(l, e, b, max_n, m, g);
        self.validate_oti(&oti)?;
        Ok(oti)
    }

    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        let (m, g) = Self::m_g(oti)?;
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 6, oti.transfer_length);
        out[8] = m;
        out[9] = g;
        put_be(out, 10, 2, oti.encoding_symbol_length.into());
        put_be(out, 12, 2, oti.max_source_block_length.into());
        put_be(out, 14, 2, oti.max_encoding_symbols.unwrap_or(0).into());
        Ok(FTI_LEN)
    }

    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        match info {
            [] => Ok(SchemeSpecific::ReedSolomon {
                m: DEFAULT_M,
                g: DEFAULT_G,
            }),
            &[m, g] => {
                let ss = SchemeSpecific::ReedSolomon { m, g };
                let probe = make_oti(FecEncodingId::RS_GF2M, None, 0, 2, 1, 1, ss.clone());
                Self::m(&probe)?;
                Ok(ss)
            }
            _ => Err(FecError::InvalidOti {
                field: "Scheme-Specific-Info",
                value: info.len() as u64,
                reason: "FEC Encoding ID 2 scheme-specific info is m (8) | G (8) (RFC 5510 §5.2)",
            }),
        }
    }

    fn write_scheme_specific_info(&self, oti: &Oti) -> Vec<u8> {
        let (m, g) = Self::m_g(oti).unwrap_or((DEFAULT_M, DEFAULT_G));
        vec![m, g]
    }

    /// m = 8, G = 1: one symbol per packet, the field of FEC Encoding ID 5.
    fn oti_for(
        &self,
        transfer_length: u64,
        symbol_length: u16,
        max_source_block: Option<u32>,
        repair_ratio: f64,
    ) -> Result<Oti, FecError> {
        let (k, n) = super::rs8_k_n(max_source_block, repair_ratio);
        let oti = Self::oti(transfer_length, symbol_length, k, n, 8, 1);
        self.validate_oti(&oti).map(|()| oti)
    }

    /// G symbols per packet (RFC 5510 §5).
    fn max_symbols_per_packet(&self, oti: &Oti) -> usize {
        Self::m_g(oti).map_or(1, |(_, g)| usize::from(g.max(1)))
    }

    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        self.blocking(oti).map(|_| ())
    }

    fn length_independent_prefix(&self, oti: &Oti) -> u64 {
        Blocking::rfc5052_length_independent_prefix(oti.max_source_block_length)
    }

    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        if oti.encoding_id != FecEncodingId::RS_GF2M {
            return Err(FecError::SchemeMismatch {
                expected: FecEncodingId::RS_GF2M,
                found: oti.encoding_id,
            });
        }
        let m = Self::m(oti)?;
        validate(oti, m, Self::limits(m))
    }

    fn esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32 {
        block_encoding_symbols(oti, block)
    }

    fn receive_esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32 {
        // Lenient on receipt: every ESI with an evaluation point (module docs).
        Self::m(oti).map_or_else(|_| self.esi_limit(oti, block), super::receive_esi_limit)
    }

    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        self.validate_oti(oti)?;
        super::encoder(Self::m(oti)?, oti, block, data)
    }

    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        self.validate_oti(oti)?;
        super::decoder(Self::m(oti)?, oti, block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 5510 §5.2 / RFC 5775 §5.2: EXT_FTI of ID 2, hand-assembled: HET=64, HEL=4,
    /// L=0x000000010435, m=16 (0x10), G=1, E=1400 (0x0578), B=1024 (0x0400),
    /// max_n=1280 (0x0500).
    #[test]
    fn rfc5510_5_2_ext_fti_vector() {
        let bytes = hex!("40 04 000000010435 10 01 0578 0400 0500");
        let oti = RsGf2m.read_fti(&bytes).unwrap();
        assert_eq!(oti, RsGf2m::oti(66613, 1400, 1024, 1280, 16, 1));
        let mut out = [0xAAu8; 16];
        assert_eq!(RsGf2m.write_fti(&oti, &mut out).unwrap(), 16);
        assert_eq!(out, bytes);
    }

    /// RFC 5510 §5.1: SBN (32 − m) | ESI (m); with m = 10, 0x00000C05 is
    /// SBN = 0xC05 >> 10 = 3 and ESI = 0xC05 & 0x3FF = 5.
    #[test]
    fn rfc5510_5_1_payload_id_vector() {
        let oti = RsGf2m::oti(1000, 10, 10, 20, 10, 1);
        let id = RsGf2m
            .read_payload_id(&hex!("00000C05"), Some(&oti))
            .unwrap();
        assert_eq!((id.sbn, id.esi), (3, 5));
        let mut out = [0u8; 4];
        RsGf2m.write_payload_id(&id, &oti, &mut out).unwrap();
        assert_eq!(out, hex!("00000C05"));
        assert_eq!(
            RsGf2m.read_payload_id(&hex!("00000C05"), None),
            Err(FecError::NeedsOti {
                encoding_id: FecEncodingId::RS_GF2M
            })
        );
    }
}
