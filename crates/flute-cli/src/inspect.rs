//! `flute inspect`: decodes every FLUTE packet of a capture, reassembles FDT Instances,
//! reports conformance problems with the RFC clause they break, and summarises each
//! session.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alc::{AlcError, AlcParser};
use clap::Args;
use fec_schemes::{BlockDecoder, FecError, FecRegistry, Oti};
use flute_io::PcapReader;
use lct_header::{HeaderExtension, LctError, LctPacket};
use serde_json::{Value, json};

/// Arguments of `flute inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The capture (pcap or pcapng).
    pub(crate) capture: PathBuf,
    /// JSON output: one object per packet, FDT instance, diagnostic and session, one per line.
    #[arg(long)]
    pub(crate) json: bool,
    /// Only show packets of this UDP destination port.
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Do not print every packet, only FDT instances, diagnostics and the summary.
    #[arg(long, short = 's')]
    pub(crate) summary: bool,
}

/// The RFC clause an LCT-level error breaks.
pub(crate) fn lct_clause(e: &LctError) -> &'static str {
    match e {
        LctError::UnsupportedVersion { .. } => "RFC 5651 §5.1 (V: LCT version 1)",
        LctError::HdrLenTooShort { .. } | LctError::HdrLenExceedsPacket { .. } => {
            "RFC 5651 §5.1 (HDR_LEN)"
        }
        LctError::ZeroHel { .. }
        | LctError::ExtensionOverrun { .. }
        | LctError::ExtensionLength { .. } => "RFC 5651 §5.2 (header extensions: HET/HEL)",
        LctError::DuplicateExtension { .. } => {
            "RFC 6726 §3.4.1 / RFC 5775 §5.2 (one EXT_FDT, EXT_FTI, EXT_CENC per packet)"
        }
        LctError::MissingField { .. } => {
            "RFC 5651 §5.1 / RFC 6726 §3.2 (FLUTE packets carry TSI and TOI)"
        }
        LctError::UnexpectedExtension { .. } => {
            "RFC 6726 §3.4.1 / §3.4.3 (EXT_FDT and EXT_CENC only on TOI 0)"
        }
        LctError::Truncated { .. } => "RFC 5651 §5.1 (header truncated)",
        _ => "RFC 5651 §5",
    }
}

/// The RFC clause an ALC-level error breaks.
pub(crate) fn alc_clause(e: &AlcError) -> &'static str {
    match e {
        AlcError::Lct(l) => lct_clause(l),
        AlcError::Fec(f) => fec_clause(f),
        AlcError::UnknownCodepoint { .. } | AlcError::UnknownScheme { .. } => {
            "RFC 5775 §5.1 / RFC 5052 §5 (codepoint / FEC Encoding ID)"
        }
        AlcError::TruncatedPayloadId { .. } => "RFC 5775 §4 (FEC Payload ID truncated)",
        AlcError::EmptySymbol => "RFC 5775 §4 (zero-length encoding symbol)",
        AlcError::SymbolTooLong { .. } => "RFC 5052 §9.1 (symbol longer than E)",
        AlcError::SchemeMismatch { .. } => "RFC 5775 §5.2 (EXT_FTI for another FEC Encoding ID)",
        AlcError::ConflictingOti { .. } => "RFC 6726 §3.4.2 (EXT_FTI disagrees with the FDT)",
        _ => "RFC 5775 §4",
    }
}

/// The RFC clause an FEC-level error breaks.
pub(crate) fn fec_clause(e: &FecError) -> &'static str {
    match e {
        FecError::FtiLength { .. } | FecError::NotFti { .. } => {
            "RFC 5775 §5.2 (EXT_FTI length for the scheme)"
        }
        FecError::InvalidOti { .. } => "RFC 5052 §6.2 (FEC OTI)",
        FecError::SbnOutOfRange { .. } => "RFC 5052 §9.1 (SBN beyond the source blocks)",
        FecError::EsiOutOfRange { .. } => "RFC 5052 §6.1 (ESI out of range)",
        FecError::Truncated { .. } => "RFC 5775 §4 (FEC Payload ID truncated)",
        _ => "RFC 5052",
    }
}

/// Key of a session: destination and TSI.
type SessionKey = (SocketAddr, u64);

#[derive(Default)]
struct SessionSummary {
    packets: u64,
    bytes: u64,
    first: Option<Duration>,
    last: Option<Duration>,
    tois: BTreeSet<u128>,
    fdt_instances: BTreeSet<u32>,
    first_symbol: Option<(u128, u32, u32, Duration)>,
    cycle: Option<Duration>,
    closed: bool,
    diagnostics: u64,
}

/// One FDT Instance being reassembled.
struct FdtAsm {
    oti: Oti,
    cenc: Option<fdt::ContentEncoding>,
    version: u8,
    decoders: HashMap<u32, Box<dyn BlockDecoder>>,
    blocks: BTreeMap<u32, bytes::Bytes>,
    done: bool,
}

struct Out {
    json: bool,
    quiet_packets: bool,
    diagnostics: u64,
}

impl Out {
    fn emit(&self, v: Value, text: impl FnOnce() -> String, is_packet: bool) {
        use std::io::Write as _;
        let line = if self.json {
            v.to_string()
        } else if !(is_packet && self.quiet_packets) {
            text()
        } else {
            return;
        };
        // A closed pipe (`flute inspect x.pcap | head`) ends the output quietly.
        if writeln!(std::io::stdout().lock(), "{line}").is_err() {
            std::process::exit(0);
        }
    }
    fn diag(&mut self, index: u64, ts: f64, clause: &str, msg: &str) {
        self.diagnostics += 1;
        self.emit(
            json!({"type": "diagnostic", "packet": index, "time": ts, "clause": clause, "message": msg}),
            || format!("#{index} {ts:.6}  !! {clause}: {msg}"),
            false,
        );
    }
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ext_json(e: &HeaderExtension<'_>) -> Value {
    match e {
        HeaderExtension::Fdt(f) => {
            json!({"het": 192, "name": "EXT_FDT", "version": f.version, "instance_id": f.instance_id})
        }
        HeaderExtension::Cenc(c) => {
            json!({"het": 193, "name": "EXT_CENC", "value": format!("{c:?}")})
        }
        HeaderExtension::Time(t) => {
            json!({"het": 2, "name": "EXT_TIME", "value": format!("{t:?}")})
        }
        HeaderExtension::Fti(b) => json!({"het": 64, "name": "EXT_FTI", "hex": hexs(b)}),
        HeaderExtension::Nop(b) => json!({"het": 0, "name": "EXT_NOP", "len": b.len()}),
        HeaderExtension::Auth(b) => json!({"het": 1, "name": "EXT_AUTH", "len": b.len()}),
        HeaderExtension::Unknown(r) => {
            json!({"het": r.het(), "name": "unknown", "hex": hexs(r.bytes())})
        }
        _ => json!({"het": e.het(), "name": "other"}),
    }
}

fn ext_text(e: &HeaderExtension<'_>) -> String {
    match e {
        HeaderExtension::Fdt(f) => format!("EXT_FDT(V={}, id={})", f.version, f.instance_id),
        HeaderExtension::Cenc(c) => format!("EXT_CENC({c:?})"),
        HeaderExtension::Time(t) => format!("EXT_TIME({t:?})"),
        HeaderExtension::Fti(b) => format!("EXT_FTI({} bytes)", b.len()),
        HeaderExtension::Nop(_) => "EXT_NOP".into(),
        HeaderExtension::Auth(_) => "EXT_AUTH".into(),
        HeaderExtension::Unknown(r) => format!("HET {}", r.het()),
        _ => format!("HET {}", e.het()),
    }
}

fn oti_text(o: &Oti) -> String {
    format!(
        "FEC {} L={} E={} B={}{}{}",
        o.encoding_id.0,
        o.transfer_length,
        o.encoding_symbol_length,
        o.max_source_block_length,
        o.max_encoding_symbols
            .map(|n| format!(" max_n={n}"))
            .unwrap_or_default(),
        match &o.scheme_specific {
            fec_schemes::SchemeSpecific::None => String::new(),
            s => format!(" {s:?}"),
        }
    )
}

pub(crate) fn run(args: InspectArgs, registry: &Arc<FecRegistry>) -> Result<ExitCode, String> {
    let mut reader = PcapReader::open(&args.capture).map_err(|e| e.to_string())?;
    let parser = AlcParser::new(Arc::clone(registry)).flute(true);
    let mut out = Out {
        json: args.json,
        quiet_packets: args.summary,
        diagnostics: 0,
    };
    let mut sessions: BTreeMap<SessionKey, SessionSummary> = BTreeMap::new();
    let mut fdts: HashMap<(SessionKey, u32), FdtAsm> = HashMap::new();
    let mut seen_symbols: HashMap<(SessionKey, u128, u32, u32), u64> = HashMap::new();
    let mut first_ts: Option<Duration> = None;
    let mut index = 0u64;
    loop {
        let d = match reader.next_datagram() {
            Ok(Some(d)) => d,
            Ok(None) => break,
            Err(e) => {
                out.diag(
                    index + 1,
                    0.0,
                    "capture",
                    &format!("capture unreadable past this point: {e}"),
                );
                break;
            }
        };
        if args.port.is_some_and(|p| p != d.dst.port()) {
            continue;
        }
        index += 1;
        let ts_abs = d.ts.unwrap_or_default();
        let t0 = *first_ts.get_or_insert(ts_abs);
        let ts = ts_abs.saturating_sub(t0).as_secs_f64();
        let data = &d.payload[..];

        // Raw LCT view first, so fields can be shown even when ALC parsing fails.
        let view = match LctPacket::new_checked(data) {
            Ok(v) => v,
            Err(e) => {
                out.emit(
                    json!({"type": "packet", "index": index, "time": ts, "src": d.src.to_string(), "dst": d.dst.to_string(), "len": data.len(), "error": e.to_string()}),
                    || format!("#{index} {ts:.6} {} -> {} len {}: not a valid LCT header", d.src, d.dst, data.len()),
                    true,
                );
                out.diag(index, ts, lct_clause(&e), &e.to_string());
                continue;
            }
        };
        let tsi = view.tsi().map(|t| t.0);
        let toi = view.toi().map(|t| t.0);
        let key: SessionKey = (d.dst, tsi.unwrap_or(0));
        let s = sessions.entry(key).or_default();
        s.packets += 1;
        s.bytes += data.len() as u64;
        s.first.get_or_insert(ts_abs);
        s.last = Some(ts_abs);
        s.closed |= view.close_session();
        let mut exts_json = Vec::new();
        let mut exts_text = Vec::new();
        for ext in view.extensions() {
            match ext.and_then(|r| r.decode()) {
                Ok(e) => {
                    exts_json.push(ext_json(&e));
                    exts_text.push(ext_text(&e));
                }
                Err(e) => {
                    exts_text.push("<bad extension>".into());
                    exts_json.push(json!({"error": e.to_string()}));
                    break;
                }
            }
        }
        let lct = json!({
            "v": view.version(), "c": view.c_flag(), "psi": view.psi(), "s": view.s_flag(), "o": view.o_flag(),
            "h": view.h_flag(), "a": view.close_session(), "b": view.close_object(), "hdr_len": view.hdr_len(),
            "cp": view.codepoint(), "cci": view.cci().0.to_string(), "tsi": tsi, "toi": toi.map(|t| t.to_string()),
        });
        let lct_text = format!(
            "V={} C={} PSI={} S={} O={} H={} A={} B={} HDR_LEN={} CP={} TSI={} TOI={}",
            view.version(),
            view.c_flag(),
            view.psi(),
            u8::from(view.s_flag()),
            view.o_flag(),
            u8::from(view.h_flag()),
            u8::from(view.close_session()),
            u8::from(view.close_object()),
            view.hdr_len(),
            view.codepoint(),
            tsi.map_or("-".into(), |t| t.to_string()),
            toi.map_or("-".into(), |t| t.to_string()),
        );
        // The OTI known for an FDT instance lets packets without EXT_FTI be decoded.
        let fdt_ext = view
            .extensions()
            .filter_map(|r| r.ok()?.decode().ok())
            .find_map(|e| match e {
                HeaderExtension::Fdt(f) => Some(f),
                _ => None,
            });
        let known = fdt_ext.and_then(|f| fdts.get(&(key, f.instance_id)).map(|a| a.oti.clone()));
        match parser.parse_checked(data, known.as_ref()) {
            Err(e) => {
                out.emit(
                    json!({"type": "packet", "index": index, "time": ts, "src": d.src.to_string(), "dst": d.dst.to_string(), "len": data.len(), "lct": lct, "extensions": exts_json, "error": e.to_string()}),
                    || format!("#{index} {ts:.6} {} -> {} len {}  {lct_text} [{}]", d.src, d.dst, data.len(), exts_text.join(" ")),
                    true,
                );
                sessions.entry(key).or_default().diagnostics += 1;
                out.diag(index, ts, alc_clause(&e), &e.to_string());
            }
            Ok(p) => {
                let pid = p.payload_id();
                let oti = p.oti().cloned().or(known);
                let sym_len = p.symbols().len();
                out.emit(
                    json!({
                        "type": "packet", "index": index, "time": ts, "src": d.src.to_string(), "dst": d.dst.to_string(),
                        "len": data.len(), "lct": lct, "extensions": exts_json,
                        "fec_encoding_id": p.encoding_id().0,
                        "payload_id": pid, "oti": oti, "symbol_bytes": sym_len,
                    }),
                    || {
                        let mut l = format!("#{index} {ts:.6} {} -> {} len {}  {lct_text}", d.src, d.dst, data.len());
                        if !exts_text.is_empty() {
                            let _ = write!(l, " [{}]", exts_text.join(" "));
                        }
                        if let Some(x) = pid {
                            let _ = write!(l, " SBN={} ESI={}", x.sbn, x.esi);
                        }
                        if let Some(o) = p.oti() {
                            let _ = write!(l, " OTI({})", oti_text(o));
                        }
                        let _ = write!(l, " {sym_len} symbol bytes");
                        l
                    },
                    true,
                );
                let s = sessions.entry(key).or_default();
                let toi_v = toi.unwrap_or(0);
                if toi_v != 0 {
                    s.tois.insert(toi_v);
                }
                // Carousel cycle: time from a symbol's first sending to its first repetition.
                if let Some(x) = pid {
                    let sk = (key, toi_v, x.sbn, x.esi);
                    if toi_v != 0 {
                        if s.first_symbol.is_none() {
                            s.first_symbol = Some((toi_v, x.sbn, x.esi, ts_abs));
                        } else if s.cycle.is_none() {
                            if let Some((t, b, e, at)) = s.first_symbol {
                                if (t, b, e) == (toi_v, x.sbn, x.esi) {
                                    s.cycle = Some(ts_abs.saturating_sub(at));
                                }
                            }
                        }
                    }
                    let n = seen_symbols.entry(sk).or_insert(0);
                    *n += 1;
                }
                if let (Some(f), Some(x)) = (p.fdt(), pid) {
                    s.fdt_instances.insert(f.instance_id);
                    let cenc = p.cenc().map(|c| c.encoding);
                    let announced = feed_fdt(
                        &mut fdts,
                        &mut out,
                        key,
                        f.instance_id,
                        f.version,
                        cenc,
                        oti,
                        x,
                        p.symbols(),
                        registry,
                        index,
                        ts,
                    );
                    s.tois.extend(announced);
                }
            }
        }
    }
    let rs = reader.stats();
    // Session summaries.
    for ((dst, tsi), s) in &sessions {
        let span = s
            .last
            .unwrap_or_default()
            .saturating_sub(s.first.unwrap_or_default())
            .as_secs_f64();
        let bitrate = if span > 0.0 {
            s.bytes as f64 * 8.0 / span
        } else {
            0.0
        };
        out.emit(
            json!({"type": "session", "destination": dst.to_string(), "tsi": tsi, "packets": s.packets, "bytes": s.bytes,
                   "duration": span, "bitrate": bitrate, "objects": s.tois.len(), "fdt_instances": s.fdt_instances.len(),
                   "carousel_cycle": s.cycle.map(|c| c.as_secs_f64()), "closed": s.closed, "diagnostics": s.diagnostics}),
            || {
                format!(
                    "session {dst} TSI {tsi}: {} packets, {} bytes over {span:.3} s ({}), {} object(s), {} FDT instance(s), carousel cycle {}, {}",
                    s.packets,
                    s.bytes,
                    crate::opts::human_rate(bitrate),
                    s.tois.len(),
                    s.fdt_instances.len(),
                    s.cycle.map_or("none seen".into(), |c| format!("{:.3} s", c.as_secs_f64())),
                    if s.closed { "closed (A flag)" } else { "not closed" }
                )
            },
            false,
        );
    }
    out.emit(
        json!({"type": "capture", "frames": rs.frames, "udp": rs.udp, "not_udp": rs.not_udp, "fragments": rs.fragments, "reassembled": rs.reassembled, "reassembly_failed": rs.reassembly_failed, "malformed": rs.malformed, "diagnostics": out.diagnostics}),
        || {
            format!(
                "capture: {} frames, {} UDP datagrams ({} reassembled from {} IP fragments, {} incomplete), {} not UDP, {} malformed; {} diagnostic(s)",
                rs.frames, rs.udp, rs.reassembled, rs.fragments, rs.reassembly_failed, rs.not_udp, rs.malformed, out.diagnostics
            )
        },
        false,
    );
    Ok(if out.diagnostics > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[allow(clippy::too_many_arguments)]
fn feed_fdt(
    fdts: &mut HashMap<(SessionKey, u32), FdtAsm>,
    out: &mut Out,
    key: SessionKey,
    id: u32,
    version: u8,
    cenc: Option<fdt::ContentEncoding>,
    oti: Option<Oti>,
    pid: fec_schemes::PayloadId,
    symbols: &[u8],
    registry: &FecRegistry,
    index: u64,
    ts: f64,
) -> Vec<u128> {
    let asm = match fdts.entry((key, id)) {
        std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let Some(oti) = oti else {
                out.diag(
                    index,
                    ts,
                    "RFC 6726 §3.4.2 / RFC 5775 §5.2",
                    "FDT packet without EXT_FTI before its OTI is known",
                );
                return Vec::new();
            };
            v.insert(FdtAsm {
                oti,
                cenc,
                version,
                decoders: HashMap::new(),
                blocks: BTreeMap::new(),
                done: false,
            })
        }
    };
    if asm.done {
        return Vec::new();
    }
    let Ok(scheme) = registry.for_oti(&asm.oti) else {
        return Vec::new();
    };
    let Ok(blocking) = scheme.blocking(&asm.oti) else {
        out.diag(
            index,
            ts,
            "RFC 5052 §9.1",
            "FDT OTI gives no valid blocking",
        );
        asm.done = true;
        return Vec::new();
    };
    let total = blocking.iter().count();
    if asm.blocks.contains_key(&pid.sbn) {
        return Vec::new();
    }
    let dec = match asm.decoders.entry(pid.sbn) {
        std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
        std::collections::hash_map::Entry::Vacant(v) => {
            let Ok(block) = blocking.block(pid.sbn) else {
                out.diag(
                    index,
                    ts,
                    "RFC 5052 §9.1 (SBN beyond the source blocks)",
                    "FDT symbol outside its blocks",
                );
                return Vec::new();
            };
            match scheme.decoder(&asm.oti, &block) {
                Ok(d) => v.insert(d),
                Err(e) => {
                    out.diag(index, ts, fec_clause(&e), &e.to_string());
                    return Vec::new();
                }
            }
        }
    };
    let e = usize::from(asm.oti.encoding_symbol_length.max(1));
    for (i, chunk) in symbols.chunks(e).enumerate() {
        if let Err(err) = dec.push(pid.esi + i as u32, chunk) {
            out.diag(index, ts, fec_clause(&err), &err.to_string());
        }
    }
    if dec.is_decodable() {
        if let Ok(b) = dec.decode() {
            asm.blocks.insert(pid.sbn, b);
            asm.decoders.remove(&pid.sbn);
        }
    }
    if asm.blocks.len() == total {
        asm.done = true;
        let mut xml: Vec<u8> = asm
            .blocks
            .values()
            .flat_map(|b| b.iter().copied())
            .collect();
        xml.truncate(asm.oti.transfer_length as usize);
        if let Some(c) = asm.cenc.filter(|&c| c != fdt::ContentEncoding::Null) {
            match fdt::inflate(c, &xml, 16 << 20) {
                Ok(x) => xml = x,
                Err(err) => {
                    out.diag(
                        index,
                        ts,
                        "RFC 6726 §3.4.3 (EXT_CENC)",
                        &format!("FDT instance {id}: {err}"),
                    );
                    return Vec::new();
                }
            }
        }
        let text = String::from_utf8_lossy(&xml).into_owned();
        match fdt::FdtInstance::parse(&xml) {
            Ok(inst) => {
                out.emit(
                    json!({"type": "fdt", "packet": index, "tsi": key.1, "instance_id": id, "flute_version": asm.version, "instance": inst, "xml": text}),
                    || {
                        let mut s = format!(
                            "#{index} FDT instance {id} (TSI {}, FLUTE v{}, Expires {}{}): {} file(s)",
                            key.1,
                            asm.version,
                            inst.expires.0,
                            if inst.complete == Some(true) { ", Complete" } else { "" },
                            inst.files.len()
                        );
                        for f in &inst.files {
                            let _ = write!(
                                s,
                                "\n    TOI {} {} length {} {}",
                                f.toi,
                                f.content_location,
                                f.content_length.map_or("?".into(), |l| l.to_string()),
                                f.content_encoding.as_deref().unwrap_or("")
                            );
                        }
                        s
                    },
                    false,
                );
                if let Err(err) = inst.validate(&fdt::ValidationOptions::default()) {
                    out.diag(
                        index,
                        ts,
                        "RFC 6726 §3.4.2 (FDT Instance)",
                        &format!("FDT instance {id}: {err}"),
                    );
                }
                // Each entry's FEC OTI, judged by its scheme as the receiver judges it
                // (`fdt_file_oti`). A missing length or symbol size is no fault here: EXT_FTI
                // may carry it.
                for f in &inst.files {
                    let f = f.resolved(&inst);
                    let Some(enc) = f.fec_oti.encoding_id else {
                        continue;
                    };
                    if let Err(
                        err @ (flute_receiver::FdtOtiError::Scheme { .. }
                        | flute_receiver::FdtOtiError::OutOfRange { .. }),
                    ) =
                        flute_receiver::fdt_file_oti(registry, &f, fec_schemes::FecEncodingId(enc))
                    {
                        out.diag(
                            index,
                            ts,
                            "RFC 6726 §3.4.2, RFC 5052 §4.1 (FDT FEC OTI)",
                            &format!("FDT instance {id}, TOI {}: {err}", f.toi),
                        );
                    }
                }
                return inst.files.iter().map(|f| f.toi).collect();
            }
            Err(err) => out.diag(
                index,
                ts,
                "RFC 6726 §3.4.2 (FDT XML)",
                &format!("FDT instance {id}: {err}"),
            ),
        }
    }
    Vec::new()
}
