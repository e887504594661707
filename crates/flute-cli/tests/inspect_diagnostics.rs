//! `flute inspect` on captures with known bad packets: each problem is reported with the
//! RFC clause it breaks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use flute_io::PcapWriter;

/// A Compact No-Code (codepoint 0) packet: TSI 32 bits, TOI 32 bits, `exts` extension
/// words, then SBN/ESI and the symbol.
fn packet(byte0: u8, toi: Option<u32>, cp: u8, exts: &[u8], tail: &[u8]) -> Vec<u8> {
    let o_bits = if toi.is_some() { 0x20 } else { 0x00 };
    let words = 2 + 1 + u8::from(toi.is_some()) + (exts.len() / 4) as u8;
    let mut p = vec![byte0, 0x80 | o_bits, words, cp];
    p.extend_from_slice(&0u32.to_be_bytes()); // CCI
    p.extend_from_slice(&7u32.to_be_bytes()); // TSI
    if let Some(t) = toi {
        p.extend_from_slice(&t.to_be_bytes());
    }
    p.extend_from_slice(exts);
    p.extend_from_slice(tail);
    p
}

fn fti_no_code(l: u64, e: u16, b: u32) -> Vec<u8> {
    let mut x = vec![64, 4];
    x.extend_from_slice(&l.to_be_bytes()[2..]);
    x.extend_from_slice(&[0, 0]);
    x.extend_from_slice(&e.to_be_bytes());
    x.extend_from_slice(&b.to_be_bytes());
    x
}

#[test]
fn every_bad_packet_is_diagnosed_with_its_clause() {
    let good_symbol = [0u8, 0, 0, 0, b'x', b'y'];
    let bad_xml = b"<FDT-Instance Expires=\"1\"><File".to_vec();
    let mut fdt_exts = vec![0xC0, 0x20, 0x00, 0x05]; // EXT_FDT V=2 id 5
    fdt_exts.extend(fti_no_code(bad_xml.len() as u64, 64, 8));
    let mut fdt_tail = vec![0, 0, 0, 0];
    fdt_tail.extend_from_slice(&bad_xml);
    // A well-formed FDT whose RaptorQ entry has 2 bytes of Scheme-Specific-Info (RFC 6330
    // §3.3.3 has 4): the XML is fine, the scheme refuses the OTI.
    let ssi_xml = br#"<FDT-Instance Expires="4000000000"><File TOI="1" Content-Location="a" Transfer-Length="10" FEC-OTI-FEC-Encoding-ID="6" FEC-OTI-Encoding-Symbol-Length="8" FEC-OTI-Scheme-Specific-Info="AQI="/></FDT-Instance>"#.to_vec();
    let mut ssi_exts = vec![0xC0, 0x20, 0x00, 0x06]; // EXT_FDT V=2 id 6
    ssi_exts.extend(fti_no_code(ssi_xml.len() as u64, 1400, 8));
    let mut ssi_tail = vec![0, 0, 0, 0];
    ssi_tail.extend_from_slice(&ssi_xml);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "good",
            packet(0x10, Some(1), 0, &fti_no_code(2, 2, 1), &good_symbol),
            "",
        ),
        (
            "LCT version 2",
            packet(0x20, Some(1), 0, &[], &good_symbol),
            "RFC 5651 §5.1 (V",
        ),
        (
            "HDR_LEN past the end",
            {
                let mut p = packet(0x10, Some(1), 0, &[], &good_symbol);
                p[2] = 40;
                p
            },
            "RFC 5651 §5.1 (HDR_LEN)",
        ),
        (
            "HEL = 0",
            packet(0x10, Some(1), 0, &[0, 0, 0, 0], &good_symbol),
            "RFC 5651 §5.2",
        ),
        (
            "EXT_FDT on TOI 1",
            packet(0x10, Some(1), 0, &[0xC0, 0x20, 0, 1], &good_symbol),
            "RFC 6726 §3.4.1",
        ),
        (
            "no TOI field",
            packet(0x10, None, 0, &[], &good_symbol),
            "TSI and TOI",
        ),
        (
            "FEC Payload ID truncated",
            packet(0x10, Some(1), 0, &fti_no_code(2, 2, 1), &[0, 0]),
            "RFC 5775 §4",
        ),
        (
            "unknown codepoint",
            packet(0x10, Some(1), 99, &[], &good_symbol),
            "codepoint",
        ),
        (
            "EXT_FTI too short",
            packet(0x10, Some(1), 0, &[64, 2, 0, 0, 0, 0, 0, 0], &good_symbol),
            "RFC 5775 §5.2",
        ),
        ("two bytes", vec![0x10, 0x80], "RFC 5651 §5.1"),
        (
            "FDT not XML",
            packet(0x10, Some(0), 0, &fdt_exts, &fdt_tail),
            "RFC 6726 §3.4.2 (FDT XML)",
        ),
        (
            "FDT entry with a bad RaptorQ Scheme-Specific-Info",
            packet(0x10, Some(0), 0, &ssi_exts, &ssi_tail),
            "RFC 5052 §4.1 (FDT FEC OTI)",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let cap = tmp.path().join("bad.pcap");
    let mut w = PcapWriter::create(&cap).unwrap();
    let (src, dst): (SocketAddr, SocketAddr) = (
        "10.1.1.1:4000".parse().unwrap(),
        "239.255.9.9:3400".parse().unwrap(),
    );
    for (i, (_, p, _)) in cases.iter().enumerate() {
        w.write_udp(
            Duration::from_millis(1_700_000_000_000 + i as u64),
            src,
            dst,
            p,
        )
        .unwrap();
    }
    // A non-UDP frame is skipped and counted, not diagnosed.
    let mut tcp = flute_io::pcap::build_udp_frame(src, dst, b"tcp?", 1, 64).unwrap();
    tcp[14 + 9] = 6;
    w.write_frame(Duration::from_secs(1_800_000_000), &tcp)
        .unwrap();
    w.finish().unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_flute"))
        .args(["inspect", cap.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "diagnostics must make inspect exit 1"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let diags: Vec<(u64, String, String)> = lines
        .iter()
        .filter(|v| v["type"] == "diagnostic")
        .map(|v| {
            (
                v["packet"].as_u64().unwrap(),
                v["clause"].as_str().unwrap().to_owned(),
                v["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for d in &diags {
        eprintln!("{d:?}");
    }
    for (i, (name, _, clause)) in cases.iter().enumerate() {
        let index = i as u64 + 1;
        let here: Vec<_> = diags.iter().filter(|d| d.0 == index).collect();
        if clause.is_empty() {
            assert!(here.is_empty(), "{name}: unexpected diagnostic {here:?}");
        } else {
            assert!(
                here.iter().any(|d| d.1.contains(clause)),
                "{name}: expected clause {clause:?}, got {here:?}"
            );
        }
    }
    let capture = lines.iter().find(|v| v["type"] == "capture").unwrap();
    assert_eq!(capture["not_udp"], 1);
    // The good packet is decoded field by field.
    let good = lines
        .iter()
        .find(|v| v["type"] == "packet" && v["index"] == 1)
        .unwrap();
    assert_eq!(good["lct"]["tsi"], 7);
    assert_eq!(good["payload_id"]["sbn"], 0);
    assert_eq!(good["fec_encoding_id"], 0);
    // The OTI is the typed model (the `serde` features of fec-schemes and fdt).
    assert_eq!(good["oti"]["transfer_length"], 2);
    assert_eq!(good["oti"]["encoding_id"], 0);

    // Text mode names the clause too.
    let text = Command::new(env!("CARGO_BIN_EXE_flute"))
        .args(["inspect", cap.to_str().unwrap()])
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.contains("!! RFC 5651 §5.2"), "{t}");
}
