//! Shared helpers: a virtual clock, a draining loop, and a minimal in-test receiver built
//! only from the `alc`, `fdt` and `fec-schemes` parsers/decoders.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use alc::AlcParser;
use fec_schemes::schemes::{no_code, raptor, raptorq, rs};
use fec_schemes::{FecEncodingId, FecRegistry, FecScheme, Oti};
use flute_sender::{AnchoredClock, Sender, SenderConfig, Transmit, Tsi};

pub const WALL0: u64 = 1_700_000_000;

/// The origin of virtual time. `Instant` has no public constructor, so one real reading
/// anchors it; everything after is `t0 + Duration`, never the real clock.
#[allow(clippy::disallowed_methods)]
pub fn t0() -> Instant {
    Instant::now()
}

pub fn clock(t0: Instant) -> Arc<AnchoredClock> {
    Arc::new(AnchoredClock::new(
        t0,
        SystemTime::UNIX_EPOCH + Duration::from_secs(WALL0),
    ))
}

pub fn config(t0: Instant) -> SenderConfig {
    let mut c = SenderConfig::new(Tsi(42), clock(t0));
    c.symbol_length = 1000;
    c.max_source_block_length = 16;
    c
}

/// A sent datagram with its metadata.
#[derive(Clone, Debug)]
pub struct Sent {
    pub t: Transmit,
    pub at: Instant,
    pub bytes: Vec<u8>,
}

/// Drains the sender: sends whatever is ready, else jumps virtual time to `poll_timeout`.
/// Stops when the sender is idle with no timer, when closed, or after `limit` packets.
pub fn drive(s: &mut Sender, mut now: Instant, limit: usize) -> (Vec<Sent>, Instant) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1500];
    while out.len() < limit {
        if let Some(t) = s.poll_transmit(now, &mut buf) {
            out.push(Sent {
                t,
                at: now,
                bytes: buf[..t.len].to_vec(),
            });
            continue;
        }
        if s.is_closed() {
            break;
        }
        match s.poll_timeout() {
            Some(t) if t > now => now = t,
            _ => break,
        }
    }
    (out, now)
}

/// Sends until nothing is pending at `now` (no time travel).
pub fn drain_now(s: &mut Sender, now: Instant) -> Vec<Sent> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1500];
    while let Some(t) = s.poll_transmit(now, &mut buf) {
        out.push(Sent {
            t,
            at: now,
            bytes: buf[..t.len].to_vec(),
        });
    }
    out
}

/// An OTI for each built-in scheme the tests know how to parameterise (test code only: the
/// sender itself never names a scheme).
pub fn oti_for(scheme: &dyn FecScheme, len: u64, e: u16) -> Option<Oti> {
    let k = scheme.key();
    Some(match k.encoding_id {
        FecEncodingId::COMPACT_NO_CODE => no_code::CompactNoCode::oti(len, e, 16),
        FecEncodingId::RAPTORQ => raptorq::RaptorQ::oti_for(len, e, 64)?,
        FecEncodingId::RAPTOR => {
            let kt = len.div_ceil(u64::from(e)).max(1);
            let z = kt.div_ceil(64).max(1) as u16;
            raptor::Raptor::oti(len, e, z, 1, 4)
        }
        FecEncodingId::RS_GF28 => rs::RsGf28::oti(len, e, 16, 24),
        FecEncodingId::RS_GF2M => rs::RsGf2m::oti(len, e, 16, 24, 8, 1),
        FecEncodingId::SMALL_BLOCK_SYSTEMATIC => rs::RsSmallBlock::oti(len, e, 16, 24),
        _ => return None,
    })
}

pub fn parse<'a>(p: &'a AlcParser<&'a FecRegistry>, b: &'a [u8]) -> alc::AlcPacket<'a> {
    p.parse(b).expect("every emitted packet parses")
}

/// Reassembles every FDT Instance seen (by FDT Instance ID) into its (inflated) XML.
pub fn fdt_instances(reg: &FecRegistry, sent: &[Sent]) -> BTreeMap<u32, fdt::FdtInstance> {
    let parser = AlcParser::new(reg).flute(true);
    type Symbols = BTreeMap<(u32, u32), Vec<u8>>;
    let mut raw: BTreeMap<u32, (Oti, Option<fdt::ContentEncoding>, Symbols)> = BTreeMap::new();
    for s in sent.iter().filter(|s| s.t.toi.0 == 0) {
        let p = parse(&parser, &s.bytes);
        let id = p.fdt().expect("EXT_FDT on TOI 0").instance_id;
        let oti = p.oti().expect("EXT_FTI on FDT packets").clone();
        let pid = p.payload_id().expect("payload id");
        let e = raw
            .entry(id)
            .or_insert_with(|| (oti, p.cenc().map(|c| c.encoding), BTreeMap::new()));
        e.2.insert((pid.sbn, pid.esi), p.symbols().to_vec());
    }
    raw.into_iter()
        .filter_map(|(id, (oti, cenc, syms))| {
            let data = decode(reg, &oti, &syms)?;
            let xml = match cenc {
                Some(c) => fdt::inflate(c, &data, 1 << 24).unwrap(),
                None => data,
            };
            Some((id, fdt::FdtInstance::parse(&xml).expect("FDT parses")))
        })
        .collect()
}

/// Decodes an object from its symbols keyed by (SBN, ESI).
pub fn decode(
    reg: &FecRegistry,
    oti: &Oti,
    syms: &BTreeMap<(u32, u32), Vec<u8>>,
) -> Option<Vec<u8>> {
    let scheme = reg.for_oti(oti).ok()?;
    let blocking = scheme.blocking(oti).ok()?;
    let mut out = Vec::new();
    for blk in blocking.iter() {
        let mut d = scheme.decoder(oti, &blk).ok()?;
        for ((_, esi), sym) in syms.range((blk.sbn, 0)..=(blk.sbn, u32::MAX)) {
            let _ = d.push(*esi, sym);
        }
        out.extend_from_slice(&d.decode().ok()?);
    }
    Some(out)
}

/// Collects the data symbols of `toi` and decodes them with the OTI from EXT_FTI.
pub fn decode_object(reg: &FecRegistry, sent: &[Sent], toi: u128, oti: &Oti) -> Option<Vec<u8>> {
    let parser = AlcParser::new(reg).flute(true);
    let mut syms = BTreeMap::new();
    for s in sent.iter().filter(|s| s.t.toi.0 == toi) {
        let p = parser.parse_with_oti(&s.bytes, Some(oti)).expect("parses");
        let pid = p.payload_id_with(oti).expect("payload id");
        syms.insert((pid.sbn, pid.esi), p.symbols().to_vec());
    }
    decode(reg, oti, &syms)
}

pub fn data(len: usize, seed: u8) -> bytes::Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect::<Vec<u8>>()
        .into()
}
