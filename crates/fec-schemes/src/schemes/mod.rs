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
//! out-of-tree scheme would lack.

use std::sync::Arc;

use crate::FecScheme;

mod common;
#[cfg(feature = "ldpc")]
pub mod ldpc_staircase;
pub mod no_code;
pub mod raptor;
pub mod raptorq;
pub mod rs;
pub mod under_specified;

pub use common::SourceBlockBuffer;

/// Every built-in scheme, one instance each.
pub fn builtin() -> Vec<Arc<dyn FecScheme>> {
    vec![
        Arc::new(no_code::CompactNoCode),
        Arc::new(raptor::Raptor),
        Arc::new(raptorq::RaptorQ),
        Arc::new(rs::RsGf2m),
        Arc::new(rs::RsGf28),
        Arc::new(rs::RsSmallBlock),
        #[cfg(feature = "ldpc")]
        Arc::new(ldpc_staircase::LdpcStaircase),
    ]
}
