//! `flute send`.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use fec_schemes::FecRegistry;
use flute_io::{
    DatagramSink, PcapSink, PooledSender, RecordingSink, SenderCore, UdpOptions, UdpSender,
    UdpSink, run_sender,
};
use flute_sender::{
    AnchoredClock, Carousel, FdtCarousel, Object, Pacing, ReadSeekSource, Repair, Sender,
    SenderConfig, SenderEvent, Tsi,
};

use crate::Interrupt;
use crate::opts::{
    CarouselArg, CencArg, Fec, FecArg, ProfileArg, RateArg, human_bytes, human_rate,
    parse_carousel, parse_endpoint, parse_percent, parse_rate_arg, parse_secs,
};
use crate::progress::Bars;

/// Arguments of `flute send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Files and directories to send (directories recursively), or `-` for one object read
    /// from standard input, whose length is known only when the input ends (its first
    /// symbols go out while it is still coming).
    #[arg(required_unless_present = "watch", value_name = "FILE|DIR|-")]
    pub(crate) paths: Vec<PathBuf>,
    /// With `-`: the object's Content-Location.
    #[arg(long, value_name = "NAME", default_value = "stdin")]
    pub(crate) stdin_name: String,
    /// Live delivery: watch DIR recursively and send each file once it is complete (closed
    /// after writing, or renamed into place, then unchanged for --settle), each as a new
    /// object announced in a new FDT instance. Runs until Ctrl-C.
    #[arg(long, value_name = "DIR", conflicts_with = "paths")]
    pub(crate) watch: Option<PathBuf>,
    /// With --watch: keep only the N newest objects in the carousel and the FDT.
    #[arg(long, value_name = "N", requires = "watch")]
    pub(crate) keep: Option<usize>,
    /// With --watch: objects leave the carousel and the FDT this many seconds after they
    /// were added.
    #[arg(long, value_name = "SECONDS", requires = "watch", value_parser = parse_secs)]
    pub(crate) keep_for: Option<Duration>,
    /// With --watch: how long a complete file must stay unchanged (length and modification
    /// time) before it is sent, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "0.01", requires = "watch", value_parser = parse_secs)]
    pub(crate) settle: Duration,
    /// Destination ADDR:PORT, unicast or multicast, IPv4 or IPv6 (e.g. `239.255.1.1:3400`,
    /// `[ff05::1]:3400`), or HOST:PORT.
    #[arg(long, short = 'd', value_parser = parse_endpoint)]
    pub(crate) dest: SocketAddr,
    /// Target bit rate on the wire (IP+UDP included), e.g. 100M, 1G, or `max`. Default: 100M
    /// to a network destination (printed at start), `max` to a loopback one.
    #[arg(long, value_parser = parse_rate_arg)]
    pub(crate) rate: Option<RateArg>,
    /// FEC scheme: nocode, rs, rs2m, rs129, raptor, raptorq (or any registered scheme by
    /// name or FEC Encoding ID[/Instance ID], e.g. `6`, `129/0`).
    #[arg(long, default_value = "nocode")]
    pub(crate) fec: FecArg,
    /// Repair symbols per source block, in percent of the block (default 0% for nocode, 20% otherwise).
    #[arg(long, value_parser = parse_percent)]
    pub(crate) repair: Option<f64>,
    /// Encoding symbol length E in bytes. Default: the largest that keeps every packet within
    /// the outgoing interface's MTU (IP + UDP + ALC headers included), at most what fills a
    /// 1500-byte Ethernet frame. A larger explicit value is refused unless
    /// --allow-fragmentation.
    #[arg(long, value_parser = clap::value_parser!(u16).range(16..=65000))]
    pub(crate) symbol_size: Option<u16>,
    /// Let packets exceed the path MTU, to be IP-fragmented (multicast receivers often drop
    /// fragments). Without it, datagrams leave with DF set and never fragment.
    #[arg(long)]
    pub(crate) allow_fragmentation: bool,
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
    /// Threads: with N ≥ 2, N − 1 worker threads code source blocks ahead (the repair
    /// symbols of RS, RaptorQ, Raptor and LDPC-Staircase) beside the sending loop, and a
    /// file's Content-MD5 is computed with reading and hashing on two threads. The
    /// packets and their order are the same for every N. Default: every core this process
    /// may use.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) threads: Option<u16>,
    #[command(flatten)]
    pub(crate) repair_server: crate::repair::SendRepairArgs,
}

impl SendArgs {
    /// `--threads`, or every core this process may use.
    pub(crate) fn threads(&self) -> usize {
        self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, usize::from),
            usize::from,
        )
    }
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

/// The symbol size when neither `--symbol-size` nor an interface MTU decides it.
pub(crate) const FALLBACK_SYMBOL_SIZE: u16 = 1400;

/// The rate when `--rate` is not given and the destination is on the network: a safe
/// default that a 1 Gbit/s link and most multicast networks carry without loss.
pub(crate) const DEFAULT_NETWORK_RATE: u64 = 100_000_000;

impl SendArgs {
    /// The symbol size in use (after [`choose_symbol_size`] has filled it in).
    pub(crate) fn symbol_size(&self) -> u16 {
        self.symbol_size.unwrap_or(FALLBACK_SYMBOL_SIZE)
    }

    /// Whether the destination stays on this host (a loopback address, or multicast on `lo`).
    fn loopback(&self) -> bool {
        self.dest.ip().is_loopback() || self.interface.as_deref() == Some("lo")
    }

    /// The pacing rate: `--rate`, or by default 100 Mbit/s to a network destination and no
    /// pacing on loopback or into a capture file.
    pub(crate) fn bits_per_second(&self) -> Option<u64> {
        match self.rate {
            Some(RateArg::Max) => None,
            Some(RateArg::Bits(b)) => Some(b),
            None if self.loopback() || self.no_send => None,
            None => Some(DEFAULT_NETWORK_RATE),
        }
    }
}

/// The sender configuration for `args` (shared with the demo).
fn sender_config(args: &SendArgs, fec: &Fec, now: Instant) -> SenderConfig {
    let mut cfg = SenderConfig::new(
        Tsi(args.tsi),
        Arc::new(AnchoredClock::new(now, SystemTime::now())),
    );
    cfg.registry = Arc::clone(&fec.registry);
    cfg.profile = args.profile.to_sender();
    cfg.symbol_length = args.symbol_size();
    cfg
}

/// The MTU of a standard Ethernet frame: the default symbol size fills it, and never
/// exceeds what fits in it (loopback interfaces have MTUs of 64 KiB).
const ETHERNET_MTU: usize = 1500;

/// Chooses the symbol size for `args` (issue 13 §2): an explicit `--symbol-size` is checked
/// against the MTU of the way to the destination, and the default is the largest size whose
/// packets fit that MTU, at most what fills a 1500-byte Ethernet frame. Returns the size and
/// a line for the operator.
pub(crate) fn choose_symbol_size(
    args: &SendArgs,
    fec: &Fec,
    opts: &UdpOptions,
) -> Result<(u16, String), String> {
    let cfg = sender_config(args, fec, Instant::now());
    let scheme = fec.scheme.as_ref();
    let ipv6 = args.dest.is_ipv6();
    let ethernet = flute_sender::max_symbol_length_for_mtu(&cfg, scheme, ETHERNET_MTU, ipv6)
        .unwrap_or(FALLBACK_SYMBOL_SIZE);
    if args.no_send {
        let e = args.symbol_size.unwrap_or(ethernet);
        return Ok((
            e,
            format!(
                "symbol size {e} bytes (capture only; the default fills a 1500-byte Ethernet frame)"
            ),
        ));
    }
    let path = flute_io::path_mtu(args.dest, args.bind, opts).map_err(|e| {
        format!(
            "cannot find the MTU towards {}: {e}. Name the interface with --interface, or set \
             --symbol-size explicitly",
            args.dest
        )
    })?;
    let fits = usize::try_from(path.mtu)
        .ok()
        .and_then(|mtu| flute_sender::max_symbol_length_for_mtu(&cfg, scheme, mtu, ipv6))
        .ok_or_else(|| {
            format!(
                "the {path} towards {} is too small for any FLUTE packet (IP + UDP + ALC headers \
                 need {} bytes)",
                args.dest,
                flute_sender::ip_udp_overhead(ipv6) + flute_sender::max_alc_overhead(&cfg, scheme)
            )
        })?;
    match args.symbol_size {
        Some(e) if e > fits && !args.allow_fragmentation => Err(format!(
            "--symbol-size {e} does not fit the {path} towards {}: with {} bytes of IP and UDP \
             header and {} of ALC header, the largest symbol size that fits is {fits}. Use \
             --symbol-size {fits} (or leave it out), or --allow-fragmentation to send IP \
             fragments, which multicast receivers often drop",
            args.dest,
            flute_sender::ip_udp_overhead(ipv6),
            flute_sender::max_alc_overhead(&cfg, scheme),
        )),
        Some(e) if e > fits => Ok((
            e,
            format!(
                "symbol size {e} bytes: larger than the {path} allows ({fits}); packets will be IP-fragmented"
            ),
        )),
        Some(e) => Ok((e, format!("symbol size {e} bytes ({path})"))),
        None => {
            let e = fits.min(ethernet);
            Ok((
                e,
                format!("symbol size {e} bytes, the largest that fits ({path})"),
            ))
        }
    }
}

/// Builds the sender for `args` (shared with the demo).
pub(crate) fn build_sender(args: &SendArgs, fec: &Fec, now: Instant) -> Result<Sender, String> {
    build_sender_with(args, fec, now, Vec::new())
}

/// [`build_sender`] with extension elements in every FDT instance (file repair's
/// `postFileRepair`, `repair.rs`).
pub(crate) fn build_sender_with(
    args: &SendArgs,
    fec: &Fec,
    now: Instant,
    fdt_extensions: Vec<fdt::XmlElement>,
) -> Result<Sender, String> {
    let mut cfg = sender_config(args, fec, now);
    cfg.fdt_extensions = fdt_extensions;
    // Two blocks per worker coded ahead (only `PooledSender` hands jobs out).
    cfg.encode_ahead = 2 * args.threads().saturating_sub(1);
    // The symbol size was checked against the path MTU; the sender's own bound only has to
    // admit every header the sender writes.
    cfg.max_datagram_size =
        usize::from(args.symbol_size()) + flute_sender::max_alc_overhead(&cfg, fec.scheme.as_ref());
    cfg.fdt_carousel = FdtCarousel {
        interval: Some(args.fdt_interval),
        ..FdtCarousel::default()
    };
    cfg.pacing = args.bits_per_second().map(|r| {
        let mut p = Pacing::wire(r);
        let burst = (r as f64 / 8.0 * args.burst_ms.max(0.0) / 1000.0) as u64;
        p.burst_bytes = p.burst_bytes.max(burst);
        p
    });
    Sender::new(cfg).map_err(|e| format!("invalid sender configuration: {e}"))
}

/// `WHAT PATH: ERROR`, and for the open-file limit what to do about it: every object in the
/// carousel keeps its file open until it leaves (found by scripts/soak.sh with `--keep`
/// above `ulimit -n`, where every later file failed with a bare "Too many open files").
fn file_error(what: &str, path: &Path, e: &std::io::Error) -> String {
    // EMFILE is 24 on Linux, the BSDs and macOS.
    let hint = if cfg!(unix) && e.raw_os_error() == Some(24) {
        ": the process reached its open-file limit; each object in the carousel keeps its \
         file open until it leaves, so lower --keep / --keep-for (or the number of files \
         given) or raise the limit (`ulimit -n`)"
    } else {
        ""
    };
    format!("{what} {}: {e}{hint}", path.display())
}

/// The Object for one file.
pub(crate) fn object_for(
    args: &SendArgs,
    fec: &Fec,
    location: &str,
    path: &Path,
) -> Result<Object, String> {
    let f = File::open(path).map_err(|e| file_error("cannot open", path, &e))?;
    let src = ReadSeekSource::new(f).map_err(|e| file_error("cannot read", path, &e))?;
    let (e, b) = (args.symbol_size(), args.block_size);
    let repair = args.repair.unwrap_or_else(|| fec.default_repair());
    let has_repair = fec.has_repair();
    let fec = fec.clone();
    let carousel = match args.carousel {
        CarouselArg::Times(n) => Carousel::Times {
            times: n,
            interval: Duration::ZERO,
        },
        CarouselArg::Forever => Carousel::UntilRemoved {
            interval: Duration::ZERO,
        },
    };
    // Content-MD5 only without content encoding: the workspace's sender digests the
    // content before encoding and its receiver the transport bytes after it.
    let md5 = args.cenc == CencArg::None && !args.no_md5;
    let mut obj = Object::from_source(location.to_owned(), Box::new(src))
        .fec_with(move |len| fec.oti(len, e, b, repair))
        .carousel(carousel)
        .content_md5(md5)
        .content_encoding(args.cenc.to_sender());
    if md5 && args.threads() >= 2 {
        // With a second core, the file is read on one thread and hashed on this one; the
        // sender publishes the digest as given instead of reading the file to hash it.
        let digest =
            crate::file_md5::file_md5(path).map_err(|e| file_error("cannot read", path, &e))?;
        obj = obj.content_md5_value(digest);
    }
    if repair > 0.0 && has_repair {
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
        dont_fragment: !args.allow_fragmentation,
        ..UdpOptions::default()
    }
}

pub(crate) fn run(
    mut args: SendArgs,
    registry: &Arc<FecRegistry>,
    interrupt: &Interrupt,
) -> Result<ExitCode, String> {
    let fec = Fec::resolve(&args.fec, registry)?;
    let stdin = args.paths.len() == 1 && args.paths[0] == Path::new("-");
    if !stdin && args.paths.iter().any(|p| p == Path::new("-")) {
        return Err("`-` (standard input) must be the only path".into());
    }
    let items = if args.watch.is_some() || stdin {
        Vec::new()
    } else {
        collect(&args.paths)?
    };
    let opts = udp_options(&args);
    if !fec.has_repair() && args.repair.is_some_and(|r| r > 0.0) {
        return Err(format!(
            "--repair asks for repair symbols, but --fec {} ({}) has none: choose a FEC \
             scheme with repair symbols (--fec rs, raptorq, ...) or leave out --repair",
            args.fec,
            fec.label()
        ));
    }
    let (e, why) = choose_symbol_size(&args, &fec, &opts)?;
    args.symbol_size = Some(e);
    if !args.quiet {
        eprintln!("{why}");
        if args.rate.is_none() {
            if let Some(r) = args.bits_per_second() {
                eprintln!(
                    "rate {} (the default towards a network destination; --rate R or --rate max to change it)",
                    human_rate(r as f64)
                );
            }
        }
    }
    if args.cenc == CencArg::Zstd && args.profile == ProfileArg::Mbms {
        return Err("--cenc zstd is not allowed with --profile 3gpp".into());
    }
    if let Some(dir) = args.watch.clone() {
        return run_watch(&args, &fec, &dir, interrupt);
    }
    if stdin {
        return run_stdin(&args, &fec, interrupt);
    }
    let repair_side = crate::repair::SendSide::start(&args.repair_server, &args, &fec)?;
    let start = Instant::now();
    let mut sender = build_sender_with(&args, &fec, start, repair_side.fdt_extensions())?;
    let total: u64 = items.iter().map(|i| i.len).sum();
    for it in &items {
        let obj = object_for(&args, &fec, &it.location, &it.path)?;
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
    let workers = args.threads().saturating_sub(1).max(1);
    let mut core = PooledSender::new(sender, workers)
        .map_err(|e| format!("cannot start the coding threads: {e}; try --threads 1"))?;
    let mut closing = false;
    let mut observe = |c: &mut PooledSender| {
        let s = &mut c.sender;
        if interrupt.requested() && !closing {
            closing = true;
            s.close();
        }
        let st = s.stats();
        pb.set_position(
            (st.source_symbols * u64::from(args.symbol_size()))
                .min(pb.length().unwrap_or(u64::MAX)),
        );
        while let Some(ev) = s.poll_event() {
            match ev {
                SenderEvent::ObjectSent { toi } if !args.quiet => {
                    bars.println(&format!("sent TOI {}", toi.0))
                }
                SenderEvent::ObjectFailed { toi, error } => {
                    bars.println(&format!("TOI {} failed: {error}", toi.0))
                }
                SenderEvent::SessionClosed => return ControlFlow::Break(()),
                _ => {}
            }
        }
        ControlFlow::Continue(())
    };
    let send_start = Instant::now();
    let stats = if args.no_send {
        let pcap = args.pcap.as_deref().unwrap_or(Path::new("out.pcap"));
        let src = local_for(args.dest);
        let mut sink = PcapSink::create(pcap, src, args.dest).map_err(|e| e.to_string())?;
        drive(&mut core, &mut sink, interrupt, &mut observe)?
    } else {
        let sock = UdpSender::open(args.dest, args.bind, &opts)
            .map_err(|e| crate::opts::socket_error("send to", args.dest, &e))?;
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        let udp = UdpSink { socket: sock };
        let (stats, udp) = match &args.pcap {
            Some(p) => {
                let pcap = PcapSink::create(p, local, args.dest).map_err(|e| e.to_string())?;
                let mut sink = RecordingSink { udp, pcap };
                (
                    drive(&mut core, &mut sink, interrupt, &mut observe)?,
                    sink.udp,
                )
            }
            None => {
                let mut sink = udp;
                (drive(&mut core, &mut sink, interrupt, &mut observe)?, sink)
            }
        };
        if let Some(e) = udp.socket.gso_refused() {
            eprintln!(
                "note: the path refused UDP GSO ({e}); sent with sendmmsg instead (use --no-batch \
                 to skip the attempt)"
            );
        }
        stats
    };
    pb.finish_and_clear();
    let elapsed = send_start.elapsed().as_secs_f64().max(1e-9);
    let st = core.sender.stats();
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
        args.bits_per_second()
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
    sender: &mut PooledSender,
    sink: &mut K,
    interrupt: &Interrupt,
    observe: &mut impl FnMut(&mut PooledSender) -> ControlFlow<()>,
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

/// `flute send -`: one object from standard input, of unknown length until it ends.
fn run_stdin(args: &SendArgs, fec: &Fec, interrupt: &Interrupt) -> Result<ExitCode, String> {
    use crate::stdin::StdinCore;
    if args.repair_server.repair_listen.is_some() {
        return Err(
            "--repair-listen serves files from disk; it does not work with standard input".into(),
        );
    }
    if args.cenc != CencArg::None {
        return Err(
            "--cenc needs the whole object before its first packet: it does not work with \
             standard input (compress in the pipe instead, e.g. `gzip -c | flute send -`)"
                .into(),
        );
    }
    let start = Instant::now();
    let mut sender = build_sender(args, fec, start)?;
    let e = args.symbol_size();
    // No-Code gains nothing from small blocks, and half a block is what may leave before
    // the input ends (RFC 5052 §9.1 partitioning): take large ones unless told otherwise.
    let b = args
        .block_size
        .or_else(|| (!fec.has_repair()).then_some(STDIN_NOCODE_BLOCK));
    let repair = args.repair.unwrap_or_else(|| fec.default_repair());
    // The OTI is fixed before the length is known: the scheme's for a four-symbol object
    // (one source block for the Raptor codes), the length filled in at the end.
    let template = fec.oti(4 * u64::from(e), e, b, repair);
    let carousel = match args.carousel {
        CarouselArg::Times(n) => Carousel::Times {
            times: n,
            interval: Duration::ZERO,
        },
        CarouselArg::Forever => Carousel::UntilRemoved {
            interval: Duration::ZERO,
        },
    };
    let mut obj = Object::stream(args.stdin_name.clone())
        .fec(template)
        .carousel(carousel)
        .content_md5(!args.no_md5);
    if repair > 0.0 && fec.has_repair() {
        obj = obj.repair(Repair::Percent(repair.ceil() as u32));
    }
    let toi = sender
        .insert_object(obj, start)
        .map_err(|e| format!("cannot send standard input: {e}"))?;
    let close_at_end = matches!(args.carousel, CarouselArg::Times(_));
    let mut core = StdinCore::new(sender, toi, std::io::stdin(), close_at_end);
    if !args.quiet {
        eprintln!(
            "sending standard input as {} (TOI {})",
            args.stdin_name, toi.0
        );
    }
    let mut closing = false;
    let mut observe = |c: &mut StdinCore| {
        if interrupt.requested() && !closing {
            closing = true;
            c.sender.close();
        }
        while let Some(ev) = c.sender.poll_event() {
            match ev {
                // A failure at the end of the input is reported once, with advice, below.
                SenderEvent::ObjectFailed { toi, error } if c.error.is_none() => {
                    eprintln!("TOI {} failed: {error}", toi.0)
                }
                SenderEvent::SessionClosed => return ControlFlow::Break(()),
                _ => {}
            }
        }
        ControlFlow::Continue(())
    };
    let loop_stats = run_live(args, &mut core, interrupt, &mut observe)?;
    let st = core.sender.stats();
    println!(
        "sent standard input, {} in {} packets ({} FDT, {} source of which {} before the end \
         of the input, {} repair symbols)",
        human_bytes(core.bytes),
        st.packets,
        st.fdt_packets,
        st.source_symbols,
        st.early_symbols,
        st.repair_symbols,
    );
    if let Some(e) = core.error {
        return Err(e);
    }
    if loop_stats.interrupted {
        eprintln!("stopped by Ctrl-C");
        return Ok(ExitCode::from(130));
    }
    if st.objects_failed > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a live core (`--watch`, standard input) into the destination, or with `--no-send`
/// into a capture written in real time; `--pcap` beside a destination records what is sent.
fn run_live<C: SenderCore>(
    args: &SendArgs,
    core: &mut C,
    interrupt: &Interrupt,
    observe: &mut impl FnMut(&mut C) -> ControlFlow<()>,
) -> Result<flute_io::LoopStats, String> {
    use crate::watch::LivePcap;
    if args.no_send {
        let pcap = args.pcap.as_deref().unwrap_or(Path::new("out.pcap"));
        let sink =
            PcapSink::create(pcap, local_for(args.dest), args.dest).map_err(|e| e.to_string())?;
        let mut sink = LivePcap(sink);
        return run_sender(core, &mut sink, &interrupt.hard, observe).map_err(|e| e.to_string());
    }
    let sock = UdpSender::open(args.dest, args.bind, &udp_options(args))
        .map_err(|e| crate::opts::socket_error("send to", args.dest, &e))?;
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let udp = UdpSink { socket: sock };
    match &args.pcap {
        Some(p) => {
            let pcap = PcapSink::create(p, local, args.dest).map_err(|e| e.to_string())?;
            let mut sink = RecordingSink { udp, pcap };
            run_sender(core, &mut sink, &interrupt.hard, observe)
        }
        None => {
            let mut sink = udp;
            run_sender(core, &mut sink, &interrupt.hard, observe)
        }
    }
    .map_err(|e| e.to_string())
}

/// `--block-size` for No-Code from standard input when none is given.
const STDIN_NOCODE_BLOCK: u32 = 32_768;

/// `flute send --watch DIR`: until Ctrl-C, every complete file in DIR becomes a new object.
fn run_watch(
    args: &SendArgs,
    fec: &Fec,
    dir: &Path,
    interrupt: &Interrupt,
) -> Result<ExitCode, String> {
    use crate::watch::{DirWatch, Keep, WatchCore};
    if args.repair_server.repair_listen.is_some() {
        return Err(
            "--repair-listen serves a fixed set of files; it does not work with --watch yet".into(),
        );
    }
    if args.keep == Some(0) {
        return Err("--keep 0 would send nothing: keep at least one object".into());
    }
    let watch = DirWatch::new(dir, args.settle)?;
    let start = Instant::now();
    let sender = build_sender(args, fec, start)?;
    let keep = Keep {
        count: args.keep,
        age: args.keep_for,
    };
    let make = Box::new(|r: &crate::watch::Ready| object_for(args, fec, &r.location, &r.path));
    let mut core = WatchCore::new(sender, watch, keep, make);
    if !args.quiet {
        eprintln!("watching {} (Ctrl-C to stop)", dir.display());
    }
    let mut observe = |c: &mut WatchCore<'_>| {
        if interrupt.requested() && !c.closing {
            let (gone, left) = c.close();
            if !args.quiet {
                eprintln!(
                    "closing the session: {gone} file(s) sent whole left the carousel; \
                     {left} file(s) still in their first pass finish it first"
                );
            }
        }
        for n in c.notes.drain(..) {
            if !args.quiet || !n.starts_with("added ") {
                eprintln!("{n}");
            }
        }
        while let Some(ev) = c.sender.poll_event() {
            match ev {
                SenderEvent::CarouselCycleDone { toi, pass: 1 } => c.first_pass_done(toi),
                SenderEvent::ObjectFailed { toi, error } => {
                    eprintln!("TOI {} failed: {error}", toi.0)
                }
                SenderEvent::SessionClosed => return ControlFlow::Break(()),
                _ => {}
            }
        }
        ControlFlow::Continue(())
    };
    let loop_stats = run_live(args, &mut core, interrupt, &mut observe)?;
    let st = core.sender.stats();
    println!(
        "watched {}: {} object(s) added, {} removed, {} packets ({} FDT, {} source, {} repair symbols)",
        dir.display(),
        core.added,
        core.removed,
        st.packets,
        st.fdt_packets,
        st.source_symbols,
        st.repair_symbols,
    );
    if loop_stats.interrupted {
        return Ok(ExitCode::from(130));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn the_open_file_limit_is_explained() {
        let e = std::io::Error::from_raw_os_error(24);
        let m = file_error("cannot open", Path::new("in/f1"), &e);
        assert!(m.starts_with("cannot open in/f1: "), "{m}");
        assert!(m.contains("--keep") && m.contains("ulimit -n"), "{m}");
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        let m = file_error("cannot open", Path::new("in/f1"), &e);
        assert!(!m.contains("ulimit"), "{m}");
    }
}
