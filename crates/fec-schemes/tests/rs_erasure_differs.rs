//! Why the Reed-Solomon schemes do not use the `reed-solomon-erasure` crate (which the design
//! card proposed): on the RFC 5510 known-answer vectors (`tests/data/rs_gf256_kat.json`,
//! produced by libopenfec and zfec, and matched byte for byte by our FEC Encoding ID 5
//! encoder in `tests/rs_kat.rs`), that crate's parity symbols are different bytes.
//!
//! Both are systematic Reed-Solomon codes over GF(2^8) with polynomial 0x11D, but the crate
//! builds its generator matrix from the evaluation points 0, 1, 2, …, n−1 (the integers as
//! field elements), while RFC 5510 / Rizzo / OpenFEC / zfec use 0, α^0, α^1, …, α^(n−2)
//! (`docs/spec-notes.md` §3). A receiver cannot decode repair symbols made with the other
//! matrix, so interoperable FLUTE RS needs the RFC's matrix. (With a single repair symbol
//! both give the XOR of the source symbols, so only r = 1 happens to agree.) This test measures that claim
//! instead of asserting it: it fails if the crate ever produces the RFC's bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rs_util;

use reed_solomon_erasure::galois_8::ReedSolomon;

const KAT: &str = include_str!("data/rs_gf256_kat.json");

#[test]
fn reed_solomon_erasure_parity_differs_from_rfc5510() {
    let vectors = rs_util::parse_vectors(KAT);
    let mut multi_parity = 0;
    for v in &vectors {
        let (k, r, len) = (v.k, v.r, v.symbol_len);
        let mut shards: Vec<Vec<u8>> = (0..k)
            .map(|i| {
                (0..len)
                    .map(|b| ((7 * i + 31 * b + 1) % 256) as u8)
                    .collect()
            })
            .collect();
        shards.extend((0..r).map(|_| vec![0u8; len]));
        ReedSolomon::new(k, r)
            .expect("valid k, r")
            .encode(&mut shards)
            .expect("encode");
        let theirs: Vec<String> = shards[k..].iter().map(|s| rs_util::to_hex(s)).collect();
        if r == 1 {
            // One repair symbol: both constructions give the XOR of the source symbols
            // (measured: k = 1 and k = 2 agree), so a single-parity code interoperates.
            assert_eq!(
                theirs, v.parity,
                "k={k} r=1: the single parity is the XOR in both"
            );
        } else {
            // Two or more: the matrices differ, and so do the bytes (measured: every vector).
            multi_parity += 1;
            assert_ne!(theirs, v.parity, "k={k} r={r}: same parity as RFC 5510");
        }
    }
    assert!(
        multi_parity >= 5,
        "the vectors cover r >= 2 ({multi_parity})"
    );
}
