//! Asynchronous Layered Coding (ALC, RFC 5775) packets.
//!
//! An ALC packet is an LCT header (RFC 5651, crate `lct-header`), followed by the FEC
//! Payload ID and the encoding symbol(s) (RFC 5775 §4). The FEC scheme (crate
//! `fec-schemes`) is chosen from the codepoint through a [`CodepointMap`] (default:
//! codepoint = FEC Encoding ID) and, for Under-Specified IDs, the FEC Instance ID in
//! EXT_FTI. Nothing here knows a concrete FEC scheme.
//!
//! - [`AlcParser`] / [`AlcPacket`]: zero-copy parsing; EXT_FTI decoded into an
//!   [`fec_schemes::Oti`], EXT_FDT / EXT_CENC / EXT_TIME typed, FEC Payload ID decoded
//!   when the scheme can without the OTI ([`AlcPacket::payload_id_with`] otherwise), and
//!   [`AlcPacket::validate`] for the checks that need the object's OTI.
//! - [`AlcRepr`]: emits a packet into a caller's buffer without allocating;
//!   [`AlcRepr::emit_header`] leaves the symbol to be written in place by the encoder;
//!   [`EncodedFti`] + [`AlcRepr::emit_header_with`] encode an object's EXT_FTI once.
//! - One parser type for every way of holding the registry: `AlcParser<&FecRegistry>`
//!   borrows it, `AlcParser` (that is, `AlcParser<Arc<FecRegistry>>`) owns a share of it.
//!
//! **No-panic contract.** Parsing never panics on any datagram: errors are [`AlcError`].
//!
//! # Example
//!
//! ```
//! use alc::{AlcParser, AlcRepr};
//! use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
//! use lct_header::{Toi, Tsi};
//!
//! let registry = FecRegistry::with_builtin();
//! let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None)?;
//! let oti = CompactNoCode::oti(10, 4, 8);
//! let id = PayloadId { sbn: 0, esi: 1, source_block_length: None };
//!
//! let mut repr = AlcRepr::new(Tsi(1), Toi(2), &oti, id)?;
//! repr.send_fti = true;
//! let mut buf = [0u8; 64];
//! let len = repr.emit(&**scheme, b"4567", &mut buf)?;
//!
//! let parser = AlcParser::new(&registry);
//! let packet = parser.parse(&buf[..len])?;
//! assert_eq!(packet.toi(), Some(Toi(2)));
//! assert_eq!(packet.oti(), Some(&oti));
//! assert_eq!(packet.payload_id(), Some(id));
//! assert_eq!(packet.symbols(), b"4567");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod emit;
mod error;
mod packet;

pub use emit::{AlcRepr, EncodedFti};
pub use error::AlcError;
pub use packet::{AlcPacket, AlcParser, CodepointMap};
