//! A FEC scheme defined outside the workspace's crates (here: in this test, the XOR parity
//! tutorial of `fec-schemes`) runs through all of `flute send`, `recv` and `inspect` by
//! handing a registry to `flute_cli::run` (issue 14 §2): no closed list of schemes in the CLI.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::ExitCode;
use std::sync::Arc;

use fec_schemes::FecRegistry;

#[path = "../../fec-schemes/examples/xor_parity.rs"]
#[allow(dead_code, unreachable_pub)]
mod xor_parity;

fn registry() -> FecRegistry {
    let mut r = FecRegistry::with_builtin();
    r.register(Arc::new(xor_parity::XorParity)).unwrap();
    r
}

fn flute(args: &[&str]) -> ExitCode {
    let mut all = vec!["flute"];
    all.extend_from_slice(args);
    flute_cli::run(registry(), all)
}

#[test]
fn a_registered_scheme_runs_through_send_recv_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    std::fs::write(src.join("a.bin"), &data).unwrap();
    let pcap = tmp.path().join("x.pcap");
    let pcap_s = pcap.to_str().unwrap();
    assert_eq!(
        flute(&[
            "send",
            src.to_str().unwrap(),
            "--dest",
            "239.255.1.1:3400",
            "--fec",
            "130/28673",
            "--no-send",
            "--pcap",
            pcap_s,
            "-q",
        ]),
        ExitCode::SUCCESS
    );
    // Every packet carries FEC Encoding ID 130 with our Instance ID in EXT_FTI.
    let mut reader = flute_io::PcapReader::open(&pcap).unwrap();
    let mut data_packets = 0;
    while let Some(d) = reader.next_datagram().unwrap() {
        let p = lct_header::LctPacket::new_checked(&d.payload[..]).unwrap();
        if p.toi().unwrap().0 != 0 {
            assert_eq!(p.codepoint(), 130);
            data_packets += 1;
        }
    }
    assert!(
        data_packets > 71,
        "source symbols plus XOR parity: {data_packets}"
    );

    let out = tmp.path().join("out");
    assert_eq!(
        flute(&[
            "recv",
            "--pcap",
            pcap_s,
            "--out",
            out.to_str().unwrap(),
            "-q"
        ]),
        ExitCode::SUCCESS
    );
    assert_eq!(std::fs::read(out.join("src/a.bin")).unwrap(), data);
    assert_eq!(flute(&["inspect", pcap_s, "--summary"]), ExitCode::SUCCESS);

    // The same CLI without the scheme says which schemes it has.
    let code = flute_cli::run(
        FecRegistry::with_builtin(),
        [
            "flute",
            "send",
            src.to_str().unwrap(),
            "--dest",
            "239.255.1.1:3400",
            "--fec",
            "130/28673",
            "--no-send",
            "--pcap",
            pcap_s,
        ],
    );
    assert_eq!(code, ExitCode::from(2));
}
