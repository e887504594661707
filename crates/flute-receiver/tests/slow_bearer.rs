//! Slow bearers (issue 13 §1): a sender at 1 or 5 packets per second that sends a group of
//! interleaved source blocks first and their repair symbols afterwards. At such rates the
//! repair of already-decoded blocks can take minutes; those packets (and FDT repetitions)
//! are activity, so the receiver must not fail the object while it is still being sent.
//!
//! Everything runs on virtual time: each packet is stamped at its send time, and the
//! receiver's timers run between packets exactly as `flute-io`'s loop runs them
//! (`handle_timeout` whenever `poll_timeout` is due). Two senders: the `flute` crate 1.11.7
//! (its default configuration: 4 blocks interleaved, then their repair), the workspace's
//! own `flute-sender` (paced, 4 blocks interleaved) and the testkit's `MiniSender` with the
//! same order. RS (FEC Encoding ID 5) and RaptorQ (6), 0 % and 5 %
//! loss, a file of 20 source blocks, 1 and 5 packets per second.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fec_schemes::FecScheme;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::schemes::rs::RsGf28;
use flute_receiver::{
    Endpoint, FixedWallClock, MemorySink, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_testkit::{MiniSender, ObjectSpec, Rng};

/// Symbol length and source block length: 20 blocks of 100 symbols of 64 bytes.
const E: u16 = 64;
const K: u32 = 100;
const BLOCKS: usize = 20;
/// Repair symbols per block (25 %).
const REPAIR: u32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Rs,
    RaptorQ,
}

fn content() -> Vec<u8> {
    let mut rng = Rng::new(0x5105);
    rng.bytes(BLOCKS * K as usize * usize::from(E))
}

fn wall_start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The `flute` crate's sender with its default configuration except for the FDT carousel
/// (repeated every 10 s instead of every second: at 1 packet/s its default would leave no
/// room for data), read at `rate` packets per second of virtual wall-clock time, until every
/// symbol of the object was sent once. Returns (send time since start, datagram).
fn their_packets(scheme: Scheme, data: &[u8], rate: u32) -> Vec<(Duration, Vec<u8>)> {
    use flute_peer::core::{Oti, UDPEndpoint};
    use flute_peer::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
    let oti = match scheme {
        Scheme::Rs => Oti::new_reed_solomon_rs28(E, K as u8, REPAIR as u8).unwrap(),
        Scheme::RaptorQ => Oti::new_raptorq(E, K as u16, REPAIR as u16, 1, 4).unwrap(),
    };
    let ep = UDPEndpoint::new(None, "239.255.3.4".to_owned(), 3400);
    let config = Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(Duration::from_secs(10)),
        ..Config::default()
    };
    let mut tx = Sender::new(ep, 9, &oti, &config);
    let obj = ObjectDesc::create_from_buffer(
        data.to_vec(),
        "application/octet-stream",
        &url::Url::parse("file:///slow/a.bin").unwrap(),
        true,
        TransferConfig::builder().build(),
    )
    .unwrap();
    let t0 = wall_start();
    tx.add_object(0, obj).unwrap();
    tx.publish(t0).unwrap();
    let step = Duration::from_secs(1) / rate;
    let symbols = BLOCKS * (K + REPAIR) as usize;
    let mut out = Vec::new();
    let mut data_packets = 0;
    let mut at = Duration::ZERO;
    while data_packets < symbols && out.len() < 20_000 {
        if let Some(p) = tx.read(t0 + at) {
            let toi = lct_header::LctPacket::new_checked(&p[..])
                .ok()
                .and_then(|l| l.toi());
            if toi.is_some_and(|t| t.0 != 0) {
                data_packets += 1;
            }
            out.push((at, p));
        }
        at += step;
    }
    assert_eq!(
        data_packets, symbols,
        "the flute crate sent the whole object once"
    );
    out
}

/// The testkit's sender in the same order as the `flute` crate's default: groups of 4
/// blocks, each group's source symbols interleaved, then the group's repair symbols. The
/// FDT goes first and is repeated every 60 s of the transmission.
fn testkit_packets(scheme: Scheme, data: &[u8], rate: u32) -> Vec<(Duration, Vec<u8>)> {
    let s: Arc<dyn FecScheme> = match scheme {
        Scheme::Rs => Arc::new(RsGf28),
        Scheme::RaptorQ => Arc::new(RaptorQ),
    };
    let mut tx = MiniSender::new(9, s);
    tx.add(
        ObjectSpec::new(1, "file:///slow/a.bin", data.to_vec())
            .symbol_length(E)
            .max_block(K)
            .repair(f64::from(REPAIR) / f64::from(K)),
    );
    let fdt = tx.fdt_packets();
    // Per block: (source packets, repair packets).
    type Packets = Vec<Vec<u8>>;
    let mut by_block: Vec<(Packets, Packets)> = vec![(Vec::new(), Vec::new()); BLOCKS];
    for p in tx.object_packets(1) {
        let (sbn, esi) = sbn_esi(&p);
        let slot = &mut by_block[sbn as usize];
        if esi < K {
            slot.0.push(p)
        } else {
            slot.1.push(p)
        }
    }
    let mut order: Vec<Vec<u8>> = Vec::new();
    for group in by_block.chunks(4) {
        for part in [0, 1] {
            let lists: Vec<&Vec<Vec<u8>>> = group
                .iter()
                .map(|b| if part == 0 { &b.0 } else { &b.1 })
                .collect();
            let longest = lists.iter().map(|l| l.len()).max().unwrap_or(0);
            for i in 0..longest {
                for l in &lists {
                    if let Some(p) = l.get(i) {
                        order.push(p.clone());
                    }
                }
            }
        }
    }
    let step = Duration::from_secs(1) / rate;
    let mut out = Vec::new();
    let mut at = Duration::ZERO;
    let mut next_fdt = Duration::ZERO;
    for p in order {
        if at >= next_fdt {
            for f in &fdt {
                out.push((at, f.clone()));
                at += step;
            }
            next_fdt = at + Duration::from_secs(60);
        }
        out.push((at, p));
        at += step;
    }
    out
}

/// The workspace's own sender (`flute-sender`), paced to `rate` packets per second of
/// virtual time (E = 64: one packet is 64 bytes of symbol, 20 of ALC header, 16 of EXT_FTI
/// and 28 of IP and UDP), 4 blocks interleaved (their source symbols, then their repair), the
/// FDT repeated every 10 s.
fn our_sender_packets(scheme: Scheme, data: &[u8], rate: u32) -> Vec<(Duration, Vec<u8>)> {
    use flute_sender::{
        AnchoredClock, FdtCarousel, Object, Pacing, Repair, Sender, SenderConfig, Tsi,
    };
    let base = Instant::now();
    let mut cfg = SenderConfig::new(Tsi(9), Arc::new(AnchoredClock::new(base, wall_start())));
    cfg.symbol_length = E;
    cfg.fdt_carousel = FdtCarousel {
        interval: Some(Duration::from_secs(10)),
        ..FdtCarousel::default()
    };
    let mut pacing = Pacing::wire(u64::from(rate) * (64 + 20 + 16 + 28) * 8);
    pacing.burst_bytes = 1;
    cfg.pacing = Some(pacing);
    let mut tx = Sender::new(cfg).unwrap();
    let len = data.len() as u64;
    let oti = match scheme {
        Scheme::Rs => RsGf28.oti_for(len, E, Some(K), f64::from(REPAIR) / f64::from(K)),
        Scheme::RaptorQ => RaptorQ.oti_for(len, E, Some(K), 0.0),
    }
    .unwrap();
    tx.insert_object(
        Object::from_bytes("file:///slow/a.bin", bytes::Bytes::from(data.to_vec()))
            .fec(oti)
            .repair(Repair::Count(REPAIR))
            .interleave(4),
        base,
    )
    .unwrap();
    tx.close();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1500];
    let mut now = base;
    while !tx.is_closed() && out.len() < 20_000 {
        match tx.poll_transmit(now, &mut buf) {
            Some(t) => out.push((now - base, buf[..t.len].to_vec())),
            None => match tx.poll_timeout() {
                Some(t) => now = t.max(now),
                None => break,
            },
        }
    }
    out
}

/// (SBN, ESI) of a data packet of the 16-byte-header form the testkit writes (no extension
/// except, on some packets, EXT_FTI): both schemes here have SBN|ESI Payload IDs.
fn sbn_esi(p: &[u8]) -> (u32, u32) {
    let hdr = usize::from(p[2]) * 4;
    let id = u32::from_be_bytes(p[hdr..hdr + 4].try_into().unwrap());
    match p[3] {
        5 => (id >> 8, id & 0xFF),
        _ => (id >> 24, id & 0x00FF_FFFF),
    }
}

/// Feeds the timed packets (after seeded loss) to a receiver with the default configuration,
/// running its timers between packets as an I/O loop would, then for another 10 minutes.
/// Returns the completed object's bytes and the failure reasons seen.
fn receive(
    packets: &[(Duration, Vec<u8>)],
    loss: f64,
    seed: u64,
) -> (Option<Vec<u8>>, Vec<String>) {
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.wall_clock = Some(Arc::new(FixedWallClock(wall_start())));
        c
    };
    let mut rx = Receiver::with_sink(cfg, Box::new(MemorySink));
    let ep = Endpoint {
        source: Some("192.0.2.1:4000".parse::<SocketAddr>().unwrap().ip()),
        destination: "239.255.3.4:3400".parse().unwrap(),
    };
    let base = Instant::now();
    let mut rng = Rng::new(seed);
    let mut done = None;
    let mut failed = Vec::new();
    let mut collect = |rx: &mut Receiver| {
        while let Some(ev) = rx.poll_event() {
            match ev {
                ReceiverEvent::ObjectComplete {
                    location: ObjectLocation::Memory(b),
                    ..
                } => done = Some(b.to_vec()),
                ReceiverEvent::ObjectFailed { reason, .. } => failed.push(reason.to_string()),
                _ => {}
            }
        }
    };
    let run_timers = |rx: &mut Receiver, until: Instant| {
        while let Some(t) = rx.poll_timeout() {
            if t > until {
                break;
            }
            rx.handle_timeout(t);
        }
    };
    for (at, p) in packets {
        let now = base + *at;
        run_timers(&mut rx, now);
        collect(&mut rx);
        if rng.chance(loss) {
            continue;
        }
        rx.handle_datagram(now, ep, p);
        collect(&mut rx);
    }
    let end = base + packets.last().map_or(Duration::ZERO, |p| p.0) + Duration::from_secs(600);
    run_timers(&mut rx, end);
    collect(&mut rx);
    (done, failed)
}

fn check(sender: &str, scheme: Scheme, rate: u32, loss: f64) {
    let data = content();
    let packets = match sender {
        "flute-crate" => their_packets(scheme, &data, rate),
        "flute-sender" => our_sender_packets(scheme, &data, rate),
        _ => testkit_packets(scheme, &data, rate),
    };
    let span = packets.last().unwrap().0;
    // The case must really be slow: longer than the receiver's 30 s object idle timeout
    // just for one group's repair, which is what used to fail.
    assert!(
        span > Duration::from_secs(300),
        "{sender} {scheme:?} {rate}/s: {span:?}"
    );
    let (got, failed) = receive(&packets, loss, 0xB0 + u64::from(rate));
    assert!(
        failed.is_empty(),
        "{sender} {scheme:?} at {rate} packets/s, {loss} loss: failed {} times, first {:?} ({} packets over {span:?})",
        failed.len(),
        &failed[..failed.len().min(3)],
        packets.len()
    );
    let got = got.unwrap_or_else(|| {
        panic!("{sender} {scheme:?} at {rate} packets/s, {loss} loss: not delivered")
    });
    assert!(got == data, "{sender} {scheme:?}: delivered bytes differ");
}

#[test]
fn flute_crate_sender_at_1_and_5_packets_per_second_rs() {
    for rate in [1, 5] {
        for loss in [0.0, 0.05] {
            check("flute-crate", Scheme::Rs, rate, loss);
        }
    }
}

#[test]
fn flute_crate_sender_at_1_and_5_packets_per_second_raptorq() {
    for rate in [1, 5] {
        for loss in [0.0, 0.05] {
            check("flute-crate", Scheme::RaptorQ, rate, loss);
        }
    }
}

#[test]
fn testkit_sender_at_1_and_5_packets_per_second_rs() {
    for rate in [1, 5] {
        for loss in [0.0, 0.05] {
            check("testkit", Scheme::Rs, rate, loss);
        }
    }
}

#[test]
fn testkit_sender_at_1_and_5_packets_per_second_raptorq() {
    for rate in [1, 5] {
        for loss in [0.0, 0.05] {
            check("testkit", Scheme::RaptorQ, rate, loss);
        }
    }
}

#[test]
fn our_sender_at_1_and_5_packets_per_second_rs_and_raptorq() {
    for scheme in [Scheme::Rs, Scheme::RaptorQ] {
        for rate in [1, 5] {
            for loss in [0.0, 0.05] {
                check("flute-sender", scheme, rate, loss);
            }
        }
    }
}

/// An FDT Instance that still lists the object is activity: the object's own packets pause
/// for 5 minutes (the carousel is busy elsewhere) while the FDT is repeated every 10 s, and
/// the object is completed when its packets come back.
#[test]
fn fdt_repetitions_keep_a_paused_object_alive() {
    let data = content();
    let mut tx = MiniSender::new(9, Arc::new(RsGf28));
    tx.add(
        ObjectSpec::new(1, "file:///slow/a.bin", data.clone())
            .symbol_length(E)
            .max_block(K)
            .repair(0.0),
    );
    let fdt = tx.fdt_packets();
    let obj = tx.object_packets(1);
    let half = obj.len() / 2;
    let mut packets = Vec::new();
    let mut at = Duration::ZERO;
    let mut push = |p: &Vec<u8>, at: &mut Duration, step: Duration| {
        packets.push((*at, p.clone()));
        *at += step;
    };
    for f in &fdt {
        push(f, &mut at, Duration::from_millis(10));
    }
    for p in &obj[..half] {
        push(p, &mut at, Duration::from_millis(10));
    }
    for _ in 0..30 {
        for f in &fdt {
            push(f, &mut at, Duration::from_secs(10));
        }
    }
    for p in &obj[half..] {
        push(p, &mut at, Duration::from_millis(10));
    }
    let (got, failed) = receive(&packets, 0.0, 1);
    assert!(failed.is_empty(), "failed {failed:?}");
    assert!(got.as_deref() == Some(&data[..]), "not delivered intact");
}

/// The converse, so the test above cannot pass vacuously: without FDT repetitions, a pause
/// longer than the object idle timeout, before any block was decoded, still fails the object.
#[test]
fn a_silent_pause_longer_than_the_idle_timeout_still_fails_the_object() {
    let data = content();
    let mut tx = MiniSender::new(9, Arc::new(RsGf28));
    tx.add(
        ObjectSpec::new(1, "file:///slow/a.bin", data)
            .symbol_length(E)
            .max_block(K)
            .repair(0.0),
    );
    let mut packets: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut at = Duration::ZERO;
    for f in tx.fdt_packets() {
        packets.push((at, f));
        at += Duration::from_millis(10);
    }
    let obj = tx.object_packets(1);
    for (i, p) in obj.into_iter().enumerate() {
        if i == 50 {
            at += Duration::from_secs(120);
        }
        packets.push((at, p));
        at += Duration::from_millis(10);
    }
    let (_, failed) = receive(&packets, 0.0, 2);
    assert!(
        failed.iter().any(|r| r.contains("time")),
        "expected an idle-timeout failure, got {failed:?}"
    );
}

/// A timeout never throws away blocks already decoded while the same TOI goes on arriving:
/// after the first block is decoded the sender falls silent for longer than the object idle
/// timeout (no FDT repetition either), then sends the rest of the object; the object is
/// completed, not failed and restarted from nothing.
#[test]
fn decoded_blocks_survive_a_silent_pause_longer_than_the_idle_timeout() {
    let data = content();
    let mut tx = MiniSender::new(9, Arc::new(RsGf28));
    tx.add(
        ObjectSpec::new(1, "file:///slow/a.bin", data.clone())
            .symbol_length(E)
            .max_block(K)
            .repair(0.0),
    );
    let mut packets: Vec<(Duration, Vec<u8>)> = Vec::new();
    let mut at = Duration::ZERO;
    for f in tx.fdt_packets() {
        packets.push((at, f));
        at += Duration::from_millis(10);
    }
    for (i, p) in tx.object_packets(1).into_iter().enumerate() {
        if i == usize::try_from(K).unwrap() {
            // Block 0 is decoded by now.
            at += Duration::from_secs(120);
        }
        packets.push((at, p));
        at += Duration::from_millis(10);
    }
    let (got, failed) = receive(&packets, 0.0, 3);
    assert!(failed.is_empty(), "failed {failed:?}");
    assert!(got.as_deref() == Some(&data[..]), "not delivered intact");
}
