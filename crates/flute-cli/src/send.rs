//! `flute send`.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use flute_io::{DatagramSink, PcapSink, RecordingSink, UdpOptions, UdpSender, UdpSink, run_sender};
use flute_sender::{
    AnchoredClock, Carousel, FdtCarousel, Object, Pacing, ReadSeekSource, Repair, Sender,
    SenderConfig, SenderEvent, Tsi,
};

use crate::Interrupt;
use crate::opts::{
    CarouselArg, CencArg, FecArg, ProfileArg, human_bytes, human_rate, parse_carousel,
    parse_percent, parse_rate, parse_secs,
};
use crate::progress::Bars;

/// Arguments of `flute send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Files and directories to send (directories recursively).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub(crate) paths: Vec<PathBuf>,
    /// Destination ADDR:PORT, unicast or multicast, IPv4 or IPv6 (e.g. `239.255.1.1:3400`, `[ff05::1]:3400`).
    #[arg(long, short = 'd')]
    pub(crate) dest: SocketAddr,
    /// Target bit rate on the wire (IP+UDP included), e.g. 100M, 1G. Default: as fast as possible.
    #[arg(long, value_parser = parse_rate)]
    pub(crate) rate: Option<u64>,
    /// FEC scheme.
    #[arg(long, value_enum, default_value_t = FecArg::Nocode)]
    pub(crate) fec: FecArg,
    /// Repair symbols per source block, in percent of the block (default 0% for nocode, 20% otherwise).
    #[arg(long, value_parser = parse_percent)]
    pub(crate) repair: Option<f64>,
    /// Encoding symbol length E in bytes.
    #[arg(long, default_value_t = 1400, value_parser = clap::value_parser!(u16).range(16..=8192))]
    pub(crate) symbol_size: u16,
    /// Maximum source block length B in symbols (scheme default if absent).
    #[arg(long)]
    pub(crate) block_size: Option<u32>,
    /// Transport Session Identifier.
    #[arg(long, default_value_t = 1)]
    pub(crate) tsi: u64,
    /// Passes over each object: a number, or `forever` (until Ctrl-C).
    #[arg(long, default_value = "1", value_parser = parse_carousel)]
    pub(crate) carousel: CarouselArg,
    /// Content-Encoding of the objects.
    #[arg(long, value_enum, default_value_t = CencArg::None)]
    pub(crate) cenc: CencArg,
    /// FLUTE profile.
    #[arg(long, value_enum, default_value_t = ProfileArg::Rfc6726)]
    pub(crate) profile: ProfileArg,
    /// Also record every datagram sent in this pcap file.
    #[arg(long, value_name = "FILE")]
    pub(crate) pcap: Option<PathBuf>,
    /// With --pcap: only write the capture (virtual clock, no socket, no waiting).
    #[arg(long, requires = "pcap")]
    pub(crate) no_send: bool,
    /// Network interface for multicast (e.g. lo, eth0).
    #[arg(long)]
    pub(crate) interface: Option<String>,
    /// Multicast TTL / hop limit.
    #[arg(long, default_value_t = 1)]
    pub(crate) ttl: u32,
    /// Do not loop multicast back to this host.
    #[arg(long)]
    pub(crate) no_loopback: bool,
    /// Local address to send from.
    #[arg(long)]
    pub(crate) bind: Option<SocketAddr>,
    /// FDT repetition interval in seconds.
    #[arg(long, default_value = "1", value_parser = parse_secs)]
    pub(crate) fdt_interval: Duration,
    /// One system call per datagram (no sendmmsg/GSO).
    #[arg(long)]
    pub(crate) no_batch: bool,
    /// Do not put Content-MD5 in the FDT (saves hashing at both ends).
    #[arg(long)]
    pub(crate) no_md5: bool,
    /// Pacing burst allowance in milliseconds of traffic at --rate: absorbs late wake-ups
    /// of the sending thread so the average rate holds.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) burst_ms: f64,
    /// No progress bar or per-object lines.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
    #[command(flatten)]
    pub(crate) repair_server: crate::repair::SendRepairArgs,
}

/// One file to send.
pub(crate) struct Item {
    pub(crate) path: PathBuf,
    pub(crate) location: String,
    pub(crate) len: u64,
}

/// The files `paths` name, with the Content-Locations they are announced under.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<Item>, String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<Item>) -> Result<(), String> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read directory {}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let loc = format!("{prefix}/{name}");
            if p.is_dir() {
                walk(&p, &loc, out)?;
            } else if p.is_file() {
                let len = p
                    .metadata()
                    .map_err(|e| format!("{}: {e}", p.display()))?
                    .len();
                out.push(Item {
                    path: p,
                    location: loc,
                    len,
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "root".to_owned());
        let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        if meta.is_dir() {
            walk(p, &name, &mut out)?;
        } else {
            out.push(Item {
                path: p.clone(),
                location: name,
                len: meta.len(),
            });
        }
    }
    if out.is_empty() {
        return Err("nothing to send: the directories given contain no files".into());
    }
    Ok(out)
}

/// Builds the sender for `args` (shared with the demo).
pub(crate) fn build_sender(args: &SendArgs, now: Instant) -> Result<Sender, String> {
    build_sender_with(args, now, Vec::new())
}

/// [`build_sender`] with extension elements in every FDT instance (file repair's
/// `postFileRepair`, `repair.rs`).
pub(crate) fn build_sender_with(
    args: &SendArgs,
    now: Instant,
    fdt_extensions: Vec<fdt::XmlElement>,
) -> Result<Sender, String> {
    let mut cfg = SenderConfig::new(
        Tsi(args.tsi),
        Arc::new(AnchoredClock::new(now, SystemTime::now())),
    );
    cfg.profile = args.profile.to_sender();
    cfg.fdt_extensions = fdt_extensions;
    cfg.symbol_length = args.symbol_size;
    cfg.max_datagram_size = usize::from(args.symbol_size) + 128;
    cfg.fdt_carousel = FdtCarousel {
        interval: Some(args.fdt_interval),
        ..FdtCarousel::default()
    };
    cfg.pacing = args.rate.map(|r| {
        let mut p = Pacing::wire(r);
        let burst = (r as f64 / 8.0 * args.burst_ms.max(0.0) / 1000.0) as u64;
        p.burst_bytes = p.burst_bytes.max(burst);
        p
    });
    Sender::new(cfg).map_err(|e| format!("invalid sender configuration: {e}"))
}

/// The Object for one file.
pub(crate) fn object_for(args: &SendArgs, location: &str, path: &Path) -> Result<Object, String> {
    let f = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let src = ReadSeekSource::new(f).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (fec, e, b) = (args.fec, args.symbol_size, args.block_size);
    let repair = args.repair.unwrap_or_else(|| fec.default_repair());
    let carousel = match args.carousel {
        CarouselArg::Times(n) => Carousel::Times {
            times: n,
            interval: Duration::ZERO,
        },
        CarouselArg::Forever => Carousel::UntilRemoved {
            interval: Duration::ZERO,
        },
    };
    let mut obj = Object::from_source(location.to_owned(), Box::new(src))
        .fec_with(move |len| fec.oti(len, e, b, repair))
        .carousel(carousel)
        // Content-MD5 only without content encoding: the workspace's sender digests the
        // content before encoding and its receiver the transport bytes after it.
        .content_md5(args.cenc == CencArg::None && !args.no_md5)
        .content_encoding(args.cenc.to_sender());
    if repair > 0.0 && fec != FecArg::Nocode {
        obj = obj.repair(Repair::Percent(repair.ceil() as u32));
    }
    Ok(obj)
}

fn udp_options(args: &SendArgs) -> UdpOptions {
    UdpOptions {
        interface: args.interface.clone(),
        ttl: args.ttl,
        multicast_loop: !args.no_loopback,
        batched: !args.no_batch,
        ..UdpOptions::default()
    }
}

pub(crate) fn run(args: SendArgs, interrupt: &Interrupt) -> Result<ExitCode, String> {
    let items = collect(&args.paths)?;
    if args.cenc == CencArg::Zstd && args.profile == ProfileArg::Mbms {
        return Err("--cenc zstd is not allowed with --profile 3gpp".into());
    }
    let repair_side = crate::repair::SendSide::start(&args.repair_server, &args)?;
    let start = Instant::now();
    let mut sender = build_sender_with(&args, start, repair_side.fdt_extensions())?;
    let total: u64 = items.iter().map(|i| i.len).sum();
    for it in &items {
        let obj = object_for(&args, &it.location, &it.path)?;
        sender
            .insert_object(obj, start)
            .map_err(|e| format!("cannot add {}: {e}", it.path.display()))?;
    }
    if matches!(args.carousel, CarouselArg::Times(_)) {
        sender.close();
    }
    let bars = Bars::new(args.quiet);
    let passes = match args.carousel {
        CarouselArg::Times(n) => u64::from(n),
        CarouselArg::Forever => 1,
    };
    let pb = bars.bytes(total.saturating_mul(passes), "sending");
    let mut closing = false;
    let mut observe = |s: &mut Sender| {
        if interrupt.requested() && !closing {
            closing = true;
            s.close();
        }
        let st = s.stats();
        pb.set_position(
            (st.source_symbols * u64::from(args.symbol_size)).min(pb.length().unwrap_or(u64::MAX)),
        );
        while let Some(ev) = s.poll_event() {
            match ev {
                SenderEvent::ObjectSent { toi } if !args.quiet => {
                    bars.println(&format!("sent TOI {}", toi.0))
                }
                SenderEvent::ObjectFailed { toi, kind } => {
                    bars.println(&format!("TOI {} failed: {kind:?}", toi.0))
                }
                SenderEvent::SessionClosed => return ControlFlow::Break(()),
                _ => {}
            }
        }
        ControlFlow::Continue(())
    };
    let opts = udp_options(&args);
    let send_start = Instant::now();
    let stats = if args.no_send {
        let pcap = args.pcap.as_deref().unwrap_or(Path::new("out.pcap"));
        let src = local_for(args.dest);
        let mut sink = PcapSink::create(pcap, src, args.dest).map_err(|e| e.to_string())?;
        drive(&mut sender, &mut sink, interrupt, &mut observe)?
    } else {
        let sock = UdpSender::open(args.dest, args.bind, &opts).map_err(|e| e.to_string())?;
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        let udp = UdpSink { socket: sock };
        match &args.pcap {
            Some(p) => {
                let pcap = PcapSink::create(p, local, args.dest).map_err(|e| e.to_string())?;
                drive(
                    &mut sender,
                    &mut RecordingSink { udp, pcap },
                    interrupt,
                    &mut observe,
                )?
            }
            None => drive(&mut sender, &mut { udp }, interrupt, &mut observe)?,
        }
    };
    pb.finish_and_clear();
    let elapsed = send_start.elapsed().as_secs_f64().max(1e-9);
    let st = sender.stats();
    let wire_bits = (stats.bytes + 28 * stats.datagrams) as f64 * 8.0;
    println!(
        "sent {} file(s), {} in {} packets ({} FDT, {} source, {} repair symbols) in {:.2} s: {} payload, {} on the wire{}",
        items.len(),
        human_bytes(total),
        st.packets,
        st.fdt_packets,
        st.source_symbols,
        st.repair_symbols,
        elapsed,
        human_rate(stats.bytes as f64 * 8.0 / elapsed),
        human_rate(wire_bits / elapsed),
        args.rate
            .map(|r| format!(" (target {})", human_rate(r as f64)))
            .unwrap_or_default(),
    );
    if stats.interrupted {
        eprintln!("stopped by Ctrl-C");
        return Ok(ExitCode::from(130));
    }
    repair_side.linger(interrupt);
    if st.objects_failed > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn drive<K: DatagramSink>(
    sender: &mut Sender,
    sink: &mut K,
    interrupt: &Interrupt,
    observe: &mut impl FnMut(&mut Sender) -> ControlFlow<()>,
) -> Result<flute_io::LoopStats, String> {
    run_sender(sender, sink, &interrupt.hard, observe).map_err(|e| e.to_string())
}

/// A plausible source address for an offline capture.
fn local_for(dest: SocketAddr) -> SocketAddr {
    match dest.ip() {
        IpAddr::V4(_) => "127.0.0.1:40000".parse().unwrap_or(dest),
        IpAddr::V6(_) => "[::1]:40000".parse().unwrap_or(dest),
    }
}
