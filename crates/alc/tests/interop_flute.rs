//! Interoperability with ypo/flute 1.11.7 (crates.io `flute`, renamed `flute-peer`).
//!
//! 1. Its sender produces the packets of a small object (No-Code, RS GF(2^8), RaptorQ);
//!    our parser decodes every packet field by field and our FEC decoders rebuild the
//!    object (and the FDT instance) from them.
//! 2. Packets we emit (the FDT instance re-emitted from our parsed representation, the
//!    data packets encoded and emitted by us) are accepted by its receiver, which
//!    reassembles the object.
//!
//! Time is a fixed instant: nothing here reads the clock.

// Test helpers outside #[test] bodies: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use alc::{AlcError, AlcPacket, AlcParser, AlcRepr};
use bytes::Bytes;
use fec_schemes::{FecEncodingId, FecError, FecRegistry, Oti, PayloadId};
use flute_peer::core::UDPEndpoint;
use flute_peer::receiver::{MultiReceiver, writer::ObjectWriterBufferBuilder};
use flute_peer::sender::{ObjectDesc, Sender};
use lct_header::{Toi, Tsi};

const TSI: u64 = 7;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn endpoint() -> UDPEndpoint {
    UDPEndpoint::new(None, "224.0.0.1".to_string(), 3400)
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Runs the peer's sender over `content`; returns the object's TOI and every packet.
fn peer_send(oti: &flute_peer::core::Oti, content: &[u8]) -> (u128, Vec<Vec<u8>>) {
    let config = flute_peer::sender::Config {
        toi_initial_value: Some(1),
        ..Default::default()
    };
    let mut sender = Sender::new(endpoint(), TSI, oti, &config);
    let url = url::Url::parse("file:///object.bin").unwrap();
    let obj = ObjectDesc::create_from_buffer(
        content.to_vec(),
        "application/octet-stream",
        &url,
        true,
        Default::default(),
    )
    .unwrap();
    let toi = sender.add_object(0, obj).unwrap();
    sender.publish(now()).unwrap();
    let mut pkts = Vec::new();
    while let Some(p) = sender.read(now()) {
        pkts.push(p);
        assert!(pkts.len() < 100_000, "sender does not stop");
    }
    (toi, pkts)
}

/// Our decoders over the symbols of one object (all packets of `toi`). Returns the
/// object and the number of packets refused as `EsiOutOfRange` repair symbols (see
/// `peer_reed_solomon_gf28_packets_parse`).
fn decode_object(registry: &FecRegistry, pkts: &[AlcPacket<'_>], oti: &Oti) -> (Vec<u8>, usize) {
    let scheme = registry.for_oti(oti).unwrap();
    let blocking = scheme.blocking(oti).unwrap();
    let mut decoders = BTreeMap::new();
    let mut refused = 0;
    for p in pkts {
        let id = match p.validate(oti) {
            Ok(id) => id,
            Err(AlcError::Fec(FecError::EsiOutOfRange { esi, .. })) => {
                let id = p.payload_id().unwrap();
                let k = blocking.block(id.sbn).unwrap().source_symbols;
                assert!(esi >= k, "source symbol refused: {id:?}");
                refused += 1;
                continue;
            }
            Err(e) => panic!("{e:?}: toi={:?} id={:?}", p.toi(), p.payload_id()),
        };
        let dec = decoders.entry(id.sbn).or_insert_with(|| {
            let block = blocking.block(id.sbn).unwrap();
            scheme.decoder(oti, &block).unwrap()
        });
        if !dec.is_decodable() {
            dec.push(id.esi, p.symbols()).unwrap();
        }
    }
    assert_eq!(decoders.len() as u64, blocking.blocks);
    let mut out = Vec::new();
    for (_, mut d) in decoders {
        out.extend_from_slice(&d.decode().unwrap());
    }
    (out, refused)
}

/// Part 1: parse every packet of the peer's sender and check it field by field.
/// Returns the number of repair packets our RS schemes refused as out of range.
fn check_peer_packets(
    peer_oti: &flute_peer::core::Oti,
    expected_id: FecEncodingId,
    len: usize,
) -> usize {
    let data = content(len);
    let (toi, raw) = peer_send(peer_oti, &data);
    let registry = FecRegistry::with_builtin();
    let parser = AlcParser::new(&registry).flute(true);
    let pkts: Vec<AlcPacket<'_>> = raw.iter().map(|p| parser.parse(p).unwrap()).collect();

    let (fdt, obj): (Vec<_>, Vec<_>) = pkts.into_iter().partition(|p| p.toi() == Some(Toi(0)));
    assert!(!fdt.is_empty() && !obj.is_empty());
    for p in fdt.iter().chain(&obj) {
        assert_eq!(p.tsi(), Some(Tsi(TSI)));
        assert!(p.payload_id().is_some());
        assert!(!p.symbols().is_empty());
    }
    // FDT packets: EXT_FDT (FLUTE v2), an OTI in EXT_FTI, the FDT XML after decoding.
    let fdt_oti = fdt[0].oti().expect("EXT_FTI on FDT packets").clone();
    for p in &fdt {
        let ext = p.fdt().expect("EXT_FDT on TOI 0");
        assert_eq!(ext.version, 2);
        assert_eq!(p.oti(), Some(&fdt_oti));
    }
    let (xml, refused_fdt) = decode_object(&registry, &fdt, &fdt_oti);
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("file:///object.bin"), "{xml}");
    assert!(xml.contains(&format!("TOI=\"{toi}\"")), "{xml}");

    // Data packets: TOI, codepoint = FEC Encoding ID, EXT_FTI OTI, symbol lengths.
    let oti = obj[0].oti().expect("in-band EXT_FTI").clone();
    assert_eq!(oti.encoding_id, expected_id);
    assert_eq!(oti.transfer_length, len as u64);
    assert_eq!(oti.encoding_symbol_length, peer_oti.encoding_symbol_length);
    for p in &obj {
        assert_eq!(p.toi(), Some(Toi(toi)));
        assert_eq!(p.encoding_id(), expected_id);
        assert_eq!(p.lct().codepoint, expected_id.0);
        assert_eq!(p.oti(), Some(&oti));
        assert!(p.fdt().is_none() && p.cenc().is_none());
        assert!(p.symbols().len() <= usize::from(oti.encoding_symbol_length));
    }
    // Source symbols carry the object bytes at the RFC 5052 / 6330 offsets.
    let scheme = registry.for_oti(&oti).unwrap();
    let blocking = scheme.blocking(&oti).unwrap();
    let e = usize::from(oti.encoding_symbol_length);
    for p in &obj {
        let id = p.payload_id().unwrap();
        let block = blocking.block(id.sbn).unwrap();
        if let Some(sym_len) = block.source_symbol_len(id.esi) {
            let at = block.offset as usize + id.esi as usize * e;
            assert_eq!(&p.symbols()[..sym_len], &data[at..at + sym_len], "{id:?}");
        }
    }
    let (decoded, refused) = decode_object(&registry, &obj, &oti);
    assert_eq!(decoded, data);
    refused_fdt + refused
}

#[test]
fn peer_no_code_packets_parse() {
    let refused = check_peer_packets(
        &flute_peer::core::Oti::new_no_code(64, 8),
        FecEncodingId::COMPACT_NO_CODE,
        1077,
    );
    assert_eq!(refused, 0);
}

/// For a short last block (k < B) ypo/flute sends k + max_parity encoding symbols, beyond
/// RFC 5510's n = floor(k * max_n / B). Our RS receivers are lenient on receipt (any ESI
/// with an evaluation point, `FecScheme::receive_esi_limit`), so nothing is refused. Here:
/// L = 1077, E = 64, B = 8, max_n = 10: blocks [6, 6, 5]; for k = 5 the peer sends ESI 5
/// and 6 while n = floor(5 * 10 / 8) = 6.
#[test]
fn peer_reed_solomon_gf28_packets_parse() {
    let refused = check_peer_packets(
        &flute_peer::core::Oti::new_reed_solomon_rs28(64, 8, 2).unwrap(),
        FecEncodingId::RS_GF28,
        1077,
    );
    assert_eq!(refused, 0);
}

#[test]
fn peer_raptorq_packets_parse() {
    let refused = check_peer_packets(
        &flute_peer::core::Oti::new_raptorq(64, 16, 4, 1, 4).unwrap(),
        FecEncodingId::RAPTORQ,
        1077,
    );
    assert_eq!(refused, 0);
}

/// Part 2: our packets into the peer's receiver. The FDT instance comes from the peer's
/// sender (we have no FDT writer here): we parse its packets and re-emit them with our
/// emitter. The object's packets are encoded and emitted by us, with the OTI the peer
/// announced (read from its EXT_FTI by our parser), so its FDT and our packets agree.
fn our_packets_accepted_by_peer_receiver(peer_oti: &flute_peer::core::Oti, len: usize) {
    let data = content(len);
    let (toi, raw) = peer_send(peer_oti, &data);
    let registry = FecRegistry::with_builtin();
    let parser = AlcParser::new(&registry).flute(true);
    let mut ours: Vec<Vec<u8>> = Vec::new();
    let mut object_oti = None;
    for r in &raw {
        let p = parser.parse(r).unwrap();
        if p.toi() != Some(Toi(0)) {
            object_oti.get_or_insert_with(|| p.oti().unwrap().clone());
            continue;
        }
        let oti = p.oti().unwrap();
        let mut repr = AlcRepr::new(Tsi(TSI), Toi(0), oti, p.payload_id().unwrap()).unwrap();
        repr.lct = *p.lct();
        repr.send_fti = true;
        repr.fdt = p.fdt();
        repr.cenc = p.cenc();
        repr.time = p.time();
        let mut buf = vec![0u8; 1500];
        let n = repr.emit(p.scheme(), p.symbols(), &mut buf).unwrap();
        buf.truncate(n);
        // Our re-emission carries the same fields (the peer puts EXT_FTI last, we put it
        // first; the order of header extensions carries no meaning, RFC 5651 §5.2).
        assert_eq!(buf.len(), r.len());
        let q = parser.parse(&buf).unwrap();
        assert_eq!(
            (
                q.lct(),
                q.fdt(),
                q.cenc(),
                q.time(),
                q.oti(),
                q.payload_id(),
                q.symbols()
            ),
            (
                p.lct(),
                p.fdt(),
                p.cenc(),
                p.time(),
                p.oti(),
                p.payload_id(),
                p.symbols()
            )
        );
        ours.push(buf);
    }

    // The object, encoded by our FEC scheme and emitted by us, EXT_FTI in band; the
    // symbol is written by the encoder straight into the packet buffer.
    let oti = object_oti.unwrap();
    let scheme = registry.for_oti(&oti).unwrap();
    let blocking = scheme.blocking(&oti).unwrap();
    let bytes = Bytes::from(data.clone());
    for block in blocking.iter() {
        let src = bytes.slice(block.offset as usize..(block.offset + block.len) as usize);
        let mut enc = scheme.encoder(&oti, &block, src).unwrap();
        for esi in 0..enc.esi_limit().min(block.source_symbols + 2) {
            let id = PayloadId {
                sbn: block.sbn,
                esi,
                source_block_length: None,
            };
            let mut repr = AlcRepr::new(Tsi(TSI), Toi(toi), &oti, id).unwrap();
            repr.send_fti = true;
            let mut buf = vec![0u8; 1500];
            let hdr = repr.emit_header(&**scheme, &mut buf).unwrap();
            let n = enc.write_symbol(esi, &mut buf[hdr..]).unwrap();
            buf.truncate(hdr + n);
            ours.push(buf);
        }
    }

    let writer = Rc::new(ObjectWriterBufferBuilder::new(true));
    let mut receiver = MultiReceiver::new(writer.clone(), None, false);
    for p in &ours {
        receiver.push(&endpoint(), p, now()).unwrap();
    }
    let objects = writer.objects.borrow();
    assert_eq!(objects.len(), 1);
    let obj = objects[0].borrow();
    assert!(obj.complete && !obj.error);
    assert_eq!(obj.data, data);
}

#[test]
fn our_no_code_packets_accepted_by_peer_receiver() {
    our_packets_accepted_by_peer_receiver(&flute_peer::core::Oti::new_no_code(64, 8), 1077);
}

#[test]
fn our_reed_solomon_gf28_packets_accepted_by_peer_receiver() {
    our_packets_accepted_by_peer_receiver(
        &flute_peer::core::Oti::new_reed_solomon_rs28(64, 8, 2).unwrap(),
        1077,
    );
}

#[test]
fn our_raptorq_packets_accepted_by_peer_receiver() {
    our_packets_accepted_by_peer_receiver(
        &flute_peer::core::Oti::new_raptorq(64, 16, 4, 1, 4).unwrap(),
        1077,
    );
}
