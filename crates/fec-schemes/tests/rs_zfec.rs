//! Cross-check against zfec (PyPI): `tests/data/zfec_vectors.json` was produced by
//! `tests/zfec_crosscheck.py` with zfec 1.6. Our FEC Encoding ID 5 and 129/0 encoders must
//! produce the same parity bytes, and the decoders must recover the source from the
//! r highest-ESI symbols only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rs_util;

use bytes::Bytes;
use fec_schemes::FecScheme;
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, RsSmallBlock};

/// Builds an OTI from (L, E, B, max_n).
type MakeOti = fn(u64, u16, u32, u32) -> fec_schemes::Oti;

const VECTORS: &str = include_str!("data/zfec_vectors.json");

fn source(k: usize, len: usize) -> Vec<u8> {
    (0..k)
        .flat_map(|i| (0..len).map(move |b| ((131 * i + 17 * b + ((i * b) % 7) + 5) % 256) as u8))
        .collect()
}

#[test]
fn zfec_vectors_match_all_gf256_schemes() {
    let vectors = rs_util::parse_vectors(VECTORS);
    assert_eq!(vectors.len(), 10);
    let schemes: Vec<(Box<dyn FecScheme>, MakeOti)> = vec![
        (Box::new(RsGf28), RsGf28::oti),
        (Box::new(RsSmallBlock), RsSmallBlock::oti),
        (Box::new(RsGf2m), |l, e, b, n| RsGf2m::oti(l, e, b, n, 8, 1)),
    ];
    for v in &vectors {
        let data = source(v.k, v.symbol_len);
        for (scheme, mk) in &schemes {
            let oti = mk(
                data.len() as u64,
                v.symbol_len as u16,
                v.k as u32,
                (v.k + v.r) as u32,
            );
            let block = scheme.blocking(&oti).unwrap().block(0).unwrap();
            let mut enc = scheme
                .encoder(&oti, &block, Bytes::from(data.clone()))
                .unwrap();
            let mut dec = scheme.decoder(&oti, &block).unwrap();
            let mut out = vec![0u8; v.symbol_len];
            for (j, hex) in v.parity.iter().enumerate() {
                let esi = (v.k + j) as u32;
                enc.write_symbol(esi, &mut out).unwrap();
                assert_eq!(
                    &rs_util::to_hex(&out),
                    hex,
                    "{} k={} j={j}",
                    scheme.name(),
                    v.k
                );
            }
            // Decode from the highest ESIs only: all repair symbols first, then source.
            for esi in (0..(v.k + v.r) as u32).rev() {
                if dec.is_decodable() {
                    break;
                }
                let n = enc.write_symbol(esi, &mut out).unwrap();
                dec.push(esi, &out[..n]).unwrap();
            }
            assert_eq!(
                &dec.decode().unwrap()[..],
                &data[..],
                "{} k={}",
                scheme.name(),
                v.k
            );
        }
    }
}
