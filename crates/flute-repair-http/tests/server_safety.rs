//! The repair server under hostile clients (TS 26.346 §9.3): it serves only the files it
//! announced; traversal, unknown files, out-of-range symbols, oversized and malformed
//! queries get 400/404 (413 for a long POST body, 405 for other methods), never a panic or
//! a byte from outside; per-client concurrent requests are limited (429).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::{FecRegistry, Oti};
use flute_repair::{ContainerCodec, QueryLimits, RepairQuery};
use flute_repair_http::{BackgroundServer, RepairServer, ServedFile, ServerConfig};

use common::*;

struct Fixture {
    _dir: tempfile::TempDir,
    bg: BackgroundServer,
    data: Vec<u8>,
    oti: Oti,
    secret: std::path::PathBuf,
}

fn fixture(cfg: ServerConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = data(100_000, 9);
    let path = write_file(dir.path(), &data);
    // A file beside it that is not announced.
    let secret = dir.path().join("dir/secret.bin");
    std::fs::write(&secret, b"not for you").unwrap();
    let oti = CompactNoCode::oti(data.len() as u64, 1000, 64);
    let server = RepairServer::new(
        vec![ServedFile {
            content_location: LOCATION.into(),
            path,
            oti: oti.clone(),
        }],
        cfg,
    )
    .unwrap();
    let bg = BackgroundServer::start(Arc::new(server), "127.0.0.1:0".parse().unwrap(), 2).unwrap();
    Fixture {
        _dir: dir,
        bg,
        data,
        oti,
        secret,
    }
}

fn addr(f: &Fixture) -> SocketAddr {
    f.bg.local_addr()
}

#[test]
fn ts26346_9_3_server_answers_a_get_with_the_symbols_asked_for() {
    let f = fixture(ServerConfig::default());
    let (status, body) = get(addr(&f), "fileURI=dir/file.bin&SBN=1;ESI=3-4");
    assert_eq!(status, 200);
    let reg = FecRegistry::with_builtin();
    let scheme = reg.for_oti(&f.oti).unwrap();
    let codec = ContainerCodec::new(&**scheme, &f.oti).unwrap();
    let groups = codec.parse(&body, 16).unwrap();
    let syms: Vec<u8> = groups.iter().flat_map(|g| g.symbols.to_vec()).collect();
    let block = codec.blocking().block(1).unwrap();
    let start = (block.offset + 3 * 1000) as usize;
    assert_eq!(syms, f.data[start..start + 2000]);
}

#[test]
fn ts26346_9_3_server_answers_a_long_query_sent_as_post() {
    let f = fixture(ServerConfig::default());
    let q = format!(
        "fileURI=dir/file.bin{}",
        (0..40)
            .map(|e| format!("&SBN=0;ESI={}", e))
            .collect::<String>()
    );
    assert!(q.len() > flute_repair::GET_QUERY_MAX);
    let req = format!(
        "POST /repair HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{q}",
        q.len()
    );
    let (status, body) = raw(addr(&f), &req);
    assert_eq!(status, 200);
    assert_eq!(body.len(), 40 * (6 + 1000));
}

#[test]
fn server_only_serves_announced_files() {
    let f = fixture(ServerConfig::default());
    let secret = f.secret.to_string_lossy().into_owned();
    let encoded = RepairQuery::whole_file(secret.clone()).encode();
    for q in [
        "fileURI=dir/secret.bin".to_owned(),
        "fileURI=secret.bin".to_owned(),
        "fileURI=dir/file.bin.bak".to_owned(),
        "fileURI=/dir/file.bin".to_owned(),
        encoded,
    ] {
        let (status, body) = get(addr(&f), &q);
        assert_eq!(status, 404, "{q}");
        assert!(!body.windows(11).any(|w| w == b"not for you"), "{q}");
    }
}

#[test]
fn server_refuses_path_traversal() {
    let f = fixture(ServerConfig::default());
    for q in [
        "fileURI=../dir/secret.bin",
        "fileURI=dir/../dir/secret.bin",
        "fileURI=dir%2F..%2Fdir%2Fsecret.bin",
        "fileURI=%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "fileURI=dir/file.bin/../secret.bin",
        "fileURI=..%5Csecret.bin",
    ] {
        let (status, body) = get(addr(&f), q);
        assert_eq!(status, 404, "{q}");
        assert!(!body.windows(11).any(|w| w == b"not for you"), "{q}");
    }
}

#[test]
fn server_refuses_symbols_out_of_range() {
    let f = fixture(ServerConfig::default());
    // 100 symbols in 2 blocks of 50.
    for q in [
        "fileURI=dir/file.bin&SBN=2",
        "fileURI=dir/file.bin&SBN=0-2",
        "fileURI=dir/file.bin&SBN=4294967295",
        "fileURI=dir/file.bin&SBN=0;ESI=50",
        "fileURI=dir/file.bin&SBN=1;ESI=0-4294967295",
    ] {
        assert_eq!(get(addr(&f), q).0, 400, "{q}");
    }
}

#[test]
fn server_refuses_malformed_queries() {
    let f = fixture(ServerConfig::default());
    for q in [
        "",
        "SBN=1",
        "fileURI=",
        "fileURI=%FF%FE",
        "fileURI=dir/file.bin&SBN=",
        "fileURI=dir/file.bin&SBN=a",
        "fileURI=dir/file.bin&SBN=1;ESI=2-1",
        "fileURI=dir/file.bin&SBN=1;ESI=1,,2",
        "fileURI=dir/file.bin&XYZ=1",
        "fileURI=dir/file.bin&SBN=99999999999",
    ] {
        assert_eq!(get(addr(&f), q).0, 400, "{q:?}");
    }
    // Not UTF-8 in a POST body.
    let mut s = TcpStream::connect(addr(&f)).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\nfileURI=\xff\xfe")
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.starts_with(b"HTTP/1.1 400"));
    // Other methods.
    let (status, _) = raw(
        addr(&f),
        "DELETE /repair?fileURI=dir/file.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 405);
}

#[test]
fn server_refuses_oversized_queries() {
    let cfg = ServerConfig {
        max_query_bytes: 4096,
        max_symbols_per_response: 60,
        ..ServerConfig::default()
    };
    let f = fixture(cfg);
    // Longer than the query limit, in the URL and as a POST body.
    let long = format!("fileURI=dir/file.bin&SBN=0;ESI={}", "1,".repeat(3000) + "1");
    assert_eq!(get(addr(&f), &long).0, 400);
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{long}",
        long.len()
    );
    assert_eq!(raw(addr(&f), &req).0, 413);
    // Announced short, sent long.
    let req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{long}\r\n0\r\n\r\n",
        long.len()
    );
    assert_eq!(raw(addr(&f), &req).0, 400);
    // More symbols than one answer may hold: the whole file (100 symbols), two blocks.
    assert_eq!(get(addr(&f), "fileURI=dir/file.bin").0, 400);
    assert_eq!(get(addr(&f), "fileURI=dir/file.bin&SBN=0-1").0, 400);
    assert_eq!(get(addr(&f), "fileURI=dir/file.bin&SBN=0").0, 200);
    // Headers larger than any query: the connection is refused, the server lives on.
    let huge = format!(
        "GET /?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(200_000)
    );
    let (status, _) = raw(addr(&f), &huge);
    assert_ne!(status, 200);
    assert_eq!(get(addr(&f), "fileURI=dir/file.bin&SBN=1").0, 200);
}

/// Requests that do not read their answer hold their per-client slot; one more from the
/// same address gets 429, and the slot frees when they go away.
#[test]
fn server_limits_concurrent_requests_per_client() {
    let cfg = ServerConfig {
        max_requests_per_client: 2,
        max_symbols_per_response: 1 << 20,
        chunk_bytes: 4096,
        ..ServerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    // 32 MB: far more than the socket buffers, so a client that does not read stalls the
    // answer.
    let big = data(32 << 20, 10);
    let path = write_file(dir.path(), &big);
    let oti = CompactNoCode::oti(big.len() as u64, 1000, 1000);
    let server = Arc::new(
        RepairServer::new(
            vec![ServedFile {
                content_location: LOCATION.into(),
                path,
                oti,
            }],
            cfg,
        )
        .unwrap(),
    );
    let bg = BackgroundServer::start(server.clone(), "127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let req = "GET /?fileURI=dir/file.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(bg.local_addr()).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        held.push(s);
    }
    // Wait until both are being answered.
    for _ in 0..200 {
        if server.requests_in_progress().values().sum::<usize>() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.requests_in_progress().values().sum::<usize>(), 2);
    assert_eq!(
        get(bg.local_addr(), "fileURI=dir/file.bin&SBN=0;ESI=0").0,
        429
    );
    drop(held);
    let mut ok = false;
    for _ in 0..500 {
        if get(bg.local_addr(), "fileURI=dir/file.bin&SBN=0;ESI=0").0 == 200 {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ok, "the slots free when the clients go away");
    let _ = QueryLimits::default();
}
