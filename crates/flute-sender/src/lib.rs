//! A sans-IO FLUTE (RFC 6726) sender: objects in, ALC (RFC 5775) / LCT (RFC 5651)
//! datagrams out, with an FDT carousel, priority scheduling, block interleaving, object
//! carousels, pacing and content encoding.
//!
//! Like `quinn-proto`, this crate contains no networking code and reads no clock: the
//! caller passes the monotonic time (`now: Instant`) to every call and gets wall-clock time
//! (for FDT `Expires` and EXT_TIME) from the [`WallClock`] in the configuration. The I/O
//! adapter is a loop: drain [`Sender::poll_transmit`] to the socket, sleep until
//! [`Sender::poll_timeout`], repeat. See [`Sender`] for the polling order.
//!
//! FEC goes entirely through the [`fec_schemes::FecRegistry`] in [`SenderConfig`]: any
//! registered scheme can be chosen per object with its OTI ([`Object::fec`]), and the
//! symbols are written by the scheme's `BlockEncoder::write_symbol` straight into the
//! caller's buffer.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Instant, SystemTime};
//! use bytes::Bytes;
//! use flute_sender::{AnchoredClock, Object, Sender, SenderConfig, Tsi};
//!
//! let now = Instant::now();
//! let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
//! let mut sender = Sender::new(SenderConfig::new(Tsi(1), clock))?;
//! let obj = Object::from_bytes("file:///hello.txt", Bytes::from_static(b"hello, world"))
//!     .content_type("text/plain");
//! let toi = sender.insert_object(obj, now)?;
//! sender.close();
//! let mut buf = [0u8; 1500];
//! let mut packets = 0;
//! while let Some(t) = sender.poll_transmit(now, &mut buf) {
//!     let _datagram = &buf[..t.len]; // send it
//!     packets += 1;
//! }
//! assert_eq!(packets, 2); // one FDT packet, one data packet
//! assert!(sender.is_closed());
//! # let _ = toi;
//! # Ok::<(), flute_sender::SendError>(())
//! ```
//!
//! # Live delivery
//!
//! For live streams (issue 17): [`Object::deadline`] drops whatever of an object is not
//! sent by a given instant (its FDT entry goes at the next FDT Instance; see
//! [`SenderStats::objects_expired`] and [`SenderEvent::ObjectExpired`]), and
//! [`Object::priority`] puts a new object ahead of lower-priority carousel traffic from
//! the next packet on (after the FDT Instance that announces it), within the same pacing
//! budget: the token bucket is shared, so preemption changes the order of packets, never
//! the rate.
//!
//! # Crate features
//!
//! - `zstd`: `ContentEncoding::Zstd` for objects (outside RFC 6726's EXT_CENC list and the
//!   3GPP profile, which refuses it).
#![forbid(unsafe_code)]

mod config;
mod encode;
mod error;
mod fdt_out;
mod mtu;
mod object;
mod pacing;
mod sender;
mod wire;

pub use config::{
    AnchoredClock, FdtCarousel, FdtMode, FtiMode, Pacing, PacingUnit, Profile, SenderConfig,
    WallClock,
};
pub use error::SendError;
/// Content-Encoding of objects and FDT Instances: `lct-header`'s, the one the workspace shares
/// (EXT_CENC on FDT packets, `fdt`'s codec, the receiver).
pub use lct_header::ContentEncoding;
pub use mtu::{ip_udp_overhead, max_alc_overhead, max_symbol_length, max_symbol_length_for_mtu};
pub use object::{CacheControl, Carousel, FecChoice, Object, ObjectSource, ReadSeekSource, Repair};
pub use sender::{EncodeDone, EncodeJob, Sender, SenderEvent, SenderStats, Transmit};

/// Transport Object Identifier (RFC 5651 §5.1), up to 112 bits; TOI 0 is the FDT. The
/// same type as in `lct_header`.
pub use lct_header::Toi;
/// Transport Session Identifier (RFC 5651 §5.1), up to 48 bits.
pub use lct_header::Tsi;
