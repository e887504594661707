//! The FLUTE File Delivery Table (FDT): a typed model of FDT-Instance documents with a strict,
//! bounded parser, a schema-valid writer and the checks a receiver needs.
//!
//! | source | what this crate takes from it |
//! | --- | --- |
//! | RFC 6726 §3.4.2 | `FDT-Instance` / `File` and their attributes, namespace `urn:ietf:params:xml:ns:fdt` |
//! | RFC 3926 | FLUTE v1 namespace `urn:IETF:metadata:2005:FLUTE:FDT` |
//! | 3GPP TS 26.346 | mbms2005 … mbms2015 extensions, `sv:schemaVersion`/`sv:delimiter`, Rel-17 namespace `urn:3GPP:metadata:2022:FLUTE:FDT` (parsed) |
//!
//! The crate knows nothing about LCT or ALC: the FDT Instance ID, EXT_FDT and EXT_CENC live
//! in the `alc` layer, which hands this crate the (inflated, see [`inflate`]) payload.
//!
//! # Shape
//!
//! - [`FdtInstance`] and [`File`] carry every attribute of the RFC 6726 schema, typed (lengths
//!   `u64`, TOI `u128` up to 112 bits, `Content-MD5` as `[u8; 16]`, [`NtpSeconds`] for
//!   `Expires`), the 3GPP extensions, and whatever the crate does not understand
//!   ([`ExtraAttribute`], [`XmlElement`]), so parse → emit loses nothing of meaning.
//! - [`FdtInstance::parse`] / [`FdtInstance::parse_with`] read a document under [`Limits`]
//!   and [`ParseOptions`]; [`FdtInstance::emit`] writes one in a [`Profile`].
//! - [`File::effective_oti`] resolves the instance-level and file-level `FEC-OTI-*`
//!   attributes into a plain [`FecOti`], which the sender and receiver map to FEC scheme types.
//! - [`FdtInstance::validate`] and [`FdtInstance::check_successor`] hold the receiver-side
//!   rules (duplicate TOIs, `Complete`, conflicting OTI, expiry against a caller-given `now`).
//! - [`inflate`] and [`compress`] handle EXT_CENC payloads with an output cap.
//!
//! # Namespaces and profiles
//!
//! The parser accepts `FDT-Instance` in the RFC 6726, RFC 3926/3GPP and Rel-17 namespaces and,
//! unless [`ParseOptions::allow_no_namespace`] is cleared, in no namespace; the namespace used
//! is reported in [`ParsedFdt::namespace`]. 3GPP extension elements and attributes are read
//! in their own namespaces under every FDT namespace (`Group` and `MBMS-Session-Identity*`
//! also in the FDT namespace, as the Main XSD declares them). By default their order is not
//! checked; [`ParseOptions::profile`] enforces a profile's namespace and sequence.
//!
//! The writer ([`Profile`]) uses the profile's FDT namespace. In [`Profile::Mbms3gpp`] it
//! writes `sv:schemaVersion` (default [`DEFAULT_SCHEMA_VERSION`]) and the three
//! `sv:delimiter`s in the Main XSD order; in the RFC profiles 3GPP content is written as
//! foreign (`##other`) content, `Group` and `MBMS-Session-Identity*` in the mbms2005
//! namespace. The Rel-17 namespace is read, not written.
//!
//! Unknown attributes and elements are kept. What is not kept, because it carries no
//! meaning: namespace prefixes, comments, processing instructions, whitespace-only text
//! between elements of kept content, and the (schema-skipped) attributes of `Cache-Control`.
//!
//! # Hostile input
//!
//! The parser uses quick-xml's event reader rather than a DOM or serde so that every limit is
//! enforced while reading: input size, nesting depth, value length, number of `File` and of
//! kept unknown elements, attributes per element. A `<!DOCTYPE>` is rejected outright, so no
//! DTD is processed and no entity but the five predefined ones and character references is
//! ever expanded (no billion laughs, no XXE); XInclude elements are kept as inert unknown
//! elements. Parsing never panics.
//!
//! Values are checked against their XSD types, strictly but correctly: integers follow the XSD
//! lexical rules exactly, so a leading `+` and surrounding XML whitespace are accepted for
//! `xs:unsignedLong` and friends (XSD allows them, and libxml2 agrees), while a `-` sign
//! (even `-0`), inner spaces, an empty value, non-decimal digits and out-of-range values are
//! rejected. [`ParseOptions::canonical_numbers`] narrows this to the canonical form (no sign,
//! no whitespace, no leading zeros). `xs:base64Binary` ignores whitespace but requires
//! padding and canonical final bits. The writer always emits canonical forms. A TOI must be
//! in 1..=2^112-1 ([`MAX_TOI`]); `FEC-OTI-FEC-Encoding-ID` is read as `xs:unsignedLong` in
//! every namespace (3GPP types it so) and values above 255 are
//! [`FdtError::FecEncodingIdOutOfRange`]; `FEC-OTI-FEC-Instance-ID` above 65535 is
//! [`FdtError::FecInstanceIdOutOfRange`].
//!
//! # Example
//!
//! ```
//! use fdt::{FdtInstance, File, NtpSeconds, Profile};
//!
//! let mut fdt = FdtInstance::new(NtpSeconds(3_900_000_000));
//! fdt.complete = Some(true);
//! fdt.fec_oti.encoding_id = Some(6);
//! fdt.fec_oti.encoding_symbol_length = Some(1024);
//! let mut file = File::new(1, "https://example.com/a.txt");
//! file.content_length = Some(5);
//! file.content_md5 = Some(fdt::content_md5(b"hello"));
//! fdt.files.push(file);
//!
//! let xml = fdt.emit(Profile::Rfc6726)?;
//! let back = FdtInstance::parse(xml.as_bytes())?;
//! assert_eq!(back, fdt);
//! let oti = back.files[0].effective_oti(&back).expect("instance-level OTI");
//! assert_eq!((oti.encoding_id, oti.encoding_symbol_length), (6, Some(1024)));
//! back.validate(&fdt::ValidationOptions::default())?;
//! # Ok::<(), fdt::FdtError>(())
//! ```
#![forbid(unsafe_code)]

mod cenc;
mod clock;
mod emit;
mod error;
mod lexical;
mod model;
mod parse;
mod validate;

pub use cenc::{
    ContentEncoding, compress, content_encoding_from_attribute, content_encoding_from_cenc, inflate,
};
pub use clock::{AnchoredClock, FixedWallClock, WallClock};
pub use emit::DEFAULT_SCHEMA_VERSION;
pub use error::FdtError;
pub use model::{
    AlternateContentLocations, CacheControl, ExtraAttribute, FdtInstance, FdtNamespace, FecOti,
    FecOtiAttributes, File, MAX_TOI, NS_FLUTE_2005, NS_MBMS_2022, NS_MBMS2005, NS_MBMS2007,
    NS_MBMS2008, NS_MBMS2009, NS_MBMS2012, NS_MBMS2015, NS_RFC6726, NS_SCHEMA_VERSION, NtpSeconds,
    NtpTimestamp, Profile, SessionIdentityExpiry, XmlElement, XmlName, XmlNode,
};
pub use parse::{Limits, ParseOptions, ParsedFdt};
pub use validate::{ValidationOptions, content_md5};
