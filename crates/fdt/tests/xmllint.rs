//! Schema validation of emitted documents with libxml2's `xmllint`.
//!
//! These tests are `#[ignore]`d because they need libxml2's `xmllint` (Debian package
//! `libxml2-utils`); `.ci/run` installs it and runs them with `--ignored`, and there a missing
//! `xmllint` is a failure, never a skip. The schemas are vendored in `tests/xsd/` (each file
//! says where it comes from and under what terms).
//!
//! libxml2 cannot validate integers of more than 24 decimal digits, so the generated models
//! keep TOIs below 10^24 here (the RFC schema's `xs:positiveInteger` itself is unbounded).

// Helpers outside #[test] functions panic on I/O failure: this is a test harness.
#![allow(clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use fdt::*;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn xsd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xsd")
}

/// Validates every document against `schema`; panics with xmllint's report on failure.
fn xmllint(schema: &str, tag: &str, docs: &[String]) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fdt-xmllint-{tag}"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let mut files = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let p = dir.join(format!("doc-{i}.xml"));
        std::fs::write(&p, d).expect("write doc");
        files.push(p);
    }
    let schema = xsd_dir().join(schema);
    assert!(schema.exists(), "schema {} not found", schema.display());
    let out = match Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(&schema)
        .args(&files)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!(
            "xmllint cannot be run ({e}): install libxml2-utils (apt-get install libxml2-utils)"
        ),
    };
    assert!(
        out.status.success(),
        "xmllint rejected emitted documents ({}):\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixtures() -> Vec<FdtInstance> {
    [
        "rfc6726_basic.xml",
        "rfc3926_flute_v1.xml",
        "mbms_3gpp_full.xml",
        "mbms_2022_profiled.xml",
        "no_namespace.xml",
    ]
    .iter()
    .map(|n| FdtInstance::parse(&common::fixture(n)).unwrap_or_else(|e| panic!("{n}: {e}")))
    .collect()
}

fn generated(n: usize) -> Vec<FdtInstance> {
    let config = Config::default();
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = common::instance(10u128.pow(23));
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("strategy").current())
        .collect()
}

fn emitted(profile: Profile) -> Vec<String> {
    fixtures()
        .into_iter()
        .chain(generated(64))
        .map(|m| {
            m.emit(profile)
                .unwrap_or_else(|e| panic!("{profile:?}: {e}"))
        })
        .collect()
}

#[test]
#[ignore = "needs xmllint (libxml2-utils); .ci/run installs it and runs this with --ignored"]
fn emitted_rfc6726_documents_validate_against_rfc6726_xsd() {
    xmllint("rfc6726-fdt.xsd", "rfc6726", &emitted(Profile::Rfc6726));
}

#[test]
#[ignore = "needs xmllint (libxml2-utils); .ci/run installs it and runs this with --ignored"]
fn emitted_3gpp_documents_validate_against_main_xsd() {
    xmllint(
        "3gpp/FLUTE-FDT-3GPP-Main.xsd",
        "3gpp",
        &emitted(Profile::Mbms3gpp),
    );
}

#[test]
#[ignore = "needs xmllint (libxml2-utils); .ci/run installs it and runs this with --ignored"]
fn hand_written_fixtures_validate() {
    let read = |n: &str| String::from_utf8(common::fixture(n)).expect("utf-8");
    xmllint(
        "rfc6726-fdt.xsd",
        "fixture-rfc",
        &[read("rfc6726_basic.xml")],
    );
    xmllint(
        "3gpp/FLUTE-FDT-3GPP-Main.xsd",
        "fixture-3gpp",
        &[read("mbms_3gpp_full.xml")],
    );
    xmllint(
        "3gpp/TS26346_FLUTE-FDT_Profiled.xsd",
        "fixture-2022",
        &[read("mbms_2022_profiled.xml")],
    );
}
