//! The `serde` feature: every FDT model parsed from the fixtures survives a JSON round trip,
//! and TOIs (up to 112 bits) are written as strings so that no JSON reader rounds them.

#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use fdt::{FdtInstance, File, NtpSeconds};

#[test]
fn fixtures_round_trip_through_json() {
    let mut checked = 0;
    for name in [
        "rfc6726_basic.xml",
        "mbms_3gpp_full.xml",
        "mbms_2022_profiled.xml",
    ] {
        let inst = FdtInstance::parse(&common::fixture(name)).unwrap();
        let json = serde_json::to_string(&inst).unwrap();
        let back: FdtInstance = serde_json::from_str(&json).unwrap();
        assert_eq!(back, inst, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn a_112_bit_toi_is_a_string() {
    let mut inst = FdtInstance::new(NtpSeconds(3_900_000_000));
    let toi = (1u128 << 112) - 1;
    inst.files.push(File::new(toi, "file:///a"));
    let v: serde_json::Value = serde_json::to_value(&inst).unwrap();
    assert_eq!(v["files"][0]["toi"], toi.to_string());
    let back: FdtInstance = serde_json::from_value(v).unwrap();
    assert_eq!(back.files[0].toi, toi);
    // A plain number is read too.
    let f: File = serde_json::from_str(
        &serde_json::to_string(&inst.files[0])
            .unwrap()
            .replace(&format!("\"{toi}\""), "7"),
    )
    .unwrap();
    assert_eq!(f.toi, 7);
}
