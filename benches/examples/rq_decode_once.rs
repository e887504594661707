//! One RaptorQ block decode or encode, through our scheme or the raw `raptorq` crate, on the
//! data of the `fec_raptorq` bench (T = 1280; decode: every 10th source symbol lost, K/10 + 4
//! repair symbols, packets one at a time; encode: a fresh encoder, K source and K/10 repair
//! symbols): a fixed workload for instruction counts, e.g.
//! `valgrind --tool=callgrind target/release/examples/rq_decode_once ours 1024`. The cost of
//! one operation is the difference between runs with 3 and 1 repetitions, halved.
//!
//! Run: `cargo run --release -p flute-benches --example rq_decode_once --
//! <ours|raw|ours-enc|raw-enc> <K> [reps]`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use fec_schemes::FecScheme;
use fec_schemes::schemes::raptorq::RaptorQ;
use raptorq::{EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder};

const T: u16 = 1280;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("ours");
    let k: u32 = args.get(2).map_or(1024, |a| a.parse().expect("K"));
    let reps: u32 = args.get(3).map_or(1, |a| a.parse().expect("reps"));
    let len = k as usize * usize::from(T);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data: bytes::Bytes = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into();
    let oti = RaptorQ::oti(len as u64, T, 1, 1, 1);
    let blk = RaptorQ.blocking(&oti).unwrap().block(0).unwrap();
    let mut enc = RaptorQ.encoder(&oti, &blk, data.clone()).unwrap();
    let symbols: Vec<(u32, Vec<u8>)> = (0..k)
        .filter(|esi| esi % 10 != 9)
        .chain(k..k + k / 10 + 4)
        .map(|esi| {
            let mut buf = vec![0u8; usize::from(T)];
            enc.write_symbol(esi, &mut buf).unwrap();
            (esi, buf)
        })
        .collect();
    let cfg = ObjectTransmissionInformation::new(len as u64, T, 1, 1, 1);
    for _ in 0..reps {
        let ok = match which {
            "ours" => {
                let mut dec = RaptorQ.decoder(&oti, &blk).unwrap();
                let mut out = None;
                for (esi, sym) in &symbols {
                    dec.push(*esi, sym).unwrap();
                    if dec.is_decodable() {
                        if let Ok(o) = dec.decode() {
                            out = Some(o[..] == data[..]);
                            break;
                        }
                    }
                }
                out.expect("decoded")
            }
            "ours-enc" => {
                let mut enc = RaptorQ.encoder(&oti, &blk, data.clone()).unwrap();
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
                let enc = raptorq::SourceBlockEncoder::new(0, &cfg, &data);
                let src = enc.source_packets();
                let rep = enc.repair_packets(0, k / 10);
                std::hint::black_box((src, rep));
                true
            }
            _ => {
                let mut dec = SourceBlockDecoder::new(0, &cfg, len as u64);
                let mut pending = Vec::new();
                let mut out = None;
                for (i, (esi, sym)) in symbols.iter().enumerate() {
                    pending.push(EncodingPacket::new(PayloadId::new(0, *esi), sym.clone()));
                    if i + 1 >= k as usize {
                        if let Some(o) = dec.decode(std::mem::take(&mut pending)) {
                            out = Some(o[..] == data[..]);
                            break;
                        }
                    }
                }
                out.expect("decoded")
            }
        };
        assert!(ok, "decoded block differs from the source");
    }
}
