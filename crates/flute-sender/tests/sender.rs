//! Behaviour of the sender, checked by parsing what it emits with the `alc`, `lct-header`
//! and `fdt` crates and decoding objects with the registry's decoders.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use alc::AlcParser;
use bytes::Bytes;
use common::*;
use fec_schemes::FecRegistry;
use flute_sender::{
    Carousel, ContentEncoding, FdtMode, FtiMode, Object, ObjectSource, Pacing, PacingUnit, Profile,
    Repair, SendError, Sender, SenderEvent, Toi,
};

fn events(s: &mut Sender) -> Vec<SenderEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// RFC 6726 §3.3/§3.4: FDT on TOI 0 with EXT_FDT before the data; every packet parses; every
/// built-in scheme round-trips, with repair symbols, and zero-length objects work too.
#[test]
fn every_builtin_scheme_round_trips() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut tested = 0;
    for scheme in reg.iter() {
        for len in [0usize, 1, 999, 1000, 40_123] {
            let Some(oti) = oti_for(&**scheme, len as u64, 1000) else {
                continue;
            };
            if len > 0 && scheme.validate_oti(&oti).is_err() {
                // A limit of the scheme itself (e.g. Raptor needs K >= 4, RFC 5053 §5.7).
                continue;
            }
            let mut s = Sender::new(config(t0)).unwrap();
            let body = data(len, 7);
            let toi = s
                .insert_object(
                    Object::from_bytes("http://a/b", body.clone())
                        .fec(oti.clone())
                        .repair(Repair::Percent(25)),
                    t0,
                )
                .unwrap();
            s.close();
            let (sent, _) = drive(&mut s, t0, 100_000);
            assert!(s.is_closed(), "{} len {len}", scheme.name());
            let parser = AlcParser::new(&reg).flute(true);
            for p in &sent {
                parse(&parser, &p.bytes);
            }
            assert_eq!(sent[0].t.toi, Toi(0), "FDT first");
            let fdts = fdt_instances(&reg, &sent);
            let f = fdts.values().next().unwrap().file(toi.0).unwrap().clone();
            assert_eq!(f.transfer_length, Some(len as u64));
            assert_eq!(f.fec_oti.encoding_id, Some(oti.encoding_id.0));
            let mut oti = oti.clone();
            oti.transfer_length = len as u64;
            if len > 0 {
                let got = decode_object(&reg, &sent, toi.0, &oti).expect("decodes");
                assert_eq!(got, body.to_vec(), "{} len {len}", scheme.name());
                assert!(sent.iter().any(|p| p.t.close_object && p.t.toi == toi));
            } else {
                assert!(sent.iter().all(|p| p.t.toi.0 == 0), "no data for L = 0");
            }
            assert!(sent.last().unwrap().t.close_session);
            tested += 1;
        }
    }
    assert!(tested >= 5);
}

/// The FDT describes the object (RFC 6726 §3.4.2): Content-Location, TOI, lengths,
/// Content-Type, Content-Encoding, Content-MD5, OTI, Expires from the wall clock.
#[test]
fn fdt_contents() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut s = Sender::new(config(t0)).unwrap();
    let body = data(5000, 1);
    let toi = s
        .insert_object(
            Object::from_bytes("http://example.com/x y&z.bin", body.clone())
                .content_type("application/octet-stream")
                .content_md5(true)
                .toi(Toi(77)),
            t0,
        )
        .unwrap();
    assert_eq!(toi, Toi(77));
    let sent = drain_now(&mut s, t0);
    let fdts = fdt_instances(&reg, &sent);
    assert_eq!(fdts.len(), 1);
    let (id, inst) = fdts.iter().next().unwrap();
    assert_eq!(*id, 0);
    inst.validate(&fdt::ValidationOptions::default()).unwrap();
    assert_eq!(
        u64::from(inst.expires.0),
        WALL0 + 2_208_988_800 + 3600,
        "Expires = wall clock + expires_after, NTP seconds"
    );
    let f = inst.file(77).unwrap();
    assert_eq!(f.content_location, "http://example.com/x y&z.bin");
    assert_eq!(f.content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(f.content_length, Some(5000));
    assert_eq!(f.transfer_length, Some(5000));
    assert_eq!(f.content_md5, Some(fdt::content_md5(&body)));
    assert_eq!(f.fec_oti.encoding_id, Some(0));
    assert_eq!(f.fec_oti.encoding_symbol_length, Some(1000));
    assert_eq!(f.fec_oti.max_source_block_length, Some(16));
    assert_eq!(inst.complete, None);
    assert!(matches!(
        events(&mut s).first(),
        Some(SenderEvent::FdtPublished {
            instance_id: 0,
            files: 1
        })
    ));
}

/// An `ObjectSource` that counts the bytes read from it.
struct CountingSource {
    data: Bytes,
    read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ObjectSource for CountingSource {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.read
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        ObjectSource::read_at(&mut self.data, offset, buf)
    }
}

/// RFC 6726 §3.4.2 / RFC 1864: a Content-MD5 the caller computed
/// (`Object::content_md5_value`) gives the same packets as the sender computing it
/// (`content_md5(true)`), and the source is then not read at insert time (only when its
/// blocks are sent). `content_md5(false)` afterwards turns it off again.
#[test]
fn content_md5_value_is_published_as_given_without_hashing_the_source() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let body = data(50_000, 3);
    let digest: [u8; 16] = {
        use md5::Digest;
        md5::Md5::digest(&body).into()
    };
    let run = |obj: Object| {
        let mut s = Sender::new(config(t0)).unwrap();
        s.insert_object(obj.toi(Toi(9)), t0).unwrap();
        s.close();
        drain_now(&mut s, t0)
    };
    let computed = run(Object::from_bytes("a.bin", body.clone()).content_md5(true));
    let read = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let src = CountingSource {
        data: body.clone(),
        read: read.clone(),
    };
    let mut s = Sender::new(config(t0)).unwrap();
    s.insert_object(
        Object::from_source("a.bin", Box::new(src))
            .content_md5_value(digest)
            .toi(Toi(9)),
        t0,
    )
    .unwrap();
    assert_eq!(
        read.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "the source is not hashed at insert time"
    );
    s.close();
    let given = drain_now(&mut s, t0);
    assert_eq!(given.len(), computed.len());
    for (a, b) in given.iter().zip(&computed) {
        assert_eq!(a.bytes, b.bytes);
    }
    let f = fdt_instances(&reg, &given)[&0].file(9).unwrap().clone();
    assert_eq!(f.content_md5, Some(fdt::content_md5(&body)));
    let off = run(Object::from_bytes("a.bin", body.clone())
        .content_md5_value(digest)
        .content_md5(false));
    let f = fdt_instances(&reg, &off)[&0].file(9).unwrap().clone();
    assert_eq!(f.content_md5, None);
}

/// RFC 6726 §3.4.1: EXT_FDT carries V=2; RFC 3926 used V=1.
#[test]
fn ext_fdt_version_per_profile() {
    let reg = FecRegistry::with_builtin();
    for (profile, v) in [
        (Profile::Rfc6726, 2),
        (Profile::Rfc3926, 1),
        (Profile::Mbms, 1),
    ] {
        let t0 = t0();
        let mut c = config(t0);
        c.profile = profile;
        let mut s = Sender::new(c).unwrap();
        s.insert_object(Object::from_bytes("a", data(10, 0)), t0)
            .unwrap();
        let sent = drain_now(&mut s, t0);
        let parser = AlcParser::new(&reg).flute(true);
        let p = parse(&parser, &sent[0].bytes);
        assert_eq!(p.fdt().unwrap().version, v);
        let inst = fdt_instances(&reg, &sent).into_values().next().unwrap();
        inst.validate(&fdt::ValidationOptions {
            profile: Some(match profile {
                Profile::Mbms => fdt::Profile::Mbms3gpp,
                Profile::Rfc3926 => fdt::Profile::Rfc3926,
                _ => fdt::Profile::Rfc6726,
            }),
            ..Default::default()
        })
        .unwrap();
        if profile == Profile::Mbms {
            assert_eq!(inst.full_fdt, Some(true));
        }
    }
}

/// 3GPP extras: Cache-Control, File-ETag and Group reach the FDT in the Mbms profile only.
#[test]
fn mbms_file_extras() {
    let reg = FecRegistry::with_builtin();
    for profile in [Profile::Mbms, Profile::Rfc6726] {
        let t0 = t0();
        let mut c = config(t0);
        c.profile = profile;
        let mut s = Sender::new(c).unwrap();
        s.insert_object(
            Object::from_bytes("a", data(10, 0))
                .cache_control(fdt::CacheControl::NoCache)
                .etag("v1")
                .group("g1"),
            t0,
        )
        .unwrap();
        let sent = drain_now(&mut s, t0);
        let inst = fdt_instances(&reg, &sent).into_values().next().unwrap();
        let f = &inst.files[0];
        if profile == Profile::Mbms {
            assert_eq!(f.cache_control, Some(fdt::CacheControl::NoCache));
            assert_eq!(f.file_etag.as_deref(), Some("v1"));
            assert_eq!(f.groups, vec!["g1".to_owned()]);
        } else {
            assert_eq!(f.cache_control, None);
            assert!(f.groups.is_empty());
        }
    }
}

/// FDT Instance IDs are 20 bits and wrap (RFC 6726 §3.4.1).
#[test]
fn fdt_instance_id_wraps() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut c = config(t0);
    c.first_fdt_instance_id = (1 << 20) - 1;
    let mut s = Sender::new(c).unwrap();
    s.insert_object(Object::from_bytes("a", data(10, 0)), t0)
        .unwrap();
    let mut sent = drain_now(&mut s, t0);
    s.insert_object(Object::from_bytes("b", data(10, 0)), t0)
        .unwrap();
    sent.extend(drain_now(&mut s, t0));
    let ids: Vec<u32> = fdt_instances(&reg, &sent).into_keys().collect();
    assert_eq!(ids, vec![0, (1 << 20) - 1]);
    let mut c = config(t0);
    c.first_fdt_instance_id = 1 << 20;
    assert!(matches!(Sender::new(c), Err(SendError::InvalidConfig(_))));
}

/// An object's data never precedes the complete FDT Instance that describes it.
#[test]
fn fdt_precedes_data() {
    let t0 = t0();
    let mut c = config(t0);
    c.fdt_mode = FdtMode::PerObject;
    let mut s = Sender::new(c).unwrap();
    let mut sent = Vec::new();
    for i in 0..5u8 {
        s.insert_object(Object::from_bytes(format!("o{i}"), data(3000, i)), t0)
            .unwrap();
        sent.extend(drain_now(&mut s, t0).into_iter().take(2));
    }
    sent.extend(drain_now(&mut s, t0));
    let reg = FecRegistry::with_builtin();
    let fdts = fdt_instances(&reg, &sent);
    assert_eq!(fdts.len(), 5, "one instance per object");
    for (_, inst) in fdts {
        assert_eq!(inst.files.len(), 1);
        let toi = inst.files[0].toi;
        let first_data = sent.iter().position(|p| p.t.toi.0 == toi).unwrap();
        let last_fdt = sent
            .iter()
            .rposition(|p| {
                p.t.toi.0 == 0
                    && sent[..first_data]
                        .iter()
                        .any(|q| q.t.fdt_instance_id == p.t.fdt_instance_id)
            })
            .unwrap();
        assert!(last_fdt < first_data);
    }
}

/// Higher priority pre-empts lower; same priority objects take turns
/// (`objects_per_queue`).
#[test]
fn priorities_and_multiplexing() {
    let t0 = t0();
    let mut c = config(t0);
    c.objects_per_queue = 2;
    let mut s = Sender::new(c).unwrap();
    let low = s
        .insert_object(Object::from_bytes("low", data(20_000, 0)).priority(1), t0)
        .unwrap();
    let sent1 = drain_now(&mut s, t0)
        .into_iter()
        .take(5)
        .collect::<Vec<_>>();
    let _ = sent1;
    // Insert two high-priority objects while the low one is in flight.
    let mut s2 = s;
    let mut buf = vec![0u8; 1500];
    let _ = s2.poll_transmit(t0, &mut buf);
    let h1 = s2
        .insert_object(Object::from_bytes("h1", data(5000, 1)).priority(9), t0)
        .unwrap();
    let h2 = s2
        .insert_object(Object::from_bytes("h2", data(5000, 2)).priority(9), t0)
        .unwrap();
    let sent = drain_now(&mut s2, t0);
    let data_tois: Vec<Toi> = sent
        .iter()
        .filter(|p| p.t.toi.0 != 0)
        .map(|p| p.t.toi)
        .collect();
    let last_high = data_tois.iter().rposition(|t| *t != low).unwrap();
    let first_high = data_tois.iter().position(|t| *t != low).unwrap();
    assert!(
        data_tois[first_high..=last_high].iter().all(|t| *t != low),
        "no low-priority packet while high-priority objects are ready"
    );
    // h1 and h2 alternate.
    let highs: Vec<Toi> = data_tois[first_high..=last_high].to_vec();
    assert_eq!(&highs[..4], &[h1, h2, h1, h2]);
    assert!(data_tois[last_high + 1..].iter().all(|t| *t == low));
}

/// Interleaving: `interleave(3)` sends blocks 0,1,2 symbol by symbol, then 3,4,5 ...
#[test]
fn interleave_order() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    // 6 blocks of 16 symbols (E=1000, B=16).
    let toi = s
        .insert_object(Object::from_bytes("i", data(96_000, 3)).interleave(3), t0)
        .unwrap();
    let sent: Vec<_> = drain_now(&mut s, t0)
        .into_iter()
        .filter(|p| p.t.toi == toi)
        .collect();
    let sbns: Vec<u32> = sent.iter().map(|p| p.t.sbn).collect();
    assert_eq!(&sbns[..6], &[0, 1, 2, 0, 1, 2]);
    assert!(sbns[..48].iter().all(|b| *b < 3));
    assert!(sbns[48..].iter().all(|b| (3..6).contains(b)));
    let reg = FecRegistry::with_builtin();
    let oti = fec_schemes::schemes::no_code::CompactNoCode::oti(96_000, 1000, 16);
    assert_eq!(
        decode_object(&reg, &sent, toi.0, &oti).unwrap(),
        data(96_000, 3).to_vec()
    );
}

/// The close-object flag B is on the real last packet: after every repair symbol of every
/// interleaved block, and only in the last carousel pass. `Carousel::Times` with an interval
/// between pass starts.
#[test]
fn carousel_times_with_interval() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let oti = oti_for(
        &**reg.iter().find(|s| s.key().encoding_id.0 == 5).unwrap(),
        0,
        1000,
    )
    .unwrap();
    let mut s = Sender::new(config(t0)).unwrap();
    let toi = s
        .insert_object(
            Object::from_bytes("c", data(33_000, 4))
                .fec(oti)
                .repair(Repair::Count(4))
                .interleave(2)
                .carousel(Carousel::Times {
                    times: 3,
                    interval: Duration::from_secs(2),
                }),
            t0,
        )
        .unwrap();
    s.close();
    let (sent, end) = drive(&mut s, t0, 10_000);
    let mine: Vec<_> = sent.iter().filter(|p| p.t.toi == toi).collect();
    // 33 symbols: blocks of 11 (3 blocks), +4 repair each = 15 per block, 45 per pass.
    assert_eq!(mine.len(), 3 * 45);
    let b: Vec<usize> = mine
        .iter()
        .enumerate()
        .filter(|(_, p)| p.t.close_object)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(b, vec![3 * 45 - 1], "B once, on the very last packet");
    assert_eq!(mine[45].at, t0 + Duration::from_secs(2));
    assert_eq!(mine[90].at, t0 + Duration::from_secs(4));
    assert!(end >= t0 + Duration::from_secs(4));
    let ev = events(&mut s);
    let cycles = ev
        .iter()
        .filter(|e| matches!(e, SenderEvent::CarouselCycleDone { .. }))
        .count();
    assert_eq!(cycles, 3);
    assert!(ev.contains(&SenderEvent::ObjectSent { toi }));
    assert!(ev.contains(&SenderEvent::SessionClosed));
    assert!(
        sent.last().unwrap().t.close_session,
        "A on the session's last packet"
    );
    assert_eq!(sent.iter().filter(|p| p.t.close_session).count(), 1);
}

/// `UntilRemoved` repeats; `close()` finishes the pass with B, then A; removal drops an
/// object from the FDT.
#[test]
fn until_removed_remove_and_close() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut s = Sender::new(config(t0)).unwrap();
    let rep = Carousel::UntilRemoved {
        interval: Duration::ZERO,
    };
    let a = s
        .insert_object(Object::from_bytes("a", data(3000, 1)).carousel(rep), t0)
        .unwrap();
    let b = s
        .insert_object(Object::from_bytes("b", data(3000, 2)).carousel(rep), t0)
        .unwrap();
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 1500];
    for _ in 0..40 {
        let t = s.poll_transmit(t0, &mut buf).unwrap();
        sent.push(Sent {
            t,
            at: t0,
            bytes: buf[..t.len].to_vec(),
        });
    }
    assert!(sent.iter().all(|p| !p.t.close_object));
    s.remove_object(a).unwrap();
    assert!(matches!(s.remove_object(a), Err(SendError::UnknownToi(_))));
    s.insert_object(Object::from_bytes("z", data(1, 0)), t0)
        .unwrap();
    s.close();
    assert!(matches!(
        s.insert_object(Object::from_bytes("y", data(1, 0)), t0),
        Err(SendError::Closed)
    ));
    let rest = drain_now(&mut s, t0);
    assert!(rest.iter().all(|p| p.t.toi != a));
    let bs: Vec<_> = rest.iter().filter(|p| p.t.toi == b).collect();
    assert!(bs.last().unwrap().t.close_object);
    assert!(rest.last().unwrap().t.close_session);
    assert!(s.is_closed());
    let fdts = fdt_instances(&reg, &rest);
    let last = fdts.values().last().unwrap();
    assert!(last.file(a.0).is_none(), "removed object left the FDT");
    assert_eq!(last.complete, Some(true), "Complete after close()");
    assert!(events(&mut s).contains(&SenderEvent::ObjectRemoved { toi: a }));
}

/// The FDT carousel repeats the live instance at the configured interval, and replaces it
/// (new ID, new Expires) once half its lifetime has passed.
#[test]
fn fdt_carousel_and_refresh() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut c = config(t0);
    c.fdt_carousel.interval = Some(Duration::from_secs(1));
    c.fdt_carousel.expires_after = Duration::from_secs(10);
    let mut s = Sender::new(c).unwrap();
    s.insert_object(
        Object::from_bytes("a", data(100, 1)).carousel(Carousel::UntilRemoved {
            interval: Duration::from_secs(3),
        }),
        t0,
    )
    .unwrap();
    let (sent, _) = drive(&mut s, t0, 60);
    let fdt: Vec<_> = sent.iter().filter(|p| p.t.toi.0 == 0).collect();
    assert!(fdt.len() >= 6);
    assert_eq!(fdt[0].at, t0);
    assert_eq!(fdt[1].at, t0 + Duration::from_secs(1));
    let ids: Vec<u32> = fdt.iter().map(|p| p.t.fdt_instance_id.unwrap()).collect();
    assert_eq!(ids[..5], [0, 0, 0, 0, 0]);
    assert_eq!(ids[5], 1, "refreshed after expires_after / 2");
    let insts = fdt_instances(&reg, &sent);
    assert!(insts[&1].expires.0 > insts[&0].expires.0);
}

/// Reader sources are read block by block, when the block's turn comes.
#[test]
fn streamed_source_block_by_block() {
    struct Counting {
        len: u64,
        reads: std::sync::Arc<std::sync::Mutex<Vec<(u64, usize)>>>,
    }
    impl ObjectSource for Counting {
        fn len(&self) -> u64 {
            self.len
        }
        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            self.reads.lock().unwrap().push((offset, buf.len()));
            for (i, b) in buf.iter_mut().enumerate() {
                *b = (offset as usize + i) as u8;
            }
            Ok(())
        }
    }
    let t0 = t0();
    let reads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let len = 50_000_000u64; // 50 MB, 3125 blocks of 16 000 bytes
    let mut s = Sender::new(config(t0)).unwrap();
    s.insert_object(
        Object::from_source(
            "big",
            Box::new(Counting {
                len,
                reads: reads.clone(),
            }),
        ),
        t0,
    )
    .unwrap();
    let mut buf = vec![0u8; 1500];
    for _ in 0..40 {
        s.poll_transmit(t0, &mut buf).unwrap();
    }
    let r = reads.lock().unwrap().clone();
    assert_eq!(r, vec![(0, 16_000), (16_000, 16_000), (32_000, 16_000)]);
}

/// `ReadSeekSource` over a cursor, with gzip content encoding; FDT Content-Encoding and
/// Content-Length, and the transported bytes inflate to the original.
#[test]
fn content_encoding_round_trip() {
    let reg = FecRegistry::with_builtin();
    for (enc, token) in [
        (ContentEncoding::Gzip, "gzip"),
        (ContentEncoding::Zlib, "zlib"),
        (ContentEncoding::Deflate, "deflate"),
    ] {
        let t0 = t0();
        let mut s = Sender::new(config(t0)).unwrap();
        let body = b"hello hello hello hello hello hello, FLUTE ".repeat(500);
        let src = flute_sender::ReadSeekSource::new(std::io::Cursor::new(body.clone())).unwrap();
        let toi = s
            .insert_object(
                Object::from_source("z", Box::new(src)).content_encoding(enc),
                t0,
            )
            .unwrap();
        let sent = drain_now(&mut s, t0);
        let inst = fdt_instances(&reg, &sent).into_values().next().unwrap();
        let f = inst.file(toi.0).unwrap();
        assert_eq!(f.content_encoding.as_deref(), Some(token));
        assert_eq!(f.content_length, Some(body.len() as u64));
        let tl = f.transfer_length.unwrap();
        assert!(tl < body.len() as u64 / 10);
        let oti = fec_schemes::schemes::no_code::CompactNoCode::oti(tl, 1000, 16);
        let wire = decode_object(&reg, &sent, toi.0, &oti).unwrap();
        let cenc = fdt::content_encoding_from_attribute(token).unwrap();
        assert_eq!(fdt::inflate(cenc, &wire, 1 << 20).unwrap(), body);
    }
}

/// Compressed FDT: EXT_CENC on FDT packets (RFC 6726 §3.4.3), EXT_TIME with the SCT.
#[test]
fn compressed_fdt_and_ext_time() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut c = config(t0);
    c.fdt_encoding = ContentEncoding::Gzip;
    c.fdt_ext_time = true;
    let mut s = Sender::new(c).unwrap();
    s.insert_object(Object::from_bytes("a", data(10, 0)), t0)
        .unwrap();
    let sent = drain_now(&mut s, t0);
    let parser = AlcParser::new(&reg).flute(true);
    let p = parse(&parser, &sent[0].bytes);
    assert_eq!(p.cenc().unwrap().encoding.cenc_code(), Some(3));
    let time = p.time().unwrap();
    assert_eq!(u64::from(time.sct_high.unwrap()), WALL0 + 2_208_988_800);
    let inst = fdt_instances(&reg, &sent).into_values().next().unwrap();
    assert_eq!(inst.files.len(), 1);
    // Data packets carry neither.
    let d = parse(&parser, &sent[1].bytes);
    assert!(d.cenc().is_none() && d.fdt().is_none());
}

/// EXT_FTI placement on data packets (RFC 5775 §5.2); FDT packets always carry it.
#[test]
fn fti_modes() {
    let reg = FecRegistry::with_builtin();
    for (mode, expect) in [
        (FtiMode::Always, 34usize),
        (FtiMode::FirstSymbolOfBlock, 3),
        (FtiMode::Never, 0),
    ] {
        let t0 = t0();
        let mut c = config(t0);
        c.fti = mode;
        let mut s = Sender::new(c).unwrap();
        s.insert_object(Object::from_bytes("a", data(34_000, 0)), t0)
            .unwrap();
        let sent = drain_now(&mut s, t0);
        let parser = AlcParser::new(&reg).flute(true);
        let oti = fec_schemes::schemes::no_code::CompactNoCode::oti(34_000, 1000, 16);
        let n = sent
            .iter()
            .filter(|p| p.t.toi.0 != 0)
            .filter(|p| {
                parser
                    .parse_with_oti(&p.bytes, Some(&oti))
                    .unwrap()
                    .oti()
                    .is_some()
            })
            .count();
        assert_eq!(n, expect, "{mode:?}");
        assert!(parse(&parser, &sent[0].bytes).oti().is_some());
    }
}

/// Pacing: a 1 Mbit/s wire rate is held over time, through `poll_timeout` only.
#[test]
fn pacing_holds_rate() {
    let t0 = t0();
    let mut c = config(t0);
    c.pacing = Some(Pacing {
        bits_per_second: 1_000_000,
        burst_bytes: 2000,
        unit: PacingUnit::Wire,
        overhead: 28,
    });
    let mut s = Sender::new(c).unwrap();
    s.insert_object(Object::from_bytes("a", data(500_000, 0)), t0)
        .unwrap();
    let (sent, _) = drive(&mut s, t0, 100_000);
    // Everything but the initial burst and the last packet left at the target rate.
    let wire: u64 = sent.iter().map(|p| p.t.len as u64 + 28).sum();
    let last = sent.last().unwrap();
    let secs = (last.at - t0).as_secs_f64();
    let rate = (wire - 2000 - (last.t.len as u64 + 28)) as f64 * 8.0 / secs;
    assert!((rate - 1e6).abs() / 1e6 < 0.02, "rate {rate}");
    assert!(s.stats().paced > 0);
    // Payload-unit pacing counts only symbol bytes.
    let mut c = config(t0);
    c.pacing = Some(Pacing {
        bits_per_second: 800_000,
        burst_bytes: 1000,
        unit: PacingUnit::Payload,
        overhead: 0,
    });
    let mut s = Sender::new(c).unwrap();
    s.insert_object(Object::from_bytes("a", data(100_000, 0)), t0)
        .unwrap();
    let (sent, _) = drive(&mut s, t0, 100_000);
    let secs = (sent.last().unwrap().at - t0).as_secs_f64();
    assert!(
        (0.95..1.05).contains(&secs),
        "100 kB at 100 kB/s took {secs}s"
    );
}

/// Invalid inserts are typed errors, never panics.
#[test]
fn insert_errors() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    let o = || Object::from_bytes("a", data(10, 0));
    assert!(matches!(
        s.insert_object(o().toi(Toi(0)), t0),
        Err(SendError::ReservedToi)
    ));
    assert!(matches!(
        s.insert_object(o().toi(Toi(1 << 112)), t0),
        Err(SendError::ToiTooLarge(_))
    ));
    s.insert_object(o().toi(Toi(5)), t0).unwrap();
    assert!(matches!(
        s.insert_object(o().toi(Toi(5)), t0),
        Err(SendError::DuplicateToi(_))
    ));
    assert!(matches!(
        s.insert_object(Object::from_bytes("", data(1, 0)), t0),
        Err(SendError::EmptyContentLocation)
    ));
    let big = fec_schemes::schemes::no_code::CompactNoCode::oti(0, 1460, 16);
    assert!(matches!(
        s.insert_object(o().fec(big), t0),
        Err(SendError::PacketTooLarge { .. })
    ));
    let mut unknown = fec_schemes::schemes::no_code::CompactNoCode::oti(0, 100, 16);
    unknown.encoding_id = fec_schemes::FecEncodingId(99);
    assert!(matches!(
        s.insert_object(o().fec(unknown), t0),
        Err(SendError::Fec(_))
    ));
    // Allocated TOIs skip the ones in use.
    let t = s.insert_object(o(), t0).unwrap();
    assert_ne!(t, Toi(5));
}

/// The largest TOI (112 bits) is carried in full.
#[test]
fn toi_112_bits() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut s = Sender::new(config(t0)).unwrap();
    let toi = Toi((1 << 112) - 1);
    s.insert_object(Object::from_bytes("a", data(10, 0)).toi(toi), t0)
        .unwrap();
    let sent = drain_now(&mut s, t0);
    let parser = AlcParser::new(&reg).flute(true);
    assert_eq!(parse(&parser, &sent[1].bytes).toi(), Some(toi));
    let inst = fdt_instances(&reg, &sent).into_values().next().unwrap();
    assert!(inst.file(toi.0).is_some());
}

/// RFC 5651 §5.1: the TSI field is at most 48 bits (S = 1, H = 1). The largest TSI is
/// carried in full on FDT and data packets; one more is refused by `Sender::new`.
#[test]
fn rfc5651_5_1_tsi_up_to_48_bits() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let max = flute_sender::Tsi((1 << 48) - 1);
    let mut c = config(t0);
    c.tsi = max;
    let mut s = Sender::new(c).unwrap();
    s.insert_object(Object::from_bytes("a", data(10, 0)), t0)
        .unwrap();
    let sent = drain_now(&mut s, t0);
    assert!(sent.len() >= 2, "an FDT packet and a data packet");
    let parser = AlcParser::new(&reg).flute(true);
    for p in &sent {
        assert_eq!(parse(&parser, &p.bytes).tsi(), Some(max));
    }
    let mut c = config(t0);
    c.tsi = flute_sender::Tsi(1 << 48);
    assert!(matches!(Sender::new(c), Err(SendError::InvalidConfig(_))));
}

/// `close()` on an idle sender ends the session; on a session that sent an FDT, the last
/// FDT packet is repeated with A.
#[test]
fn close_idle() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    s.close();
    let mut buf = vec![0u8; 1500];
    assert!(s.poll_transmit(t0, &mut buf).is_none());
    assert!(s.is_closed());
    assert_eq!(s.poll_event(), Some(SenderEvent::SessionClosed));
    assert_eq!(s.poll_timeout(), None);
}

/// A read error drops the object with an event; the session goes on.
#[test]
fn read_error_fails_object() {
    struct Broken;
    impl ObjectSource for Broken {
        fn len(&self) -> u64 {
            5000
        }
        fn read_at(&mut self, _: u64, _: &mut [u8]) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    let bad = s
        .insert_object(Object::from_source("bad", Box::new(Broken)), t0)
        .unwrap();
    let good = s
        .insert_object(Object::from_bytes("good", data(10, 0)), t0)
        .unwrap();
    let sent = drain_now(&mut s, t0);
    assert!(sent.iter().any(|p| p.t.toi == good && p.t.close_object));
    let ev = events(&mut s);
    assert!(ev.iter().any(|e| matches!(
        e,
        SenderEvent::ObjectFailed {
            toi,
            error: SendError::Io {
                kind: std::io::ErrorKind::BrokenPipe,
                ..
            },
        } if *toi == bad
    )));
    assert_eq!(s.stats().objects_failed, 1);
}

/// Gzip round trip helper sanity (flate2 is what the sender uses).
#[test]
fn gzip_helper_sanity() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b"abc").unwrap();
    let z = e.finish().unwrap();
    let mut d = flate2::read::GzDecoder::new(&z[..]);
    let mut out = Vec::new();
    d.read_to_end(&mut out).unwrap();
    assert_eq!(out, b"abc");
    let _ = Bytes::new();
}

/// `zstd` (opt-in feature) for objects; refused by the 3GPP profile.
#[cfg(feature = "zstd")]
#[test]
fn zstd_objects() {
    let t0 = t0();
    let reg = FecRegistry::with_builtin();
    let mut s = Sender::new(config(t0)).unwrap();
    let body = b"zstd zstd zstd zstd ".repeat(1000);
    let toi = s
        .insert_object(
            Object::from_bytes("z", Bytes::from(body.clone()))
                .content_encoding(ContentEncoding::Zstd),
            t0,
        )
        .unwrap();
    let sent = drain_now(&mut s, t0);
    let inst = fdt_instances(&reg, &sent).into_values().next().unwrap();
    let f = inst.file(toi.0).unwrap();
    assert_eq!(f.content_encoding.as_deref(), Some("zstd"));
    let oti =
        fec_schemes::schemes::no_code::CompactNoCode::oti(f.transfer_length.unwrap(), 1000, 16);
    let wire = decode_object(&reg, &sent, toi.0, &oti).unwrap();
    assert_eq!(zstd::decode_all(&wire[..]).unwrap(), body);
    let mut c = config(t0);
    c.profile = Profile::Mbms;
    let mut s = Sender::new(c).unwrap();
    assert!(matches!(
        s.insert_object(
            Object::from_bytes("z", Bytes::new()).content_encoding(ContentEncoding::Zstd),
            t0
        ),
        Err(SendError::EncodingNotAllowed(_))
    ));
}

/// Never an empty FDT Instance (RFC 6726 §3.4.2: at least one File): with no live object
/// the carousel sends nothing and schedules nothing.
#[test]
fn never_an_empty_fdt() {
    let t0 = t0();
    let mut s = Sender::new(config(t0)).unwrap();
    let mut buf = vec![0u8; 1500];
    assert!(s.poll_transmit(t0, &mut buf).is_none());
    assert_eq!(s.poll_timeout(), None);
    let a = s
        .insert_object(
            Object::from_bytes("a", data(10, 0)).carousel(Carousel::UntilRemoved {
                interval: Duration::from_secs(10),
            }),
            t0,
        )
        .unwrap();
    let (sent, now) = drive(&mut s, t0, 5);
    assert_eq!(sent.len(), 5);
    s.remove_object(a).unwrap();
    let (rest, _) = drive(&mut s, now, 100);
    assert!(rest.is_empty(), "nothing to describe, nothing sent");
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.stats().fdt_instances, 1);
}

/// Inserting an object before every packet does not starve the objects already announced:
/// an FDT Instance in flight is finished before a newer one replaces it.
#[test]
fn inserts_do_not_starve_fdt() {
    let t0 = t0();
    let mut c = config(t0);
    c.symbol_length = 100; // a multi-packet FDT
    let mut s = Sender::new(c).unwrap();
    let mut buf = vec![0u8; 1500];
    let mut data_packets = 0;
    for i in 0..300 {
        s.insert_object(
            Object::from_bytes(format!("http://example.com/{i}"), data(50, 0)),
            t0,
        )
        .unwrap();
        if let Some(t) = s.poll_transmit(t0, &mut buf) {
            if t.toi.0 != 0 {
                data_packets += 1;
            }
        }
    }
    assert!(s.stats().fdt_instances > 1);
    let sent = drain_now(&mut s, t0);
    let total = data_packets + sent.iter().filter(|p| p.t.toi.0 != 0).count();
    assert_eq!(total, 300, "every object was announced and sent");
}

/// An FDT FEC OTI that cannot carry the instance is reported, not swallowed.
#[test]
fn fdt_fec_invalid_is_reported() {
    let t0 = t0();
    let mut c = config(t0);
    // max_n below B: no valid RS OTI, whatever the FDT's size.
    c.fdt_fec = Some(fec_schemes::schemes::rs::RsGf28::oti(0, 100, 10, 5));
    let mut s = Sender::new(c).unwrap();
    s.insert_object(Object::from_bytes("a", data(10, 0)), t0)
        .unwrap();
    assert!(drain_now(&mut s, t0).is_empty(), "no data before its FDT");
    assert!(
        events(&mut s)
            .iter()
            .any(|e| matches!(e, SenderEvent::FdtFailed { .. }))
    );
    assert!(s.stats().fdt_errors > 0);
}

/// An FDT packet larger than `max_datagram_size` would never leave: `Sender::new` refuses
/// the configuration instead of sending no FDT at all.
#[test]
fn fdt_packet_too_large_is_refused_at_construction() {
    let t0 = t0();
    let mut c = config(t0);
    c.symbol_length = 1460; // + 36 bytes of FDT headers > 1472
    assert!(matches!(
        Sender::new(c),
        Err(SendError::PacketTooLarge { needed, max: 1472 }) if needed > 1472
    ));
    let mut c = config(t0);
    c.symbol_length = 1400;
    c.fdt_ext_time = true;
    assert!(Sender::new(c).is_ok(), "1400 + FDT headers fits 1472");
}

/// A TOI used again by a new object after the old one was removed, before the FDT was
/// refreshed: the FDT Instances that follow describe the new object (RFC 6726 §3.4.2: the
/// FDT entry of a TOI carries that object's location, length and FEC parameters), in both
/// FDT modes, and its data decodes to the new content. Before the fix the old object's
/// instance was kept (`FdtMode::PerObject`) or not rebuilt (`FdtMode::Full`, same TOI set).
#[test]
fn toi_used_again_gets_the_new_objects_fdt_entry() {
    let reg = FecRegistry::with_builtin();
    for mode in [FdtMode::PerObject, FdtMode::Full] {
        let t0 = t0();
        let mut cfg = config(t0);
        cfg.fdt_mode = mode;
        let mut s = Sender::new(cfg).unwrap();
        s.insert_object(Object::from_bytes("keep.bin", data(500, 1)), t0)
            .unwrap();
        let toi = s
            .insert_object(Object::from_bytes("old.bin", data(3000, 2)), t0)
            .unwrap();
        // The first packets go out (the FDT describing old.bin among them).
        let (first, now) = drive(&mut s, t0, 3);
        let old = fdt_instances(&reg, &first);
        assert!(
            old.values()
                .filter_map(|i| i.file(toi.0))
                .all(|f| f.content_location == "old.bin"),
            "{mode:?}"
        );
        s.remove_object(toi).unwrap();
        let body = data(7000, 3);
        s.insert_object(Object::from_bytes("new.bin", body.clone()).toi(toi), now)
            .unwrap();
        // Not closed yet: closing rebuilds the FDT anyway, which would hide the bug.
        let (mut sent, now) = drive(&mut s, now, 40);
        s.close();
        sent.extend(drive(&mut s, now, 100_000).0);
        assert!(s.is_closed(), "{mode:?}");
        let fdts = fdt_instances(&reg, &sent);
        let entries: Vec<&fdt::File> = fdts.values().filter_map(|i| i.file(toi.0)).collect();
        assert!(!entries.is_empty(), "{mode:?}: the new object is announced");
        for f in &entries {
            assert_eq!(f.content_location, "new.bin", "{mode:?}");
            assert_eq!(f.transfer_length, Some(7000), "{mode:?}");
        }
        let oti = fec_schemes::schemes::no_code::CompactNoCode::oti(7000, 1000, 16);
        assert_eq!(
            decode_object(&reg, &sent, toi.0, &oti).unwrap(),
            body.to_vec(),
            "{mode:?}"
        );
    }
}
