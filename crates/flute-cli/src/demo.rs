//! `flute demo`: one process sends a generated file over loopback through a seeded lossy
//! path, receives it with FEC recovering the loss, and verifies the bytes and the MD5.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use fec_schemes::FecRegistry;
use flute_io::FsSink;
use flute_io::{
    Lossy, TxBatch, UdpOptions, UdpReceiver, UdpSender, UdpSink, UdpSource, run_sender,
};
use flute_receiver::ReceiverConfig;
use flute_sender::SenderEvent;
use md5::{Digest, Md5};

use crate::Interrupt;
use crate::opts::{
    CarouselArg, CencArg, Fec, FecArg, ProfileArg, RateArg, human_bytes, human_rate, parse_percent,
    parse_rate, parse_size,
};
use crate::progress::Bars;
use crate::recv::{Outcome, receive};
use crate::send::{SendArgs, build_sender, object_for};

/// Arguments of `flute demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Size of the generated file (e.g. 8M, 512k, 1Gi).
    #[arg(long, default_value = "8M", value_parser = parse_size)]
    pub(crate) size: u64,
    /// Share of packets dropped between the sender and its socket (seeded, deterministic).
    #[arg(long, default_value = "10%", value_parser = parse_percent)]
    pub(crate) loss: f64,
    /// FEC scheme: nocode, rs, rs2m, rs129, raptor, raptorq (or any registered scheme by
    /// name or FEC Encoding ID[/Instance ID]).
    #[arg(long, default_value = "raptorq")]
    pub(crate) fec: FecArg,
    /// Repair overhead (default: 2 x loss + 5%).
    #[arg(long, value_parser = parse_percent)]
    pub(crate) repair: Option<f64>,
    /// Seed of the loss pattern and of the file contents.
    #[arg(long, default_value_t = 7)]
    pub(crate) seed: u64,
    /// Sending rate (IP+UDP included).
    #[arg(long, default_value = "1G", value_parser = parse_rate)]
    pub(crate) rate: u64,
    /// Encoding symbol length.
    #[arg(long, default_value_t = 1400)]
    pub(crate) symbol_size: u16,
    /// Use 127.0.0.1 unicast even if multicast on `lo` works.
    #[arg(long)]
    pub(crate) unicast: bool,
    /// Content-Encoding of the object.
    #[arg(long, value_enum, default_value_t = CencArg::None)]
    pub(crate) cenc: CencArg,
}

/// Fills `n` bytes from a seeded generator (compressible by half, so --cenc shows something).
fn generate(n: u64, seed: u64) -> Vec<u8> {
    // SplitMix64: content only, no statistics ride on it.
    let mut state = seed;
    let mut v = Vec::with_capacity(n as usize);
    while (v.len() as u64) < n {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut x = state;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        let b = x.to_le_bytes();
        // Low nibbles only in half of the bytes: some redundancy for content encodings.
        let chunk = [
            b[0],
            b[1],
            b[2],
            b[3],
            b[4] & 0x0f,
            b[5] & 0x0f,
            b[6] & 0x0f,
            b[7] & 0x0f,
        ];
        let take = ((n as usize) - v.len()).min(8);
        v.extend_from_slice(&chunk[..take]);
    }
    v
}

/// Opens the receiving socket: multicast on `lo` if it delivers, else 127.0.0.1 unicast.
fn open_path(
    unicast: bool,
) -> Result<(UdpReceiver, SocketAddr, &'static str, Option<String>), String> {
    let lo = UdpOptions {
        interface: Some("lo".into()),
        ..UdpOptions::default()
    };
    if !unicast {
        let group: SocketAddr = "239.255.70.76:0".parse().map_err(|_| "group literal")?;
        match UdpReceiver::bind(group, None, &lo) {
            Ok(mut rx) => {
                let dest = SocketAddr::new(group.ip(), rx.local_addr().port());
                // Probe: does a datagram to the group come back on lo?
                let delivered =
                    UdpSender::open(dest, Some(SocketAddr::from(([127, 0, 0, 1], 0))), &lo)
                        .and_then(|mut tx| {
                            let mut b = TxBatch::new();
                            b.push(b"flute-demo-probe");
                            tx.send(&b)
                        })
                        .is_ok()
                        && rx
                            .recv(Some(Duration::from_millis(300)), &mut |_, _| {})
                            .unwrap_or(0)
                            > 0;
                if delivered {
                    return Ok((rx, dest, "multicast 239.255.70.76 on lo", Some("lo".into())));
                }
                eprintln!("note: multicast on lo did not deliver; using 127.0.0.1 unicast");
            }
            Err(e) => eprintln!("note: multicast on lo unavailable ({e}); using 127.0.0.1 unicast"),
        }
    }
    let rx = UdpReceiver::bind(
        "127.0.0.1:0".parse().map_err(|_| "literal")?,
        None,
        &UdpOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    let dest = rx.local_addr();
    Ok((rx, dest, "unicast 127.0.0.1", None))
}

pub(crate) fn run(
    args: DemoArgs,
    registry: &Arc<FecRegistry>,
    interrupt: &Interrupt,
) -> Result<ExitCode, String> {
    let fec = Fec::resolve(&args.fec, registry)?;
    let dir = std::env::temp_dir().join(format!("flute-demo-{}", std::process::id()));
    let (src_dir, out_dir) = (dir.join("src"), dir.join("out"));
    std::fs::create_dir_all(&src_dir)
        .map_err(|e| format!("cannot create {}: {e}", src_dir.display()))?;
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let result = run_in(&args, &fec, interrupt, &src_dir, &out_dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(
    args: &DemoArgs,
    fec: &Fec,
    interrupt: &Interrupt,
    src_dir: &std::path::Path,
    out_dir: &std::path::Path,
) -> Result<ExitCode, String> {
    let data = generate(args.size, args.seed);
    let md5 = Md5::digest(&data);
    let file = src_dir.join("demo.bin");
    std::fs::write(&file, &data).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    let repair = args.repair.unwrap_or(if fec.has_repair() {
        2.0 * args.loss + 5.0
    } else {
        0.0
    });
    let (rx_sock, dest, path_desc, iface) = open_path(args.unicast)?;
    println!(
        "flute demo: {} file, {} FEC with {repair:.0}% repair, {:.1}% seeded loss, {path_desc} ({})",
        human_bytes(args.size),
        fec.label(),
        args.loss,
        dest
    );

    // Receiver thread.
    let rx_registry = Arc::clone(&fec.registry);
    let done = Arc::new(AtomicBool::new(false));
    let (done_rx, int_rx, out_rx) = (done.clone(), interrupt.clone(), out_dir.to_path_buf());
    let receiver = std::thread::spawn(move || -> Result<Outcome, String> {
        let mut source = UdpSource { socket: rx_sock };
        let bars = Bars::new(true);
        let stop = |o: &Outcome| {
            let finished = o.completed > 0 || !o.failed.is_empty();
            if finished {
                done_rx.store(true, Ordering::SeqCst);
            }
            finished
        };
        let cfg = {
            let mut c = ReceiverConfig::default();
            c.object_idle_timeout = Duration::from_secs(5);
            c.registry = rx_registry;
            c
        };
        let r = receive(
            &mut source,
            cfg,
            Box::new(FsSink::new(out_rx)),
            false,
            Some(Duration::from_secs(5)),
            Some(&stop),
            &int_rx,
            &bars,
            &Default::default(),
            1,
        );
        done_rx.store(true, Ordering::SeqCst);
        r
    });

    // Sender in this thread.
    let send_args = SendArgs {
        repair_server: Default::default(),
        paths: vec![file.clone()],
        stdin_name: String::new(),
        threads: Some(1),
        watch: None,
        keep: None,
        keep_for: None,
        settle: Duration::ZERO,
        dest,
        rate: Some(RateArg::Bits(args.rate)),
        fec: args.fec.clone(),
        repair: Some(repair),
        symbol_size: Some(args.symbol_size),
        allow_fragmentation: false,
        block_size: None,
        tsi: 1,
        carousel: if fec.has_repair() {
            CarouselArg::Times(1)
        } else {
            CarouselArg::Forever
        },
        cenc: args.cenc,
        profile: ProfileArg::Rfc6726,
        pcap: None,
        no_send: false,
        interface: iface,
        ttl: 1,
        no_loopback: false,
        bind: None,
        fdt_interval: Duration::from_millis(5),
        no_batch: false,
        no_md5: false,
        burst_ms: 10.0,
        quiet: true,
    };
    let start = Instant::now();
    let mut sender = build_sender(&send_args, fec, start)?;
    sender
        .insert_object(object_for(&send_args, fec, "demo.bin", &file)?, start)
        .map_err(|e| format!("cannot add the demo file: {e}"))?;
    if fec.has_repair() {
        sender.close();
    }
    // On lo, send from 127.0.0.1 (the kernel might otherwise pick another interface's address).
    let bind = send_args
        .interface
        .as_ref()
        .map(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let sock = UdpSender::open(
        dest,
        bind,
        &UdpOptions {
            interface: send_args.interface.clone(),
            ..UdpOptions::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let mut sink = Lossy::new(UdpSink { socket: sock }, args.loss / 100.0, args.seed);
    let mut closing = false;
    let sent = run_sender(&mut sender, &mut sink, &interrupt.hard, |s| {
        // A No-Code carousel repeats until the receiver has the file.
        if (done.load(Ordering::SeqCst) || interrupt.requested()) && !closing {
            closing = true;
            s.close();
        }
        while let Some(ev) = s.poll_event() {
            if ev == SenderEvent::SessionClosed {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    let send_secs = start.elapsed().as_secs_f64();
    let outcome = receiver
        .join()
        .map_err(|_| "receiver thread panicked".to_string())??;
    let total_secs = start.elapsed().as_secs_f64();

    // Verify.
    let got = std::fs::read(out_dir.join("demo.bin")).ok();
    let bytes_ok = got.as_deref() == Some(&data[..]);
    let md5_ok = got.as_ref().is_some_and(|g| Md5::digest(g) == md5);
    let st = sender.stats();
    let rst = &outcome.stats.total;
    println!(
        "  file size         {} ({} bytes), MD5 {}",
        human_bytes(args.size),
        args.size,
        hex(&md5)
    );
    println!(
        "  packets sent      {} ({} FDT, {} source, {} repair symbols)",
        st.packets, st.fdt_packets, st.source_symbols, st.repair_symbols
    );
    println!(
        "  lost on the path  {} of {} ({:.2}%, seed {})",
        sink.dropped,
        sink.seen,
        100.0 * sink.dropped as f64 / sink.seen.max(1) as f64,
        args.seed
    );
    println!(
        "  received          {} packets, {} symbols used, {} blocks decoded",
        outcome.datagrams, rst.symbols_accepted, rst.blocks_decoded
    );
    let needed = args.size.div_ceil(u64::from(args.symbol_size));
    println!(
        "  repair            {} repair symbols sent; the decoder used {} symbols for {} source symbols",
        st.repair_symbols, rst.symbols_accepted, needed
    );
    println!(
        "  throughput        {} (file bytes over {:.2} s; sending took {:.2} s, {} wire packets {})",
        human_rate(args.size as f64 * 8.0 / total_secs.max(1e-9)),
        total_secs,
        send_secs,
        sent.datagrams,
        human_rate((sent.bytes + 28 * sent.datagrams) as f64 * 8.0 / send_secs.max(1e-9))
    );
    for (toi, name, why) in &outcome.failed {
        println!("  failed            {name} (TOI {toi}): {why}");
    }
    let ok = bytes_ok && md5_ok && outcome.failed.is_empty();
    println!(
        "  verdict           {}",
        if ok {
            "PASS: bytes and MD5 identical".to_string()
        } else if got.is_none() {
            "FAIL: the file was not received".to_string()
        } else {
            format!(
                "FAIL: bytes {} / MD5 {}",
                if bytes_ok { "ok" } else { "differ" },
                if md5_ok { "ok" } else { "differs" }
            )
        }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
