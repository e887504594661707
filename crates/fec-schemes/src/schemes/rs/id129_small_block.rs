//! Small Block Systematic FEC, FEC Encoding ID 129, FEC Instance ID 0: Reed-Solomon over
//! GF(2^8) (RFC 5510 §6, RFC 5445 §5).
//!
//! - FEC Payload ID (RFC 5445 §5.1): SBN (32) | Source Block Length (16) | ESI (16).
//! - EXT_FTI (RFC 5445 §5.2, RFC 5775 §5.2), HEL = 4: HET=64 | HEL | L (48) |
//!   FEC Instance ID (16) | E (16) | B (16) | max_n (16).
//! - The SBL carried in every packet must agree with the RFC 5052 §9.1 blocking of the
//!   object (catalogue item 32): [`RsSmallBlock::check_sbl`], also applied by
//!   [`FecScheme::read_payload_id`] whenever the OTI is known.

use bytes::Bytes;

use super::{Limits, block_encoding_symbols, make_oti, validate};
use crate::schemes::common::no_scheme_specific;
use crate::wire::{be, check_width, fti_body, fti_prefix, out_prefix, put_be};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecInstanceId,
    FecScheme, Oti, PayloadId, SchemeKey, SchemeSpecific,
};

const FTI_LEN: usize = 16;
const LIMITS: Limits = Limits {
    encoding_id: FecEncodingId::SMALL_BLOCK_SYSTEMATIC,
    b_bits: 16,
    sbn_bits: 32,
};

/// FEC Instance ID of Reed-Solomon under FEC Encoding ID 129 (RFC 5510 §6).
pub const INSTANCE_ID: FecInstanceId = FecInstanceId(0);

/// Reed-Solomon over GF(2^8) as Small Block Systematic FEC (FEC Encoding ID 129, FEC
/// Instance ID 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct RsSmallBlock;

impl RsSmallBlock {
    /// An OTI for this scheme.
    pub fn oti(transfer_length: u64, symbol_length: u16, b: u32, max_n: u32) -> Oti {
        make_oti(
            FecEncodingId::SMALL_BLOCK_SYSTEMATIC,
            Some(INSTANCE_ID),
            transfer_length,
            symbol_length,
            b,
            max_n,
            SchemeSpecific::None,
        )
    }

    /// Checks the Source Block Length of a received FEC Payload ID against the blocking
    /// the OTI implies (catalogue item 32). Errors: [`FecError::SbnOutOfRange`] for an SBN
    /// beyond the object, [`FecError::InvalidOti`] with field `"SBL"` for a disagreement,
    /// and any OTI validation error.
    pub fn check_sbl(oti: &Oti, id: &PayloadId) -> Result<(), FecError> {
        let blocking = Self.blocking(oti)?;
        let k = blocking
            .block_symbols(u64::from(id.sbn))
            .ok_or(FecError::SbnOutOfRange {
                sbn: id.sbn,
                blocks: blocking.blocks,
            })?;
        match id.source_block_length {
            Some(sbl) if sbl != k => Err(FecError::InvalidOti {
                field: "SBL",
                value: sbl.into(),
                reason: "Source Block Length disagrees with the RFC 5052 §9.1 blocking (RFC 5445 §5.1)",
            }),
            _ => Ok(()),
        }
    }

    fn check_instance(oti: &Oti) -> Result<(), FecError> {
        if oti.instance_id != Some(INSTANCE_ID) {
            return Err(FecError::UnknownScheme {
                encoding_id: FecEncodingId::SMALL_BLOCK_SYSTEMATIC,
                instance_id: oti.instance_id,
            });
        }
        Ok(())
    }
}

impl FecScheme for RsSmallBlock {
    fn key(&self) -> SchemeKey {
        SchemeKey::under_specified(FecEncodingId::SMALL_BLOCK_SYSTEMATIC, INSTANCE_ID)
    }

    fn name(&self) -> &'static str {
        "Reed-Solomon over GF(2^8) (Small Block Systematic)"
    }

    fn payload_id_len(&self) -> usize {
        8
    }

    fn read_payload_id(&self, buf: &[u8], oti: Option<&Oti>) -> Result<PayloadId, FecError> {
        let truncated = FecError::Truncated {
            what: "FEC Payload ID (ID 129)",
            needed: 8,
            available: buf.len(),
        };
        let sbn = be(buf, 0, 4).ok_or(truncated)?;
        let sbl = be(buf, 4, 2).ok_or(truncated)?;
        let esi = be(buf, 6, 2).ok_or(truncated)?;
        let id = PayloadId {
            sbn: sbn as u32,
            esi: esi as u32,
            source_block_length: Some(sbl as u32),
        };
        if let Some(oti) = oti {
            Self::check_sbl(oti, &id)?;
        }
        Ok(id)
    }

    fn write_payload_id(&self, id: &PayloadId, oti: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        let sbl = match id.source_block_length {
            Some(s) => s,
            None => self.blocking(oti)?.block_symbols(u64::from(id.sbn)).ok_or(
                FecError::SbnOutOfRange {
                    sbn: id.sbn,
                    blocks: self.blocking(oti)?.blocks,
                },
            )?,
        };
        check_width("SBL", sbl.into(), 16)?;
        check_width("ESI", id.esi.into(), 16)?;
        let out = out_prefix(out, 8, "FEC Payload ID (ID 129)")?;
        put_be(out, 0, 4, id.sbn.into());
        put_be(out, 4, 2, sbl.into());
        put_be(out, 6, 2, id.esi.into());
        Ok(())
    }

    fn fti_len(&self, _oti: &Oti) -> usize {
        FTI_LEN
    }

    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, FecEncodingId::SMALL_BLOCK_SYSTEMATIC, FTI_LEN)?;
        // Length checked above: every field is in range.
        let l = be(ext, 2, 6).unwrap_or(0);
        let instance = be(ext, 8, 2).unwrap_or(0) as u16;
        let e = be(ext, 10, 2).unwrap_or(0) as u16;
        let b = be(ext, 12, 2).unwrap_or(0) as u32;
        let max_n = be(ext, 14, 2).unwrap_or(0) as u32;
        let mut oti = Self::oti(l, e, b, max_n);
        oti.instance_id = Some(FecInstanceId(instance));
        self.validate_oti(&oti)?;
        Ok(oti)
    }

    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 6, oti.transfer_length);
        put_be(out, 8, 2, INSTANCE_ID.0.into());
        put_be(out, 10, 2, oti.encoding_symbol_length.into());
        put_be(out, 12, 2, oti.max_source_block_length.into());
        put_be(out, 14, 2, oti.max_encoding_symbols.unwrap_or(0).into());
        Ok(FTI_LEN)
    }

    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        no_scheme_specific(
            info,
            "FEC Encoding ID 129/0 has no scheme-specific OTI (RFC 5510 §6.2)",
        )
    }

    fn write_scheme_specific_info(&self, _oti: &Oti) -> Vec<u8> {
        Vec::new()
    }

    fn oti_for(
        &self,
        transfer_length: u64,
        symbol_length: u16,
        max_source_block: Option<u32>,
        repair_ratio: f64,
    ) -> Result<Oti, FecError> {
        let (k, n) = super::rs8_k_n(max_source_block, repair_ratio);
        let oti = Self::oti(transfer_length, symbol_length, k, n);
        self.validate_oti(&oti).map(|()| oti)
    }

    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        self.blocking(oti).map(|_| ())
    }

    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        let b = validate(oti, 8, LIMITS)?;
        Self::check_instance(oti)?;
        Ok(b)
    }

    fn esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32 {
        block_encoding_symbols(oti, block)
    }

    fn receive_esi_limit(&self, _oti: &Oti, _block: &BlockSpec) -> u32 {
        // Lenient on receipt: every ESI with an evaluation point (module docs).
        super::receive_esi_limit(8)
    }

    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        self.validate_oti(oti)?;
        super::encoder(8, oti, block, data)
    }

    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        self.validate_oti(oti)?;
        super::decoder(8, oti, block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 5445 §5.2 / RFC 5510 §6.2: EXT_FTI of ID 129, hand-assembled: HET=64, HEL=4,
    /// L=0x000000010435, Instance ID 0, E=1400 (0x0578), B=64 (0x0040), max_n=80 (0x0050).
    #[test]
    fn rfc5445_5_2_ext_fti_vector() {
        let bytes = hex!("40 04 000000010435 0000 0578 0040 0050");
        let oti = RsSmallBlock.read_fti(&bytes).unwrap();
        assert_eq!(oti, RsSmallBlock::oti(66613, 1400, 64, 80));
        let mut out = [0xAAu8; 16];
        assert_eq!(RsSmallBlock.write_fti(&oti, &mut out).unwrap(), 16);
        assert_eq!(out, bytes);
        // Another instance ID is another scheme.
        let other = hex!("40 04 000000010435 0001 0578 0040 0050");
        assert!(matches!(
            RsSmallBlock.read_fti(&other),
            Err(FecError::UnknownScheme { .. })
        ));
    }

    /// RFC 5445 §5.1: SBN (32) | SBL (16) | ESI (16).
    #[test]
    fn rfc5445_5_1_payload_id_vector() {
        let id = RsSmallBlock
            .read_payload_id(&hex!("00000001 0040 0045"), None)
            .unwrap();
        assert_eq!(
            id,
            PayloadId {
                sbn: 1,
                esi: 0x45,
                source_block_length: Some(64)
            }
        );
        let mut out = [0u8; 8];
        let oti = RsSmallBlock::oti(66613, 1400, 64, 80);
        RsSmallBlock.write_payload_id(&id, &oti, &mut out).unwrap();
        assert_eq!(out, hex!("00000001 0040 0045"));
    }
}
