//! Errors of the sender.

use crate::Toi;

/// Everything the sender can refuse. Constructors never log; the caller decides. Plain
/// data (it can be cloned and compared), so that events carry it as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The object's FEC scheme is not in the configured registry, or its OTI is invalid
    /// for the object (wrong Encoding ID, transfer length too large for the scheme, ...).
    #[error("FEC: {0}")]
    Fec(#[from] fec_schemes::FecError),
    /// An LCT header could not be written (RFC 5651 field limits).
    #[error("LCT: {0}")]
    Lct(#[from] lct_header::LctError),
    /// An ALC packet could not be written.
    #[error("ALC: {0}")]
    Alc(#[from] alc::AlcError),
    /// The object cannot be described in an FDT Instance.
    #[error("FDT: {0}")]
    Fdt(#[from] fdt::FdtError),
    /// Reading the object source failed: the I/O error's kind and message.
    #[error("reading object source: {message}")]
    Io {
        /// The error's kind.
        kind: std::io::ErrorKind,
        /// The error's message.
        message: String,
    },
    /// TOI 0 is reserved for FDT Instances (RFC 6726 §3.3).
    #[error("TOI 0 is reserved for FDT Instances (RFC 6726 §3.3)")]
    ReservedToi,
    /// The TOI does not fit in 112 bits (RFC 5651 §5.1: O=3 with H=1).
    #[error("TOI {0} does not fit in 112 bits (RFC 5651 §5.1)")]
    ToiTooLarge(u128),
    /// The TOI is already used by an object in the session.
    #[error("TOI {0:?} is already in use")]
    DuplicateToi(Toi),
    /// No more TOIs can be allocated (112-bit space exhausted).
    #[error("TOI space exhausted")]
    ToiExhausted,
    /// The object has no usable Content-Location.
    #[error("Content-Location must not be empty (RFC 6726 §3.4.2)")]
    EmptyContentLocation,
    /// A packet of this object cannot fit in the configured maximum datagram size.
    #[error("packet of {needed} bytes exceeds the maximum datagram size {max}")]
    PacketTooLarge {
        /// Bytes needed for the largest packet of the object.
        needed: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The caller's buffer cannot hold the packet.
    #[error("buffer too small: {0} bytes needed")]
    BufferTooSmall(usize),
    /// The session was closed with [`crate::Sender::close`]; no more objects are accepted.
    #[error("the session is closed")]
    Closed,
    /// The content encoding is not allowed by the configured profile.
    #[error("Content-Encoding {0} is not allowed by the profile")]
    EncodingNotAllowed(&'static str),
    /// `write_stream` or `finish_stream` on an object that is not an open
    /// [`crate::Object::stream`] (or whose end was already given).
    #[error("TOI {0:?} is not an object of unknown length still open (Object::stream)")]
    NotAStream(Toi),
    /// The object is not known to the sender.
    #[error("unknown TOI {0:?}")]
    UnknownToi(Toi),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}

impl From<std::io::Error> for SendError {
    fn from(e: std::io::Error) -> Self {
        Self::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}
