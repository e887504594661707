//! `flute` file repair end to end over loopback (3GPP TS 26.346 §9.3): `flute send` writes
//! the session (No-Code, RaptorQ), the test takes 30 % of each file's data packets away in
//! bursts (the receive side's loss), `flute repair-server` (started by the test on
//! 127.0.0.1) serves the files, and `flute recv --repair URL` completes them: the files
//! are byte-identical, with equal MD5, and the summary says how much was repaired. A live
//! run uses `flute send --repair-listen`.
#![cfg(feature = "repair")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use flute_io::{PcapReader, PcapWriter};
use lct_header::LctPacket;
use md5::{Digest, Md5};

fn flute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flute"))
}

fn make_files(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let mut x = 0x1234_5678u32;
    let mut bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    };
    std::fs::write(dir.join("a.bin"), bytes(700_000)).unwrap();
    std::fs::write(dir.join("sub/b.bin"), bytes(123_457)).unwrap();
}

/// Copies `input` to `output` without 30 % of each object's data packets, in bursts of
/// 10 (packets 0-29 of every 100 are lost); FDT packets (TOI 0) all go through. Returns
/// (kept, dropped).
fn thin(input: &Path, output: &Path) -> (u64, u64) {
    let mut r = PcapReader::open(input).unwrap();
    let mut w = PcapWriter::create(output).unwrap();
    let mut per_toi: std::collections::HashMap<u128, u64> = Default::default();
    let (mut kept, mut dropped) = (0, 0);
    while let Some(d) = r.next_datagram().unwrap() {
        let toi = LctPacket::new_checked(&d.payload[..])
            .ok()
            .and_then(|p| p.toi())
            .map_or(0, |t| t.0);
        if toi != 0 {
            let i = per_toi.entry(toi).or_default();
            *i += 1;
            if (*i - 1) % 100 < 30 {
                dropped += 1;
                continue;
            }
        }
        w.write_udp(d.ts.unwrap_or_default(), d.src, d.dst, &d.payload)
            .unwrap();
        kept += 1;
    }
    w.finish().unwrap();
    (kept, dropped)
}

/// Starts `flute repair-server` and returns it with its URL (read from its first line).
fn repair_server(root: &Path, fec: &[&str]) -> (Child, String) {
    let mut child = flute()
        .args(["repair-server", "--root"])
        .arg(root)
        .args(["--listen", "127.0.0.1:0"])
        .args(fec)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    (child, url)
}

fn assert_same_tree(src: &Path, out: &Path) {
    for rel in ["files/a.bin", "files/sub/b.bin"] {
        let a = std::fs::read(src.join(rel.trim_start_matches("files/"))).unwrap();
        let b = std::fs::read(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(a.len(), b.len(), "{rel}");
        assert!(a == b, "{rel} differs");
        assert_eq!(Md5::digest(&a), Md5::digest(&b), "{rel} MD5");
    }
}

fn pcap_case(fec: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("files");
    make_files(&src);
    let full = tmp.path().join("full.pcap");
    let lossy = tmp.path().join("lossy.pcap");
    let out = flute()
        .arg("send")
        .arg(&src)
        .args(["--dest", "127.0.0.1:4000", "--no-send", "--quiet", "--pcap"])
        .arg(&full)
        .args(fec)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, dropped) = thin(&full, &lossy);
    assert!(dropped > 100);

    // Without repair, the files are incomplete.
    let plain = tmp.path().join("plain");
    let out = flute()
        .args(["recv", "--quiet", "--pcap"])
        .arg(&lossy)
        .arg("-o")
        .arg(&plain)
        .output()
        .unwrap();
    assert!(!out.status.success());

    let (mut server, url) = repair_server(&src, fec);
    let got = tmp.path().join("got");
    let out = flute()
        .args(["recv", "--quiet", "--pcap"])
        .arg(&lossy)
        .arg("-o")
        .arg(&got)
        .args(["--repair", &url, "--repair-random", "0.2"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("objects: 2 complete, 0 failed, 0 incomplete"),
        "{stdout}"
    );
    assert!(stdout.contains("repaired "), "{stdout}");
    assert_same_tree(&src, &got);
}

#[test]
fn ts26346_9_3_flute_recv_repairs_no_code_after_30pct_burst_loss() {
    pcap_case(&["--fec", "nocode", "--symbol-size", "1200"]);
}

#[test]
fn ts26346_9_3_flute_recv_repairs_raptorq_after_30pct_burst_loss() {
    pcap_case(&[
        "--fec",
        "raptorq",
        "--repair",
        "10",
        "--symbol-size",
        "1200",
    ]);
}

/// A live session on 127.0.0.1: `flute send --repair-listen` serves the repairs and
/// announces its server in the FDT (TS 26.346 §9.3.1 postFileRepair); the receiver drops
/// 30 % of what it receives (seeded), and `--repair-announced` completes the files from the
/// announced server over HTTP.
#[test]
fn ts26346_9_3_flute_send_repair_listen_live() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("files");
    make_files(&src);
    // Free ports for the FLUTE session and the repair server.
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let got = tmp.path().join("got");
    let mut recv = flute()
        .args(["recv", "--once", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-o")
        .arg(&got)
        .args(["--drop", "30", "--seed", "5", "--timeout", "20"])
        // No URL: the server the FDT announces (postFileRepair).
        .arg("--repair-announced")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Start sending once the receiver listens (it says so on stderr).
    let mut err = BufReader::new(recv.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("listening on") {
        line.clear();
    }
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let mut send = flute()
        .arg("send")
        .arg(&src)
        .args([
            "--dest",
            &format!("127.0.0.1:{port}"),
            "--quiet",
            "--rate",
            "20M",
        ])
        // FDT instances often enough that the 30 % loss leaves every file described (a
        // file without an FDT entry has no Content-Location to ask for).
        .args(["--fdt-interval", "0.02"])
        .args(["--repair-listen", "127.0.0.1:0", "--repair-linger", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = recv.wait_with_output().unwrap();
    let _ = send.kill();
    let _ = send.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}\n{}", rest.join().unwrap());
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("repaired "), "{stdout}");
    assert_same_tree(&src, &got);
}
