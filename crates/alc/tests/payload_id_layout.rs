//! The parser decodes the FEC Payload ID inline through the scheme's declared
//! `SbnEsiLayout` (no call through the scheme object), with the same result as the
//! scheme's own `read_payload_id`; a layout whose length disagrees with
//! `payload_id_len` is not used.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use alc::AlcParser;
use bytes::Bytes;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::{
    BlockDecoder, BlockEncoder, BlockSpec, Blocking, FecError, FecRegistry, FecScheme, Oti,
    PayloadId, SbnEsiLayout, SchemeKey, SchemeSpecific,
};

/// Compact No-Code, except for the declared Payload ID layout.
#[derive(Debug)]
struct WithLayout(Option<SbnEsiLayout>);

impl FecScheme for WithLayout {
    fn key(&self) -> SchemeKey {
        CompactNoCode.key()
    }
    fn name(&self) -> &'static str {
        "No-Code with a test layout"
    }
    fn payload_id_len(&self) -> usize {
        CompactNoCode.payload_id_len()
    }
    fn read_payload_id(&self, buf: &[u8], oti: Option<&Oti>) -> Result<PayloadId, FecError> {
        CompactNoCode.read_payload_id(buf, oti)
    }
    fn payload_id_layout(&self) -> Option<SbnEsiLayout> {
        self.0
    }
    fn write_payload_id(&self, id: &PayloadId, oti: &Oti, out: &mut [u8]) -> Result<(), FecError> {
        CompactNoCode.write_payload_id(id, oti, out)
    }
    fn fti_len(&self, oti: &Oti) -> usize {
        CompactNoCode.fti_len(oti)
    }
    fn read_fti(&self, ext: &[u8]) -> Result<Oti, FecError> {
        CompactNoCode.read_fti(ext)
    }
    fn write_fti(&self, oti: &Oti, out: &mut [u8]) -> Result<usize, FecError> {
        CompactNoCode.write_fti(oti, out)
    }
    fn read_scheme_specific_info(&self, info: &[u8]) -> Result<SchemeSpecific, FecError> {
        CompactNoCode.read_scheme_specific_info(info)
    }
    fn write_scheme_specific_info(&self, oti: &Oti) -> Vec<u8> {
        CompactNoCode.write_scheme_specific_info(oti)
    }
    fn validate_oti(&self, oti: &Oti) -> Result<(), FecError> {
        CompactNoCode.validate_oti(oti)
    }
    fn blocking(&self, oti: &Oti) -> Result<Blocking, FecError> {
        CompactNoCode.blocking(oti)
    }
    fn esi_limit(&self, oti: &Oti, block: &BlockSpec) -> u32 {
        CompactNoCode.esi_limit(oti, block)
    }
    fn encoder(
        &self,
        oti: &Oti,
        block: &BlockSpec,
        data: Bytes,
    ) -> Result<Box<dyn BlockEncoder>, FecError> {
        CompactNoCode.encoder(oti, block, data)
    }
    fn decoder(&self, oti: &Oti, block: &BlockSpec) -> Result<Box<dyn BlockDecoder>, FecError> {
        CompactNoCode.decoder(oti, block)
    }
}

/// A No-Code data packet: 16-byte LCT header (V=1, S=1, O=1, HDR_LEN=4, codepoint 0),
/// Payload ID 0x0102_0304 (SBN 0x0102, ESI 0x0304), 8 symbol bytes (RFC 5651 §5.1,
/// RFC 5445 §3.1).
fn packet() -> Vec<u8> {
    let mut p = vec![0x10, 0xA0, 0x04, 0x00];
    p.extend_from_slice(&[0; 4]); // CCI
    p.extend_from_slice(&[0, 0, 0, 7]); // TSI
    p.extend_from_slice(&[0, 0, 0, 9]); // TOI
    p.extend_from_slice(&[0x01, 0x02, 0x03, 0x04]);
    p.extend_from_slice(&[0xA5; 8]);
    p
}

fn parsed_id(layout: Option<SbnEsiLayout>) -> Option<PayloadId> {
    let mut registry = FecRegistry::new();
    registry.register(Arc::new(WithLayout(layout))).unwrap();
    let parser = AlcParser::new(&registry);
    let datagram = packet();
    let p = parser.parse(&datagram).unwrap();
    assert_eq!(p.symbols(), &[0xA5; 8]);
    p.payload_id()
}

#[test]
fn declared_layout_gives_the_schemes_payload_id() {
    let expected = PayloadId {
        sbn: 0x0102,
        esi: 0x0304,
        source_block_length: None,
    };
    assert_eq!(parsed_id(None), Some(expected));
    assert_eq!(parsed_id(SbnEsiLayout::new(16, 16)), Some(expected));
}

#[test]
fn layout_of_the_wrong_length_is_not_used() {
    // 8 bytes declared against a 4-byte Payload ID: the parser uses the scheme's reader.
    let expected = PayloadId {
        sbn: 0x0102,
        esi: 0x0304,
        source_block_length: None,
    };
    assert_eq!(parsed_id(SbnEsiLayout::new(32, 32)), Some(expected));
}

#[test]
fn builtin_layouts_parse_like_the_schemes() {
    // Every built-in scheme that declares a layout: the parser's inline read equals the
    // scheme's reader on the same bytes.
    let registry = FecRegistry::with_builtin();
    let parser = AlcParser::new(&registry);
    for cp in [0u8, 1, 5, 6] {
        let mut datagram = packet();
        datagram[3] = cp;
        let scheme = registry
            .by_encoding_id(fec_schemes::FecEncodingId(cp))
            .unwrap();
        assert!(
            scheme.payload_id_layout().is_some(),
            "ID {cp} declares a layout"
        );
        let p = parser.parse(&datagram).unwrap();
        assert_eq!(
            p.payload_id(),
            scheme.read_payload_id(&datagram[16..20], None).ok(),
            "ID {cp}"
        );
    }
}
