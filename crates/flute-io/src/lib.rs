//! The I/O layer of the FLUTE toolkit: the only crate that touches sockets, files and
//! clocks (ARCHITECTURE.md).
//!
//! - [`udp`]: UDP over IPv4 and IPv6, unicast and multicast (ASM and SSM joins), interface
//!   choice, TTL / hops, multicast loopback, large buffers, and batched I/O
//!   (`sendmmsg`/`recvmmsg` with UDP GSO/GRO on Linux, a plain fallback elsewhere).
//! - [`pcap`]: pcap / pcapng files as a packet source and sink, with Ethernet, IP and UDP
//!   headers (and checksums) written and parsed. Records are read and written with
//!   `pcap-file` 2, frames parsed and built with `etherparse` 0.16; IP fragments are
//!   reassembled by the crate's own bounded reassembler (ARCHITECTURE.md says why).
//! - [`adapter`]: the two loops, [`run_sender`] and [`run_receiver`], that drive the sans-IO
//!   cores; they contain no protocol logic.
//! - [`endpoints`]: the sinks and sources those loops move datagrams through, including a
//!   seeded lossy filter for demos and tests.
//! - `FsSink`: objects received as files (temp file + rename, confined to a root);
//!   `OffloadSink`: any sink's Content-MD5 on a worker thread (for a receiver without
//!   decode jobs; with them the receiver's own content jobs hash).
//!
//! # Features
//! - `sender` (default): [`run_sender`] drives `flute_sender::Sender`; `PooledSender` codes
//!   its blocks on worker threads.
//! - `receiver` (default): [`run_receiver`] drives `flute_receiver::Receiver`; `FsSink`;
//!   `PooledReceiver` decodes its blocks, and hashes, content-decodes and writes its objects,
//!   on worker threads.
//!
//! Without either, the crate is UDP, pcap and the generic loops only (for other cores).
//!
//! # Unsafe code
//! The workspace denies `unsafe_code`. The one exception here is the private `sys` module
//! (Linux only), which calls `sendmmsg`, `recvmmsg`, `setsockopt` (UDP_SEGMENT, UDP_GRO,
//! IP_MULTICAST_IF by index, MCAST_JOIN_SOURCE_GROUP) and `if_nametoindex`; every block
//! there has a SAFETY comment.
// This crate is where clocks and sockets live, so the workspace's sans-IO bans
// (Instant::now, SystemTime::now, UdpSocket::bind) do not apply here.
#![allow(clippy::disallowed_methods)]

pub mod adapter;
#[cfg(any(feature = "sender", feature = "receiver"))]
mod cores;
#[cfg(feature = "receiver")]
mod decode_pool;
#[cfg(feature = "sender")]
mod encode_pool;
pub mod endpoints;
#[cfg(feature = "receiver")]
mod fs_sink;
#[cfg(feature = "receiver")]
mod offload;
pub mod pcap;
#[cfg(any(feature = "sender", feature = "receiver"))]
mod pool;
mod reassembly;
#[cfg(target_os = "linux")]
mod sys;
pub mod udp;

pub use adapter::{
    DatagramSink, DatagramSource, LoopStats, ReceiverCore, SenderCore, run_receiver, run_sender,
};
#[cfg(feature = "receiver")]
pub use decode_pool::PooledReceiver;
#[cfg(feature = "sender")]
pub use encode_pool::PooledSender;
pub use endpoints::{Lossy, PcapSink, PcapSource, RecordingSink, UdpSink, UdpSource, sleep_until};
#[cfg(feature = "receiver")]
pub use fs_sink::FsSink;
#[cfg(feature = "receiver")]
pub use offload::OffloadSink;
pub use pcap::{CapturedDatagram, PcapReader, PcapWriter, ReadStats};
pub use udp::{BatchMode, PathMtu, TxBatch, UdpOptions, UdpReceiver, UdpSender, path_mtu};
