//! `FsSink` behind a receiver: files written under the root, Content-Locations that would
//! leave it refused (catalogue item 51), nothing left behind by failed objects.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use fec_schemes::{FecEncodingId, FecRegistry};
use flute_io::{FsSink, OffloadSink};
use flute_receiver::{
    Endpoint, FailReason, ObjectLocation, ObjectSink, Receiver, ReceiverConfig, ReceiverEvent,
};
use flute_testkit::{MiniSender, ObjectSpec, Rng, VirtualClock};

fn data(seed: u64, n: usize) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

#[derive(Default)]
struct Outcome {
    failed: BTreeMap<u128, FailReason>,
}

#[test]
fn fs_sink_writes_files_and_refuses_escapes() {
    scenario("plain", |dir| Box::new(FsSink::new(dir)));
}

/// The same through `OffloadSink`: writes and Content-MD5 on the worker thread, the same
/// files, the same refusals, the same MD5 mismatch (issue 19 §1).
#[test]
fn offload_sink_gives_the_same_outcome() {
    scenario("offload", |dir| {
        Box::new(OffloadSink::new(FsSink::new(dir), 8).unwrap())
    });
}

fn scenario(name: &str, sink: impl Fn(&std::path::Path) -> Box<dyn ObjectSink>) {
    let dir = std::env::temp_dir().join(format!("flute-rcv-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut tx = MiniSender::new(
        1,
        FecRegistry::with_builtin()
            .get(FecEncodingId::COMPACT_NO_CODE, None)
            .unwrap()
            .clone(),
    );
    tx.add(ObjectSpec::new(1, "sub/dir/ok.bin", data(1, 5000)));
    tx.add(ObjectSpec::new(2, "../escape.bin", data(2, 10)));
    tx.add(ObjectSpec::new(3, "/etc/abs.bin", data(3, 10)));
    tx.add(ObjectSpec::new(
        4,
        "http://example.com/web/page.html",
        data(4, 10),
    ));
    let mut o = ObjectSpec::new(5, "bad-md5.bin", data(5, 10));
    o.md5_override = Some([1; 16]);
    tx.add(o);
    let mut rx = Receiver::with_sink(ReceiverConfig::default(), sink(&dir));
    let clock = VirtualClock::new();
    let mut out = Outcome::default();
    let mut files = Vec::new();
    for p in tx.carousel_round() {
        rx.handle_datagram(clock.now(), Endpoint::default(), &p);
        while let Some(ev) = rx.poll_event() {
            match ev {
                ReceiverEvent::ObjectComplete {
                    toi,
                    location: ObjectLocation::File(path),
                    ..
                } => files.push((toi, path)),
                ReceiverEvent::ObjectFailed { toi, reason, .. } => {
                    out.failed.insert(toi.0, reason);
                }
                _ => {}
            }
        }
    }
    assert_eq!(files.len(), 2, "{files:?} {:?}", out.failed);
    assert_eq!(
        std::fs::read(dir.join("sub/dir/ok.bin")).unwrap(),
        tx.objects[0].data
    );
    assert_eq!(
        std::fs::read(dir.join("web/page.html")).unwrap(),
        tx.objects[3].data
    );
    assert!(matches!(out.failed.get(&2), Some(FailReason::Sink(_))));
    assert!(matches!(out.failed.get(&3), Some(FailReason::Sink(_))));
    assert_eq!(out.failed.get(&5), Some(&FailReason::Md5Mismatch));
    assert!(!dir.join("bad-md5.bin").exists());
    // No temporary files left behind.
    let leftovers: Vec<_> = walk(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!dir.parent().unwrap().join("escape.bin").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                v.extend(walk(&path));
            } else {
                v.push(path);
            }
        }
    }
    v
}

/// A receiver dropped with an object half written (a capture cut short) must not wait for
/// the writer thread: the unfinished writer outlives the sink. Before the fix `flute recv`
/// hung at exit on such a capture.
#[test]
fn offload_sink_dropped_with_an_unfinished_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut tx = MiniSender::new(
        1,
        FecRegistry::with_builtin()
            .get(FecEncodingId::COMPACT_NO_CODE, None)
            .unwrap()
            .clone(),
    );
    tx.add(ObjectSpec::new(1, "half.bin", data(7, 200_000)));
    let packets = tx.carousel_round();
    let mut rx = Receiver::with_sink(
        ReceiverConfig::default(),
        Box::new(OffloadSink::new(FsSink::new(dir.path()), 4).unwrap()),
    );
    let clock = VirtualClock::new();
    for p in &packets[..packets.len() / 2] {
        rx.handle_datagram(clock.now(), Endpoint::default(), p);
    }
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(rx);
        let _ = done_tx.send(());
    });
    assert!(
        done_rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .is_ok(),
        "dropping the receiver hung"
    );
    assert!(!dir.path().join("half.bin").exists());
}
