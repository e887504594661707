//! LDPC-Staircase (FEC Encoding ID 3, RFC 5170) against OpenFEC: the repair symbols of
//! `tests/data/ldpc_staircase_openfec.json` were produced by OpenFEC's `ldpc_staircase`
//! codec (see `tests/data/README.md`). Our encoder must produce the same bytes (RFC 5170
//! §5.7 PRNG, §6.2 matrix, §6.3 encoding), and our decoder must recover the source block
//! from OpenFEC's symbols with loss.
#![cfg(feature = "ldpc")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use fec_schemes::FecScheme;
use fec_schemes::schemes::ldpc_staircase::{LdpcStaircase, Prng};

const VECTORS: &str = include_str!("data/ldpc_staircase_openfec.json");

struct Case {
    k: u32,
    r: u32,
    n1: u8,
    seed: u32,
    t: usize,
    repair: Vec<Vec<u8>>,
}

fn cases() -> Vec<Case> {
    let v: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            k: c["k"].as_u64().unwrap() as u32,
            r: c["repair"].as_u64().unwrap() as u32,
            n1: c["n1"].as_u64().unwrap() as u8,
            seed: c["seed"].as_u64().unwrap() as u32,
            t: c["symbol_len"].as_u64().unwrap() as usize,
            repair: c["repair_symbols"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    let h = h.as_str().unwrap();
                    (0..h.len() / 2)
                        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                        .collect()
                })
                .collect(),
        })
        .collect()
}

/// The source rule of the vectors: byte j of source symbol i = (31 i + 7 j + 11) mod 256.
fn source(k: u32, t: usize) -> Vec<u8> {
    (0..k as usize)
        .flat_map(|i| (0..t).map(move |j| ((i * 31 + j * 7 + 11) % 256) as u8))
        .collect()
}

fn oti(c: &Case) -> fec_schemes::Oti {
    // One block of exactly k symbols, n = k + r (RFC 5170 §5.5: n = floor(k * max_n / B)).
    LdpcStaircase::oti(
        u64::from(c.k) * c.t as u64,
        c.t as u16,
        c.k,
        c.k + c.r,
        c.n1,
        c.seed,
    )
}

/// RFC 5170 §5.7: the Park-Miller minimal standard generator; seeded with 1, its
/// 10,000th raw value is 1043618065 (Park and Miller's check value, also OpenFEC's).
#[test]
fn rfc5170_5_7_prng_check_value() {
    let mut p = Prng::new(1);
    let mut last = 0;
    for _ in 0..10_000 {
        last = p.rand(0x7FFF_FFFF);
    }
    // rand(2^31-1) returns floor(x * (2^31-1) / (2^31-1)) = x.
    assert_eq!(last, 1_043_618_065);
}

/// RFC 5170 §6.2/§6.3: repair symbols byte-identical with OpenFEC's for every vector.
#[test]
fn rfc5170_6_3_repair_symbols_match_openfec() {
    let cases = cases();
    assert_eq!(cases.len(), 8);
    for c in &cases {
        let oti = oti(c);
        let blocking = LdpcStaircase.blocking(&oti).unwrap();
        assert_eq!(blocking.blocks, 1);
        let block = blocking.block(0).unwrap();
        let mut enc = LdpcStaircase
            .encoder(&oti, &block, Bytes::from(source(c.k, c.t)))
            .unwrap();
        assert_eq!(enc.esi_limit(), c.k + c.r);
        for (i, want) in c.repair.iter().enumerate() {
            let mut out = vec![0u8; c.t];
            enc.write_symbol(c.k + i as u32, &mut out).unwrap();
            assert_eq!(
                &out, want,
                "k={} r={} N1={} seed={} repair {i}",
                c.k, c.r, c.n1, c.seed
            );
        }
    }
}

/// Decoding OpenFEC's symbols: drop a seeded share of the source symbols, feed every
/// repair symbol from the vectors, and get the source block back.
#[test]
fn rfc5170_6_4_decode_openfec_symbols_with_loss() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for c in cases() {
        let oti = oti(&c);
        let block = LdpcStaircase.blocking(&oti).unwrap().block(0).unwrap();
        let src = source(c.k, c.t);
        // Lose about a third of the repair budget's worth of source symbols.
        let lose = (c.r / 3).max(1);
        let mut lost = std::collections::HashSet::new();
        while (lost.len() as u32) < lose {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            lost.insert((x % u64::from(c.k)) as u32);
        }
        let mut dec = LdpcStaircase.decoder(&oti, &block).unwrap();
        for i in 0..c.k {
            if !lost.contains(&i) {
                let s = i as usize * c.t;
                dec.push(i, &src[s..s + c.t]).unwrap();
            }
        }
        for (i, sym) in c.repair.iter().enumerate() {
            dec.push(c.k + i as u32, sym).unwrap();
        }
        assert!(dec.is_decodable());
        let out = dec.decode().unwrap();
        assert_eq!(&out[..], &src[..], "k={} r={}", c.k, c.r);
    }
}
