//! A live session that runs for a long time (found by `scripts/soak.sh`): a sender adds an
//! object every 100 ms and keeps the newest 5 in its carousel and FDT (the policy of
//! `flute send --watch --keep 5`), 400 objects in all. The receiver must deliver every
//! one, and what it remembers of the session's FDT must stay bounded by what the newest
//! FDT instance lists, not grow with every object ever announced.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use flute_receiver::{Endpoint, FixedWallClock, Receiver, ReceiverConfig, ReceiverEvent};
use flute_sender::{
    AnchoredClock, Carousel, FdtCarousel, Object, Pacing, Sender, SenderConfig, SenderEvent, Toi,
    Tsi,
};
use flute_testkit::{Rng, VirtualClock};

const OBJECTS: u32 = 400;
const KEEP: usize = 5;
const RATE: u64 = 4_000_000;

#[test]
fn fdt_memory_of_a_live_session_stays_bounded() {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scfg = SenderConfig::new(Tsi(9), Arc::new(AnchoredClock::new(t0, wall)));
    scfg.pacing = Some(Pacing::wire(RATE));
    scfg.fdt_carousel = FdtCarousel {
        interval: Some(Duration::from_millis(200)),
        ..FdtCarousel::default()
    };
    let mut tx = Sender::new(scfg).unwrap();
    let mut rcfg = ReceiverConfig::default();
    rcfg.wall_clock = Some(Arc::new(FixedWallClock(wall + Duration::from_secs(30))));
    let mut rx = Receiver::new(rcfg);
    let mut rng = Rng::new(23);
    let mut sent: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut delivered: BTreeMap<String, usize> = BTreeMap::new();
    let mut live: VecDeque<Toi> = VecDeque::new();
    let mut session = None;
    let mut most_files = 0usize;
    let mut most_announced = 0usize;
    let mut buf = vec![0u8; 2048];
    let mut k = 0u32;
    let mut next_object = t0;
    // Every object added, plus time for the last ones to go out.
    let end = t0 + Duration::from_millis(100 * u64::from(OBJECTS) + 3_000);
    while clock.now() < end {
        let now = clock.now();
        if now >= next_object && k < OBJECTS {
            let name = format!("live/obj{k:04}");
            // 1 byte to 8 kB: one to a few source blocks' worth of packets.
            let len = 1 + (rng.bytes(2)[0] as usize) * 32;
            let data = rng.bytes(len);
            let obj = Object::from_bytes(name.clone(), Bytes::from(data.clone())).carousel(
                Carousel::UntilRemoved {
                    interval: Duration::ZERO,
                },
            );
            live.push_back(tx.insert_object(obj, now).unwrap());
            while live.len() > KEEP {
                tx.remove_object(live.pop_front().unwrap()).unwrap();
            }
            sent.insert(name, data);
            k += 1;
            next_object = t0 + Duration::from_millis(100 * u64::from(k));
        }
        tx.handle_timeout(now);
        while let Some(t) = tx.poll_transmit(now, &mut buf) {
            rx.handle_datagram(now, Endpoint::default(), &buf[..t.len]);
        }
        while let Some(ev) = tx.poll_event() {
            let _: SenderEvent = ev;
        }
        rx.handle_timeout(now);
        while let Some(ev) = rx.poll_event() {
            match ev {
                ReceiverEvent::FdtReceived {
                    session: id, files, ..
                } => {
                    most_files = most_files.max(files);
                    most_announced = most_announced.max(rx.announced_files(&id).len());
                    session = Some(id);
                }
                ReceiverEvent::ObjectComplete {
                    content_location,
                    location: flute_receiver::ObjectLocation::Memory(b),
                    ..
                } => {
                    assert_eq!(
                        &b[..],
                        &sent[&content_location][..],
                        "{content_location} corrupt"
                    );
                    *delivered.entry(content_location).or_default() += 1;
                }
                ReceiverEvent::ObjectFailed { toi, reason, .. } => {
                    panic!("TOI {toi:?} failed: {reason:?}")
                }
                _ => {}
            }
        }
        let mut next = end;
        for t in [tx.poll_timeout(), rx.poll_timeout(), Some(next_object)]
            .into_iter()
            .flatten()
        {
            next = next.min(t);
        }
        clock.advance_to(next.max(now + Duration::from_micros(1)));
    }
    assert_eq!(k, OBJECTS);
    // Nothing lost, nothing delivered twice.
    let lost: Vec<_> = sent
        .keys()
        .filter(|n| !delivered.contains_key(*n))
        .collect();
    assert!(lost.is_empty(), "never delivered: {lost:?}");
    assert!(delivered.values().all(|&n| n == 1), "{delivered:?}");
    // The receiver's view of the FDT: at most the KEEP objects of the newest instance, the
    // object just added, and those finished ones an instance still listed when it arrived.
    // Before the fix it held every object ever announced (OBJECTS).
    let session = session.expect("an FDT arrived");
    let bound = 2 * KEEP + 2;
    assert!(
        most_files <= bound,
        "FdtReceived.files reached {most_files}"
    );
    assert!(
        most_announced <= bound,
        "announced_files reached {most_announced}"
    );
    assert!(rx.announced_files(&session).len() <= bound);
    // The newest objects are remembered as finished, so their repetitions are not taken.
    let newest = live.back().copied().unwrap();
    assert!(rx.is_finished(&session, Toi(newest.0)));
}
