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
//!   Objects are keyed by their full TOI, a `u128` (up to the 112 bits the LCT header can
//!   carry, RFC 5651 §5.1), in events, [`ObjectMeta`] and [`Receiver::missing`].
//! - FDT instances (TOI 0, EXT_FDT) may be FEC-coded over several symbols and compressed
//!   (EXT_CENC); the newest instance by 20-bit instance-ID order wins, `Expires` is checked
//!   against the wall clock, `Complete` is honoured.
//! - Data packets that arrive before their FDT entry are kept (within
//!   [`ReceiverConfig::max_pending_bytes`]) and used when it arrives; EXT_FTI alone is
//!   enough to start decoding an object.
//! - Each source block is decoded as soon as it is decodable and its decoder dropped;
//!   decoded content goes, in order, through Content-MD5, content decoding (gzip, zlib,
//!   deflate: zlib-wrapped per RFC 9110, or raw DEFLATE as some senders write it, told
//!   apart by the zlib header check; zstd with the `zstd` feature) and length checks to an
//!   [`ObjectSink`]. A failed check ends in [`ReceiverEvent::ObjectFailed`], never in a
//!   delivered object.
//! - Progressive delivery: [`StreamSink`] turns that in-order output into
//!   [`StreamEvent`]s, each source block's bytes as soon as it and every block before it
//!   are decoded, then `Committed` (verified) or `Aborted`, so a player or a pipe can
//!   consume an object before its last block arrives.
//! - File repair (3GPP TS 26.346 §9.3), when [`ReceiverConfig::repair_max_objects`] > 0:
//!   an object that ends incomplete (timeout, session end) is kept, within bounds, and
//!   reported with [`ReceiverEvent::ObjectIncomplete`]; [`Receiver::repair_request`] gives
//!   the missing symbols as a `flute_repair::RepairQuery`, and
//!   [`Receiver::handle_repair_symbols`] takes the `application/simpleSymbolContainer`
//!   answer through the same decoders and checks. No HTTP here: `flute-repair-http` has a
//!   client and a server.
//!
//! # Features
//!
//! - `zstd`: Content-Encoding `zstd` for objects (outside RFC 6726 and the 3GPP profile;
//!   flute-sender's feature of the same name sends it), window capped by
//!   [`ReceiverConfig::zstd_window_log_max`]. Without it, such objects fail with
//!   [`FailReason::UnsupportedContentEncoding`].
//!
//! # Example
//!
//! An in-memory send -> receive: `flute-sender` produces the datagrams, the receiver
//! delivers the object.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Instant, SystemTime};
//! use bytes::Bytes;
//! use flute_receiver::{Endpoint, ObjectLocation, Receiver, ReceiverConfig, ReceiverEvent};
//! use flute_sender::{AnchoredClock, Object, Sender, SenderConfig, Tsi};
//!
//! let now = Instant::now(); // in real code, from the I/O layer
//! let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
//! let mut tx = Sender::new(SenderConfig::new(Tsi(1), clock)).unwrap();
//! let data = Bytes::from_static(b"hello, FLUTE");
//! tx.insert_object(Object::from_bytes("hello.txt", data.clone()), now).unwrap();
//! tx.close();
//!
//! let mut rx = Receiver::new(ReceiverConfig::default());
//! let mut buf = [0u8; 1500];
//! while let Some(t) = tx.poll_transmit(now, &mut buf) {
//!     rx.handle_datagram(now, Endpoint::default(), &buf[..t.len]);
//! }
//! let mut got = None;
//! while let Some(ev) = rx.poll_event() {
//!     if let ReceiverEvent::ObjectComplete {
//!         content_location,
//!         location: ObjectLocation::Memory(b),
//!         ..
//!     } = ev
//!     {
//!         assert_eq!(content_location, "hello.txt");
//!         got = Some(b);
//!     }
//! }
//! assert_eq!(got, Some(data));
//! ```

mod assembly;
mod config;
mod events;
mod fdt_in;
mod fdt_model;
mod liveness;
mod object;
mod packet;
mod pipeline;
mod progressive;
mod receiver;
mod repair;
#[cfg(feature = "serde")]
mod serde_util;
mod session;
mod sink;
mod stats;
mod work;

pub use assembly::{MAX_MISSING_BLOCKS, MissingBlock};
pub use config::{AnchoredClock, FixedWallClock, ReceiverConfig, WallClock, ntp_seconds};
pub use events::{CloseReason, Endpoint, FailReason, ReceiverEvent, ReceiverStats, SessionId};
pub use fdt_model::{FdtOtiError, fdt_file_oti};
pub use lct_header::{Toi, Tsi};
pub use progressive::{StreamEvent, StreamEvents, StreamSink};
pub use receiver::Receiver;
pub use repair::{MAX_REPAIR_GROUPS, RepairError, RepairProgress, RepairStats};
pub use sink::{MemorySink, ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError};
pub use stats::{DropReason, SessionStats};
pub use work::{DecodeDone, DecodeJob};
