//! Interop with the `flute` crate 1.11.7 (ypo/flute, renamed `flute_peer`), in memory, both
//! directions: our sender -> their receiver and their sender -> our receiver, for every FEC
//! scheme both implement, with and without content encoding, and with repair under loss.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fec_schemes::Oti;
use fec_schemes::schemes::{
    no_code::CompactNoCode, raptor::Raptor, raptorq::RaptorQ, rs::RsGf2m, rs::RsGf28,
    rs::RsSmallBlock,
};
use flute_io::{DatagramSink, TxBatch, run_sender};
use flute_peer::core::UDPEndpoint;
use flute_peer::core::lct::Cenc as PeerCenc;
use flute_receiver::{
    Endpoint, MemorySink, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_sender::{AnchoredClock, ContentEncoding, Object, Repair, Sender, SenderConfig, Tsi};

/// Time between two packets fed to a receiver: 1 000 packets/s.
const PACKET_INTERVAL: Duration = Duration::from_millis(1);

/// Collects datagrams on a virtual clock.
struct VecSink {
    now: Instant,
    packets: Vec<Vec<u8>>,
}

impl DatagramSink for VecSink {
    fn now(&mut self) -> Instant {
        self.now
    }
    fn wait_until(&mut self, deadline: Instant, _: &AtomicBool) {
        self.now = self.now.max(deadline);
    }
    fn send(&mut self, batch: &TxBatch) -> std::io::Result<()> {
        self.packets.extend(batch.iter().map(<[u8]>::to_vec));
        Ok(())
    }
}

fn content(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8 ^ (i / 7) as u8)
        .collect()
}

fn toi_of(p: &[u8]) -> Option<u128> {
    lct_header::LctPacket::new_checked(p)
        .ok()?
        .toi()
        .map(|t| t.0)
}

/// Drops every `n`-th data packet (TOI != 0); FDT packets always pass.
fn lossy(packets: Vec<Vec<u8>>, every: Option<usize>) -> (Vec<Vec<u8>>, usize) {
    let mut dropped = 0;
    let mut i = 0;
    let kept = packets
        .into_iter()
        .filter(|p| {
            if toi_of(p) == Some(0) {
                return true;
            }
            i += 1;
            let drop = every.is_some_and(|n| i % n == 3);
            dropped += usize::from(drop);
            !drop
        })
        .collect();
    (kept, dropped)
}

#[derive(Clone, Copy, Debug)]
enum Scheme {
    NoCode,
    Rs28,
    Rs2m,
    Rs129,
    Raptor,
    RaptorQ,
}

const ALL: [Scheme; 6] = [
    Scheme::NoCode,
    Scheme::Rs28,
    Scheme::Rs2m,
    Scheme::Rs129,
    Scheme::Raptor,
    Scheme::RaptorQ,
];
const E: u16 = 1400;

impl Scheme {
    fn ours(self, len: u64) -> Oti {
        match self {
            Self::NoCode => CompactNoCode::oti(len, E, 64),
            Self::Rs28 => RsGf28::oti(len, E, 50, 60),
            Self::Rs2m => RsGf2m::oti(len, E, 50, 60, 8, 1),
            Self::Rs129 => RsSmallBlock::oti(len, E, 50, 60),
            Self::Raptor => Raptor::oti(
                len,
                E,
                u16::try_from(len.div_ceil(u64::from(E)).div_ceil(60))
                    .unwrap()
                    .max(1),
                1,
                4,
            ),
            Self::RaptorQ => RaptorQ::oti_for(len, E, 60).unwrap(),
        }
    }
    fn theirs(self) -> flute_peer::core::Oti {
        use flute_peer::core::Oti as O;
        match self {
            Self::NoCode => O::new_no_code(E, 64),
            Self::Rs28 => O::new_reed_solomon_rs28(E, 50, 10).unwrap(),
            Self::Rs2m => O::new_reed_solomon_rs2m(E, 50, 10, 8).unwrap(),
            Self::Rs129 => O::new_reed_solomon_rs28_under_specified(E, 50, 10).unwrap(),
            Self::Raptor => O::new_raptor(E, 60, 12, 1, 4).unwrap(),
            Self::RaptorQ => O::new_raptorq(E, 60, 12, 1, 4).unwrap(),
        }
    }
    fn has_repair(self) -> bool {
        !matches!(self, Self::NoCode)
    }
}

fn endpoint() -> (UDPEndpoint, Endpoint) {
    let dst: SocketAddr = "239.255.3.4:3400".parse().unwrap();
    (
        UDPEndpoint::new(None, "239.255.3.4".into(), 3400),
        Endpoint {
            source: Some("127.0.0.1".parse().unwrap()),
            destination: dst,
        },
    )
}

/// Every datagram our sender emits for one 200 000-byte object (20% repair unless NoCode).
fn our_packets(scheme: Scheme, cenc: ContentEncoding, data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let now = Instant::now();
    let mut cfg = SenderConfig::new(Tsi(9), Arc::new(AnchoredClock::new(now, SystemTime::now())));
    cfg.max_datagram_size = 1500;
    let mut sender = Sender::new(cfg).map_err(|e| e.to_string())?;
    let mut obj = Object::from_bytes("file:///dir/a.bin", Bytes::from(data.to_vec()))
        .content_type("application/octet-stream")
        .fec_with(move |len| scheme.ours(len))
        .content_encoding(cenc)
        .content_md5(cenc == ContentEncoding::Null);
    if scheme.has_repair() {
        obj = obj.repair(Repair::Percent(20));
    }
    sender.insert_object(obj, now).map_err(|e| e.to_string())?;
    sender.close();
    let mut sink = VecSink {
        now,
        packets: Vec::new(),
    };
    run_sender(&mut sender, &mut sink, &AtomicBool::new(false), |_| {
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    Ok(sink.packets)
}

/// Every datagram their sender emits for the same object (their default `Config`: up to 4
/// source blocks interleaved round-robin).
fn their_packets(
    scheme: Scheme,
    cenc: PeerCenc,
    md5: bool,
    data: &[u8],
) -> Result<Vec<Vec<u8>>, String> {
    use flute_peer::sender::{Config, ObjectDesc, Sender as PeerSender, TransferConfig};
    let (ep, _) = endpoint();
    let mut tx = PeerSender::new(ep, 9, &scheme.theirs(), &Config::default());
    let obj = ObjectDesc::create_from_buffer(
        data.to_vec(),
        "application/octet-stream",
        &url::Url::parse("file:///dir/a.bin").unwrap(),
        md5,
        TransferConfig::builder().cenc(cenc).build(),
    )
    .map_err(|e| format!("{e:?}"))?;
    tx.add_object(0, obj).map_err(|e| format!("{e:?}"))?;
    tx.publish(SystemTime::now())
        .map_err(|e| format!("{e:?}"))?;
    let mut packets = Vec::new();
    let t0 = SystemTime::now();
    let mut t = t0;
    // Their sender works on wall-clock time; step a virtual one.
    while packets.len() < 20_000 {
        match tx.read(t) {
            Some(p) => packets.push(p),
            None if t.duration_since(t0).unwrap_or_default() > Duration::from_millis(50) => break,
            None => t += Duration::from_millis(1),
        }
    }
    Ok(packets)
}

/// Feeds `packets` to their receiver; Ok when it completes the object with exactly `data`.
fn their_receive(packets: &[Vec<u8>], data: &[u8], dropped: usize) -> Result<(), String> {
    let writer = Rc::new(flute_peer::receiver::writer::ObjectWriterBufferBuilder::new(true));
    let mut rx = flute_peer::receiver::MultiReceiver::new(writer.clone(), None, false);
    let (ep, _) = endpoint();
    let t0 = SystemTime::now();
    for (i, p) in packets.iter().enumerate() {
        let _ = rx.push(&ep, p, t0 + PACKET_INTERVAL * i as u32);
    }
    let objects = writer.objects.borrow();
    let got = objects.iter().find(|o| o.borrow().complete);
    match got {
        Some(o) if o.borrow().data == data && !o.borrow().error => Ok(()),
        Some(o) => Err(format!(
            "their receiver: complete={} error={} len={} (dropped {dropped})",
            o.borrow().complete,
            o.borrow().error,
            o.borrow().data.len()
        )),
        None => Err(format!(
            "their receiver completed nothing from {} packets (dropped {dropped}, {} objects seen)",
            packets.len(),
            objects.len()
        )),
    }
}

/// What our receiver made of a packet stream.
#[derive(Debug, PartialEq, Eq)]
enum Ours {
    /// Completed with exactly the expected content.
    Ok,
    /// Completed, but the content differs.
    WrongContent,
    /// `ObjectFailed` with these reasons.
    Failed(Vec<String>),
    /// Neither completion nor failure: some block stayed undecoded.
    Nothing,
}

fn our_receive(packets: &[Vec<u8>], data: &[u8]) -> (Ours, String) {
    let (_, our_ep) = endpoint();
    let mut rx = Receiver::with_sink(ReceiverConfig::default(), Box::new(MemorySink));
    let base = Instant::now();
    for (i, p) in packets.iter().enumerate() {
        // Stamped at a realistic rate (1 000 packets/s, about 11 Mbit/s of 1400-byte
        // symbols), with the receiver's timers run as an I/O loop runs them.
        let now = base + PACKET_INTERVAL * i as u32;
        while let Some(t) = rx.poll_timeout().filter(|t| *t <= now) {
            rx.handle_timeout(t);
        }
        rx.handle_datagram(now, our_ep, p);
    }
    let mut failures = Vec::new();
    while let Some(ev) = rx.poll_event() {
        match ev {
            ReceiverEvent::ObjectComplete {
                location: ObjectLocation::Memory(b),
                content_location,
                ..
            } => {
                return if b[..] == data[..] && content_location.ends_with("a.bin") {
                    (Ours::Ok, String::new())
                } else {
                    (
                        Ours::WrongContent,
                        format!("content differs ({} bytes, {content_location})", b.len()),
                    )
                };
            }
            ReceiverEvent::ObjectFailed { reason, .. } => failures.push(reason.to_string()),
            _ => {}
        }
    }
    let why = format!(
        "our receiver completed nothing from {} packets; failures {failures:?}; stats {:?}",
        packets.len(),
        rx.stats().total
    );
    if failures.is_empty() {
        (Ours::Nothing, why)
    } else {
        (Ours::Failed(failures), why)
    }
}

/// Our sender -> their receiver.
fn ours_to_theirs(
    scheme: Scheme,
    cenc: ContentEncoding,
    loss: Option<usize>,
) -> Result<(), String> {
    let data = content(200_000);
    let (packets, dropped) = lossy(our_packets(scheme, cenc, &data)?, loss);
    their_receive(&packets, &data, dropped)
}

/// Their sender -> our receiver.
fn theirs_to_ours(scheme: Scheme, cenc: PeerCenc, loss: Option<usize>) -> Result<(), String> {
    let data = content(200_000);
    let (packets, dropped) = lossy(
        their_packets(scheme, cenc, cenc == PeerCenc::Null, &data)?,
        loss,
    );
    match our_receive(&packets, &data) {
        (Ours::Ok, _) => Ok(()),
        (_, why) => Err(format!("{why} (dropped {dropped})")),
    }
}

fn check(results: Vec<(String, Result<(), String>)>) {
    let mut bad = 0;
    for (name, r) in &results {
        match r {
            Ok(()) => eprintln!("ok    {name}"),
            Err(e) => {
                bad += 1;
                eprintln!("FAIL  {name}: {e}");
            }
        }
    }
    assert_eq!(bad, 0, "{bad} interop case(s) failed (see above)");
}

#[test]
fn our_sender_their_receiver() {
    let mut r = Vec::new();
    for s in ALL {
        r.push((
            format!("{s:?} no loss"),
            ours_to_theirs(s, ContentEncoding::Null, None),
        ));
        if s.has_repair() {
            for n in [11, 13] {
                r.push((
                    format!("{s:?} 1/{n} loss"),
                    ours_to_theirs(s, ContentEncoding::Null, Some(n)),
                ));
            }
        }
    }
    check(r);
}

#[test]
fn our_sender_their_receiver_content_encoding() {
    let mut r = Vec::new();
    r.push((
        "NoCode Zlib".into(),
        ours_to_theirs(Scheme::NoCode, ContentEncoding::Zlib, None),
    ));
    for s in ALL {
        r.push((
            format!("{s:?} Gzip"),
            ours_to_theirs(s, ContentEncoding::Gzip, s.has_repair().then_some(11)),
        ));
    }
    check(r);
}

#[test]
fn their_sender_our_receiver() {
    let mut r = Vec::new();
    for s in ALL {
        r.push((
            format!("{s:?} no loss"),
            theirs_to_ours(s, PeerCenc::Null, None),
        ));
        if s.has_repair() {
            for n in [11, 13] {
                r.push((
                    format!("{s:?} 1/{n} loss"),
                    theirs_to_ours(s, PeerCenc::Null, Some(n)),
                ));
            }
        }
    }
    check(r);
}

#[test]
fn their_sender_our_receiver_content_encoding() {
    let mut r = Vec::new();
    r.push((
        "NoCode Zlib".into(),
        theirs_to_ours(Scheme::NoCode, PeerCenc::Zlib, None),
    ));
    r.push((
        "NoCode Deflate".into(),
        theirs_to_ours(Scheme::NoCode, PeerCenc::Deflate, None),
    ));
    for s in ALL {
        r.push((
            format!("{s:?} Gzip"),
            theirs_to_ours(s, PeerCenc::Gzip, s.has_repair().then_some(11)),
        ));
    }
    check(r);
}

// ---------------------------------------------------------------------------------------
// Known gaps: explicit expected-failure tests. Each asserts the failure *and* its cause, so
// it fails (and must be revisited) if either side's behaviour changes. docs/interop.md has
// the matrix and the reasoning.
// ---------------------------------------------------------------------------------------

/// Repair symbols per block their sender adds (`Scheme::theirs`).
fn their_parity(s: Scheme) -> u32 {
    match s {
        Scheme::NoCode => 0,
        Scheme::Raptor | Scheme::RaptorQ => 12,
        Scheme::Rs28 | Scheme::Rs2m | Scheme::Rs129 => 10,
    }
}

/// (SBN, ESI) of a data packet. The LCT header is `HDR_LEN` words (byte 2, RFC 5651 §5.1);
/// the FEC Payload ID follows: SBN 16 | ESI 16 (IDs 0 and 1), SBN 8 | ESI 24 (ID 6),
/// SBN 24 | ESI 8 (IDs 5 and 129), SBN 24 | ESI 8 for ID 2 with m = 8.
fn payload_id(s: Scheme, p: &[u8]) -> (u32, u32, usize) {
    let h = usize::from(p[2]) * 4;
    let id = u32::from_be_bytes([p[h], p[h + 1], p[h + 2], p[h + 3]]);
    let (sbn, esi) = match s {
        Scheme::NoCode | Scheme::Raptor => (id >> 16, id & 0xFFFF),
        Scheme::RaptorQ => (id >> 24, id & 0x00FF_FFFF),
        Scheme::Rs28 | Scheme::Rs2m | Scheme::Rs129 => (id >> 8, id & 0xFF),
    };
    (sbn, esi, h + 4)
}

/// Distinct ESIs per source block of the object (TOI 1), from data packets.
fn esis_by_block(s: Scheme, packets: &[Vec<u8>]) -> BTreeMap<u32, BTreeSet<u32>> {
    let mut m: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for p in packets.iter().filter(|p| toi_of(p) == Some(1)) {
        let (sbn, esi, _) = payload_id(s, p);
        m.entry(sbn).or_default().insert(esi);
    }
    m
}

/// Blocks that kept fewer than K distinct symbols, as (SBN, K, kept): no decoder of any
/// erasure code can rebuild them. K is what their sender sent minus its fixed parity count.
fn their_erasure_limited(s: Scheme, sent: &[Vec<u8>], kept: &[Vec<u8>]) -> Vec<(u32, u32, u32)> {
    let sent = esis_by_block(s, sent);
    let kept = esis_by_block(s, kept);
    sent.iter()
        .map(|(sbn, e)| {
            let k = e.len() as u32 - their_parity(s);
            let got = kept.get(sbn).map_or(0, |e| e.len() as u32);
            (*sbn, k, got)
        })
        .filter(|&(_, k, got)| got < k)
        .collect()
}

/// The Raptor OTI both sides use for the uncompressed 200 000-byte object: F = 200000,
/// T = 1400, Z = ceil(143 / 60) = 3, N = 1, Al = 4 (blocks of 48, 48 and 47 symbols).
fn raptor_oti() -> Oti {
    Raptor::oti(200_000, E, 3, 1, 4)
}

/// Raptor blocks that kept at least K symbols and that our own RFC 5053 decoder still cannot
/// decode from exactly those symbols, as (SBN, K, kept).
fn raptor_rank_deficient(packets: &[Vec<u8>]) -> Vec<(u32, u32, u32)> {
    use fec_schemes::{FecError, FecScheme};
    let oti = raptor_oti();
    let blocking = Raptor.blocking(&oti).unwrap();
    let mut decoders = BTreeMap::new();
    for p in packets.iter().filter(|p| toi_of(p) == Some(1)) {
        let (sbn, esi, at) = payload_id(Scheme::Raptor, p);
        let dec = decoders
            .entry(sbn)
            .or_insert_with(|| Raptor.decoder(&oti, &blocking.block(sbn).unwrap()).unwrap());
        dec.push(esi, &p[at..]).unwrap();
    }
    decoders
        .into_iter()
        .filter_map(|(sbn, mut d)| {
            let (k, got) = (d.block().source_symbols, d.received());
            match d.decode() {
                Ok(_) => None,
                Err(FecError::DecodeFailed) if got >= k => Some((sbn, k, got)),
                Err(e) => panic!("block {sbn}: unexpected {e:?} ({got} of K = {k})"),
            }
        })
        .collect()
}

/// RFC 5053 Raptor (R10) is not MDS: K + e symbols fail to decode with probability of about
/// 0.85 * 0.567^e, so a fixed 1-in-n loss leaving 1 to 6 spare symbols per block hits
/// rank-deficient sets. Both sides use the `raptor-code` crate, a full (on-the-fly Gaussian
/// elimination) decoder, so the same surviving packets fail in *both* receivers: not an
/// interop fault. Each case: interop fails, every block kept >= K symbols, our scheme decoder
/// fails on the listed block, and the other side's receiver fails on the same packets too.
#[test]
fn known_gap_raptor_r10_overhead_failure() {
    let data = content(200_000);
    // Their sender -> our receiver, 1 in 10: block 1 keeps 54 of 60 (K = 48).
    let sent = their_packets(Scheme::Raptor, PeerCenc::Null, true, &data).unwrap();
    let (kept, _) = lossy(sent.clone(), Some(10));
    assert_eq!(our_receive(&kept, &data).0, Ours::Nothing);
    assert_eq!(their_erasure_limited(Scheme::Raptor, &sent, &kept), vec![]);
    assert_eq!(raptor_rank_deficient(&kept), vec![(1, 48, 54)]);
    assert!(
        their_receive(&kept, &data, 0).is_err(),
        "their own receiver fails too"
    );

    // Our sender -> their receiver, 1 in 7 and 1 in 8: 1 to 3 spare symbols per block,
    // (SBN, K, kept) of the blocks that do not decode.
    for (n, expected) in [(7, vec![(0, 48, 50), (1, 48, 49)]), (8, vec![(1, 48, 50)])] {
        let (kept, dropped) = lossy(
            our_packets(Scheme::Raptor, ContentEncoding::Null, &data).unwrap(),
            Some(n),
        );
        assert!(their_receive(&kept, &data, dropped).is_err(), "1/{n}");
        assert_eq!(raptor_rank_deficient(&kept), expected, "1/{n}");
        assert_eq!(
            our_receive(&kept, &data).0,
            Ours::Nothing,
            "1/{n}: ours fails too"
        );
    }
}

/// Their sender interleaves up to 4 source blocks round-robin (`Config::interleave_blocks`
/// = 4), so a fixed 1-in-n loss with n a multiple of the block count hits a single block:
/// - RS(ID 5) 1/9, 3 blocks: every loss falls in block 2, which keeps 38 of 57 (K = 47);
/// - RaptorQ and Raptor with gzip, deflate or zlib, 1/10: the compressed object is 2 blocks
///   and every loss falls in block 0, which keeps 53 (K = 55): 14 losses for 12 repair
///   symbols.
///
/// Fewer than K symbols survive, so no decoder can rebuild the block: a property of the test's
/// loss pattern, not an interop fault. Their own receiver fails on the same packets.
#[test]
fn known_gap_loss_pattern_aliases_their_block_interleave() {
    let data = content(200_000);
    for (s, cenc, n) in [
        (Scheme::Rs28, PeerCenc::Null, 9),
        (Scheme::RaptorQ, PeerCenc::Gzip, 10),
        (Scheme::Raptor, PeerCenc::Gzip, 10),
        (Scheme::RaptorQ, PeerCenc::Deflate, 10),
        (Scheme::Raptor, PeerCenc::Zlib, 10),
    ] {
        let sent = their_packets(s, cenc, cenc == PeerCenc::Null, &data).unwrap();
        let (kept, dropped) = lossy(sent.clone(), Some(n));
        let limited = their_erasure_limited(s, &sent, &kept);
        eprintln!("theirs {s:?} {cenc:?} 1/{n}: (SBN, K, kept) below K: {limited:?}");
        assert_eq!(limited.len(), 1, "{s:?} 1/{n}: exactly one block starved");
        let blocks = esis_by_block(s, &sent).len();
        assert_eq!(
            n % blocks,
            0,
            "{s:?}: the loss period is a multiple of {blocks} blocks"
        );
        assert_eq!(our_receive(&kept, &data).0, Ours::Nothing, "{s:?} 1/{n}");
        assert!(
            their_receive(&kept, &data, dropped).is_err(),
            "{s:?} 1/{n}: theirs fails too"
        );
    }
}

/// True when `b` starts with an RFC 1950 (zlib) header: CM = 8, CINFO <= 7, FCHECK valid.
fn zlib_header(b: &[u8]) -> bool {
    b.len() >= 2
        && b[0] & 0x0F == 8
        && b[0] >> 4 <= 7
        && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

/// First source symbol of the object (TOI 1, SBN 0, ESI 0).
fn first_symbol(s: Scheme, packets: &[Vec<u8>]) -> Vec<u8> {
    packets
        .iter()
        .filter(|p| toi_of(p) == Some(1))
        .find_map(|p| {
            let (sbn, esi, at) = payload_id(s, p);
            (sbn == 0 && esi == 0).then(|| p[at..].to_vec())
        })
        .unwrap()
}

/// Content-Encoding "deflate": we send the HTTP coding (RFC 9110 §8.4.1.2, RFC 2616 §3.5: the
/// zlib format of RFC 1950 around RFC 1951 data), they send and expect raw RFC 1951. Our
/// receiver accepts both, theirs only raw, so our deflate objects never complete at theirs —
/// with any FEC scheme, with or without loss. Asserted: the framing on each side, that
/// their receiver rejects ours, that the same FEC without content encoding passes, and that
/// their deflate reaches us.
#[test]
fn known_gap_deflate_framing() {
    let data = content(200_000);
    let ours = our_packets(Scheme::NoCode, ContentEncoding::Deflate, &data).unwrap();
    assert!(
        zlib_header(&first_symbol(Scheme::NoCode, &ours)),
        "ours is zlib-framed"
    );
    let theirs = their_packets(Scheme::NoCode, PeerCenc::Deflate, false, &data).unwrap();
    assert!(
        !zlib_header(&first_symbol(Scheme::NoCode, &theirs)),
        "theirs is raw DEFLATE"
    );
    assert_eq!(
        our_receive(&theirs, &data).0,
        Ours::Ok,
        "their deflate reaches us"
    );
    assert!(
        their_receive(&ours, &data, 0).is_err(),
        "our deflate, no loss"
    );
    for loss in [None, Some(10)] {
        assert!(ours_to_theirs(Scheme::Rs28, ContentEncoding::Deflate, loss).is_err());
        ours_to_theirs(Scheme::Rs28, ContentEncoding::Null, loss).unwrap();
        ours_to_theirs(Scheme::Rs28, ContentEncoding::Gzip, loss).unwrap();
    }
}

/// flute 1.11.7's Reed-Solomon uses the Rizzo/RFC 5510 matrix (points 0, α^0, α^1, ...), so
/// its RS repair symbols decode to the right bytes here (the RS cases of the matrix pass
/// under loss). A peer with another matrix (reed-solomon-erasure, used by older ypo/flute,
/// docs/spec-notes.md §3) produces well-formed but *wrong* repair symbols, simulated here by flipping
/// the bytes of every repair symbol. Nothing in FLUTE can tell a wrong repair symbol from a
/// right one, so:
/// - with Content-MD5 our receiver reports `Md5Mismatch` and delivers nothing;
/// - without Content-MD5 it delivers corrupt content (documented limitation).
#[test]
fn wrong_rs_repair_symbols_are_caught_only_by_md5() {
    let data = content(200_000);
    for md5 in [true, false] {
        let sent = their_packets(Scheme::Rs28, PeerCenc::Null, md5, &data).unwrap();
        let k: BTreeMap<u32, u32> = esis_by_block(Scheme::Rs28, &sent)
            .into_iter()
            .map(|(sbn, e)| (sbn, e.len() as u32 - their_parity(Scheme::Rs28)))
            .collect();
        let corrupted: Vec<Vec<u8>> = sent
            .into_iter()
            .map(|mut p| {
                if toi_of(&p) == Some(1) {
                    let (sbn, esi, at) = payload_id(Scheme::Rs28, &p);
                    if esi >= k[&sbn] {
                        p[at..].iter_mut().for_each(|b| *b ^= 0x5A);
                    }
                }
                p
            })
            .collect();
        let (kept, _) = lossy(corrupted, Some(10));
        let (got, why) = our_receive(&kept, &data);
        if md5 {
            assert_eq!(
                got,
                Ours::Failed(vec!["Content-MD5 mismatch".into()]),
                "{why}"
            );
        } else {
            assert_eq!(got, Ours::WrongContent, "{why}");
        }
    }
}

/// Their RS sender sends K + 10 symbols for every block, so the short last block (K = 47,
/// B = 50, max_n = 60) carries ESI 56, beyond RFC 5510's n = floor(47 * 60 / 50) = 56. With
/// 10 source symbols of that block lost, all 10 repair symbols, ESI 56 included, are needed:
/// our lenient RS decoders (any ESI < 2^m) must use it.
#[test]
fn their_rs_esi_beyond_n_is_used() {
    let data = content(200_000);
    let sent = their_packets(Scheme::Rs28, PeerCenc::Null, true, &data).unwrap();
    let blocks = esis_by_block(Scheme::Rs28, &sent);
    assert_eq!(blocks[&2].len(), 57, "K = 47 plus 10 repair: ESIs 0..=56");
    let kept: Vec<Vec<u8>> = sent
        .into_iter()
        .filter(|p| {
            toi_of(p) != Some(1) || {
                let (sbn, esi, _) = payload_id(Scheme::Rs28, p);
                !(sbn == 2 && esi < 10)
            }
        })
        .collect();
    let (got, why) = our_receive(&kept, &data);
    assert_eq!(got, Ours::Ok, "{why}");
}

/// Content encodings of the matrix: (name, ours, theirs).
const ENCODINGS: [(&str, ContentEncoding, PeerCenc); 4] = [
    ("identity", ContentEncoding::Null, PeerCenc::Null),
    ("gzip", ContentEncoding::Gzip, PeerCenc::Gzip),
    ("deflate", ContentEncoding::Deflate, PeerCenc::Deflate),
    ("zlib", ContentEncoding::Zlib, PeerCenc::Zlib),
];

/// Expected outcome of every cell: `true` = pass. Keep in sync with docs/interop.md.
fn expected(s: Scheme, loss: Option<usize>, ours_to_theirs: bool, enc: &str) -> bool {
    match (s, loss, ours_to_theirs, enc) {
        // Our "deflate" is zlib-framed (HTTP), theirs raw: never at their receiver.
        (_, _, true, "deflate") => false,
        // Their sender -> us, 1 in 10: R10 rank deficiency (identity, 3 blocks) or the loss
        // pattern starving one of 2 interleaved blocks (gzip, deflate and zlib alike).
        (Scheme::Raptor, Some(10), false, _) => false,
        (Scheme::RaptorQ, Some(10), false, enc) => enc == "identity",
        _ => true,
    }
}

/// Every scheme x loss x direction x content encoding, checked against [`expected`].
/// Deflate and zlib run at no loss and 1 in 10 only (the compressed sizes match gzip's to a
/// few bytes, so the blocking, and so the loss behaviour, is the same).
#[test]
fn matrix() {
    let mut wrong = Vec::new();
    for s in ALL {
        for loss in [None, Some(10), Some(11), Some(13), Some(20)] {
            if loss.is_some() && !s.has_repair() {
                continue;
            }
            let mut line = format!("MATRIX {s:?} loss={loss:?}:");
            for (name, ours, theirs) in ENCODINGS {
                if !matches!(name, "identity" | "gzip") && !matches!(loss, None | Some(10)) {
                    continue;
                }
                let o2t = ours_to_theirs(s, ours, loss).is_ok();
                let t2o = theirs_to_ours(s, theirs, loss).is_ok();
                line += &format!(" | {name}: ours->theirs {o2t} theirs->ours {t2o}");
                for (dir, ok) in [(true, o2t), (false, t2o)] {
                    if ok != expected(s, loss, dir, name) {
                        wrong.push(format!(
                            "{s:?} loss={loss:?} {name} ours->theirs={dir}: {ok}"
                        ));
                    }
                }
            }
            eprintln!("{line}");
        }
    }
    assert!(wrong.is_empty(), "cells changed: {wrong:#?}");
}
