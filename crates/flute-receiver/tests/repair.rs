//! File repair (3GPP TS 26.346 §9.3), sans-IO, on virtual time: `flute-sender` sends through
//! a burst-loss path, the receiver keeps what ended incomplete, asks for the missing symbols
//! ([`Receiver::repair_request`]), and completes the object from a repair body built by
//! `flute_repair::respond` ([`Receiver::handle_repair_symbols`]). Hostile bodies leave the
//! object incomplete; wrong data is caught by Content-MD5.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::{FecRegistry, Oti};
use flute_receiver::{
    Endpoint, FailReason, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent, RepairError,
    SessionId,
};
use flute_repair::{
    ContainerCodec, ContainerError, QueryLimits, RepairQuery, ResponseLimits, respond,
};
use flute_sender::{AnchoredClock, Object, Repair, Sender, SenderConfig, Tsi};
use flute_testkit::{Channel, ChannelConfig, Rng, VirtualClock, drive_sender};

struct Sent {
    toi: u128,
    data: Vec<u8>,
    oti: Oti,
}

struct Run {
    rx: Receiver,
    clock: VirtualClock,
    sent: Vec<Sent>,
    events: Vec<ReceiverEvent>,
}

fn drain(rx: &mut Receiver, events: &mut Vec<ReceiverEvent>) {
    // With `decode_jobs`, the jobs run here, in place.
    while let Some(job) = rx.poll_work() {
        rx.complete(job.run());
    }
    while let Some(ev) = rx.poll_event() {
        events.push(ev);
    }
}

/// Sends `objects` (data, OTI, repair %) with Content-MD5 and drops data packets for which
/// `lose(index_of_the_packet_in_its_object, toi)` is true; FDT packets always arrive. Then
/// runs the receiver's timers until every session has ended.
fn send(
    objects: Vec<(Vec<u8>, Oti, u32)>,
    cfg: ReceiverConfig,
    lose: impl Fn(u64, u64) -> bool,
    close: bool,
) -> Run {
    send_with(objects, cfg, lose, close, Vec::new())
}

/// [`send`] with extension elements in the sender's FDT instances.
fn send_with(
    objects: Vec<(Vec<u8>, Oti, u32)>,
    cfg: ReceiverConfig,
    lose: impl Fn(u64, u64) -> bool,
    close: bool,
    fdt_extensions: Vec<fdt::XmlElement>,
) -> Run {
    let mut clock = VirtualClock::new();
    let wall = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scfg = SenderConfig::new(Tsi(3), Arc::new(AnchoredClock::new(clock.now(), wall)));
    scfg.fdt_extensions = fdt_extensions;
    let mut tx = Sender::new(scfg).unwrap();
    let mut sent = Vec::new();
    for (i, (data, oti, repair)) in objects.into_iter().enumerate() {
        let o = oti.clone();
        let mut obj = Object::from_bytes(format!("dir/file {i}.bin"), Bytes::from(data.clone()))
            .fec_with(move |_| o.clone())
            .content_md5(true);
        if repair > 0 {
            obj = obj.repair(Repair::Percent(repair));
        }
        let toi = tx.insert_object(obj, clock.now()).unwrap().0;
        sent.push(Sent { toi, data, oti });
    }
    if close {
        tx.close();
    }
    let mut rx = Receiver::new(cfg);
    let mut events = Vec::new();
    let mut ch: Channel<flute_testkit::Tagged> = Channel::new(ChannelConfig::perfect(), 1);
    let mut index: std::collections::HashMap<u64, u64> = Default::default();
    let limit = if close { 600 } else { 5 };
    drive_sender(
        &mut clock,
        &mut ch,
        &mut tx,
        Duration::from_secs(limit),
        |now, p| {
            if p.toi != 0 {
                let i = index.entry(p.toi).or_default();
                *i += 1;
                if lose(*i - 1, p.toi) {
                    return;
                }
            }
            rx.handle_datagram(now, Endpoint::default(), &p.bytes);
            drain(&mut rx, &mut events);
        },
    );
    while let Some(t) = rx.poll_timeout() {
        clock.advance_to(t);
        rx.handle_timeout(clock.now());
        drain(&mut rx, &mut events);
        if rx.stats().sessions.is_empty() {
            break;
        }
    }
    Run {
        rx,
        clock,
        sent,
        events,
    }
}

/// 30 % of each object's data packets lost, in bursts of 10.
fn burst30(i: u64, _toi: u64) -> bool {
    (i / 10) % 10 < 3
}

fn repair_cfg() -> ReceiverConfig {
    {
        let mut c = ReceiverConfig::default();
        c.repair_max_objects = 8;
        c
    }
}

fn data(n: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

/// The body a correct repair server sends for `q` about `s`.
fn serve(s: &Sent, q: &RepairQuery) -> Vec<u8> {
    let reg = FecRegistry::with_builtin();
    let scheme = reg.for_oti(&s.oti).unwrap();
    let codec = ContainerCodec::new(&**scheme, &s.oti).unwrap();
    let limits = ResponseLimits {
        max_symbols: 1 << 20,
    };
    respond(&codec, q, &limits, &mut |off, buf| {
        let off = off as usize;
        buf.copy_from_slice(&s.data[off..off + buf.len()]);
        Ok(())
    })
    .unwrap()
}

fn incomplete(events: &[ReceiverEvent]) -> Vec<(SessionId, u128, FailReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            ReceiverEvent::ObjectIncomplete {
                session,
                toi,
                reason,
                ..
            } => Some((*session, toi.0, reason.clone())),
            _ => None,
        })
        .collect()
}

fn completed(events: &[ReceiverEvent], toi: u128) -> Option<Bytes> {
    events.iter().find_map(|e| match e {
        ReceiverEvent::ObjectComplete {
            toi: t,
            location: ObjectLocation::Memory(b),
            ..
        } if *t == flute_receiver::Toi(toi) => Some(b.clone()),
        _ => None,
    })
}

/// Repairs every incomplete object from a correct server; returns the number repaired.
fn repair_all(run: &mut Run) -> usize {
    let mut n = 0;
    for (session, toi, _) in incomplete(&run.events) {
        let q = run
            .rx
            .repair_request_in(&session, flute_receiver::Toi(toi))
            .unwrap();
        // The query survives its wire form (GET or POST body alike).
        let q = RepairQuery::parse(&q.encode(), &QueryLimits::default()).unwrap();
        let s = run.sent.iter().find(|s| s.toi == toi).unwrap();
        assert_eq!(q.file_uri, format!("dir/file {}.bin", toi - 1));
        let body = serve(s, &q);
        let p = run
            .rx
            .handle_repair_symbols(&session, flute_receiver::Toi(toi), &body)
            .unwrap();
        assert!(p.finished, "TOI {toi}: {p:?}");
        drain(&mut run.rx, &mut run.events);
        let got = completed(&run.events, toi).expect("repaired object delivered");
        assert_eq!(&got[..], &s.data[..], "TOI {toi} byte-identical");
        n += 1;
    }
    n
}

/// TS 26.346 §9.3: a Compact No-Code object that lost 30 % of its packets in bursts ends
/// incomplete when the session closes, and is completed from the repair server, byte for
/// byte, with its Content-MD5 checked.
#[test]
fn ts26346_9_3_no_code_object_completed_by_repair_after_30pct_burst_loss() {
    let d = data(300_000, 1);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let mut run = send(vec![(d, oti, 0)], repair_cfg(), burst30, true);
    let inc = incomplete(&run.events);
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].2, FailReason::SessionClosed);
    assert!(
        !run.events
            .iter()
            .any(|e| matches!(e, ReceiverEvent::ObjectFailed { .. }))
    );
    let q = run
        .rx
        .repair_request(flute_receiver::Toi(inc[0].1))
        .unwrap();
    // Exactly the missing source symbols: 30 % of the 300 symbols.
    let asked: u64 = q
        .parts
        .iter()
        .map(|p| p.sbn.len() * p.esi.iter().map(|r| r.len()).sum::<u64>())
        .sum();
    assert_eq!(asked, 90, "{q:?}");
    assert_eq!(repair_all(&mut run), 1);
    let st = run.rx.repair_stats();
    assert_eq!(st.repaired_objects, 1);
    assert_eq!(st.symbols_accepted, 90);
    assert_eq!(st.parked_objects, 0);
    assert_eq!(st.parked_bytes, 0);
    assert!(run.rx.repair_pending().is_empty());
}

/// TS 26.346 §9.3 with RaptorQ (10 % repair overhead, 30 % burst loss): the blocks the
/// overhead did not cover are completed from source symbols.
#[test]
fn ts26346_9_3_raptorq_object_completed_by_repair_after_30pct_burst_loss() {
    let d = data(400_000, 2);
    let oti = RaptorQ::oti_for(d.len() as u64, 1000, 100).unwrap();
    let mut run = send(vec![(d, oti, 10)], repair_cfg(), burst30, true);
    assert_eq!(incomplete(&run.events).len(), 1);
    assert_eq!(repair_all(&mut run), 1);
}

/// Several objects, a timeout instead of close-session: the sender stops half-way (no A
/// flag), the objects time out, are kept, and are repaired.
#[test]
fn ts26346_9_3_objects_that_time_out_are_repaired() {
    let objects = (0..3)
        .map(|i| {
            let d = data(50_000 + i * 1000, 10 + i as u64);
            let oti = CompactNoCode::oti(d.len() as u64, 1000, 16);
            (d, oti, 0)
        })
        .collect();
    // Everything after the 20th packet of each object is lost.
    let mut run = send(objects, repair_cfg(), |i, _| i >= 20, false);
    let inc = incomplete(&run.events);
    assert_eq!(inc.len(), 3);
    assert!(
        inc.iter()
            .all(|i| matches!(i.2, FailReason::Timeout { .. }))
    );
    assert_eq!(repair_all(&mut run), 3);
}

/// A server that sends the right structure with the wrong bytes: Content-MD5 catches it,
/// the object fails, nothing corrupt is delivered.
#[test]
fn lying_repair_server_is_caught_by_content_md5() {
    lying_repair_server(repair_cfg());
}

/// The same with decode jobs (issue 19 §1): the object's Content-MD5 ran in content jobs
/// apart from its writes until it was kept for repair; the hash comes back with it, and
/// still catches the wrong bytes (RFC 6726 §3.4.2).
#[test]
fn lying_repair_server_is_caught_by_content_md5_with_jobs() {
    let mut cfg = repair_cfg();
    cfg.decode_jobs = true;
    lying_repair_server(cfg);
}

/// TS 26.346 §9.3 with decode jobs: an object kept for repair is completed, its
/// Content-MD5 (hashed in content jobs before it was kept) checked.
#[test]
fn ts26346_9_3_repair_with_decode_jobs() {
    let d = data(300_000, 1);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let mut cfg = repair_cfg();
    cfg.decode_jobs = true;
    let mut run = send(vec![(d, oti, 0)], cfg, burst30, true);
    assert_eq!(incomplete(&run.events).len(), 1);
    assert_eq!(repair_all(&mut run), 1);
}

fn lying_repair_server(cfg: ReceiverConfig) {
    let d = data(60_000, 3);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let mut run = send(vec![(d, oti, 0)], cfg, burst30, true);
    let (session, toi, _) = incomplete(&run.events)[0].clone();
    let q = run.rx.repair_request(flute_receiver::Toi(toi)).unwrap();
    let s = &run.sent[0];
    let reg = FecRegistry::with_builtin();
    let scheme = reg.for_oti(&s.oti).unwrap();
    let codec = ContainerCodec::new(&**scheme, &s.oti).unwrap();
    let body = respond(&codec, &q, &ResponseLimits::default(), &mut |_, buf| {
        buf.fill(0x5A);
        Ok(())
    })
    .unwrap();
    let p = run
        .rx
        .handle_repair_symbols(&session, flute_receiver::Toi(toi), &body)
        .unwrap();
    assert!(p.finished);
    drain(&mut run.rx, &mut run.events);
    assert!(completed(&run.events, toi).is_none());
    assert!(run.events.iter().any(|e| matches!(
        e,
        ReceiverEvent::ObjectFailed {
            reason: FailReason::Md5Mismatch,
            ..
        }
    )));
}

/// Hostile bodies (TS 26.346 §9.3.6 container rules): wrong length indicators, symbols of
/// the wrong size, Payload IDs outside the object, truncation, each refused whole with a
/// typed error; the object stays incomplete and a correct body still completes it.
#[test]
fn hostile_repair_bodies_leave_the_object_incomplete() {
    let d = data(60_000, 4);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let mut run = send(vec![(d, oti.clone(), 0)], repair_cfg(), burst30, true);
    let (session, toi, _) = incomplete(&run.events)[0].clone();
    let q = run.rx.repair_request(flute_receiver::Toi(toi)).unwrap();
    let good = serve(&run.sent[0], &q);
    let pid = 4; // Compact No-Code: 16-bit SBN, 16-bit ESI.

    // Wrong length indicator: one more symbol than the body holds.
    let mut more = good.clone();
    let li = u16::from_be_bytes([more[0], more[1]]) + 1;
    more[..2].copy_from_slice(&li.to_be_bytes());
    // Symbols of the wrong size: the same groups written with T = 999.
    let mut short = Vec::new();
    let reg = FecRegistry::with_builtin();
    let scheme = reg.for_oti(&oti).unwrap();
    let mut codec_oti = oti.clone();
    codec_oti.encoding_symbol_length = 999;
    let wrong_t = ContainerCodec::new(&**scheme, &codec_oti).unwrap();
    let sym = vec![1u8; 999];
    wrong_t
        .write_group(
            &fec_schemes::PayloadId {
                sbn: 0,
                esi: 0,
                source_block_length: None,
            },
            &sym,
            &mut short,
        )
        .unwrap();
    // Payload ID outside the object: SBN 1 of a one-block object.
    let mut outside = good.clone();
    outside[2..4].copy_from_slice(&1u16.to_be_bytes());
    // ESI outside the block.
    let mut esi_out = good.clone();
    esi_out[4..6].copy_from_slice(&60u16.to_be_bytes());
    // A zero length indicator.
    let mut zero = good.clone();
    zero[..2].copy_from_slice(&[0, 0]);
    // Truncated by one byte, and cut inside the header.
    let truncated = good[..good.len() - 1].to_vec();
    let cut_header = good[..pid].to_vec();

    let before = run.rx.repair_request(flute_receiver::Toi(toi)).unwrap();
    for (name, body) in [
        ("length indicator", &more),
        ("symbol size", &short),
        ("SBN outside", &outside),
        ("ESI outside", &esi_out),
        ("zero length indicator", &zero),
        ("truncated", &truncated),
        ("cut header", &cut_header),
    ] {
        let e = run
            .rx
            .handle_repair_symbols(&session, flute_receiver::Toi(toi), body)
            .unwrap_err();
        assert!(matches!(e, RepairError::Container(_)), "{name}: {e:?}");
        drain(&mut run.rx, &mut run.events);
        assert!(completed(&run.events, toi).is_none(), "{name}");
        assert_eq!(
            run.rx.repair_request(flute_receiver::Toi(toi)).unwrap(),
            before,
            "{name}"
        );
    }
    assert!(matches!(
        run.rx
            .handle_repair_symbols(&session, flute_receiver::Toi(toi), &truncated),
        Err(RepairError::Container(ContainerError::Truncated { .. }))
    ));
    assert_eq!(run.rx.repair_stats().bodies_refused, 8);
    // An empty body is valid and changes nothing.
    let p = run
        .rx
        .handle_repair_symbols(&session, flute_receiver::Toi(toi), &[])
        .unwrap();
    assert_eq!(p.symbols_accepted, 0);
    // Unknown object.
    assert!(matches!(
        run.rx
            .handle_repair_symbols(&session, flute_receiver::Toi(toi + 1), &good),
        Err(RepairError::UnknownObject { .. })
    ));
    // The correct body still completes the object.
    assert!(
        run.rx
            .handle_repair_symbols(&session, flute_receiver::Toi(toi), &good)
            .unwrap()
            .finished
    );
    drain(&mut run.rx, &mut run.events);
    assert_eq!(
        &completed(&run.events, toi).unwrap()[..],
        &run.sent[0].data[..]
    );
}

/// A partial answer (the server chooses what it sends): the request shrinks to what is
/// still missing, and a second answer completes the object.
#[test]
fn partial_answers_shrink_the_request() {
    let d = data(200_000, 5);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 50);
    let mut run = send(vec![(d, oti, 0)], repair_cfg(), burst30, true);
    let (session, toi, _) = incomplete(&run.events)[0].clone();
    let q = run.rx.repair_request(flute_receiver::Toi(toi)).unwrap();
    assert!(q.parts.len() >= 2, "{q:?}");
    let first = RepairQuery {
        file_uri: q.file_uri.clone(),
        parts: q.parts[..1].to_vec(),
    };
    let p = run
        .rx
        .handle_repair_symbols(
            &session,
            flute_receiver::Toi(toi),
            &serve(&run.sent[0], &first),
        )
        .unwrap();
    assert!(!p.finished);
    assert!(p.symbols_accepted > 0);
    let rest = run.rx.repair_request(flute_receiver::Toi(toi)).unwrap();
    assert_eq!(rest.parts, q.parts[1..].to_vec());
    // The same answer again is accepted as duplicates and changes nothing.
    let again = run
        .rx
        .handle_repair_symbols(
            &session,
            flute_receiver::Toi(toi),
            &serve(&run.sent[0], &first),
        )
        .unwrap();
    assert_eq!(again.symbols_accepted, 0);
    assert_eq!(repair_all(&mut run), 1);
}

#[test]
fn repair_is_off_by_default_and_objects_fail_as_before() {
    let d = data(60_000, 6);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let run = send(vec![(d, oti, 0)], ReceiverConfig::default(), burst30, true);
    assert!(incomplete(&run.events).is_empty());
    assert!(run.events.iter().any(|e| matches!(
        e,
        ReceiverEvent::ObjectFailed {
            reason: FailReason::SessionClosed,
            ..
        }
    )));
    assert_eq!(run.rx.repair_request(flute_receiver::Toi(1)), None);
    assert_eq!(run.rx.stats().buffered_bytes, 0);
}

/// The kept objects are bounded by count and by bytes; beyond, objects fail as before.
#[test]
fn repair_limits_bound_what_is_kept() {
    let objects: Vec<_> = (0..3)
        .map(|i| {
            let d = data(60_000, 20 + i);
            let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
            (d, oti, 0)
        })
        .collect();
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.repair_max_objects = 2;
        c
    };
    let run = send(objects.clone(), cfg, burst30, true);
    assert_eq!(incomplete(&run.events).len(), 2);
    assert_eq!(run.rx.repair_stats().refused, 1);
    let failed = run
        .events
        .iter()
        .filter(|e| matches!(e, ReceiverEvent::ObjectFailed { .. }))
        .count();
    assert_eq!(failed, 1);
    // Each object holds one open block of 60 symbols of 1000 bytes: 100 kB fits one.
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.repair_max_objects = 8;
        c.repair_max_buffered_bytes = 100_000;
        c
    };
    let run = send(objects, cfg, burst30, true);
    assert_eq!(incomplete(&run.events).len(), 1);
    assert!(run.rx.repair_stats().parked_bytes <= 100_000);
    assert_eq!(run.rx.stats().buffered_bytes, 0, "live budget released");
}

#[test]
fn abandon_repair_fails_the_object_with_its_reason() {
    let d = data(60_000, 7);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let mut run = send(vec![(d, oti, 0)], repair_cfg(), burst30, true);
    let (session, toi, _) = incomplete(&run.events)[0].clone();
    assert!(run.rx.abandon_repair(&session, flute_receiver::Toi(toi)));
    assert!(!run.rx.abandon_repair(&session, flute_receiver::Toi(toi)));
    drain(&mut run.rx, &mut run.events);
    assert!(matches!(
        run.events.last(),
        Some(ReceiverEvent::ObjectFailed {
            reason: FailReason::SessionClosed,
            ..
        })
    ));
    assert_eq!(run.rx.repair_stats().parked_bytes, 0);
    assert_eq!(run.rx.repair_request(flute_receiver::Toi(toi)), None);
    let _ = run.clock.now();
}

/// TS 26.346 §9.3.1: the repair servers and back-off announced in the FDT (a
/// `postFileRepair` extension element put there by the sender) come with the kept object.
#[test]
fn ts26346_9_3_1_post_file_repair_announced_in_the_fdt_reaches_the_kept_object() {
    let announced = flute_repair::PostFileRepair {
        offset_time: Duration::from_secs(2),
        random_time_period: Duration::from_secs(7),
        service_uris: vec!["http://127.0.0.1:8080/repair".into()],
    };
    let d = data(60_000, 8);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let run = send_with(
        vec![(d, oti, 0)],
        repair_cfg(),
        burst30,
        true,
        vec![announced.to_element()],
    );
    let (session, toi, _) = incomplete(&run.events)[0].clone();
    assert_eq!(
        run.rx.repair_service(&session, flute_receiver::Toi(toi)),
        Some(&announced)
    );
    // Without the element, nothing is announced.
    let d = data(60_000, 9);
    let oti = CompactNoCode::oti(d.len() as u64, 1000, 64);
    let run = send(vec![(d, oti, 0)], repair_cfg(), burst30, true);
    let (session, toi, _) = incomplete(&run.events)[0].clone();
    assert_eq!(
        run.rx.repair_service(&session, flute_receiver::Toi(toi)),
        None
    );
}
