//! Progressive delivery (issue 17 §3) through `StreamSink`: under loss and reordering, an
//! object's bytes come out block by block, in order, each piece as soon as its block and
//! every block before it are decoded, long before the object is complete; the object ends
//! with `Committed` after its Content-MD5 check. On virtual time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use fec_schemes::{FecEncodingId, FecRegistry};
use flute_receiver::{
    Endpoint, FixedWallClock, Receiver, ReceiverConfig, StreamEvent, StreamEvents, StreamSink,
};
use flute_sender::{AnchoredClock, FdtCarousel, Object, Pacing, Repair, Sender, SenderConfig, Tsi};
use flute_testkit::{Channel, ChannelConfig, Rng, VirtualClock, drive_sender, make_oti};

const E: u16 = 64;
const B: u32 = 16;

/// What the stream said, with the number of datagrams the receiver had seen by then.
#[derive(Default)]
struct Seen {
    pieces: Vec<(usize, u64, Bytes)>,
    opened: usize,
    committed: Option<(usize, u64)>,
    aborted: bool,
}

fn drain(ev: &StreamEvents, at: usize, seen: &mut Seen) {
    while let Some(e) = ev.poll_event() {
        match e {
            StreamEvent::Opened(_) => seen.opened += 1,
            StreamEvent::Data { offset, data, .. } => seen.pieces.push((at, offset, data)),
            StreamEvent::Committed { len, .. } => seen.committed = Some((at, len)),
            StreamEvent::Aborted { .. } => seen.aborted = true,
            _ => {}
        }
    }
}

fn run(scheme_id: FecEncodingId, chan: ChannelConfig, seed: u64) {
    let registry = FecRegistry::with_builtin();
    let scheme = registry.by_encoding_id(scheme_id).unwrap().clone();
    let mut rng = Rng::new(seed);
    let data = rng.bytes(24 * 1024); // 24 blocks of 16 x 64 bytes
    let mut clock = VirtualClock::new();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scfg = SenderConfig::new(Tsi(3), Arc::new(AnchoredClock::new(clock.now(), wall)));
    scfg.pacing = Some(Pacing::wire(2_000_000));
    scfg.fdt_carousel = FdtCarousel {
        interval: Some(Duration::from_millis(50)),
        ..FdtCarousel::default()
    };
    let mut tx = Sender::new(scfg).unwrap();
    let s2 = scheme.clone();
    let obj = Object::from_bytes("live/seg.m4s", Bytes::from(data.clone()))
        .fec_with(move |l| make_oti(s2.as_ref(), l, E, B, 0.5).unwrap())
        .repair(Repair::Percent(50))
        .content_md5(true);
    tx.insert_object(obj, clock.now()).unwrap();
    tx.close();
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.wall_clock = Some(Arc::new(FixedWallClock(wall + Duration::from_secs(1))));
        c
    };
    let (sink, events) = StreamSink::new();
    let mut rx = Receiver::with_sink(cfg, Box::new(sink));
    let mut ch = Channel::new(chan, seed);
    let mut seen = Seen::default();
    let mut n = 0usize;
    drive_sender(
        &mut clock,
        &mut ch,
        &mut tx,
        Duration::from_secs(60),
        |now, p| {
            n += 1;
            rx.handle_datagram(now, Endpoint::default(), &p.bytes);
            drain(&events, n, &mut seen);
        },
    );
    let label = format!("{} seed {seed}", scheme.name());
    assert_eq!(seen.opened, 1, "{label}");
    assert!(!seen.aborted, "{label}");
    // In order, contiguous, and the right bytes.
    let mut next = 0u64;
    for (_, off, piece) in &seen.pieces {
        assert_eq!(*off, next, "{label}: out of order");
        let o = *off as usize;
        assert_eq!(
            &piece[..],
            &data[o..o + piece.len()],
            "{label}: wrong bytes"
        );
        next += piece.len() as u64;
    }
    assert_eq!(next, data.len() as u64, "{label}");
    let (done_at, len) = seen.committed.expect("committed");
    assert_eq!(len, data.len() as u64);
    // Progressive: one piece per block, and the first long before the end.
    assert!(
        seen.pieces.len() >= 12,
        "{label}: {} pieces",
        seen.pieces.len()
    );
    let first_at = seen.pieces[0].0;
    assert!(
        first_at * 4 < done_at,
        "{label}: first bytes at datagram {first_at} of {done_at}"
    );
    // Every piece came out before the commit or with it, never after.
    assert!(seen.pieces.iter().all(|p| p.0 <= done_at));
}

#[test]
fn progressive_in_order_under_loss_and_reordering() {
    for (id, seed) in [(FecEncodingId::RAPTORQ, 1), (FecEncodingId::RS_GF28, 2)] {
        let chan = ChannelConfig::uniform(0.1).with_reorder(0.3, Duration::from_millis(20));
        run(id, chan, seed);
    }
}

#[test]
fn progressive_on_a_perfect_channel() {
    run(FecEncodingId::RS_GF28, ChannelConfig::perfect(), 9);
}
