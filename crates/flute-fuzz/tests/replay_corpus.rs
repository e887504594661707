//! Replays every committed fuzz seed (`fuzz/corpus/<target>/*`) through the same entry
//! point as the cargo-fuzz target, so that `cargo test` checks the corpus on any machine,
//! with no nightly toolchain and no fuzzer installed.

use std::path::PathBuf;

fn corpus_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus")
}

#[test]
fn replay_every_committed_seed() {
    let mut total = 0usize;
    for target in flute_fuzz::TARGETS {
        let dir = corpus_root().join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut n = 0usize;
        for entry in entries {
            let path = entry.unwrap().path();
            if !path.is_file() {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            assert!(flute_fuzz::run(target, &data));
            n += 1;
        }
        assert!(n >= 5, "corpus for {target} has only {n} seeds");
        total += n;
    }
    println!("replayed {total} seeds");
}

#[test]
fn every_fuzz_target_has_an_entry_point() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    let mut expected: Vec<String> = flute_fuzz::TARGETS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
}

/// The receiver seeds written from flute-sender sessions (`make_seeds`: one object per
/// FEC scheme, then gzip, zlib, zstd, then three objects) deliver their objects, so the
/// fuzzer starts from sessions that reach the decoders and the content pipeline.
#[test]
fn receiver_seeds_deliver_their_objects() {
    let dir = corpus_root().join("receiver_datagrams");
    for (seed, objects) in [
        (1, 1),
        (2, 1),
        (3, 1),
        (4, 1),
        (5, 1),
        (6, 1),
        (7, 1),
        (8, 3),
        (10, 3),
    ] {
        let data = std::fs::read(dir.join(format!("seed-{seed:03}"))).unwrap();
        assert_eq!(flute_fuzz::receiver_run(&data), objects, "seed-{seed:03}");
    }
}

/// The well-formed repair seeds reach the round-trip checks (they parse), so the fuzzer
/// starts from inputs past the first length check; the hostile ones are refused.
#[test]
fn repair_seeds_parse() {
    use flute_repair::{ContainerCodec, QueryLimits, RepairQuery};
    let dir = corpus_root().join("repair_query");
    for seed in 1..=5 {
        let data = std::fs::read(dir.join(format!("seed-{seed:03}"))).unwrap();
        let q = std::str::from_utf8(&data).unwrap();
        assert!(
            RepairQuery::parse(q, &QueryLimits::default()).is_ok(),
            "{q}"
        );
    }
    let dir = corpus_root().join("symbol_container");
    let registry = fec_schemes::FecRegistry::with_builtin();
    let otis = flute_fuzz::container_otis();
    for (seed, ok) in (1..=10).map(|s| (s, s <= 8)) {
        let data = std::fs::read(dir.join(format!("seed-{seed:03}"))).unwrap();
        let oti = &otis[usize::from(data[0]) % otis.len()];
        let scheme = registry.for_oti(oti).unwrap();
        let codec = ContainerCodec::new(&**scheme, oti).unwrap();
        assert_eq!(codec.parse(&data[1..], 64).is_ok(), ok, "seed-{seed:03}");
    }
}

/// The capture seeds reach the link, IP and UDP layers: the whole ones give their
/// datagrams (the fragmented one reassembled), the cut one those before the cut.
#[test]
fn pcap_seeds_give_datagrams() {
    let dir = corpus_root().join("pcap_read");
    for (seed, datagrams, reassembled) in [(1, 6, 0), (2, 6, 0), (4, 2, 0), (5, 1, 1)] {
        let data = std::fs::read(dir.join(format!("seed-{seed:03}"))).unwrap();
        let mut r = flute_io::PcapReader::new(std::io::Cursor::new(data)).unwrap();
        let mut n = 0;
        while let Ok(Some(_)) = r.next_datagram() {
            n += 1;
        }
        assert_eq!(n, datagrams, "seed-{seed:03}");
        assert_eq!(r.stats().reassembled, reassembled, "seed-{seed:03}");
    }
    let cut = std::fs::read(dir.join("seed-003")).unwrap();
    let mut r = flute_io::PcapReader::new(std::io::Cursor::new(cut)).unwrap();
    let mut n = 0;
    let end = loop {
        match r.next_datagram() {
            Ok(Some(_)) => n += 1,
            other => break other,
        }
    };
    assert_eq!(n, 5, "the datagrams before the cut");
    assert!(end.is_err(), "the cut is reported: {end:?}");
}
