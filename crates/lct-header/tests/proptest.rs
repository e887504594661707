//! Property tests: `parse(emit(x)) == x` for [`LctRepr`] and every typed extension, and no
//! panic on arbitrary bytes.

// Strategies build only valid values; unwrap outside #[test] bodies is fine here.
#![allow(clippy::unwrap_used)]

use lct_header::*;
use proptest::prelude::*;

fn widths() -> impl Strategy<Value = Widths> {
    (0u8..4, 0u8..4, 0u8..8)
        .prop_filter("H shared", |(_, t, o)| t % 2 == o % 2)
        .prop_map(|(c, t, o)| Widths::from_half_words(c, t, o).unwrap())
}

fn masked(v: u128, bytes: usize) -> u128 {
    if bytes >= 16 {
        v
    } else {
        v & ((1u128 << (8 * bytes)) - 1)
    }
}

fn repr() -> impl Strategy<Value = LctRepr> {
    (
        widths(),
        0u8..4,
        any::<bool>(),
        any::<bool>(),
        any::<u8>(),
        any::<u128>(),
        any::<u128>(),
        any::<u128>(),
    )
        .prop_map(|(w, psi, a, b, cp, cci, tsi, toi)| LctRepr {
            widths: w,
            psi,
            close_session: a,
            close_object: b,
            codepoint: cp,
            cci: Cci(masked(cci, w.cci_len())),
            tsi: (w.tsi_len() > 0).then(|| Tsi(masked(tsi, w.tsi_len()) as u64)),
            toi: (w.toi_len() > 0).then(|| Toi(masked(toi, w.toi_len()))),
        })
}

fn ext_time() -> impl Strategy<Value = ExtTime> {
    (
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(any::<u32>()),
        0u8..16,
        any::<u8>(),
    )
        .prop_map(
            |(sct_high, sct_low, ert, slc, reserved, pi_specific)| ExtTime {
                sct_high,
                sct_low,
                ert,
                slc,
                reserved,
                pi_specific,
            },
        )
}

fn content_encoding() -> impl Strategy<Value = ContentEncoding> {
    (0u8..4).prop_map(|v| ContentEncoding::from_u8(v).unwrap())
}

proptest! {
    #[test]
    fn lct_repr_round_trip(r in repr()) {
        let mut buf = [0u8; 64];
        let n = r.emit_into(&mut buf).unwrap();
        prop_assert_eq!(n, r.buffer_len());
        let p = LctPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(LctRepr::parse(&p).unwrap(), r);
    }

    #[test]
    fn lct_minimal_widths_round_trip(tsi in proptest::option::of(0u64..1 << 32), toi in proptest::option::of(any::<u64>()), cp in any::<u8>()) {
        let r = LctRepr::new(tsi.map(Tsi), toi.map(|t| Toi(t.into())), cp).unwrap();
        let mut buf = [0u8; 64];
        let n = r.emit_into(&mut buf).unwrap();
        prop_assert_eq!(LctRepr::parse(&LctPacket::new_unchecked(&buf[..n])).unwrap(), r);
    }

    #[test]
    fn emit_parse_bytes(r in repr()) {
        // emit(parse(b)) == b for canonical bytes (reserved bits 0).
        let mut a = [0u8; 64];
        let n = r.emit_into(&mut a).unwrap();
        let back = LctRepr::parse(&LctPacket::new_unchecked(&a[..n])).unwrap();
        let mut b = [0u8; 64];
        back.emit_into(&mut b).unwrap();
        prop_assert_eq!(&a[..n], &b[..n]);
    }

    #[test]
    fn extensions_round_trip(
        r in repr(),
        t in ext_time(),
        id in 0u32..1 << 20,
        v in 1u8..3,
        enc in content_encoding(),
        nop in proptest::collection::vec(any::<u8>(), 0..3usize).prop_map(|w| vec![0u8; w.len() * 4 + 2]),
        auth in proptest::collection::vec(any::<u8>(), 0..3usize).prop_map(|w| w.iter().flat_map(|&x| [x; 4]).chain([1, 2]).collect::<Vec<u8>>()),
        fti in proptest::collection::vec(any::<u8>(), 14).prop_map(|mut b| { b.splice(0..0, [EXT_FTI, 4]); b }),
    ) {
        let exts = [
            HeaderExtension::Nop(&nop),
            HeaderExtension::Auth(&auth),
            HeaderExtension::Time(t),
            HeaderExtension::Fti(&fti),
            HeaderExtension::Fdt(ExtFdt { version: v, instance_id: id }),
            HeaderExtension::Cenc(ExtCenc { encoding: enc }),
        ];
        let mut buf = [0u8; 256];
        let mut w = LctWriter::new(&r, &mut buf).unwrap();
        for e in &exts {
            w.push(e).unwrap();
        }
        let n = w.finish();
        let p = LctPacket::new_checked(&buf[..n]).unwrap();
        prop_assert_eq!(LctRepr::parse(&p).unwrap(), r);
        let back: Vec<HeaderExtension<'_>> = p.extensions().map(|e| e.unwrap().decode().unwrap()).collect();
        prop_assert_eq!(&back[..], &exts[..]);
    }

    #[test]
    fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..96)) {
        let p = LctPacket::new_unchecked(&data[..]);
        let _ = LctRepr::parse(&p);
        let _ = (p.cci(), p.tsi(), p.toi(), p.payload(), p.extension_bytes());
        for raw in p.extensions().take(400).flatten() {
            let _ = raw.decode();
        }
        let _ = FluteHeaderCheck::new().check(&p);
        for raw in Extensions::new(&data).take(400).flatten() {
            let _ = raw.decode();
        }
    }

    #[test]
    fn parse_never_panics_valid_prefix(r in repr(), tail in proptest::collection::vec(any::<u8>(), 0..64), hdr_len in any::<u8>()) {
        // A plausible fixed part with a random HDR_LEN and random extension bytes.
        let mut buf = [0u8; 64];
        let n = r.emit_into(&mut buf).unwrap();
        let mut data = buf[..n].to_vec();
        data.extend_from_slice(&tail);
        data[2] = hdr_len;
        let p = LctPacket::new_unchecked(&data[..]);
        if LctRepr::parse(&p).is_ok() {
            for raw in p.extensions().flatten() {
            let _ = raw.decode();
        }
            let _ = FluteHeaderCheck::new().check(&p);
        }
    }
}
