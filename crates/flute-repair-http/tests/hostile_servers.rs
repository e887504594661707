//! The repair client against hostile servers (TS 26.346 §9.3): wrong Content-Type,
//! truncation, wrong length indicators, symbols of the wrong size, Payload IDs outside the
//! block, a slow trickle, a redirect loop, an oversized answer, an error status. Each ends
//! in a typed error; the object stays incomplete, nothing is written, and a good server
//! still completes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::{FecRegistry, Oti, PayloadId};
use flute_io::FsSink;
use flute_receiver::{Receiver, RepairError, SessionId};
use flute_repair::{ContainerCodec, ContainerError, QueryLimits, RepairQuery, ResponseLimits};
use flute_repair_http::{
    BackgroundServer, ClientConfig, FetchError, RepairServer, ServedFile, ServerConfig, repair_all,
};

use common::*;

const N: usize = 60_000;
const T: u16 = 1000;

fn oti() -> Oti {
    CompactNoCode::oti(N as u64, T, 64)
}

fn file() -> Vec<u8> {
    data(N, 77)
}

/// The correct answer to the request whose head is `head` (GET).
fn answer_for(head: &str) -> Vec<u8> {
    let target = head.split_whitespace().nth(1).unwrap();
    let query = target.split_once('?').unwrap().1;
    let q = RepairQuery::parse(query, &QueryLimits::default()).unwrap();
    let oti = oti();
    let data = file();
    let reg = FecRegistry::with_builtin();
    let scheme = reg.for_oti(&oti).unwrap();
    let codec = ContainerCodec::new(&**scheme, &oti).unwrap();
    flute_repair::respond(&codec, &q, &ResponseLimits::default(), &mut |off, buf| {
        let off = off as usize;
        buf.copy_from_slice(&data[off..off + buf.len()]);
        Ok(())
    })
    .unwrap()
}

fn http(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

const SSC: &str = "application/simpleSymbolContainer";

struct Setup {
    rx: Receiver,
    session: SessionId,
    toi: flute_receiver::Toi,
    out: tempfile::TempDir,
}

fn setup() -> Setup {
    let out = tempfile::tempdir().unwrap();
    let (rx, session, toi) = incomplete_receiver(
        &file(),
        &oti(),
        0,
        Box::new(FsSink::new(out.path().to_path_buf())),
    );
    Setup {
        rx,
        session,
        toi,
        out,
    }
}

fn client(addrs: &[SocketAddr]) -> ClientConfig {
    ClientConfig {
        service_uris: addrs.iter().map(|a| format!("http://{a}/repair")).collect(),
        max_attempts: 2,
        retry_base: Duration::from_millis(5),
        idle_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(3),
        seed: 11,
        ..ClientConfig::default()
    }
}

fn nothing_written(dir: &Path) -> bool {
    !dir.join(LOCATION).exists()
}

/// Runs the client against one scripted server and checks the object stayed incomplete;
/// returns the errors.
fn against(
    script: impl Fn(&str) -> Vec<(Duration, Vec<u8>)> + Send + Sync + 'static,
) -> Vec<FetchError> {
    let mut s = setup();
    let before = s.rx.repair_request(s.toi).unwrap();
    let addr = scripted(script);
    let report = repair_all(&mut s.rx, &client(&[addr]));
    assert_eq!(report.objects_finished, 0, "{report:?}");
    assert_eq!(report.objects_incomplete, 1, "{report:?}");
    let (done, failed) = outcome(&mut s.rx);
    assert!(done.is_none() && !failed);
    assert_eq!(
        s.rx.repair_request(s.toi).unwrap(),
        before,
        "object unchanged"
    );
    assert!(nothing_written(s.out.path()));
    assert!(!report.errors.is_empty());
    let _ = s.session;
    report.errors.into_iter().map(|(_, e)| e).collect()
}

fn now(b: Vec<u8>) -> Vec<(Duration, Vec<u8>)> {
    vec![(Duration::ZERO, b)]
}

#[test]
fn client_refuses_a_wrong_content_type() {
    let errs = against(|h| now(http("200 OK", "text/html", &answer_for(h))));
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::ContentType(Some(t)) if t == "text/html")),
        "{errs:?}"
    );
    let errs = against(|h| {
        let body = answer_for(h);
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(&body);
        now(r)
    });
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::ContentType(None))),
        "{errs:?}"
    );
}

#[test]
fn client_refuses_a_truncated_body() {
    let errs = against(|h| {
        let body = answer_for(h);
        let mut r = http("200 OK", SSC, &body);
        r.truncate(r.len() - body.len() / 2);
        now(r)
    });
    assert!(
        errs.iter().all(|e| matches!(e, FetchError::Http(_))),
        "{errs:?}"
    );
}

#[test]
fn client_refuses_wrong_length_indicators() {
    let errs = against(|h| {
        let mut body = answer_for(h);
        let li = u16::from_be_bytes([body[0], body[1]]) + 1;
        body[..2].copy_from_slice(&li.to_be_bytes());
        now(http("200 OK", SSC, &body))
    });
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::Body(RepairError::Container(_)))),
        "{errs:?}"
    );
}

#[test]
fn client_refuses_symbols_of_the_wrong_size() {
    let errs = against(|_| {
        // Symbols of T - 1 bytes: the body no longer splits into T-byte symbols.
        let mut o = oti();
        o.encoding_symbol_length = T - 1;
        let reg = FecRegistry::with_builtin();
        let scheme = reg.for_oti(&o).unwrap();
        let codec = ContainerCodec::new(&**scheme, &o).unwrap();
        let mut body = Vec::new();
        let id = PayloadId {
            sbn: 0,
            esi: 0,
            source_block_length: None,
        };
        codec
            .write_group(&id, &vec![7u8; 3 * usize::from(T - 1)], &mut body)
            .unwrap();
        now(http("200 OK", SSC, &body))
    });
    assert!(
        errs.iter().all(|e| matches!(
            e,
            FetchError::Body(RepairError::Container(ContainerError::Truncated { .. }))
        )),
        "{errs:?}"
    );
}

#[test]
fn client_refuses_payload_ids_outside_the_block() {
    // SBN 1 of a one-block object, then an ESI beyond the block.
    let errs = against(|h| {
        let mut body = answer_for(h);
        body[2..4].copy_from_slice(&1u16.to_be_bytes());
        now(http("200 OK", SSC, &body))
    });
    assert!(
        errs.iter().all(|e| matches!(
            e,
            FetchError::Body(RepairError::Container(ContainerError::SbnOutOfRange { .. }))
        )),
        "{errs:?}"
    );
    let errs = against(|h| {
        let mut body = answer_for(h);
        body[4..6].copy_from_slice(&59u16.to_be_bytes());
        now(http("200 OK", SSC, &body))
    });
    assert!(
        errs.iter().all(|e| matches!(
            e,
            FetchError::Body(RepairError::Container(ContainerError::EsiOutOfRange { .. }))
        )),
        "{errs:?}"
    );
}

#[test]
fn client_times_out_on_a_slow_trickle() {
    // A pause longer than the idle timeout between two pieces.
    let errs = against(|h| {
        let r = http("200 OK", SSC, &answer_for(h));
        let (a, b) = r.split_at(r.len() - 10);
        vec![
            (Duration::ZERO, a.to_vec()),
            (Duration::from_millis(700), b.to_vec()),
        ]
    });
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::Timeout("body"))),
        "{errs:?}"
    );
    // A steady trickle under the idle timeout that would take longer than the request
    // timeout in all.
    let errs = against(|h| {
        let r = http("200 OK", SSC, &answer_for(h));
        r.chunks(64)
            .map(|c| (Duration::from_millis(100), c.to_vec()))
            .collect()
    });
    assert!(
        errs.iter().all(|e| matches!(e, FetchError::Timeout(_))),
        "{errs:?}"
    );
}

#[test]
fn client_stops_a_redirect_loop() {
    let errs = against(|_| {
        now(b"HTTP/1.1 302 Found\r\nLocation: /repair\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec())
    });
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::TooManyRedirects(3))),
        "{errs:?}"
    );
}

#[test]
fn client_refuses_an_oversized_answer() {
    // Announced too long.
    let errs = against(|_| {
        now(
            format!("HTTP/1.1 200 OK\r\nContent-Type: {SSC}\r\nContent-Length: 1000000000\r\n\r\n")
                .into_bytes(),
        )
    });
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::TooLarge { .. })),
        "{errs:?}"
    );
    // Chunked, longer than the request can produce.
    let errs = against(|h| {
        let body = answer_for(h);
        let mut r =
            format!("HTTP/1.1 200 OK\r\nContent-Type: {SSC}\r\nTransfer-Encoding: chunked\r\n\r\n")
                .into_bytes();
        for _ in 0..4 {
            r.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
            r.extend_from_slice(&body);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"0\r\n\r\n");
        now(r)
    });
    assert!(
        errs.iter()
            .all(|e| matches!(e, FetchError::TooLarge { .. })),
        "{errs:?}"
    );
}

#[test]
fn client_refuses_an_error_status() {
    let errs = against(|_| now(http("500 Internal Server Error", "text/plain", b"no")));
    assert!(
        errs.iter().all(|e| matches!(e, FetchError::Status(500))),
        "{errs:?}"
    );
    let errs = against(|_| now(b"HTTP/1.1 200 OK\r\nContent-Type: x".to_vec()));
    assert!(
        errs.iter().all(|e| matches!(e, FetchError::Http(_))),
        "{errs:?}"
    );
}

/// With a hostile and a good server, retries pick servers at random until the good one
/// completes the object.
#[test]
fn client_retries_on_another_server() {
    let mut s = setup();
    let bad = scripted(|_| now(http("200 OK", "text/html", b"<html/>")));
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), &file());
    let server = RepairServer::new(
        vec![ServedFile {
            content_location: LOCATION.into(),
            path,
            oti: oti(),
        }],
        ServerConfig::default(),
    )
    .unwrap();
    let good =
        BackgroundServer::start(Arc::new(server), "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let mut cfg = client(&[bad, good.local_addr()]);
    cfg.max_attempts = 20;
    let report = repair_all(&mut s.rx, &cfg);
    assert_eq!(report.objects_finished, 1, "{report:?}");
    let (done, failed) = outcome(&mut s.rx);
    assert!(!failed);
    assert_eq!(&done.unwrap()[..], &file()[..]);
    assert_eq!(std::fs::read(s.out.path().join(LOCATION)).unwrap(), file());
}
