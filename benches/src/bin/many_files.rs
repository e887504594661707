//! Packets needed to send a directory of many small files, ours against the `flute` crate
//! 1.11.7, in the same run (issue 13 §3: the FDT must not flood the link).
//!
//! ```text
//! cargo run --release -p flute-benches --bin many_files -- [--files 1000,10000,100000] [--rate 100M]
//! ```
//!
//! Every file is 2 KB, Compact No-Code, symbols of 1400 bytes, one pass. Both senders run on
//! virtual time at the given rate (wire bytes, 28 bytes of IP+UDP per packet); each sender's
//! own FDT carousel runs as configured by default (1 s for both). Counted: FDT packets (TOI 0)
//! and data packets, until every file was sent once.

#![allow(clippy::disallowed_methods, clippy::expect_used)] // virtual time origin; a bench tool

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use flute_sender::{AnchoredClock, Object, Pacing, Sender, SenderConfig, Tsi};

const FILE: usize = 2048;

fn file(i: usize) -> Vec<u8> {
    (0..FILE).map(|b| (i * 31 + b * 7) as u8).collect()
}

/// (FDT packets, data packets, virtual seconds).
fn ours(n: usize, rate: u64) -> (u64, u64, f64) {
    let t0 = Instant::now();
    let mut cfg = SenderConfig::new(Tsi(1), Arc::new(AnchoredClock::new(t0, SystemTime::now())));
    cfg.symbol_length = 1400;
    cfg.pacing = Some(Pacing::wire(rate));
    let mut s = Sender::new(cfg).expect("config");
    for i in 0..n {
        s.insert_object(
            Object::from_bytes(format!("site/f{i}.html"), Bytes::from(file(i))),
            t0,
        )
        .expect("insert");
    }
    s.close();
    let mut buf = vec![0u8; 1500];
    let mut now = t0;
    while !s.is_closed() {
        if s.poll_transmit(now, &mut buf).is_some() {
            continue;
        }
        match s.poll_timeout() {
            Some(t) => now = t.max(now),
            None => break,
        }
    }
    let st = s.stats();
    (st.fdt_packets, st.source_symbols, (now - t0).as_secs_f64())
}

fn theirs(n: usize, rate: u64) -> (u64, u64, f64) {
    use flute_peer::core::{Oti, UDPEndpoint};
    use flute_peer::sender::{Config, ObjectDesc, Sender as PeerSender, TransferConfig};
    let ep = UDPEndpoint::new(None, "239.255.1.1".to_owned(), 3400);
    let oti = Oti::new_no_code(1400, 64);
    let mut tx = PeerSender::new(ep, 1, &oti, &Config::default());
    let t0 = SystemTime::now();
    for i in 0..n {
        let obj = ObjectDesc::create_from_buffer(
            file(i),
            "text/html",
            &url::Url::parse(&format!("file:///site/f{i}.html")).expect("url"),
            true,
            TransferConfig::builder().build(),
        )
        .expect("object");
        tx.add_object(0, obj).expect("add");
    }
    tx.publish(t0).expect("publish");
    let data_total = n as u64 * FILE.div_ceil(1400) as u64;
    let (mut fdt, mut data) = (0u64, 0u64);
    let mut at = Duration::ZERO;
    let mut idle = 0;
    while data < data_total && idle < 100_000 {
        match tx.read(t0 + at) {
            Some(p) => {
                let toi = lct_header::LctPacket::new_checked(&p[..])
                    .ok()
                    .and_then(|l| l.toi())
                    .map_or(1, |t| t.0);
                if toi == 0 {
                    fdt += 1;
                } else {
                    data += 1;
                }
                at += Duration::from_secs_f64((p.len() + 28) as f64 * 8.0 / rate as f64);
                idle = 0;
            }
            None => {
                at += Duration::from_millis(1);
                idle += 1;
            }
        }
    }
    (fdt, data, at.as_secs_f64())
}

fn main() {
    let mut files = vec![1000usize, 10_000];
    let mut rate = 100_000_000u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--files" => {
                files = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|s| s.parse().ok())
                    .collect()
            }
            "--rate" => {
                let v = args.next().unwrap_or_default();
                let (num, mul) = match v.strip_suffix('M') {
                    Some(n) => (n, 1e6),
                    None => match v.strip_suffix('G') {
                        Some(n) => (n, 1e9),
                        None => (v.as_str(), 1.0),
                    },
                };
                rate = (num.parse::<f64>().unwrap_or(100.0) * mul) as u64;
            }
            other => {
                eprintln!(
                    "unknown argument {other}; usage: many_files [--files N,N] [--rate 100M]"
                );
                std::process::exit(2);
            }
        }
    }
    println!(
        "| files | ours: FDT + data = total | flute 1.11.7: FDT + data = total | ratio | ours: FDT packets per file |"
    );
    println!("|---:|---|---|---:|---:|");
    for n in files {
        let (of, od, _) = ours(n, rate);
        let (tf, td, _) = theirs(n, rate);
        println!(
            "| {n} | {of} + {od} = {} | {tf} + {td} = {} | {:.2} | {:.3} |",
            of + od,
            tf + td,
            (of + od) as f64 / (tf + td) as f64,
            of as f64 / n as f64
        );
    }
}
