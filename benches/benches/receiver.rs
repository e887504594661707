//! Receiver throughput: a 16 MiB object produced by `flute-sender` (packets generated once,
//! outside the timing loop), fed to a fresh `flute-receiver` in memory, per registered FEC
//! scheme, without loss and with 5 % seeded uniform loss (30 % repair).
//!
//! `cargo bench -p flute-benches --bench receiver`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fec_schemes::{FecEncodingId, FecRegistry, FecScheme};
use flute_receiver::{Endpoint, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent};
use flute_sender::{AnchoredClock, Object, Repair, Sender, SenderConfig, Tsi};
use flute_testkit::{Channel, ChannelConfig, Rng, VirtualClock, drive_sender, make_oti};

const SIZE: usize = 16 << 20;
const E: u16 = 1400;
const B: u32 = 64;

fn packets(scheme: &Arc<dyn FecScheme>, data: &Bytes, loss: f64) -> Option<Vec<Vec<u8>>> {
    make_oti(scheme.as_ref(), data.len() as u64, E, B, 0.3)?;
    let mut clock = VirtualClock::new();
    let cfg = SenderConfig::new(
        Tsi(1),
        Arc::new(AnchoredClock::new(clock.now(), SystemTime::UNIX_EPOCH)),
    );
    let mut tx = Sender::new(cfg).ok()?;
    let s = scheme.clone();
    let obj = Object::from_bytes("bench.bin", data.clone())
        .fec_with(move |l| make_oti(s.as_ref(), l, E, B, 0.3).expect("oti"))
        .repair(if loss > 0.0 {
            Repair::Percent(30)
        } else {
            Repair::None
        });
    tx.insert_object(obj, clock.now()).ok()?;
    tx.close();
    let chan = if loss > 0.0 {
        ChannelConfig::uniform(loss)
    } else {
        ChannelConfig::perfect()
    };
    let mut ch = Channel::new(chan, 42);
    let mut out = Vec::new();
    drive_sender(
        &mut clock,
        &mut ch,
        &mut tx,
        Duration::from_secs(3600),
        |_, p| out.push(p.bytes.clone()),
    );
    Some(out)
}

fn receive(packets: &[Vec<u8>]) -> usize {
    let clock = VirtualClock::new();
    let mut rx = Receiver::new(ReceiverConfig::default());
    let ep = Endpoint::default();
    let mut got = 0;
    for p in packets {
        rx.handle_datagram(clock.now(), ep, p);
        while let Some(ev) = rx.poll_event() {
            if let ReceiverEvent::ObjectComplete {
                location: ObjectLocation::Memory(b),
                ..
            } = ev
            {
                got += b.len();
            }
        }
    }
    got
}

fn bench(c: &mut Criterion) {
    let data = Bytes::from(Rng::new(1).bytes(SIZE));
    let registry = FecRegistry::with_builtin();
    let mut g = c.benchmark_group("receiver_16MiB");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(SIZE as u64));
    for scheme in registry.iter() {
        for loss in [0.0, 0.05] {
            if loss > 0.0 && scheme.key().encoding_id == FecEncodingId::COMPACT_NO_CODE {
                continue; // no repair symbols: the object cannot complete under loss
            }
            let Some(pk) = packets(scheme, &data, loss) else {
                continue;
            };
            // Only benchmark configurations that deliver.
            if receive(&pk) != SIZE {
                eprintln!("{} loss {loss}: not delivered, skipped", scheme.name());
                continue;
            }
            let id = BenchmarkId::new(scheme.name(), format!("loss{}%", (loss * 100.0) as u32));
            g.bench_with_input(id, &pk, |b, pk| b.iter(|| receive(pk)));
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
