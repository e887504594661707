//! Criterion benchmarks live in `benches/benches/`; this library holds what they share.

use bytes::Bytes;

pub mod lct_nom;

/// `len` deterministic pseudo-random bytes (xorshift64, low byte of each step): the source
/// data of the FEC benchmarks and of `examples/rq_decode_once.rs`, identical in every run.
pub fn pseudo_random_source(len: usize) -> Bytes {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}
