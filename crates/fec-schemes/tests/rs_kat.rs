//! Known-answer tests for the RFC 5510 Reed-Solomon codec over GF(2^8): the parity bytes of
//! `tests/data/rs_gf256_kat.json` (libopenfec 1.4.2 and zfec 1.6 agree on them; see
//! `tests/data/README.md` for where they come from), checked byte for byte through the FEC
//! Encoding ID 5 encoder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rs_util;

use bytes::Bytes;
use fec_schemes::FecScheme;
use fec_schemes::schemes::rs::RsGf28;

const KAT: &str = include_str!("data/rs_gf256_kat.json");

#[test]
fn rs_gf256_kat_vectors() {
    let vectors = rs_util::parse_vectors(KAT);
    assert_eq!(vectors.len(), 7, "all seven vectors parsed");
    for v in &vectors {
        let (k, r, len) = (v.k, v.r, v.symbol_len);
        // source_rule: byte b of source symbol i = (7*i + 31*b + 1) mod 256
        let data: Vec<u8> = (0..k)
            .flat_map(|i| (0..len).map(move |b| ((7 * i + 31 * b + 1) % 256) as u8))
            .collect();
        let oti = RsGf28::oti(data.len() as u64, len as u16, k as u32, (k + r) as u32);
        let blocking = RsGf28.blocking(&oti).unwrap();
        assert_eq!(blocking.blocks, 1);
        let block = blocking.block(0).unwrap();
        let mut enc = RsGf28.encoder(&oti, &block, Bytes::from(data)).unwrap();
        assert_eq!(enc.esi_limit() as usize, k + r);
        for (j, hex) in v.parity.iter().enumerate() {
            let mut out = vec![0u8; len];
            enc.write_symbol((k + j) as u32, &mut out).unwrap();
            assert_eq!(&rs_util::to_hex(&out), hex, "k={k} r={r} parity {j}");
        }
    }
}
