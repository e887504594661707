//! LDPC-Staircase (RFC 5170, FEC Encoding ID 3) encode and decode throughput, in bytes/s
//! of source data, for k = 1024, T = 1400, 128 repair symbols (n = 1152), N1 = 3.
//!
//! - encode: a fresh block encoder produces every repair symbol of one source block
//!   (this includes building the parity-check matrix; source symbols are plain copies
//!   and are not counted).
//! - decode_5pct_loss: 5 % of the n encoding symbols (a fixed seeded set, 57 symbols,
//!   source and repair alike) are lost; the decoder gets all the others, then recovers
//!   the block (peeling, then Gaussian elimination if peeling stalls).
//!
//! Targets (issue 18): encode >= 2 GB/s, decode at 5 % loss >= 1 GB/s on one core.
#![allow(missing_docs, clippy::unwrap_used)]
//! Run: `cargo bench -p flute-benches --bench fec_ldpc -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fec_schemes::FecScheme;
use fec_schemes::schemes::ldpc_staircase::{LdpcStaircase, xor_into};

fn bench_ldpc(c: &mut Criterion) {
    let (k, r, e) = (1024u32, 128u32, 1400u16);
    let oti = LdpcStaircase::oti(u64::from(k) * u64::from(e), e, k, k + r, 3, 1);
    let scheme = &LdpcStaircase;
    let block = scheme.blocking(&oti).unwrap().block(0).unwrap();
    let data = flute_benches::pseudo_random_source(block.len as usize);
    let n = scheme.esi_limit(&oti, &block);
    let t = usize::from(e);
    let mut g = c.benchmark_group("fec_ldpc");
    g.throughput(Throughput::Bytes(block.len));
    g.bench_function(BenchmarkId::new("encode", "1024+128_N1=3"), |b| {
        let mut out = vec![0u8; t];
        b.iter(|| {
            let mut enc = scheme.encoder(&oti, &block, data.clone()).unwrap();
            for esi in k..n {
                enc.write_symbol(esi, &mut out).unwrap();
            }
            out[0]
        })
    });

    let mut enc = scheme.encoder(&oti, &block, data.clone()).unwrap();
    let symbols: Vec<Vec<u8>> = (0..n)
        .map(|esi| {
            let mut s = vec![0u8; t];
            let len = enc.write_symbol(esi, &mut s).unwrap();
            s.truncate(len);
            s
        })
        .collect();
    // A fixed seeded 5 % loss pattern over all n symbols.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut lost = vec![false; n as usize];
    let mut count = 0;
    while count < n as usize * 5 / 100 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let i = (x % u64::from(n)) as usize;
        if !lost[i] {
            lost[i] = true;
            count += 1;
        }
    }
    g.bench_function(BenchmarkId::new("decode_5pct_loss", "1024+128_N1=3"), |b| {
        b.iter(|| {
            let mut dec = scheme.decoder(&oti, &block).unwrap();
            for esi in (0..n).filter(|&i| !lost[i as usize]) {
                dec.push(esi, &symbols[esi as usize]).unwrap();
            }
            let out = dec.decode().unwrap();
            assert_eq!(out.len(), data.len());
            out
        })
    });
    g.finish();

    // The floor: one XOR pass of the block over another buffer of the same size (the
    // encoder reads each source symbol N1 = 3 times).
    let mut g = c.benchmark_group("xor_floor");
    g.throughput(Throughput::Bytes(block.len));
    let mut acc = vec![0u8; data.len()];
    g.bench_function("xor_block_1024x1400", |b| {
        b.iter(|| {
            xor_into(&mut acc, &data);
            acc[0]
        })
    });
    g.finish();
}

criterion_group!(benches, bench_ldpc);
criterion_main!(benches);
