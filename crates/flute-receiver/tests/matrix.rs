//! End-to-end matrix on the simulated channel (ARCHITECTURE.md, testing layers): every registered
//! FEC scheme x {0 %, 5 %, 20 % uniform loss, burst loss} x {1 object, 50 objects of mixed
//! sizes including 0 and 1 byte} x {interleave 1, 4}.
//!
//! Oracle: every object whose blocks each received at least k (+ the code's overhead)
//! distinct symbols, in a session whose FDT arrived, is delivered byte-identical; every
//! other object either fails with an `ObjectFailed` event or never starts; nothing is ever
//! delivered with wrong content; nothing stays buffered at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use fec_schemes::{FecRegistry, FecScheme};
use flute_receiver::ReceiverConfig;
use flute_testkit::{ChannelConfig, MiniSender, ObjectSpec, Rng};

use common::{otis_of, overhead, run};

fn objects(many: bool, seed: u64) -> Vec<ObjectSpec> {
    let mut rng = Rng::new(seed);
    if !many {
        return vec![ObjectSpec::new(1, "single.bin", rng.bytes(5000))];
    }
    (0..50u64)
        .map(|i| {
            let len = match i {
                0 => 0,
                1 => 1,
                2 => 64,
                3 => 65,
                _ => rng.below(3000) as usize,
            };
            ObjectSpec::new(i + 1, &format!("dir/obj{i}.bin"), rng.bytes(len))
        })
        .collect()
}

fn case(
    scheme: &Arc<dyn FecScheme>,
    loss: &str,
    chan: ChannelConfig,
    many: bool,
    interleave: usize,
) {
    let seed = u64::from(scheme.key().encoding_id.0) * 1000
        + u64::from(many) * 100
        + interleave as u64 * 10
        + loss.len() as u64;
    let mut tx = MiniSender::new(7, scheme.clone());
    tx.interleave = interleave;
    for o in objects(many, seed) {
        let o = o.symbol_length(64).max_block(16).repair(0.5);
        // Objects the scheme cannot carry at all (Raptor: fewer than 4 symbols) are left out.
        if tx.can_send(&o) {
            tx.add(o);
        }
    }
    // FDT at the start, after every 10 objects and at the end (an FDT carousel).
    let fdt = tx.fdt_packets();
    assert!(!fdt.is_empty(), "{}: no FDT packets", scheme.name());
    let mut packets = fdt.clone();
    for (i, o) in tx.objects.iter().enumerate() {
        packets.extend(tx.object_packets(o.toi));
        if i % 10 == 9 {
            packets.extend(fdt.clone());
        }
    }
    packets.extend(fdt);
    let otis = otis_of(&tx);
    let out = run(
        scheme,
        packets,
        &otis,
        chan,
        seed,
        ReceiverConfig::default(),
    );
    let label = format!(
        "{} loss={loss} many={many} interleave={interleave}",
        scheme.name()
    );
    let fdt_ok = out.fdt_received > 0;
    let mut delivered_count = 0;
    for o in &tx.objects {
        if let Some(b) = out.delivered.get(&u128::from(o.toi)) {
            assert_eq!(&b[..], &o.data[..], "{label}: TOI {} corrupt", o.toi);
            assert!(
                !out.failed.contains_key(&u128::from(o.toi)),
                "{label}: TOI {} both",
                o.toi
            );
            delivered_count += 1;
            continue;
        }
        let oti = &otis[&o.toi];
        let blocking = scheme.blocking(oti).unwrap();
        let covered = blocking.iter().all(|b| {
            out.got.get(&(o.toi, b.sbn)).map_or(0, |s| s.len() as u32)
                >= b.source_symbols + overhead(scheme.as_ref())
        });
        assert!(
            !(fdt_ok && covered),
            "{label}: TOI {} ({} bytes) covered but not delivered; failed: {:?}; (k, got) {:?}",
            o.toi,
            o.data.len(),
            out.failed.get(&u128::from(o.toi)),
            blocking
                .iter()
                .map(|b| (
                    b.source_symbols,
                    out.got.get(&(o.toi, b.sbn)).map(|s| s.len())
                ))
                .collect::<Vec<_>>()
        );
        if !out.failed.contains_key(&u128::from(o.toi)) {
            eprintln!(
                "{label}: TOI {} len {} not started; got {:?}",
                o.toi,
                o.data.len(),
                blocking
                    .iter()
                    .map(|b| (
                        b.source_symbols,
                        out.got.get(&(o.toi, b.sbn)).map(|s| s.len())
                    ))
                    .collect::<Vec<_>>()
            );
        }
        assert!(
            out.failed.contains_key(&u128::from(o.toi))
                || !out.started.contains(&u128::from(o.toi)),
            "{label}: TOI {} started, neither delivered nor failed",
            o.toi
        );
    }
    if loss == "0" {
        assert_eq!(delivered_count, tx.objects.len(), "{label}");
    }
    assert_eq!(out.stats.buffered_bytes, 0, "{label}: budget leak");
    assert_eq!(out.stats.active_objects, 0, "{label}");
    eprintln!(
        "{label}: delivered {delivered_count}/{} failed {} drops {:?}",
        tx.objects.len(),
        out.failed.len(),
        out.stats.total.dropped
    );
}

fn matrix_for(scheme: &Arc<dyn FecScheme>) {
    let losses: [(&str, ChannelConfig); 4] = [
        ("0", ChannelConfig::perfect()),
        ("5%", ChannelConfig::uniform(0.05)),
        ("20%", ChannelConfig::uniform(0.20)),
        ("burst", ChannelConfig::bursty(0.05, 6.0)),
    ];
    for (name, chan) in losses {
        for many in [false, true] {
            for interleave in [1, 4] {
                case(scheme, name, chan, many, interleave);
            }
        }
    }
}

#[test]
fn every_registered_scheme_over_the_loss_matrix() {
    let registry = FecRegistry::with_builtin();
    let mut n = 0;
    for scheme in registry.iter() {
        matrix_for(scheme);
        n += 1;
    }
    assert!(n >= 1);
}
