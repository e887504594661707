//! `--threads` (issue 19 §1): coding and decoding on worker threads change nothing that
//! leaves the program. `flute send --threads 1` and `--threads 3` write the same data
//! packets; `flute recv --threads 1` and `--threads 3` deliver the same files and the same
//! summary from a lossy capture.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

mod common;

use std::path::Path;

use common::{flute, run};
use lct_header::LctPacket;

fn content(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 7919) ^ (i >> 11)) as u8).collect()
}

/// The data packets of a capture (TOI ≠ 0: FDT Instances carry the wall-clock Expires,
/// which differs between two runs).
fn data_packets(pcap: &Path) -> Vec<Vec<u8>> {
    let mut r = flute_io::PcapReader::open(pcap).unwrap();
    let mut out = Vec::new();
    while let Some(d) = r.next_datagram().unwrap() {
        let p = LctPacket::new_checked(&d.payload[..]).expect("an LCT packet");
        if p.toi().is_some_and(|t| t.0 != 0) {
            out.push(d.payload);
        }
    }
    out
}

#[test]
fn threads_change_no_packet_and_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f.bin");
    let data = content(700_000);
    std::fs::write(&file, &data).unwrap();
    for fec in ["raptorq", "rs"] {
        let mut captures = Vec::new();
        for threads in ["1", "3"] {
            let pcap = tmp.path().join(format!("{fec}-{threads}.pcap"));
            let o = run(flute()
                .arg("send")
                .arg(&file)
                .args([
                    "--dest",
                    "239.255.1.1:3400",
                    "--no-send",
                    "-q",
                    "--fec",
                    fec,
                ])
                .args(["--repair", "10%", "--threads", threads, "--pcap"])
                .arg(&pcap));
            assert!(o.status.success(), "{fec}: send --threads {threads}");
            captures.push(pcap);
        }
        let (a, b) = (data_packets(&captures[0]), data_packets(&captures[1]));
        assert!(a.len() > 450, "{fec}: {} data packets", a.len());
        assert!(
            a == b,
            "{fec}: --threads 1 and 3 sent different data packets"
        );

        let mut summaries = Vec::new();
        for threads in ["1", "3"] {
            let out = tmp.path().join(format!("out-{fec}-{threads}"));
            let o = run(flute()
                .args([
                    "recv",
                    "-q",
                    "--drop",
                    "6%",
                    "--seed",
                    "3",
                    "--threads",
                    threads,
                ])
                .arg("--out")
                .arg(&out)
                .arg("--pcap")
                .arg(&captures[0]));
            assert!(o.status.success(), "{fec}: recv --threads {threads}");
            let got = std::fs::read(out.join("f.bin")).expect("f.bin received");
            assert!(got == data, "{fec}: --threads {threads}: not the file");
            // Times and rates differ between runs; the counts must not.
            let summary = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| !l.starts_with("active "))
                .map(|l| match l.strip_prefix("received ") {
                    Some(r) => {
                        let packets = r.split(" (").next().unwrap_or(r);
                        let counts = r.split("; ").nth(1).unwrap_or(r);
                        format!("received {packets}: {counts}")
                    }
                    None => l.to_owned(),
                })
                .collect::<Vec<_>>();
            summaries.push(summary);
        }
        assert_eq!(summaries[0], summaries[1], "{fec}: recv summaries differ");
    }
}
