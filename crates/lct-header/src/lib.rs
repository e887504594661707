//! The Layered Coding Transport (LCT) header of RFC 5651, as used by ALC (RFC 5775) and
//! FLUTE (RFC 6726).
//!
//! - [`LctPacket`]: a zero-copy, checked view of a header at the start of a buffer, with a
//!   getter for every field and setters on mutable buffers;
//! - [`LctRepr`]: the fixed part in owned form, with `parse` / `emit` that keep the field
//!   widths (so `emit(parse(b)) == b`) and pick the smallest widths by default;
//! - [`Extensions`] / [`RawExtension`]: the header extensions (RFC 5651 §5.2), and their
//!   typed forms [`HeaderExtension`], [`ExtTime`], [`ExtFdt`], [`ExtCenc`];
//! - [`LctWriter`]: writes a header plus extensions into a caller's buffer, no allocation;
//! - [`FluteHeaderCheck`], [`KnownExtensions`], [`fdt_instance_newer`]: the FLUTE rules
//!   a single header can be checked against.
//!
//! EXT_FTI is handed over as raw bytes: its layout belongs to the FEC scheme, and this
//! crate has no dependency on the FEC crate.
//!
//! **No-panic contract.** Nothing in this crate panics on any input bytes: every parse
//! returns an [`LctError`] instead. This is checked by property tests on arbitrary bytes.
//!
//! # Example
//!
//! ```
//! use lct_header::{ExtFdt, HeaderExtension, LctPacket, LctRepr, LctWriter, Toi, Tsi};
//!
//! // Emit: TSI 7, TOI 0 (an FDT instance), codepoint 0, with EXT_FDT.
//! let repr = LctRepr::new(Some(Tsi(7)), Some(Toi(0)), 0)?;
//! let mut buf = [0u8; 64];
//! let mut w = LctWriter::new(&repr, &mut buf)?;
//! w.push(&HeaderExtension::Fdt(ExtFdt { version: 2, instance_id: 1 }))?;
//! let len = w.finish();
//!
//! // Parse it back.
//! let packet = LctPacket::new_checked(&buf[..len])?;
//! assert_eq!(LctRepr::parse(&packet)?, repr);
//! let ext = packet.extensions().next().unwrap()?.decode()?;
//! assert_eq!(ext, HeaderExtension::Fdt(ExtFdt { version: 2, instance_id: 1 }));
//! # Ok::<(), lct_header::LctError>(())
//! ```
#![forbid(unsafe_code)]

mod error;
mod ext;
mod flute;
mod packet;

pub use error::LctError;
pub use ext::{
    ContentEncoding, EXT_AUTH, EXT_CENC, EXT_FDT, EXT_FTI, EXT_NOP, EXT_TIME, ExtCenc, ExtFdt,
    ExtTime, Extensions, FDT_INSTANCE_ID_MODULUS, HEL, HET, HeaderExtension, LctWriter,
    RawExtension, fdt_instance_newer,
};
pub use flute::{FluteHeader, FluteHeaderCheck, KnownExtensions};
pub use packet::{Cci, LCT_VERSION, LctPacket, LctRepr, Toi, Tsi, Widths};
