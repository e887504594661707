//! UDP sockets and adapter loops over loopback only (127.0.0.1, ::1, multicast on `lo`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    missing_docs
)]

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use flute_io::{
    BatchMode, DatagramSink, PcapSink, PcapSource, ReceiverCore, SenderCore, TxBatch, UdpOptions,
    UdpReceiver, UdpSender, run_receiver, run_sender,
};

fn lo() -> UdpOptions {
    UdpOptions {
        interface: Some("lo".into()),
        ..UdpOptions::default()
    }
}

/// Sends `sizes` datagrams (payload = index bytes) and returns what arrives, in order.
fn exchange(rx: &mut UdpReceiver, tx: &mut UdpSender, sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut batch = TxBatch::new();
    for (i, &n) in sizes.iter().enumerate() {
        batch.push(&vec![i as u8; n]);
    }
    tx.send(&batch).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while got.len() < sizes.len() && Instant::now() < deadline {
        rx.recv(Some(Duration::from_millis(100)), &mut |_, d| {
            got.push(d.to_vec())
        })
        .unwrap();
    }
    got
}

fn sizes() -> Vec<usize> {
    // Runs of equal sizes (GSO groups), a short tail per run, an empty datagram, a big one.
    let mut v = vec![1200; 70];
    v.push(17);
    v.extend([1400; 5]);
    v.push(0);
    v.push(9000);
    v.extend([300, 300, 299, 1]);
    v
}

fn check_exchange(listen: &str, opts: &UdpOptions) {
    let mut rx = UdpReceiver::bind(listen.parse().unwrap(), None, opts).unwrap();
    let mut tx = UdpSender::open(rx.local_addr(), None, opts).unwrap();
    let s = sizes();
    let got = exchange(&mut rx, &mut tx, &s);
    assert_eq!(got.len(), s.len(), "mode {:?}/{:?}", tx.mode(), rx.mode());
    for (i, (d, &n)) in got.iter().zip(&s).enumerate() {
        assert_eq!(
            d.len(),
            n,
            "datagram {i} length (segmentation must respect datagram bounds)"
        );
        assert!(d.iter().all(|&b| b == i as u8), "datagram {i} content");
    }
}

#[test]
fn ipv4_unicast_batched_and_plain() {
    check_exchange("127.0.0.1:0", &UdpOptions::default());
    check_exchange(
        "127.0.0.1:0",
        &UdpOptions {
            batched: false,
            ..UdpOptions::default()
        },
    );
}

#[test]
fn ipv6_unicast() {
    if let Err(e) = UdpReceiver::bind("[::1]:0".parse().unwrap(), None, &UdpOptions::default()) {
        panic!("this test needs the IPv6 loopback address ::1, which is unavailable here: {e}");
    }
    check_exchange("[::1]:0", &UdpOptions::default());
}

#[test]
fn batching_uses_gso_on_linux() {
    let rx =
        UdpReceiver::bind("127.0.0.1:0".parse().unwrap(), None, &UdpOptions::default()).unwrap();
    let tx = UdpSender::open(rx.local_addr(), None, &UdpOptions::default()).unwrap();
    if cfg!(target_os = "linux") {
        assert_ne!(tx.mode(), BatchMode::Plain);
        assert_ne!(rx.mode(), BatchMode::Plain);
    }
}

#[test]
fn ipv4_multicast_asm_and_ssm_on_lo() {
    // ASM
    let asm = UdpReceiver::bind("239.255.71.1:0".parse().unwrap(), None, &lo());
    let mut asm = match asm {
        Ok(r) => r,
        Err(e) => panic!(
            "cannot join 239.255.71.1 on lo ({e}): this test needs IPv4 multicast on the \
             loopback interface, which Linux provides by default"
        ),
    };
    let dest = SocketAddr::new("239.255.71.1".parse().unwrap(), asm.local_addr().port());
    // Bound to 127.0.0.1, or the kernel may pick another interface's address as source.
    let mut tx = UdpSender::open(dest, Some("127.0.0.1:0".parse().unwrap()), &lo()).unwrap();
    let got = exchange(&mut asm, &mut tx, &[100, 100, 7]);
    let mut seen_src = None;
    let mut b = TxBatch::new();
    b.push(b"src?");
    tx.send(&b).unwrap();
    asm.recv(Some(Duration::from_millis(300)), &mut |s, _| {
        seen_src = Some(s)
    })
    .unwrap();
    assert_eq!(seen_src.map(|s| s.ip()), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(
        got.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![100, 100, 7],
        "IPv4 multicast on lo did not deliver"
    );
    // SSM from 127.0.0.1 on the same group and port: a source-specific join.
    let mut ssm = UdpReceiver::bind(dest, Some("127.0.0.1".parse().unwrap()), &lo()).unwrap();
    let got = exchange(&mut ssm, &mut tx, &[50, 60]);
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![50, 60]);
    // (IP_MULTICAST_LOOP off cannot be checked on `lo` itself: a datagram sent out of lo
    // comes back in through lo's receive path whatever the option says.)
}

// IPv6 multicast is not tested on `lo`: Linux gives `lo` no IPv6 multicast route, and a
// test that only reports that would check nothing. It is tested end to end over a veth pair
// in network namespaces the test creates (flute-cli `tests/netns.rs`, ff05::7:1, MTU 1400 and
// 1280), which `.ci/steps/netns.sh` runs as root.

#[test]
fn bad_addresses_give_clear_errors() {
    let e = UdpSender::open(
        "[::1]:9".parse().unwrap(),
        None,
        &UdpOptions {
            interface: Some("nope0".into()),
            ..UdpOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no network interface named \"nope0\""),
        "{e}"
    );
    let taken =
        UdpReceiver::bind("127.0.0.1:0".parse().unwrap(), None, &UdpOptions::default()).unwrap();
    let e = UdpReceiver::bind(taken.local_addr(), None, &UdpOptions::default()).unwrap_err();
    assert!(e.to_string().contains("cannot listen on"), "{e}");
    let e = UdpReceiver::bind(
        "127.0.0.1:0".parse().unwrap(),
        Some("::1".parse().unwrap()),
        &UdpOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("different IP families"), "{e}");
}

/// A toy sender core: `n` datagrams, one every `gap`, to check the loop paces by
/// `poll_timeout` and ends when the core is idle.
struct Toy {
    n: u32,
    sent: u32,
    next: Option<Instant>,
    gap: Duration,
}

impl SenderCore for Toy {
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        let t = *self.next.get_or_insert(now);
        if self.sent == self.n || now < t {
            return None;
        }
        self.sent += 1;
        self.next = Some(t + self.gap);
        buf.clear();
        buf.extend_from_slice(&self.sent.to_be_bytes());
        Some(4)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        (self.sent < self.n).then_some(self.next).flatten()
    }
    fn handle_timeout(&mut self, _: Instant) {}
}

#[derive(Default)]
struct Collect {
    got: Vec<(Instant, u32)>,
    timeouts: u32,
}

impl ReceiverCore for Collect {
    fn handle_datagram(&mut self, now: Instant, _: SocketAddr, _: SocketAddr, data: &[u8]) {
        self.got
            .push((now, u32::from_be_bytes(data.try_into().unwrap())));
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _: Instant) {
        self.timeouts += 1;
    }
}

#[test]
fn pcap_sink_and_source_keep_virtual_time() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("toy.pcap");
    let (src, dst) = (
        "127.0.0.1:1000".parse().unwrap(),
        "127.0.0.1:2000".parse().unwrap(),
    );
    let mut sink = PcapSink::create(&path, src, dst).unwrap();
    let start = sink.now();
    let mut toy = Toy {
        n: 100,
        sent: 0,
        next: None,
        gap: Duration::from_millis(10),
    };
    let wall = Instant::now();
    let stats = run_sender(&mut toy, &mut sink, &AtomicBool::new(false), |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(stats.datagrams, 100);
    assert!(
        wall.elapsed() < Duration::from_millis(500),
        "offline capture must not sleep"
    );
    assert_eq!(sink.now() - start, Duration::from_millis(990));
    drop(sink);
    let mut source = PcapSource::open(&path).unwrap();
    let mut rx = Collect::default();
    let s = run_receiver(&mut rx, &mut source, &AtomicBool::new(false), |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(s.datagrams, 100);
    assert_eq!(
        rx.got.iter().map(|g| g.1).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>()
    );
    let span = rx.got[99].0 - rx.got[0].0;
    assert_eq!(
        span,
        Duration::from_millis(990),
        "capture timestamps replayed as virtual time"
    );
}

#[test]
fn udp_sink_paces_on_the_real_clock_and_stops_on_shutdown() {
    let mut rx =
        UdpReceiver::bind("127.0.0.1:0".parse().unwrap(), None, &UdpOptions::default()).unwrap();
    let tx = UdpSender::open(rx.local_addr(), None, &UdpOptions::default()).unwrap();
    let mut sink = flute_io::UdpSink { socket: tx };
    let mut toy = Toy {
        n: 20,
        sent: 0,
        next: None,
        gap: Duration::from_millis(5),
    };
    let t0 = Instant::now();
    run_sender(&mut toy, &mut sink, &AtomicBool::new(false), |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(95),
        "paced: 19 gaps of 5 ms, took {took:?}"
    );
    let mut n = 0;
    while rx
        .recv(Some(Duration::from_millis(100)), &mut |_, _| n += 1)
        .unwrap()
        > 0
    {}
    assert_eq!(n, 20);
    // A set shutdown flag stops the loop before anything is sent.
    let mut toy = Toy {
        n: 1_000_000,
        sent: 0,
        next: None,
        gap: Duration::from_secs(1),
    };
    let s = run_sender(&mut toy, &mut sink, &AtomicBool::new(true), |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(s.interrupted);
    assert_eq!(s.datagrams, 0);
}

/// The receive buffer: the default asks for 32 MiB. Linux caps SO_RCVBUF at
/// `net.core.rmem_max` and reports twice the size set; a process with CAP_NET_ADMIN (CI
/// runs as root) gets the full size through SO_RCVBUFFORCE, any other at least the cap.
#[cfg(target_os = "linux")]
#[test]
fn receive_buffer_is_the_asked_size_when_privileged_else_the_cap() {
    let opts = UdpOptions::default();
    assert_eq!(opts.recv_buffer_bytes, 32 << 20);
    let rx = UdpReceiver::bind("127.0.0.1:0".parse().unwrap(), None, &opts).unwrap();
    let granted = rx.recv_buffer_bytes();
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Effective UID 0 (the third field of "Uid:"): root, which has CAP_NET_ADMIN here.
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    if root {
        assert!(
            granted >= opts.recv_buffer_bytes,
            "root: {granted} bytes granted for {} asked (rmem_max {rmem_max})",
            opts.recv_buffer_bytes
        );
    } else {
        assert!(
            granted >= 2 * rmem_max.min(opts.recv_buffer_bytes),
            "{granted} bytes granted, rmem_max {rmem_max}"
        );
    }
}
