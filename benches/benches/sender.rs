//! flute-sender throughput for every built-in FEC scheme (iterating
//! `FecRegistry::with_builtin()`), and the same job done by the `flute` crate 1.11.7 sender
//! (`flute-peer`) on the same data in the same run.
//!
//! - `sender_object/<impl>/<scheme>`: build a sender, insert one 4 MiB object (10% repair
//!   where the scheme has repair symbols), drain every packet into one reused buffer.
//!   Throughput in bytes of object data (MB/s).
//! - `sender_steady/<scheme>`: one `poll_transmit` on a long-lived sender carrying a
//!   carousel object: the per-packet cost in steady state (packets/s). Nothing is allocated
//!   per packet: symbols are written by the FEC encoder straight into the caller's buffer;
//!   allocations happen per source block (encoder) and per FDT Instance.
//!
//! Run: `cargo bench -p flute-benches --bench sender -- --warm-up-time 1 --measurement-time 2`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fec_schemes::schemes::{no_code, raptor, raptorq, rs};
use fec_schemes::{FecEncodingId, FecRegistry, FecScheme, Oti};
use flute_sender::{AnchoredClock, Carousel, Object, Repair, Sender, SenderConfig, Tsi};

const SIZE: usize = 4 << 20;
const E: u16 = 1400;

/// Bench-side parameters per built-in scheme (the sender itself never names a scheme).
fn ours(scheme: &dyn FecScheme, len: u64) -> Option<(Oti, Repair)> {
    let pct = Repair::Percent(10);
    Some(match scheme.key().encoding_id {
        FecEncodingId::COMPACT_NO_CODE => (no_code::CompactNoCode::oti(len, E, 64), Repair::None),
        FecEncodingId::RAPTORQ => (raptorq::RaptorQ::oti_for(len, E, 1024)?, pct),
        FecEncodingId::RAPTOR => {
            let z = len.div_ceil(u64::from(E)).div_ceil(1024).max(1) as u16;
            (raptor::Raptor::oti(len, E, z, 1, 4), pct)
        }
        FecEncodingId::RS_GF28 => (rs::RsGf28::oti(len, E, 200, 220), pct),
        FecEncodingId::RS_GF2M => (rs::RsGf2m::oti(len, E, 200, 220, 8, 1), pct),
        FecEncodingId::SMALL_BLOCK_SYSTEMATIC => (rs::RsSmallBlock::oti(len, E, 200, 220), pct),
        _ => return None,
    })
}

/// The same parameters for the `flute` 1.11.7 sender.
fn peer_oti(id: FecEncodingId) -> Option<flute_peer::core::Oti> {
    use flute_peer::core::Oti as P;
    match id {
        FecEncodingId::COMPACT_NO_CODE => Some(P::new_no_code(E, 64)),
        FecEncodingId::RAPTORQ => P::new_raptorq(E, 1024, 103, 1, 1).ok(),
        FecEncodingId::RAPTOR => P::new_raptor(E, 1024, 103, 1, 4).ok(),
        FecEncodingId::RS_GF28 => P::new_reed_solomon_rs28(E, 200, 20).ok(),
        FecEncodingId::RS_GF2M => P::new_reed_solomon_rs2m(E, 200, 20, 8).ok(),
        FecEncodingId::SMALL_BLOCK_SYSTEMATIC => {
            P::new_reed_solomon_rs28_under_specified(E, 200, 20).ok()
        }
        _ => None,
    }
}

#[allow(clippy::disallowed_methods)] // the one anchor of virtual time
fn t0() -> Instant {
    Instant::now()
}

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn config(reg: &Arc<FecRegistry>, t0: Instant) -> SenderConfig {
    let mut c = SenderConfig::new(Tsi(1), Arc::new(AnchoredClock::new(t0, wall())));
    c.registry = reg.clone();
    c
}

/// One object through our sender; returns the number of packets.
fn run_ours(
    reg: &Arc<FecRegistry>,
    data: &Bytes,
    oti: &Oti,
    repair: Repair,
    buf: &mut [u8],
) -> usize {
    let now = t0();
    let mut s = Sender::new(config(reg, now)).unwrap();
    s.insert_object(
        Object::from_bytes("file:///bench.bin", data.clone())
            .fec(oti.clone())
            .repair(repair),
        now,
    )
    .unwrap();
    let mut n = 0;
    while let Some(t) = s.poll_transmit(now, buf) {
        std::hint::black_box(&buf[..t.len]);
        n += 1;
    }
    n
}

/// One object through the `flute` 1.11.7 sender; returns the number of packets.
fn run_peer(data: &[u8], oti: &flute_peer::core::Oti) -> usize {
    use flute_peer::sender::{Config, ObjectDesc, Sender as PeerSender};
    let endpoint = flute_peer::core::UDPEndpoint::new(None, "224.0.0.1".to_string(), 3400);
    let mut s = PeerSender::new(endpoint, 1, oti, &Config::default());
    let url = url::Url::parse("file:///bench.bin").unwrap();
    let obj = ObjectDesc::create_from_buffer(
        data.to_vec(),
        "application/octet-stream",
        &url,
        false,
        Default::default(),
    )
    .unwrap();
    s.add_object(0, obj).unwrap();
    s.publish(wall()).unwrap();
    let mut n = 0;
    while let Some(p) = s.read(wall()) {
        std::hint::black_box(&p);
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let reg = Arc::new(FecRegistry::with_builtin());
    let data = Bytes::from(
        (0..SIZE)
            .map(|i| (i * 7 + (i >> 9)) as u8)
            .collect::<Vec<u8>>(),
    );
    let mut buf = vec![0u8; 1500];

    let mut g = c.benchmark_group("sender_object");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.sample_size(10);
    for scheme in reg.iter() {
        let Some((oti, repair)) = ours(&**scheme, SIZE as u64) else {
            continue;
        };
        let name = format!(
            "{}_{}",
            scheme.key().encoding_id,
            scheme.name().replace(' ', "_")
        );
        let n = run_ours(&reg, &data, &oti, repair, &mut buf);
        eprintln!("flute-sender {name}: {n} packets per object");
        g.bench_function(BenchmarkId::new("flute-sender", &name), |b| {
            b.iter(|| run_ours(&reg, &data, &oti, repair, &mut buf));
        });
        if let Some(p) = peer_oti(scheme.key().encoding_id) {
            let n = run_peer(&data, &p);
            eprintln!("flute-1.11.7 {name}: {n} packets per object");
            g.bench_function(BenchmarkId::new("flute-1.11.7", &name), |b| {
                b.iter(|| run_peer(&data, &p));
            });
        }
    }
    g.finish();

    let mut g = c.benchmark_group("sender_steady");
    g.throughput(Throughput::Elements(1));
    for scheme in reg.iter() {
        let Some((oti, repair)) = ours(&**scheme, SIZE as u64) else {
            continue;
        };
        let name = format!(
            "{}_{}",
            scheme.key().encoding_id,
            scheme.name().replace(' ', "_")
        );
        let now = t0();
        let mut cfg = config(&reg, now);
        cfg.fdt_carousel.interval = None;
        let mut s = Sender::new(cfg).unwrap();
        s.insert_object(
            Object::from_bytes("file:///bench.bin", data.clone())
                .fec(oti)
                .repair(repair)
                .carousel(Carousel::UntilRemoved {
                    interval: Duration::ZERO,
                }),
            now,
        )
        .unwrap();
        g.bench_function(BenchmarkId::new("poll_transmit", &name), |b| {
            b.iter(|| {
                let t = s.poll_transmit(now, &mut buf).unwrap();
                std::hint::black_box(t.len)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
