//! `flute send --watch` with real files and real time (issue 17 §1): a packager's files
//! are sent once complete, old ones leave the FDT (`--keep`), and `flute recv` gets every
//! complete file whole. The sender writes a capture (`--no-send`), nothing leaves the host.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{flute, run};

/// The sender's stderr lines, as they come.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let err = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the sender to say it added `location`; returns every line seen until then.
/// Waits for the sender's "watching" line (it is ready for files).
fn until_watching(rx: &mpsc::Receiver<String>) {
    loop {
        let l = rx.recv_timeout(Duration::from_secs(20)).unwrap();
        if l.starts_with("watching") {
            return;
        }
    }
}

fn until_added(rx: &mpsc::Receiver<String>, location: &str, seen: &mut Vec<String>) {
    let want = format!("added {location} as TOI");
    loop {
        let l = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the sender never added {location}; said {seen:#?}"));
        let done = l.starts_with(&want);
        seen.push(l);
        if done {
            return;
        }
    }
}

fn interrupt(child: &Child) {
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn watch_sends_complete_files_and_keeps_the_newest() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let pcap = tmp.path().join("watch.pcap");
    let mut child = flute()
        .args(["send", "--watch", live.to_str().unwrap()])
        .args(["--dest", "127.0.0.1:3400", "--no-send", "--pcap"])
        .arg(&pcap)
        .args([
            "--carousel",
            "forever",
            "--keep",
            "2",
            "--fdt-interval",
            "0.1",
        ])
        .args(["--settle", "0.05", "--rate", "20M"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let mut seen = Vec::new();
    until_watching(&rx);
    // 1. Written under a temporary name, renamed into place.
    let seg1: Vec<u8> = (0..30_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(live.join(".seg1.tmp"), &seg1).unwrap();
    std::fs::rename(live.join(".seg1.tmp"), live.join("seg1.m4s")).unwrap();
    until_added(&rx, "live/seg1.m4s", &mut seen);
    // 2. Written in place by a slow writer that pauses far longer than the settle period.
    std::fs::create_dir(live.join("audio")).unwrap();
    let mut f = std::fs::File::create(live.join("audio/seg2.m4s")).unwrap();
    f.write_all(&[1u8; 5000]).unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(600)); // the writer's pause, not a sync
    f.write_all(&[2u8; 5000]).unwrap();
    drop(f);
    until_added(&rx, "live/audio/seg2.m4s", &mut seen);
    // 3. A third file: with --keep 2, seg1 leaves the carousel and the FDT.
    std::fs::write(live.join("seg3.m4s"), b"segment three").unwrap();
    until_added(&rx, "live/seg3.m4s", &mut seen);
    interrupt(&child);
    seen.extend(rx.iter());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{seen:#?}");
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("3 object(s) added, 1 removed"),
        "{summary}"
    );
    // Each file was added once: the half-written seg2 never was.
    let adds = seen.iter().filter(|l| l.starts_with("added ")).count();
    assert_eq!(adds, 3, "{seen:#?}");

    let recv = tmp.path().join("recv");
    let o = run(flute().args(["recv", "--pcap"]).arg(&pcap).args([
        "--out",
        recv.to_str().unwrap(),
        "-q",
    ]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = |p: &str| std::fs::read(recv.join(p)).unwrap();
    assert_eq!(got("live/seg1.m4s"), seg1);
    let mut seg2 = vec![1u8; 5000];
    seg2.extend([2u8; 5000]);
    assert_eq!(got("live/audio/seg2.m4s"), seg2);
    assert_eq!(got("live/seg3.m4s"), b"segment three");
    assert!(!Path::new(&recv.join("live/.seg1.tmp")).exists());

    // The last FDT instance describes the two newest files only.
    let o = run(flute().arg("inspect").arg(&pcap));
    let text = String::from_utf8_lossy(&o.stdout);
    let last = text
        .lines()
        .rfind(|l| l.contains("FDT instance") && l.contains("file(s)"))
        .unwrap_or_else(|| panic!("no FDT instance in {text}"));
    assert!(last.ends_with(": 2 file(s)"), "{last}");
}

/// The first Ctrl-C stops promptly (found by scripts/soak.sh at `--rate 200k`, where every
/// file in the carousel finished its current repetition first, a minute of sending): a file
/// whose first pass went out leaves at once, one still in its first pass finishes it, then
/// the session closes. Both arrive whole.
#[test]
fn ctrl_c_ends_repetitions_but_finishes_first_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let pcap = tmp.path().join("watch.pcap");
    let mut child = flute()
        .args(["send", "--watch", live.to_str().unwrap()])
        .args(["--dest", "127.0.0.1:3400", "--no-send", "--pcap"])
        .arg(&pcap)
        .args(["--carousel", "forever", "--fdt-interval", "0.5"])
        .args(["--settle", "0.05", "--rate", "200k"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let mut seen = Vec::new();
    until_watching(&rx);
    // 10 kB: its first pass takes about half a second at 200 kbit/s.
    let a: Vec<u8> = (0..10_000u32).map(|i| (i * 13 % 251) as u8).collect();
    std::fs::write(live.join(".a.tmp"), &a).unwrap();
    std::fs::rename(live.join(".a.tmp"), live.join("a.bin")).unwrap();
    until_added(&rx, "live/a.bin", &mut seen);
    std::thread::sleep(Duration::from_secs(3)); // a's first pass, with a wide margin
    // 100 kB: its first pass takes about 5 s, so Ctrl-C comes in the middle of it.
    let b: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 253) as u8).collect();
    std::fs::write(live.join(".b.tmp"), &b).unwrap();
    std::fs::rename(live.join(".b.tmp"), live.join("b.bin")).unwrap();
    until_added(&rx, "live/b.bin", &mut seen);
    interrupt(&child);
    seen.extend(rx.iter());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{seen:#?}");
    let summary = String::from_utf8_lossy(&out.stdout);
    // a left at once; b finished its first pass. Neither counts as removed (--keep).
    assert!(
        summary.contains("2 object(s) added, 0 removed"),
        "{summary}"
    );
    let want = "closing the session: 1 file(s) sent whole left the carousel; 1 file(s) still \
                in their first pass finish it first";
    assert!(seen.iter().any(|l| l == want), "{seen:#?}");
    let recv = tmp.path().join("recv");
    let o = run(flute().args(["recv", "--pcap"]).arg(&pcap).args([
        "--out",
        recv.to_str().unwrap(),
        "-q",
    ]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(recv.join("live/a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(recv.join("live/b.bin")).unwrap(), b);
}
