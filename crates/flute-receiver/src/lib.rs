//! A sans-IO FLUTE (RFC 6726) receiver with bounded memory and streaming output.
//!
//! The [`Receiver`] is a state machine in the style of quinn-proto: the caller feeds it
//! datagrams with [`Receiver::handle_datagram`], drives its timers with
//! [`Receiver::poll_timeout`] / [`Receiver::handle_timeout`], and collects
//! [`ReceiverEvent`]s with [`Receiver::poll_event`]. It never opens a socket or reads a
//! clock: monotonic time is an argument, and wall-clock time (for FDT `Expires`) comes from
//! the [`WallClock`] in the [`ReceiverConfig`].
//!
//! - A bad datagram is never an error and never a panic: it is counted under a
//!   [`DropReason`] in the session's [`SessionStats`] and the receiver moves on.
//! - Sessions are keyed by ([`Endpoint`], TSI); an optional TSI allow-list filters them.
//! - FDT instances (TOI 0, EXT_FDT) may be FEC-coded over several symbols and compressed
//!   (EXT_CENC); the newest instance by 20-bit instance-ID order wins, `Expires` is checked
//!   against the wall clock, `Complete` is honoured.
//! - Data packets that arrive before their FDT entry are kept (within
//!   [`ReceiverConfig::max_pending_bytes`]) and used when it arrives; EXT_FTI alone is
//!   enough to start decoding an object.
//! - Each source block is decoded as soon as it is decodable and its decoder dropped;
//!   decoded content goes, in order, through Content-MD5, content decoding (gzip, zlib,
//!   deflate) and length checks to an [`ObjectSink`]. A failed check ends in
//!   [`ReceiverEvent::ObjectFailed`], never in a delivered object.
//!
//! # Example
//!
//! Hand-built packets (from `flute-testkit`'s packet builder) through the receiver:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use flute_receiver::{Endpoint, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent};
//! use flute_testkit::{MiniSender, ObjectSpec};
//! use fec_schemes::{FecEncodingId, FecRegistry};
//!
//! let registry = FecRegistry::with_builtin();
//! let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None)?.clone();
//! let data = b"hello, FLUTE".to_vec();
//! let mut tx = MiniSender::new(1, scheme);
//! tx.add(ObjectSpec::new(1, "hello.txt", data.clone()).symbol_length(4));
//! let packets = tx.carousel_round(); // FDT + every source symbol
//!
//! let mut rx = Receiver::new(ReceiverConfig::default());
//! let now = Instant::now(); // in real code, from the I/O layer
//! let ep = Endpoint::default();
//! for p in &packets {
//!     rx.handle_datagram(now, ep, p);
//! }
//! let mut got = None;
//! while let Some(ev) = rx.poll_event() {
//!     if let ReceiverEvent::ObjectComplete { location: ObjectLocation::Memory(b), .. } = ev {
//!         got = Some(b);
//!     }
//! }
//! assert_eq!(got.as_deref(), Some(&data[..]));
//! # Ok::<(), fec_schemes::FecError>(())
//! ```

mod assembly;
mod config;
mod fdt_model;
mod packet;
mod pipeline;
mod receiver;
mod sink;
mod stats;

pub use assembly::MissingBlock;
pub use config::{FixedWallClock, ReceiverConfig, WallClock, ntp_seconds};
pub use receiver::{
    CloseReason, Endpoint, FailReason, Receiver, ReceiverEvent, ReceiverStats, SessionId,
};
pub use sink::{
    FsSink, MemorySink, ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError,
};
pub use stats::{DropReason, SessionStats};
