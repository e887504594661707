//! Reed-Solomon over GF(2^8), FEC Encoding ID 5 (RFC 5510 §4).
//!
//! - FEC Payload ID (RFC 5510 §4.1): SBN (24 bits) | ESI (8 bits).
//! - EXT_FTI (RFC 5510 §4.2.1, RFC 5775 §5.2), HEL = 3: HET=64 | HEL | L (48) | E (16) |
//!   B (8) | max_n (8).
//! - No scheme-specific OTI; m = 8.

use bytes::Bytes;

use super::{Limits, block_encoding_symbols, make_oti, validate};
use crate::schemes::common::no_scheme_specific;
use crate::wire::{be, fti_body, fti_prefix, put_be};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecScheme, Oti,
    SbnEsiLayout, SchemeKey, SchemeSpecific,
};

const FTI_LEN: usize = 12;
const LIMITS: Limits = Limits {
    encoding_id: FecEncodingId::RS_GF28,
    b_bits: 8,
    sbn_bits: 24,
};

/// Reed-Solomon over GF(2^8), FEC Encoding ID 5.
#[derive(Debug, Clone, Copy, Default)]
pub struct RsGf28;

impl RsGf28 {
    /// An OTI for this scheme: transfer length, E, B and max_n.
    pub fn oti(transfer_length: u64, symbol_length: u16, b: u32, max_n: u32) -> Oti {
        make_oti(
            FecEncodingId::RS_GF28,
            None,
            transfer_length,
            symbol_length,
            b,
            max_n,
            SchemeSpecific::None,
        )
    }
}

/// The FEC Payload ID, named `FEC Payload ID (ID 5)` in errors: 24-bit SBN, 8-bit ESI.
const PAYLOAD_ID: SbnEsiLayout = SbnEsiLayout::of(24, 8);

impl FecScheme for RsGf28 {
    fn key(&self) -> SchemeKey {
        SchemeKey::fully_specified(FecEncodingId::RS_GF28)
    }

    fn name(&self) -> &'static str {
        "Reed-Solomon over GF(2^8)"
    }

    fn payload_id_layout(&self) -> Option<SbnEsiLayout> {
        Some(PAYLOAD_ID)
    }

    fn fti_len(&self, _oti: &Oti) -> usize {
        FTI_LEN
    }

    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, FecEncodingId::RS_GF28, FTI_LEN)?;
        // Length checked above: every field is in range.
        let l = be(ext, 2, 6).unwrap_or(0);
        let e = be(ext, 8, 2).unwrap_or(0) as u16;
        let b = be(ext, 10, 1).unwrap_or(0) as u32;
        let max_n = be(ext, 11, 1).unwrap_or(0) as u32;
        let oti = Self::oti(l, e, b, max_n);
        self.validate_oti(&oti)?;
        Ok(oti)
    }

    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 6, oti.transfer_length);
        put_be(out, 8, 2, oti.encoding_symbol_length.into());
        put_be(out, 10, 1, oti.max_source_block_length.into());
        put_be(out, 11, 1, oti.max_encoding_symbols.unwrap_or(0).into());
        Ok(FTI_LEN)
    }

    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        no_scheme_specific(
            info,
            "FEC Encoding ID 5 has no scheme-specific OTI (RFC 5510 §4.2)",
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
        validate(oti, 8, LIMITS).map(|_| ())
    }

    fn length_independent_prefix(&self, oti: &Oti) -> u64 {
        Blocking::rfc5052_length_independent_prefix(oti.max_source_block_length)
    }

    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        validate(oti, 8, LIMITS)
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

    /// RFC 5510 §4.2.1 / RFC 5775 §5.2: EXT_FTI of ID 5, hand-assembled: HET=64, HEL=3,
    /// L=0x000000010435 (66613), E=1400 (0x0578), B=64 (0x40), max_n=80 (0x50).
    #[test]
    fn rfc5510_4_2_ext_fti_vector() {
        let bytes = hex!("40 03 000000010435 0578 40 50");
        let oti = RsGf28.read_fti(&bytes).unwrap();
        assert_eq!(oti, RsGf28::oti(66613, 1400, 64, 80));
        let mut out = [0xAAu8; 12];
        assert_eq!(RsGf28.write_fti(&oti, &mut out).unwrap(), 12);
        assert_eq!(out, bytes);
    }

    /// RFC 5510 §4.1: FEC Payload ID is SBN (24) | ESI (8).
    #[test]
    fn rfc5510_4_1_payload_id_vector() {
        let id = RsGf28.read_payload_id(&hex!("ABCDEF 12"), None).unwrap();
        assert_eq!((id.sbn, id.esi), (0xABCDEF, 0x12));
        let mut out = [0u8; 4];
        RsGf28
            .write_payload_id(&id, &RsGf28::oti(1, 1, 1, 1), &mut out)
            .unwrap();
        assert_eq!(out, hex!("ABCDEF12"));
    }
}
