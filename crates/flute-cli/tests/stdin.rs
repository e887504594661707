//! `flute send -` (issue 17 §4): one object from standard input, whose length is known only
//! when the input ends. To a capture with three schemes, live over loopback (127.0.0.1
//! only) from a slow writer, and the refusals.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{flute, free_port, run, spawn_recv};

fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 131) ^ (i >> 9)) as u8).collect()
}

/// Runs `flute send - ARGS` with `input` written to its stdin in `chunks` pieces, `pause`
/// apart, then closed.
fn send_stdin(args: &[&str], input: &[u8], chunks: usize, pause: Duration) -> Output {
    let mut child = flute()
        .args(["send", "-"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for piece in input.chunks(input.len().div_ceil(chunks).max(1)) {
        stdin.write_all(piece).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(pause);
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    eprintln!(
        "--- send stdout\n{}--- send stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// "... source of which N before the end of the input ..." from the summary line.
fn early(out: &Output) -> u64 {
    let s = String::from_utf8_lossy(&out.stdout);
    let at = s
        .find(" before the end of the input")
        .expect("summary line");
    s[..at]
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number before it")
}

#[test]
fn stdin_to_a_capture_with_three_schemes() {
    for fec in ["nocode", "rs", "raptorq"] {
        let tmp = tempfile::tempdir().unwrap();
        let pcap = tmp.path().join("s.pcap");
        let data = content(250_000);
        let o = send_stdin(
            &[
                "--dest",
                "239.255.1.1:3400",
                "--no-send",
                "--pcap",
                pcap.to_str().unwrap(),
                "--fec",
                fec,
                "--stdin-name",
                "piped.bin",
                "-q",
            ],
            &data,
            5,
            Duration::from_millis(20),
        );
        assert!(o.status.success(), "{fec}: flute send - failed");
        if fec != "raptorq" {
            // RFC 5052 partitioning: the first half block may leave before the end.
            assert!(
                early(&o) > 0,
                "{fec}: nothing was sent before the input ended"
            );
        }
        let out = tmp.path().join("out");
        let r = run(flute()
            .args(["recv", "-q", "--out", out.to_str().unwrap(), "--pcap"])
            .arg(&pcap));
        assert!(r.status.success(), "{fec}: flute recv failed");
        let got = std::fs::read(out.join("piped.bin")).expect("piped.bin received");
        assert!(
            got == data,
            "{fec}: {} bytes received, not the input",
            got.len()
        );
    }
}

/// Live over loopback: a writer that takes about a second; the receiver gets the object,
/// and part of it left before the input ended.
#[test]
fn stdin_live_over_loopback() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let port = free_port();
    let recv = spawn_recv(port, &out);
    let data = content(600_000);
    let o = send_stdin(
        &[
            "--dest",
            &format!("127.0.0.1:{port}"),
            "--rate",
            "50M",
            "--fdt-interval",
            "0.2",
        ],
        &data,
        10,
        Duration::from_millis(100),
    );
    assert!(o.status.success(), "flute send - failed");
    assert!(early(&o) > 0, "nothing left before the input ended");
    let r = recv.wait_with_output().unwrap();
    eprintln!("--- recv stderr\n{}", String::from_utf8_lossy(&r.stderr));
    assert!(r.status.success(), "flute recv failed");
    let got = std::fs::read(out.join("stdin")).expect("stdin received");
    assert!(got == data, "{} bytes received, not the input", got.len());
}

#[test]
fn stdin_refusals_are_clear() {
    let o = run(flute()
        .args(["send", "-", "--dest", "127.0.0.1:9", "--cenc", "gzip"])
        .stdin(Stdio::null()));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--cenc needs the whole object"), "{err}");

    let o = run(flute()
        .args(["send", "a.bin", "-", "--dest", "127.0.0.1:9"])
        .stdin(Stdio::null()));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("must be the only path"), "{err}");

    // RaptorQ sends from one source block: an input too long for it is a clear error.
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("s.pcap");
    let o = send_stdin(
        &[
            "--dest",
            "127.0.0.1:9",
            "--no-send",
            "--pcap",
            pcap.to_str().unwrap(),
            "--fec",
            "raptorq",
            "--symbol-size",
            "16",
        ],
        &content(1_100_000),
        1,
        Duration::ZERO,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("standard input ended after 1100000 bytes") && err.contains("--fec nocode"),
        "{err}"
    );
    assert_eq!(err.matches("K'max").count(), 1, "said once: {err}");
}
