//! An `AlcParser` that owns an `Arc<FecRegistry>` parses exactly like one that borrows it, and `AlcRepr::emit_header_with` with
//! an `EncodedFti` writes exactly what `AlcRepr::emit_header` writes (errors included).

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use alc::{AlcParser, AlcRepr, EncodedFti};
use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
use lct_header::{ExtFdt, Toi, Tsi};

fn packets(registry: &FecRegistry) -> Vec<Vec<u8>> {
    let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None).unwrap();
    let oti = CompactNoCode::oti(100_000, 1400, 64);
    let id = PayloadId {
        sbn: 3,
        esi: 17,
        source_block_length: None,
    };
    let mut out = Vec::new();
    for (toi, fti, fdt) in [(5, false, false), (5, true, false), (0, true, true)] {
        let mut repr = AlcRepr::new(Tsi(0x1234_5678), Toi(toi), &oti, id).unwrap();
        repr.send_fti = fti;
        if fdt {
            repr.fdt = Some(ExtFdt {
                version: 2,
                instance_id: 9,
            });
        }
        let mut buf = vec![0u8; 1500];
        let n = repr.emit(&**scheme, &[0xA5; 1400], &mut buf).unwrap();
        buf.truncate(n);
        out.push(buf);
    }
    out
}

#[test]
fn shared_parser_parses_like_borrowing_parser() {
    let registry = FecRegistry::with_builtin();
    let shared = AlcParser::new(Arc::new(FecRegistry::with_builtin()));
    let borrowing = AlcParser::new(&registry);
    let oti = CompactNoCode::oti(100_000, 1400, 64);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for p in packets(&registry) {
        for i in 0..3000 {
            let mut m = p.clone();
            if i > 0 {
                for _ in 0..1 + i % 3 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let at = (x as usize >> 8) % 40.min(m.len());
                    m[at] ^= x as u8;
                }
                if i % 7 == 0 {
                    m.truncate((x as usize >> 20) % m.len());
                }
            }
            let a = format!("{:?}", borrowing.parse(&m));
            assert_eq!(a, format!("{:?}", shared.parse(&m)));
            let a = format!("{:?}", borrowing.clone().flute(true).parse(&m));
            assert_eq!(a, format!("{:?}", shared.clone().flute(true).parse(&m)));
            let a = format!("{:?}", borrowing.parse_with_oti(&m, Some(&oti)));
            assert_eq!(a, format!("{:?}", shared.parse_with_oti(&m, Some(&oti))));
        }
    }
}

#[test]
fn cached_fti_emits_the_same_bytes_and_errors() {
    let registry = FecRegistry::with_builtin();
    let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None).unwrap();
    let oti = CompactNoCode::oti(100_000, 1400, 64);
    let other = CompactNoCode::oti(5, 1400, 64);
    let fti = EncodedFti::new(&**scheme, &oti).unwrap();
    assert_eq!(fti.oti(), &oti);
    assert_eq!(fti.bytes().len(), 16);
    let id = PayloadId {
        sbn: 1,
        esi: 2,
        source_block_length: None,
    };
    for repr_oti in [&oti, &other] {
        for send_fti in [false, true] {
            let mut repr = AlcRepr::new(Tsi(1), Toi(2), repr_oti, id).unwrap();
            repr.send_fti = send_fti;
            for len in 0..48 {
                let mut a = vec![0u8; len];
                let mut b = vec![0u8; len];
                assert_eq!(
                    repr.emit_header(&**scheme, &mut a),
                    repr.emit_header_with(&**scheme, Some(&fti), &mut b),
                    "len {len}"
                );
                assert_eq!(a, b);
            }
        }
    }
    // Another scheme's OTI is refused, as by `emit_header`.
    let rs = registry.get(FecEncodingId::RS_GF28, None);
    if let Ok(rs) = rs {
        assert!(EncodedFti::new(&**rs, &oti).is_err());
    }
}
