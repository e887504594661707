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
//! # Hostile input
//!
//! The parser uses quick-xml's event reader rather than a DOM or serde so that every limit is
//! enforced while reading: input size, nesting depth, value length, number of `File` and of
//! kept unknown elements, attributes per element. A `<!DOCTYPE>` is rejected outright, so no
//! DTD is processed and no entity but the five predefined ones and character references is
//! ever expanded (no billion laughs, no XXE); XInclude elements are kept as inert unknown
//! elements. Parsing never panics.
//!
//! Integers follow the XSD lexical rules exactly (a leading `+` and surrounding whitespace are
//! legal for `xs:unsignedLong`; `-`, inner spaces and overflow are not); see
//! [`ParseOptions::canonical_numbers`] for a stricter mode.
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
mod emit;
mod error;
mod lexical;
mod model;
mod parse;
mod validate;

pub use cenc::{Cenc, compress, inflate};
pub use emit::DEFAULT_SCHEMA_VERSION;
pub use error::FdtError;
pub use model::{
    AlternateContentLocations, CacheControl, ExtraAttribute, FdtInstance, FdtNamespace, FecOti,
    FecOtiAttributes, File, MAX_TOI, NS_FLUTE_2005, NS_MBMS_2022, NS_MBMS2005, NS_MBMS2007,
    NS_MBMS2008, NS_MBMS2009, NS_MBMS2012, NS_MBMS2015, NS_RFC6726, NS_SCHEMA_VERSION, NtpSeconds,
    Profile, SessionIdentityExpiry, XmlElement, XmlName, XmlNode,
};
pub use parse::{Limits, ParseOptions, ParsedFdt};
pub use validate::{ValidationOptions, content_md5};
