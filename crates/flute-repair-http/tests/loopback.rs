//! End to end over loopback HTTP (TS 26.346 §9.3): `flute-sender` sends a file through 30 %
//! burst loss, the receiver keeps it incomplete, the client repairs it from a repair server
//! the test starts on 127.0.0.1 or ::1; the file written by the file-system sink is
//! byte-identical, its MD5 equal to the original's (the receiver also checked
//! Content-MD5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use fec_schemes::Oti;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptorq::RaptorQ;
use flute_io::FsSink;
use flute_repair_http::{
    BackgroundServer, ClientConfig, RepairServer, ServedFile, ServerConfig, repair_all,
};
use md5::{Digest, Md5};

use common::*;

fn run(oti: Oti, repair: u32, data: Vec<u8>, bind: &str) {
    let srv_dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let path = write_file(srv_dir.path(), &data);
    let server = RepairServer::new(
        vec![ServedFile {
            content_location: LOCATION.into(),
            path,
            oti: oti.clone(),
        }],
        ServerConfig::default(),
    )
    .unwrap();
    let bg =
        BackgroundServer::start(Arc::new(server), bind.parse::<SocketAddr>().unwrap(), 2).unwrap();
    let (mut rx, _session, toi) = incomplete_receiver(
        &data,
        &oti,
        repair,
        Box::new(FsSink::new(out_dir.path().to_path_buf())),
    );
    assert!(rx.repair_request(toi).is_some());
    let cfg = ClientConfig {
        service_uris: vec![format!("http://{}/repair", bg.local_addr())],
        seed: 3,
        ..ClientConfig::default()
    };
    let report = repair_all(&mut rx, &cfg);
    assert_eq!(report.objects_finished, 1, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    let (done, failed) = outcome(&mut rx);
    assert!(!failed);
    let got = done.expect("delivered after repair");
    assert_eq!(got.len(), data.len());
    let written = std::fs::read(out_dir.path().join(LOCATION)).unwrap();
    assert_eq!(written, data, "byte-identical");
    assert_eq!(Md5::digest(&written), Md5::digest(&data));
    assert!(report.bytes_fetched > 0);
    bg.stop();
}

#[test]
fn ts26346_9_3_no_code_repaired_over_http_ipv4() {
    let data = data(1_000_000, 41);
    let oti = CompactNoCode::oti(data.len() as u64, 1400, 64);
    run(oti, 0, data, "127.0.0.1:0");
}

#[test]
fn ts26346_9_3_raptorq_repaired_over_http_ipv4() {
    let data = data(1_000_000, 42);
    let oti = RaptorQ::oti_for(data.len() as u64, 1400, 200).unwrap();
    run(oti, 10, data, "127.0.0.1:0");
}

#[test]
fn ts26346_9_3_no_code_repaired_over_http_ipv6() {
    let data = data(200_000, 43);
    let oti = CompactNoCode::oti(data.len() as u64, 1000, 64);
    run(oti, 0, data, "[::1]:0");
}

/// TS 26.346 §9.3.1: the sender announces the repair server in the FDT (`postFileRepair`);
/// a client told to use announced servers, and given none itself, repairs from it.
#[test]
fn ts26346_9_3_1_repair_from_the_server_announced_in_the_fdt() {
    let data = data(200_000, 44);
    let oti = CompactNoCode::oti(data.len() as u64, 1000, 64);
    let srv_dir = tempfile::tempdir().unwrap();
    let path = write_file(srv_dir.path(), &data);
    let server = RepairServer::new(
        vec![ServedFile {
            content_location: LOCATION.into(),
            path,
            oti: oti.clone(),
        }],
        ServerConfig::default(),
    )
    .unwrap();
    let bg = BackgroundServer::start(Arc::new(server), "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let announced = flute_repair::PostFileRepair {
        offset_time: std::time::Duration::ZERO,
        random_time_period: std::time::Duration::from_secs(1),
        service_uris: vec![format!("http://{}/repair", bg.local_addr())],
    };
    let run = |use_announced: bool| {
        let (mut rx, _, _) = incomplete_receiver_with(
            &data,
            &oti,
            0,
            Box::new(flute_receiver::MemorySink),
            vec![announced.to_element()],
        );
        let cfg = ClientConfig {
            use_announced,
            seed: 5,
            ..ClientConfig::default()
        };
        let report = repair_all(&mut rx, &cfg);
        (report, outcome(&mut rx))
    };
    let (report, (done, _)) = run(true);
    assert_eq!(report.objects_finished, 1, "{report:?}");
    assert_eq!(&done.unwrap()[..], &data[..]);
    // Not told to follow announcements, and no server of its own: nothing is fetched.
    let (report, (done, _)) = run(false);
    assert_eq!(report.objects_incomplete, 1);
    assert_eq!(report.requests, 0);
    assert!(done.is_none());
}
