//! Property tests: `parse(emit(x)) == x` for ALC packets, and no panic on arbitrary bytes.

use alc::{AlcParser, AlcRepr};
use fec_schemes::{
    FecRegistry, PayloadId,
    schemes::{no_code::CompactNoCode, raptorq::RaptorQ},
};
use lct_header::{ContentEncoding, ExtCenc, ExtFdt, ExtTime, Toi, Tsi};
use proptest::prelude::*;

proptest! {
    #[test]
    fn no_code_round_trip(
        tsi in 0u64..1 << 48,
        toi in any::<u64>(),
        sbn in 0u32..4,
        esi in 0u32..8,
        send_fti in any::<bool>(),
        fdt_id in proptest::option::of(0u32..1 << 20),
        cenc in proptest::option::of(0u8..4),
        ert in proptest::option::of(any::<u32>()),
        symbol in proptest::collection::vec(any::<u8>(), 1..=64),
    ) {
        let registry = FecRegistry::with_builtin();
        let scheme = registry.get(fec_schemes::FecEncodingId::COMPACT_NO_CODE, None).unwrap();
        let oti = CompactNoCode::oti(2048, 64, 8);
        let id = PayloadId { sbn, esi, source_block_length: None };
        let mut repr = AlcRepr::new(Tsi(tsi), Toi(toi.into()), &oti, id).unwrap();
        repr.send_fti = send_fti;
        repr.fdt = fdt_id.map(|i| ExtFdt { version: 2, instance_id: i });
        repr.cenc = cenc.and_then(ContentEncoding::from_u8).map(|encoding| ExtCenc { encoding });
        repr.time = ert.map(|e| ExtTime { ert: Some(e), ..ExtTime::default() });
        let mut buf = [0u8; 256];
        let n = repr.emit(&**scheme, &symbol, &mut buf).unwrap();
        prop_assert_eq!(n, repr.header_len(&**scheme) + symbol.len());
        let parser = AlcParser::new(&registry);
        let p = parser.parse(&buf[..n]).unwrap();
        prop_assert_eq!(p.lct(), &repr.lct);
        prop_assert_eq!(p.payload_id(), Some(id));
        prop_assert_eq!(p.oti(), if send_fti { Some(&oti) } else { None });
        prop_assert_eq!(p.fdt(), repr.fdt);
        prop_assert_eq!(p.cenc(), repr.cenc);
        prop_assert_eq!(p.time(), repr.time);
        prop_assert_eq!(p.symbols(), &symbol[..]);
    }

    #[test]
    fn raptorq_round_trip(toi in 1u64..1 << 32, sbn in 0u32..2, esi in 0u32..1 << 24, send_fti in any::<bool>()) {
        let registry = FecRegistry::with_builtin();
        let oti = RaptorQ::oti(4096, 64, 2, 1, 4);
        let scheme = registry.for_oti(&oti).unwrap();
        let id = PayloadId { sbn, esi, source_block_length: None };
        let mut repr = AlcRepr::new(Tsi(1), Toi(toi.into()), &oti, id).unwrap();
        repr.send_fti = send_fti;
        let mut buf = [0u8; 256];
        let n = repr.emit(&**scheme, &[7u8; 64], &mut buf).unwrap();
        let parser = AlcParser::new(&registry);
        let p = parser.parse(&buf[..n]).unwrap();
        prop_assert_eq!(p.payload_id(), Some(id));
        prop_assert_eq!(p.oti(), if send_fti { Some(&oti) } else { None });
        prop_assert_eq!(p.symbols().len(), 64);
    }

    #[test]
    fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128)) {
        let registry = FecRegistry::with_builtin();
        let parser = AlcParser::new(&registry).flute(true);
        if let Ok(p) = parser.parse(&data) {
            if let Some(oti) = p.oti() {
                let _ = p.validate(oti);
            }
        }
        let _ = AlcParser::new(&registry).parse(&data);
    }

    #[test]
    fn parse_never_panics_on_mutated_packets(
        cp in prop::sample::select(vec![0u8, 1, 2, 5, 6, 128, 129, 130]),
        exts in proptest::collection::vec(any::<u8>(), 0..8).prop_map(|v| v.len()),
        flip in proptest::collection::vec((0usize..64, any::<u8>()), 0..6),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        // A plausible header with an EXT_FTI-shaped extension, then random mutations.
        let mut d = vec![0x10, 0xA0, 0, cp, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        for _ in 0..exts.min(1) {
            d.extend_from_slice(&[64, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0, 16, 0, 0, 0, 8]);
        }
        d[2] = (d.len() / 4) as u8;
        d.extend_from_slice(&tail);
        for (at, v) in flip {
            if let Some(b) = d.get_mut(at) {
                *b ^= v;
            }
        }
        let registry = FecRegistry::with_builtin();
        if let Ok(p) = AlcParser::new(&registry).parse(&d) {
            if let Some(oti) = p.oti() {
                let _ = p.validate(oti);
            }
        }
    }
}
