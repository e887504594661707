//! Writes the seed corpora under `fuzz/corpus/` from our own emitters plus hand-made bad
//! inputs. Run with `cargo run -p flute-fuzz --example make_seeds` from the workspace root.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use bytes::Bytes;
use fec_schemes::{FecRegistry, Oti, PayloadId, SchemeSpecific};
use lct_header::{
    ContentEncoding, ExtCenc, ExtFdt, ExtTime, HeaderExtension, LctRepr, LctWriter, Toi, Tsi,
};

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = Path::new("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn sample_otis(registry: &FecRegistry) -> Vec<Oti> {
    let mut out = Vec::new();
    for scheme in registry.iter() {
        let key = scheme.key();
        let ss = match key.encoding_id.0 {
            1 => SchemeSpecific::Raptor { z: 1, n: 1, al: 4 },
            6 => SchemeSpecific::RaptorQ { z: 1, n: 1, al: 4 },
            2 => SchemeSpecific::ReedSolomon { m: 8, g: 1 },
            3 => SchemeSpecific::LdpcStaircase { n1: 3, seed: 1 },
            _ => SchemeSpecific::None,
        };
        let max_n = match key.encoding_id.0 {
            2 | 3 | 5 | 129 => Some(12),
            _ => None,
        };
        out.push(Oti {
            encoding_id: key.encoding_id,
            instance_id: key.instance_id,
            transfer_length: 1000,
            encoding_symbol_length: 64,
            max_source_block_length: 8,
            max_encoding_symbols: max_n,
            scheme_specific: ss,
        });
    }
    out
}

fn main() {
    let registry = FecRegistry::with_builtin();

    // LCT headers.
    let mut n = 0;
    let mut lct = |bytes: &[u8]| {
        n += 1;
        write("lct_parse", &format!("seed-{n:03}"), bytes);
    };
    for (tsi, toi) in [
        (Some(Tsi(1)), Some(Toi(0))),
        (Some(Tsi(0xFFFF_FFFF_FFFF)), Some(Toi((1 << 112) - 1))),
        (None, None),
        (Some(Tsi(7)), Some(Toi(0x1234))),
    ] {
        let repr = LctRepr::new(tsi, toi, 0).unwrap();
        let mut buf = [0u8; 128];
        let mut w = LctWriter::new(&repr, &mut buf).unwrap();
        w.push(&HeaderExtension::Fdt(ExtFdt {
            version: 2,
            instance_id: 0xFFFFF,
        }))
        .unwrap();
        w.push(&HeaderExtension::Cenc(ExtCenc {
            encoding: ContentEncoding::Gzip,
        }))
        .unwrap();
        let len = w.finish();
        lct(&buf[..len]);
        let mut w = LctWriter::new(&repr, &mut buf).unwrap();
        w.push(&HeaderExtension::Time(ExtTime {
            sct_high: Some(1),
            sct_low: Some(2),
            ert: Some(3),
            slc: Some(4),
            ..Default::default()
        }))
        .unwrap();
        let len = w.finish();
        lct(&buf[..len]);
    }
    lct(&[0x10, 0x00, 0x00, 0x00]); // HDR_LEN 0
    lct(&[
        0x10, 0xA0, 0x05, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x00, 0x00, 0x00, 0x00,
    ]); // HEL 0
    lct(&[0x20, 0xA0, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]); // V = 2
    lct(&[
        0x10, 0xA0, 0x09, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0x05, 0x09, 0, 0,
    ]); // HEL past end

    // EXT_FTI and payload IDs of every scheme.
    let mut k = 0;
    for oti in sample_otis(&registry) {
        let scheme = registry.for_oti(&oti).unwrap();
        let mut buf = vec![0u8; scheme.fti_len(&oti)];
        if let Ok(len) = scheme.write_fti(&oti, &mut buf) {
            k += 1;
            write("fti_parse", &format!("seed-{k:03}"), &buf[..len]);
            let mut bad = buf[..len].to_vec();
            bad[1] = bad[1].wrapping_add(1);
            k += 1;
            write("fti_parse", &format!("seed-{k:03}"), &bad);
        }
    }

    // ALC packets: one data packet per scheme, plus an FDT packet.
    let mut a = 0;
    for oti in sample_otis(&registry) {
        let scheme = registry.for_oti(&oti).unwrap().clone();
        let blocking = match scheme.blocking(&oti) {
            Ok(b) => b,
            Err(_) => continue,
        };
        let block = blocking.block(0).unwrap();
        let data = Bytes::from(vec![0x5Au8; block.len as usize]);
        let Ok(mut enc) = scheme.encoder(&oti, &block, data) else {
            continue;
        };
        for esi in [0, enc.esi_limit().saturating_sub(1)] {
            let repr = LctRepr::new(Some(Tsi(1)), Some(Toi(1)), oti.encoding_id.0).unwrap();
            let mut buf = [0u8; 512];
            let mut w = LctWriter::new(&repr, &mut buf).unwrap();
            let mut fti = vec![0u8; scheme.fti_len(&oti)];
            scheme.write_fti(&oti, &mut fti).unwrap();
            w.push(&HeaderExtension::Fti(&fti)).unwrap();
            let hdr = w.finish();
            let pid_len = scheme.payload_id_len();
            scheme
                .write_payload_id(
                    &PayloadId {
                        sbn: 0,
                        esi,
                        source_block_length: Some(block.source_symbols),
                    },
                    &oti,
                    &mut buf[hdr..hdr + pid_len],
                )
                .unwrap();
            let sym = enc.write_symbol(esi, &mut buf[hdr + pid_len..]).unwrap();
            a += 1;
            write(
                "alc_parse",
                &format!("seed-{a:03}"),
                &buf[..hdr + pid_len + sym],
            );
        }
    }

    // FDT documents: the fdt crate's fixtures plus hostile ones.
    let mut f = 0;
    for entry in std::fs::read_dir("crates/fdt/tests/fixtures").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "xml") {
            f += 1;
            write(
                "fdt_parse",
                &format!("seed-{f:03}"),
                &std::fs::read(&path).unwrap(),
            );
        }
    }
    for doc in [
        &b"<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><FDT-Instance xmlns=\"urn:ietf:params:xml:ns:fdt\" Expires=\"1\"><File TOI=\"1\" Content-Location=\"&b;\"/></FDT-Instance>"[..],
        b"<FDT-Instance xmlns=\"urn:ietf:params:xml:ns:fdt\" Expires=\"1\"><File TOI=\"0\" Content-Location=\"x\"/></FDT-Instance>",
        b"<FDT-Instance xmlns=\"urn:ietf:params:xml:ns:fdt\" Expires=\"1\"><File TOI=\"1\" Content-Location=\"x\" Content-Length=\"+12\"/>",
    ] {
        f += 1;
        write("fdt_parse", &format!("seed-{f:03}"), doc);
    }

    receiver_seeds();
}

/// Whole sessions from flute-sender, framed for `receiver_datagrams`: every built-in FEC
/// scheme, content encodings, a session cut short, packets reordered, and a mix of the
/// other corpora's packets.
fn receiver_seeds() {
    use flute_sender::{
        AnchoredClock, ContentEncoding, Object, Repair, Sender, SenderConfig, Tsi as STsi,
    };
    use std::sync::Arc;
    use std::time::{Instant, SystemTime};

    use fec_schemes::schemes::{no_code::CompactNoCode, raptor::Raptor, raptorq::RaptorQ, rs};

    #[allow(clippy::disallowed_methods)] // the seed writer's one clock read
    let now = Instant::now();
    let session = |objects: Vec<Object>| -> Vec<Vec<u8>> {
        let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
        let mut tx = Sender::new(SenderConfig::new(STsi(5), clock)).unwrap();
        for o in objects {
            tx.insert_object(o, now).unwrap();
        }
        tx.close();
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1500];
        while let Some(t) = tx.poll_transmit(now, &mut buf) {
            out.push(buf[..t.len].to_vec());
            assert!(out.len() < 10_000, "seed session too long");
        }
        out
    };
    let body = |n: usize| -> Bytes {
        (0..n)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>()
            .into()
    };
    let mut n = 0;
    let mut put = |packets: &[Vec<u8>]| {
        n += 1;
        let framed = flute_fuzz::frame_datagrams(packets.iter().map(Vec::as_slice));
        write("receiver_datagrams", &format!("seed-{n:03}"), &framed);
    };
    let len = 3000u64;
    let otis = [
        CompactNoCode::oti(len, 256, 8),
        rs::RsGf28::oti(len, 256, 8, 12),
        RaptorQ::oti(len, 256, 1, 1, 1),
        Raptor::oti(len, 256, 1, 1, 1),
    ];
    for oti in otis {
        let o = Object::from_bytes("a.bin", body(len as usize))
            .fec(oti)
            .repair(Repair::Count(4));
        put(&session(vec![o]));
    }
    for enc in [
        ContentEncoding::Gzip,
        ContentEncoding::Zlib,
        ContentEncoding::Zstd,
    ] {
        let o = Object::from_bytes("t.txt", body(2000))
            .content_encoding(enc)
            .content_md5(true);
        put(&session(vec![o]));
    }
    // Several objects incl. empty and one-byte ones; then the same session cut short,
    // reversed (data before the FDT), and with every third packet lost.
    let many = session(vec![
        Object::from_bytes("e", Bytes::new()),
        Object::from_bytes("one", body(1)),
        Object::from_bytes("b", body(5000)).repair(Repair::Percent(50)),
    ]);
    put(&many);
    put(&many[..many.len() / 2]);
    put(&many.iter().rev().cloned().collect::<Vec<_>>());
    put(&many
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 2)
        .map(|(_, p)| p.clone())
        .collect::<Vec<_>>());
    captures(&many);
    // The single-packet corpora, as one session each.
    for target in ["alc_parse", "lct_parse"] {
        let mut packets = Vec::new();
        for entry in std::fs::read_dir(Path::new("fuzz/corpus").join(target)).unwrap() {
            packets.push(std::fs::read(entry.unwrap().path()).unwrap());
        }
        packets.sort();
        put(&packets);
    }
}

/// `pcap_read` seeds: a session written by flute-io's `PcapWriter` over IPv4 and over IPv6,
/// the first cut in the middle of a record, a pcapng with two interfaces (Ethernet and raw
/// IPv4), and one UDP datagram in two IPv4 fragments.
fn captures(packets: &[Vec<u8>]) {
    use flute_io::PcapWriter;
    use flute_io::pcap::{build_udp_frame, internet_checksum};
    use std::net::SocketAddr;
    use std::time::Duration;
    let put = |name: &str, data: &[u8]| write("pcap_read", name, data);
    let v4: (SocketAddr, SocketAddr) = (
        "10.0.0.1:5000".parse().unwrap(),
        "239.1.1.1:3400".parse().unwrap(),
    );
    let v6: (SocketAddr, SocketAddr) = (
        "[fe80::1]:5000".parse().unwrap(),
        "[ff05::1]:3400".parse().unwrap(),
    );
    for (i, (src, dst)) in [v4, v6].into_iter().enumerate() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for (j, p) in packets.iter().take(12).enumerate() {
            w.write_udp(Duration::from_millis(j as u64), src, dst, p)
                .unwrap();
        }
        let bytes = w.finish().unwrap();
        put(&format!("seed-{:03}", i + 1), &bytes);
        if i == 0 {
            put("seed-003", &bytes[..bytes.len() - 37]);
        }
    }
    // pcapng, little-endian: SHB, IDB (Ethernet), IDB (raw IPv4, 228), one EPB on each.
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        b.resize(body.len().div_ceil(4) * 4, 0);
        let len = (b.len() + 12) as u32;
        let mut out = kind.to_le_bytes().to_vec();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&b);
        out.extend_from_slice(&len.to_le_bytes());
        out
    }
    let mut shb = 0x1A2B_3C4Du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let idb = |linktype: u16| {
        let mut b = linktype.to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        b
    };
    let epb = |iface: u32, frame: &[u8]| {
        let mut b = iface.to_le_bytes().to_vec();
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&1_000_000u32.to_le_bytes());
        b.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        b.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        b.extend_from_slice(frame);
        b
    };
    let frame = build_udp_frame(v4.0, v4.1, &packets[0], 1, 64).unwrap();
    let mut ng = block(0x0A0D_0D0A, &shb);
    ng.extend(block(1, &idb(1)));
    ng.extend(block(1, &idb(228)));
    ng.extend(block(6, &epb(0, &frame)));
    ng.extend(block(6, &epb(1, &frame[14..])));
    put("seed-004", &ng);
    // One datagram in two IPv4 fragments (offsets in 8-byte units, MF on the first).
    let big: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
    let whole = build_udp_frame(v4.0, v4.1, &big, 7, 64).unwrap();
    let (eth, ip) = whole.split_at(14);
    let (hdr, payload) = ip.split_at(20);
    let cut = 296; // a multiple of 8
    let frag = |data: &[u8], offset: usize, more: bool| {
        let mut h = hdr.to_vec();
        h[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        let flags = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&flags.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let sum = internet_checksum(&[&h]);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        [eth, &h, data].concat()
    };
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    w.write_frame(Duration::ZERO, &frag(&payload[..cut], 0, true))
        .unwrap();
    w.write_frame(Duration::from_millis(1), &frag(&payload[cut..], cut, false))
        .unwrap();
    put("seed-005", &w.finish().unwrap());
}
