//! `flute recv --pcap`'s capture reading: flute-io's own pcap reader and Ethernet / IP / UDP
//! parser against the well-kept crates `pcap-file` (2.x) and `etherparse`, on the same
//! capture, in the same run (issue 14 §4: switch unless they cost more than 10 % of
//! `flute recv --pcap` throughput). Also the whole receive (flute-io reader + the receiver)
//! for the denominator.
//!
//! `cargo run --release -p flute-benches --bin pcap_read -- [MiB]` (default 256).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock

use std::fs::File;
use std::io::BufReader;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use fec_schemes::schemes::no_code::CompactNoCode;
use flute_io::{PcapReader, PcapWriter};
use flute_receiver::{Endpoint, Receiver, ReceiverConfig};
use flute_sender::{Object, Sender, SenderConfig, Tsi};

fn write_capture(path: &std::path::Path, mib: usize) -> (u64, usize) {
    let data: Vec<u8> = (0..mib << 20).map(|i| (i * 131 + 7) as u8).collect();
    let t0 = Instant::now();
    let mut cfg = SenderConfig::new(
        Tsi(1),
        std::sync::Arc::new(fdt::AnchoredClock::new(t0, std::time::SystemTime::now())),
    );
    cfg.symbol_length = 1400;
    let mut tx = Sender::new(cfg).unwrap();
    tx.insert_object(
        Object::from_bytes("big.bin", Bytes::from(data)).fec(CompactNoCode::oti(0, 1400, 64)),
        t0,
    )
    .unwrap();
    tx.close();
    let (src, dst): (SocketAddr, SocketAddr) = (
        "127.0.0.1:4000".parse().unwrap(),
        "127.0.0.1:3400".parse().unwrap(),
    );
    let mut w = PcapWriter::new(std::io::BufWriter::new(File::create(path).unwrap())).unwrap();
    let mut buf = vec![0u8; 2048];
    let mut n = 0u64;
    while let Some(t) = tx.poll_transmit(t0, &mut buf) {
        w.write_udp(Duration::from_secs(1), src, dst, &buf[..t.len])
            .unwrap();
        n += 1;
    }
    w.finish().unwrap();
    (n, mib << 20)
}

fn ours(path: &std::path::Path) -> (u64, u64) {
    let mut r = PcapReader::open(path).unwrap();
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Some(d) = r.next_datagram().unwrap() {
        n += 1;
        bytes += d.payload.len() as u64;
    }
    (n, bytes)
}

fn crates(path: &std::path::Path) -> (u64, u64) {
    let mut r =
        pcap_file::pcap::PcapReader::new(BufReader::new(File::open(path).unwrap())).unwrap();
    let (mut n, mut bytes) = (0u64, 0u64);
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let s = etherparse::SlicedPacket::from_ethernet(&p.data).unwrap();
        if let Some(etherparse::TransportSlice::Udp(u)) = s.transport {
            // The same work as ours: the payload copied out for the receiver.
            let payload = u.payload().to_vec();
            n += 1;
            bytes += payload.len() as u64;
        }
    }
    (n, bytes)
}

fn receive(path: &std::path::Path) -> usize {
    let mut r = PcapReader::open(path).unwrap();
    let mut rx = Receiver::new(ReceiverConfig::default());
    let now = Instant::now();
    while let Some(d) = r.next_datagram().unwrap() {
        rx.handle_datagram(
            now,
            Endpoint {
                source: Some(d.src.ip()),
                destination: d.dst,
            },
            &d.payload,
        );
    }
    let mut done = 0;
    while let Some(e) = rx.poll_event() {
        if let flute_receiver::ReceiverEvent::ObjectComplete { .. } = e {
            done += 1;
        }
    }
    done
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn main() {
    let mib: usize = std::env::args().nth(1).map_or(256, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap.pcap");
    let (packets, content) = write_capture(&path, mib);
    let size = std::fs::metadata(&path).unwrap().len();
    let (t_ours, a) = best(3, || ours(&path));
    let (t_crates, b) = best(3, || crates(&path));
    assert_eq!(a, b, "both readers must find the same datagrams");
    assert_eq!(a.0, packets);
    let (t_recv, done) = best(3, || receive(&path));
    assert_eq!(done, 1, "the object must be delivered");
    let mibs = |t: Duration| content as f64 / (1 << 20) as f64 / t.as_secs_f64();
    println!(
        "capture: {packets} packets, {:.1} MiB file, {mib} MiB of content",
        size as f64 / (1 << 20) as f64
    );
    println!("| path | time (s) | MiB/s of content |");
    println!("|---|---:|---:|");
    println!(
        "| flute-io PcapReader (read + Ethernet/IP/UDP + copy) | {:.3} | {:.0} |",
        t_ours.as_secs_f64(),
        mibs(t_ours)
    );
    println!(
        "| pcap-file 2 + etherparse (the same work) | {:.3} | {:.0} |",
        t_crates.as_secs_f64(),
        mibs(t_crates)
    );
    println!(
        "| whole receive: flute-io reader + flute-receiver (memory) | {:.3} | {:.0} |",
        t_recv.as_secs_f64(),
        mibs(t_recv)
    );
    let extra = t_crates.as_secs_f64() - t_ours.as_secs_f64();
    println!(
        "\nthe crates' reading costs {:+.1} % of the whole receive's time",
        100.0 * extra / t_recv.as_secs_f64()
    );
}
