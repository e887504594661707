//! The error type of the crate.

use crate::{ContentEncoding, FdtNamespace, Profile};

/// Everything that can go wrong when parsing, validating, emitting or inflating an FDT.
///
/// Variants say *what* went wrong and, where there is one, *where*: the element, the attribute
/// and the byte offset in the input (the offset of the start of the tag that carries the fault,
/// or the position quick-xml reports for well-formedness errors).
///
/// Values copied from the input into an error are truncated to 64 bytes, so an error never
/// holds a large attacker-chosen string. Errors found on a model rather than in a document
/// (by [`FdtInstance::validate`](crate::FdtInstance::validate) or
/// [`FdtInstance::emit`](crate::FdtInstance::emit)) carry offset 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FdtError {
    /// The document is larger than [`Limits::max_document_size`](crate::Limits).
    #[error("FDT document of {size} bytes exceeds the limit of {limit} bytes")]
    DocumentTooLarge {
        /// Size of the input.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The input is not well-formed XML (includes truncated documents).
    #[error("malformed XML at byte {offset}: {message}")]
    Xml {
        /// Byte offset reported by the XML reader.
        offset: u64,
        /// Description from the XML reader.
        message: String,
    },
    /// A `<!DOCTYPE>` was found. DTDs are never processed (no entity expansion, no XXE).
    #[error("DOCTYPE at byte {offset} is forbidden in an FDT")]
    DoctypeForbidden {
        /// Byte offset of the declaration.
        offset: u64,
    },
    /// An entity reference other than the five predefined XML entities or a character reference.
    #[error("undefined entity reference &{name}; at byte {offset}")]
    UndefinedEntity {
        /// The entity name.
        name: String,
        /// Byte offset.
        offset: u64,
    },
    /// The XML declaration names an encoding other than UTF-8.
    #[error("unsupported document encoding {encoding:?} (FDTs are UTF-8)")]
    UnsupportedEncoding {
        /// The declared encoding.
        encoding: String,
    },
    /// Elements are nested deeper than [`Limits::max_depth`](crate::Limits).
    #[error("element nesting deeper than {limit} at byte {offset}")]
    DepthExceeded {
        /// The configured limit.
        limit: usize,
        /// Byte offset of the element that crossed the limit.
        offset: u64,
    },
    /// An attribute value or text content is longer than
    /// [`Limits::max_value_len`](crate::Limits).
    #[error("value of {name} on <{element}> is {len} bytes, limit {limit} (byte {offset})")]
    ValueTooLong {
        /// The element.
        element: String,
        /// The attribute name, or `#text` for text content.
        name: String,
        /// Length of the value.
        len: usize,
        /// The configured limit.
        limit: usize,
        /// Byte offset.
        offset: u64,
    },
    /// More `File` elements than [`Limits::max_files`](crate::Limits).
    #[error("more than {limit} File elements (byte {offset})")]
    TooManyFiles {
        /// The configured limit.
        limit: usize,
        /// Byte offset of the first File over the limit.
        offset: u64,
    },
    /// More unknown (kept) elements than [`Limits::max_unknown_elements`](crate::Limits).
    #[error("more than {limit} unknown elements (byte {offset})")]
    TooManyUnknownElements {
        /// The configured limit.
        limit: usize,
        /// Byte offset.
        offset: u64,
    },
    /// More attributes on one element than [`Limits::max_attributes`](crate::Limits).
    #[error("more than {limit} attributes on <{element}> (byte {offset})")]
    TooManyAttributes {
        /// The element.
        element: String,
        /// The configured limit.
        limit: usize,
        /// Byte offset.
        offset: u64,
    },
    /// The root element is not `FDT-Instance`.
    #[error("root element is <{found}>, expected <FDT-Instance> (byte {offset})")]
    WrongRootElement {
        /// The local name found.
        found: String,
        /// Byte offset.
        offset: u64,
    },
    /// The root element is in a namespace that is not an FDT namespace, or in the wrong one for
    /// the requested profile.
    #[error("<FDT-Instance> in namespace {found:?} is not accepted (byte {offset})")]
    WrongNamespace {
        /// The namespace URI (`None`: no namespace).
        found: Option<String>,
        /// Byte offset.
        offset: u64,
    },
    /// The document's FDT namespace does not belong to the profile the caller asked to enforce.
    #[error("document namespace {found:?} does not match profile {expected:?}")]
    ProfileMismatch {
        /// The profile being enforced.
        expected: Profile,
        /// The namespace found.
        found: FdtNamespace,
    },
    /// A required attribute is absent.
    #[error("<{element}> lacks the required attribute {attribute} (byte {offset})")]
    MissingAttribute {
        /// The element.
        element: &'static str,
        /// The attribute.
        attribute: &'static str,
        /// Byte offset of the element.
        offset: u64,
    },
    /// A required element is absent (for example no `File`, or a 3GPP `sv:delimiter`).
    #[error("<{parent}> lacks the required element <{element}> (byte {offset})")]
    MissingElement {
        /// The parent element.
        parent: &'static str,
        /// The missing element.
        element: &'static str,
        /// Byte offset of the parent (or of the point where the element was expected).
        offset: u64,
    },
    /// An element appears where the schema does not allow it (wrong place or wrong order).
    #[error("unexpected element <{element}> in <{parent}> (byte {offset})")]
    UnexpectedElement {
        /// The element found.
        element: String,
        /// The parent element.
        parent: &'static str,
        /// Byte offset.
        offset: u64,
    },
    /// An attribute on an element whose type allows no such attribute.
    #[error("unexpected attribute {attribute} on <{element}> (byte {offset})")]
    UnexpectedAttribute {
        /// The element.
        element: &'static str,
        /// The attribute's local name.
        attribute: String,
        /// Byte offset.
        offset: u64,
    },
    /// Character data in an element whose content model is element-only.
    #[error("unexpected text in <{element}> (byte {offset})")]
    UnexpectedText {
        /// The element.
        element: &'static str,
        /// Byte offset.
        offset: u64,
    },
    /// An attribute or element value is not in the lexical space of its XML Schema type, or is
    /// out of range.
    #[error("invalid {name} on <{element}>: {value:?} is not a valid {expected} (byte {offset})")]
    InvalidValue {
        /// The element.
        element: &'static str,
        /// The attribute, or `#text`.
        name: String,
        /// The offending value (truncated).
        value: String,
        /// The expected type, e.g. `xs:unsignedLong`.
        expected: &'static str,
        /// Byte offset of the element.
        offset: u64,
    },
    /// `FEC-OTI-FEC-Encoding-ID` above 255 (3GPP types it as xs:unsignedLong; RFC 5052 IDs
    /// are 8 bits).
    #[error("FEC-OTI-FEC-Encoding-ID {value} is above 255 (byte {offset})")]
    FecEncodingIdOutOfRange {
        /// The value.
        value: u64,
        /// Byte offset.
        offset: u64,
    },
    /// `FEC-OTI-FEC-Instance-ID` above 65535 (RFC 5052 Instance IDs are 16 bits).
    #[error("FEC-OTI-FEC-Instance-ID {value} is above 65535 (byte {offset})")]
    FecInstanceIdOutOfRange {
        /// The value.
        value: u64,
        /// Byte offset.
        offset: u64,
    },
    /// `TOI="0"`: TOI 0 is reserved for the FDT itself (xs:positiveInteger).
    #[error("TOI 0 is reserved for the FDT (byte {offset})")]
    ToiZero {
        /// Byte offset.
        offset: u64,
    },
    /// A TOI that does not fit the 112-bit LCT TOI field.
    #[error("TOI {value} does not fit in 112 bits (byte {offset})")]
    ToiTooLarge {
        /// The value (truncated decimal text).
        value: String,
        /// Byte offset.
        offset: u64,
    },
    /// `Content-MD5` is valid base64 but not 16 bytes long.
    #[error("Content-MD5 decodes to {len} bytes, expected 16 (byte {offset})")]
    ContentMd5Length {
        /// Decoded length.
        len: usize,
        /// Byte offset.
        offset: u64,
    },
    /// A `Cache-Control` element with zero or more than one of its choices.
    #[error("Cache-Control must hold exactly one of no-cache, max-stale, Expires (byte {offset})")]
    CacheControlChoice {
        /// Byte offset.
        offset: u64,
    },
    /// The instance has no `File` element.
    #[error("FDT-Instance has no File")]
    NoFiles,
    /// Two `File` elements of one instance carry the same TOI.
    #[error("duplicate TOI {toi} in one FDT instance")]
    DuplicateToi {
        /// The TOI.
        toi: u128,
    },
    /// Two `File` elements of one instance carry the same Content-Location with different TOIs.
    #[error("Content-Location {location:?} is listed with TOI {first} and TOI {second}")]
    DuplicateContentLocation {
        /// The location (truncated).
        location: String,
        /// The first TOI.
        first: u128,
        /// The second TOI.
        second: u128,
    },
    /// The instance expired before `now`.
    #[error("FDT instance expired (Expires={expires} NTP seconds)")]
    Expired {
        /// The Expires value, NTP seconds.
        expires: u32,
    },
    /// A later instance adds a TOI after an instance marked `Complete="true"`.
    #[error("TOI {toi} added after a Complete=\"true\" FDT instance")]
    AddedAfterComplete {
        /// The new TOI.
        toi: u128,
    },
    /// A later instance with `FullFDT="true"` drops a file that a `Complete="true"` instance
    /// listed (the complete set of files cannot shrink).
    #[error("FullFDT instance omits TOI {toi} listed by an earlier Complete instance")]
    FullFdtCompleteMismatch {
        /// The TOI missing from the FullFDT instance.
        toi: u128,
    },
    /// Two instances give different effective FEC OTI for the same TOI.
    #[error("conflicting FEC OTI for TOI {toi} between FDT instances")]
    OtiConflict {
        /// The TOI.
        toi: u128,
    },
    /// Two instances give different Content-Location or lengths for the same TOI.
    #[error("conflicting {attribute} for TOI {toi} between FDT instances")]
    FileConflict {
        /// The TOI.
        toi: u128,
        /// The attribute that differs.
        attribute: &'static str,
    },
    /// The FDT Transfer-Length differs from the transfer length signalled elsewhere (EXT_FTI).
    #[error("TOI {toi}: Transfer-Length {fdt} in the FDT, {other} in EXT_FTI")]
    TransferLengthMismatch {
        /// The TOI.
        toi: u128,
        /// The FDT value.
        fdt: u64,
        /// The other value.
        other: u64,
    },
    /// The MD5 digest of the received content differs from `Content-MD5`.
    #[error("TOI {toi}: Content-MD5 mismatch")]
    Md5Mismatch {
        /// The TOI.
        toi: u128,
    },
    /// A `Content-Encoding` this crate cannot decode.
    #[error("unknown Content-Encoding {value:?}")]
    UnknownContentEncoding {
        /// The value (truncated).
        value: String,
    },
    /// The model uses a construct the chosen profile cannot express.
    #[error("cannot emit in profile {profile:?}: {reason}")]
    NotExpressible {
        /// The profile.
        profile: Profile,
        /// What is wrong.
        reason: &'static str,
    },
    /// A kept unknown element or attribute has a name that is not a valid XML name.
    #[error("invalid XML name {name:?}")]
    InvalidName {
        /// The name (truncated).
        name: String,
    },
    /// An EXT_CENC code that is not 0..=3.
    #[error("unknown content encoding code {0} (EXT_CENC)")]
    UnknownCenc(u8),
    /// Decompressed output would exceed the caller's cap (decompression bomb).
    #[error("decompressed FDT exceeds {limit} bytes")]
    DecompressedTooLarge {
        /// The cap.
        limit: usize,
    },
    /// The compressed payload is corrupt (bad header, bad CRC, truncated stream, trailing data).
    #[error("corrupt {cenc:?} payload: {message}")]
    Decompress {
        /// The encoding.
        cenc: ContentEncoding,
        /// Description.
        message: String,
    },
}

/// Truncates `s` to at most 64 bytes on a char boundary, for inclusion in an error.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s[..end].to_owned();
    out.push('…');
    out
}
