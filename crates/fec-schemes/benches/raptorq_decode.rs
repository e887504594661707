//! RaptorQ block decoding, K = 1024, T = 1400, at 1 %, 5 % and 20 % source-symbol loss:
//! `fec-schemes` (push + decode through the `BlockDecoder` trait) against the raw
//! `raptorq` crate (`SourceBlockDecoder::decode` with the same packets), same data;
//! `raptorq_from_slices/*` also times making those packets from the received bytes (the
//! copy any receiver makes, and `ours` makes in `push`).
//! `ours` takes the fast path (re-encode with the cached plan, solve for the r missing
//! source symbols; generator rows up to `DEFAULT_GENERATOR_R_MAX` = 96) up to its crossover r_max = K/16 = 64 and
//! `raptorq`'s full decode above;
//! `generator_forced/rN` and `reencode_forced/rN` force one tier of the fast path at r = N
//! (to place the crossovers) and
//! `full_only/*` turns it off (the decoder as it was before the fast path).
//!
//! Run: `nice cargo bench -p fec-schemes --bench raptorq_decode -- --measurement-time 3 --warm-up-time 1`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fec_schemes::FecScheme;
use fec_schemes::schemes::raptorq::RaptorQ;
use raptorq::{EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder};
use std::hint::black_box;

const K: u32 = 1024;
const T: u16 = 1400;

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The received symbols: every source symbol except `lost` evenly spread ones, plus
/// `lost` + `extra` repair symbols (ESI order), as (esi, bytes).
fn received(data: &Bytes, lost: u32, extra: u32) -> Vec<(u32, Vec<u8>)> {
    let oti = RaptorQ::oti(u64::from(K) * u64::from(T), T, 1, 1, 1);
    let block = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
    let mut enc = RaptorQ.encoder(&oti, &block, data.clone()).unwrap();
    let mut out = Vec::new();
    let step = K.checked_div(lost).unwrap_or(u32::MAX);
    let mut dropped = 0;
    for esi in 0..K {
        if dropped < lost && esi % step == step / 2 {
            dropped += 1;
            continue;
        }
        let mut buf = vec![0u8; usize::from(T)];
        enc.write_symbol(esi, &mut buf).unwrap();
        out.push((esi, buf));
    }
    assert_eq!(dropped, lost);
    for esi in K..K + lost + extra {
        let mut buf = vec![0u8; usize::from(T)];
        enc.write_symbol(esi, &mut buf).unwrap();
        out.push((esi, buf));
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = Bytes::from(pattern(K as usize * usize::from(T), 7));
    let oti = RaptorQ::oti(u64::from(K) * u64::from(T), T, 1, 1, 1);
    let block = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
    let rq_oti = ObjectTransmissionInformation::new(u64::from(K) * u64::from(T), T, 1, 1, 1);
    let mut g = c.benchmark_group("raptorq_decode_k1024_t1400");
    g.sample_size(10);
    for pct in [1u32, 5, 20] {
        let lost = K * pct / 100;
        let syms = received(&data, lost, 2);
        // Check once that both decode to the source.
        {
            let mut d = RaptorQ.decoder(&oti, &block).unwrap();
            for (esi, s) in &syms {
                d.push(*esi, s).unwrap();
            }
            assert_eq!(d.decode().unwrap(), data);
            let pkts: Vec<EncodingPacket> = syms
                .iter()
                .map(|(esi, s)| EncodingPacket::new(PayloadId::new(0, *esi), s.clone()))
                .collect();
            let mut raw = SourceBlockDecoder::new(0, &rq_oti, u64::from(K) * u64::from(T));
            assert_eq!(raw.decode(pkts).unwrap(), data.as_ref());
        }
        g.bench_function(format!("ours/{pct}pct"), |b| {
            b.iter(|| {
                let mut d = RaptorQ.decoder(&oti, &block).unwrap();
                for (esi, s) in &syms {
                    d.push(*esi, s).unwrap();
                }
                black_box(d.decode().unwrap())
            })
        });
        // The decoder without the fast path, i.e. as it was before it.
        g.bench_function(format!("full_only/{pct}pct"), |b| {
            b.iter(|| {
                let mut d = RaptorQ
                    .decoder_with_fast_limits(&oti, &block, 0, 0)
                    .unwrap();
                for (esi, s) in &syms {
                    d.push(*esi, s).unwrap();
                }
                black_box(d.decode().unwrap())
            })
        });
        g.bench_function(format!("raptorq/{pct}pct"), |b| {
            b.iter_batched(
                || {
                    syms.iter()
                        .map(|(esi, s)| EncodingPacket::new(PayloadId::new(0, *esi), s.clone()))
                        .collect::<Vec<_>>()
                },
                |pkts| {
                    let mut raw = SourceBlockDecoder::new(0, &rq_oti, u64::from(K) * u64::from(T));
                    black_box(raw.decode(pkts).unwrap())
                },
                BatchSize::LargeInput,
            )
        });
        // The same, with the packets made from the received bytes inside the timing: a
        // receiver gets each symbol as a borrowed datagram slice and must copy it into an
        // `EncodingPacket` before `raptorq` can use it, as `ours` copies it in `push`.
        g.bench_function(format!("raptorq_from_slices/{pct}pct"), |b| {
            b.iter(|| {
                let pkts: Vec<EncodingPacket> = syms
                    .iter()
                    .map(|(esi, s)| {
                        EncodingPacket::new(PayloadId::new(0, *esi), s.as_slice().to_vec())
                    })
                    .collect();
                let mut raw = SourceBlockDecoder::new(0, &rq_oti, u64::from(K) * u64::from(T));
                black_box(raw.decode(pkts).unwrap())
            })
        });
    }
    // Each tier of the fast path forced at r missing source symbols (r + 2 repair
    // symbols), to place the crossovers: generator rows vs re-encode, and the fast path vs
    // `raptorq`'s ~constant decode time.
    for (tier, gen_max, rs) in [
        (
            "generator_forced",
            u32::MAX,
            &[10u32, 32, 40, 51, 64, 96, 128][..],
        ),
        ("reencode_forced", 0, &[10u32, 32, 40, 64, 96, 128][..]),
    ] {
        for &r in rs {
            let syms = received(&data, r, 2);
            let decoder = || {
                RaptorQ
                    .decoder_with_fast_limits(&oti, &block, u32::MAX, gen_max)
                    .unwrap()
            };
            {
                let mut d = decoder();
                for (esi, s) in &syms {
                    d.push(*esi, s).unwrap();
                }
                assert_eq!(d.decode().unwrap(), data);
            }
            g.bench_function(format!("{tier}/r{r}"), |b| {
                b.iter(|| {
                    let mut d = decoder();
                    for (esi, s) in &syms {
                        d.push(*esi, s).unwrap();
                    }
                    black_box(d.decode().unwrap())
                })
            });
        }
    }
    // Not implemented, measured as a floor: with the dense generator rows of the received
    // repair symbols at hand (G = the K coefficients of each, a per-K cache of
    // K x L bytes), the residuals would be one GF(256) product of (r + 2) x K coefficients by
    // the K x T known source bytes, the SIMD kernel of the RS schemes: r = 10 and r = 51.
    for r in [10usize, 51] {
        let rows = r + 2;
        let coefs: Vec<u8> = pattern(rows * K as usize, 11);
        let inputs: Vec<&[u8]> = data.chunks_exact(usize::from(T)).collect();
        let mut out = vec![0u8; rows * usize::from(T)];
        g.bench_function(format!("dense_residuals_floor/r{r}"), |b| {
            b.iter(|| {
                let mut outs: Vec<&mut [u8]> = out.chunks_exact_mut(usize::from(T)).collect();
                fec_schemes::schemes::rs::gf8_simd::matmul(&coefs, &inputs, &mut outs);
                black_box(outs[0][0])
            })
        });
    }
    // The floor of a decode that re-encodes the block once with the cached per-K plan
    // (see docs/benchmarks.md, "Not done"): a fresh encoder and its first repair symbol.
    g.bench_function("plan_encode_first_repair", |b| {
        let mut buf = vec![0u8; usize::from(T)];
        b.iter(|| {
            let mut enc = RaptorQ.encoder(&oti, &block, data.clone()).unwrap();
            enc.write_symbol(K, &mut buf).unwrap();
            black_box(buf[0])
        })
    });
    // What the first block of a K costs a receiver on top (once per process and K): the
    // encoding plan (the fast path uses the plan cache; a receiver has no plan until then).
    g.bench_function("plan_generate_k1024", |b| {
        b.iter(|| black_box(raptorq::SourceBlockEncodingPlan::generate(K as u16)))
    });
    // raptorq's GF(2)-only solve (no HDPC rows) is tried when at least K + H symbols are
    // there (H = 10 for K = 1024): the same 5 % loss with 12 extra repair symbols.
    let syms = received(&data, K * 5 / 100, 12);
    g.bench_function("ours/5pct_k_plus_12", |b| {
        b.iter(|| {
            let mut d = RaptorQ.decoder(&oti, &block).unwrap();
            for (esi, s) in &syms {
                d.push(*esi, s).unwrap();
            }
            black_box(d.decode().unwrap())
        })
    });
    g.bench_function("raptorq/5pct_k_plus_12", |b| {
        b.iter_batched(
            || {
                syms.iter()
                    .map(|(esi, s)| EncodingPacket::new(PayloadId::new(0, *esi), s.clone()))
                    .collect::<Vec<_>>()
            },
            |pkts| {
                let mut raw = SourceBlockDecoder::new(0, &rq_oti, u64::from(K) * u64::from(T));
                black_box(raw.decode(pkts).unwrap())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
