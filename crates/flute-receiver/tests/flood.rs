//! Floods (issue 13 §4): junk sessions and junk TOIs must not lock out a real session.
//! Under table pressure the receiver evicts entries that made no progress first, then the
//! least recently useful, and never one that is delivering; memory stays within the
//! configured limits throughout. All on virtual time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use fec_schemes::{FecEncodingId, FecRegistry};
use flute_receiver::{
    CloseReason, DropReason, Endpoint, FailReason, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_testkit::{MiniSender, ObjectSpec, Rng, VirtualClock, flood_packet};

use common::{Outcome, drain};

const JUNK: usize = 150_000;

fn legit(tsi: u32, toi: u64, seed: u64) -> MiniSender {
    let s = FecRegistry::with_builtin()
        .get(FecEncodingId::RAPTORQ, None)
        .unwrap()
        .clone();
    let mut tx = MiniSender::new(tsi, s);
    tx.add(
        ObjectSpec::new(toi, "legit.bin", Rng::new(seed).bytes(200_000))
            .symbol_length(1400)
            .max_block(64)
            .repair(0.1),
    );
    tx
}

/// Checks the limits that bound the receiver's memory.
fn assert_bounded(rx: &Receiver) {
    let cfg = rx.config();
    let st = rx.stats();
    assert!(
        st.sessions.len() <= cfg.max_sessions,
        "{}",
        st.sessions.len()
    );
    assert!(st.active_objects <= cfg.max_concurrent_objects);
    assert!(st.buffered_bytes <= cfg.max_buffered_bytes);
    assert!(st.pending_bytes <= cfg.max_pending_bytes);
}

/// Feeds `packets` one every `pace` and drains events (dropping the junk's).
fn feed(
    rx: &mut Receiver,
    clock: &mut VirtualClock,
    out: &mut Outcome,
    packets: impl IntoIterator<Item = Vec<u8>>,
    pace: Duration,
) {
    let ep = Endpoint::default();
    for p in packets {
        clock.advance(pace);
        rx.handle_datagram(clock.now(), ep, &p);
        drain(rx, out);
        out.events.clear();
    }
}

#[test]
fn flood_of_junk_sessions_then_a_legitimate_session_is_delivered() {
    let mut rx = Receiver::new(ReceiverConfig::default());
    let mut clock = VirtualClock::new();
    let mut out = Outcome::default();
    let mut rng = Rng::new(13);
    // 150,000 junk packets in 15 s, each a fresh random TSI and TOI claiming a huge
    // RaptorQ object (nothing of it can ever be accepted).
    let mut n = 0;
    feed(
        &mut rx,
        &mut clock,
        &mut out,
        std::iter::from_fn(|| {
            n += 1;
            (n <= JUNK).then(|| flood_packet(&mut rng, None))
        }),
        Duration::from_micros(100),
    );
    assert_bounded(&rx);
    let st = rx.stats();
    assert_eq!(st.sessions.len(), rx.config().max_sessions);
    assert!(st.sessions_evicted >= (JUNK - 64) as u64, "{st:?}");
    assert_eq!(st.total.symbols_accepted, 0);
    assert!(st.total.dropped(DropReason::BlockBudget) > 0);
    assert_eq!(st.total.dropped(DropReason::SessionLimit), 0);
    // Then the real session, at 1000 packets per second.
    let tx = legit(7, 1, 1);
    feed(
        &mut rx,
        &mut clock,
        &mut out,
        tx.carousel_round(),
        Duration::from_millis(1),
    );
    assert_bounded(&rx);
    assert_eq!(
        out.delivered.get(&1).map(|b| &b[..]),
        Some(&tx.objects[0].data[..]),
        "failed: {:?}",
        out.failed.get(&1)
    );
    let st = rx.stats();
    assert_eq!(st.total.dropped(DropReason::SessionLimit), 0);
    assert!(st.total.objects_evicted >= (JUNK - 64) as u64);
    // The junk objects went as evicted, not as failures of their own.
    assert_eq!(st.total.objects_failed, 0);
}

#[test]
fn flood_of_tois_inside_the_legitimate_session_is_evicted_not_the_object() {
    let cfg = ReceiverConfig::default();
    let max_objects = cfg.max_concurrent_objects;
    let mut rx = Receiver::new(cfg);
    let mut clock = VirtualClock::new();
    let mut out = Outcome::default();
    let mut rng = Rng::new(14);
    let tx = legit(7, 1, 2);
    let packets = tx.carousel_round();
    // 20 junk TOIs in the same TSI between every two packets of the real object; the
    // junk starts first so that the object table is full when the real object begins.
    let mut mixed: Vec<Vec<u8>> = (0..2 * max_objects)
        .map(|_| flood_packet(&mut rng, Some(7)))
        .collect();
    for p in packets {
        mixed.push(p);
        mixed.extend((0..20).map(|_| flood_packet(&mut rng, Some(7))));
    }
    let junk = mixed.len() - tx.carousel_round().len();
    feed(
        &mut rx,
        &mut clock,
        &mut out,
        mixed,
        Duration::from_micros(200),
    );
    assert_bounded(&rx);
    assert_eq!(
        out.delivered.get(&1).map(|b| &b[..]),
        Some(&tx.objects[0].data[..]),
        "failed: {:?}",
        out.failed.get(&1)
    );
    let st = rx.stats();
    assert!(
        st.total.objects_evicted + max_objects as u64 >= junk as u64,
        "{st:?}"
    );
    assert_eq!(st.total.dropped(DropReason::ObjectLimit), 0);
    assert!(out.failed.values().all(|r| *r
        == FailReason::Evicted {
            made_progress: false
        }));
}

#[test]
fn a_delivering_session_is_never_evicted_the_newcomer_is_refused() {
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_sessions = 2;
        c
    };
    let mut rx = Receiver::new(cfg);
    let mut clock = VirtualClock::new();
    let mut out = Outcome::default();
    let mut rng = Rng::new(15);
    let a = legit(1, 1, 3).carousel_round();
    let b = legit(2, 2, 4).carousel_round();
    // Both real sessions make progress, then junk sessions try to get in between their
    // packets.
    let mut mixed = Vec::new();
    for (pa, pb) in a.iter().zip(&b) {
        mixed.push(pa.clone());
        mixed.push(pb.clone());
        mixed.push(flood_packet(&mut rng, None));
    }
    feed(
        &mut rx,
        &mut clock,
        &mut out,
        mixed,
        Duration::from_millis(1),
    );
    assert_eq!(out.delivered.len(), 2, "failed: {:?}", out.failed);
    let st = rx.stats();
    assert_eq!(st.sessions_evicted, 0);
    assert!(st.total.dropped(DropReason::SessionLimit) > 0);
}

#[test]
fn a_stalled_session_is_evicted_after_the_ones_without_progress() {
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_sessions = 2;
        c
    };
    let idle = cfg.object_idle_timeout;
    let mut rx = Receiver::new(cfg);
    let mut clock = VirtualClock::new();
    let mut rng = Rng::new(16);
    let a = legit(1, 1, 5).carousel_round();
    let b = legit(2, 2, 6).carousel_round();
    let ep = Endpoint::default();
    let mut evicted = Vec::new();
    let step = |rx: &mut Receiver, evicted: &mut Vec<u32>, now, packets: &[Vec<u8>]| {
        for p in packets {
            rx.handle_datagram(now, ep, p);
        }
        while let Some(ev) = rx.poll_event() {
            if let ReceiverEvent::SessionClosed {
                session,
                reason: CloseReason::Evicted,
            } = ev
            {
                evicted.push(session.tsi.0 as u32);
            }
        }
    };
    // Session 1 makes progress; a junk session takes the second slot; the next junk
    // session evicts that one, not session 1.
    step(&mut rx, &mut evicted, clock.now(), &a[..10]);
    let j: Vec<Vec<u8>> = (0..4).map(|_| flood_packet(&mut rng, None)).collect();
    step(&mut rx, &mut evicted, clock.now(), &j[..2]);
    assert_eq!(evicted.len(), 1);
    // Session 1 stalls past the object idle timeout: no longer delivering, but a junk
    // session (no progress at all) still goes before it.
    clock.advance(idle);
    step(&mut rx, &mut evicted, clock.now(), &j[2..3]);
    assert_eq!(evicted.len(), 2);
    assert!(!evicted.contains(&1));
    // Session 2 arrives and makes progress (it evicts the junk); the next newcomer finds
    // only the stalled session 1 and the delivering session 2: session 1 goes.
    step(&mut rx, &mut evicted, clock.now(), &b[..10]);
    step(&mut rx, &mut evicted, clock.now(), &j[3..4]);
    assert_eq!(evicted.len(), 4, "{evicted:?}");
    assert_eq!(evicted[3], 1, "{evicted:?}");
    assert!(
        rx.stats()
            .sessions
            .keys()
            .any(|s| s.tsi == flute_receiver::Tsi(2))
    );
}
