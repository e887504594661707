//! Compact No-Code FEC scheme, FEC Encoding ID 0 (RFC 5445 §3).
//!
//! - FEC Payload ID (RFC 5445 §3.1): SBN (16 bits) | ESI (16 bits).
//! - EXT_FTI (RFC 5445 §3.2, RFC 5775 §5.2): HET=64 | HEL=4 | Transfer Length (48) |
//!   Reserved (16) | E (16) | B (32).
//! - Only source symbols exist: ESI < k.

use bytes::Bytes;

use crate::schemes::SourceBlockBuffer;
use crate::schemes::common::{check_block_data, no_scheme_specific};
use crate::wire::{be, check_width, fti_body, fti_prefix, out_prefix, put_be};
use crate::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecEncodingId, FecError, FecScheme, Oti,
    PushOutcome, SbnEsiLayout, SchemeKey, SchemeSpecific,
};

const FTI_LEN: usize = 16;

/// The Compact No-Code scheme (FEC Encoding ID 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct CompactNoCode;

impl CompactNoCode {
    /// An OTI for this scheme.
    pub fn oti(transfer_length: u64, symbol_length: u16, max_source_block_length: u32) -> Oti {
        Oti {
            encoding_id: FecEncodingId::COMPACT_NO_CODE,
            instance_id: None,
            transfer_length,
            encoding_symbol_length: symbol_length,
            max_source_block_length,
            max_encoding_symbols: None,
            scheme_specific: SchemeSpecific::None,
        }
    }
}

/// The FEC Payload ID, named `FEC Payload ID (ID 0)` in errors: 16-bit SBN, 16-bit ESI.
const PAYLOAD_ID: SbnEsiLayout = SbnEsiLayout::of(16, 16);

impl FecScheme for CompactNoCode {
    fn key(&self) -> SchemeKey {
        SchemeKey::fully_specified(FecEncodingId::COMPACT_NO_CODE)
    }

    fn name(&self) -> &'static str {
        "Compact No-Code"
    }

    fn payload_id_layout(&self) -> Option<SbnEsiLayout> {
        Some(PAYLOAD_ID)
    }

    fn fti_len(&self, _oti: &Oti) -> usize {
        FTI_LEN
    }

    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        let ext = fti_body(ext, FecEncodingId::COMPACT_NO_CODE, FTI_LEN)?;
        // Lengths checked above: every field below is in range.
        let l = be(ext, 2, 6).unwrap_or(0);
        let e = be(ext, 10, 2).unwrap_or(0) as u16;
        let b = be(ext, 12, 4).unwrap_or(0) as u32;
        let oti = Self::oti(l, e, b);
        self.validate_oti(&oti)?;
        Ok(oti)
    }

    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        self.validate_oti(oti)?;
        let out = fti_prefix(out, FTI_LEN)?;
        put_be(out, 2, 6, oti.transfer_length);
        put_be(out, 10, 2, oti.encoding_symbol_length.into());
        put_be(out, 12, 4, oti.max_source_block_length.into());
        Ok(FTI_LEN)
    }

    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        no_scheme_specific(
            info,
            "Compact No-Code has no scheme-specific OTI (RFC 5445 §3.2)",
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
        _repair_ratio: f64,
    ) -> Result<Oti, FecError> {
        let oti = Self::oti(
            transfer_length,
            symbol_length,
            max_source_block.unwrap_or(64),
        );
        self.validate_oti(&oti).map(|()| oti)
    }

    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        if oti.encoding_id != FecEncodingId::COMPACT_NO_CODE {
            return Err(FecError::SchemeMismatch {
                expected: FecEncodingId::COMPACT_NO_CODE,
                found: oti.encoding_id,
            });
        }
        check_width("L", oti.transfer_length, 48)?;
        if oti.encoding_symbol_length == 0 {
            return Err(FecError::InvalidOti {
                field: "E",
                value: 0,
                reason: "encoding symbol length must be > 0 (RFC 5052 §9.1)",
            });
        }
        if oti.max_source_block_length == 0 {
            return Err(FecError::InvalidOti {
                field: "B",
                value: 0,
                reason: "maximum source block length must be > 0 (RFC 5052 §9.1)",
            });
        }
        let blocking = Blocking::rfc5052(
            oti.transfer_length,
            oti.encoding_symbol_length,
            oti.max_source_block_length,
        )?;
        if blocking.blocks > 1 << 16 {
            return Err(FecError::InvalidOti {
                field: "N",
                value: blocking.blocks,
                reason: "more source blocks than the 16-bit SBN can number (RFC 5445 §3.1)",
            });
        }
        if blocking.large > 1 << 16 {
            return Err(FecError::InvalidOti {
                field: "B",
                value: blocking.large.into(),
                reason: "more source symbols per block than the 16-bit ESI can number (RFC 5445 §3.1)",
            });
        }
        Ok(())
    }

    fn length_independent_prefix(&self, oti: &Oti) -> u64 {
        Blocking::rfc5052_length_independent_prefix(oti.max_source_block_length)
    }

    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        self.validate_oti(oti)?;
        Blocking::rfc5052(
            oti.transfer_length,
            oti.encoding_symbol_length,
            oti.max_source_block_length,
        )
    }

    fn esi_limit(&self, _oti: &Oti, block: &BlockSpec) -> u32 {
        block.source_symbols
    }

    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        self.validate_oti(oti)?;
        check_block_data(block, &data)?;
        Ok(Box::new(NoCodeEncoder {
            block: *block,
            data,
        }))
    }

    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        self.validate_oti(oti)?;
        Ok(Box::new(NoCodeDecoder {
            buf: SourceBlockBuffer::new(*block),
        }))
    }
}

struct NoCodeEncoder {
    block: BlockSpec,
    data: Bytes,
}

impl BlockEncoder for NoCodeEncoder {
    fn block(&self) -> &BlockSpec {
        &self.block
    }

    fn esi_limit(&self) -> u32 {
        self.block.source_symbols
    }

    fn write_symbol(&mut self, esi: u32, out: &mut [u8]) -> Result<usize, FecError> {
        let len = self
            .block
            .source_symbol_len(esi)
            .ok_or(FecError::EsiOutOfRange {
                esi,
                limit: self.block.source_symbols,
            })?;
        let start = esi as usize * usize::from(self.block.symbol_length);
        let src = self
            .data
            .get(start..start + len)
            .ok_or(FecError::EsiOutOfRange {
                esi,
                limit: self.block.source_symbols,
            })?;
        out_prefix(out, len, "symbol buffer")?.copy_from_slice(src);
        Ok(len)
    }
}

struct NoCodeDecoder {
    buf: SourceBlockBuffer,
}

impl BlockDecoder for NoCodeDecoder {
    fn block(&self) -> &BlockSpec {
        self.buf.block()
    }

    fn push(&mut self, esi: u32, symbol: &[u8]) -> Result<PushOutcome, FecError> {
        self.buf.push(esi, symbol)
    }

    fn received(&self) -> u32 {
        self.buf.count()
    }

    fn is_decodable(&self) -> bool {
        self.buf.is_complete()
    }

    fn decode(&mut self) -> Result<Bytes, FecError> {
        if !self.buf.is_complete() {
            return Err(FecError::NotEnoughSymbols {
                have: self.buf.count(),
                need: self.buf.block().source_symbols,
            });
        }
        Ok(self.buf.take())
    }

    fn missing_source_symbols(&self) -> Vec<u32> {
        self.buf.missing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PayloadId;
    use hex_literal::hex;

    /// RFC 5445 §3.2 / RFC 5775 §5.2: EXT_FTI for ID 0, hand-assembled:
    /// HET=64, HEL=4, L=0x0000_0001_0435 (66613), reserved 0, E=1400 (0x0578), B=64.
    #[test]
    fn rfc5445_3_2_ext_fti_vector() {
        let bytes = hex!("40 04 000000010435 0000 0578 00000040");
        let oti = CompactNoCode.read_fti(&bytes).unwrap();
        assert_eq!(oti, CompactNoCode::oti(66613, 1400, 64));
        let mut out = [0xAAu8; 16];
        assert_eq!(CompactNoCode.write_fti(&oti, &mut out).unwrap(), 16);
        assert_eq!(out, bytes);
    }

    /// RFC 5445 §3.1: FEC Payload ID is SBN(16) | ESI(16).
    #[test]
    fn rfc5445_3_1_payload_id_vector() {
        let id = CompactNoCode
            .read_payload_id(&hex!("0102 0304"), None)
            .unwrap();
        assert_eq!(
            id,
            PayloadId {
                sbn: 0x0102,
                esi: 0x0304,
                source_block_length: None
            }
        );
        let mut out = [0u8; 4];
        CompactNoCode
            .write_payload_id(&id, &CompactNoCode::oti(1, 1, 1), &mut out)
            .unwrap();
        assert_eq!(out, hex!("01020304"));
        assert!(matches!(
            CompactNoCode.read_payload_id(&[1, 2, 3], None),
            Err(FecError::Truncated { .. })
        ));
    }

    /// Catalogue item 22: EXT_FTI HEL wrong for the scheme.
    #[test]
    fn bad_input_22_fti_wrong_hel() {
        let bytes = hex!("40 03 000000010435 0000 0578");
        assert!(matches!(
            CompactNoCode.read_fti(&bytes),
            Err(FecError::FtiLength {
                hel: 3,
                expected: 4,
                ..
            })
        ));
    }

    /// Catalogue item 30: ESI >= k for No-Code.
    #[test]
    fn bad_input_30_esi_beyond_block() {
        let oti = CompactNoCode::oti(100, 10, 4);
        let b = CompactNoCode.blocking(&oti).unwrap();
        let blk = b.block(0).unwrap();
        let mut d = CompactNoCode.decoder(&oti, &blk).unwrap();
        assert_eq!(
            d.push(4, &[0; 10]),
            Err(FecError::EsiOutOfRange { esi: 4, limit: 4 })
        );
    }

    #[test]
    fn round_trip_object() {
        let data: Vec<u8> = (0..1077u32).map(|i| i as u8).collect();
        let oti = CompactNoCode::oti(data.len() as u64, 64, 8);
        let b = CompactNoCode.blocking(&oti).unwrap();
        let mut out = Vec::new();
        for blk in b.iter() {
            let src =
                Bytes::copy_from_slice(&data[blk.offset as usize..(blk.offset + blk.len) as usize]);
            let mut enc = CompactNoCode.encoder(&oti, &blk, src).unwrap();
            let mut dec = CompactNoCode.decoder(&oti, &blk).unwrap();
            for esi in (0..enc.esi_limit()).rev() {
                let mut sym = [0u8; 64];
                let n = enc.write_symbol(esi, &mut sym).unwrap();
                assert_eq!(dec.push(esi, &sym[..n]).unwrap(), PushOutcome::Accepted);
                assert_eq!(dec.push(esi, &sym[..n]).unwrap(), PushOutcome::Duplicate);
            }
            assert!(dec.is_decodable());
            out.extend_from_slice(&dec.decode().unwrap());
        }
        assert_eq!(out, data);
    }
}
