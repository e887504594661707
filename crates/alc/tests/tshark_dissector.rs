//! Interop: packets emitted by `alc` are dissected field by field by Wireshark's ALC/LCT/FEC
//! dissectors (tshark), and the fields match what we wrote.
//!
//! This needs tshark, so the test is `#[ignore]`d in a plain `cargo test`; `.ci/run` installs
//! tshark and runs it with `--ignored`, where a missing tshark is a failure, never a skip.
//!
//! Wireshark decodes the FEC Payload ID according to the FEC Encoding ID taken from the
//! codepoint (or EXT_FTI), so each scheme is checked. Known gaps of the dissector (4.0), which
//! are therefore not compared:
//! - FEC Encoding ID 2 is left out: per `docs/spec-notes.md` §2.4, Wireshark decodes its
//!   EXT_FTI wrongly (it is no oracle there).
//! - FEC Encoding ID 5: Wireshark does not decode its FEC Payload ID (SBN 24 | ESI 8), so only
//!   the LCT fields and EXT_FTI are compared.
//! - EXT_CENC: RFC 6726 §3.4.3 puts CENC in the byte after HET (`HET=193 | CENC | Reserved`),
//!   which is what we send; Wireshark reads the *last* byte of the extension. We therefore
//!   check that Wireshark sees 0 there, i.e. that our reserved bits are zero, and check the
//!   CENC value itself with our own parser (lct-header tests). See docs/rfc-notes.md.

use std::io::Write;
use std::process::Command;

use alc::AlcRepr;
use fec_schemes::{FecEncodingId, FecRegistry, Oti, PayloadId, SchemeSpecific};
use lct_header::{ContentEncoding, ExtCenc, ExtFdt, Toi, Tsi};

const PORT: u16 = 4001;

/// One Ethernet/IPv4/UDP frame around `payload` (UDP checksum 0 = none, allowed on IPv4).
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0x01, 0x00, 0x5e, 0x7f, 0x00, 0x01]); // dst MAC (multicast)
    f.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, 0x00, 0x01]); // src MAC
    f.extend_from_slice(&[0x08, 0x00]);
    let total = 20 + 8 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        1,
        17,
        0,
        0,
        127,
        0,
        0,
        1,
        239,
        255,
        0,
        1,
    ];
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(c[0]) << 8 | u32::from(c[1]))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    let ck = !(sum as u16);
    ip[10] = (ck >> 8) as u8;
    ip[11] = ck as u8;
    f.extend_from_slice(&ip);
    let ulen = 8 + payload.len();
    f.extend_from_slice(&[
        0x9c,
        0x41,
        (PORT >> 8) as u8,
        PORT as u8,
        (ulen >> 8) as u8,
        ulen as u8,
        0,
        0,
    ]);
    f.extend_from_slice(payload);
    f
}

fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, p) in packets.iter().enumerate() {
        let f = frame(p);
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

struct Expected {
    tsi: u64,
    toi: u64,
    codepoint: u8,
    sbn: u32,
    esi: u32,
    fti: Option<(u64, u16)>,
    fdt_instance: Option<u32>,
    cenc: Option<u8>,
    close_object: bool,
}

fn oti_for(id: u8) -> Oti {
    let (ss, max_n, instance) = match id {
        1 => (SchemeSpecific::Raptor { z: 1, n: 1, al: 4 }, None, None),
        6 => (SchemeSpecific::RaptorQ { z: 1, n: 1, al: 4 }, None, None),
        5 => (SchemeSpecific::None, Some(12), None),
        129 => (
            SchemeSpecific::None,
            Some(12),
            Some(fec_schemes::FecInstanceId(0)),
        ),
        _ => (SchemeSpecific::None, None, None),
    };
    Oti {
        encoding_id: FecEncodingId(id),
        instance_id: instance,
        transfer_length: 1000,
        encoding_symbol_length: 64,
        max_source_block_length: 8,
        max_encoding_symbols: max_n,
        scheme_specific: ss,
    }
}

#[test]
#[ignore = "needs tshark; .ci/run installs it and runs this with --ignored"]
fn tshark_dissects_our_packets_field_by_field() {
    let registry = FecRegistry::with_builtin();
    let mut packets = Vec::new();
    let mut expected = Vec::new();
    let symbol = [0xA5u8; 64];
    for (n, id) in [0u8, 1, 5, 6, 129].into_iter().enumerate() {
        let oti = oti_for(id);
        let scheme = registry
            .for_oti(&oti)
            .unwrap_or_else(|e| panic!("scheme {id}: {e}"));
        let tsi = 0x1234 + n as u64;
        for (i, (sbn, esi)) in [(0u32, 0u32), (1, 3)].into_iter().enumerate() {
            let toi = 0x10 + i as u64;
            let mut repr = AlcRepr::new(
                Tsi(tsi),
                Toi(u128::from(toi)),
                &oti,
                PayloadId {
                    sbn,
                    esi,
                    source_block_length: Some(8),
                },
            )
            .unwrap();
            repr.send_fti = i == 0;
            repr.lct.close_object = i == 1;
            let mut buf = vec![0u8; 256];
            let len = repr.emit(&**scheme, &symbol, &mut buf).unwrap();
            buf.truncate(len);
            packets.push(buf);
            expected.push(Expected {
                tsi,
                toi,
                codepoint: id,
                sbn,
                esi,
                fti: repr.send_fti.then_some((1000, 64)),
                fdt_instance: None,
                cenc: None,
                close_object: i == 1,
            });
        }
    }
    // An FDT packet: TOI 0, EXT_FDT (V=2) and EXT_CENC (gzip).
    let oti = oti_for(0);
    let scheme = registry.for_oti(&oti).unwrap();
    let mut repr = AlcRepr::new(
        Tsi(0x42),
        Toi(0),
        &oti,
        PayloadId {
            sbn: 0,
            esi: 0,
            source_block_length: None,
        },
    )
    .unwrap();
    repr.fdt = Some(ExtFdt {
        version: 2,
        instance_id: 0xABCDE,
    });
    repr.cenc = Some(ExtCenc {
        encoding: ContentEncoding::Gzip,
    });
    repr.send_fti = true;
    let mut buf = vec![0u8; 256];
    let len = repr.emit(&**scheme, &symbol, &mut buf).unwrap();
    buf.truncate(len);
    packets.push(buf);
    expected.push(Expected {
        tsi: 0x42,
        toi: 0,
        codepoint: 0,
        sbn: 0,
        esi: 0,
        fti: Some((1000, 64)),
        fdt_instance: Some(0xABCDE),
        cenc: Some(3),
        close_object: false,
    });

    let dir = std::env::temp_dir().join(format!("alc-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("alc.pcap");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&pcap(&packets))
        .unwrap();

    let fields = [
        "rmt-lct.version",
        "rmt-lct.tsi",
        "rmt-lct.toi",
        "rmt-lct.codepoint",
        "rmt-lct.flags.close_object",
        "rmt-fec.sbn",
        "rmt-fec.esi",
        "rmt-fec.fti.transfer_length",
        "rmt-fec.fti.encoding_symbol_length",
        "rmt-lct.fdt_instance_id",
        "rmt-lct.cenc",
        "rmt-fec.encoding_id",
        "_ws.malformed",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&path).args([
        "-d",
        &format!("udp.port=={PORT},alc"),
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=f",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("tshark cannot run ({e}): install it (apt-get install tshark)"));
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), expected.len(), "tshark output:\n{text}");
    let num = |s: &str| -> u64 {
        let s = s.trim();
        if let Some(h) = s.strip_prefix("0x") {
            u64::from_str_radix(h, 16).unwrap()
        } else {
            s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
        }
    };
    for (i, (row, e)) in rows.iter().zip(&expected).enumerate() {
        let ctx = format!("packet {i} (codepoint {}): {row:?}", e.codepoint);
        assert_eq!(num(row[0]), 1, "{ctx}: LCT version");
        assert_eq!(num(row[1]), e.tsi, "{ctx}: TSI");
        assert_eq!(num(row[2]), e.toi, "{ctx}: TOI");
        assert_eq!(num(row[3]), u64::from(e.codepoint), "{ctx}: codepoint");
        assert_eq!(
            row[4] == "1" || row[4] == "True",
            e.close_object,
            "{ctx}: close-object flag"
        );
        if e.codepoint != 5 {
            assert_eq!(num(row[5]), u64::from(e.sbn), "{ctx}: SBN");
            assert_eq!(num(row[6]), u64::from(e.esi), "{ctx}: ESI");
        }
        match e.fti {
            Some((l, t)) => {
                assert_eq!(num(row[7]), l, "{ctx}: FTI transfer length");
                if e.codepoint != 5 {
                    assert_eq!(num(row[8]), u64::from(t), "{ctx}: FTI symbol length");
                }
            }
            None => assert!(row[7].is_empty(), "{ctx}: no EXT_FTI expected"),
        }
        match e.fdt_instance {
            Some(id) => assert_eq!(num(row[9]), u64::from(id), "{ctx}: FDT instance ID"),
            None => assert!(row[9].is_empty(), "{ctx}: no EXT_FDT expected"),
        }
        match e.cenc {
            // Wireshark reads the reserved low byte (see the module docs): it must be 0.
            Some(c) => {
                assert_eq!(num(row[10]), 0, "{ctx}: EXT_CENC reserved bits");
                assert_eq!(packets[i][0x21], c, "{ctx}: our CENC byte");
            }
            None => assert!(row[10].is_empty(), "{ctx}: no EXT_CENC expected"),
        }
        assert!(
            row.get(12).is_none_or(|m| m.is_empty()),
            "{ctx}: tshark flags the packet malformed"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
