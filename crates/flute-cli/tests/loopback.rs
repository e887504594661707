//! End-to-end tests of the `flute` binary over loopback: every built-in FEC scheme through
//! a seeded lossy path (unicast 127.0.0.1 and multicast on `lo`), separate `send` and `recv`
//! processes, capture round trips, and argument errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{flute, free_port, run, spawn_recv};
use std::time::Duration;

fn demo(fec: &str, extra: &[&str]) -> Output {
    run(flute()
        .args([
            "demo", "--size", "150k", "--loss", "10%", "--fec", fec, "--rate", "200M",
        ])
        .args(extra))
}

fn assert_pass(out: &Output) {
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {s}");
    assert!(s.contains("PASS"), "{s}");
}

/// Multicast on `lo` works here? (Join plus a probe datagram.) Explains why not, otherwise.
fn multicast_on_lo() -> Result<(), String> {
    use flute_io::{TxBatch, UdpOptions, UdpReceiver, UdpSender};
    let lo = UdpOptions {
        interface: Some("lo".into()),
        ..UdpOptions::default()
    };
    let mut rx = UdpReceiver::bind("239.255.70.99:0".parse().unwrap(), None, &lo)
        .map_err(|e| e.to_string())?;
    let dest = SocketAddr::new("239.255.70.99".parse().unwrap(), rx.local_addr().port());
    let mut tx = UdpSender::open(dest, None, &lo).map_err(|e| e.to_string())?;
    let mut b = TxBatch::new();
    b.push(b"probe");
    tx.send(&b).map_err(|e| e.to_string())?;
    match rx.recv(Some(Duration::from_millis(500)), &mut |_, _| {}) {
        Ok(n) if n > 0 => Ok(()),
        Ok(_) => Err("a datagram sent to 239.255.70.99 on lo was not delivered".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Fails with the reason when IPv4 multicast on lo is unavailable (Linux provides it by
/// default); a test that needs it never passes without it.
fn require_multicast() {
    if let Err(why) = multicast_on_lo() {
        panic!("this test needs IPv4 multicast on lo, which is unavailable here: {why}");
    }
}

#[test]
fn demo_unicast_every_scheme_recovers_loss() {
    for fec in ["nocode", "rs", "rs2m", "rs129", "raptor", "raptorq", "ldpc"] {
        eprintln!("=== {fec}");
        assert_pass(&demo(fec, &["--unicast"]));
    }
}

#[test]
fn demo_multicast_on_lo_every_scheme() {
    require_multicast();
    for fec in ["nocode", "rs", "raptorq"] {
        let out = demo(fec, &[]);
        assert_pass(&out);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("multicast"),
            "did not use multicast"
        );
    }
}

#[test]
fn demo_with_content_encoding() {
    assert_pass(&demo("raptorq", &["--unicast", "--cenc", "gzip"]));
    assert_pass(&demo("rs", &["--unicast", "--cenc", "zlib"]));
    // zstd (outside RFC 6726): our sender's opt-in encoding, decoded by our receiver.
    assert_pass(&demo("raptorq", &["--unicast", "--cenc", "zstd"]));
}

fn write_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), b"hello flute\n".repeat(100)).unwrap();
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("sub/b.bin"), big).unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
}

fn same_file(a: &Path, b: &Path) {
    assert_eq!(
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()))
    );
}

/// Separate `flute recv` and `flute send` processes over 127.0.0.1, a directory tree.
#[test]
fn send_and_recv_processes_unicast() {
    for (fec, extra) in [
        ("nocode", vec![]),
        ("rs", vec!["--cenc", "deflate"]),
        ("raptorq", vec!["--repair", "30%"]),
        ("raptorq", vec!["--cenc", "zstd"]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let (src, out) = (tmp.path().join("src"), tmp.path().join("out"));
        write_tree(&src);
        let port = free_port();
        let recv = spawn_recv(port, &out);
        std::thread::sleep(Duration::from_millis(300));
        let s = run(flute()
            .args([
                "send",
                src.to_str().unwrap(),
                "--dest",
                &format!("127.0.0.1:{port}"),
                "--fec",
                fec,
                "--rate",
                "100M",
                "-q",
            ])
            .args(&extra));
        assert!(s.status.success());
        let r = recv.wait_with_output().unwrap();
        let rs = String::from_utf8_lossy(&r.stdout);
        eprintln!("{rs}{}", String::from_utf8_lossy(&r.stderr));
        assert!(r.status.success(), "{fec}: recv failed: {rs}");
        assert!(rs.contains("3 complete, 0 failed"), "{rs}");
        same_file(&src.join("a.txt"), &out.join("src/a.txt"));
        same_file(&src.join("sub/b.bin"), &out.join("src/sub/b.bin"));
        same_file(&src.join("empty"), &out.join("src/empty"));
        // Atomic writes: no temporary file left behind.
        let leftovers: Vec<_> = std::fs::read_dir(out.join("src"))
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

/// `send --no-send --pcap`, then `recv --pcap` and `inspect` on the capture.
#[test]
fn capture_round_trip_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, out, cap) = (
        tmp.path().join("src"),
        tmp.path().join("out"),
        tmp.path().join("s.pcap"),
    );
    write_tree(&src);
    let s = run(flute().args([
        "send",
        src.to_str().unwrap(),
        "--dest",
        "239.255.1.2:3400",
        "--fec",
        "raptorq",
        "--carousel",
        "2",
        "--pcap",
        cap.to_str().unwrap(),
        "--no-send",
        "--rate",
        "10M",
        "-q",
    ]));
    assert!(s.status.success());
    let r = run(flute().args([
        "recv",
        "--pcap",
        cap.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]));
    assert!(r.status.success(), "recv --pcap failed");
    same_file(&src.join("sub/b.bin"), &out.join("src/sub/b.bin"));
    let i = run(flute().args(["inspect", cap.to_str().unwrap(), "--summary"]));
    let text = String::from_utf8_lossy(&i.stdout);
    assert!(i.status.success(), "clean capture gave diagnostics: {text}");
    assert!(text.contains("FDT instance"), "{text}");
    assert!(text.contains("src/sub/b.bin"), "{text}");
    assert!(text.contains("3 object(s)"), "{text}");
    assert!(
        text.contains("carousel cycle") && !text.contains("carousel cycle none"),
        "{text}"
    );
    assert!(text.contains("closed (A flag)"), "{text}");
    // Paced at 10 Mbit/s: the session's bitrate in the capture is close to it.
    let j = run(flute().args(["inspect", cap.to_str().unwrap(), "--json"]));
    let session = String::from_utf8_lossy(&j.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "session")
        .unwrap();
    let bitrate = session["bitrate"].as_f64().unwrap();
    assert!((8.0e6..11.0e6).contains(&bitrate), "bitrate {bitrate}");
}

#[test]
fn bad_arguments_give_clear_errors() {
    let e = run(flute().args(["send", "/nonexistent/file", "--dest", "127.0.0.1:1"]));
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("cannot read /nonexistent/file"));
    let e = run(flute().args([
        "send",
        "Cargo.toml",
        "--dest",
        "127.0.0.1:1",
        "--rate",
        "fast",
    ]));
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("invalid rate"));
    let e = run(flute().args(["send", "Cargo.toml", "--dest", "nowhere"]));
    assert!(!e.status.success());
    let e = run(flute().args([
        "send",
        "Cargo.toml",
        "--dest",
        "127.0.0.1:1",
        "--fec",
        "turbo",
    ]));
    assert!(!e.status.success());
    let e = run(flute().args([
        "recv",
        "--listen",
        "127.0.0.1:0",
        "--out",
        "/proc/flute-cannot-write",
    ]));
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("output directory"));
    let e = run(flute().args([
        "send",
        "Cargo.toml",
        "--dest",
        "[::1]:9",
        "--interface",
        "no-such-if0",
    ]));
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("no network interface"));
    let e = run(flute().args(["inspect", "/nonexistent.pcap"]));
    assert_eq!(e.status.code(), Some(2));
}

/// An expected object that fails makes `recv` exit non-zero and say why.
#[test]
fn recv_reports_failed_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, out, cap) = (
        tmp.path().join("src"),
        tmp.path().join("out"),
        tmp.path().join("s.pcap"),
    );
    write_tree(&src);
    assert!(
        run(flute().args([
            "send",
            src.to_str().unwrap(),
            "--dest",
            "127.0.0.1:3400",
            "--pcap",
            cap.to_str().unwrap(),
            "--no-send",
            "-q",
        ]))
        .status
        .success()
    );
    // Drop half of the packets on receipt: No-Code with one pass cannot recover.
    let r = run(flute().args([
        "recv",
        "--pcap",
        cap.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--drop",
        "50%",
        "-q",
    ]));
    assert_eq!(r.status.code(), Some(1));
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("packets dropped by --drop"), "{text}");
    assert!(
        text.contains("failed:")
            || text.contains("incomplete:")
            || text.contains("that no FDT announced failed or stayed incomplete"),
        "{text}"
    );
}

/// Ctrl-C on `flute send --carousel forever` closes the session cleanly: the receiver sees
/// the close-session flag, so `recv --once` ends by itself with the file complete.
#[test]
fn ctrl_c_closes_the_session_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (file, out) = (tmp.path().join("a.txt"), tmp.path().join("out"));
    std::fs::write(&file, b"carousel until Ctrl-C\n".repeat(50)).unwrap();
    let port = free_port();
    let recv = spawn_recv(port, &out);
    std::thread::sleep(Duration::from_millis(300));
    let send = flute()
        .args([
            "send",
            file.to_str().unwrap(),
            "--dest",
            &format!("127.0.0.1:{port}"),
            "--carousel",
            "forever",
            "--rate",
            "2M",
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let status = Command::new("kill")
        .args(["-INT", &send.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let s = send.wait_with_output().unwrap();
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&s.stdout),
        String::from_utf8_lossy(&s.stderr)
    );
    assert!(
        s.status.success(),
        "graceful stop exits 0 after closing the session"
    );
    assert!(String::from_utf8_lossy(&s.stdout).contains("sent 1 file(s)"));
    let r = recv.wait_with_output().unwrap();
    let rs = String::from_utf8_lossy(&r.stdout);
    eprintln!("{rs}");
    assert!(r.status.success(), "{rs}");
    same_file(&file, &out.join("a.txt"));
}
