//! The built-in FEC schemes.
//!
//! | FEC Encoding ID | Scheme | RFC | module |
//! |---|---|---|---|
//! | 0 | Compact No-Code | RFC 5445 §3 | [`no_code`] |
//! | 1 | Raptor | RFC 5053 | [`raptor`] |
//! | 2 | Reed-Solomon over GF(2^m) | RFC 5510 §5 | [`rs`] ([`rs::RsGf2m`]) |
//! | 5 | Reed-Solomon over GF(2^8) | RFC 5510 §4 | [`rs`] ([`rs::RsGf28`]) |
//! | 6 | RaptorQ | RFC 6330 | [`raptorq`] |
//! | 129, instance 0 | Reed-Solomon over GF(2^8), Small Block Systematic | RFC 5510 §6 | [`rs`] ([`rs::RsSmallBlock`]) |
//! | 128, 130 | wire formats only (no codec, not registered) | RFC 5445 §4, §6 | [`under_specified`] |
//!
//! Each is an ordinary implementation of [`crate::FecScheme`]; none has privileges an
//! out-of-tree scheme would lack. The codecs are behind cargo features (all on by default):
//! `raptor`, `raptorq` and `reed-solomon`; Compact No-Code and the 128/130 wire formats are
//! always built.

use std::sync::Arc;

use crate::FecScheme;

// Helpers of the codec schemes: with some codecs left out, some helpers have no user.
#[cfg_attr(
    not(all(
        feature = "raptor",
        feature = "raptorq",
        feature = "reed-solomon",
        feature = "ldpc"
    )),
    allow(dead_code)
)]
mod common;
#[cfg(feature = "ldpc")]
pub mod ldpc_staircase;
pub mod no_code;
#[cfg(feature = "raptor")]
pub mod raptor;
#[cfg(any(feature = "raptor", feature = "raptorq"))]
mod raptor_family;
#[cfg(feature = "raptorq")]
pub mod raptorq;
#[cfg(feature = "reed-solomon")]
pub mod rs;
pub mod under_specified;

pub use common::SourceBlockBuffer;

/// Every built-in scheme compiled in (see the crate's features), one instance each.
pub fn builtin() -> Vec<Arc<dyn FecScheme>> {
    #[allow(unused_mut)] // with no codec feature, only No-Code is pushed
    let mut v: Vec<Arc<dyn FecScheme>> = vec![Arc::new(no_code::CompactNoCode)];
    #[cfg(feature = "raptor")]
    v.push(Arc::new(raptor::Raptor));
    #[cfg(feature = "raptorq")]
    v.push(Arc::new(raptorq::RaptorQ));
    #[cfg(feature = "reed-solomon")]
    v.extend([
        Arc::new(rs::RsGf2m) as Arc<dyn FecScheme>,
        Arc::new(rs::RsGf28),
        Arc::new(rs::RsSmallBlock),
    ]);
    #[cfg(feature = "ldpc")]
    v.push(Arc::new(ldpc_staircase::LdpcStaircase));
    v
}
