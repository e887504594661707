//! Live delivery end to end on virtual time (issue 17): a packager adds a 2 s segment
//! every 2 s for 60 s, the sender keeps the newest 5 in its carousel (the policy of
//! `flute send --watch --keep 5`), and a receiver that joins at second 31 delivers the next
//! complete segment within one FDT interval plus two segments' transmission time (the one
//! on the air at the join is missed in part), then every later segment within an FDT
//! interval and one carousel cycle.

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

const SEGMENT: usize = 100_000;
const RATE: u64 = 4_000_000;
const KEEP: usize = 5;

#[test]
fn packager_keep_5_and_a_receiver_joining_at_31_s() {
    run(false);
}

/// The same with the newest segment raised above the carousel for its first pass
/// (priority 1, lowered to 0 with `Sender::set_priority` once that pass is done): each new
/// segment is delivered within two segments' air time of being added, not a carousel
/// cycle, and the older ones still reach the late joiner.
#[test]
fn newest_segment_preempts_the_carousel() {
    run(true);
}

fn run(prioritise: bool) {
    let mut clock = VirtualClock::new();
    let t0 = clock.now();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scfg = SenderConfig::new(Tsi(5), Arc::new(AnchoredClock::new(t0, wall)));
    scfg.pacing = Some(Pacing::wire(RATE));
    let fdt_interval = Duration::from_millis(500);
    scfg.fdt_carousel = FdtCarousel {
        interval: Some(fdt_interval),
        ..FdtCarousel::default()
    };
    let mut tx = Sender::new(scfg).unwrap();
    let rcfg = {
        let mut c = ReceiverConfig::default();
        c.wall_clock = Some(Arc::new(FixedWallClock(wall + Duration::from_secs(30))));
        c
    };
    let mut rx = Receiver::new(rcfg);
    let join = t0 + Duration::from_secs(31);
    let end = t0 + Duration::from_secs(62);
    let mut rng = Rng::new(17);
    let mut segments: BTreeMap<String, (Vec<u8>, std::time::Instant)> = BTreeMap::new();
    let mut live: VecDeque<Toi> = VecDeque::new();
    let mut next_segment = t0;
    let mut k = 0u32;
    let mut delivered: BTreeMap<String, std::time::Instant> = BTreeMap::new();
    let mut buf = vec![0u8; 2048];
    let mut before_join = 0u64;
    while clock.now() < end {
        let now = clock.now();
        if now >= next_segment && k < 30 {
            let name = format!("live/seg{k:02}.m4s");
            let data = rng.bytes(SEGMENT);
            let mut obj = Object::from_bytes(name.clone(), Bytes::from(data.clone())).carousel(
                Carousel::UntilRemoved {
                    interval: Duration::ZERO,
                },
            );
            if prioritise {
                obj = obj.priority(1);
                if let Some(prev) = live.back() {
                    tx.set_priority(*prev, 0).unwrap();
                }
            }
            live.push_back(tx.insert_object(obj, now).unwrap());
            while live.len() > KEEP {
                tx.remove_object(live.pop_front().unwrap()).unwrap();
            }
            segments.insert(name, (data, now));
            k += 1;
            next_segment = t0 + Duration::from_secs(2 * u64::from(k));
        }
        tx.handle_timeout(now);
        while let Some(t) = tx.poll_transmit(now, &mut buf) {
            if now >= join {
                rx.handle_datagram(now, Endpoint::default(), &buf[..t.len]);
            } else {
                before_join += 1;
            }
        }
        while let Some(ev) = tx.poll_event() {
            // A raised segment goes back into the carousel's priority after its first pass.
            if let SenderEvent::CarouselCycleDone { toi, pass: 1 } = ev {
                if prioritise {
                    tx.set_priority(toi, 0).unwrap();
                }
            }
        }
        rx.handle_timeout(now);
        while let Some(ev) = rx.poll_event() {
            if let ReceiverEvent::ObjectComplete {
                content_location,
                location: flute_receiver::ObjectLocation::Memory(b),
                ..
            } = ev
            {
                let (data, _) = &segments[&content_location];
                assert_eq!(&b[..], &data[..], "{content_location} corrupt");
                delivered.entry(content_location).or_insert(now);
            }
        }
        let mut next = end;
        for t in [tx.poll_timeout(), rx.poll_timeout(), Some(next_segment)]
            .into_iter()
            .flatten()
        {
            next = next.min(t);
        }
        clock.advance_to(next.max(now + Duration::from_micros(1)));
    }
    assert!(before_join > 1000);
    // One segment's time on the air at RATE, with 10 % for headers and the FDT.
    let tx_time = Duration::from_secs_f64(SEGMENT as f64 * 8.0 * 1.1 / RATE as f64);
    let first = delivered
        .values()
        .min()
        .copied()
        .expect("something delivered");
    assert!(
        first <= join + fdt_interval + tx_time * 2,
        "first segment {:?} after the join",
        first - join
    );
    // Every segment added after the join arrives, each within an FDT interval and one
    // carousel cycle of being added (all segments share one priority, so a new one waits
    // for the KEEP - 1 ahead of it in the queue and the one on the air); the ones added
    // before the join but still in the carousel (the newest 5 at the join) arrive too.
    let bound = if prioritise {
        tx_time * 2
    } else {
        fdt_interval + tx_time * (KEEP as u32 + 1)
    };
    for (name, (_, added)) in &segments {
        if *added >= join {
            let at = delivered
                .get(name)
                .unwrap_or_else(|| panic!("{name} never delivered"));
            assert!(*at <= *added + bound, "{name} after {:?}", *at - *added);
        }
    }
    // Segments in the carousel at the join that stay there long enough for one FDT
    // interval and one whole cycle (plus a raised newcomer's pass) after it.
    let stay = fdt_interval + tx_time * (KEEP as u32 + 2);
    let in_carousel_at_join: Vec<_> = segments
        .iter()
        .filter(|(_, (_, a))| *a < join && *a + Duration::from_secs(2 * KEEP as u64) > join + stay)
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(in_carousel_at_join.len(), KEEP - 1);
    for n in &in_carousel_at_join {
        assert!(
            delivered.contains_key(n),
            "{n} was in the carousel at the join"
        );
    }
    // Nothing removed before the join came back.
    assert!(
        delivered
            .keys()
            .all(|n| segments[n].1 + Duration::from_secs(2 * KEEP as u64) > join),
        "{delivered:?}"
    );
}
