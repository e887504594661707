//! Reed-Solomon (RFC 5510) encode and decode throughput, in MB/s of source data.
//!
//! - encode: a fresh block encoder produces every repair symbol of one source block
//!   (source symbols are plain copies and are not counted).
//! - decode: 10% of the source symbols (rounded down) are lost; the decoder gets the
//!   remaining source symbols plus as many repair symbols and recovers the block. The
//!   decode-matrix cache is warm after the first iteration (same erasure pattern), as for
//!   a receiver seeing a steady loss pattern; the matrix inversion itself is small next to
//!   the symbol arithmetic for these sizes.
//!
#![allow(missing_docs, clippy::unwrap_used)]
//! Run: `cargo bench -p flute-benches --bench fec_rs -- --warm-up-time 1 --measurement-time 3`.

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, gf8_simd};
use fec_schemes::{FecScheme, Oti};

struct Case {
    name: &'static str,
    scheme: &'static dyn FecScheme,
    oti: Oti,
}

fn cases() -> Vec<Case> {
    let e = 1400u16;
    let gf8 = |k: u32, r: u32| RsGf28::oti(u64::from(k) * u64::from(e), e, k, k + r);
    vec![
        Case {
            name: "gf256_64+8",
            scheme: &RsGf28,
            oti: gf8(64, 8),
        },
        Case {
            name: "gf256_64+16",
            scheme: &RsGf28,
            oti: gf8(64, 16),
        },
        Case {
            name: "gf256_200+55",
            scheme: &RsGf28,
            oti: gf8(200, 55),
        },
        Case {
            name: "gf65536_1024+256",
            scheme: &RsGf2m,
            oti: RsGf2m::oti(1024 * u64::from(e), e, 1024, 1280, 16, 1),
        },
    ]
}

fn source(len: usize) -> Bytes {
    flute_benches::pseudo_random_source(len)
}

fn bench_rs(c: &mut Criterion) {
    eprintln!("GF(2^8) kernel: {}", gf8_simd::kernel_name());
    let mut g = c.benchmark_group("fec_rs");
    for case in cases() {
        let scheme = case.scheme;
        let oti = &case.oti;
        let block = scheme.blocking(oti).unwrap().block(0).unwrap();
        let data = source(block.len as usize);
        let k = block.source_symbols;
        let n = scheme.esi_limit(oti, &block);
        let e = usize::from(oti.encoding_symbol_length);
        g.throughput(Throughput::Bytes(block.len));

        g.bench_function(BenchmarkId::new("encode", case.name), |b| {
            let mut out = vec![0u8; e];
            b.iter(|| {
                let mut enc = scheme.encoder(oti, &block, data.clone()).unwrap();
                for esi in k..n {
                    enc.write_symbol(esi, &mut out).unwrap();
                }
                out[0]
            })
        });

        // All symbols, precomputed.
        let mut enc = scheme.encoder(oti, &block, data.clone()).unwrap();
        let symbols: Vec<Vec<u8>> = (0..n)
            .map(|esi| {
                let mut s = vec![0u8; e];
                let len = enc.write_symbol(esi, &mut s).unwrap();
                s.truncate(len);
                s
            })
            .collect();
        let lost = (k / 10) as usize;
        // Lose every 10th source symbol.
        let lost_set: Vec<u32> = (0..k).filter(|i| i % 10 == 5).take(lost).collect();
        g.bench_function(BenchmarkId::new("decode_10pct_loss", case.name), |b| {
            b.iter(|| {
                let mut dec = scheme.decoder(oti, &block).unwrap();
                for esi in (0..k).filter(|i| !lost_set.contains(i)) {
                    dec.push(esi, &symbols[esi as usize]).unwrap();
                }
                for esi in k..k + lost_set.len() as u32 {
                    dec.push(esi, &symbols[esi as usize]).unwrap();
                }
                let out = dec.decode().unwrap();
                assert_eq!(out.len(), data.len());
                out
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_rs);
criterion_main!(benches);
