//! The benchmark bins added for issues 17 and 19 §3 do what their numbers rely on, on a
//! small scale (not timed): `scale` delivers every object with the right content, and
//! `peer_cli` (the `flute` crate 1.11.7 behind `scripts/bench_cli.sh`) carries a file
//! through a capture unchanged for each scheme the script compares.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Command;

#[test]
fn scale_delivers_every_object() {
    let out = Command::new(env!("CARGO_BIN_EXE_scale"))
        .args([
            "--sessions",
            "20",
            "--objects",
            "200",
            "--sweep",
            "10,100",
            "--reps",
            "1",
        ])
        .output()
        .expect("run scale");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "scale failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two rows in (a), two in (b), each with the content check passed; (b)'s rows also
    // carry (c) the sender's build time and (d) the table floor.
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| yes |"))
        .collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert_eq!(
        rows.iter()
            .filter(|l| l.split('|').filter(|c| !c.trim().is_empty()).count() == 9)
            .count(),
        2,
        "{text}"
    );
    assert!(text.contains("(c) sender build time per object"), "{text}");
    assert!(text.contains("(d) table floor per object"), "{text}");
    assert!(
        text.contains("| many sessions | 20 | 200 | 400 |"),
        "{text}"
    );
    assert!(!text.contains("| NO |"), "{text}");
}

#[test]
fn peer_cli_round_trips_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.bin");
    let data: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    for fec in ["nocode", "rs", "raptorq"] {
        let cap = dir.path().join(format!("{fec}.pcap"));
        let out = dir.path().join(format!("out-{fec}"));
        let st = Command::new(env!("CARGO_BIN_EXE_peer_cli"))
            .arg("send")
            .arg(&file)
            .arg(&cap)
            .args(["--fec", fec])
            .output()
            .expect("peer_cli send");
        assert!(
            st.status.success(),
            "{fec} send: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        let st = Command::new(env!("CARGO_BIN_EXE_peer_cli"))
            .arg("recv")
            .arg(&cap)
            .arg(&out)
            .output()
            .expect("peer_cli recv");
        assert!(
            st.status.success(),
            "{fec} recv: {}",
            String::from_utf8_lossy(&st.stderr)
        );
        assert_eq!(std::fs::read(out.join("in.bin")).unwrap(), data, "{fec}");
    }
}
