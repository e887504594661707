//! One RaptorQ block decode or encode, through our scheme or the raw `raptorq` crate, on the
//! data of the `fec_raptorq` bench (T = 1280; decode: every 10th source symbol lost, K/10 + 4
//! repair symbols, packets one at a time; encode: a fresh encoder, K source and K/10 repair
//! symbols).
//!
//! - `<ours|raw|ours-enc|raw-enc> <K> [reps]`: a fixed workload for instruction counts, e.g.
//!   `valgrind --tool=callgrind target/release/examples/rq_decode_once ours 1024 3`; the
//!   cost of one operation is the difference between runs with 3 and 1 repetitions, halved.
//! - `<ab|ab-enc> <K> [rounds]`: an interleaved A/B timing in one process (ours and raw
//!   alternate, the order flips every round), printing the median of each and the ratio;
//!   steadier than separate criterion benchmarks on a loaded machine.
//!
//! Run: `cargo run --release -p flute-benches --example rq_decode_once -- <mode> <K> [n]`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::{BlockSpec, FecScheme, Oti};
use raptorq::{EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder};

const T: u16 = 1280;

struct Work {
    k: u32,
    data: Bytes,
    oti: Oti,
    blk: BlockSpec,
    cfg: ObjectTransmissionInformation,
    symbols: Vec<(u32, Vec<u8>)>,
}

impl Work {
    fn new(k: u32) -> Self {
        let len = k as usize * usize::from(T);
        // The same data as benches/fec_raptorq.rs.
        let data: Bytes = flute_benches::pseudo_random_source(len);
        let oti = RaptorQ::oti(len as u64, T, 1, 1, 1);
        let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
        let mut enc = RaptorQ.encoder(&oti, &blk, data.clone()).unwrap();
        let symbols = (0..k)
            .filter(|esi| esi % 10 != 9)
            .chain(k..k + k / 10 + 4)
            .map(|esi| {
                let mut buf = vec![0u8; usize::from(T)];
                enc.write_symbol(esi, &mut buf).unwrap();
                (esi, buf)
            })
            .collect();
        let cfg = ObjectTransmissionInformation::new(len as u64, T, 1, 1, 1);
        Self {
            k,
            data,
            oti,
            blk,
            cfg,
            symbols,
        }
    }

    /// One operation; false if a decode gave wrong bytes.
    fn run(&self, which: &str) -> bool {
        let k = self.k;
        match which {
            "ours" => {
                let mut dec = RaptorQ.decoder(&self.oti, &self.blk).unwrap();
                for (esi, sym) in &self.symbols {
                    dec.push(*esi, sym).unwrap();
                    if dec.is_decodable() {
                        if let Ok(o) = dec.decode() {
                            return o[..] == self.data[..];
                        }
                    }
                }
                panic!("not decoded")
            }
            "ours-enc" => {
                let mut enc = RaptorQ
                    .encoder(&self.oti, &self.blk, self.data.clone())
                    .unwrap();
                let mut buf = vec![0u8; usize::from(T)];
                let mut sum = 0u64;
                for esi in 0..k + k / 10 {
                    enc.write_symbol(esi, &mut buf).unwrap();
                    sum += u64::from(buf[0]);
                }
                std::hint::black_box(sum);
                true
            }
            "raw-enc" => {
                let enc = raptorq::SourceBlockEncoder::new(0, &self.cfg, &self.data);
                let src = enc.source_packets();
                let rep = enc.repair_packets(0, k / 10);
                std::hint::black_box((src, rep));
                true
            }
            _ => {
                let len = self.data.len() as u64;
                let mut dec = SourceBlockDecoder::new(0, &self.cfg, len);
                let mut pending = Vec::new();
                for (i, (esi, sym)) in self.symbols.iter().enumerate() {
                    pending.push(EncodingPacket::new(PayloadId::new(0, *esi), sym.clone()));
                    if i + 1 >= k as usize {
                        if let Some(o) = dec.decode(std::mem::take(&mut pending)) {
                            return o[..] == self.data[..];
                        }
                    }
                }
                panic!("not decoded")
            }
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[allow(clippy::disallowed_methods)] // a measurement tool: wall-clock timing is the point
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("ours");
    let k: u32 = args.get(2).map_or(1024, |a| a.parse().expect("K"));
    let n: u32 = args.get(3).map_or(1, |a| a.parse().expect("count"));
    let work = Work::new(k);
    let pair = match mode {
        "ab" => Some(("ours", "raw")),
        "ab-enc" => Some(("ours-enc", "raw-enc")),
        _ => None,
    };
    let Some((a, b)) = pair else {
        for _ in 0..n {
            assert!(work.run(mode), "decoded block differs from the source");
        }
        return;
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..n {
        let order = if round % 2 == 0 { [a, b] } else { [b, a] };
        for w in order {
            let t = Instant::now();
            assert!(work.run(w), "decoded block differs from the source");
            let d = t.elapsed();
            if w == a { ta.push(d) } else { tb.push(d) }
        }
    }
    let (ma, mb) = (median(ta), median(tb));
    println!(
        "{mode} K={k} rounds={n}: {a} {ma:?}, {b} {mb:?}, {a}/{b} = {:.3}",
        ma.as_secs_f64() / mb.as_secs_f64()
    );
}
