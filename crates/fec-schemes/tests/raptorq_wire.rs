//! RaptorQ (FEC Encoding ID 6, RFC 6330): byte vectors, property round trips, bad input
//! (catalogue item 34), blocking against the `raptorq` crate, codec edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use fec_schemes::schemes::raptorq::{ESI_LIMIT, RaptorQ};
use fec_schemes::{Blocking, FecError, FecScheme, Oti, PayloadId, PushOutcome, SchemeSpecific};
use hex_literal::hex;
use proptest::prelude::*;

fn pid(sbn: u32, esi: u32) -> PayloadId {
    PayloadId {
        sbn,
        esi,
        source_block_length: None,
    }
}

/// RFC 6330 §3.2: FEC Payload ID = SBN (8 bits) | ESI (24 bits).
#[test]
fn rfc6330_3_2_payload_id_vector() {
    let oti = RaptorQ::oti(1000, 64, 1, 1, 1);
    let id = RaptorQ.read_payload_id(&hex!("07 0A0B0C"), None).unwrap();
    assert_eq!(id, pid(7, 0x0A0B0C));
    let mut out = [0u8; 4];
    RaptorQ
        .write_payload_id(&pid(0xFF, 0xFF_FFFF), &oti, &mut out)
        .unwrap();
    assert_eq!(out, hex!("FF FFFFFF"));
    assert!(matches!(
        RaptorQ.read_payload_id(&hex!("07 0A0B"), None),
        Err(FecError::Truncated { needed: 4, .. })
    ));
}

/// RFC 6330 §3.3.2 / §3.3.3 in EXT_FTI (HEL = 4): F 40 | reserved 8 | T 16 | Z 8 | N 16 |
/// Al 8 | padding 16. Hand-assembled: F = 0x00_0102_0304, T = 1280, Z = 3, N = 2, Al = 4.
#[test]
fn rfc6330_3_3_ext_fti_vector() {
    let bytes = hex!("40 04 0001020304 00 0500 03 0002 04 0000");
    let oti = RaptorQ.read_fti(&bytes).unwrap();
    assert_eq!(oti.transfer_length, 0x00_0102_0304);
    assert_eq!(oti.encoding_symbol_length, 1280);
    assert_eq!(
        oti.scheme_specific,
        SchemeSpecific::RaptorQ { z: 3, n: 2, al: 4 }
    );
    assert_eq!(oti, RaptorQ::oti(0x00_0102_0304, 1280, 3, 2, 4));
    let mut out = [0xEEu8; 16];
    assert_eq!(RaptorQ.write_fti(&oti, &mut out).unwrap(), 16);
    assert_eq!(out, bytes);
    // Reserved and padding bytes are ignored on read.
    let noisy = hex!("40 04 0001020304 FF 0500 03 0002 04 ABCD");
    assert_eq!(RaptorQ.read_fti(&noisy).unwrap(), oti);
}

/// RFC 6330 §3.3.3: FDT Scheme-Specific-Info = Z (8) | N (16) | Al (8).
#[test]
fn rfc6330_3_3_3_scheme_specific_info_vector() {
    let oti = RaptorQ::oti(10_000, 64, 3, 258, 4);
    assert_eq!(RaptorQ.write_scheme_specific_info(&oti), hex!("03 0102 04"));
    assert_eq!(
        RaptorQ
            .read_scheme_specific_info(&hex!("03 0102 04"))
            .unwrap(),
        SchemeSpecific::RaptorQ {
            z: 3,
            n: 258,
            al: 4
        }
    );
    assert!(RaptorQ.read_scheme_specific_info(&hex!("03 0102")).is_err());
    assert!(
        RaptorQ
            .read_scheme_specific_info(&hex!("00 0001 04"))
            .is_err()
    );
}

fn invalid(field: &'static str, oti: &Oti) {
    let e = RaptorQ.validate_oti(oti).unwrap_err();
    match e {
        FecError::InvalidOti { field: f, .. } | FecError::FieldOverflow { field: f, .. } => {
            assert_eq!(f, field, "{oti:?}: {e}")
        }
        other => panic!("{oti:?}: unexpected {other}"),
    }
}

/// Catalogue item 34: Z = 0 or > 255 (Z = 256 is not encodable, see the module docs),
/// N = 0, Al = 0, T not a multiple of Al, T/Al < N, K' > 56403, F > 946270874880.
#[test]
fn bad_input_34_raptorq_oti() {
    invalid("Z", &RaptorQ::oti(1000, 64, 0, 1, 1));
    invalid("Z", &RaptorQ::oti(1000, 64, 256, 1, 1));
    invalid("N", &RaptorQ::oti(1000, 64, 1, 0, 1));
    invalid("Al", &RaptorQ::oti(1000, 64, 1, 1, 0));
    invalid("T", &RaptorQ::oti(1000, 66, 1, 1, 4));
    invalid("N", &RaptorQ::oti(1000, 64, 1, 17, 4));
    invalid("T", &RaptorQ::oti(1000, 0, 1, 1, 1));
    // K = 56404 symbols in one block: above K'max.
    invalid("K", &RaptorQ::oti(56_404, 1, 1, 1, 1));
    RaptorQ
        .validate_oti(&RaptorQ::oti(56_403, 1, 1, 1, 1))
        .unwrap();
    // The largest block counts: Z = 2 with 112807 symbols gives blocks of 56404 + 56403.
    invalid("K", &RaptorQ::oti(112_807, 1, 2, 1, 1));
    invalid("F", &RaptorQ::oti(946_270_874_881, 65_535, 255, 1, 1));
    // More blocks than symbols would give empty blocks.
    invalid("Z", &RaptorQ::oti(2, 1, 3, 1, 1));
}

/// Catalogue item 34 on the wire: the same values in EXT_FTI are typed errors.
#[test]
fn bad_input_34_raptorq_fti_bytes() {
    for bytes in [
        hex!("40 04 00000003E8 00 0040 00 0001 01 0000"), // Z = 0
        hex!("40 04 00000003E8 00 0040 01 0000 01 0000"), // N = 0
        hex!("40 04 00000003E8 00 0040 01 0001 00 0000"), // Al = 0
        hex!("40 04 00000003E8 00 0000 01 0001 01 0000"), // T = 0
        hex!("40 04 00000003E8 00 0042 01 0001 04 0000"), // T % Al != 0
        hex!("40 04 00000003E8 00 0040 01 0011 04 0000"), // T/Al = 16 < N = 17
        hex!("40 04 FFFFFFFFFF 00 0001 01 0001 01 0000"), // F > limit, K' > 56403
    ] {
        assert!(RaptorQ.read_fti(&bytes).is_err(), "{bytes:02x?}");
    }
    // Catalogue item 22: HEL must be 4.
    assert!(matches!(
        RaptorQ.read_fti(&hex!("40 03 00000003E8 00 0040 01 0001 01")),
        Err(FecError::FtiLength { hel: 3, .. })
    ));
}

/// Catalogue item 34: ESI ≥ 2^24 cannot be written, encoded or pushed.
#[test]
fn bad_input_34_raptorq_esi_24_bits() {
    let oti = RaptorQ::oti(1000, 64, 1, 1, 1);
    let mut out = [0u8; 4];
    assert!(matches!(
        RaptorQ.write_payload_id(&pid(0, ESI_LIMIT), &oti, &mut out),
        Err(FecError::FieldOverflow { bits: 24, .. })
    ));
    assert!(matches!(
        RaptorQ.write_payload_id(&pid(256, 0), &oti, &mut out),
        Err(FecError::FieldOverflow { bits: 8, .. })
    ));
    let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
    let mut enc = RaptorQ
        .encoder(&oti, &blk, Bytes::from(vec![1u8; 1000]))
        .unwrap();
    let mut sym = [0u8; 64];
    assert!(matches!(
        enc.write_symbol(ESI_LIMIT, &mut sym),
        Err(FecError::EsiOutOfRange { .. })
    ));
    let mut dec = RaptorQ.decoder(&oti, &blk).unwrap();
    assert!(matches!(
        dec.push(ESI_LIMIT, &sym),
        Err(FecError::EsiOutOfRange { .. })
    ));
    // The largest ESI works.
    enc.write_symbol(ESI_LIMIT - 1, &mut sym).unwrap();
    assert_eq!(
        dec.push(ESI_LIMIT - 1, &sym).unwrap(),
        PushOutcome::Accepted
    );
}

/// Hostile inputs that make the raw raptorq crate panic (2-byte packet, symbol size 0) are
/// typed errors here.
#[test]
fn bad_input_raptorq_crate_panics_are_errors() {
    assert!(RaptorQ.read_payload_id(&[1, 2], None).is_err());
    let oti = RaptorQ::oti(100, 0, 1, 1, 1);
    assert!(RaptorQ.blocking(&oti).is_err());
    let good = RaptorQ::oti(100, 10, 1, 1, 1);
    let blk = RaptorQ.blocking(&good).unwrap().block(0).unwrap();
    assert!(RaptorQ.decoder(&oti, &blk).is_err());
    // A block that does not belong to the OTI never reaches raptorq.
    let bogus = fec_schemes::BlockSpec {
        source_symbols: 60_000,
        ..blk
    };
    assert!(RaptorQ.decoder(&good, &bogus).is_err());
    let mut dec = RaptorQ.decoder(&good, &blk).unwrap();
    assert!(dec.push(0, &[1, 2]).is_err());
    assert!(dec.push(0, &[0; 11]).is_err());
}

/// Catalogue item 36: F = 0 and F = 1 (the `flute` crate fails on empty RaptorQ objects).
#[test]
fn raptorq_zero_and_one_byte_objects() {
    let empty = RaptorQ::oti(0, 64, 1, 1, 1);
    let mut fti = [0u8; 16];
    RaptorQ.write_fti(&empty, &mut fti).unwrap();
    assert_eq!(RaptorQ.read_fti(&fti).unwrap(), empty);
    assert_eq!(RaptorQ.blocking(&empty).unwrap().blocks, 0);

    let one = RaptorQ::oti(1, 64, 1, 1, 1);
    let blk = RaptorQ.blocking(&one).unwrap().block(0).unwrap();
    assert_eq!((blk.source_symbols, blk.len), (1, 1));
    let mut enc = RaptorQ
        .encoder(&one, &blk, Bytes::from_static(b"x"))
        .unwrap();
    let mut sym = [0u8; 64];
    // Only a repair symbol arrives.
    let n = enc.write_symbol(5, &mut sym).unwrap();
    assert_eq!(n, 64);
    let mut dec = RaptorQ.decoder(&one, &blk).unwrap();
    dec.push(5, &sym[..n]).unwrap();
    assert_eq!(&dec.decode().unwrap()[..], b"x");
    // The source symbol, short (RFC 5052 convention) or padded to T, also works.
    for len in [1, 64] {
        let mut dec = RaptorQ.decoder(&one, &blk).unwrap();
        let n = enc.write_symbol(0, &mut sym).unwrap();
        assert_eq!(n, 64);
        dec.push(0, &sym[..len]).unwrap();
        assert_eq!(&dec.decode().unwrap()[..], b"x");
    }
}

/// RFC 6330 §4.4.1.2: our blocking gives the same block boundaries as the raptorq crate.
#[test]
fn rfc6330_4_4_1_2_blocking_matches_raptorq_crate() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let f = seed % 200_000 + 1;
        let t = (seed >> 20) as u16 % 2000 + 1;
        let kt = f.div_ceil(u64::from(t));
        let z = ((seed >> 40) % 255 + 1).min(kt) as u8;
        if kt.div_ceil(u64::from(z)) > 56_403 {
            continue;
        }
        let ours = Blocking::raptor(f, t, z.into()).unwrap();
        let cfg = raptorq::ObjectTransmissionInformation::new(f, t, z, 1, 1);
        let theirs = raptorq::calculate_block_offsets(&vec![0u8; f as usize], &cfg);
        let ours: Vec<(usize, usize)> = ours
            .iter()
            .map(|b| {
                let s = b.offset as usize;
                (s, s + b.source_symbols as usize * usize::from(t))
            })
            .collect();
        assert_eq!(ours, theirs, "F={f} T={t} Z={z}");
    }
}

/// Our encoder produces the same symbols as the raw raptorq crate (source and repair), also
/// with sub-blocks, and our decoder decodes the raw crate's packets.
#[test]
fn raptorq_symbols_match_raw_crate() {
    for (f, t, z, n, al) in [
        (5000u64, 64u16, 1u16, 1u16, 1u8),
        (5000, 64, 2, 4, 4),
        (777, 16, 1, 2, 8),
    ] {
        let data: Vec<u8> = (0..f).map(|i| (i * 31 % 251) as u8).collect();
        let oti = RaptorQ::oti(f, t, z, n, al);
        let raw = raptorq::Encoder::new(
            &data,
            raptorq::ObjectTransmissionInformation::new(f, t, z as u8, n, al),
        );
        let packets = raw.get_encoded_packets(60);
        for blk in RaptorQ.blocking(&oti).unwrap().iter() {
            let src = Bytes::copy_from_slice(&data[blk.offset as usize..][..blk.len as usize]);
            let mut enc = RaptorQ.encoder(&oti, &blk, src.clone()).unwrap();
            let mut dec = RaptorQ.decoder(&oti, &blk).unwrap();
            let mut sym = vec![0u8; usize::from(t)];
            for p in packets
                .iter()
                .filter(|p| u32::from(p.payload_id().source_block_number()) == blk.sbn)
            {
                let esi = p.payload_id().encoding_symbol_id();
                let len = enc.write_symbol(esi, &mut sym).unwrap();
                assert_eq!(&sym[..len], p.data(), "F={f} SBN={} ESI={esi}", blk.sbn);
                // Feed only repair packets and every other source packet into our decoder.
                if esi >= blk.source_symbols || esi % 2 == 0 {
                    dec.push(esi, p.data()).unwrap();
                }
            }
            assert_eq!(dec.decode().unwrap(), src);
        }
    }
}

fn arb_rq_oti() -> impl Strategy<Value = Oti> {
    (0u64..2_000_000, 1u16..=2048, 1u16..=255, 0u8..4).prop_filter_map(
        "valid RaptorQ OTI",
        |(f, t, z, al_log)| {
            let al = 1u8 << al_log;
            let t = (t / u16::from(al)).max(1) * u16::from(al);
            let n = ((t / u16::from(al)) % 4).max(1);
            let oti = RaptorQ::oti(f, t, z, n, al);
            RaptorQ.validate_oti(&oti).ok().map(|_| oti)
        },
    )
}

proptest! {
    /// EXT_FTI and scheme-specific info: parse(write(x)) == x.
    #[test]
    fn prop_raptorq_fti_round_trip(oti in arb_rq_oti()) {
        let mut out = [0u8; 16];
        RaptorQ.write_fti(&oti, &mut out).unwrap();
        prop_assert_eq!(RaptorQ.read_fti(&out).unwrap(), oti.clone());
        let ssi = RaptorQ.write_scheme_specific_info(&oti);
        prop_assert_eq!(RaptorQ.read_scheme_specific_info(&ssi).unwrap(), oti.scheme_specific);
    }

    /// FEC Payload ID: parse(write(x)) == x over the whole 8/24-bit space.
    #[test]
    fn prop_raptorq_payload_id_round_trip(sbn in 0u32..256, esi in 0u32..(1 << 24)) {
        let oti = RaptorQ::oti(1000, 64, 1, 1, 1);
        let mut out = [0u8; 4];
        RaptorQ.write_payload_id(&pid(sbn, esi), &oti, &mut out).unwrap();
        prop_assert_eq!(RaptorQ.read_payload_id(&out, None).unwrap(), pid(sbn, esi));
    }

    /// Any 16 bytes behind an EXT_FTI header: error or a valid OTI, never a panic.
    #[test]
    fn prop_raptorq_read_fti_never_panics(body in proptest::array::uniform14(any::<u8>())) {
        let mut ext = [0u8; 16];
        ext[0] = 64;
        ext[1] = 4;
        ext[2..].copy_from_slice(&body);
        if let Ok(oti) = RaptorQ.read_fti(&ext) {
            prop_assert!(RaptorQ.validate_oti(&oti).is_ok());
        }
    }
}

/// Catalogue item 39 (bounded memory): a decoder stores at most 2k + 64 distinct symbols;
/// later ones are `NotNeeded`, and the block still decodes.
#[test]
fn bad_input_39_raptorq_decoder_memory_bound() {
    let oti = RaptorQ::oti(640, 64, 1, 1, 1);
    let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
    let data = Bytes::from(vec![7u8; 640]);
    let mut enc = RaptorQ.encoder(&oti, &blk, data.clone()).unwrap();
    let mut dec = RaptorQ.decoder(&oti, &blk).unwrap();
    let mut sym = [0u8; 64];
    let k = blk.source_symbols;
    for esi in 0..2 * k + 64 {
        let n = enc.write_symbol(1000 + esi, &mut sym).unwrap();
        assert_eq!(
            dec.push(1000 + esi, &sym[..n]).unwrap(),
            PushOutcome::Accepted
        );
    }
    let n = enc.write_symbol(5000, &mut sym).unwrap();
    assert_eq!(dec.push(5000, &sym[..n]).unwrap(), PushOutcome::NotNeeded);
    assert_eq!(dec.received(), 2 * k + 64);
    assert_eq!(dec.decode().unwrap(), data);
}
