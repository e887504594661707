//! Fuzz entry points.
//!
//! Each function takes arbitrary bytes, runs one public parser of the workspace on them,
//! and checks an invariant on success (a round trip or a length identity). They panic
//! only when an invariant is broken, which is what the fuzzer looks for. The same
//! functions are called by the cargo-fuzz targets in `fuzz/fuzz_targets/` and by
//! `tests/replay_corpus.rs`, which replays every committed seed in `fuzz/corpus/`.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // invariant failures must panic here

use std::sync::OnceLock;

use fec_schemes::FecRegistry;
use lct_header::{HeaderExtension, LctPacket, LctRepr, LctWriter};

fn registry() -> &'static FecRegistry {
    static R: OnceLock<FecRegistry> = OnceLock::new();
    R.get_or_init(FecRegistry::with_builtin)
}

/// The names of the entry points, equal to the fuzz target names and corpus directories.
pub const TARGETS: &[&str] = &[
    "lct_parse",
    "fti_parse",
    "alc_parse",
    "fdt_parse",
    "receiver_datagrams",
    "repair_query",
    "symbol_container",
    "pcap_read",
];

/// Runs the entry point called `name` on `data`. Returns `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "lct_parse" => lct_parse(data),
        "fti_parse" => fti_parse(data),
        "alc_parse" => alc_parse(data),
        "fdt_parse" => fdt_parse(data),
        "receiver_datagrams" => receiver_datagrams(data),
        "repair_query" => repair_query(data),
        "symbol_container" => symbol_container(data),
        "pcap_read" => pcap_read(data),
        _ => return false,
    }
    true
}

/// LCT header: parse; on success re-emit the header and its extensions and check that the
/// result parses to the same header and the same extensions.
pub fn lct_parse(data: &[u8]) {
    let Ok(view) = LctPacket::new_checked(data) else {
        return;
    };
    let Ok(repr) = LctRepr::parse(&view) else {
        return;
    };
    let exts: Vec<HeaderExtension<'_>> = match view
        .extensions()
        .map(|r| r.and_then(|raw| raw.decode()))
        .collect()
    {
        Ok(v) => v,
        Err(_) => return,
    };
    let mut buf = vec![0u8; data.len() + 64];
    let mut w = match LctWriter::new(&repr, &mut buf) {
        Ok(w) => w,
        Err(e) => panic!("a parsed header must be writable: {e:?}"),
    };
    for ext in &exts {
        w.push(ext)
            .unwrap_or_else(|e| panic!("a parsed extension must be writable: {e:?}"));
    }
    let len = w.finish();
    assert_eq!(len, view.header_len(), "re-emitted header length differs");
    let again = LctPacket::new_checked(&buf[..len]).expect("re-emitted header parses");
    assert_eq!(
        LctRepr::parse(&again).expect("re-emitted repr parses"),
        repr
    );
    let exts2: Vec<HeaderExtension<'_>> = again
        .extensions()
        .map(|r| r.and_then(|raw| raw.decode()))
        .collect::<Result<_, _>>()
        .expect("re-emitted extensions parse");
    assert_eq!(exts2, exts);
}

/// EXT_FTI, FEC Payload ID and scheme-specific info of every built-in scheme: arbitrary
/// bytes never panic; a parsed OTI writes back to the same bytes and re-parses equal.
pub fn fti_parse(data: &[u8]) {
    for scheme in registry().iter() {
        let oti = scheme.read_fti(data).ok();
        if let Some(oti) = &oti {
            let mut out = vec![0u8; scheme.fti_len(oti)];
            let n = scheme
                .write_fti(oti, &mut out)
                .expect("a parsed OTI must be writable");
            let again = scheme
                .read_fti(&out[..n])
                .expect("a written EXT_FTI must parse");
            assert_eq!(&again, oti, "{}: EXT_FTI round trip", scheme.name());
            let _ = scheme.blocking(oti);
            let ssi = scheme.write_scheme_specific_info(oti);
            let ss = scheme
                .read_scheme_specific_info(&ssi)
                .expect("written scheme-specific info parses");
            assert_eq!(
                ss,
                oti.scheme_specific,
                "{}: scheme-specific info round trip",
                scheme.name()
            );
        }
        if let Ok(id) = scheme.read_payload_id(data, oti.as_ref()) {
            if let Some(oti) = &oti {
                let mut out = vec![0u8; scheme.payload_id_len()];
                if scheme.write_payload_id(&id, oti, &mut out).is_ok() {
                    assert_eq!(scheme.read_payload_id(&out, Some(oti)).ok(), Some(id));
                }
            }
        }
        let _ = scheme.read_scheme_specific_info(data);
    }
}

/// ALC packet: parse through the registry with the FLUTE rules on; on success the header,
/// FEC Payload ID and symbol bytes tile the datagram exactly.
pub fn alc_parse(data: &[u8]) {
    let parser = alc::AlcParser::new(registry()).flute(true);
    if let Ok(p) = parser.parse(data) {
        let hdr = LctPacket::new_checked(data)
            .expect("an ALC packet has a valid LCT header")
            .header_len();
        assert_eq!(
            hdr + p.payload_id_bytes().len() + p.symbols().len(),
            data.len(),
            "ALC packet parts must tile the datagram"
        );
        assert_eq!(p.payload_id_bytes().len(), p.scheme().payload_id_len());
    }
    let _ = alc::AlcParser::new(registry()).parse(data);
}

/// FDT XML: parse under the default limits; on success emit in the RFC 6726 profile and
/// check that the files (TOI, Content-Location, lengths) survive the round trip.
pub fn fdt_parse(data: &[u8]) {
    let Ok(fdt) = fdt::FdtInstance::parse(data) else {
        return;
    };
    let Ok(xml) = fdt.emit(fdt::Profile::Rfc6726) else {
        return;
    };
    let back = fdt::FdtInstance::parse(xml.as_bytes()).expect("an emitted FDT must parse");
    let key = |f: &fdt::File| {
        (
            f.toi,
            f.content_location.clone(),
            f.content_length,
            f.transfer_length,
        )
    };
    assert_eq!(
        back.files.iter().map(key).collect::<Vec<_>>(),
        fdt.files.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(back.expires, fdt.expires);
    let _ = fdt::inflate(fdt::ContentEncoding::Gzip, data, 1 << 20);
}

/// The limits of the receiver under fuzzing: small, so that the bounds are reached.
pub fn fuzz_receiver_config() -> flute_receiver::ReceiverConfig {
    use flute_receiver::ReceiverConfig;
    {
        let mut c = ReceiverConfig::default();
        c.max_sessions = 4;
        c.max_concurrent_objects = 8;
        c.max_object_size = 256 << 10;
        c.max_buffered_bytes = 512 << 10;
        c.max_pending_bytes = 64 << 10;
        c.max_fdt_size = 64 << 10;
        c.max_fdt_files = 64;
        c.max_finished_memory = 16;
        // 2 MiB: what flute-sender's streaming zstd (level 3) asks for.
        c.zstd_window_log_max = 21;
        c
    }
}

/// Splits fuzz input into datagrams: records of `[hi, lo, bytes...]` where the low 15 bits
/// of `hi·256 + lo` are the length (a record longer than what is left takes the rest) and
/// the top bit picks one of two receiving endpoints. Returns `(endpoint, datagram)` pairs.
/// (The seed writer uses the same framing.)
pub fn split_datagrams(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let [hi, lo, rest @ ..] = data {
        let word = usize::from(*hi) << 8 | usize::from(*lo);
        let len = (word & 0x7FFF).min(rest.len());
        let (d, tail) = rest.split_at(len);
        out.push(((word >> 15) as u8, d));
        data = tail;
    }
    out
}

/// Frames `datagrams` for [`receiver_datagrams`] (all on endpoint 0).
pub fn frame_datagrams<'a>(datagrams: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for d in datagrams {
        let len = d.len().min(0x7FFF);
        out.extend_from_slice(&(len as u16).to_be_bytes());
        out.extend_from_slice(&d[..len]);
    }
    out
}

/// Receiver: the datagrams of [`split_datagrams`] go to one receiver with the small limits
/// of [`fuzz_receiver_config`], 1 ms of virtual time apart, timers driven. Invariants,
/// after every datagram: no panic; held and pending bytes, objects and sessions within
/// their limits; every delivered object is in memory, no larger than `max_object_size`,
/// and as long as its reported content length.
pub fn receiver_datagrams(data: &[u8]) {
    receiver_run(data);
}

/// [`receiver_datagrams`], returning the number of objects delivered.
pub fn receiver_run(data: &[u8]) -> usize {
    use flute_receiver::{Endpoint, ObjectLocation, Receiver, ReceiverEvent};
    use std::time::{Duration, Instant};

    let cfg = fuzz_receiver_config();
    let mut rx = Receiver::new(cfg.clone());
    // The origin of virtual time; the receiver only ever sees offsets from it.
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let mut delivered = 0;
    let second = Endpoint {
        source: None,
        destination: std::net::SocketAddr::from(([127, 0, 0, 1], 4001)),
    };
    for (i, (which, d)) in split_datagrams(data).into_iter().enumerate() {
        now += Duration::from_millis(1);
        // Sessions are per (endpoint, TSI).
        let ep = if which == 0 {
            Endpoint::default()
        } else {
            second
        };
        rx.handle_datagram(now, ep, d);
        if i % 16 == 15 {
            now += Duration::from_secs(1);
            rx.handle_timeout(now);
        }
        let st = rx.stats();
        assert!(st.buffered_bytes <= cfg.max_buffered_bytes, "{st:?}");
        assert!(st.pending_bytes <= cfg.max_pending_bytes, "{st:?}");
        assert!(st.active_objects <= cfg.max_concurrent_objects, "{st:?}");
        assert!(st.sessions.len() <= cfg.max_sessions, "{st:?}");
        while let Some(ev) = rx.poll_event() {
            if let ReceiverEvent::ObjectComplete {
                location,
                content_length,
                ..
            } = ev
            {
                assert!(content_length <= cfg.max_object_size);
                delivered += 1;
                match location {
                    ObjectLocation::Memory(b) => assert_eq!(b.len() as u64, content_length),
                    other => panic!("memory sink delivered {other:?}"),
                }
            }
        }
    }
    // Everything times out in the end, without a panic.
    rx.handle_timeout(now + Duration::from_secs(3600));
    while rx.poll_event().is_some() {}
    delivered
}

/// File repair query (TS 26.346 §9.3.6): parse under small limits; on success the encoded
/// query parses back to the same value, and its encoding is a fixed point.
pub fn repair_query(data: &[u8]) {
    use flute_repair::{QueryLimits, RepairQuery};
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let limits = QueryLimits {
        max_len: 4096,
        max_parts: 64,
        max_esi_ranges: 256,
        max_file_uri: 256,
    };
    let Ok(q) = RepairQuery::parse(s, &limits) else {
        return;
    };
    let enc = q.encode();
    let back = RepairQuery::parse(&enc, &QueryLimits::default()).expect("an encoded query parses");
    assert_eq!(back, q);
    assert_eq!(back.encode(), enc);
}

/// Capture reading (`flute_io::PcapReader`: pcap/pcapng records, link layers, IP, UDP,
/// fragment reassembly): any bytes give datagrams, a typed error or the end, never a
/// panic; every datagram returned is counted once, fits in a UDP datagram, and no more
/// datagrams are rebuilt from fragments than returned.
pub fn pcap_read(data: &[u8]) {
    let Ok(mut r) = flute_io::PcapReader::new(std::io::Cursor::new(data)) else {
        return;
    };
    let mut n = 0u64;
    // Each datagram takes at least one record header of the input: this bounds the loop.
    for _ in 0..=data.len() {
        match r.next_datagram() {
            Ok(Some(d)) => {
                assert!(
                    d.payload.len() <= 65_535,
                    "a UDP payload of {} bytes",
                    d.payload.len()
                );
                n += 1;
            }
            Ok(None) | Err(_) => break,
        }
    }
    let st = r.stats();
    assert_eq!(st.udp, n, "datagrams returned vs counted");
    assert!(st.reassembled <= st.udp);
    assert!(st.udp + st.not_udp + st.malformed <= st.frames + st.reassembled);
}

/// The OTIs [`symbol_container`] picks from with its first byte: one per built-in scheme
/// with a few source blocks, and one with T = 1.
pub fn container_otis() -> Vec<fec_schemes::Oti> {
    use fec_schemes::schemes::{
        no_code::CompactNoCode,
        raptor::Raptor,
        raptorq::RaptorQ,
        rs::{RsGf2m, RsGf28, RsSmallBlock},
    };
    vec![
        CompactNoCode::oti(1000, 16, 8),
        RaptorQ::oti(4000, 16, 3, 1, 1),
        Raptor::oti(4000, 16, 3, 1, 1),
        RsGf28::oti(1000, 16, 8, 12),
        RsGf2m::oti(1000, 16, 8, 12, 8, 1),
        RsSmallBlock::oti(1000, 16, 8, 12),
        CompactNoCode::oti(5, 1, 2),
    ]
}

/// `application/simpleSymbolContainer` (TS 26.346 §9.3.6): the first byte picks an OTI of
/// [`container_otis`], the rest is the body. On success every group lies inside the object
/// and re-emitting the groups gives back the body byte for byte.
pub fn symbol_container(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let otis = container_otis();
    let oti = &otis[usize::from(pick) % otis.len()];
    let scheme = registry().for_oti(oti).expect("a built-in scheme");
    let codec = flute_repair::ContainerCodec::new(&**scheme, oti).expect("a valid OTI");
    let Ok(groups) = codec.parse(body, 4096) else {
        return;
    };
    let mut out = Vec::with_capacity(body.len());
    for g in &groups {
        codec
            .check(&g.payload_id, u32::from(g.count))
            .expect("a parsed group lies inside the object");
        codec
            .write_group(&g.payload_id, g.symbols, &mut out)
            .expect("a parsed group is writable");
    }
    assert_eq!(out, body, "container round trip");
}
