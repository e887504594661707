//! `flute recv --stdout` (issue 17 §3): the first object streamed to standard output, from
//! a capture and live over loopback (127.0.0.1 only), where its first bytes come out while
//! the sender is still sending.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::io::{BufRead, Read};
use std::process::Stdio;

use common::{capture, flute, free_port, run};

fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 253) as u8).collect()
}

#[test]
fn stdout_streams_one_object_from_a_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("seg.m4s");
    let data = content(300_000);
    std::fs::write(&file, &data).unwrap();
    let pcap = tmp.path().join("s.pcap");
    capture(&file, &pcap, &["--fec", "raptorq", "--repair", "10%"]);
    let o = run(flute()
        .args(["recv", "--stdout", "-q", "--pcap"])
        .arg(&pcap));
    assert!(o.status.success());
    assert!(
        o.stdout == data,
        "stdout is not the object ({} bytes)",
        o.stdout.len()
    );
}

#[test]
fn stdout_reports_an_object_that_fails_after_streaming() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("seg.m4s");
    let data = content(200_000);
    std::fs::write(&file, &data).unwrap();
    let pcap = tmp.path().join("s.pcap");
    capture(&file, &pcap, &["--fec", "nocode", "--block-size", "8"]);
    // No FEC and 3 % of the packets dropped (seed 1): the first blocks arrive whole, a
    // later one does not, so the object streams in part and then fails.
    let o = run(flute()
        .args([
            "recv", "--stdout", "-q", "--drop", "3", "--seed", "1", "--pcap",
        ])
        .arg(&pcap));
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("seg.m4s failed after part of it was written"),
        "{err}"
    );
    let n = o.stdout.len();
    assert!(n > 0 && n < data.len(), "{n} bytes streamed");
    assert!(
        o.stdout == data[..n],
        "what was streamed is not the object's start"
    );
}

#[test]
fn recv_needs_out_or_stdout() {
    let o = run(flute().args(["recv", "--pcap", "x.pcap"]));
    assert_eq!(o.status.code(), Some(2));
    let o = run(flute().args(["recv", "--pcap", "x.pcap", "--stdout", "--out", "d"]));
    assert_eq!(o.status.code(), Some(2));
}

/// Live over loopback at 4 Mbit/s (a 1 MB object takes about 2 s): the first bytes are on
/// the receiver's stdout before the sender has finished.
#[test]
fn stdout_is_progressive_over_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("big.bin");
    let data = content(1_000_000);
    std::fs::write(&file, &data).unwrap();
    let port = free_port();
    let mut recv = flute()
        .args(["recv", "--stdout", "--timeout", "20", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The sender starts only once the receiver listens (its first stderr line), or the
    // first packets could go to a port nobody has bound yet on a loaded machine. The rest
    // of stderr is drained on a thread, kept for the failure message.
    let mut err = std::io::BufReader::new(recv.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on"), "{line}");
    let err = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        rest
    });
    let mut send = flute()
        .arg("send")
        .arg(&file)
        .args(["--dest", &format!("127.0.0.1:{port}"), "--rate", "4M", "-q"])
        .args(["--fdt-interval", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = recv.stdout.take().unwrap();
    let mut first = [0u8; 1];
    if let Err(e) = out.read_exact(&mut first) {
        let _ = recv.wait();
        panic!(
            "no byte on stdout ({e}); recv said: {}",
            err.join().unwrap()
        );
    }
    let sender_running = send.try_wait().unwrap().is_none();
    let mut rest = Vec::new();
    out.read_to_end(&mut rest).unwrap();
    assert!(send.wait().unwrap().success());
    let status = recv.wait().unwrap();
    let err = err.join().unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(first[0], data[0]);
    assert!(rest == data[1..], "stdout is not the object");
    assert!(
        sender_running,
        "the first bytes came only after the sender finished"
    );
}
