//! RaptorQ (RFC 6330) encode and decode throughput, in MB/s of source data, through our
//! `fec_schemes::schemes::raptorq::RaptorQ` scheme and through the raw `raptorq` crate on the
//! same data, so the cost of our layer (validation, lazy repair, duplicate detection) shows.
//!
//! - one source block of K = 64, 1024, 8192 symbols of T = 1280 bytes, N = 1, Al = 1;
//! - encode: a fresh encoder emits all K source symbols and K/10 repair symbols;
//! - decode: every 10th source symbol is lost; the decoder gets the other source symbols and
//!   K/10 + 4 repair symbols (from the first one), one packet at a time, and recovers the
//!   block.
//!
//! Run: `cargo bench -p flute-benches --bench fec_raptorq -- --warm-up-time 1 --measurement-time 3`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // benchmark harness: panics are failures

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fec_schemes::FecScheme;
use fec_schemes::schemes::raptorq::RaptorQ;
use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder,
    SourceBlockEncoder,
};

const T: u16 = 1280;
const KS: [u32; 3] = [64, 1024, 8192];

fn source(len: usize) -> Bytes {
    flute_benches::pseudo_random_source(len)
}

/// ESIs the decoder receives: all source ESIs but every 10th, then K/10 + 4 repair ESIs.
fn received_esis(k: u32) -> Vec<u32> {
    (0..k)
        .filter(|esi| esi % 10 != 9)
        .chain(k..k + k / 10 + 4)
        .collect()
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("raptorq_encode");
    g.sample_size(10);
    for k in KS {
        let len = k as usize * usize::from(T);
        let data = source(len);
        g.throughput(Throughput::Bytes(len as u64));
        let oti = RaptorQ::oti(len as u64, T, 1, 1, 1);
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let repair = k / 10;
        g.bench_with_input(BenchmarkId::new("ours", k), &k, |b, &k| {
            let mut buf = vec![0u8; usize::from(T)];
            b.iter(|| {
                let mut enc = RaptorQ.encoder(&oti, &blk, data.clone()).unwrap();
                let mut sum = 0usize;
                for esi in 0..k + repair {
                    sum += enc.write_symbol(esi, &mut buf).unwrap();
                    std::hint::black_box(&buf);
                }
                sum
            });
        });
        let cfg = ObjectTransmissionInformation::new(len as u64, T, 1, 1, 1);
        g.bench_with_input(BenchmarkId::new("raw_raptorq", k), &k, |b, _| {
            b.iter(|| {
                let enc = SourceBlockEncoder::new(0, &cfg, &data);
                let src = enc.source_packets();
                let rep = enc.repair_packets(0, repair);
                std::hint::black_box((src, rep))
            });
        });
    }
    g.finish();
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("raptorq_decode_10pct_loss");
    g.sample_size(10);
    for k in KS {
        let len = k as usize * usize::from(T);
        let data = source(len);
        g.throughput(Throughput::Bytes(len as u64));
        let oti = RaptorQ::oti(len as u64, T, 1, 1, 1);
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let mut enc = RaptorQ.encoder(&oti, &blk, data.clone()).unwrap();
        let symbols: Vec<(u32, Vec<u8>)> = received_esis(k)
            .into_iter()
            .map(|esi| {
                let mut buf = vec![0u8; usize::from(T)];
                let n = enc.write_symbol(esi, &mut buf).unwrap();
                buf.truncate(n);
                (esi, buf)
            })
            .collect();
        g.bench_with_input(BenchmarkId::new("ours", k), &k, |b, _| {
            b.iter(|| {
                let mut dec = RaptorQ.decoder(&oti, &blk).unwrap();
                for (esi, sym) in &symbols {
                    dec.push(*esi, sym).unwrap();
                    if dec.is_decodable() {
                        if let Ok(out) = dec.decode() {
                            assert_eq!(out.len(), len);
                            return out;
                        }
                    }
                }
                panic!("not decoded")
            });
        });
        let cfg = ObjectTransmissionInformation::new(len as u64, T, 1, 1, 1);
        g.bench_with_input(BenchmarkId::new("raw_raptorq", k), &k, |b, &k| {
            b.iter(|| {
                let mut dec = SourceBlockDecoder::new(0, &cfg, len as u64);
                // Same delivery as ours: packets one at a time, decode once K have arrived.
                let mut pending = Vec::new();
                for (i, (esi, sym)) in symbols.iter().enumerate() {
                    pending.push(EncodingPacket::new(PayloadId::new(0, *esi), sym.clone()));
                    if i + 1 >= k as usize {
                        if let Some(out) = dec.decode(std::mem::take(&mut pending)) {
                            return out;
                        }
                    }
                }
                panic!("not decoded")
            });
        });
    }
    g.finish();
}

criterion_group!(benches, encode, decode);
criterion_main!(benches);
