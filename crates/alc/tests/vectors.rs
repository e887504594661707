//! Hand-derived ALC packets (RFC 5775 §4: LCT header, FEC Payload ID, encoding symbols;
//! RFC 5775 §5.2 / RFC 5445 §3.2: EXT_FTI of Compact No-Code).

use alc::{AlcParser, AlcRepr};
use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
use hex_literal::hex;
use lct_header::{ContentEncoding, ExtCenc, ExtFdt, Toi, Tsi};

/// LCT (RFC 5651 §5.1): V=1 C=0 PSI=0 | S=1 O=1 H=0 A=0 B=0 | HDR_LEN=4 | CP=0 (FEC
/// Encoding ID 0), CCI=0, TSI=0x0102, TOI=0x0304; FEC Payload ID (RFC 5445 §3.1):
/// SBN=5, ESI=6; symbol "ABCD".
const DATA: [u8; 24] = hex!("10 A0 04 00 00000000 00000102 00000304 0005 0006 41424344");

/// Same, TOI 0 with EXT_FTI (HET 64, HEL 4, L=10, reserved, E=4, B=8; RFC 5445 §3.2) and
/// EXT_FDT (HET 192, V=2, FDT Instance ID 1; RFC 6726 §3.4.1) and EXT_CENC (HET 193,
/// CENC=0; RFC 6726 §3.4.3): HDR_LEN = 4 + 4 + 1 + 1 = 10.
const FDT: [u8; 48] = hex!(
    "10 A0 0A 00 00000000 00000102 00000000"
    "40 04 00000000000A 0000 0004 00000008"
    "C0 2 00001"
    "C1 00 0000"
    "0000 0000 41424344"
);

#[test]
fn parse_data_packet() {
    let registry = FecRegistry::with_builtin();
    let parser = AlcParser::new(&registry);
    let p = parser.parse(&DATA).unwrap();
    assert_eq!(p.tsi(), Some(Tsi(0x0102)));
    assert_eq!(p.toi(), Some(Toi(0x0304)));
    assert_eq!(p.encoding_id(), FecEncodingId::COMPACT_NO_CODE);
    assert_eq!(p.payload_id_bytes(), &hex!("0005 0006"));
    assert_eq!(
        p.payload_id(),
        Some(PayloadId {
            sbn: 5,
            esi: 6,
            source_block_length: None
        })
    );
    assert_eq!(p.symbols(), b"ABCD");
    assert!(p.oti().is_none() && p.fdt().is_none());
}

#[test]
fn emit_data_packet() {
    let registry = FecRegistry::with_builtin();
    let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None).unwrap();
    let oti = CompactNoCode::oti(1 << 20, 4, 64);
    let repr = AlcRepr::new(
        Tsi(0x0102),
        Toi(0x0304),
        &oti,
        PayloadId {
            sbn: 5,
            esi: 6,
            source_block_length: None,
        },
    )
    .unwrap();
    let mut buf = [0u8; 64];
    let n = repr.emit(&**scheme, b"ABCD", &mut buf).unwrap();
    // minimal widths: TSI 0x0102 and TOI 0x0304 fit 16 bits each, so S=0 O=0 H=1.
    assert_eq!(
        &buf[..n],
        &hex!("10 10 03 00 00000000 0102 0304 0005 0006 41424344")
    );
    // with the widths of DATA forced, the bytes are exactly DATA.
    let mut forced = repr;
    forced.lct.widths = lct_header::Widths {
        c: 0,
        s: true,
        o: 1,
        h: false,
    };
    let n = forced.emit(&**scheme, b"ABCD", &mut buf).unwrap();
    assert_eq!(&buf[..n], &DATA);
}

#[test]
fn parse_fdt_packet() {
    let registry = FecRegistry::with_builtin();
    let parser = AlcParser::new(&registry).flute(true);
    let p = parser.parse(&FDT).unwrap();
    assert_eq!(p.toi(), Some(Toi(0)));
    assert_eq!(p.oti(), Some(&CompactNoCode::oti(10, 4, 8)));
    assert_eq!(
        p.fdt(),
        Some(ExtFdt {
            version: 2,
            instance_id: 1
        })
    );
    assert_eq!(
        p.cenc(),
        Some(ExtCenc {
            encoding: ContentEncoding::Null
        })
    );
    assert_eq!(p.payload_id().map(|i| (i.sbn, i.esi)), Some((0, 0)));
    assert_eq!(p.symbols(), b"ABCD");
    assert_eq!(p.validate(p.oti().unwrap()).unwrap().esi, 0);
}

#[test]
fn emit_fdt_packet() {
    let registry = FecRegistry::with_builtin();
    let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None).unwrap();
    let oti = CompactNoCode::oti(10, 4, 8);
    let mut repr = AlcRepr::new(Tsi(0x0102), Toi(0), &oti, PayloadId::default()).unwrap();
    repr.lct.widths = lct_header::Widths {
        c: 0,
        s: true,
        o: 1,
        h: false,
    };
    repr.send_fti = true;
    repr.fdt = Some(ExtFdt {
        version: 2,
        instance_id: 1,
    });
    repr.cenc = Some(ExtCenc {
        encoding: ContentEncoding::Null,
    });
    let mut buf = [0u8; 64];
    assert_eq!(repr.header_len(&**scheme), 44);
    // emit_header, then the symbol written in place by the caller (zero copy).
    let hdr = repr.emit_header(&**scheme, &mut buf).unwrap();
    assert_eq!(hdr, 44);
    buf[hdr..hdr + 4].copy_from_slice(b"ABCD");
    assert_eq!(&buf[..hdr + 4], &FDT);
}
