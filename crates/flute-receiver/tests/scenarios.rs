//! Named end-to-end scenarios on hand-built streams (flute-testkit's MiniSender).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fec_schemes::{FecEncodingId, FecRegistry, FecScheme};
use flute_receiver::{
    CloseReason, DropReason, Endpoint, FailReason, FixedWallClock, ObjectLocation, Receiver,
    ReceiverConfig, ReceiverEvent, Toi, ntp_seconds,
};
use flute_testkit::{ContentEncoding, MiniSender, ObjectSpec, Rng, VirtualClock};

use common::{Outcome, drain};

fn scheme(id: FecEncodingId) -> Arc<dyn FecScheme> {
    FecRegistry::with_builtin().get(id, None).unwrap().clone()
}

fn no_code() -> Arc<dyn FecScheme> {
    scheme(FecEncodingId::COMPACT_NO_CODE)
}

struct Harness {
    rx: Receiver,
    clock: VirtualClock,
    out: Outcome,
    ep: Endpoint,
}

impl Harness {
    fn new(cfg: ReceiverConfig) -> Self {
        Self {
            rx: Receiver::new(cfg),
            clock: VirtualClock::new(),
            out: Outcome::default(),
            ep: Endpoint::default(),
        }
    }
    fn feed<'a>(&mut self, packets: impl IntoIterator<Item = &'a Vec<u8>>) {
        for p in packets {
            self.clock.advance(Duration::from_micros(50));
            self.rx.handle_datagram(self.clock.now(), self.ep, p);
            drain(&mut self.rx, &mut self.out);
        }
    }
    fn settle(&mut self) {
        while let Some(t) = self.rx.poll_timeout() {
            self.clock.advance_to(t);
            self.rx.handle_timeout(self.clock.now());
            drain(&mut self.rx, &mut self.out);
            if self.rx.stats().active_objects == 0 && self.rx.stats().pending_bytes == 0 {
                break;
            }
        }
    }
}

fn data(seed: u64, n: usize) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

#[test]
fn fdt_after_the_data_uses_buffered_packets() {
    let mut tx = MiniSender::new(1, no_code());
    let mut o = ObjectSpec::new(5, "late-fdt.bin", data(1, 3000));
    o.fti_every_packet = false;
    tx.add(o);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.object_packets(5));
    assert!(h.out.delivered.is_empty());
    h.feed(&tx.fdt_packets());
    assert_eq!(&h.out.delivered[&5][..], &tx.objects[0].data[..]);
}

#[test]
fn fdt_after_the_data_without_any_ext_fti_buffers_until_the_fdt() {
    let mut tx = MiniSender::new(1, no_code());
    let mut o = ObjectSpec::new(5, "x.bin", data(2, 1000));
    o.fti_every_packet = false;
    tx.add(o);
    let mut pk = tx.object_packets(5);
    // Drop the one packet that carried EXT_FTI: only the FDT can start the object.
    pk.remove(0);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&pk);
    assert!(h.rx.stats().pending_bytes > 0);
    assert!(h.out.started.is_empty());
    h.feed(&tx.fdt_packets());
    // Symbol 0 is missing: the object starts from the FDT's OTI, then the next carousel
    // round completes it.
    h.feed(&tx.object_packets(5));
    assert_eq!(&h.out.delivered[&5][..], &tx.objects[0].data[..]);
    assert_eq!(h.rx.stats().pending_bytes, 0);
}

#[test]
fn ext_fti_alone_starts_an_object_and_it_waits_for_the_fdt() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(9, "a.bin", data(3, 2000)));
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.object_packets(9));
    assert!(h.out.started.contains(&9));
    assert!(h.out.delivered.is_empty(), "no name yet: not delivered");
    assert!(h.rx.stats().buffered_bytes >= 2000);
    h.feed(&tx.fdt_packets());
    assert_eq!(&h.out.delivered[&9][..], &tx.objects[0].data[..]);
    assert_eq!(h.rx.stats().buffered_bytes, 0);
}

#[test]
fn fdt_lost_object_fails_with_no_fdt_entry() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(9, "a.bin", data(3, 2000)));
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.object_packets(9));
    h.settle();
    assert_eq!(h.out.failed.get(&9), Some(&FailReason::NoFdtEntry));
    assert!(h.out.delivered.is_empty());
    assert_eq!(h.rx.stats().buffered_bytes, 0);
}

#[test]
fn joining_in_the_middle_of_a_carousel() {
    let mut tx = MiniSender::new(1, scheme(FecEncodingId::RAPTORQ));
    for i in 1..=5 {
        tx.add(ObjectSpec::new(i, &format!("f{i}"), data(i, 4000)).repair(0.2));
    }
    let round = tx.carousel_round();
    let mut h = Harness::new(ReceiverConfig::default());
    // Join two thirds into the first round, then see one full round.
    let start = round.len() * 2 / 3;
    h.feed(&round[start..]);
    h.feed(&round);
    assert_eq!(h.out.delivered.len(), 5);
    for o in &tx.objects {
        assert_eq!(&h.out.delivered[&u128::from(o.toi)][..], &o.data[..]);
    }
    // Later rounds are recognised as done.
    h.feed(&round);
    assert!(h.rx.stats().total.dropped(DropReason::Done) > 0);
    assert_eq!(h.out.delivered.len(), 5);
}

#[test]
fn zero_length_raptorq_object() {
    let mut tx = MiniSender::new(1, scheme(FecEncodingId::RAPTORQ));
    tx.add(ObjectSpec::new(1, "empty", Vec::new()));
    tx.add(ObjectSpec::new(2, "one", vec![42]));
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.carousel_round());
    assert_eq!(h.out.delivered.get(&1).map(|b| b.len()), Some(0));
    assert_eq!(&h.out.delivered[&2][..], &[42]);
}

#[test]
fn zero_length_object_never_silently_empty_without_length() {
    // An object started from EXT_FTI with L = 0 but an FDT saying 10 bytes: a mismatch,
    // reported, never an empty delivery.
    let mut tx = MiniSender::new(1, no_code());
    let mut o = ObjectSpec::new(1, "x", data(1, 10));
    o.content_length_override = Some(11);
    tx.add(o);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.carousel_round());
    assert!(matches!(
        h.out.failed.get(&1),
        Some(FailReason::ContentLengthMismatch {
            expected: 11,
            actual: 10
        })
    ));
    assert!(h.out.delivered.is_empty());
}

#[test]
fn interleaved_blocks_with_loss_and_missing_query() {
    let s = scheme(FecEncodingId::RS_GF28);
    let mut tx = MiniSender::new(1, s);
    tx.interleave = 4;
    tx.add(
        ObjectSpec::new(1, "il.bin", data(5, 20_000))
            .max_block(20)
            .repair(0.3),
    );
    let fdt = tx.fdt_packets();
    let pk = tx.object_packets(1);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&fdt);
    // Lose every 5th packet (20 %, spread over the interleaved blocks): RS with 30 %
    // repair recovers every block.
    let kept: Vec<_> = pk
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 2)
        .map(|(_, p)| p.clone())
        .collect();
    h.feed(&kept[..kept.len() / 2]);
    let missing = h.rx.missing(Toi(1)).expect("object in progress");
    assert!(!missing.is_empty());
    assert!(
        missing
            .iter()
            .all(|b| b.missing_esis.iter().all(|e| *e < b.source_symbols))
    );
    h.feed(&kept[kept.len() / 2..]);
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
    assert!(h.rx.missing(Toi(1)).is_none());
    let progress = h
        .out
        .events
        .iter()
        .filter(|e| matches!(e, ReceiverEvent::Progress { toi: Toi(1), .. }))
        .count();
    assert!(progress > 1, "blocks reported as they decode");
}

#[test]
fn compressed_fdt_every_cenc() {
    for cenc in [1u8, 2, 3] {
        let mut tx = MiniSender::new(1, no_code());
        tx.fdt_cenc = Some(cenc);
        tx.fdt_symbol_length = 64; // several symbols: an FEC-coded, multi-symbol FDT
        for i in 1..=20 {
            tx.add(ObjectSpec::new(
                i,
                &format!("file-with-a-long-name-{i}.txt"),
                data(i, 100),
            ));
        }
        let mut h = Harness::new(ReceiverConfig::default());
        h.feed(&tx.carousel_round());
        assert_eq!(h.out.delivered.len(), 20, "cenc {cenc}");
    }
}

#[test]
fn bad_input_61_fdt_decompression_is_capped() {
    let mut tx = MiniSender::new(1, no_code());
    tx.fdt_cenc = Some(3);
    for i in 1..=200 {
        tx.add(ObjectSpec::new(i, &format!("{i:0>200}"), Vec::new()));
    }
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_fdt_size = 4096;
        c
    };
    let mut h = Harness::new(cfg);
    h.feed(&tx.fdt_packets());
    assert_eq!(h.out.fdt_received, 0);
    assert!(h.rx.stats().total.dropped(DropReason::FdtRejected) >= 1);
}

#[test]
fn bad_input_62_fdt_with_a_missing_symbol_and_no_repair_is_not_used() {
    let mut tx = MiniSender::new(1, no_code());
    tx.fdt_symbol_length = 32;
    tx.add(ObjectSpec::new(1, "a", data(1, 10)));
    let mut fdt = tx.fdt_packets();
    fdt.remove(1);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&fdt);
    assert_eq!(h.out.fdt_received, 0);
    h.settle();
}

#[test]
fn content_encodings_are_decoded_and_verified() {
    for enc in [
        ContentEncoding::Gzip,
        ContentEncoding::Zlib,
        ContentEncoding::Deflate,
    ] {
        let mut tx = MiniSender::new(1, no_code());
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 97).to_be_bytes())
            .collect();
        tx.add(ObjectSpec::new(1, "t.txt", text.clone()).encoding(enc));
        let mut h = Harness::new(ReceiverConfig::default());
        h.feed(&tx.carousel_round());
        assert_eq!(&h.out.delivered[&1][..], &text[..], "{enc:?}");
    }
}

#[test]
fn bad_input_55_md5_mismatch_fails() {
    let mut tx = MiniSender::new(1, no_code());
    let mut o = ObjectSpec::new(1, "a", data(1, 500));
    o.md5_override = Some([0; 16]);
    tx.add(o);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.carousel_round());
    assert_eq!(h.out.failed.get(&1), Some(&FailReason::Md5Mismatch));
    assert!(h.out.delivered.is_empty());
}

#[test]
fn corrupt_gzip_fails_with_reason() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a.gz", data(1, 500)).encoding(ContentEncoding::Gzip));
    // Content-MD5 off so the corruption reaches the decoder.
    tx.objects[0].md5 = false;
    let mut pk = tx.object_packets(1);
    let last = pk.len() - 1;
    let n = pk[last].len();
    pk[last][n - 3] ^= 0xFF; // in the gzip trailer (CRC/ISIZE)
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    h.feed(&pk);
    assert!(
        matches!(h.out.failed.get(&1), Some(FailReason::ContentDecoding(_))),
        "{:?}",
        h.out.failed
    );
}

#[test]
fn bad_input_54_transfer_length_conflict() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 500)));
    let fdt = tx.fdt_packets();
    // The data packets announce 400 bytes in EXT_FTI.
    let mut other = MiniSender::new(1, no_code());
    other.add(ObjectSpec::new(1, "a", data(1, 400)));
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&other.object_packets(1)[..1]);
    h.feed(&fdt);
    assert_eq!(
        h.out.failed.get(&1),
        Some(&FailReason::TransferLengthMismatch { fdt: 500, fti: 400 })
    );
}

#[test]
fn limit_max_object_size() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "big", data(1, 5000)));
    tx.add(ObjectSpec::new(2, "small", data(2, 50)));
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_object_size = 1000;
        c
    };
    let mut h = Harness::new(cfg);
    h.feed(&tx.carousel_round());
    h.feed(&tx.carousel_round());
    assert_eq!(h.out.failed.get(&1), Some(&FailReason::TooLarge));
    assert_eq!(
        h.out
            .events
            .iter()
            .filter(|e| matches!(e, ReceiverEvent::ObjectFailed { toi: Toi(1), .. }))
            .count(),
        1,
        "refused once, not per packet"
    );
    assert!(h.out.delivered.contains_key(&2));
}

#[test]
fn limit_max_object_size_applies_to_decoded_content() {
    // 200 KB of zeros gzip to a few hundred bytes: the transfer length passes, the
    // content does not (decompression bomb).
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "bomb", vec![0; 200_000]).encoding(ContentEncoding::Gzip));
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_object_size = 10_000;
        c
    };
    let mut h = Harness::new(cfg);
    h.feed(&tx.carousel_round());
    assert_eq!(h.out.failed.get(&1), Some(&FailReason::TooLarge));
}

#[test]
fn limit_max_concurrent_objects() {
    let mut tx = MiniSender::new(1, no_code());
    for i in 1..=4 {
        tx.add(ObjectSpec::new(i, &format!("o{i}"), data(i, 1000)));
    }
    tx.interleave = 1;
    // Interleave objects packet by packet so all four are in flight at once.
    let per: Vec<Vec<Vec<u8>>> = (1..=4).map(|t| tx.object_packets(t)).collect();
    let mut mixed = tx.fdt_packets();
    for i in 0..per[0].len() {
        for p in &per {
            mixed.push(p[i].clone());
        }
    }
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_concurrent_objects = 2;
        c
    };
    let mut h = Harness::new(cfg);
    h.feed(&mixed);
    assert_eq!(h.out.delivered.len(), 2);
    assert!(h.rx.stats().total.dropped(DropReason::ObjectLimit) > 0);
    // The next carousel round picks up the others.
    h.feed(&mixed);
    assert_eq!(h.out.delivered.len(), 4);
}

#[test]
fn limit_max_buffered_bytes() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 8192)).max_block(16));
    let cfg = {
        let mut c = ReceiverConfig::default();
        // One 16 x 64 = 1024-byte block may be open at a time, plus decoded blocks that
        // wait for the FDT.
        c.max_buffered_bytes = 1024;
        c
    };
    let mut h = Harness::new(cfg);
    // Without the FDT, decoded blocks cannot be written and fill the budget.
    h.feed(&tx.object_packets(1));
    assert!(h.rx.stats().total.dropped(DropReason::BlockBudget) > 0);
    assert!(h.rx.stats().buffered_bytes <= 1024 + 1024);
    // With the FDT, blocks stream out as they decode and the budget suffices.
    let mut h = Harness::new({
        let mut c = ReceiverConfig::default();
        c.max_buffered_bytes = 1024;
        c
    });
    h.feed(&tx.fdt_packets());
    h.feed(&tx.object_packets(1));
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
}

#[test]
fn limit_max_pending_bytes() {
    let mut tx = MiniSender::new(1, no_code());
    let mut o = ObjectSpec::new(1, "a", data(1, 4000));
    o.fti_every_packet = false;
    tx.add(o);
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_pending_bytes = 500;
        c
    };
    let mut h = Harness::new(cfg);
    let pk = tx.object_packets(1);
    h.feed(&pk[1..]);
    assert!(h.rx.stats().pending_bytes <= 500);
    assert!(h.rx.stats().total.dropped(DropReason::BufferFull) > 0);
    h.settle();
    assert_eq!(h.rx.stats().pending_bytes, 0, "pending packets expire");
}

#[test]
fn close_object_flag_does_not_discard_a_completable_object() {
    let s = scheme(FecEncodingId::RS_GF28);
    let mut tx = MiniSender::new(1, s);
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)).repair(0.5));
    let mut pk = tx.object_packets(1);
    // The last packet (with B set) arrives first; then the rest.
    let last = pk.pop().unwrap();
    assert_eq!(last[1] & 1, 1, "B flag on the last packet");
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    h.feed([&last]);
    h.feed(&pk);
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
}

#[test]
fn object_idle_timeout_fails_incomplete_object() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)));
    let pk = tx.object_packets(1);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    h.feed(&pk[..pk.len() - 1]);
    assert!(h.out.failed.is_empty());
    let deadline = h.rx.poll_timeout().unwrap();
    assert!(deadline > h.clock.now());
    h.settle();
    assert_eq!(
        h.out.failed.get(&1),
        Some(&FailReason::Timeout { missing_blocks: 1 })
    );
}

#[test]
fn close_session_flag_ends_the_session() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)));
    tx.add(ObjectSpec::new(2, "b", data(2, 3000)));
    let mut h = Harness::new({
        let mut c = ReceiverConfig::default();
        c.close_session_grace = Duration::ZERO;
        c
    });
    h.feed(&tx.fdt_packets());
    h.feed(&tx.object_packets(1));
    h.feed(&tx.object_packets(2)[..3]);
    h.feed([&tx.close_session_packet()]);
    assert!(h.out.session_closed);
    assert!(h.out.events.iter().any(|e| matches!(
        e,
        ReceiverEvent::SessionClosed {
            reason: CloseReason::CloseSession,
            ..
        }
    )));
    assert!(h.out.delivered.contains_key(&1));
    assert_eq!(h.out.failed.get(&2), Some(&FailReason::SessionClosed));
    // Catalogue item 11: packets after close-session are dropped.
    h.feed(&tx.object_packets(2));
    assert!(!h.out.delivered.contains_key(&2));
    assert!(h.rx.stats().total.dropped(DropReason::ClosedSession) > 0);
    assert_eq!(h.rx.stats().buffered_bytes, 0);
}

#[test]
fn close_session_grace_lets_reordered_packets_finish() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)));
    let pk = tx.object_packets(1);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    h.feed(&pk[..pk.len() - 2]);
    h.feed([&tx.close_session_packet()]);
    h.feed(&pk[pk.len() - 2..]);
    h.settle();
    assert!(h.out.delivered.contains_key(&1));
    assert!(h.out.session_closed);
}

#[test]
fn bad_input_19_fdt_instance_id_wraps() {
    let mut tx = MiniSender::new(1, no_code());
    tx.fdt_instance = 0xF_FFFF;
    tx.add(ObjectSpec::new(1, "old-name", data(1, 100)));
    let old = tx.fdt_packets();
    tx.fdt_instance = 0; // newer than 0xFFFFF on the 20-bit circle
    tx.objects[0].location = "new-name".into();
    let new = tx.fdt_packets();
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&new);
    h.feed(&old); // arrives later but is older: must not override
    h.feed(&tx.object_packets(1));
    let ev = h
        .out
        .events
        .iter()
        .find_map(|e| match e {
            ReceiverEvent::ObjectComplete {
                content_location, ..
            } => Some(content_location.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(ev, "new-name");
}

#[test]
fn bad_input_57_expired_fdt_is_ignored() {
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut tx = MiniSender::new(1, no_code());
    tx.expires = ntp_seconds(now) - 10;
    tx.add(ObjectSpec::new(1, "a", data(1, 100)));
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.wall_clock = Some(Arc::new(FixedWallClock(now)));
        c
    };
    let mut h = Harness::new(cfg.clone());
    h.feed(&tx.carousel_round());
    assert_eq!(h.out.fdt_received, 0);
    assert!(h.out.delivered.is_empty());
    tx.expires = ntp_seconds(now + Duration::from_secs(3600));
    let mut h = Harness::new(cfg);
    h.feed(&tx.carousel_round());
    assert_eq!(h.out.delivered.len(), 1);
    let _ = SystemTime::UNIX_EPOCH;
}

#[test]
fn bad_input_58_complete_fdt_admits_no_new_files() {
    let mut tx = MiniSender::new(1, no_code());
    tx.complete = true;
    tx.add(ObjectSpec::new(1, "a", data(1, 100)));
    let first = tx.fdt_packets();
    tx.fdt_instance = 2;
    tx.complete = false;
    tx.add(ObjectSpec::new(2, "b", data(2, 100)));
    tx.objects[1].fti_every_packet = false;
    let second = tx.fdt_packets();
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&first);
    h.feed(&second);
    h.feed(&tx.object_packets(1));
    h.feed(&tx.object_packets(2));
    h.settle();
    assert!(h.out.delivered.contains_key(&1));
    assert!(!h.out.delivered.contains_key(&2));
}

/// Item 58 is about *later* instances: an older instance (lower FDT Instance ID) that
/// arrives after a `Complete="true"` one, e.g. reordered, still describes files of the
/// session, and their objects are delivered (found by the `receiver_datagrams` fuzz seed
/// that replays a flute-sender session backwards).
#[test]
fn bad_input_58_older_instance_after_complete_still_counts() {
    let mut tx = MiniSender::new(1, no_code());
    tx.fdt_instance = 1;
    tx.add(ObjectSpec::new(1, "a", data(1, 100)));
    tx.add(ObjectSpec::new(2, "b", data(2, 100)));
    let older = tx.fdt_packets();
    tx.fdt_instance = 2;
    tx.complete = true;
    tx.objects.remove(0);
    let newer = tx.fdt_packets();
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&newer);
    h.feed(&older);
    h.feed(&tx.object_packets(2));
    let mut a = MiniSender::new(1, no_code());
    a.add(ObjectSpec::new(1, "a", data(1, 100)));
    h.feed(&a.object_packets(1));
    h.settle();
    assert!(h.out.delivered.contains_key(&1), "{:?}", h.out.failed);
    assert!(h.out.delivered.contains_key(&2), "{:?}", h.out.failed);
}

#[test]
fn tsi_allow_list_and_sessions_by_endpoint() {
    let mut a = MiniSender::new(1, no_code());
    a.add(ObjectSpec::new(1, "a", data(1, 100)));
    let mut b = MiniSender::new(2, no_code());
    b.add(ObjectSpec::new(1, "b", data(2, 100)));
    let mut h = Harness::new({
        let mut c = ReceiverConfig::default();
        c.tsi_allow_list = Some(vec![1]);
        c
    });
    h.feed(&a.carousel_round());
    h.feed(&b.carousel_round());
    assert_eq!(h.out.delivered.len(), 1);
    assert!(h.rx.stats().total.dropped(DropReason::TsiFiltered) > 0);
    // Same TSI and TOI on two endpoints are two sessions.
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&a.carousel_round());
    assert_eq!(h.out.delivered.len(), 1);
    h.out = Outcome::default();
    h.ep.destination.set_port(4000);
    h.feed(&a.carousel_round());
    assert_eq!(h.out.delivered.len(), 1);
    assert_eq!(h.rx.stats().sessions.len(), 2);
}

#[test]
fn duplicates_and_reordering_are_harmless() {
    let s = scheme(FecEncodingId::RAPTORQ);
    let mut tx = MiniSender::new(1, s);
    tx.add(ObjectSpec::new(1, "a", data(1, 10_000)).repair(0.1));
    let mut pk = tx.carousel_round();
    let dup = pk.clone();
    pk.extend(dup);
    let mut rng = Rng::new(4);
    for i in (1..pk.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        pk.swap(i, j);
    }
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&pk);
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
}

#[test]
fn garbage_never_panics_and_is_counted() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 1000)));
    let round = tx.carousel_round();
    let mut h = Harness::new(ReceiverConfig::default());
    let mut rng = Rng::new(77);
    let mut n = 0u64;
    for _ in 0..20 {
        for p in &round {
            let mut m = p.clone();
            let flips = rng.below(4) + 1;
            for _ in 0..flips {
                let i = rng.below(m.len() as u64) as usize;
                m[i] ^= 1 << rng.below(8);
            }
            let cut = rng.below(m.len() as u64 + 1) as usize;
            m.truncate(cut.max(1));
            h.feed([&m]);
            n += 1;
        }
        let len = rng.below(100) as usize;
        h.feed([&rng.bytes(len)]);
        n += 1;
    }
    assert_eq!(h.rx.stats().total.datagrams, n);
    h.settle();
    // Whatever got through is never delivered corrupt (MD5 guards it).
    for (toi, b) in &h.out.delivered {
        if *toi == 1 {
            assert_eq!(&b[..], &tx.objects[0].data[..]);
        }
    }
}

#[test]
fn bad_input_41_conflicting_symbol_is_dropped_and_md5_guards() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)));
    let pk = tx.object_packets(1);
    let mut evil = pk[0].clone();
    let n = evil.len();
    evil[n - 1] ^= 0xFF; // same SBN/ESI, different bytes
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    h.feed([&pk[0], &evil]);
    h.feed(&pk[1..]);
    assert!(h.rx.stats().total.dropped(DropReason::BadSymbol) >= 1);
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
}

#[test]
fn bad_input_40_conflicting_ext_fti_for_the_same_toi() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)));
    let mut other = MiniSender::new(1, no_code());
    other.add(ObjectSpec::new(1, "a", data(1, 3000)).symbol_length(32));
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    h.feed(&tx.object_packets(1)[..2]);
    h.feed(&other.object_packets(1)[..5]);
    assert_eq!(h.rx.stats().total.dropped(DropReason::BadFti), 5);
    h.feed(&tx.object_packets(1)[2..]);
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
}

/// Catalogue items 26 and 28-30 at the receiver: a FEC Payload ID cut short is dropped as
/// `BadPayloadId`; against the OTI (here from EXT_FTI), a symbol longer than E as
/// `BadSymbol`, an SBN beyond the object's blocks or an ESI beyond the block as
/// `BadPayloadId`; none of them disturbs the object, which is then delivered from the
/// genuine packets.
#[test]
fn bad_input_26_28_29_30_payload_id_and_symbol_outside_the_oti_are_dropped() {
    let mut tx = MiniSender::new(1, no_code());
    // 300 bytes, E = 64: one block of k = 5 source symbols (No-Code: n = k).
    tx.add(ObjectSpec::new(1, "a", data(2, 300)));
    let pk = tx.object_packets(1);
    // The first packet carries a full 64-byte symbol after its 4-byte SBN | ESI.
    let pid = pk[0].len() - 64 - 4;
    let with_pid = |sbn: u16, esi: u16| {
        let mut p = pk[0].clone();
        p[pid..pid + 2].copy_from_slice(&sbn.to_be_bytes());
        p[pid + 2..pid + 4].copy_from_slice(&esi.to_be_bytes());
        p
    };
    // The offsets are the Payload ID: packet 0 is (SBN 0, ESI 0), packet 1 (SBN 0, ESI 1).
    assert_eq!(with_pid(0, 0), pk[0]);
    assert_eq!(pk[1].len(), pk[0].len());
    assert_eq!(pk[1][pid..pid + 4], [0, 0, 0, 1]);
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&tx.fdt_packets());
    let mut long = pk[0].clone();
    long.push(0xAA);
    h.feed([&long]);
    assert_eq!(
        h.rx.stats().total.dropped(DropReason::BadSymbol),
        1,
        "item 28"
    );
    h.feed([&with_pid(1, 0)]);
    assert_eq!(
        h.rx.stats().total.dropped(DropReason::BadPayloadId),
        1,
        "item 29"
    );
    h.feed([&with_pid(0, 5), &with_pid(0, 0xFFFF)]);
    assert_eq!(
        h.rx.stats().total.dropped(DropReason::BadPayloadId),
        3,
        "item 30"
    );
    h.feed([&pk[0][..pid + 2].to_vec()]);
    assert_eq!(
        h.rx.stats().total.dropped(DropReason::BadPayloadId),
        4,
        "item 26"
    );
    assert!(h.out.delivered.is_empty() && h.out.failed.is_empty());
    h.feed(&pk);
    assert_eq!(&h.out.delivered[&1][..], &tx.objects[0].data[..]);
}

#[test]
fn bad_input_25_unknown_codepoint_and_27_empty_symbol() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 300)));
    let mut pk = tx.object_packets(1);
    pk[0][3] = 77; // codepoint with no registered scheme
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed([&pk[0]]);
    assert_eq!(h.rx.stats().total.dropped(DropReason::UnknownScheme), 1);
    // A data packet whose symbol is empty (header + FEC Payload ID only).
    let mut empty = pk[1].clone();
    empty.truncate(empty.len() - 64);
    h.feed(&tx.fdt_packets());
    h.feed([&empty]);
    assert_eq!(h.rx.stats().total.dropped(DropReason::BadSymbol), 1);
}

#[test]
fn stats_count_every_datagram() {
    let mut tx = MiniSender::new(1, no_code());
    tx.add(ObjectSpec::new(1, "a", data(1, 3000)));
    let round = tx.carousel_round();
    let mut h = Harness::new(ReceiverConfig::default());
    h.feed(&round);
    h.feed(&round);
    h.feed([&vec![0u8; 3]]);
    let st = h.rx.stats();
    assert_eq!(st.total.datagrams, 2 * round.len() as u64 + 1);
    assert_eq!(st.total.dropped(DropReason::Malformed), 1);
    assert_eq!(st.total.objects_completed, 1);
    assert_eq!(st.total.fdt_instances, 1);
    let s = st.sessions.values().next().unwrap();
    assert_eq!(s.datagrams, 2 * round.len() as u64);
}

type Counted = Arc<std::sync::Mutex<Vec<(u128, u64, [u8; 16])>>>;

/// A sink that keeps only a digest and a byte count: the receiver must stream the object
/// through it with at most `max_buffered_bytes` held, whatever the object size.
#[derive(Default)]
struct CountingSink {
    done: Counted,
}

struct CountingWriter {
    toi: u128,
    n: u64,
    md5: md5_like::Hasher,
    done: Counted,
}

mod md5_like {
    #![allow(unreachable_pub)]
    /// FNV-1a, enough to compare streams in a test.
    pub struct Hasher(pub u64);
    impl Hasher {
        pub fn update(&mut self, d: &[u8]) {
            for b in d {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
}

impl flute_receiver::ObjectSink for CountingSink {
    fn open(
        &mut self,
        meta: &flute_receiver::ObjectMeta,
    ) -> Result<Box<dyn flute_receiver::ObjectWriter>, flute_receiver::SinkError> {
        Ok(Box::new(CountingWriter {
            toi: meta.toi.0,
            n: 0,
            md5: md5_like::Hasher(0xcbf2_9ce4_8422_2325),
            done: self.done.clone(),
        }))
    }
}

impl flute_receiver::ObjectWriter for CountingWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), flute_receiver::SinkError> {
        self.n += data.len() as u64;
        self.md5.update(data);
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<ObjectLocation, flute_receiver::SinkError> {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&self.md5.0.to_be_bytes());
        self.done.lock().unwrap().push((self.toi, self.n, d));
        Ok(ObjectLocation::Other(format!("counted {}", self.n)))
    }
    fn abort(self: Box<Self>) {}
}

#[test]
fn large_object_streams_through_a_custom_sink_within_the_budget() {
    // 8 MiB, E = 1024, B = 64: 128 blocks of 64 KiB; budget 256 KiB (4 blocks).
    let s = scheme(FecEncodingId::RS_GF28);
    let mut tx = MiniSender::new(1, s);
    tx.interleave = 2;
    let content = data(9, 8 << 20);
    let mut o = ObjectSpec::new(1, "big.bin", content.clone())
        .symbol_length(1024)
        .max_block(64)
        .repair(0.1);
    o.md5 = true;
    tx.add(o);
    let sink = CountingSink::default();
    let done = sink.done.clone();
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.max_buffered_bytes = 256 << 10;
        c
    };
    let mut rx = Receiver::with_sink(cfg, Box::new(sink));
    let clock = VirtualClock::new();
    let mut peak = 0;
    let mut complete = false;
    // Lose every 23rd packet (spread over both interleaved blocks): every block is
    // repaired within its own packets. (If a block cannot decode, the blocks after it wait
    // in the budget for it: a later carousel pass or the idle timeout resolves that.)
    for (i, p) in tx.carousel_round().iter().enumerate() {
        if i % 23 == 7 {
            continue;
        }
        rx.handle_datagram(clock.now(), Endpoint::default(), p);
        peak = peak.max(rx.stats().buffered_bytes);
        while let Some(ev) = rx.poll_event() {
            if matches!(ev, ReceiverEvent::ObjectComplete { .. }) {
                complete = true;
            }
        }
    }
    assert!(
        complete,
        "{:?} peak {peak} missing {:?}",
        rx.stats(),
        rx.missing(Toi(1)).map(|m| m
            .into_iter()
            .take(14)
            .map(|b| (b.sbn, b.source_symbols, b.missing_esis.len()))
            .collect::<Vec<_>>())
    );
    assert!(peak <= 256 << 10, "peak {peak}");
    let mut h = md5_like::Hasher(0xcbf2_9ce4_8422_2325);
    h.update(&content);
    let got = done.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, content.len() as u64);
    assert_eq!(got[0].2[..8], h.0.to_be_bytes());
    assert_eq!(rx.stats().total.dropped(DropReason::BlockBudget), 0);
}
