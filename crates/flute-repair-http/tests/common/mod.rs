//! Shared helpers: a receiver holding an object that ended incomplete after burst loss,
//! raw HTTP on loopback, and scripted (hostile) HTTP servers.
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use fec_schemes::Oti;
use flute_receiver::{Endpoint, ObjectSink, Receiver, ReceiverConfig, ReceiverEvent, SessionId};
use flute_sender::{AnchoredClock, Object, Repair, Sender, SenderConfig, Tsi};
use flute_testkit::{Channel, ChannelConfig, Rng, VirtualClock, drive_sender};

pub const LOCATION: &str = "dir/file.bin";

pub fn data(n: usize, seed: u64) -> Vec<u8> {
    Rng::new(seed).bytes(n)
}

/// Sends `data` with `oti` (and `repair` % repair symbols) and Content-MD5 to a receiver
/// with repair on, losing 30 % of the data packets in bursts of 10; returns the receiver
/// with the object kept for repair, its session and TOI.
pub fn incomplete_receiver(
    data: &[u8],
    oti: &Oti,
    repair: u32,
    sink: Box<dyn ObjectSink>,
) -> (Receiver, SessionId, flute_receiver::Toi) {
    incomplete_receiver_with(data, oti, repair, sink, Vec::new())
}

/// [`incomplete_receiver`] with extension elements in the sender's FDT instances.
pub fn incomplete_receiver_with(
    data: &[u8],
    oti: &Oti,
    repair: u32,
    sink: Box<dyn ObjectSink>,
    fdt_extensions: Vec<fdt::XmlElement>,
) -> (Receiver, SessionId, flute_receiver::Toi) {
    let mut clock = VirtualClock::new();
    let wall = std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut scfg = SenderConfig::new(Tsi(5), Arc::new(AnchoredClock::new(clock.now(), wall)));
    scfg.fdt_extensions = fdt_extensions;
    let mut tx = Sender::new(scfg).unwrap();
    let o = oti.clone();
    let mut obj = Object::from_bytes(LOCATION, Bytes::from(data.to_vec()))
        .fec_with(move |_| o.clone())
        .content_md5(true);
    if repair > 0 {
        obj = obj.repair(Repair::Percent(repair));
    }
    tx.insert_object(obj, clock.now()).unwrap();
    tx.close();
    let cfg = {
        let mut c = ReceiverConfig::default();
        c.repair_max_objects = 4;
        c
    };
    let mut rx = Receiver::with_sink(cfg, sink);
    let mut ch: Channel<flute_testkit::Tagged> = Channel::new(ChannelConfig::perfect(), 1);
    let mut i = 0u64;
    drive_sender(
        &mut clock,
        &mut ch,
        &mut tx,
        Duration::from_secs(600),
        |now, p| {
            if p.toi != 0 {
                i += 1;
                if ((i - 1) / 10) % 10 < 3 {
                    return;
                }
            }
            rx.handle_datagram(now, Endpoint::default(), &p.bytes);
        },
    );
    while let Some(t) = rx.poll_timeout() {
        clock.advance_to(t);
        rx.handle_timeout(clock.now());
        if rx.stats().sessions.is_empty() {
            break;
        }
    }
    let mut kept = None;
    while let Some(ev) = rx.poll_event() {
        if let ReceiverEvent::ObjectIncomplete { session, toi, .. } = ev {
            kept = Some((session, toi));
        }
    }
    let (session, toi) = kept.expect("the object ended incomplete");
    (rx, session, toi)
}

/// The events left in `rx`: (completed content, failed?) of the object.
pub fn outcome(rx: &mut Receiver) -> (Option<Bytes>, bool) {
    let mut done = None;
    let mut failed = false;
    while let Some(ev) = rx.poll_event() {
        match ev {
            ReceiverEvent::ObjectComplete { location, .. } => {
                done = Some(match location {
                    flute_receiver::ObjectLocation::Memory(b) => b,
                    flute_receiver::ObjectLocation::File(p) => {
                        Bytes::from(std::fs::read(p).unwrap())
                    }
                    _ => Bytes::new(),
                })
            }
            ReceiverEvent::ObjectFailed { .. } => failed = true,
            _ => {}
        }
    }
    (done, failed)
}

/// One raw HTTP/1.1 exchange (`Connection: close`); returns status and body.
pub fn raw(addr: SocketAddr, request: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (status, Vec::new());
    };
    let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
    let body = buf[p + 4..].to_vec();
    if !head.contains("transfer-encoding: chunked") {
        return (status, body);
    }
    // Chunked transfer coding (RFC 9112 §7.1).
    let mut out = Vec::new();
    let mut rest = &body[..];
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
    (status, out)
}

pub fn get(addr: SocketAddr, query: &str) -> (u16, Vec<u8>) {
    raw(
        addr,
        &format!("GET /repair?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

/// A scripted server: for every connection, reads the request head and writes the pieces
/// `script(request_head)` returns, each after its delay, then closes. Runs until the test
/// process ends.
pub fn scripted(
    script: impl Fn(&str) -> Vec<(Duration, Vec<u8>)> + Send + Sync + 'static,
) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let script = Arc::new(script);
    thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let script = script.clone();
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                    match c.read(&mut b) {
                        Ok(1) => head.push(b[0]),
                        _ => return,
                    }
                }
                for (delay, piece) in script(&String::from_utf8_lossy(&head)) {
                    thread::sleep(delay);
                    if c.write_all(&piece).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Writes `data` as `root/LOCATION`.
pub fn write_file(root: &Path, data: &[u8]) -> std::path::PathBuf {
    let p = root.join(LOCATION);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}
