//! The command line end to end: files written, their formats, and typed errors for bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

use clap::Parser as _;
use fec_schemes::FecRegistry;
use flute_fec_sim::{Args, SimError, run};

fn args(dir: &std::path::Path, extra: &[&str]) -> Args {
    let out = dir.to_str().unwrap().to_string();
    let mut v = vec!["flute-fec-sim", "-q", "-o", out.as_str()];
    v.extend_from_slice(extra);
    Args::try_parse_from(v).unwrap()
}

#[test]
fn writes_csv_jsonl_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let a = args(
        dir.path(),
        &[
            "--fec",
            "raptorq,rs,nocode",
            "--k",
            "16,32",
            "-t",
            "8",
            "--repair",
            "0.5",
            "--loss",
            "ge:0.05,0.3",
            "--loss",
            "iid:0.05..0.1/0.05",
            "--trials",
            "50",
        ],
    );
    let s = run(FecRegistry::with_builtin(), a).unwrap();
    // 3 schemes x 2 K x 3 loss models.
    assert_eq!(s.results.len(), 18);
    assert!(s.skipped.is_empty());

    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("scheme,fec_encoding_id,"), "{header}");
    for col in [
        "p_fail_lo",
        "p_fail_hi",
        "overhead_p99",
        "encode_mb_s",
        "decode_mb_s",
    ] {
        assert!(header.split(',').any(|c| c == col), "{col}");
    }
    assert_eq!(lines.count(), 18);
    // The loss spec with commas is quoted.
    assert!(csv.contains("\"ge:0.05,0.3\""));

    let jsonl = std::fs::read_to_string(dir.path().join("results.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 18);
    for r in &rows {
        let p = r["p_fail"].as_f64().unwrap();
        assert!(r["p_fail_lo"].as_f64().unwrap() <= p && p <= r["p_fail_hi"].as_f64().unwrap());
        assert!(r["curve"].is_array());
    }
    let overhead = std::fs::read_to_string(dir.path().join("overhead.csv")).unwrap();
    assert!(overhead.starts_with("scheme,k,symbol_size,repair,n,blocks,order,loss,overhead,"));

    for name in ["fail_vs_overhead", "fail_vs_loss"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("raptorq"),
            "{name}.svg"
        );
        let png = std::fs::read(dir.path().join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
    }
}

#[test]
fn unsupported_cases_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    // rs129 cannot have n = 300 > 255; raptor cannot have K = 2.
    let a = args(
        dir.path(),
        &[
            "--fec",
            "rs129,raptorq",
            "--k",
            "200",
            "-t",
            "8",
            "--repair",
            "0.5",
            "--trials",
            "5",
            "--no-plots",
        ],
    );
    let s = run(FecRegistry::with_builtin(), a).unwrap();
    assert_eq!(s.results.len(), 1);
    assert_eq!(s.skipped.len(), 1);
    assert!(
        s.skipped[0].contains("rs129") && s.skipped[0].contains("255"),
        "{:?}",
        s.skipped
    );

    let a = args(
        dir.path(),
        &["--fec", "raptor", "--k", "2", "--trials", "5"],
    );
    assert!(matches!(
        run(FecRegistry::with_builtin(), a),
        Err(SimError::NoCases)
    ));
}

#[test]
fn bad_input_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let reg = FecRegistry::with_builtin;
    let a = args(dir.path(), &["--fec", "turbo"]);
    assert!(matches!(run(reg(), a), Err(SimError::UnknownScheme { .. })));
    // 56403 * 101 symbols of 65535 bytes would be 373 GB: refused before any allocation.
    let a = args(
        dir.path(),
        &[
            "--fec", "raptorq", "--k", "56403", "-t", "65535", "--repair", "100",
        ],
    );
    assert!(matches!(run(reg(), a), Err(SimError::BadArg(_))));
    let a = args(dir.path(), &["--loss", "ge:0.5"]);
    assert!(matches!(run(reg(), a), Err(SimError::BadLoss { .. })));
    let a = args(dir.path(), &["--loss", "trace:/nonexistent/fec-sim-trace"]);
    assert!(matches!(run(reg(), a), Err(SimError::Trace { .. })));
    // clap refuses these before the simulator sees them.
    for bad in [
        vec!["x", "--k", "0"],
        vec!["x", "--k", "70000"],
        vec!["x", "-t", "0"],
        vec!["x", "--repair", "-1"],
        vec!["x", "--trials", "0"],
        vec!["x", "--confidence", "1"],
        vec!["x", "--order", "backwards"],
    ] {
        assert!(Args::try_parse_from(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        flute_fec_sim::main_with(reg(), ["x", "--k", "0"]),
        ExitCode::from(2)
    );
}

#[test]
fn a_loss_trace_drives_the_channel() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.txt");
    // Lose every 4th packet: 25 % loss, never two in a row.
    std::fs::write(&trace, "0\n0\n0\n1\n").unwrap();
    let spec = format!("trace:{}", trace.display());
    let a = args(
        dir.path(),
        &[
            "--fec",
            "rs",
            "--k",
            "30",
            "-t",
            "8",
            "--repair",
            "0.4",
            "--loss",
            &spec,
            "--trials",
            "40",
            "--no-plots",
        ],
    );
    let s = run(FecRegistry::with_builtin(), a).unwrap();
    let r = &s.results[0].row;
    assert_eq!(r.loss_rate, 0.25);
    // n = 42 packets: 10 or 11 lost, 31 or 32 arrive >= K = 30: RS always decodes.
    assert!((r.loss_observed - 0.25).abs() < 0.02, "{}", r.loss_observed);
    assert_eq!(r.block_failures, 0);
}
