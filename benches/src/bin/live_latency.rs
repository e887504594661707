//! Live latency of `flute send --watch` -> `flute recv` on loopback (issue 17): the time
//! from a segment's rename into the watched directory to its rename into the receiver's
//! output directory, less the segment's transmission time at the configured `--rate`.
//!
//! ```text
//! cargo build --release -p flute-cli -p flute-benches --bins
//! target/release/live_latency [--rates 10M,1G] [--settles default,0] [--segments 30]
//!     [--size 1000000] [--interval SECONDS] [--trace] [--flute PATH]
//! ```
//!
//! For every (rate, settle) pair the bin starts the two release-built CLI processes,
//! `flute recv --listen 127.0.0.1:PORT --out OUT -q` and
//! `flute send --watch IN/live --dest 127.0.0.1:PORT --rate R [--settle S] -q`, waits for
//! both to be up, then writes `--segments` segments of `--size` bytes, each under a hidden
//! temporary name (`.segNNN.tmp`, which the watcher ignores) and renamed into place as
//! `segNNN.bin`, one every `--interval` seconds (default: 1.5 x the transmission time, at
//! least 0.2 s, so segments do not queue behind each other). The time just before each
//! rename is taken; arrival is the inotify event (the `notify` crate) of `OUT/live/segNNN.bin`
//! appearing (the receiver writes a hidden file and renames it when complete and verified).
//! Every received file is compared with what was written.
//!
//! Transmission time = bytes on the wire / rate, with bytes on the wire = the datagrams
//! `flute send` produces for one segment (FDT Instance and data, measured once per run with
//! `--pcap --no-send`) plus 28 bytes of IPv4 + UDP header each, since `--rate` counts
//! them. Excess = arrival - rename - transmission time; p50, p99 and max are reported.
//! Target (issue 17): p99 excess <= 20 ms.
//!
//! `--trace` also records the sender's datagrams (`flute send --pcap`, wall-clock
//! timestamps) and splits each segment's latency into rename -> first datagram of its TOI
//! (watcher: settle, tick; FDT), first -> last datagram (pacing), last datagram -> file in
//! OUT (receiver: decode, MD5, write, rename). Recording costs the sender a little.
//!
//! Loopback only: 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods, // a benchmark reads the clock
    clippy::cast_precision_loss,
    clippy::print_stdout
)]

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind, RecursiveMode, Watcher as _};

fn usage() -> ! {
    eprintln!(
        "usage: live_latency [--rates 10M,1G] [--settles default,0] [--segments 30] \
         [--size BYTES] [--interval SECONDS] [--trace] [--flute PATH]"
    );
    std::process::exit(2)
}

fn parse_rate(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1e3),
        'M' | 'm' => (&s[..s.len() - 1], 1e6),
        'G' | 'g' => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    num.parse::<f64>().ok().map(|v| v * mult)
}

/// A free UDP port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Deterministic, per-segment content.
fn content(seg: usize, size: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (seg as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let mut v = Vec::with_capacity(size + 8);
    while v.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(size);
    v
}

/// Datagrams in a capture: (timestamp, TOI, UDP payload length).
fn read_capture(path: &Path) -> Vec<(Duration, u128, usize)> {
    let mut out = Vec::new();
    let Ok(mut r) = flute_io::PcapReader::open(path) else {
        return out;
    };
    while let Ok(Some(d)) = r.next_datagram() {
        let toi = lct_header::LctPacket::new_checked(&d.payload[..])
            .ok()
            .and_then(|p| p.toi())
            .map_or(u128::MAX, |t| t.0);
        out.push((d.ts.unwrap_or_default(), toi, d.payload.len()));
    }
    out
}

/// Bytes on the wire (UDP payload + 28 bytes IPv4/UDP header per datagram) that `flute send`
/// produces for one segment of `size` bytes, FDT Instance included.
fn wire_bytes(flute: &Path, dir: &Path, size: usize, port: u16) -> (u64, u64) {
    let seg = dir.join("live");
    std::fs::create_dir_all(&seg).unwrap();
    let file = seg.join("seg000.bin");
    std::fs::write(&file, content(0, size)).unwrap();
    let pcap = dir.join("one.pcap");
    let st = Command::new(flute)
        .args([
            "send",
            "--dest",
            &format!("127.0.0.1:{port}"),
            "-q",
            "--no-send",
            "--pcap",
        ])
        .arg(&pcap)
        .arg(&file)
        .stdout(Stdio::null())
        .status()
        .expect("flute send --no-send");
    assert!(st.success(), "flute send --pcap --no-send failed");
    let caps = read_capture(&pcap);
    let n = caps.len() as u64;
    let bytes: u64 = caps.iter().map(|c| c.2 as u64 + 28).sum();
    let _ = std::fs::remove_dir_all(&seg);
    let _ = std::fs::remove_file(&pcap);
    (bytes, n)
}

fn interrupt(child: &mut Child) {
    // SIGINT by process id: `flute` finishes cleanly on the first Ctrl-C.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // nearest rank
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

struct Run {
    rate: String,
    settle: String,
    tx_ms: f64,
    wire: u64,
    interval: f64,
    excess_ms: Vec<f64>,
    missing: usize,
    wrong: usize,
    /// With --trace: per-segment (watch, pacing, receiver) milliseconds.
    trace: Vec<(f64, f64, f64)>,
}

#[allow(clippy::too_many_arguments)]
fn run_case(
    flute: &Path,
    rate: &str,
    settle: &str,
    segments: usize,
    size: usize,
    interval: Option<f64>,
    trace: bool,
) -> Run {
    let rate_bps = parse_rate(rate).unwrap_or_else(|| usage());
    let work = tempfile::Builder::new()
        .prefix("flute-live-")
        .tempdir_in(if Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        })
        .expect("temp dir");
    let input = work.path().join("in");
    let out = work.path().join("out");
    std::fs::create_dir_all(&input).unwrap();
    let port = free_port();
    let (wire, _datagrams) = wire_bytes(flute, &input, size, port);
    let tx = wire as f64 * 8.0 / rate_bps;
    let interval = interval.unwrap_or((tx * 1.5).max(0.2));

    let live = input.join("live");
    std::fs::create_dir_all(&live).unwrap();
    // recv writes OUT/<Content-Location> = OUT/live/segNNN.bin
    std::fs::create_dir_all(out.join("live")).unwrap();

    // Arrival events, timestamped in the watcher's callback.
    let (etx, erx) = mpsc::channel::<(String, Instant, SystemTime)>();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let Ok(ev) = ev else { return };
        if matches!(ev.kind, EventKind::Create(_) | EventKind::Modify(_)) {
            for p in ev.paths {
                if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                    if name.starts_with("seg") && name.ends_with(".bin") {
                        let _ = etx.send((name.to_owned(), now, wall));
                    }
                }
            }
        }
    })
    .expect("watcher");
    watcher
        .watch(&out, RecursiveMode::Recursive)
        .expect("watch out");

    let mut recv = Command::new(flute)
        .args([
            "recv",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "-q",
            "--out",
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flute recv");
    std::thread::sleep(Duration::from_millis(300));
    let mut send_cmd = Command::new(flute);
    send_cmd.args(["send", "--watch"]).arg(&live).args([
        "--dest",
        &format!("127.0.0.1:{port}"),
        "--rate",
        rate,
        "-q",
    ]);
    if settle != "default" {
        send_cmd.args(["--settle", settle]);
    }
    let pcap = work.path().join("trace.pcap");
    if trace {
        send_cmd.arg("--pcap").arg(&pcap);
    }
    let mut send = send_cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("flute send --watch");
    std::thread::sleep(Duration::from_millis(700));

    let mut renamed: Vec<(Instant, SystemTime)> = Vec::with_capacity(segments);
    let mut data = Vec::with_capacity(segments);
    let start = Instant::now();
    for i in 1..=segments {
        let at = start + Duration::from_secs_f64(interval * (i - 1) as f64);
        if let Some(d) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let bytes = content(i, size);
        let tmp = live.join(format!(".seg{i:03}.tmp"));
        std::fs::write(&tmp, &bytes).unwrap();
        let t = (Instant::now(), SystemTime::now());
        std::fs::rename(&tmp, live.join(format!("seg{i:03}.bin"))).unwrap();
        renamed.push(t);
        data.push(bytes);
    }
    // Wait for the last arrivals.
    let mut arrived: HashMap<String, (Instant, SystemTime)> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs_f64((3.0 * tx).max(3.0));
    while arrived.len() < segments {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match erx.recv_timeout(left) {
            Ok((name, t, w)) => {
                arrived.entry(name).or_insert((t, w));
            }
            Err(_) => break,
        }
    }
    while let Ok((name, t, w)) = erx.try_recv() {
        arrived.entry(name).or_insert((t, w));
    }
    interrupt(&mut send);
    interrupt(&mut recv);
    drop(watcher);

    let caps = if trace {
        read_capture(&pcap)
    } else {
        Vec::new()
    };
    // Per TOI (> 0): first and last datagram time. Segment i is TOI i (one object each).
    let mut toi_span: HashMap<u128, (Duration, Duration)> = HashMap::new();
    for (ts, toi, _) in &caps {
        if *toi == 0 || *toi == u128::MAX {
            continue;
        }
        let e = toi_span.entry(*toi).or_insert((*ts, *ts));
        e.0 = e.0.min(*ts);
        e.1 = e.1.max(*ts);
    }
    let since_epoch = |w: SystemTime| w.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();

    let (mut excess, mut tr) = (Vec::new(), Vec::new());
    let (mut missing, mut wrong) = (0, 0);
    for (i, (t0, w0)) in renamed.iter().enumerate() {
        let name = format!("seg{:03}.bin", i + 1);
        let Some((t1, w1)) = arrived.get(&name) else {
            missing += 1;
            continue;
        };
        let got = std::fs::read(out.join("live").join(&name)).unwrap_or_default();
        if got != data[i] {
            wrong += 1;
        }
        let lat = t1.saturating_duration_since(*t0).as_secs_f64();
        excess.push((lat - tx) * 1e3);
        if let Some((first, last)) = toi_span.get(&((i + 1) as u128)) {
            let (r, a) = (since_epoch(*w0), since_epoch(*w1));
            let ms = |a: Duration, b: Duration| (a.as_secs_f64() - b.as_secs_f64()) * 1e3;
            tr.push((ms(*first, r), ms(*last, *first), ms(a, *last)));
        }
    }
    Run {
        rate: rate.to_owned(),
        settle: settle.to_owned(),
        tx_ms: tx * 1e3,
        wire,
        interval,
        excess_ms: excess,
        missing,
        wrong,
        trace: tr,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rates = vec!["10M".to_owned(), "1G".to_owned()];
    let mut settles = vec!["default".to_owned(), "0".to_owned()];
    let mut segments = 30usize;
    let mut size = 1_000_000usize;
    let mut interval = None;
    let mut trace = false;
    let mut flute: PathBuf = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("flute")))
        .unwrap_or_else(|| PathBuf::from("flute"));
    let list = |v: &str| -> Vec<String> { v.split(',').map(|s| s.trim().to_owned()).collect() };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--trace" {
            trace = true;
            continue;
        }
        let Some(v) = it.next() else { usage() };
        match a.as_str() {
            "--rates" => rates = list(v),
            "--settles" => settles = list(v),
            "--segments" => segments = v.parse().unwrap_or_else(|_| usage()),
            "--size" => size = v.parse().unwrap_or_else(|_| usage()),
            "--interval" => interval = Some(v.parse().unwrap_or_else(|_| usage())),
            "--flute" => flute = PathBuf::from(v),
            _ => usage(),
        }
    }
    if !flute.exists() {
        eprintln!(
            "{} not found: cargo build --release -p flute-cli (or --flute PATH)",
            flute.display()
        );
        std::process::exit(2);
    }
    println!(
        "live_latency: {segments} segments of {size} bytes, {} cores, loadavg {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let mut runs = Vec::new();
    for rate in &rates {
        for settle in &settles {
            eprint!("rate {rate}, settle {settle} ... ");
            let r = run_case(&flute, rate, settle, segments, size, interval, trace);
            eprintln!(
                "{} arrived, {} missing, {} wrong",
                r.excess_ms.len(),
                r.missing,
                r.wrong
            );
            runs.push(r);
        }
    }
    println!(
        "\n| rate | --settle | wire bytes/segment | transmission (ms) | interval (s) | arrived | excess p50 (ms) | p99 (ms) | max (ms) | min (ms) | target p99 <= 20 ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut all_ok = true;
    for r in &runs {
        let mut v = r.excess_ms.clone();
        v.sort_by(f64::total_cmp);
        let p99 = pct(&v, 99.0);
        let ok = r.missing == 0 && r.wrong == 0;
        all_ok &= ok;
        println!(
            "| {} | {} | {} | {:.1} | {:.2} | {}/{}{} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            r.rate,
            if r.settle == "default" {
                "default (0.01 s)"
            } else {
                &r.settle
            },
            r.wire,
            r.tx_ms,
            r.interval,
            v.len(),
            v.len() + r.missing,
            if r.wrong > 0 {
                format!(", {} WRONG", r.wrong)
            } else {
                String::new()
            },
            pct(&v, 50.0),
            p99,
            v.last().copied().unwrap_or(f64::NAN),
            v.first().copied().unwrap_or(f64::NAN),
            if !ok {
                "n/a"
            } else if p99 <= 20.0 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    if trace {
        println!(
            "\nbreakdown (--trace, medians over segments; ms): rename -> first datagram of the TOI \
             (watcher + FDT), first -> last datagram (pacing), last datagram -> file in OUT (receiver)"
        );
        println!("| rate | --settle | watcher p50 / max | pacing p50 / max | receiver p50 / max |");
        println!("|---|---|---:|---:|---:|");
        for r in &runs {
            let col = |f: fn(&(f64, f64, f64)) -> f64| {
                let mut v: Vec<f64> = r.trace.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                format!(
                    "{:.1} / {:.1}",
                    pct(&v, 50.0),
                    v.last().copied().unwrap_or(f64::NAN)
                )
            };
            println!(
                "| {} | {} | {} | {} | {} |",
                r.rate,
                r.settle,
                col(|t| t.0),
                col(|t| t.1),
                col(|t| t.2)
            );
        }
    }
    if !all_ok {
        std::process::exit(1);
    }
}
