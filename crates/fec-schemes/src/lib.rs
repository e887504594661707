//! The FEC building block of RFC 5052 and the FEC schemes used by ALC and FLUTE.
//!
//! This crate has no dependency on the rest of the workspace. It provides:
//!
//! - [`FecEncodingId`], [`FecInstanceId`] and [`SchemeKey`] (RFC 5052 §5);
//! - [`Oti`], the FEC Object Transmission Information (RFC 5052 §6.2), and [`PayloadId`]
//!   (RFC 5052 §6.1);
//! - [`Blocking`]: the RFC 5052 §9.1 block partitioning and the RFC 6330 `Partition[]`;
//! - the [`FecScheme`] trait (wire codec + block encoder/decoder factory) and the
//!   [`FecRegistry`] that maps IDs to schemes;
//! - the built-in schemes in [`schemes`];
//! - the [`conformance`] suite that any scheme, in or out of tree, runs with one macro.
//!
//! # Example: a round trip through a registered scheme
//!
//! ```
//! use bytes::Bytes;
//! use fec_schemes::{FecEncodingId, FecRegistry, schemes::no_code::CompactNoCode};
//!
//! let registry = FecRegistry::with_builtin();
//! let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None)?;
//! let oti = CompactNoCode::oti(10, 4, 8);
//! let blocking = scheme.blocking(&oti)?;
//! let block = blocking.block(0)?;
//! let mut enc = scheme.encoder(&oti, &block, Bytes::from_static(b"0123456789"))?;
//! let mut dec = scheme.decoder(&oti, &block)?;
//! let mut buf = [0u8; 4];
//! for esi in 0..enc.esi_limit() {
//!     let n = enc.write_symbol(esi, &mut buf)?;
//!     dec.push(esi, &buf[..n])?;
//! }
//! assert_eq!(&dec.decode()?[..], b"0123456789");
//! # Ok::<(), fec_schemes::FecError>(())
//! ```
//!
//! # Adding an FEC scheme
//!
//! A new code needs no change anywhere in the workspace (nothing in `alc`, the sender or
//! the receiver names a concrete scheme). A researcher:
//!
//! 1. creates a crate that depends only on `fec-schemes`;
//! 2. picks an Under-Specified FEC Encoding ID (RFC 5052 §5.2) and a private FEC Instance
//!    ID, e.g. 130 (Compact FEC) with instance 0x7001, and implements [`FecScheme`],
//!    delegating the FEC Payload ID and EXT_FTI formats to
//!    [`schemes::under_specified::Compact130Wire`] (SBN 16 | ESI 16) or
//!    [`schemes::under_specified::UnderSpecified128Wire`] (SBN 32 | ESI 32), and the source
//!    symbol bookkeeping to [`schemes::SourceBlockBuffer`];
//! 3. registers it: `FecRegistry::with_builtin().register(Arc::new(MyScheme))`, and hands
//!    that registry to the sender and receiver configuration;
//! 4. runs the shared conformance suite, one `#[test]` per check:
//!    `fec_schemes::fec_conformance!(my_suite, MyScheme, vec![oti_a, oti_b]);`
//!    (see [`conformance`] for the list of checks: lossy round trips, decode at k / k+1 /
//!    repair only, duplicate and conflicting ESIs, out-of-range ESIs, wire round trips,
//!    hostile OTIs, arbitrary bytes, empty and 1-byte objects);
//! 5. adds a line to a bench in `benches/` if throughput matters.
//!
//! `examples/xor_parity.rs` does all of this for a toy code (one XOR parity symbol per
//! block) in about 230 lines of code, most of them the wire formats and the checks a
//! scheme owes its callers; `tests/xor_toy.rs` runs it in CI.
#![deny(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod id;
mod oti;
mod partition;
mod registry;
mod scheme;
pub mod schemes;
mod wire;

pub use error::FecError;
pub use id::{FecEncodingId, FecInstanceId, SchemeKey};
pub use oti::{Oti, PayloadId, SbnEsiLayout, SchemeSpecific};
pub use partition::{BlockSpec, Blocking, partition};
pub use registry::FecRegistry;
pub use scheme::{BlockDecoder, BlockEncoder, EXT_FTI, FecScheme, PushOutcome};
