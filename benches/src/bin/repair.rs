//! File repair over loopback HTTP (3GPP TS 26.346 §9.3): a benchmark, not a test.
//!
//! ```text
//! cargo run --release -p flute-benches --bin repair -- [repair|clients|all]
//!     [--size 256Mi] [--loss 10] [--clients 100] [--symbols 4096] [--no-md5]
//! ```
//!
//! - `repair`: one object of `--size` bytes (Compact No-Code, E = 1400, B = 64) is sent by
//!   `flute-sender` to `flute-receiver` in memory with `--loss` % of its data packets lost
//!   in bursts of 10; the receiver keeps it incomplete. A repair server
//!   (`flute-repair-http`, 2 worker threads) serves the file from a temporary directory on
//!   127.0.0.1; `repair_all` fetches what is missing (requests of 16 384 symbols), decodes
//!   and delivers it (Content-MD5 checked). The time is that of `repair_all` alone; the rate
//!   is the repaired symbol bytes over it.
//! - `clients`: the same file served by a repair server in a child process (this binary,
//!   re-executed); `--clients` concurrent clients each fetch `--symbols` symbols of a
//!   different range of blocks, twice. The server's peak resident set (`VmHWM`) is read
//!   when it exits.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::{FecRegistry, Oti};
use flute_receiver::{Endpoint, Receiver, ReceiverConfig, ReceiverEvent};
use flute_repair::{IdRange, RepairQuery, SymbolRequest};
use flute_repair_http::{
    BackgroundServer, ClientConfig, RepairServer, ServedFile, ServerConfig, fetch, repair_all,
};
use flute_sender::{AnchoredClock, Object, Sender, SenderConfig, Tsi};

const E: u16 = 1400;
const B: u32 = 64;
const LOCATION: &str = "bench/file.bin";

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn size(s: &str) -> usize {
    if let Some(n) = s.strip_suffix("Mi") {
        n.parse::<usize>().unwrap() << 20
    } else if let Some(n) = s.strip_suffix("Gi") {
        n.parse::<usize>().unwrap() << 30
    } else {
        s.parse().unwrap()
    }
}

fn oti(len: usize) -> Oti {
    CompactNoCode::oti(len as u64, E, B)
}

fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn server_for(path: std::path::PathBuf, len: usize, cfg: ServerConfig) -> Arc<RepairServer> {
    Arc::new(
        RepairServer::new(
            vec![ServedFile {
                content_location: LOCATION.into(),
                path,
                oti: oti(len),
            }],
            cfg,
        )
        .unwrap(),
    )
}

fn repair_case(len: usize, loss: u64, md5: bool) {
    let dir = std::env::temp_dir().join(format!("flute-repair-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = flute_benches::pseudo_random_source(len);
    let path = dir.join("file.bin");
    std::fs::write(&path, &data).unwrap();

    // The broadcast part, in memory, virtual time frozen.
    let t = Instant::now();
    let now = Instant::now();
    let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
    let mut scfg = SenderConfig::new(Tsi(1), clock);
    scfg.symbol_length = E;
    let mut tx = Sender::new(scfg).unwrap();
    let o = oti(len);
    tx.insert_object(
        Object::from_bytes(LOCATION, data.clone())
            .fec_with(move |_| o.clone())
            .content_md5(md5),
        now,
    )
    .unwrap();
    tx.close();
    let rcfg = {
        let mut c = ReceiverConfig::default();
        c.repair_max_objects = 4;
        c.max_buffered_bytes = 1 << 30;
        c.repair_max_buffered_bytes = 1 << 30;
        c
    };
    let mut rx = Receiver::new(rcfg);
    let mut buf = vec![0u8; 2048];
    let mut i = 0u64;
    while let Some(p) = tx.poll_transmit(now, &mut buf) {
        if p.toi.0 != 0 {
            i += 1;
            if (i - 1) % 100 < loss {
                continue;
            }
        }
        rx.handle_datagram(now, Endpoint::default(), &buf[..p.len]);
    }
    rx.handle_timeout(now + Duration::from_secs(3600));
    while rx.poll_event().is_some() {}
    let pending = rx.repair_pending();
    assert_eq!(pending.len(), 1, "the object ended incomplete");
    eprintln!(
        "broadcast part: {} packets, {:.1} s",
        i,
        t.elapsed().as_secs_f64()
    );

    let bg = BackgroundServer::start(
        server_for(path, len, ServerConfig::default()),
        "127.0.0.1:0".parse().unwrap(),
        2,
    )
    .unwrap();
    let cfg = ClientConfig {
        service_uris: vec![format!("http://{}/repair", bg.local_addr())],
        seed: 1,
        ..ClientConfig::default()
    };
    // HTTP alone: the same requests, answers discarded.
    let (session, toi) = pending[0];
    let q = rx.repair_request_in(&session, toi).unwrap();
    let reg = FecRegistry::with_builtin();
    let o = oti(len);
    let scheme = reg.for_oti(&o).unwrap();
    let codec = flute_repair::ContainerCodec::new(scheme.as_ref(), &o).unwrap();
    let pieces =
        flute_repair::split_query(&codec, &q, cfg.max_symbols_per_request, cfg.max_query_bytes)
            .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t0 = Instant::now();
    let http_bytes: u64 = rt.block_on(async {
        let mut n = 0;
        for p in &pieces {
            n += fetch(&cfg, &cfg.service_uris[0], p, 1 << 30)
                .await
                .unwrap()
                .len() as u64;
        }
        n
    });
    let http_secs = t0.elapsed().as_secs_f64();
    println!(
        "http only: {} requests, {:.1} MiB in {:.3} s: {:.2} Gbit/s",
        pieces.len(),
        http_bytes as f64 / (1 << 20) as f64,
        http_secs,
        http_bytes as f64 * 8.0 / http_secs / 1e9
    );
    let t0 = Instant::now();
    let report = repair_all(&mut rx, &cfg);
    let secs = t0.elapsed().as_secs_f64();
    let mut ok = false;
    while let Some(ev) = rx.poll_event() {
        if let ReceiverEvent::ObjectComplete {
            location: flute_receiver::ObjectLocation::Memory(b),
            ..
        } = ev
        {
            ok = b == data;
        }
    }
    assert!(ok, "repaired object delivered and identical: {report:?}");
    let st = rx.repair_stats();
    println!(
        "repair: {} MiB object (Content-MD5 {}), {} % lost in bursts: {} symbols ({:.1} MiB) repaired in {} requests, \
         {:.1} MiB of HTTP bodies, {:.3} s: {:.2} Gbit/s of repaired symbols",
        len >> 20,
        if md5 { "on" } else { "off" },
        loss,
        st.symbols_accepted,
        st.symbol_bytes as f64 / (1 << 20) as f64,
        report.requests,
        report.bytes_fetched as f64 / (1 << 20) as f64,
        secs,
        st.symbol_bytes as f64 * 8.0 / secs / 1e9
    );
    bg.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Child process: serves `path` until stdin closes, then prints its peak RSS.
fn serve_child(path: &str, len: usize, per_client: usize) {
    let cfg = ServerConfig {
        max_requests_per_client: per_client,
        ..ServerConfig::default()
    };
    let bg = BackgroundServer::start(
        server_for(path.into(), len, cfg),
        "127.0.0.1:0".parse().unwrap(),
        2,
    )
    .unwrap();
    println!("{}", bg.local_addr());
    std::io::stdout().flush().unwrap();
    let mut s = String::new();
    let _ = std::io::stdin().read_line(&mut s);
    bg.stop();
    println!("VmHWM {}", vm_hwm_kib());
}

fn clients_case(len: usize, clients: usize, symbols: u64) {
    let dir = std::env::temp_dir().join(format!("flute-repair-bench-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("file.bin");
    std::fs::write(&path, flute_benches::pseudo_random_source(len)).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["serve", path.to_str().unwrap(), &len.to_string()])
        .args(["--per-client", &clients.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line.trim().to_owned();
    let reg = FecRegistry::with_builtin();
    let o = oti(len);
    let blocking = reg.for_oti(&o).unwrap().blocking(&o).unwrap();
    let per = (symbols / u64::from(B)).max(1) as u32;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cfg = ClientConfig {
        request_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(60),
        ..ClientConfig::default()
    };
    let t0 = Instant::now();
    let total: u64 = rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..clients {
            let cfg = cfg.clone();
            let uri = format!("http://{addr}/repair");
            let blocks = blocking.blocks as u32;
            tasks.push(tokio::spawn(async move {
                let mut got = 0u64;
                for round in 0..2u32 {
                    let first = ((c as u32) * 29 + round * 1013) % (blocks - per);
                    let q = RepairQuery {
                        file_uri: LOCATION.into(),
                        parts: vec![SymbolRequest::blocks(
                            IdRange::new(first, first + per - 1).unwrap(),
                        )],
                    };
                    let b: Bytes = fetch(&cfg, &uri, &q, 1 << 30).await.unwrap();
                    got += b.len() as u64;
                }
                got
            }));
        }
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    let secs = t0.elapsed().as_secs_f64();
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut rest = String::new();
    while out.read_line(&mut rest).unwrap() > 0 {}
    let _ = child.wait();
    let hwm = rest
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM "))
        .unwrap_or("?")
        .to_owned();
    println!(
        "clients: {clients} concurrent clients x 2 requests of {} symbols ({:.1} MiB each) from a {} MiB file: \
         {:.1} MiB in {:.2} s ({:.2} Gbit/s); server peak RSS {} KiB ({:.1} MiB)",
        u64::from(per) * u64::from(B),
        (u64::from(per) * u64::from(B) * u64::from(E)) as f64 / (1 << 20) as f64,
        len >> 20,
        total as f64 / (1 << 20) as f64,
        secs,
        total as f64 * 8.0 / secs / 1e9,
        hwm,
        hwm.parse::<f64>().unwrap_or(0.0) / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let per = arg(&args, "--per-client", "4").parse().unwrap();
        serve_child(&args[1], args[2].parse().unwrap(), per);
        return;
    }
    let mode = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "all".into());
    let len = size(&arg(&args, "--size", "256Mi"));
    let loss: u64 = arg(&args, "--loss", "10").parse().unwrap();
    let clients: usize = arg(&args, "--clients", "100").parse().unwrap();
    let symbols: u64 = arg(&args, "--symbols", "4096").parse().unwrap();
    if mode == "repair" || mode == "all" {
        repair_case(len, loss, !args.iter().any(|a| a == "--no-md5"));
    }
    if mode == "clients" || mode == "all" {
        clients_case(len, clients, symbols);
    }
}
