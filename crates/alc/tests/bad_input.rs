//! The ALC / FEC items (25–43) of the bad-input catalogue, `docs/spec-notes.md` §4, as
//! far as a single packet shows them. Items that need object or session state are tested
//! for what the packet layer reports; the rest is listed as receiver-level in
//! `docs/conformance/alc.md`. Packets are built by hand after RFC 5775 §4 (LCT header,
//! FEC Payload ID, symbols) and the EXT_FTI layouts of RFC 5445 / 5510 / 6330.

use alc::{AlcError, AlcParser, CodepointMap};
use fec_schemes::{
    FecEncodingId, FecError, FecRegistry, PayloadId,
    schemes::{no_code::CompactNoCode, raptorq::RaptorQ, rs::RsGf2m, rs::RsSmallBlock},
};
use hex_literal::hex;

/// LCT header (RFC 5651 §5.1: V=1, S=1, O=1, TSI=1, TOI=`toi`, CP=`cp`) + `exts` +
/// FEC Payload ID `pid` + `sym`.
fn pkt(cp: u8, toi: u32, exts: &[u8], pid: &[u8], sym: &[u8]) -> Vec<u8> {
    let mut v = hex!("10 A0 00 00 00000000 00000001").to_vec();
    v[3] = cp;
    v.extend_from_slice(&toi.to_be_bytes());
    v.extend_from_slice(exts);
    v[2] = (v.len() / 4) as u8;
    v.extend_from_slice(pid);
    v.extend_from_slice(sym);
    v
}

/// EXT_FTI for FEC Encoding ID 0 (RFC 5445 §3.2): L (48), reserved (16), E (16), B (32).
fn fti0(l: u64, e: u16, b: u32) -> Vec<u8> {
    let mut v = vec![64, 4];
    v.extend_from_slice(&l.to_be_bytes()[2..]);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&e.to_be_bytes());
    v.extend_from_slice(&b.to_be_bytes());
    v
}

fn registry() -> FecRegistry {
    FecRegistry::with_builtin()
}

#[test]
fn bad_input_25_unknown_codepoint_or_conflict() {
    let r = registry();
    // Identity mapping, but no scheme for FEC Encoding ID 77.
    let p = pkt(77, 1, &[], &hex!("00000000"), b"x");
    assert_eq!(
        AlcParser::new(&r).parse(&p).unwrap_err(),
        AlcError::UnknownScheme {
            encoding_id: FecEncodingId(77),
            instance_id: None
        }
    );
    // A codepoint the session did not map.
    let mut map = CodepointMap::empty();
    map.set(9, Some(FecEncodingId(0)));
    let parser = AlcParser::with_codepoints(&r, map);
    assert_eq!(
        parser
            .parse(&pkt(0, 1, &[], &hex!("00000000"), b"x"))
            .unwrap_err(),
        AlcError::UnknownCodepoint { codepoint: 0 }
    );
    // Mapped codepoint 9 -> ID 0 works.
    assert!(
        parser
            .parse(&pkt(9, 1, &[], &hex!("00000000"), b"x"))
            .is_ok()
    );
    // Codepoint conflicts with the FDT's FEC-OTI-FEC-Encoding-ID for this TOI.
    let fdt_oti = RaptorQ::oti(100, 16, 1, 1, 4);
    assert_eq!(
        AlcParser::new(&r)
            .parse_with_oti(&pkt(0, 1, &[], &hex!("00000000"), b"x"), Some(&fdt_oti))
            .unwrap_err(),
        AlcError::SchemeMismatch {
            expected: FecEncodingId::COMPACT_NO_CODE,
            found: FecEncodingId::RAPTORQ
        }
    );
}

#[test]
fn bad_input_26_truncated_payload_id() {
    let r = registry();
    for n in 0..4 {
        let p = pkt(0, 1, &[], &hex!("00010002")[..n], b"");
        assert_eq!(
            AlcParser::new(&r).parse(&p).unwrap_err(),
            AlcError::TruncatedPayloadId {
                needed: 4,
                available: n
            }
        );
    }
    // ID 129 has an 8-byte FEC Payload ID.
    let p = pkt(129, 1, &[], &hex!("00000000 0000"), b"");
    assert_eq!(
        AlcParser::new(&r).parse(&p).unwrap_err(),
        AlcError::TruncatedPayloadId {
            needed: 8,
            available: 6
        }
    );
}

#[test]
fn bad_input_27_zero_length_symbol() {
    let r = registry();
    let p = pkt(0, 1, &[], &hex!("00010002"), b"");
    assert_eq!(
        AlcParser::new(&r).parse(&p).unwrap_err(),
        AlcError::EmptySymbol
    );
}

#[test]
fn bad_input_28_symbol_longer_or_shorter_than_e() {
    let r = registry();
    let parser = AlcParser::new(&r);
    // E = 4 in EXT_FTI, 5 bytes of symbol.
    let p = pkt(0, 1, &fti0(100, 4, 8), &hex!("00000000"), b"12345");
    assert_eq!(
        parser.parse(&p).unwrap_err(),
        AlcError::SymbolTooLong { len: 5, max: 4 }
    );
    // Same with the OTI known from the FDT instead.
    let oti = CompactNoCode::oti(100, 4, 8);
    let p = pkt(0, 1, &[], &hex!("00000000"), b"12345");
    assert_eq!(
        parser.parse_with_oti(&p, Some(&oti)).unwrap_err(),
        AlcError::SymbolTooLong { len: 5, max: 4 }
    );
    // Without any OTI the parser cannot tell; validate() can.
    let pkt_ok = parser.parse(&p).unwrap();
    assert_eq!(
        pkt_ok.validate(&oti).unwrap_err(),
        AlcError::SymbolTooLong { len: 5, max: 4 }
    );
    // Short symbol (3 bytes) that is not the object's last: SBN 0 ESI 0 of L=100, E=4.
    let p = pkt(0, 1, &[], &hex!("00000000"), b"123");
    assert_eq!(
        parser.parse(&p).unwrap().validate(&oti).unwrap_err(),
        AlcError::Fec(FecError::SymbolLength {
            esi: 0,
            len: 3,
            expected: 4
        })
    );
    // The last symbol of L=10, E=4 (SBN 0, ESI 2) is legitimately 2 bytes.
    let oti = CompactNoCode::oti(10, 4, 8);
    let p = pkt(0, 1, &[], &hex!("00000002"), b"12");
    assert_eq!(parser.parse(&p).unwrap().validate(&oti).unwrap().esi, 2);
}

#[test]
fn bad_input_29_sbn_beyond_blocks() {
    let r = registry();
    // L=100, E=4, B=8: T=25, N=4 blocks; SBN 4 is out of range.
    let oti = CompactNoCode::oti(100, 4, 8);
    let p = pkt(0, 1, &[], &hex!("0004 0000"), b"1234");
    let err = AlcParser::new(&r)
        .parse(&p)
        .unwrap()
        .validate(&oti)
        .unwrap_err();
    assert!(
        matches!(
            err,
            AlcError::Fec(FecError::SbnOutOfRange { sbn: 4, blocks: 4 })
        ),
        "{err:?}"
    );
}

#[test]
fn bad_input_30_esi_out_of_range() {
    let r = registry();
    let parser = AlcParser::new(&r);
    // No-Code: blocks of L=100, E=4, B=8 are [7, 6, 6, 6]; ESI 7 of block 0 is beyond k.
    let oti = CompactNoCode::oti(100, 4, 8);
    let p = pkt(0, 1, &[], &hex!("0000 0007"), b"1234");
    assert_eq!(
        parser.parse(&p).unwrap().validate(&oti).unwrap_err(),
        AlcError::Fec(FecError::EsiOutOfRange { esi: 7, limit: 7 })
    );
    // RS over GF(2^8) via ID 129 (FEC Payload ID SBN 32 | SBL 16 | ESI 16). Receivers are
    // lenient beyond n = max_n (every ESI with a GF(2^8) evaluation point decodes, see
    // fec_schemes::schemes::rs), so ESI 12 >= max_n is accepted, but ESI 256 has no point.
    let oti = RsSmallBlock::oti(40, 4, 10, 12);
    let p = pkt(129, 1, &[], &hex!("00000000 000A 000C"), b"1234");
    let ok = parser
        .parse_with_oti(&p, Some(&oti))
        .unwrap()
        .validate(&oti);
    assert_eq!(ok.unwrap().esi, 12);
    let p = pkt(129, 1, &[], &hex!("00000000 000A 0100"), b"1234");
    let err = parser
        .parse_with_oti(&p, Some(&oti))
        .unwrap()
        .validate(&oti)
        .unwrap_err();
    assert!(
        matches!(
            err,
            AlcError::Fec(FecError::EsiOutOfRange {
                esi: 256,
                limit: 256
            })
        ),
        "{err:?}"
    );
    // RaptorQ (SBN 8 | ESI 24): an ESI >= 2^24 cannot be expressed; the largest parses.
    let oti = RaptorQ::oti(64, 16, 1, 1, 4);
    let p = pkt(6, 1, &[], &hex!("00 FFFFFF"), &[0; 16]);
    let id = parser
        .parse_with_oti(&p, Some(&oti))
        .unwrap()
        .payload_id()
        .unwrap();
    assert_eq!(id.esi, 0xFF_FFFF);
}

#[test]
fn bad_input_31_rs_gf2m_m_and_split() {
    let r = registry();
    let parser = AlcParser::new(&r);
    // EXT_FTI for ID 2 (RFC 5510 §5.2): L (48) | m | G | E (16) | B (16) | max_n (16).
    let fti = |m: u8| {
        let mut v = vec![64, 4, 0, 0, 0, 0, 0, 40, m, 1, 0, 4, 0, 10, 0, 12];
        v[8] = m;
        v
    };
    for m in [0u8, 1, 17, 255] {
        let p = pkt(2, 1, &fti(m), &hex!("00000000"), b"1234");
        let err = parser.parse(&p).unwrap_err();
        assert!(
            matches!(err, AlcError::Fec(FecError::InvalidOti { field: "m", .. })),
            "m={m}: {err:?}"
        );
    }
    // Without the OTI the FEC Payload ID of ID 2 cannot be split: kept raw, decoded later.
    let p = pkt(2, 1, &[], &hex!("00000103"), b"1234");
    let packet = parser.parse(&p).unwrap();
    assert_eq!(packet.payload_id(), None);
    assert_eq!(packet.payload_id_bytes(), &hex!("00000103"));
    // m = 8: SBN 24 bits, ESI 8 bits.
    let oti8 = RsGf2m::oti(40, 4, 10, 12, 8, 1);
    assert_eq!(
        packet.payload_id_with(&oti8).unwrap(),
        PayloadId {
            sbn: 1,
            esi: 3,
            source_block_length: None
        }
    );
    // m = 4: SBN 28 bits, ESI 4 bits.
    let oti4 = RsGf2m::oti(40, 4, 10, 12, 4, 1);
    assert_eq!(
        packet.payload_id_with(&oti4).unwrap(),
        PayloadId {
            sbn: 0x10,
            esi: 3,
            source_block_length: None
        }
    );
    // With EXT_FTI the payload ID is decoded at parse time.
    let p = pkt(2, 1, &fti(8), &hex!("00000103"), b"1234");
    assert_eq!(
        parser
            .parse(&p)
            .unwrap()
            .payload_id()
            .map(|i| (i.sbn, i.esi)),
        Some((1, 3))
    );
}

#[test]
fn bad_input_32_id129_sbl_disagrees() {
    let r = registry();
    // L=40, E=4, B=10: one block of 10 symbols; the packet claims SBL 9.
    let oti = RsSmallBlock::oti(40, 4, 10, 12);
    let p = pkt(129, 1, &[], &hex!("00000000 0009 0000"), b"1234");
    // With the OTI known at parse time, the scheme's FEC Payload ID reader refuses it.
    let err = AlcParser::new(&r)
        .parse_with_oti(&p, Some(&oti))
        .unwrap_err();
    assert!(
        matches!(
            err,
            AlcError::Fec(FecError::InvalidOti {
                field: "SBL",
                value: 9,
                ..
            })
        ),
        "{err:?}"
    );
    // Without it, the packet parses (SBL reported as sent) and validate() refuses it.
    let parser = AlcParser::new(&r);
    let packet = parser.parse(&p).unwrap();
    assert_eq!(packet.payload_id().unwrap().source_block_length, Some(9));
    let err = packet.validate(&oti).unwrap_err();
    assert!(
        matches!(
            err,
            AlcError::Fec(FecError::InvalidOti {
                field: "SBL",
                value: 9,
                ..
            }) | AlcError::SourceBlockLength {
                sbn: 0,
                in_packet: 9,
                expected: 10
            }
        ),
        "{err:?}"
    );
    let p = pkt(129, 1, &[], &hex!("00000000 000A 0000"), b"1234");
    assert!(
        AlcParser::new(&r)
            .parse_with_oti(&p, Some(&oti))
            .unwrap()
            .validate(&oti)
            .is_ok()
    );
}

#[test]
fn bad_input_33_rs_parameters() {
    let r = registry();
    let parser = AlcParser::new(&r);
    // EXT_FTI for ID 5 (RFC 5510 §4.2, HEL 3): L (48) | E (16) | B (8) | max_n (8).
    let fti5 = |b: u8, max_n: u8| vec![64, 3, 0, 0, 0, 0, 0, 40, 0, 4, b, max_n];
    for (b, max_n) in [(0u8, 10u8), (10, 9)] {
        let p = pkt(5, 1, &fti5(b, max_n), &hex!("00000000"), b"1234");
        let err = parser.parse(&p).unwrap_err();
        assert!(
            matches!(err, AlcError::Fec(FecError::InvalidOti { .. })),
            "B={b} max_n={max_n}: {err:?}"
        );
    }
    // ID 2 with m = 4: n = max_n = 20 > 2^4 - 1.
    let fti2 = vec![64, 4, 0, 0, 0, 0, 0, 40, 4, 1, 0, 4, 0, 10, 0, 20];
    let err = parser
        .parse(&pkt(2, 1, &fti2, &hex!("00000000"), b"1234"))
        .unwrap_err();
    assert!(
        matches!(err, AlcError::Fec(FecError::InvalidOti { .. })),
        "{err:?}"
    );
}

#[test]
fn bad_input_34_raptorq_parameters() {
    let r = registry();
    let parser = AlcParser::new(&r);
    // EXT_FTI for ID 6 (RFC 6330 §3.3.2/3, RFC 6681 layout): F (40) | res | T (16) | Z (8)
    // | N (16) | Al (8) | padding (16).
    let fti6 = |f: u64, t: u16, z: u8, n: u16, al: u8| {
        let mut v = vec![64, 4];
        v.extend_from_slice(&f.to_be_bytes()[3..]);
        v.push(0);
        v.extend_from_slice(&t.to_be_bytes());
        v.push(z);
        v.extend_from_slice(&n.to_be_bytes());
        v.push(al);
        v.extend_from_slice(&[0, 0]);
        v
    };
    let cases = [
        ("Z = 0", fti6(1000, 16, 0, 1, 4)),
        ("N = 0", fti6(1000, 16, 1, 0, 4)),
        ("Al = 0", fti6(1000, 16, 1, 1, 0)),
        ("T not a multiple of Al", fti6(1000, 18, 1, 1, 4)),
        ("T/Al < N", fti6(1000, 16, 1, 8, 4)),
        ("K' > 56403", fti6(1_000_000, 4, 1, 1, 4)),
        ("F > 946270874880", fti6(946_270_874_881, 1024, 255, 1, 4)),
    ];
    for (what, fti) in cases {
        let p = pkt(6, 1, &fti, &hex!("00000000"), &[0; 4]);
        let err = parser.parse(&p).unwrap_err();
        assert!(
            matches!(
                err,
                AlcError::Fec(FecError::InvalidOti { .. } | FecError::FieldOverflow { .. })
            ),
            "{what}: {err:?}"
        );
    }
    // And a valid one parses.
    let p = pkt(6, 1, &fti6(1000, 16, 1, 1, 4), &hex!("00000000"), &[0; 16]);
    assert!(parser.parse(&p).is_ok());
}

#[test]
fn bad_input_35_raptor_k_over_8192() {
    let r = registry();
    // EXT_FTI for ID 1 (RFC 5053 §3.2.3): F (48) | res (16) | T (16) | Z (16) | N (8) | Al (8).
    // F = 8193 * 4, T = 4, Z = 1: K = 8193 > 8192.
    let f: u64 = 8193 * 4;
    let mut fti = vec![64, 4];
    fti.extend_from_slice(&f.to_be_bytes()[2..]);
    fti.extend_from_slice(&[0, 0, 0, 4, 0, 1, 1, 4]);
    let err = AlcParser::new(&r)
        .parse(&pkt(1, 1, &fti, &hex!("00000000"), &[0; 4]))
        .unwrap_err();
    assert!(
        matches!(err, AlcError::Fec(FecError::InvalidOti { .. })),
        "{err:?}"
    );
}

#[test]
fn bad_input_36_empty_object() {
    let r = registry();
    // L = 0 is legal in EXT_FTI: T = 0, N = 0, no division by zero.
    let p = pkt(0, 1, &fti0(0, 4, 8), &hex!("00000000"), b"1234");
    let parser = AlcParser::new(&r);
    let packet = parser.parse(&p).unwrap();
    let oti = packet.oti().unwrap().clone();
    assert_eq!(oti.transfer_length, 0);
    // No block exists, so no symbol of it is valid.
    let err = packet.validate(&oti).unwrap_err();
    assert!(
        matches!(
            err,
            AlcError::Fec(FecError::SbnOutOfRange { sbn: 0, blocks: 0 })
        ),
        "{err:?}"
    );
}

#[test]
fn bad_input_37_e_or_b_zero() {
    let r = registry();
    let parser = AlcParser::new(&r);
    let p = pkt(0, 1, &fti0(100, 0, 8), &hex!("00000000"), b"1");
    assert!(matches!(
        parser.parse(&p).unwrap_err(),
        AlcError::Fec(FecError::InvalidOti {
            field: "E",
            value: 0,
            ..
        })
    ));
    let p = pkt(0, 1, &fti0(100, 4, 0), &hex!("00000000"), b"1");
    assert!(matches!(
        parser.parse(&p).unwrap_err(),
        AlcError::Fec(FecError::InvalidOti {
            field: "B",
            value: 0,
            ..
        })
    ));
}

#[test]
fn bad_input_38_transfer_length_near_2_48() {
    let r = registry();
    let parser = AlcParser::new(&r);
    let l = (1u64 << 48) - 1;
    // E = 65535, B = 2^32 - 1: one block of 2^32 - 1 symbols at most; no overflow.
    for (e, b) in [(u16::MAX, u32::MAX), (1, 1), (1, u32::MAX), (u16::MAX, 1)] {
        let p = pkt(0, 1, &fti0(l, e, b), &hex!("00000000"), b"1");
        match parser.parse(&p) {
            Ok(pk) => assert_eq!(pk.oti().unwrap().transfer_length, l),
            Err(AlcError::Fec(FecError::InvalidOti { .. })) => {}
            Err(other) => panic!("E={e} B={b}: {other:?}"),
        }
    }
}

// Item 39 (huge L, small E: no allocation in proportion to L) lives in its own test binary,
// `tests/bad_input_39_alloc.rs`, because it counts allocations with a global allocator.

#[test]
fn bad_input_40_conflicting_oti() {
    let r = registry();
    let fdt_oti = CompactNoCode::oti(100, 4, 8);
    let p = pkt(0, 1, &fti0(101, 4, 8), &hex!("00000000"), b"1234");
    assert_eq!(
        AlcParser::new(&r)
            .parse_with_oti(&p, Some(&fdt_oti))
            .unwrap_err(),
        AlcError::ConflictingOti {
            encoding_id: FecEncodingId::COMPACT_NO_CODE
        }
    );
    // Agreeing OTI is fine.
    let p = pkt(0, 1, &fti0(100, 4, 8), &hex!("00000000"), b"1234");
    assert!(
        AlcParser::new(&r)
            .parse_with_oti(&p, Some(&fdt_oti))
            .is_ok()
    );
}

/// Item 40 with a scheme whose EXT_FTI does not carry every OTI field: RaptorQ's EXT_FTI has
/// no B, so an FDT's B is a hint and may differ without a conflict; a different transfer
/// length is a conflict. The rule is the scheme's (`FecScheme::same_coding`), the one the
/// receiver applies between packets of an object.
#[test]
fn bad_input_40_conflict_is_judged_by_the_schemes_rule() {
    let r = registry();
    let scheme = r.get(FecEncodingId::RAPTORQ, None).unwrap();
    let wire = RaptorQ::oti(10_000, 1000, 1, 1, 4);
    let mut fti = vec![0u8; scheme.fti_len(&wire)];
    scheme.write_fti(&wire, &mut fti).unwrap();
    let from_fti = scheme.read_fti(&fti).unwrap();
    let p = pkt(6, 1, &fti, &hex!("00000000"), &[7u8; 1000]);
    let parser = AlcParser::new(&r);

    let mut hint = from_fti.clone();
    hint.max_source_block_length = from_fti.max_source_block_length + 100;
    assert_ne!(hint, from_fti);
    assert!(parser.parse_with_oti(&p, Some(&hint)).is_ok());

    let mut longer = from_fti.clone();
    longer.transfer_length += 5_000;
    assert_eq!(
        parser.parse_with_oti(&p, Some(&longer)).unwrap_err(),
        AlcError::ConflictingOti {
            encoding_id: FecEncodingId::RAPTORQ
        }
    );
    let mut other_t = from_fti;
    other_t.encoding_symbol_length = 500;
    assert!(matches!(
        parser.parse_with_oti(&p, Some(&other_t)),
        Err(AlcError::ConflictingOti { .. })
    ));
}

#[test]
fn bad_input_41_same_symbol_different_bytes() {
    // Receiver-level: the packet layer reports both packets faithfully (same Payload ID,
    // different bytes); the block decoder (FecError::ConflictingSymbol) decides.
    let r = registry();
    let parser = AlcParser::new(&r);
    let a = pkt(0, 1, &[], &hex!("00000001"), b"AAAA");
    let b = pkt(0, 1, &[], &hex!("00000001"), b"BBBB");
    let (pa, pb) = (parser.parse(&a).unwrap(), parser.parse(&b).unwrap());
    assert_eq!(pa.payload_id(), pb.payload_id());
    assert_ne!(pa.symbols(), pb.symbols());
}

#[test]
fn bad_input_42_toi_not_in_fdt() {
    // Receiver-level: a data packet parses without any FDT knowledge (no OTI needed for
    // ID 0); buffering policy belongs to the receiver.
    let r = registry();
    let p = pkt(0, 99, &[], &hex!("00000000"), b"1234");
    assert_eq!(
        AlcParser::new(&r).parse(&p).unwrap().toi(),
        Some(lct_header::Toi(99))
    );
}

#[test]
fn bad_input_43_symbol_counts() {
    // Receiver-level (FEC decoding); the packet layer only hands symbols over. Repair
    // ESIs (>= k) of RS are accepted by validate() below max_n.
    let r = registry();
    let oti = RsSmallBlock::oti(40, 4, 10, 12);
    let p = pkt(129, 1, &[], &hex!("00000000 000A 000B"), b"1234");
    assert_eq!(
        AlcParser::new(&r)
            .parse_with_oti(&p, Some(&oti))
            .unwrap()
            .validate(&oti)
            .unwrap()
            .esi,
        11
    );
}

#[test]
fn duplicate_ext_fti() {
    // Catalogue item 17 at the ALC layer.
    let r = registry();
    let mut exts = fti0(100, 4, 8);
    exts.extend_from_slice(&fti0(100, 4, 8));
    let p = pkt(0, 1, &exts, &hex!("00000000"), b"1234");
    assert_eq!(
        AlcParser::new(&r).parse(&p).unwrap_err(),
        AlcError::Lct(lct_header::LctError::DuplicateExtension { het: 64 })
    );
}

#[test]
fn ext_fti_wrong_hel_for_scheme() {
    // Catalogue item 22 at the ALC layer: ID 0 needs HEL 4.
    let r = registry();
    let mut fti = fti0(100, 4, 8);
    fti[1] = 5;
    fti.extend_from_slice(&[0; 4]);
    let p = pkt(0, 1, &fti, &hex!("00000000"), b"1234");
    assert!(matches!(
        AlcParser::new(&r).parse(&p).unwrap_err(),
        AlcError::Fec(FecError::FtiLength {
            hel: 5,
            expected: 4,
            ..
        })
    ));
}
