//! What an operator meets in the first hour (issue 13 §3), one CLI test per item: a
//! directory of many small files, announced files of which nothing arrived, the full-speed
//! send of a tree to loopback, a capture cut short, the sentences that replace bare OS
//! errors, and `--repair` with a scheme that has no repair symbols. (The default rate towards
//! a network destination is checked in `tests/netns.rs`, which has one to send to.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{capture, flute, free_port, run, spawn_recv};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn files(dir: &Path, n: usize, size: impl Fn(usize) -> usize) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let data: Vec<u8> = (0..size(i))
            .map(|b| (i * 131 + b * 7 + b / 251) as u8)
            .collect();
        std::fs::write(dir.join(format!("f{i:04}.html")), data).unwrap();
    }
}

/// `sent … in N packets (F FDT, …` of the send summary.
fn packets(summary: &str) -> (u64, u64) {
    let after = summary.split(" in ").nth(1).unwrap();
    let total: u64 = after.split_whitespace().next().unwrap().parse().unwrap();
    let fdt: u64 = summary
        .split("packets (")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (total, fdt)
}

/// 1,000 files of 2 KB: at most 1.5 times the `flute` crate's 2,175 packets (it was 89,791,
/// 87,791 of them FDT), and the capture is received whole.
#[test]
fn a_directory_of_1000_small_files_does_not_flood_the_fdt() {
    let tmp = tempfile::tempdir().unwrap();
    let site = tmp.path().join("site");
    files(&site, 1000, |_| 2048);
    let pcap = tmp.path().join("site.pcap");
    let s = capture(&site, &pcap, &["--fec", "nocode"]);
    let (total, fdt) = packets(&stdout(&s));
    assert!(total <= 3262, "{total} packets, {fdt} of them FDT");
    assert!(fdt <= 250, "{fdt} FDT packets for 1,000 files");
    let out = tmp.path().join("out");
    let r = run(flute().args([
        "recv",
        "--pcap",
        pcap.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]));
    assert!(r.status.success());
    assert!(stdout(&r).contains("1000 complete, 0 failed, 0 incomplete, 0 missing"));
}

/// Files the FDT announced but of which no packet arrived are listed as missing, with the
/// reason, and the exit status is 1.
#[test]
fn announced_files_that_never_arrive_are_listed_as_missing() {
    use flute_io::{PcapReader, PcapWriter};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    files(&dir, 3, |i| 5000 + i);
    let full = tmp.path().join("full.pcap");
    capture(&dir, &full, &[]);
    // Drop every packet of TOI 2 (the second file), keep the rest.
    let cut = tmp.path().join("cut.pcap");
    let mut r = PcapReader::open(&full).unwrap();
    let mut w = PcapWriter::create(&cut).unwrap();
    let mut dropped = 0;
    while let Some(d) = r.next_datagram().unwrap() {
        let toi = lct_header::LctPacket::new_checked(&d.payload[..])
            .unwrap()
            .toi()
            .unwrap()
            .0;
        if toi == 2 {
            dropped += 1;
            continue;
        }
        w.write_udp(d.ts.unwrap_or_default(), d.src, d.dst, &d.payload)
            .unwrap();
    }
    w.finish().unwrap();
    assert!(dropped > 0);
    let out = tmp.path().join("out");
    let r = run(flute().args([
        "recv",
        "--pcap",
        cut.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]));
    assert_eq!(r.status.code(), Some(1));
    let text = stdout(&r);
    assert!(
        text.contains("2 complete, 0 failed, 0 incomplete, 1 missing (FDT announced 3)"),
        "{text}"
    );
    assert!(
        text.contains("missing: d/f0001.html (TOI 2): announced in the FDT, but no packet"),
        "{text}"
    );
}

/// The 302-file tree that used to lose 140 files at full speed to 127.0.0.1 (RaptorQ):
/// separate processes, no --rate, everything arrives.
#[test]
fn a_tree_of_302_files_at_full_speed_to_loopback_arrives_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    files(&tree, 302, |i| (i * 7919) % 20_000 + 100);
    let out = tmp.path().join("out");
    let port = free_port();
    let recv = spawn_recv(port, &out);
    std::thread::sleep(Duration::from_millis(300));
    let s = run(flute().args([
        "send",
        tree.to_str().unwrap(),
        "--dest",
        &format!("127.0.0.1:{port}"),
        "--fec",
        "raptorq",
        "-q",
    ]));
    assert!(s.status.success());
    let r = recv.wait_with_output().unwrap();
    let text = stdout(&r);
    eprintln!("{text}{}", stderr(&r));
    assert!(r.status.success(), "{text}");
    assert!(
        text.contains("302 complete, 0 failed, 0 incomplete, 0 missing (FDT announced 302)"),
        "{text}"
    );
    for i in [0usize, 150, 301] {
        let name = format!("f{i:04}.html");
        assert_eq!(
            std::fs::read(tree.join(&name)).unwrap(),
            std::fs::read(out.join("tree").join(&name)).unwrap()
        );
    }
}

/// A capture cut in the middle of a record: a warning with the record count, the summary
/// of what arrived before the cut, and exit status 0 when that was everything, 1 when
/// objects are left incomplete. (It used to stop with `error: capture file truncated`, exit
/// 2, no summary.)
#[test]
fn a_truncated_capture_is_received_up_to_the_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    files(&dir, 3, |i| 20_000 + i);
    let full = tmp.path().join("full.pcap");
    capture(&dir, &full, &[]);
    let bytes = std::fs::read(&full).unwrap();

    // Everything, then half of one more record header: all complete, exit 0, a warning.
    let padded = tmp.path().join("padded.pcap");
    let mut p = bytes.clone();
    p.extend_from_slice(&[0u8; 7]);
    std::fs::write(&padded, p).unwrap();
    let r = run(flute().args([
        "recv",
        "--pcap",
        padded.to_str().unwrap(),
        "--out",
        tmp.path().join("o1").to_str().unwrap(),
        "-q",
    ]));
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(stderr(&r).contains("warning: the capture ends early"));
    assert!(stdout(&r).contains("3 complete, 0 failed"));

    // Cut in the middle: a summary, the objects that did not make it, exit 1.
    let cut = tmp.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 3]).unwrap();
    let r = run(flute().args([
        "recv",
        "--pcap",
        cut.to_str().unwrap(),
        "--out",
        tmp.path().join("o2").to_str().unwrap(),
        "-q",
    ]));
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    let err = stderr(&r);
    assert!(
        err.contains("warning: the capture ends early") && err.contains("record(s)"),
        "{err}"
    );
    let text = stdout(&r);
    assert!(text.contains("objects: "), "a summary is printed: {text}");
    assert!(
        text.contains("incomplete: ") || text.contains("missing: "),
        "what did not arrive is named: {text}"
    );
}

/// Bare OS errors replaced by sentences naming the cause and the fix.
#[test]
fn operator_errors_are_sentences() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.bin");
    std::fs::write(&f, b"x").unwrap();
    let file = f.to_str().unwrap();

    // --dest with port 0 (was `Invalid argument (os error 22)`).
    let o = run(flute().args(["send", file, "--dest", "127.0.0.1:0"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("port 0 in \"127.0.0.1:0\" names no receiver"));

    // No port at all.
    let o = run(flute().args(["send", file, "--dest", "239.255.1.1"]));
    assert!(stderr(&o).contains("has no port: give ADDRESS:PORT"));

    // A host name is resolved (localhost, from /etc/hosts: no lookup leaves this machine).
    let port = free_port();
    let o = run(flute().args(["send", file, "--dest", &format!("localhost:{port}"), "-q"]));
    assert!(o.status.success(), "{}", stderr(&o));

    // --out naming an existing file (was `File exists (os error 17)`).
    let o = run(flute().args([
        "recv",
        "--listen",
        "127.0.0.1:0",
        "--out",
        file,
        "--timeout",
        "1",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is a file, not a directory"),
        "{}",
        stderr(&o)
    );
}

/// `--repair` with Compact No-Code is refused instead of being silently ignored.
#[test]
fn repair_with_nocode_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("f.bin");
    std::fs::write(&f, b"x").unwrap();
    let o = run(flute().args([
        "send",
        f.to_str().unwrap(),
        "--dest",
        "127.0.0.1:3400",
        "--fec",
        "nocode",
        "--repair",
        "20%",
    ]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--fec nocode (Compact No-Code (ID 0)) has none"),
        "{}",
        stderr(&o)
    );
    // 0 % is harmless and accepted.
    let o = run(flute().args([
        "send",
        f.to_str().unwrap(),
        "--dest",
        "239.255.1.1:3400",
        "--repair",
        "0%",
        "--no-send",
        "--pcap",
        tmp.path().join("x.pcap").to_str().unwrap(),
        "-q",
    ]));
    assert!(o.status.success());
}

/// A flood of 20,000 junk packets (a fresh random TSI and TOI each, an EXT_FTI claiming a
/// huge RaptorQ object that can never make progress), then a legitimate session, through
/// `flute recv --pcap` (issue 13 §4): the file is delivered, the summary counts the
/// evictions, and the junk is not reported as files.
#[test]
fn a_flood_of_junk_sessions_does_not_lock_out_the_real_one() {
    use flute_io::{PcapReader, PcapWriter};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    files(&dir, 1, |_| 200_000);
    let real = tmp.path().join("real.pcap");
    capture(&dir, &real, &["--fec", "raptorq"]);
    let flood = tmp.path().join("flood.pcap");
    let mut w = PcapWriter::create(&flood).unwrap();
    let mut rng = flute_testkit::Rng::new(13);
    let (src, dst) = (
        "192.0.2.9:4000".parse().unwrap(),
        "239.255.1.1:3400".parse().unwrap(),
    );
    for i in 0..20_000u64 {
        let p = flute_testkit::flood_packet(&mut rng, None);
        w.write_udp(Duration::from_micros(1_000_000 + i * 100), src, dst, &p)
            .unwrap();
    }
    let mut r = PcapReader::open(&real).unwrap();
    let mut t = Duration::from_secs(20);
    while let Some(d) = r.next_datagram().unwrap() {
        w.write_udp(t, d.src, d.dst, &d.payload).unwrap();
        t += Duration::from_micros(100);
    }
    w.finish().unwrap();
    let out = tmp.path().join("out");
    let o = run(flute().args([
        "recv",
        "--pcap",
        flood.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]));
    let text = stdout(&o);
    assert_eq!(
        std::fs::read(out.join("d/f0000.html")).unwrap().len(),
        200_000,
        "the real file is delivered: {text}"
    );
    assert!(text.contains("evicted to make room: "), "{text}");
    assert!(
        text.contains("1 complete, 0 failed, 0 incomplete, 0 missing"),
        "{text}"
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "the announced file arrived: {text}"
    );
    assert!(
        text.lines().count() < 200,
        "the junk is summarised, not listed: {} lines",
        text.lines().count()
    );
}

/// A port another program holds: the error names the cause and the fix, not only the OS
/// error. (Ported from the operator branch, with its `socket_error` sentences.)
#[test]
fn listen_port_in_use_names_the_cause() {
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap();
    let d = tempfile::tempdir().unwrap();
    let o = run(flute()
        .args([
            "recv",
            "--timeout",
            "1",
            "--listen",
            &addr.to_string(),
            "--out",
        ])
        .arg(d.path().join("o")));
    assert_eq!(
        o.status.code(),
        Some(2),
        "a second bind of a held port is refused"
    );
    let e = stderr(&o);
    assert!(e.contains(&format!("cannot listen on {addr}")), "{e}");
    assert!(e.contains("another program already uses this port"), "{e}");
    drop(held);
}
