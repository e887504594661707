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
//! - the built-in schemes in [`schemes`].
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
#![deny(unsafe_code)]

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
pub use oti::{Oti, PayloadId, SchemeSpecific};
pub use partition::{BlockSpec, Blocking, partition};
pub use registry::FecRegistry;
pub use scheme::{BlockDecoder, BlockEncoder, EXT_FTI, FecScheme, PushOutcome};
