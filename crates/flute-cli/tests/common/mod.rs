//! What the `flute` command tests share: running the binary, and a free loopback port.

#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The `flute` binary of this build.
pub fn flute() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flute"))
}

/// Runs `cmd`, echoes its output (shown when a test fails), returns it.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run flute");
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `flute recv --listen 127.0.0.1:PORT --out OUT --once --timeout 20 -q`, started in the
/// background with its output captured.
pub fn spawn_recv(port: u16, out: &Path) -> Child {
    flute()
        .args([
            "recv",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--out",
            out.to_str().unwrap(),
            "--once",
            "--timeout",
            "20",
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `flute send PATH --dest 239.255.1.1:3400 --no-send --pcap PCAP -q` plus `extra`: a
/// capture written on a virtual clock. Panics if the command fails.
pub fn capture(path: &Path, pcap: &Path, extra: &[&str]) -> Output {
    let o = run(flute()
        .args(["send", path.to_str().unwrap(), "--dest", "239.255.1.1:3400"])
        .args(["--no-send", "--pcap", pcap.to_str().unwrap(), "-q"])
        .args(extra));
    assert!(o.status.success(), "flute send to a capture failed");
    o
}
