//! Compact No-Code (RFC 5445) symbols in any order: the receiver's per-symbol path (one
//! session lookup, one object lookup, the open blocks by SBN) delivers the same object and
//! the same events whatever the order of the packets, with duplicates and with a packet
//! that arrives last, and with a shorter last block and a short last symbol (RFC 5052 §9.1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use bytes::Bytes;
use fec_schemes::schemes::no_code::CompactNoCode;
use flute_receiver::{
    DropReason, Endpoint, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_sender::{AnchoredClock, Object, Sender, SenderConfig, Tsi};
use flute_testkit::Rng;

/// 5000 bytes in 64-byte symbols: 79 symbols (the last one 8 bytes) in blocks of at most 16
/// (RFC 5052 §9.1: five blocks, the last one shorter).
const LEN: usize = 5000;

/// The FDT packets and the data packets of one No-Code object, and its content.
fn packets(now: Instant) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u8>) {
    let mut rng = Rng::new(5445);
    let data = rng.bytes(LEN);
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let cfg = SenderConfig::new(Tsi(3), Arc::new(AnchoredClock::new(now, wall)));
    let mut tx = Sender::new(cfg).unwrap();
    let oti = CompactNoCode::oti(LEN as u64, 64, 16);
    tx.insert_object(
        Object::from_bytes("file:///nocode.bin", Bytes::from(data.clone())).fec(oti),
        now,
    )
    .unwrap();
    tx.close();
    let (mut fdt, mut symbols) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 1500];
    while let Some(t) = tx.poll_transmit(now, &mut buf) {
        let p = buf[..t.len].to_vec();
        if t.fdt_instance_id.is_some() {
            fdt.push(p);
        } else {
            symbols.push(p);
        }
    }
    (fdt, symbols, data)
}

/// Feeds `order` to a fresh receiver; returns the delivered bytes, the events (without the
/// delivered content) and the symbols dropped as duplicates (of an open block) or not
/// needed (of a decoded block).
fn receive(now: Instant, fdt: &[Vec<u8>], order: &[&[u8]]) -> (Bytes, Vec<String>, u64) {
    let mut rx = Receiver::new(ReceiverConfig::default());
    let ep = Endpoint::default();
    for p in fdt {
        rx.handle_datagram(now, ep, p);
    }
    for p in order {
        rx.handle_datagram(now, ep, p);
    }
    let (mut got, mut events) = (None, Vec::new());
    while let Some(ev) = rx.poll_event() {
        match ev {
            ReceiverEvent::ObjectComplete {
                location: ObjectLocation::Memory(b),
                content_length,
                ..
            } => {
                events.push(format!("complete {content_length}"));
                got = Some(b);
            }
            ReceiverEvent::Progress {
                blocks_decoded,
                blocks_total,
                ..
            } => events.push(format!("progress {blocks_decoded}/{blocks_total}")),
            ReceiverEvent::ObjectStarted { .. } => events.push("started".into()),
            ReceiverEvent::ObjectFailed { reason, .. } => events.push(format!("failed {reason}")),
            _ => {}
        }
    }
    let st = rx.stats().total;
    let dup = st.dropped(DropReason::DuplicateSymbol) + st.dropped(DropReason::NotNeeded);
    (got.expect("object delivered"), events, dup)
}

#[test]
fn rfc5445_nocode_any_order_with_duplicates_same_object_and_events() {
    let now = flute_testkit::VirtualClock::new().now();
    let (fdt, symbols, data) = packets(now);
    assert_eq!(symbols.len(), 79, "one symbol per packet");
    let in_order: Vec<&[u8]> = symbols.iter().map(Vec::as_slice).collect();
    let (want, want_events, dup) = receive(now, &fdt, &in_order);
    assert_eq!(want, data);
    assert_eq!(dup, 0);
    assert_eq!(
        want_events
            .iter()
            .filter(|e| e.starts_with("progress"))
            .count(),
        5,
        "five blocks: {want_events:?}"
    );
    assert_eq!(
        want_events.last().map(String::as_str),
        Some("complete 5000")
    );

    // Reversed: the last (short) block completes first and waits for the others.
    let reversed: Vec<&[u8]> = in_order.iter().rev().copied().collect();
    // Seeded shuffles, every third packet sent twice, and one packet held back to the end
    // (lost, then repeated by a carousel).
    let mut rng = Rng::new(6726);
    let mut orders = vec![reversed];
    for _ in 0..8 {
        let mut o = in_order.clone();
        for i in (1..o.len()).rev() {
            o.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let late = o.remove(rng.below(o.len() as u64) as usize);
        let mut with_dups: Vec<&[u8]> = Vec::new();
        for (i, p) in o.iter().enumerate() {
            with_dups.push(p);
            if i % 3 == 0 {
                with_dups.push(p);
            }
        }
        with_dups.push(late);
        orders.push(with_dups);
    }
    for (n, order) in orders.iter().enumerate() {
        let (got, events, dup) = receive(now, &fdt, order);
        assert_eq!(got, data, "order {n}");
        assert_eq!(events, want_events, "order {n}: same events as in order");
        let expected_dups = order.len() - in_order.len();
        assert_eq!(
            dup, expected_dups as u64,
            "order {n}: each duplicate dropped and counted"
        );
    }
}
