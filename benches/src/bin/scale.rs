//! Receiver scale (issue 19 §3): `flute-receiver` driven directly (sans-IO, in memory, no
//! sockets, virtual time frozen) with datagrams built beforehand by `flute-sender`.
//!
//! ```text
//! cargo run --release -p flute-benches --bin scale -- [--sessions 1000] [--objects 10000] \
//!     [--sweep 10,100,1000,10000,100000] [--size 1024] [--fdt per-object|full] [--reps 5]
//! ```
//!
//! - (a) Many sessions: `--sessions` senders (TSI 1..=S, each with its own source address
//!   127.1.x.y, same destination), `--objects` objects in total spread evenly over them,
//!   their datagrams interleaved round-robin (one datagram of each session in turn), so every
//!   session is open at once. Against one session carrying the same objects (hence the same
//!   number of datagrams). Reported: time per datagram of each, and the ratio. Target: many
//!   sessions within 1.5x of one.
//! - (b) One session with N objects, N from `--sweep`: time per object and per datagram.
//!   Target: flat.
//! - (c) The sender side of (b): the time `flute-sender` takes to build that session
//!   (`Sender::new`, insert the N objects, close, take every datagram with
//!   `poll_transmit` into one buffer), best of `--reps`, small N repeated until 0.3 s was
//!   measured. The objects' contents are made before the clock starts and the datagrams
//!   are not kept, so only the sender is timed.
//! - (d) The floor under (b): what the per-object state a receiver keeps costs by itself at
//!   N objects. A session must remember every file its FDT announced (for
//!   `Receiver::announced_files`) and every object it finished (so that a carousel
//!   repetition is not delivered twice); (d) does only that, with the same std `HashMap` /
//!   `HashSet` on TOIs, in the order of (b)'s datagrams (every FDT Instance first, then
//!   every object's data): per object one FDT entry (an `fdt::File` behind an `Arc`, with
//!   the fields the sender writes, as the receiver keeps it) inserted; then per object the
//!   finished set and the entry looked up (the Content-Location copied, as the receiver's
//!   events do), the TOI marked finished (set and completion order, as the receiver's).
//!   Its growth from small to large N is the growth of a hash table outgrowing the CPU
//!   caches, which no receiver keeping that state avoids.
//!
//! Objects are `--size` bytes (default 1 KiB), Compact No-Code, E = 1400 (one data datagram
//! each), Content-MD5 off. FDT: `per-object` (default; `FdtMode::PerObject`, one FDT Instance
//! per object, so one FDT datagram and one data datagram per object, and the many-sessions
//! and one-session cases get exactly the same datagrams), or `full` (every FDT Instance
//! lists every object inserted so far; all objects are inserted before the first datagram
//! is taken, so the sender emits one FDT Instance listing all of them).
//!
//! Only the receiver is timed: the datagrams are built first; each repetition takes a fresh
//! receiver (`MemorySink`), feeds every datagram with `handle_datagram` and drains
//! `poll_event`. Every object must complete with the right length (checked in the loop,
//! and, in an untimed pass, the content of one object in 97 compared with what was sent). The best of `--reps` repetitions
//! (default 5) is reported; the sweep repeats small N until at least 0.3 s was measured.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods, // a benchmark reads the clock
    clippy::cast_precision_loss,
    clippy::print_stdout
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fec_schemes::FecRegistry;
use fec_schemes::schemes::no_code::CompactNoCode;
use flute_receiver::{
    Endpoint, MemorySink, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_sender::{AnchoredClock, FdtMode, Object, Repair, Sender, SenderConfig, Tsi};

const E: u16 = 1400;

fn usage() -> ! {
    eprintln!(
        "usage: scale [--sessions 1000] [--objects 10000] [--sweep 10,100,1000,10000,100000] \
         [--size 1024] [--fdt per-object|full] [--reps 5]"
    );
    std::process::exit(2)
}

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Content of object `i` of session `tsi`.
fn content(tsi: u64, i: usize, size: usize) -> Bytes {
    let seed =
        tsi.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    Bytes::from(
        (0..size)
            .map(|j| (seed >> ((j % 8) * 8)) as u8 ^ (j as u8).wrapping_mul(31))
            .collect::<Vec<u8>>(),
    )
}

/// The objects of session `tsi`.
fn objects(tsi: u64, n: usize, size: usize) -> Vec<Object> {
    (0..n)
        .map(|i| {
            Object::from_bytes(format!("file:///s{tsi}/o{i}.bin"), content(tsi, i, size))
                .fec(CompactNoCode::oti(size as u64, E, 64))
                .repair(Repair::None)
                .content_md5(false)
        })
        .collect()
}

/// (c): seconds `flute-sender` takes to send session 1 of `n` objects, best of `reps`
/// (repeated until 0.3 s for small N).
fn sender_build(reg: &Arc<FecRegistry>, n: usize, size: usize, full: bool, reps: usize) -> f64 {
    let (mut best, mut total, mut i) = (f64::INFINITY, 0.0, 0);
    let mut buf = vec![0u8; 1500];
    while i < reps || total < 0.3 {
        let objs = objects(1, n, size);
        let t0 = Instant::now();
        let now = t0;
        let mut cfg = SenderConfig::new(Tsi(1), Arc::new(AnchoredClock::new(now, wall())));
        cfg.registry = reg.clone();
        cfg.fdt_mode = if full {
            FdtMode::Full
        } else {
            FdtMode::PerObject
        };
        let mut tx = Sender::new(cfg).expect("sender");
        for obj in objs {
            tx.insert_object(obj, now).expect("insert");
        }
        tx.close();
        let mut bytes = 0usize;
        while let Some(t) = tx.poll_transmit(now, &mut buf) {
            bytes += t.len;
        }
        std::hint::black_box(bytes);
        let secs = t0.elapsed().as_secs_f64();
        drop(tx);
        best = best.min(secs);
        total += secs;
        i += 1;
    }
    best
}

/// The datagrams of one session of `n` objects.
fn session(
    reg: &Arc<FecRegistry>,
    tsi: u64,
    n: usize,
    size: usize,
    full: bool,
    now: Instant,
) -> Vec<Vec<u8>> {
    let mut cfg = SenderConfig::new(Tsi(tsi), Arc::new(AnchoredClock::new(now, wall())));
    cfg.registry = reg.clone();
    cfg.fdt_mode = if full {
        FdtMode::Full
    } else {
        FdtMode::PerObject
    };
    let mut tx = Sender::new(cfg).expect("sender");
    for obj in objects(tsi, n, size) {
        tx.insert_object(obj, now).expect("insert");
    }
    tx.close();
    let mut out = Vec::with_capacity(2 * n + 2);
    let mut buf = vec![0u8; 1500];
    while let Some(t) = tx.poll_transmit(now, &mut buf) {
        out.push(buf[..t.len].to_vec());
    }
    out
}

fn endpoint(s: usize) -> Endpoint {
    Endpoint {
        source: Some(IpAddr::V4(Ipv4Addr::new(127, 1, (s >> 8) as u8, s as u8))),
        destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 3400),
    }
}

/// One timed pass: a fresh receiver fed every datagram. Returns (seconds, completed objects).
fn feed(
    reg: &Arc<FecRegistry>,
    dgrams: &[(usize, Vec<u8>)],
    size: usize,
    sessions: usize,
) -> (f64, usize) {
    let mut cfg = ReceiverConfig::with_registry(reg.clone());
    cfg.max_sessions = sessions + 16;
    cfg.max_concurrent_objects = (2 * sessions).max(256);
    cfg.max_finished_memory = 1 << 20;
    let mut rx = Receiver::with_sink(cfg, Box::new(MemorySink));
    let eps: Vec<Endpoint> = (0..sessions).map(endpoint).collect();
    let now = Instant::now();
    let (mut done, mut bad) = (0usize, 0usize);
    let t0 = Instant::now();
    for (s, d) in dgrams {
        rx.handle_datagram(now, eps[*s], d);
        while let Some(ev) = rx.poll_event() {
            match ev {
                ReceiverEvent::ObjectComplete { location, .. } => match location {
                    ObjectLocation::Memory(b) if b.len() == size => done += 1,
                    _ => bad += 1,
                },
                ReceiverEvent::ObjectFailed { .. } => bad += 1,
                _ => {}
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    if bad > 0 {
        eprintln!("{bad} objects failed or had the wrong length");
        return (secs, 0);
    }
    (secs, done)
}

/// An untimed pass that compares the content of one delivered object in 97 with what was
/// sent (found by its Content-Location `file:///s{tsi}/o{i}.bin`).
fn check_content(
    reg: &Arc<FecRegistry>,
    dgrams: &[(usize, Vec<u8>)],
    size: usize,
    sessions: usize,
) -> bool {
    let mut cfg = ReceiverConfig::with_registry(reg.clone());
    cfg.max_sessions = sessions + 16;
    cfg.max_concurrent_objects = (2 * sessions).max(256);
    cfg.max_finished_memory = 1 << 20;
    let mut rx = Receiver::with_sink(cfg, Box::new(MemorySink));
    let now = Instant::now();
    let mut files = std::collections::HashMap::new();
    let mut ok = true;
    let mut n = 0usize;
    for (s, d) in dgrams {
        rx.handle_datagram(now, endpoint(*s), d);
        while let Some(ev) = rx.poll_event() {
            if let ReceiverEvent::ObjectComplete {
                location: ObjectLocation::Memory(b),
                content_location,
                ..
            } = ev
            {
                n += 1;
                if n % 97 != 1 {
                    continue;
                }
                // file:///s{tsi}/o{i}.bin
                let loc = content_location;
                let parse = || -> Option<(u64, usize)> {
                    let rest = loc.split("/s").nth(1)?;
                    let (t, o) = rest.split_once("/o")?;
                    Some((t.parse().ok()?, o.trim_end_matches(".bin").parse().ok()?))
                };
                match parse() {
                    Some((t, i)) => ok &= b == content(t, i, size),
                    None => ok = false,
                }
                files.insert(loc, ());
            }
        }
    }
    ok && !files.is_empty()
}

/// (d): the per-object tables alone, best of `reps` (repeated until 0.3 s for small N).
/// Returns seconds for `n` objects.
fn table_floor(n: usize, reps: usize) -> f64 {
    use std::collections::{HashMap, HashSet};
    use std::hint::black_box;
    let (mut best, mut total, mut i) = (f64::INFINITY, 0.0, 0);
    while i < reps || total < 0.3 {
        let t0 = Instant::now();
        let mut files: HashMap<u128, Arc<fdt::File>> = HashMap::new();
        let mut finished: HashSet<u128> = HashSet::new();
        let mut finished_order = std::collections::VecDeque::new();
        for toi in 1..=n as u128 {
            // FDT entry of the object.
            let mut f = fdt::File {
                content_location: format!("file:///s1/o{toi}.bin"),
                toi,
                content_length: Some(1024),
                transfer_length: Some(1024),
                ..fdt::File::default()
            };
            f.fec_oti.encoding_id = Some(0);
            f.fec_oti.max_source_block_length = Some(64);
            f.fec_oti.encoding_symbol_length = Some(u64::from(E));
            files.insert(toi, Arc::new(black_box(f)));
        }
        for toi in 1..=n as u128 {
            // Its data packet: not finished yet, its entry looked up.
            black_box(finished.contains(black_box(&toi)));
            black_box(
                files
                    .get(black_box(&toi))
                    .map(|f| f.content_location.clone()),
            );
            // Delivered.
            if finished.insert(toi) {
                finished_order.push_back(toi);
            }
        }
        black_box((&files, &finished, &finished_order));
        drop((files, finished, finished_order));
        let secs = t0.elapsed().as_secs_f64();
        best = best.min(secs);
        total += secs;
        i += 1;
    }
    best
}

struct Measured {
    best: f64,
    objects: usize,
    datagrams: usize,
}

fn measure(
    reg: &Arc<FecRegistry>,
    dgrams: &[(usize, Vec<u8>)],
    size: usize,
    sessions: usize,
    want: usize,
    reps: usize,
    min_secs: f64,
) -> Option<Measured> {
    let mut best = f64::INFINITY;
    let mut total = 0.0;
    let mut i = 0;
    while i < reps || total < min_secs {
        let (secs, done) = feed(reg, dgrams, size, sessions);
        if done != want {
            eprintln!("only {done} of {want} objects delivered");
            return None;
        }
        best = best.min(secs);
        total += secs;
        i += 1;
        if i > 100_000 {
            break;
        }
    }
    Some(Measured {
        best,
        objects: want,
        datagrams: dgrams.len(),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sessions = 1000usize;
    let mut objects = 10_000usize;
    let mut sweep = vec![10usize, 100, 1000, 10_000, 100_000];
    let mut size = 1024usize;
    let mut full = false;
    let mut reps = 5usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let Some(v) = it.next() else { usage() };
        match a.as_str() {
            "--sessions" => sessions = v.parse().unwrap_or_else(|_| usage()),
            "--objects" => objects = v.parse().unwrap_or_else(|_| usage()),
            "--sweep" => {
                sweep = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.trim().parse().unwrap_or_else(|_| usage()))
                    .collect();
            }
            "--size" => size = v.parse().unwrap_or_else(|_| usage()),
            "--fdt" => {
                full = match v.as_str() {
                    "full" => true,
                    "per-object" => false,
                    _ => usage(),
                }
            }
            "--reps" => reps = v.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let reg = Arc::new(FecRegistry::with_builtin());
    let now = Instant::now();
    println!(
        "scale: objects of {size} B, No-Code, FDT {}, best of {reps}; {} cores, loadavg {}",
        if full { "full" } else { "per-object" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let mut failed = false;

    if sessions > 0 && objects > 0 {
        // (a) S sessions, interleaved round-robin.
        // The same number of objects in every session (`--objects` rounded up to a multiple).
        let per = objects.div_ceil(sessions);
        let want = per * sessions;
        let mut per_session: Vec<std::collections::VecDeque<Vec<u8>>> = (0..sessions)
            .map(|s| session(&reg, s as u64 + 1, per, size, full, now).into())
            .collect();
        let mut many = Vec::new();
        loop {
            let mut any = false;
            for (s, q) in per_session.iter_mut().enumerate() {
                if let Some(d) = q.pop_front() {
                    many.push((s, d));
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        let one: Vec<(usize, Vec<u8>)> = session(&reg, 1, want, size, full, now)
            .into_iter()
            .map(|d| (0, d))
            .collect();
        let ok_many = check_content(&reg, &many, size, sessions);
        let ok_one = check_content(&reg, &one, size, 1);
        let m = measure(&reg, &many, size, sessions, want, reps, 0.0);
        let o = measure(&reg, &one, size, 1, want, reps, 0.0);
        println!("\n(a) {sessions} concurrent sessions vs one session, {want} objects in total\n");
        println!(
            "| case | sessions | objects | datagrams | receiver time (ms) | ns / datagram | µs / object | content ok |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---|");
        let row = |name: &str, s: usize, r: &Measured, ok: bool| {
            println!(
                "| {name} | {s} | {} | {} | {:.2} | {:.0} | {:.2} | {} |",
                r.objects,
                r.datagrams,
                r.best * 1e3,
                r.best * 1e9 / r.datagrams as f64,
                r.best * 1e6 / r.objects as f64,
                if ok { "yes" } else { "NO" }
            );
        };
        match (&m, &o) {
            (Some(m), Some(o)) => {
                row("many sessions", sessions, m, ok_many);
                row("one session", 1, o, ok_one);
                let ratio = (m.best / m.datagrams as f64) / (o.best / o.datagrams as f64);
                println!(
                    "\nper-datagram cost, many / one: {ratio:.2}x (target <= 1.5x: {})",
                    if ratio <= 1.5 { "met" } else { "NOT met" }
                );
                failed |= !(ok_many && ok_one);
            }
            _ => failed = true,
        }
    }

    if !sweep.is_empty() {
        println!("\n(b) one session, N objects\n");
        println!(
            "| N | datagrams | receiver time (ms) | µs / object | ns / datagram | runs | content ok | (c) sender build µs / object | (d) table floor ns / object |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        let mut per_obj = Vec::new();
        let mut sender_per_obj = Vec::new();
        let mut floor_per_obj = Vec::new();
        for &n in &sweep {
            let build = sender_build(&reg, n, size, full, reps);
            let built = session(&reg, 1, n, size, full, now);
            sender_per_obj.push(build * 1e6 / n.max(1) as f64);
            let floor = table_floor(n, reps);
            floor_per_obj.push(floor * 1e9 / n.max(1) as f64);
            let d: Vec<(usize, Vec<u8>)> = built.into_iter().map(|d| (0, d)).collect();
            let ok = check_content(&reg, &d, size, 1);
            let t0 = Instant::now();
            let Some(r) = measure(&reg, &d, size, 1, n, reps, 0.3) else {
                failed = true;
                println!(
                    "| {n} | {} | – | – | – | – | NOT delivered | {:.2} | {:.0} |",
                    d.len(),
                    build * 1e6 / n.max(1) as f64,
                    floor * 1e9 / n.max(1) as f64
                );
                continue;
            };
            let runs = ((t0.elapsed().as_secs_f64() / r.best).round() as u64).max(1);
            per_obj.push((n, r.best * 1e6 / n as f64));
            println!(
                "| {n} | {} | {:.3} | {:.2} | {:.0} | ~{runs} | {} | {:.2} | {:.0} |",
                r.datagrams,
                r.best * 1e3,
                r.best * 1e6 / n as f64,
                r.best * 1e9 / r.datagrams as f64,
                if ok { "yes" } else { "NO" },
                build * 1e6 / n.max(1) as f64,
                floor * 1e9 / n.max(1) as f64
            );
            failed |= !ok;
        }
        let spreads = [
            ("\ntime per object", spread(per_obj.iter().map(|p| p.1))),
            (
                "(c) sender build time per object",
                spread(sender_per_obj.iter().copied()),
            ),
            (
                "(d) table floor per object",
                spread(floor_per_obj.iter().copied()),
            ),
        ];
        for (what, ratio) in spreads {
            if let Some(r) = ratio {
                println!("{what}, largest / smallest over the sweep: {r:.2}x");
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// Largest / smallest of `values`; `None` when there are none.
fn spread(values: impl Iterator<Item = f64> + Clone) -> Option<f64> {
    let lo = values.clone().reduce(f64::min)?;
    let hi = values.reduce(f64::max)?;
    Some(hi / lo)
}
