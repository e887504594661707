//! Objects of unknown length (issue 17 §4): `flute-sender`'s `Object::stream` with every
//! built-in scheme, bytes handed over in chunks on virtual time, through this receiver.
//!
//! What is checked, per scheme:
//! - the object arrives byte-identical, once;
//! - symbols went out before the length was known exactly when the scheme promises a
//!   length-independent prefix, and none of them carries EXT_FTI;
//! - no FDT Instance describes the object before its length is known; the first one
//!   after has both lengths and Content-MD5;
//! - a receiver that drops every packet sent before the length was known (one that only
//!   understands the ordinary case) still receives the object.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use alc::AlcParser;
use fec_schemes::{FecRegistry, FecScheme};
use flute_receiver::{Endpoint, FixedWallClock, Receiver, ReceiverConfig};
use flute_sender::{
    AnchoredClock, FdtCarousel, FdtMode, Object, Pacing, Repair, Sender, SenderConfig, Tsi,
};
use flute_testkit::{Rng, VirtualClock, make_oti};

use common::{Outcome, drain};

const E: u16 = 64;
const B: u32 = 64;
const LEN: usize = 9_000;
const CHUNK: usize = 700;

/// One datagram and whether it left before `finish_stream`.
struct Sent {
    bytes: Vec<u8>,
    toi: u128,
    early: bool,
}

struct Run {
    sent: Vec<Sent>,
    data: Vec<u8>,
    toi: u128,
    early_symbols: u64,
    prefix: u64,
}

fn send_stream(scheme: &Arc<dyn FecScheme>, seed: u64, mode: FdtMode) -> Option<Run> {
    let mut rng = Rng::new(seed);
    let data = rng.bytes(LEN);
    // The sender does not know the length: the OTI is the scheme's for a four-symbol
    // object (one source block for the Raptor codes, which need four symbols), and the
    // length is filled in at the end.
    let template = make_oti(scheme.as_ref(), 4 * u64::from(E), E, B, 0.5)?;
    let mut clock = VirtualClock::new();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut cfg = SenderConfig::new(Tsi(9), Arc::new(AnchoredClock::new(clock.now(), wall)));
    cfg.pacing = Some(Pacing::wire(8_000_000));
    cfg.fdt_mode = mode;
    cfg.fdt_carousel = FdtCarousel {
        interval: Some(Duration::from_millis(500)),
        ..FdtCarousel::default()
    };
    let mut tx = Sender::new(cfg).unwrap();
    let obj = Object::stream("live/stream.bin")
        .fec(template.clone())
        .repair(Repair::Percent(50))
        .content_md5(true);
    let toi = tx.insert_object(obj, clock.now()).unwrap();
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 1500];
    let mut pump = |tx: &mut Sender, clock: &mut VirtualClock, until: Duration, early: bool| {
        let end = clock.now() + until;
        loop {
            while let Some(t) = tx.poll_transmit(clock.now(), &mut buf) {
                sent.push(Sent {
                    bytes: buf[..t.len].to_vec(),
                    toi: t.toi.0,
                    early,
                });
            }
            match tx.poll_timeout() {
                Some(t) if t < end => clock.advance_to(t),
                _ => break,
            }
            tx.handle_timeout(clock.now());
        }
        clock.advance_to(end);
    };
    // A chunk every 100 ms, as from a pipe.
    for chunk in data.chunks(CHUNK) {
        tx.write_stream(toi, chunk).unwrap();
        pump(&mut tx, &mut clock, Duration::from_millis(100), true);
    }
    tx.finish_stream(toi, clock.now()).unwrap();
    tx.close();
    pump(&mut tx, &mut clock, Duration::from_secs(60), false);
    assert!(tx.is_closed(), "{}: the session closed", scheme.name());
    Some(Run {
        sent,
        data,
        toi: toi.0,
        early_symbols: tx.stats().early_symbols,
        prefix: scheme.length_independent_prefix(&template),
    })
}

fn receive(run: &Run, skip_early: bool) -> Outcome {
    let mut cfg = ReceiverConfig::default();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_001);
    cfg.wall_clock = Some(Arc::new(FixedWallClock(wall)));
    let mut rx = Receiver::new(cfg);
    let mut out = Outcome::default();
    let mut clock = VirtualClock::new();
    for p in &run.sent {
        if skip_early && p.early && p.toi != 0 {
            continue;
        }
        clock.advance(Duration::from_millis(1));
        rx.handle_datagram(clock.now(), Endpoint::default(), &p.bytes);
        drain(&mut rx, &mut out);
    }
    out
}

#[test]
fn every_scheme_sends_an_object_of_unknown_length() {
    let reg = FecRegistry::with_builtin();
    let mut tested = 0;
    let mut early_schemes = 0;
    for (scheme, mode) in reg
        .iter()
        .flat_map(|s| [(s, FdtMode::Full), (s, FdtMode::PerObject)])
    {
        let name = format!("{} {mode:?}", scheme.name());
        let Some(run) = send_stream(scheme, u64::from(scheme.key().encoding_id.0), mode) else {
            continue; // a scheme that cannot build an OTI (receive-only)
        };
        tested += 1;
        if run.early_symbols > 0 {
            early_schemes += 1;
        }
        let k = (LEN / usize::from(E)) as u64;
        // Early symbols: exactly the promised prefix (all of it fills: LEN > B·E / 2).
        assert_eq!(
            run.early_symbols,
            run.prefix.min(k),
            "{name}: early symbols = the scheme's length-independent prefix"
        );
        // None of the early packets carries EXT_FTI (the length is not known).
        let parser = AlcParser::new(&reg).flute(true);
        for p in run.sent.iter().filter(|p| p.early && p.toi == run.toi) {
            let view = parser.parse(&p.bytes).expect("parses");
            assert!(view.oti().is_none(), "{name}: early packet without EXT_FTI");
        }
        // After the end: EXT_FTI with the length (RFC 5775 §5.1.1), and the close-object
        // flag on the object's last packet (RFC 5651 §5.1).
        let late: Vec<_> = run
            .sent
            .iter()
            .filter(|p| !p.early && p.toi == run.toi)
            .map(|p| parser.parse(&p.bytes).expect("parses"))
            .collect();
        assert!(
            late.iter()
                .any(|v| v.oti().is_some_and(|o| o.transfer_length == LEN as u64)),
            "{name}: EXT_FTI with the length once it is known"
        );
        assert!(
            late.last().is_some_and(|v| v.lct().close_object),
            "{name}: B on the last packet"
        );
        // No FDT Instance sent before the length was known describes the object; the
        // ones after it do, with both lengths and Content-MD5.
        let early_fdt: Vec<Sent> = run
            .sent
            .iter()
            .filter(|p| p.early)
            .map(|p| Sent {
                bytes: p.bytes.clone(),
                toi: p.toi,
                early: true,
            })
            .collect();
        assert!(
            fdt_files(&reg, &early_fdt, run.toi).is_empty(),
            "{name}: not in the FDT before its length is known"
        );
        let files = fdt_files(&reg, &run.sent, run.toi);
        let first = files.first().expect("an FDT entry");
        assert_eq!(first.content_length, Some(LEN as u64), "{name}");
        assert_eq!(first.transfer_length, Some(LEN as u64), "{name}");
        assert!(
            first.content_md5.is_some(),
            "{name}: Content-MD5 at the end"
        );

        for skip_early in [false, true] {
            let out = receive(&run, skip_early);
            let got = out.delivered.get(&run.toi);
            assert_eq!(
                got.map(|b| &b[..]),
                Some(&run.data[..]),
                "{name} (skip early packets: {skip_early}): delivered byte-identical; failed: {:?}",
                out.failed
            );
            assert!(out.failed.is_empty(), "{name}: {:?}", out.failed);
        }
    }
    assert!(
        tested >= 14,
        "every built-in sending scheme ran in both FDT modes ({tested})"
    );
    // No-Code, RS over GF(2^m) and GF(2^8), LDPC-Staircase partition by RFC 5052.
    assert!(
        early_schemes >= 4,
        "schemes that sent early: {early_schemes}"
    );
}

/// The FDT entries for `toi` in the order their instances were sent.
fn fdt_files(reg: &FecRegistry, sent: &[Sent], toi: u128) -> Vec<fdt::File> {
    use std::collections::BTreeMap;
    let parser = AlcParser::new(reg).flute(true);
    let mut order: Vec<u32> = Vec::new();
    type Symbols = BTreeMap<(u32, u32), Vec<u8>>;
    let mut syms: BTreeMap<u32, (fec_schemes::Oti, Symbols)> = BTreeMap::new();
    for p in sent.iter().filter(|p| p.toi == 0) {
        let v = parser.parse(&p.bytes).expect("FDT packet parses");
        let id = v.fdt().expect("EXT_FDT").instance_id;
        if !order.contains(&id) {
            order.push(id);
        }
        let pid = v.payload_id().expect("payload id");
        syms.entry(id)
            .or_insert_with(|| (v.oti().expect("EXT_FTI").clone(), BTreeMap::new()))
            .1
            .insert((pid.sbn, pid.esi), v.symbols().to_vec());
    }
    let mut files = Vec::new();
    for id in order {
        let (oti, s) = &syms[&id];
        let scheme = reg.for_oti(oti).unwrap();
        let mut xml = Vec::new();
        for blk in scheme.blocking(oti).unwrap().iter() {
            let mut d = scheme.decoder(oti, &blk).unwrap();
            for ((_, esi), sym) in s.range((blk.sbn, 0)..=(blk.sbn, u32::MAX)) {
                let _ = d.push(*esi, sym);
            }
            xml.extend_from_slice(&d.decode().unwrap());
        }
        let inst = fdt::FdtInstance::parse(&xml).expect("FDT parses");
        if let Some(f) = inst.files.into_iter().find(|f| f.toi == toi) {
            files.push(f);
        }
    }
    files
}

#[test]
fn stream_api_errors_are_typed() {
    let mut clock = VirtualClock::new();
    let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let cfg = SenderConfig::new(Tsi(1), Arc::new(AnchoredClock::new(clock.now(), wall)));
    let mut tx = Sender::new(cfg).unwrap();
    let plain = tx
        .insert_object(
            Object::from_bytes("a", bytes::Bytes::from_static(b"x")),
            clock.now(),
        )
        .unwrap();
    assert_eq!(
        tx.write_stream(plain, b"y"),
        Err(flute_sender::SendError::NotAStream(plain))
    );
    let s = tx.insert_object(Object::stream("s"), clock.now()).unwrap();
    tx.write_stream(s, b"abc").unwrap();
    tx.finish_stream(s, clock.now()).unwrap();
    assert_eq!(
        tx.finish_stream(s, clock.now()),
        Err(flute_sender::SendError::NotAStream(s)),
        "the end is given once"
    );
    let enc = Object::stream("z").content_encoding(flute_sender::ContentEncoding::Gzip);
    assert!(matches!(
        tx.insert_object(enc, clock.now()),
        Err(flute_sender::SendError::InvalidConfig(_))
    ));
    clock.advance(Duration::from_secs(1));
}
