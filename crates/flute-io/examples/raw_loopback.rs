//! The raw loopback UDP limit: a minimal batched sender and receiver pair with no protocol
//! work at all, used by `scripts/bench_loopback.sh` as the yardstick for `flute send`.
//!
//! `cargo run --release -p flute-io --example raw_loopback -- [SIZE] [SECONDS] [gso|mmsg|plain]`
//! Prints one line: `raw mode=... size=... sent=... received=... goodput_mbps=...`.
#![allow(clippy::disallowed_methods, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flute_io::{TxBatch, UdpOptions, UdpReceiver, UdpSender};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let size: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1400);
    let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let mode = args.get(3).map(String::as_str).unwrap_or("gso");
    let opts = UdpOptions {
        batched: mode != "plain",
        buffer_bytes: 32 << 20,
        recv_buffer_bytes: 32 << 20,
        ..UdpOptions::default()
    };
    let mut rx = UdpReceiver::bind("127.0.0.1:0".parse().expect("literal"), None, &opts)?;
    let dest: SocketAddr = rx.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_rx = stop.clone();
    let receiver = std::thread::spawn(move || {
        let (mut n, mut bytes) = (0u64, 0u64);
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        loop {
            let got = rx
                .recv(Some(Duration::from_millis(200)), &mut |_, d| {
                    n += 1;
                    bytes += d.len() as u64;
                })
                .unwrap_or(0);
            if got > 0 {
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
            } else if stop_rx.load(Ordering::Relaxed) {
                break;
            }
        }
        let dt = first
            .map(|f| last.duration_since(f).as_secs_f64())
            .unwrap_or(0.0);
        (n, bytes, dt)
    });
    let mut tx = UdpSender::open(dest, None, &opts)?;
    if mode == "mmsg" && tx.mode() == flute_io::BatchMode::Gso {
        tx = UdpSender::open(
            dest,
            None,
            &UdpOptions {
                batched: true,
                ..opts.clone()
            },
        )?;
    }
    let gso = mode == "gso";
    let payload = vec![0x5au8; size];
    let mut batch = TxBatch::new();
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        batch.clear();
        for _ in 0..64 {
            batch.push(&payload);
        }
        if !gso {
            // Defeat GSO grouping by alternating sizes, leaving sendmmsg batching only.
            batch.clear();
            for i in 0..64 {
                batch.push(&payload[..size - (i % 2)]);
            }
        }
        tx.send(&batch)?;
        sent += 64;
    }
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let (n, bytes, dt) = receiver
        .join()
        .map_err(|_| std::io::Error::other("receiver panicked"))?;
    let mbps = if dt > 0.0 {
        bytes as f64 * 8.0 / dt / 1e6
    } else {
        0.0
    };
    println!(
        "raw mode={mode} tx_mode={:?} size={size} sent={sent} received={n} loss={:.2}% goodput_mbps={mbps:.0}",
        tx.mode(),
        100.0 * (sent.saturating_sub(n)) as f64 / sent.max(1) as f64
    );
    Ok(())
}
