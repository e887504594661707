//! The built-in FEC schemes.
//!
//! | FEC Encoding ID | Scheme | RFC | module |
//! |---|---|---|---|
//! | 0 | Compact No-Code | RFC 5445 §3 | [`no_code`] |
//!
//! Each is an ordinary implementation of [`crate::FecScheme`]; none has privileges an
//! out-of-tree scheme would lack.

use std::sync::Arc;

use crate::FecScheme;

mod common;
pub mod no_code;

pub use common::SourceBlockBuffer;

/// Every built-in scheme, one instance each.
pub fn builtin() -> Vec<Arc<dyn FecScheme>> {
    vec![Arc::new(no_code::CompactNoCode)]
}
