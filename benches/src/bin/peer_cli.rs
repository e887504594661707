//! The peer "CLI" of `scripts/bench_cli.sh`: file -> capture -> file with the `flute` crate
//! 1.11.7 (`flute-peer`), which has no command-line tool of its own. Written for the
//! benchmark, with the crate's defaults wherever it has them; only the capture I/O is ours
//! (flute-io's `PcapWriter` / `PcapReader`, the same code `flute send --pcap` and
//! `flute recv --pcap` use).
//!
//! ```text
//! peer_cli send FILE CAPTURE [--fec nocode|rs|raptorq] [--symbol-size 1436] [--block-size K] [--repair 20] [--no-md5]
//! peer_cli recv CAPTURE DIR [--no-md5]
//! ```
//!
//! - `send`: the crate's `Sender` with `Config::default()` (Full FDT, FDT carousel 1 s,
//!   4 blocks interleaved, 3 files multiplexed), one object from FILE (`create_from_file`,
//!   streamed from the file, Content-MD5 computed, `TransferConfig::default()`: one pass),
//!   Content-Location `file:///NAME`, every datagram taken with `read()` on a frozen clock
//!   (no pacing, like `flute send --pcap --no-send`) and written to CAPTURE as
//!   127.0.0.1:4000 -> 127.0.0.1:3400. The crate has no default OTI: it gets the parameters
//!   `flute send` picks by default (E = 1436; No-Code B = 64; RS GF(2^8) k = 200; RaptorQ
//!   k <= 1024, one sub-block, Al = 4) and the same repair share (`--repair`, percent of k;
//!   default 0 for No-Code, 20 otherwise). The crate takes at most 255 source blocks with
//!   RS under FEC Encoding ID 5 (73 MB with k = 200, E = 1436); a larger file is sent with the
//!   same RS GF(2^8) code under FEC Encoding ID 129 (`new_reed_solomon_rs28_under_specified`),
//!   which it allows, and a line on stderr says so.
//! - `recv`: CAPTURE read with flute-io's `PcapReader`, each datagram pushed into the
//!   crate's `MultiReceiver` with its filesystem writer (`ObjectWriterFSBuilder`, Content-MD5
//!   checked) into DIR. Exit status 1 unless at least one object completed.
//! - `--no-md5` (both): no Content-MD5 computed or checked, like `flute send --no-md5` (the
//!   receiver then has nothing to check); for the split of the time in bench_cli.sh.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods, // a benchmark reads the clock
    clippy::print_stdout
)]

use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use flute_io::{PcapReader, PcapWriter};
use flute_peer::core::{Oti, UDPEndpoint};

fn usage() -> ! {
    eprintln!(
        "usage: peer_cli send FILE CAPTURE [--fec nocode|rs|raptorq] [--symbol-size E] \
         [--block-size K] [--repair PCT] [--no-md5]\n       peer_cli recv CAPTURE DIR [--no-md5]"
    );
    std::process::exit(2)
}

fn send(file: &Path, capture: &Path, opts: &[String]) {
    let (mut fec, mut e, mut k, mut repair) = ("raptorq".to_owned(), 1436u16, None, None);
    let mut md5 = true;
    let mut it = opts.iter();
    while let Some(a) = it.next() {
        if a == "--no-md5" {
            md5 = false;
            continue;
        }
        let Some(v) = it.next() else { usage() };
        match a.as_str() {
            "--fec" => fec = v.clone(),
            "--symbol-size" => e = v.parse().unwrap_or_else(|_| usage()),
            "--block-size" => k = Some(v.parse::<u16>().unwrap_or_else(|_| usage())),
            "--repair" => {
                repair = Some(
                    v.trim_end_matches('%')
                        .parse::<u32>()
                        .unwrap_or_else(|_| usage()),
                )
            }
            _ => usage(),
        }
    }
    let pct = |k: u16, default: u32| -> u16 {
        u16::try_from(u32::from(k) * repair.unwrap_or(default) / 100).unwrap_or(u16::MAX)
    };
    let oti = match fec.as_str() {
        "nocode" => Oti::new_no_code(e, k.unwrap_or(64)),
        "rs" => {
            let k = k.unwrap_or(200);
            let r = u8::try_from(pct(k, 20)).unwrap_or(u8::MAX);
            let k8 = u8::try_from(k).unwrap_or(u8::MAX);
            let oti = Oti::new_reed_solomon_rs28(e, k8, r).expect("RS OTI");
            let len = std::fs::metadata(file).map_or(0, |m| m.len());
            if len > oti.max_transfer_length() as u64 {
                // The crate allows at most 255 source blocks with FEC Encoding ID 5; the same
                // code under ID 129 (RS GF(2^8) "under-specified", 32-bit SBN) has no such limit.
                eprintln!(
                    "peer: {len} bytes exceed the crate's FEC ID 5 limit ({} bytes, 255 blocks of \
                     k = {k}): RS GF(2^8) as FEC Encoding ID 129 instead",
                    oti.max_transfer_length()
                );
                Oti::new_reed_solomon_rs28_under_specified(e, k, pct(k, 20)).expect("RS 129 OTI")
            } else {
                oti
            }
        }
        "raptorq" => {
            let k = k.unwrap_or(1024);
            Oti::new_raptorq(e, k, pct(k, 20), 1, 4).expect("RaptorQ OTI")
        }
        _ => usage(),
    };
    let t0 = Instant::now();
    let endpoint = UDPEndpoint::new(None, "127.0.0.1".to_owned(), 3400);
    let mut tx =
        flute_peer::sender::Sender::new(endpoint, 1, &oti, &flute_peer::sender::Config::default());
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let url = url::Url::parse(&format!("file:///{name}")).expect("url");
    let obj = flute_peer::sender::ObjectDesc::create_from_file(
        file,
        Some(&url),
        "application/octet-stream",
        false,
        md5,
        Default::default(),
    )
    .expect("object");
    let now = SystemTime::now();
    tx.add_object(0, obj).expect("add_object");
    tx.publish(now).expect("publish");
    let (src, dst): (SocketAddr, SocketAddr) = (
        "127.0.0.1:4000".parse().unwrap(),
        "127.0.0.1:3400".parse().unwrap(),
    );
    let mut w = PcapWriter::create(capture).expect("capture");
    let ts = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let (mut packets, mut bytes) = (0u64, 0u64);
    while let Some(p) = tx.read(now) {
        w.write_udp(ts, src, dst, &p).expect("write capture");
        packets += 1;
        bytes += p.len() as u64;
    }
    w.finish().expect("flush capture");
    println!(
        "peer send: {packets} packets, {bytes} bytes in {:.3} s",
        t0.elapsed().as_secs_f64()
    );
}

fn recv(capture: &Path, dir: &Path, md5: bool) -> bool {
    use flute_peer::receiver::MultiReceiver;
    use flute_peer::receiver::writer::ObjectWriterFSBuilder;
    let t0 = Instant::now();
    std::fs::create_dir_all(dir).expect("output dir");
    let writer = Rc::new(ObjectWriterFSBuilder::new(dir, md5).expect("writer"));
    let mut rx = MultiReceiver::new(writer, None, false);
    let mut r = PcapReader::open(capture).expect("capture");
    let (mut packets, mut errors) = (0u64, 0u64);
    let mut last = SystemTime::now();
    while let Some(d) = r.next_datagram().expect("read capture") {
        let ep = UDPEndpoint::new(None, d.dst.ip().to_string(), d.dst.port());
        last = SystemTime::UNIX_EPOCH + d.ts.unwrap_or(Duration::ZERO);
        if rx.push(&ep, &d.payload, last).is_err() {
            errors += 1;
        }
        packets += 1;
    }
    rx.cleanup(last);
    drop(rx);
    let files = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    println!(
        "peer recv: {packets} packets, {errors} push errors, {files} file(s) in {} in {:.3} s",
        dir.display(),
        t0.elapsed().as_secs_f64()
    );
    files > 0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("send") if args.len() >= 3 => {
            send(Path::new(&args[1]), Path::new(&args[2]), &args[3..])
        }
        Some("recv") if args.len() == 3 || (args.len() == 4 && args[3] == "--no-md5") => {
            if !recv(Path::new(&args[1]), Path::new(&args[2]), args.len() == 3) {
                std::process::exit(1);
            }
        }
        _ => usage(),
    }
}
