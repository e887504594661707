//! End-to-end through the production sender (`flute-sender`) and the seeded channel:
//! every registered FEC scheme x {0 %, 5 %, 20 %, bursts} x {1 object, 50 objects of mixed
//! sizes incl. 0 and 1 byte} x {interleave 1, 4}.
//!
//! Oracle as in `matrix.rs`: objects whose blocks each got k (+ overhead) distinct symbols
//! through the channel, in a session whose FDT arrived, are delivered byte-identical; the
//! others fail with an event or never start; nothing is delivered corrupt; nothing leaks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use fec_schemes::{FecRegistry, FecScheme, Oti};
use flute_receiver::{DropReason, Endpoint, FailReason, FixedWallClock, Receiver, ReceiverConfig};
use flute_sender::{AnchoredClock, FdtCarousel, Object, Pacing, Repair, Sender, SenderConfig, Tsi};
use flute_testkit::{Channel, ChannelConfig, Rng, VirtualClock, drive_sender, make_oti};

use common::{Outcome, drain, overhead};

const E: u16 = 64;
const B: u32 = 16;

struct Case<'a> {
    scheme: &'a Arc<dyn FecScheme>,
    loss: &'a str,
    chan: ChannelConfig,
    many: bool,
    interleave: u32,
}

fn sizes(many: bool, rng: &mut Rng) -> Vec<usize> {
    if !many {
        return vec![5000];
    }
    (0..50)
        .map(|i| match i {
            0 => 0,
            1 => 1,
            2 => 64,
            _ => rng.below(3000) as usize,
        })
        .collect()
}

fn run_case(c: &Case<'_>) {
    let seed = u64::from(c.scheme.key().encoding_id.0) * 7919
        + u64::from(c.many) * 131
        + u64::from(c.interleave) * 17
        + c.loss.len() as u64;
    let label = format!(
        "{} loss={} many={} interleave={}",
        c.scheme.name(),
        c.loss,
        c.many,
        c.interleave
    );
    let mut rng = Rng::new(seed);
    let mut clock = VirtualClock::new();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scfg = SenderConfig::new(Tsi(7), Arc::new(AnchoredClock::new(clock.now(), wall)));
    scfg.pacing = Some(Pacing::wire(4_000_000));
    scfg.fdt_carousel = FdtCarousel {
        interval: Some(Duration::from_millis(50)),
        ..FdtCarousel::default()
    };
    let mut tx = Sender::new(scfg).unwrap();
    let mut objects: BTreeMap<u128, (Vec<u8>, Oti)> = BTreeMap::new();
    for (i, n) in sizes(c.many, &mut rng).into_iter().enumerate() {
        let data = rng.bytes(n);
        let s = c.scheme.as_ref();
        // Objects the scheme cannot carry (Raptor: fewer than 4 symbols) are left out.
        let Some(oti) = make_oti(s, n as u64, E, B, 0.5) else {
            continue;
        };
        let scheme = c.scheme.clone();
        let fallback = oti.clone();
        let obj = Object::from_bytes(format!("dir/obj{i}.bin"), Bytes::from(data.clone()))
            .fec_with(move |l| make_oti(scheme.as_ref(), l, E, B, 0.5).unwrap_or(fallback.clone()))
            .repair(Repair::Percent(50))
            .content_md5(true)
            .interleave(c.interleave);
        let toi = tx.insert_object(obj, clock.now()).unwrap();
        objects.insert(toi.0, (data, oti));
    }
    tx.close();
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.wall_clock = Some(Arc::new(FixedWallClock(wall + Duration::from_secs(1))));
        c
    };
    let mut rx = Receiver::new(cfg);
    let mut out = Outcome::default();
    let mut ch = Channel::new(c.chan, seed);
    let mut got: HashMap<(u128, u32), BTreeSet<u32>> = HashMap::new();
    drive_sender(
        &mut clock,
        &mut ch,
        &mut tx,
        Duration::from_secs(120),
        |now, p| {
            got.entry((u128::from(p.toi), p.sbn))
                .or_default()
                .insert(p.esi);
            rx.handle_datagram(now, Endpoint::default(), &p.bytes);
            drain(&mut rx, &mut out);
        },
    );
    while let Some(t) = rx.poll_timeout() {
        clock.advance_to(t);
        rx.handle_timeout(clock.now());
        drain(&mut rx, &mut out);
        if rx.stats().active_objects == 0 && rx.stats().sessions.is_empty() {
            break;
        }
    }
    let stats = rx.stats();
    let fdt_ok = out.fdt_received > 0;
    let mut delivered = 0;
    for (toi, (data, oti)) in &objects {
        if let Some(b) = out.delivered.get(toi) {
            assert_eq!(&b[..], &data[..], "{label}: TOI {toi} corrupt");
            delivered += 1;
            continue;
        }
        let blocking = c.scheme.blocking(oti).unwrap();
        let covered = blocking.iter().all(|b| {
            got.get(&(*toi, b.sbn)).map_or(0, |s| s.len() as u32)
                >= b.source_symbols + overhead(c.scheme.as_ref())
        });
        // The sender lists an object only in the FDT instances sent while it is live
        // (Full FDT mode), so an FDT loss can leave it undescribed: that is a clean
        // failure (NoFdtEntry), or no event at all for a 0-byte object (it has no packets).
        let fdt_entry_lost = matches!(out.failed.get(toi), Some(FailReason::NoFdtEntry))
            || (data.is_empty() && !out.started.contains(toi));
        assert!(
            !(fdt_ok && covered && !fdt_entry_lost),
            "{label}: TOI {toi} ({} bytes) covered but not delivered: {:?}",
            data.len(),
            out.failed.get(toi)
        );
        assert!(
            out.failed.contains_key(toi) || !out.started.contains(toi),
            "{label}: TOI {toi} started, neither delivered nor failed"
        );
    }
    if c.loss == "0" {
        assert_eq!(delivered, objects.len(), "{label}: {:?}", out.failed);
    }
    assert_eq!(stats.buffered_bytes, 0, "{label}: budget leak");
    assert_eq!(stats.active_objects, 0, "{label}");
    assert!(out.session_closed, "{label}: close-session seen");
    eprintln!(
        "{label}: delivered {delivered}/{} failed {} channel {:?}",
        objects.len(),
        out.failed.len(),
        ch.stats()
    );
}

#[test]
fn sender_to_receiver_every_scheme_over_the_loss_matrix() {
    let registry = FecRegistry::with_builtin();
    let losses: [(&str, ChannelConfig); 4] = [
        ("0", ChannelConfig::perfect()),
        ("5%", ChannelConfig::uniform(0.05)),
        ("20%", ChannelConfig::uniform(0.20)),
        (
            "burst",
            ChannelConfig::bursty(0.05, 6.0)
                .with_reorder(0.1, Duration::from_millis(2))
                .with_duplicates(0.02),
        ),
    ];
    for scheme in registry.iter() {
        for (loss, chan) in losses {
            for many in [false, true] {
                for interleave in [1, 4] {
                    run_case(&Case {
                        scheme,
                        loss,
                        chan,
                        many,
                        interleave,
                    });
                }
            }
        }
    }
    let _ = SystemTime::UNIX_EPOCH;
}

#[test]
fn sender_content_encodings_with_md5_are_delivered() {
    use flute_sender::ContentEncoding;
    #[allow(unused_mut)]
    let mut encodings = vec![
        ContentEncoding::Null,
        ContentEncoding::Zlib,
        ContentEncoding::Deflate,
        ContentEncoding::Gzip,
    ];
    // flute-sender's opt-in zstd, decoded by this crate's `zstd` feature.
    #[cfg(feature = "zstd")]
    encodings.push(ContentEncoding::Zstd);
    for enc in encodings {
        let mut clock = VirtualClock::new();
        let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let scfg = SenderConfig::new(Tsi(3), Arc::new(AnchoredClock::new(clock.now(), wall)));
        let mut tx = Sender::new(scfg).unwrap();
        let text: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let obj = Object::from_bytes("text.bin", Bytes::from(text.clone()))
            .content_encoding(enc)
            .content_md5(true);
        tx.insert_object(obj, clock.now()).unwrap();
        tx.close();
        let mut rx = Receiver::new(ReceiverConfig::default());
        let mut out = Outcome::default();
        let mut ch = Channel::new(ChannelConfig::perfect(), 1);
        drive_sender(
            &mut clock,
            &mut ch,
            &mut tx,
            Duration::from_secs(60),
            |now, p| {
                rx.handle_datagram(now, Endpoint::default(), &p.bytes);
                drain(&mut rx, &mut out);
            },
        );
        assert_eq!(out.delivered.len(), 1, "{enc:?}: {:?}", out.failed);
        assert_eq!(
            &out.delivered.values().next().unwrap()[..],
            &text[..],
            "{enc:?}"
        );
    }
}

/// TOIs wider than 64 bits (RFC 5651 §5.1: up to 112 bits, O = 3 and H = 1): objects with
/// TOI 2^64 + 7 (RaptorQ, 5 % loss, 50 % repair) and 2^112 - 1 (No-Code, Content-MD5) are
/// delivered under their full TOI, and `missing` answers for them mid-transfer.
#[test]
fn toi_112_bits_is_delivered() {
    use flute_sender::Toi;
    let wide = (1u128 << 64) + 7;
    let max = (1u128 << 112) - 1;
    let registry = FecRegistry::with_builtin();
    let raptorq = registry
        .get(fec_schemes::FecEncodingId::RAPTORQ, None)
        .unwrap()
        .clone();
    let mut clock = VirtualClock::new();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let scfg = SenderConfig::new(Tsi(9), Arc::new(AnchoredClock::new(clock.now(), wall)));
    let mut tx = Sender::new(scfg).unwrap();
    let mut rng = Rng::new(112);
    let a = rng.bytes(20_000);
    let b = rng.bytes(7_000);
    let s = raptorq.clone();
    let ta = tx
        .insert_object(
            Object::from_bytes("wide.bin", Bytes::from(a.clone()))
                .toi(Toi(wide))
                .fec_with(move |l| make_oti(s.as_ref(), l, E, B, 0.5).expect("oti"))
                .repair(Repair::Percent(50)),
            clock.now(),
        )
        .unwrap();
    let tb = tx
        .insert_object(
            Object::from_bytes("max.bin", Bytes::from(b.clone()))
                .toi(Toi(max))
                .content_md5(true),
            clock.now(),
        )
        .unwrap();
    assert_eq!((ta.0, tb.0), (wide, max));
    tx.close();

    let mut rx = Receiver::new(ReceiverConfig::default());
    let mut out = Outcome::default();
    let mut ch = Channel::new(ChannelConfig::uniform(0.05), 112);
    let mut asked = false;
    drive_sender(
        &mut clock,
        &mut ch,
        &mut tx,
        Duration::from_secs(60),
        |now, p| {
            rx.handle_datagram(now, Endpoint::default(), &p.bytes);
            if !asked {
                if let Some(m) = rx.missing(Toi(wide)) {
                    assert!(!m.is_empty());
                    asked = true;
                }
            }
            drain(&mut rx, &mut out);
        },
    );
    assert!(asked, "missing(2^64 + 7) never answered");
    assert_eq!(out.failed, BTreeMap::new());
    assert_eq!(out.delivered.get(&wide).map(|x| &x[..]), Some(&a[..]));
    assert_eq!(out.delivered.get(&max).map(|x| &x[..]), Some(&b[..]));
    assert!(out.started.contains(&wide) && out.started.contains(&max));
    assert_eq!(
        rx.missing(Toi(wide)),
        None,
        "finished objects are not reported"
    );
    let st = rx.stats();
    assert_eq!(st.total.objects_completed, 2);
    for r in [
        DropReason::Malformed,
        DropReason::BadFti,
        DropReason::BadPayloadId,
    ] {
        assert_eq!(st.total.dropped(r), 0, "{r:?}");
    }
}
