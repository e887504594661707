//! The LCT header and header extension items (1–24) of the bad-input catalogue,
//! `docs/spec-notes.md` §4. Each test either asserts the exact typed error or the
//! documented lenient behaviour. Byte vectors are hand-derived from RFC 5651 §5.1/§5.2 and
//! RFC 6726 §3.4.1/§3.4.3.

use hex_literal::hex;
use lct_header::*;

/// RFC 5651 §5.1: V=1 C=0 PSI=0 | S=1 O=1 H=0 | HDR_LEN=4 | CP=0 | CCI | TSI=1 | TOI=2.
const BASE: [u8; 16] = hex!("10 A0 04 00 00000000 00000001 00000002");

fn parse(b: &[u8]) -> Result<LctRepr, LctError> {
    LctRepr::parse(&LctPacket::new_unchecked(b))
}

fn flute(b: &[u8]) -> Result<FluteHeader<'_>, LctError> {
    FluteHeaderCheck::new().check(&LctPacket::new_unchecked(b))
}

/// A FLUTE header (TSI 1, the given TOI) followed by `exts`, HDR_LEN adjusted.
fn with_exts(toi: u32, exts: &[u8]) -> Vec<u8> {
    let mut v = BASE.to_vec();
    v[12..16].copy_from_slice(&toi.to_be_bytes());
    v.extend_from_slice(exts);
    v[2] = (v.len() / 4) as u8;
    v
}

#[test]
fn bad_input_01_short_datagram() {
    for n in 0..4 {
        assert_eq!(
            parse(&BASE[..n]),
            Err(LctError::Truncated {
                what: "LCT header",
                offset: 0,
                needed: 4,
                available: n
            })
        );
    }
    // The flags imply 16 bytes of fixed header.
    assert_eq!(
        parse(&BASE[..12]),
        Err(LctError::Truncated {
            what: "LCT header",
            offset: 0,
            needed: 16,
            available: 12
        })
    );
}

#[test]
fn bad_input_02_hdr_len_beyond_datagram() {
    let mut b = BASE;
    b[2] = 5;
    assert_eq!(
        parse(&b),
        Err(LctError::HdrLenExceedsPacket {
            header_len: 20,
            available: 16
        })
    );
}

#[test]
fn bad_input_03_hdr_len_inside_fixed_part() {
    let mut b = BASE;
    b[2] = 3;
    assert_eq!(
        parse(&b),
        Err(LctError::HdrLenTooShort {
            hdr_len: 3,
            min_words: 4
        })
    );
}

#[test]
fn bad_input_04_hdr_len_zero() {
    let mut b = BASE;
    b[2] = 0;
    assert_eq!(
        parse(&b),
        Err(LctError::HdrLenTooShort {
            hdr_len: 0,
            min_words: 4
        })
    );
}

#[test]
fn bad_input_05_version_not_1() {
    for v in [0u8, 2, 15] {
        let mut b = BASE;
        b[0] = (v << 4) | (b[0] & 0x0F);
        assert_eq!(parse(&b), Err(LctError::UnsupportedVersion { version: v }));
    }
}

#[test]
fn bad_input_06_reserved_bits_ignored() {
    // Res = 0b11 (RFC 3451's T/R bits). Must not be read as SCT/ERT presence: the header
    // parses exactly as with Res = 0, and the TOI is not shifted.
    let mut b = BASE;
    b[1] |= 0x0C;
    let p = LctPacket::new_checked(&b[..]).unwrap();
    assert_eq!(p.reserved(), 3);
    assert_eq!(parse(&b).unwrap(), parse(&BASE).unwrap());
    assert_eq!(p.toi(), Some(Toi(2)));
    // Emitting sends Res = 0.
    let mut out = [0u8; 16];
    parse(&b).unwrap().emit_into(&mut out).unwrap();
    assert_eq!(out, BASE);
}

#[test]
fn bad_input_07_psi_kept() {
    let mut b = BASE;
    b[0] |= 0x03;
    let r = parse(&b).unwrap();
    assert_eq!(r.psi, 3);
    let mut out = [0u8; 16];
    r.emit_into(&mut out).unwrap();
    assert_eq!(out, b);
}

#[test]
fn bad_input_08_every_s_o_h_combination() {
    for s in 0..2u8 {
        for o in 0..4u8 {
            for h in 0..2u8 {
                let tsi_len = 4 * s as usize + 2 * h as usize;
                let toi_len = 4 * o as usize + 2 * h as usize;
                let len = 8 + tsi_len + toi_len;
                let mut b = vec![0xFFu8; len];
                b[0] = 0x10;
                b[1] = (s << 7) | (o << 5) | (h << 4);
                b[2] = (len / 4) as u8;
                b[3] = 0;
                let r = parse(&b).unwrap();
                assert_eq!(r.tsi.is_some(), tsi_len > 0);
                assert_eq!(r.toi.is_some(), toi_len > 0);
                if let Some(t) = r.tsi {
                    assert_eq!(t.0, (1u64 << (8 * tsi_len)) - 1);
                }
                if let Some(t) = r.toi {
                    // O=3, H=1: 112-bit TOI, beyond u64.
                    assert_eq!(t.0, (1u128 << (8 * toi_len)) - 1);
                }
                let mut out = vec![0u8; len];
                assert_eq!(r.emit_into(&mut out).unwrap(), len);
                assert_eq!(out, b);
            }
        }
    }
    // A TOI wider than 112 bits cannot be emitted.
    assert!(LctRepr::new(Some(Tsi(1)), Some(Toi(1 << 112)), 0).is_err());
}

#[test]
fn bad_input_09_flute_tsi_toi_fdt_rules() {
    // S=0, H=0: no TSI.
    let no_tsi = hex!("10 20 03 00 00000000 00000001");
    assert_eq!(flute(&no_tsi), Err(LctError::MissingField { field: "TSI" }));
    // O=0, H=0: no TOI.
    let no_toi = hex!("10 80 03 00 00000000 00000001");
    assert_eq!(flute(&no_toi), Err(LctError::MissingField { field: "TOI" }));
    // TOI 0 without EXT_FDT.
    assert_eq!(
        flute(&with_exts(0, &[])),
        Err(LctError::MissingField { field: "EXT_FDT" })
    );
    // EXT_FDT on TOI 5.
    assert_eq!(
        flute(&with_exts(5, &hex!("C0 2 00001"))),
        Err(LctError::UnexpectedExtension {
            het: EXT_FDT,
            toi: 5
        })
    );
    // The good cases.
    let fdt = with_exts(0, &hex!("C0 2 00001"));
    let h = flute(&fdt).unwrap();
    assert!(h.is_fdt());
    assert_eq!(
        h.extensions.fdt,
        Some(ExtFdt {
            version: 2,
            instance_id: 1
        })
    );
    assert!(!flute(&with_exts(5, &[])).unwrap().is_fdt());
}

#[test]
fn bad_input_10_wide_cci_handled() {
    for c in 1..4u8 {
        let cci_len = 4 * (c as usize + 1);
        let len = 4 + cci_len + 8;
        let mut b = vec![0u8; len];
        b[0] = 0x10 | (c << 2);
        b[1] = 0xA0;
        b[2] = (len / 4) as u8;
        b[4] = 0x80; // top bit of CCI
        b[len - 1] = 9; // TOI
        let r = parse(&b).unwrap();
        assert_eq!(r.cci, Cci(1u128 << (8 * cci_len - 1)));
        assert_eq!(r.toi, Some(Toi(9)));
    }
}

#[test]
fn bad_input_11_a_and_b_flags() {
    // A and B are reported on FDT and data packets alike; what follows them is receiver
    // state (see docs/conformance/lct-header.md).
    for toi in [0u32, 7] {
        let mut b = with_exts(toi, &hex!("C0 2 00001")[..if toi == 0 { 4 } else { 0 }]);
        b[1] |= 0x03;
        let p = LctPacket::new_checked(&b[..]).unwrap();
        assert!(p.close_session() && p.close_object());
        let r = parse(&b).unwrap();
        assert!(r.close_session && r.close_object);
        assert!(flute(&b).is_ok());
    }
}

#[test]
fn bad_input_12_hel_zero_is_error_not_loop() {
    let b = with_exts(1, &hex!("05 00 0000"));
    let p = LctPacket::new_checked(&b[..]).unwrap();
    let items: Vec<_> = p.extensions().collect();
    assert_eq!(items, vec![Err(LctError::ZeroHel { het: 5, offset: 0 })]);
    assert_eq!(flute(&b), Err(LctError::ZeroHel { het: 5, offset: 0 }));
}

#[test]
fn bad_input_13_hel_past_hdr_len() {
    // HEL = 2 (8 bytes) but only 4 bytes of extension area before HDR_LEN ends; the next
    // 4 bytes are payload.
    let mut b = with_exts(1, &hex!("05 02 0000"));
    b.extend_from_slice(&hex!("DEADBEEF"));
    let p = LctPacket::new_checked(&b[..]).unwrap();
    assert_eq!(
        p.extensions().next(),
        Some(Err(LctError::ExtensionOverrun {
            het: 5,
            offset: 0,
            needed: 8,
            available: 4
        }))
    );
    // HEL = 255 words, far past the packet: widened before multiplying.
    let b = with_exts(1, &hex!("05 FF 0000"));
    let p = LctPacket::new_checked(&b[..]).unwrap();
    assert_eq!(
        p.extensions().next(),
        Some(Err(LctError::ExtensionOverrun {
            het: 5,
            offset: 0,
            needed: 1020,
            available: 4
        }))
    );
}

#[test]
fn bad_input_14_extension_area_not_multiple_of_4() {
    // Through LctPacket the area is always whole words (HDR_LEN and the fixed part are
    // both in words). A raw area of 6 bytes: one good extension, then 2 stray bytes.
    let area = hex!("C0 2 00001 05 01");
    let mut it = Extensions::new(&area);
    assert!(it.next().unwrap().is_ok());
    assert_eq!(
        it.next(),
        Some(Err(LctError::ExtensionOverrun {
            het: 5,
            offset: 4,
            needed: 4,
            available: 2
        }))
    );
    assert_eq!(it.next(), None);
    let area = hex!("C0 2 00001 05");
    let mut it = Extensions::new(&area);
    it.next();
    assert_eq!(
        it.next(),
        Some(Err(LctError::Truncated {
            what: "header extension",
            offset: 4,
            needed: 2,
            available: 1
        }))
    );
}

#[test]
fn bad_input_15_fixed_size_het_in_last_bytes() {
    for n in 1..4 {
        let area = &hex!("C0 2 00001")[..n];
        assert_eq!(
            Extensions::new(area).next(),
            Some(Err(LctError::ExtensionOverrun {
                het: EXT_FDT,
                offset: 0,
                needed: 4,
                available: n
            }))
        );
    }
}

#[test]
fn bad_input_16_unknown_het_skipped() {
    // HET 99 (variable, HEL 2) and HET 200 (fixed), then EXT_FDT.
    let b = with_exts(0, &hex!("63 02 0000 11111111  C8 000000  C0 2 00003"));
    let h = flute(&b).unwrap();
    assert_eq!(h.extensions.skipped, 2);
    assert_eq!(
        h.extensions.fdt,
        Some(ExtFdt {
            version: 2,
            instance_id: 3
        })
    );
    let p = LctPacket::new_checked(&b[..]).unwrap();
    let raw = p.extensions().next().unwrap().unwrap();
    assert_eq!(raw.decode().unwrap(), HeaderExtension::Unknown(raw));
    assert_eq!(raw.body(), &hex!("0000 11111111"));
}

#[test]
fn bad_input_17_duplicate_fdt_fti_cenc() {
    let fdt = hex!("C0 2 00001");
    let cenc = hex!("C1 01 0000");
    let fti = hex!("40 04 000000000400 0000 0010 00000040");
    for (ext, het) in [
        (&fdt[..], EXT_FDT),
        (&cenc[..], EXT_CENC),
        (&fti[..], EXT_FTI),
    ] {
        let mut area = fdt.to_vec();
        if het != EXT_FDT {
            area.extend_from_slice(ext);
        }
        area.extend_from_slice(ext);
        let b = with_exts(0, &area);
        assert_eq!(flute(&b), Err(LctError::DuplicateExtension { het }));
    }
}

#[test]
fn bad_input_18_ext_fdt_version() {
    for v in [0u8, 3, 15] {
        let ext = [EXT_FDT, v << 4, 0, 1];
        let b = with_exts(0, &ext);
        assert_eq!(
            flute(&b),
            Err(LctError::InvalidValue {
                field: "EXT_FDT V",
                value: v.into()
            })
        );
    }
    for v in [1u8, 2] {
        let b = with_exts(0, &[EXT_FDT, v << 4, 0, 1]);
        assert_eq!(flute(&b).unwrap().extensions.fdt.unwrap().version, v);
    }
}

#[test]
fn bad_input_19_fdt_instance_id_wrap_and_reorder() {
    // Wrap: 0xFFFFF -> 0 is an increase.
    assert!(fdt_instance_newer(0, 0xF_FFFF));
    assert!(!fdt_instance_newer(0xF_FFFF, 0));
    // Reordering: an older instance arriving late is recognised as older.
    assert!(!fdt_instance_newer(10, 11));
    assert!(fdt_instance_newer(11, 10));
    // Same ID: not newer.
    assert!(!fdt_instance_newer(42, 42));
    // The 20-bit field decodes up to 0xFFFFF.
    let f = ExtFdt::decode(RawExtension::new(&hex!("C0 2 FFFFF")).unwrap()).unwrap();
    assert_eq!(f.instance_id, 0xF_FFFF);
    // Encoding refuses IDs beyond 20 bits.
    let mut out = [0u8; 4];
    assert_eq!(
        ExtFdt {
            version: 2,
            instance_id: 1 << 20
        }
        .encode(&mut out),
        Err(LctError::ValueTooWide {
            field: "FDT Instance ID",
            value: 1 << 20,
            bits: 20
        })
    );
}

#[test]
fn bad_input_20_ext_cenc_unknown() {
    for cenc in [4u8, 0xFF] {
        let b = with_exts(0, &[EXT_FDT, 0x20, 0, 1, EXT_CENC, cenc, 0, 0]);
        assert_eq!(
            flute(&b),
            Err(LctError::InvalidValue {
                field: "CENC",
                value: cenc.into()
            })
        );
    }
    let b = with_exts(0, &hex!("C0 2 00001 C1 02 0000"));
    assert_eq!(
        flute(&b).unwrap().extensions.cenc,
        Some(ExtCenc {
            encoding: ContentEncoding::Deflate
        })
    );
}

#[test]
fn bad_input_21_ext_cenc_on_data_toi() {
    let b = with_exts(3, &hex!("C1 01 0000"));
    assert_eq!(
        flute(&b),
        Err(LctError::UnexpectedExtension {
            het: EXT_CENC,
            toi: 3
        })
    );
}

#[test]
fn bad_input_22_ext_fti_length_left_to_scheme() {
    // The HEL of EXT_FTI is only checked for consistency with HDR_LEN here; whether it is
    // right for the scheme (ID 0: 4, ID 5: 3, ID 6: 4) is the FEC scheme's `read_fti`
    // (alc / fec-schemes). The raw bytes handed over are exactly HEL * 4 long.
    for hel in [1u8, 3, 4, 5] {
        let mut ext = vec![0u8; hel as usize * 4];
        ext[0] = EXT_FTI;
        ext[1] = hel;
        let b = with_exts(1, &ext);
        let h = flute(&b).unwrap();
        assert_eq!(h.extensions.fti.unwrap().bytes(), &ext[..]);
    }
}

#[test]
fn bad_input_23_ext_time_hel_and_reserved() {
    // Use = SCT-High | SCT-Low (two values) but HEL = 2 (one value).
    let raw = hex!("02 02 C000 00000001");
    let e = RawExtension::new(&raw).unwrap();
    assert_eq!(
        ExtTime::decode(e),
        Err(LctError::ExtensionLength {
            het: EXT_TIME,
            len: 8,
            expected: 12
        })
    );
    // Use with reserved bits 4–7 set (0x0F00) and no value flags: lenient, the reserved
    // bits add no value and are kept but not interpreted.
    let raw = hex!("02 01 0F00");
    let t = ExtTime::decode(RawExtension::new(&raw).unwrap()).unwrap();
    assert_eq!(t.reserved, 0xF);
    assert_eq!(
        (t.sct_high, t.sct_low, t.ert, t.slc),
        (None, None, None, None)
    );
    // Also through a full header.
    let b = with_exts(1, &hex!("02 02 C000 00000001"));
    assert_eq!(
        flute(&b),
        Err(LctError::ExtensionLength {
            het: EXT_TIME,
            len: 8,
            expected: 12
        })
    );
}

#[test]
fn bad_input_24_ext_auth_policy() {
    let b = with_exts(1, &hex!("01 02 0000 AABBCCDD"));
    // Default policy: skipped (body available).
    let h = flute(&b).unwrap();
    assert_eq!(h.extensions.auth, Some(&hex!("0000 AABBCCDD")[..]));
    // Strict policy: refused.
    let strict = FluteHeaderCheck::new().reject_auth(true);
    assert_eq!(
        strict.check(&LctPacket::new_unchecked(&b[..])),
        Err(LctError::UnexpectedExtension {
            het: EXT_AUTH,
            toi: 1
        })
    );
}
