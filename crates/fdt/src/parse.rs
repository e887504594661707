//! The FDT parser: a streaming pass over quick-xml's namespace-aware event reader.
//!
//! Why the event reader and not serde: it gives control over every limit while reading
//! (depth, value length, element counts are checked *before* anything is built), it reports
//! byte offsets, it lets unknown `##other` content be captured as a tree instead of being
//! silently dropped, and it lets the parser refuse a DOCTYPE the moment one appears.
//! quick-xml never expands entities beyond the five predefined ones and character references,
//! never fetches external resources and never processes XInclude.

use std::borrow::Cow;

use quick_xml::{
    NsReader,
    events::{BytesRef, BytesStart, Event},
    name::ResolveResult,
};

use crate::{
    FdtError, FdtNamespace, Profile,
    error::clip,
    lexical::{self, NumError},
    model::*,
};

/// Resource caps applied while parsing. All are checked before the corresponding memory is
/// allocated.
///
/// `#[non_exhaustive]`: start from [`Limits::default`] and set the fields you need, so that
/// a new limit is not a breaking change.
///
/// ```
/// let mut limits = fdt::Limits::default();
/// limits.max_files = 1000;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Maximum input size in bytes (default 8 MiB).
    pub max_document_size: usize,
    /// Maximum element nesting depth, root = 1 (default 32).
    pub max_depth: usize,
    /// Maximum length of one attribute value or text content, in bytes (default 64 KiB).
    pub max_value_len: usize,
    /// Maximum number of `File` elements (default 100 000).
    pub max_files: usize,
    /// Maximum number of kept unknown elements, descendants included (default 4096).
    pub max_unknown_elements: usize,
    /// Maximum number of attributes on one element (default 64).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_size: 8 << 20,
            max_depth: 32,
            max_value_len: 64 << 10,
            max_files: 100_000,
            max_unknown_elements: 4096,
            max_attributes: 64,
        }
    }
}

/// How [`FdtInstance::parse_with`] treats its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Resource caps.
    pub limits: Limits,
    /// If set, the document must use the profile's namespace and structure: for
    /// [`Profile::Mbms3gpp`], `sv:schemaVersion` and both `sv:delimiter`s in the XSD sequence
    /// order; for the RFC profiles, `File` elements first and no unknown element in the FDT
    /// namespace. If `None` (the default), every FDT namespace is accepted and 3GPP elements
    /// may appear in any order.
    pub profile: Option<Profile>,
    /// Accept an `FDT-Instance` in no namespace (seen in the wild; not schema-valid). The
    /// result is flagged with [`FdtNamespace::None`]. Default `true`.
    pub allow_no_namespace: bool,
    /// Accept only canonical integers (no `+`, no surrounding whitespace, no leading zeros),
    /// which is stricter than XSD. Default `false`.
    pub canonical_numbers: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            profile: None,
            allow_no_namespace: true,
            canonical_numbers: false,
        }
    }
}

/// The result of [`FdtInstance::parse_with`]: the model plus facts about the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFdt {
    /// The instance.
    pub instance: FdtInstance,
    /// The FDT namespace the document used.
    pub namespace: FdtNamespace,
}

impl FdtInstance {
    /// Parses an FDT-Instance document with the default [`ParseOptions`].
    ///
    /// Never panics on any input; memory is bounded by [`Limits`].
    pub fn parse(data: &[u8]) -> Result<Self, FdtError> {
        Self::parse_with(data, &ParseOptions::default()).map(|p| p.instance)
    }

    /// Parses an FDT-Instance document.
    pub fn parse_with(data: &[u8], options: &ParseOptions) -> Result<ParsedFdt, FdtError> {
        if data.len() > options.limits.max_document_size {
            return Err(FdtError::DocumentTooLarge {
                size: data.len(),
                limit: options.limits.max_document_size,
            });
        }
        let mut reader = NsReader::from_reader(data);
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        let mut p = Parser {
            reader,
            opts: options,
            depth: 0,
            unknown: 0,
            doc: FdtNamespace::None,
        };
        p.document()
    }
}

/// A namespace, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ns {
    None,
    Known(&'static str),
    Other(String),
}

impl Ns {
    fn uri(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Known(s) => Some(s),
            Self::Other(s) => Some(s),
        }
    }
}

const KNOWN: [&str; 10] = [
    NS_RFC6726,
    NS_FLUTE_2005,
    NS_MBMS_2022,
    NS_MBMS2005,
    NS_MBMS2007,
    NS_MBMS2008,
    NS_MBMS2009,
    NS_MBMS2012,
    NS_MBMS2015,
    NS_SCHEMA_VERSION,
];

/// Positions in the 3GPP sequences, for order checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    File,
    SchemaVersion,
    BaseUrl1,
    BaseUrl2,
    Delimiter,
    Other,
    Group,
    Expiry,
    CacheControl,
    Acl1,
    Acl2,
    SessionIdentity,
    /// An element in the FDT namespace that the schema does not define.
    Foreign,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Self::File => "File",
            Self::SchemaVersion => "schemaVersion",
            Self::BaseUrl1 => "Base-URL-1",
            Self::BaseUrl2 => "Base-URL-2",
            Self::Delimiter => "delimiter",
            Self::Other => "##other",
            Self::Group => "Group",
            Self::Expiry => "MBMS-Session-Identity-Expiry",
            Self::CacheControl => "Cache-Control",
            Self::Acl1 => "Alternate-Content-Location-1",
            Self::Acl2 => "Alternate-Content-Location-2",
            Self::SessionIdentity => "MBMS-Session-Identity",
            Self::Foreign => "(undefined FDT element)",
        }
    }
}

const UNBOUNDED: usize = usize::MAX;
const MAIN_INSTANCE: &[(Slot, usize, usize)] = &[
    (Slot::File, 1, UNBOUNDED),
    (Slot::SchemaVersion, 1, 1),
    (Slot::BaseUrl1, 0, UNBOUNDED),
    (Slot::BaseUrl2, 0, UNBOUNDED),
    (Slot::Delimiter, 1, 1),
    (Slot::Other, 0, UNBOUNDED),
    (Slot::Group, 0, UNBOUNDED),
    (Slot::Expiry, 0, UNBOUNDED),
];
const MAIN_FILE: &[(Slot, usize, usize)] = &[
    (Slot::CacheControl, 0, 1),
    (Slot::Delimiter, 1, 1),
    (Slot::Acl1, 0, UNBOUNDED),
    (Slot::Acl2, 0, UNBOUNDED),
    (Slot::Delimiter, 1, 1),
    (Slot::Other, 0, UNBOUNDED),
    (Slot::Group, 0, UNBOUNDED),
    (Slot::SessionIdentity, 0, UNBOUNDED),
];
const PROFILED_INSTANCE: &[(Slot, usize, usize)] = &[
    (Slot::File, 1, UNBOUNDED),
    (Slot::SchemaVersion, 1, 1),
    (Slot::Other, 0, UNBOUNDED),
];
const PROFILED_FILE: &[(Slot, usize, usize)] =
    &[(Slot::CacheControl, 0, 1), (Slot::Other, 0, UNBOUNDED)];
const RFC_INSTANCE: &[(Slot, usize, usize)] =
    &[(Slot::File, 1, UNBOUNDED), (Slot::Other, 0, UNBOUNDED)];
const RFC_FILE: &[(Slot, usize, usize)] = &[(Slot::Other, 0, UNBOUNDED)];

/// Checks `observed` against a deterministic XSD sequence (greedy matching is exact here
/// because consecutive particles never share an element).
fn check_sequence(
    seq: &[(Slot, usize, usize)],
    observed: &[(Slot, u64)],
    parent: &'static str,
    parent_offset: u64,
) -> Result<(), FdtError> {
    let mut i = 0;
    let mut count = 0;
    for &(slot, offset) in observed {
        loop {
            let Some(&(want, min, max)) = seq.get(i) else {
                return Err(FdtError::UnexpectedElement {
                    element: slot.name().to_owned(),
                    parent,
                    offset,
                });
            };
            if want == slot && count < max {
                count += 1;
                break;
            }
            if count < min {
                return if seq.iter().skip(i + 1).any(|p| p.0 == slot) {
                    Err(FdtError::MissingElement {
                        parent,
                        element: want.name(),
                        offset,
                    })
                } else {
                    Err(FdtError::UnexpectedElement {
                        element: slot.name().to_owned(),
                        parent,
                        offset,
                    })
                };
            }
            i += 1;
            count = 0;
        }
    }
    while let Some(&(want, min, _)) = seq.get(i) {
        if count < min {
            return Err(FdtError::MissingElement {
                parent,
                element: want.name(),
                offset: parent_offset,
            });
        }
        i += 1;
        count = 0;
    }
    Ok(())
}

struct Parser<'a> {
    reader: NsReader<&'a [u8]>,
    opts: &'a ParseOptions,
    depth: usize,
    unknown: usize,
    doc: FdtNamespace,
}

fn xml_err(offset: u64, e: impl std::fmt::Display) -> FdtError {
    FdtError::Xml {
        offset,
        message: e.to_string(),
    }
}

fn invalid(
    element: &'static str,
    name: &str,
    value: &str,
    expected: &'static str,
    offset: u64,
) -> FdtError {
    FdtError::InvalidValue {
        element,
        name: clip(name),
        value: clip(value),
        expected,
        offset,
    }
}

fn is_blank(s: &[u8]) -> bool {
    s.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A raw attribute: resolved name and unescaped value.
struct Attr<'e> {
    ns: Ns,
    local: &'e str,
    value: Cow<'e, str>,
}

impl<'a> Parser<'a> {
    fn pos(&self) -> u64 {
        self.reader.buffer_position()
    }

    fn classify(r: ResolveResult<'_>, offset: u64) -> Result<Ns, FdtError> {
        match r {
            ResolveResult::Unbound => Ok(Ns::None),
            ResolveResult::Bound(ns) if ns.as_ref().is_empty() => Ok(Ns::None),
            ResolveResult::Bound(ns) => {
                let raw = std::str::from_utf8(ns.as_ref()).map_err(|e| xml_err(offset, e))?;
                // quick-xml hands over the declaration's raw value.
                let s = &*quick_xml::escape::unescape(raw).map_err(|e| escape_err(e, offset))?;
                Ok(KNOWN
                    .iter()
                    .find(|k| **k == s)
                    .map_or_else(|| Ns::Other(s.to_owned()), |k| Ns::Known(k)))
            }
            ResolveResult::Unknown(p) => Err(xml_err(
                offset,
                format!("unbound namespace prefix {:?}", String::from_utf8_lossy(&p)),
            )),
        }
    }

    /// Reads the next event, with its namespace classified and its start offset.
    fn next(&mut self) -> Result<(Ns, Event<'a>, u64), FdtError> {
        let offset = self.pos();
        let (r, ev) = match self.reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => return Err(xml_err(self.reader.error_position(), e)),
        };
        let ns = match &ev {
            Event::Start(_) | Event::Empty(_) | Event::End(_) => Self::classify(r, offset)?,
            _ => Ns::None,
        };
        if let Event::DocType(_) = ev {
            return Err(FdtError::DoctypeForbidden { offset });
        }
        Ok((ns, ev, offset))
    }

    fn local<'e>(e: &'e BytesStart<'_>, offset: u64) -> Result<&'e str, FdtError> {
        std::str::from_utf8(e.local_name().into_inner()).map_err(|err| xml_err(offset, err))
    }

    fn enter(&mut self, offset: u64) -> Result<(), FdtError> {
        if self.depth >= self.opts.limits.max_depth {
            return Err(FdtError::DepthExceeded {
                limit: self.opts.limits.max_depth,
                offset,
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn attrs<'e>(
        &self,
        e: &'e BytesStart<'_>,
        element: &str,
        offset: u64,
    ) -> Result<Vec<Attr<'e>>, FdtError> {
        let limits = &self.opts.limits;
        let mut out = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| xml_err(offset, err))?;
            if a.value.contains(&b'<') {
                return Err(xml_err(offset, "'<' in an attribute value"));
            }
            if a.key.as_namespace_binding().is_some() {
                continue;
            }
            if out.len() >= limits.max_attributes {
                return Err(FdtError::TooManyAttributes {
                    element: clip(element),
                    limit: limits.max_attributes,
                    offset,
                });
            }
            let (r, local) = self.reader.resolve_attribute(a.key);
            let local =
                std::str::from_utf8(local.into_inner()).map_err(|err| xml_err(offset, err))?;
            let ns = Self::classify(r, offset)?;
            if !lexical::is_ncname(local) {
                return Err(xml_err(
                    offset,
                    format!("invalid attribute name {:?}", clip(local)),
                ));
            }
            let value = match a.value {
                Cow::Borrowed(raw) => {
                    let raw = std::str::from_utf8(raw).map_err(|err| xml_err(offset, err))?;
                    quick_xml::escape::unescape(raw).map_err(|err| escape_err(err, offset))?
                }
                Cow::Owned(raw) => {
                    let raw = String::from_utf8(raw).map_err(|err| xml_err(offset, err))?;
                    Cow::Owned(
                        quick_xml::escape::unescape(&raw)
                            .map_err(|err| escape_err(err, offset))?
                            .into_owned(),
                    )
                }
            };
            // The unescaped length is what the model holds (and what an emitter reproduces
            // whatever escaping it picks); it is never longer than the raw value.
            if value.len() > limits.max_value_len {
                return Err(FdtError::ValueTooLong {
                    element: clip(element),
                    name: clip(local),
                    len: value.len(),
                    limit: limits.max_value_len,
                    offset,
                });
            }
            // Namespaces in XML: no two attributes with the same expanded name.
            if out
                .iter()
                .any(|b: &Attr<'_>| b.ns == ns && b.local == local)
            {
                return Err(xml_err(
                    offset,
                    format!("duplicate attribute {:?}", clip(local)),
                ));
            }
            out.push(Attr { ns, local, value });
        }
        Ok(out)
    }

    fn resolve_ref(&self, r: &BytesRef<'_>, offset: u64, out: &mut String) -> Result<(), FdtError> {
        if let Some(c) = r.resolve_char_ref().map_err(|e| xml_err(offset, e))? {
            out.push(c);
            return Ok(());
        }
        let name = r.decode().map_err(|e| xml_err(offset, e))?;
        out.push(match &*name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            other => {
                return Err(FdtError::UndefinedEntity {
                    name: clip(other),
                    offset,
                });
            }
        });
        Ok(())
    }

    fn check_len(&self, element: &str, len: usize, offset: u64) -> Result<(), FdtError> {
        if len > self.opts.limits.max_value_len {
            return Err(FdtError::ValueTooLong {
                element: clip(element),
                name: "#text".to_owned(),
                len,
                limit: self.opts.limits.max_value_len,
                offset,
            });
        }
        Ok(())
    }

    /// Reads the text content of a simple-content element whose start tag was just read.
    fn text(&mut self, element: &'static str, empty: bool) -> Result<String, FdtError> {
        let mut out = String::new();
        if empty {
            return Ok(out);
        }
        loop {
            let (_, ev, offset) = self.next()?;
            match ev {
                Event::Text(t) => {
                    out.push_str(&t.decode().map_err(|e| xml_err(offset, e))?);
                }
                Event::CData(t) => {
                    out.push_str(&t.decode().map_err(|e| xml_err(offset, e))?);
                }
                Event::GeneralRef(r) => self.resolve_ref(&r, offset, &mut out)?,
                Event::Comment(_) | Event::PI(_) => {}
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(out);
                }
                Event::Start(e) | Event::Empty(e) => {
                    let name = Self::local(&e, offset)?;
                    return Err(FdtError::UnexpectedElement {
                        element: clip(name),
                        parent: element,
                        offset,
                    });
                }
                Event::Eof => return Err(xml_err(offset, "unexpected end of document")),
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(xml_err(offset, "misplaced declaration"));
                }
            }
            self.check_len(element, out.len(), offset)?;
        }
    }

    /// Reads a simple-content element whose type allows no attributes.
    fn simple_text(
        &mut self,
        e: &BytesStart<'_>,
        element: &'static str,
        empty: bool,
        offset: u64,
    ) -> Result<String, FdtError> {
        if let Some(a) = self.attrs(e, element, offset)?.first() {
            return Err(FdtError::UnexpectedAttribute {
                element,
                attribute: clip(a.local),
                offset,
            });
        }
        self.text(element, empty)
    }

    fn number(
        &self,
        element: &'static str,
        name: &str,
        value: &str,
        max: u128,
        expected: &'static str,
        offset: u64,
    ) -> Result<u128, FdtError> {
        match lexical::unsigned(value, self.opts.canonical_numbers) {
            Ok(v) if v <= max => Ok(v),
            _ => Err(invalid(element, name, value, expected, offset)),
        }
    }

    fn u64(
        &self,
        element: &'static str,
        name: &str,
        value: &str,
        offset: u64,
    ) -> Result<u64, FdtError> {
        let v = self.number(
            element,
            name,
            value,
            u128::from(u64::MAX),
            "xs:unsignedLong",
            offset,
        )?;
        u64::try_from(v).map_err(|_| invalid(element, name, value, "xs:unsignedLong", offset))
    }

    fn u32(
        &self,
        element: &'static str,
        name: &str,
        value: &str,
        offset: u64,
    ) -> Result<u32, FdtError> {
        let v = self.number(
            element,
            name,
            value,
            u128::from(u32::MAX),
            "xs:unsignedInt",
            offset,
        )?;
        u32::try_from(v).map_err(|_| invalid(element, name, value, "xs:unsignedInt", offset))
    }

    fn u8(
        &self,
        element: &'static str,
        name: &str,
        value: &str,
        offset: u64,
    ) -> Result<u8, FdtError> {
        let v = self.number(
            element,
            name,
            value,
            u128::from(u8::MAX),
            "xs:unsignedByte",
            offset,
        )?;
        u8::try_from(v).map_err(|_| invalid(element, name, value, "xs:unsignedByte", offset))
    }

    fn bool(
        &self,
        element: &'static str,
        name: &str,
        value: &str,
        offset: u64,
    ) -> Result<bool, FdtError> {
        lexical::boolean(value).ok_or_else(|| invalid(element, name, value, "xs:boolean", offset))
    }

    /// Handles one of the FEC-OTI-* attributes; `false` if `local` is not one.
    fn oti_attr(
        &self,
        oti: &mut FecOtiAttributes,
        element: &'static str,
        local: &str,
        value: &str,
        offset: u64,
    ) -> Result<bool, FdtError> {
        match local {
            "FEC-OTI-FEC-Encoding-ID" => {
                let v = self.u64(element, local, value, offset)?;
                let id = u8::try_from(v)
                    .map_err(|_| FdtError::FecEncodingIdOutOfRange { value: v, offset })?;
                oti.encoding_id = Some(id);
            }
            "FEC-OTI-FEC-Instance-ID" => {
                let v = self.u64(element, local, value, offset)?;
                let id = u16::try_from(v)
                    .map_err(|_| FdtError::FecInstanceIdOutOfRange { value: v, offset })?;
                oti.instance_id = Some(id);
            }
            "FEC-OTI-Maximum-Source-Block-Length" => {
                oti.max_source_block_length = Some(self.u64(element, local, value, offset)?);
            }
            "FEC-OTI-Encoding-Symbol-Length" => {
                oti.encoding_symbol_length = Some(self.u64(element, local, value, offset)?);
            }
            "FEC-OTI-Max-Number-of-Encoding-Symbols" => {
                oti.max_number_of_encoding_symbols = Some(self.u64(element, local, value, offset)?);
            }
            "FEC-OTI-Scheme-Specific-Info" => {
                let v = lexical::base64(value)
                    .ok_or_else(|| invalid(element, local, value, "xs:base64Binary", offset))?;
                oti.scheme_specific_info = Some(v);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn document(&mut self) -> Result<ParsedFdt, FdtError> {
        let mut result = None;
        loop {
            let (ns, ev, offset) = self.next()?;
            match ev {
                Event::Decl(d) => {
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| xml_err(offset, e))?;
                        if !enc.eq_ignore_ascii_case(b"utf-8") {
                            return Err(FdtError::UnsupportedEncoding {
                                encoding: clip(&String::from_utf8_lossy(&enc)),
                            });
                        }
                    }
                }
                Event::Start(e) | Event::Empty(e) if result.is_some() => {
                    let name = Self::local(&e, offset)?;
                    return Err(xml_err(
                        offset,
                        format!("second root element <{}>", clip(name)),
                    ));
                }
                Event::Start(e) => {
                    self.enter(offset)?;
                    result = Some(self.root(&e, ns, false, offset)?);
                }
                Event::Empty(e) => {
                    self.enter(offset)?;
                    result = Some(self.root(&e, ns, true, offset)?);
                }
                Event::Text(t) if is_blank(&t) => {}
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    return result.ok_or_else(|| {
                        xml_err(
                            offset,
                            "no FDT-Instance element (empty or truncated document)",
                        )
                    });
                }
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(xml_err(offset, "character data outside the root element"));
                }
                Event::End(_) | Event::DocType(_) => {
                    return Err(xml_err(offset, "unexpected markup"));
                }
            }
        }
    }

    fn root(
        &mut self,
        e: &BytesStart<'a>,
        ns: Ns,
        empty: bool,
        offset: u64,
    ) -> Result<ParsedFdt, FdtError> {
        let local = Self::local(e, offset)?;
        if local != "FDT-Instance" {
            return Err(FdtError::WrongRootElement {
                found: clip(local),
                offset,
            });
        }
        self.doc = match ns {
            Ns::Known(NS_RFC6726) => FdtNamespace::Rfc6726,
            Ns::Known(NS_FLUTE_2005) => FdtNamespace::Flute2005,
            Ns::Known(NS_MBMS_2022) => FdtNamespace::Mbms2022,
            Ns::None if self.opts.allow_no_namespace => FdtNamespace::None,
            other => {
                return Err(FdtError::WrongNamespace {
                    found: other.uri().map(clip),
                    offset,
                });
            }
        };
        if let Some(profile) = self.opts.profile {
            let ok = matches!(
                (profile, self.doc),
                (Profile::Rfc6726, FdtNamespace::Rfc6726)
                    | (Profile::Rfc3926, FdtNamespace::Flute2005)
                    | (
                        Profile::Mbms3gpp,
                        FdtNamespace::Flute2005 | FdtNamespace::Mbms2022
                    )
            );
            if !ok {
                return Err(FdtError::ProfileMismatch {
                    expected: profile,
                    found: self.doc,
                });
            }
        }
        let mut inst = FdtInstance::default();
        let mut expires = None;
        const E: &str = "FDT-Instance";
        for a in self.attrs(e, E, offset)? {
            let v = &*a.value;
            match (&a.ns, a.local) {
                (Ns::None, "Expires") => {
                    let n = self.number(
                        E,
                        "Expires",
                        v,
                        u128::from(u32::MAX),
                        "32-bit NTP seconds",
                        offset,
                    )?;
                    expires =
                        Some(NtpSeconds(u32::try_from(n).map_err(|_| {
                            invalid(E, "Expires", v, "32-bit NTP seconds", offset)
                        })?));
                }
                (Ns::None, "Complete") => {
                    inst.complete = Some(self.bool(E, "Complete", v, offset)?)
                }
                (Ns::None, "Content-Type") => inst.content_type = Some(a.value.into_owned()),
                (Ns::None, "Content-Encoding") => {
                    inst.content_encoding = Some(a.value.into_owned())
                }
                (Ns::Known(NS_MBMS2008), "FullFDT") => {
                    inst.full_fdt = Some(self.bool(E, "FullFDT", v, offset)?)
                }
                (Ns::None, name) if self.oti_attr(&mut inst.fec_oti, E, name, v, offset)? => {}
                _ => inst.extra_attributes.push(ExtraAttribute {
                    name: XmlName {
                        namespace: a.ns.uri().map(str::to_owned),
                        local: a.local.to_owned(),
                    },
                    value: a.value.into_owned(),
                }),
            }
        }
        inst.expires = expires.ok_or(FdtError::MissingAttribute {
            element: E,
            attribute: "Expires",
            offset,
        })?;
        let mut slots = Vec::new();
        if !empty {
            self.instance_children(&mut inst, &mut slots)?;
        }
        if inst.files.is_empty() {
            return Err(FdtError::MissingElement {
                parent: E,
                element: "File",
                offset,
            });
        }
        if let Some(seq) = self.sequence(true) {
            check_sequence(seq, &slots, E, offset)?;
        }
        Ok(ParsedFdt {
            instance: inst,
            namespace: self.doc,
        })
    }

    fn sequence(&self, instance: bool) -> Option<&'static [(Slot, usize, usize)]> {
        let profile = self.opts.profile?;
        Some(match (profile, self.doc, instance) {
            (Profile::Mbms3gpp, FdtNamespace::Mbms2022, true) => PROFILED_INSTANCE,
            (Profile::Mbms3gpp, FdtNamespace::Mbms2022, false) => PROFILED_FILE,
            (Profile::Mbms3gpp, _, true) => MAIN_INSTANCE,
            (Profile::Mbms3gpp, _, false) => MAIN_FILE,
            (_, _, true) => RFC_INSTANCE,
            (_, _, false) => RFC_FILE,
        })
    }

    fn is_doc_ns(&self, ns: &Ns) -> bool {
        ns.uri() == self.doc.uri()
    }

    /// Classifies a child element by namespace and local name.
    fn slot(&self, ns: &Ns, local: &str, in_file: bool) -> Slot {
        let doc = self.is_doc_ns(ns);
        let p2022 = self.doc == FdtNamespace::Mbms2022;
        match (ns, local, in_file) {
            (_, "File", false) if doc => Slot::File,
            (_, "schemaVersion", false) if doc && p2022 => Slot::SchemaVersion,
            (Ns::Known(NS_SCHEMA_VERSION), "schemaVersion", false) if !p2022 => Slot::SchemaVersion,
            (Ns::Known(NS_SCHEMA_VERSION), "delimiter", _) if !p2022 => Slot::Delimiter,
            (Ns::Known(NS_MBMS2012), "Base-URL-1", false) if !p2022 => Slot::BaseUrl1,
            (Ns::Known(NS_MBMS2012), "Base-URL-2", false) if !p2022 => Slot::BaseUrl2,
            (_, "Group", _) if doc && !p2022 => Slot::Group,
            (_, "MBMS-Session-Identity-Expiry", false) if doc && !p2022 => Slot::Expiry,
            (_, "MBMS-Session-Identity", true) if doc && !p2022 => Slot::SessionIdentity,
            (_, "Cache-Control", true) if doc && p2022 => Slot::CacheControl,
            (Ns::Known(NS_MBMS2007), "Cache-Control", true) if !p2022 => Slot::CacheControl,
            (Ns::Known(NS_MBMS2012), "Alternate-Content-Location-1", true) if !p2022 => Slot::Acl1,
            (Ns::Known(NS_MBMS2012), "Alternate-Content-Location-2", true) if !p2022 => Slot::Acl2,
            _ if doc => Slot::Foreign,
            _ => Slot::Other,
        }
    }

    /// The slot used for order checking under the enforced profile.
    fn order_slot(&self, ns: &Ns, local: &str, in_file: bool) -> Slot {
        if self.opts.profile == Some(Profile::Mbms3gpp) {
            return self.slot(ns, local, in_file);
        }
        match (self.is_doc_ns(ns), local, in_file) {
            (true, "File", false) => Slot::File,
            (true, _, _) => Slot::Foreign,
            (false, _, _) => Slot::Other,
        }
    }

    /// What a child element means in the model (lenient: 3GPP extension elements are
    /// recognised in their own namespace under every FDT namespace).
    fn meaning(&self, ns: &Ns, local: &str, in_file: bool) -> Slot {
        let slot = self.slot(ns, local, in_file);
        if slot != Slot::Other {
            return slot;
        }
        match (ns, local, in_file) {
            (Ns::Known(NS_SCHEMA_VERSION), "schemaVersion", false) => Slot::SchemaVersion,
            (Ns::Known(NS_SCHEMA_VERSION), "delimiter", _) => Slot::Delimiter,
            (Ns::Known(NS_MBMS2012), "Base-URL-1", false) => Slot::BaseUrl1,
            (Ns::Known(NS_MBMS2012), "Base-URL-2", false) => Slot::BaseUrl2,
            (Ns::Known(NS_MBMS2005), "Group", _) => Slot::Group,
            (Ns::Known(NS_MBMS2005), "MBMS-Session-Identity-Expiry", false) => Slot::Expiry,
            (Ns::Known(NS_MBMS2005), "MBMS-Session-Identity", true) => Slot::SessionIdentity,
            (Ns::Known(NS_MBMS2007), "Cache-Control", true) => Slot::CacheControl,
            (Ns::Known(NS_MBMS2012), "Alternate-Content-Location-1", true) => Slot::Acl1,
            (Ns::Known(NS_MBMS2012), "Alternate-Content-Location-2", true) => Slot::Acl2,
            _ => Slot::Other,
        }
    }

    fn children<F>(&mut self, parent: &'static str, mut on_child: F) -> Result<(), FdtError>
    where
        F: FnMut(&mut Self, &BytesStart<'a>, Ns, bool, u64) -> Result<(), FdtError>,
    {
        loop {
            let (ns, ev, offset) = self.next()?;
            match ev {
                Event::Start(e) => {
                    self.enter(offset)?;
                    on_child(self, &e, ns, false, offset)?;
                }
                Event::Empty(e) => {
                    self.enter(offset)?;
                    on_child(self, &e, ns, true, offset)?;
                    // An empty element has no End event: leave it here.
                    self.depth -= 1;
                }
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(());
                }
                Event::Text(t) if is_blank(&t) => {}
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    return Err(FdtError::UnexpectedText {
                        element: parent,
                        offset,
                    });
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Err(xml_err(offset, "unexpected end of document")),
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(xml_err(offset, "misplaced declaration"));
                }
            }
        }
    }

    fn instance_children(
        &mut self,
        inst: &mut FdtInstance,
        slots: &mut Vec<(Slot, u64)>,
    ) -> Result<(), FdtError> {
        const E: &str = "FDT-Instance";
        self.children(E, |p, e, ns, empty, offset| {
            let local = Self::local(e, offset)?;
            if p.opts.profile.is_some() {
                slots.push((p.order_slot(&ns, local, false), offset));
            }
            match p.meaning(&ns, local, false) {
                Slot::File => {
                    if inst.files.len() >= p.opts.limits.max_files {
                        return Err(FdtError::TooManyFiles {
                            limit: p.opts.limits.max_files,
                            offset,
                        });
                    }
                    let f = p.file(e, empty, offset)?;
                    inst.files.push(f);
                }
                Slot::SchemaVersion => {
                    let t = p.simple_text(e, "schemaVersion", empty, offset)?;
                    inst.schema_version = Some(p.u32("schemaVersion", "#text", &t, offset)?);
                }
                Slot::Delimiter => {
                    let t = p.simple_text(e, "delimiter", empty, offset)?;
                    lexical::byte(&t, p.opts.canonical_numbers)
                        .map_err(|_| invalid("delimiter", "#text", &t, "xs:byte", offset))?;
                }
                Slot::BaseUrl1 => inst.base_url_1.push(
                    lexical::collapse(&p.simple_text(e, "Base-URL-1", empty, offset)?).to_owned(),
                ),
                Slot::BaseUrl2 => inst.base_url_2.push(
                    lexical::collapse(&p.simple_text(e, "Base-URL-2", empty, offset)?).to_owned(),
                ),
                Slot::Group => inst.groups.push(p.simple_text(e, "Group", empty, offset)?),
                Slot::Expiry => {
                    const X: &str = "MBMS-Session-Identity-Expiry";
                    let mut value = None;
                    for a in p.attrs(e, X, offset)? {
                        match (&a.ns, a.local) {
                            (Ns::None, "value") => {
                                value = Some(p.u32(X, "value", &a.value, offset)?)
                            }
                            _ => {
                                return Err(FdtError::UnexpectedAttribute {
                                    element: X,
                                    attribute: clip(a.local),
                                    offset,
                                });
                            }
                        }
                    }
                    let value = value.ok_or(FdtError::MissingAttribute {
                        element: X,
                        attribute: "value",
                        offset,
                    })?;
                    let t = p.text(X, empty)?;
                    let session_identity = p.u8(X, "#text", &t, offset)?;
                    inst.session_identity_expiry.push(SessionIdentityExpiry {
                        session_identity,
                        value,
                    });
                }
                Slot::Other => {
                    let x = p.capture(e, ns, empty, offset)?;
                    inst.extra_elements.push(x);
                }
                _ => {
                    return Err(FdtError::UnexpectedElement {
                        element: clip(local),
                        parent: E,
                        offset,
                    });
                }
            }
            Ok(())
        })
    }

    fn file(&mut self, e: &BytesStart<'a>, empty: bool, offset: u64) -> Result<File, FdtError> {
        const E: &str = "File";
        let mut f = File::default();
        let (mut loc, mut toi) = (None, None);
        let p2022 = self.doc == FdtNamespace::Mbms2022;
        for a in self.attrs(e, E, offset)? {
            let v = &*a.value;
            match (&a.ns, a.local) {
                (Ns::None, "Content-Location") => loc = Some(a.value.into_owned()),
                (Ns::None, "TOI") => toi = Some(parse_toi(v, self.opts.canonical_numbers, offset)?),
                (Ns::None, "Content-Length") => {
                    f.content_length = Some(self.u64(E, "Content-Length", v, offset)?)
                }
                (Ns::None, "Transfer-Length") => {
                    f.transfer_length = Some(self.u64(E, "Transfer-Length", v, offset)?)
                }
                (Ns::None, "Content-Type") => f.content_type = Some(a.value.into_owned()),
                (Ns::None, "Content-Encoding") => f.content_encoding = Some(a.value.into_owned()),
                (Ns::None, "Content-MD5") => {
                    let d = lexical::base64(v)
                        .ok_or_else(|| invalid(E, "Content-MD5", v, "xs:base64Binary", offset))?;
                    let len = d.len();
                    f.content_md5 = Some(
                        d.try_into()
                            .map_err(|_| FdtError::ContentMd5Length { len, offset })?,
                    );
                }
                (Ns::Known(NS_MBMS2009), "Decryption-KEY-URI") => {
                    f.decryption_key_uri = Some(a.value.into_owned())
                }
                (Ns::Known(NS_MBMS2012), "FEC-Redundancy-Level") => {
                    f.fec_redundancy_level =
                        Some(self.u32(E, "FEC-Redundancy-Level", v, offset)?);
                }
                (Ns::None, "FEC-Redundancy-Level") if p2022 => {
                    f.fec_redundancy_level =
                        Some(self.u32(E, "FEC-Redundancy-Level", v, offset)?);
                }
                (Ns::Known(NS_MBMS2012), "File-ETag") => f.file_etag = Some(a.value.into_owned()),
                (Ns::None, "File-ETag") if p2022 => f.file_etag = Some(a.value.into_owned()),
                (Ns::Known(NS_MBMS2015), "IndependentUnitPositions") => {
                    let mut list = Vec::new();
                    for item in v.split(lexical::is_xml_space).filter(|s| !s.is_empty()) {
                        list.push(self.u64(E, "IndependentUnitPositions", item, offset)?);
                    }
                    f.independent_unit_positions = Some(list);
                }
                (Ns::None, name) if self.oti_attr(&mut f.fec_oti, E, name, v, offset)? => {}
                _ => f.extra_attributes.push(ExtraAttribute {
                    name: XmlName {
                        namespace: a.ns.uri().map(str::to_owned),
                        local: a.local.to_owned(),
                    },
                    value: a.value.into_owned(),
                }),
            }
        }
        f.content_location = loc.ok_or(FdtError::MissingAttribute {
            element: E,
            attribute: "Content-Location",
            offset,
        })?;
        f.toi = toi.ok_or(FdtError::MissingAttribute {
            element: E,
            attribute: "TOI",
            offset,
        })?;
        let mut slots = Vec::new();
        if !empty {
            self.children(E, |p, e, ns, empty, off| {
                let local = Self::local(e, off)?;
                if p.opts.profile.is_some() {
                    slots.push((p.order_slot(&ns, local, true), off));
                }
                match p.meaning(&ns, local, true) {
                    Slot::CacheControl => {
                        if f.cache_control.is_some() {
                            return Err(FdtError::UnexpectedElement {
                                element: clip(local),
                                parent: E,
                                offset: off,
                            });
                        }
                        f.cache_control = Some(p.cache_control(&ns, empty, off)?);
                    }
                    Slot::Delimiter => {
                        let t = p.simple_text(e, "delimiter", empty, off)?;
                        lexical::byte(&t, p.opts.canonical_numbers)
                            .map_err(|_| invalid("delimiter", "#text", &t, "xs:byte", off))?;
                    }
                    Slot::Acl1 => f
                        .alternate_content_location_1
                        .push(p.acl(e, &ns, empty, off)?),
                    Slot::Acl2 => f
                        .alternate_content_location_2
                        .push(p.acl(e, &ns, empty, off)?),
                    Slot::Group => f.groups.push(p.simple_text(e, "Group", empty, off)?),
                    Slot::SessionIdentity => {
                        let t = p.simple_text(e, "MBMS-Session-Identity", empty, off)?;
                        f.mbms_session_identities.push(p.u8(
                            "MBMS-Session-Identity",
                            "#text",
                            &t,
                            off,
                        )?);
                    }
                    Slot::Other => {
                        let x = p.capture(e, ns, empty, off)?;
                        f.extra_elements.push(x);
                    }
                    _ => {
                        return Err(FdtError::UnexpectedElement {
                            element: clip(local),
                            parent: E,
                            offset: off,
                        });
                    }
                }
                Ok(())
            })?;
        }
        if let Some(seq) = self.sequence(false) {
            check_sequence(seq, &slots, E, offset)?;
        }
        Ok(f)
    }

    fn cache_control(
        &mut self,
        ns: &Ns,
        empty: bool,
        offset: u64,
    ) -> Result<CacheControl, FdtError> {
        const E: &str = "Cache-Control";
        let mut choice = None;
        let mut count = 0usize;
        if !empty {
            self.children(E, |p, e, cns, cempty, off| {
                let local = Self::local(e, off)?;
                if cns != *ns {
                    return Err(FdtError::UnexpectedElement {
                        element: clip(local),
                        parent: E,
                        offset: off,
                    });
                }
                count += 1;
                let c = match local {
                    "no-cache" | "max-stale" => {
                        let t = p.simple_text(e, E, cempty, off)?;
                        if lexical::boolean(&t) != Some(true) {
                            return Err(invalid(E, local, &t, "xs:boolean fixed to true", off));
                        }
                        if local == "no-cache" {
                            CacheControl::NoCache
                        } else {
                            CacheControl::MaxStale
                        }
                    }
                    "Expires" => {
                        let t = p.simple_text(e, E, cempty, off)?;
                        CacheControl::Expires(p.u32(E, "Expires", &t, off)?)
                    }
                    _ => {
                        return Err(FdtError::UnexpectedElement {
                            element: clip(local),
                            parent: E,
                            offset: off,
                        });
                    }
                };
                choice = Some(c);
                Ok(())
            })?;
        }
        match choice {
            Some(c) if count == 1 => Ok(c),
            _ => Err(FdtError::CacheControlChoice { offset }),
        }
    }

    fn acl(
        &mut self,
        e: &BytesStart<'a>,
        ns: &Ns,
        empty: bool,
        offset: u64,
    ) -> Result<AlternateContentLocations, FdtError> {
        const E: &str = "Alternate-Content-Location";
        let mut acl = AlternateContentLocations::default();
        for a in self.attrs(e, E, offset)? {
            match (&a.ns, a.local) {
                (Ns::None, "Availability-Time") => {
                    let t = lexical::collapse(&a.value);
                    if !lexical::is_date_time(t) {
                        return Err(invalid(E, "Availability-Time", t, "xs:dateTime", offset));
                    }
                    acl.availability_time = Some(t.to_owned());
                }
                _ => {
                    return Err(FdtError::UnexpectedAttribute {
                        element: E,
                        attribute: clip(a.local),
                        offset,
                    });
                }
            }
        }
        if !empty {
            self.children(E, |p, ce, cns, cempty, off| {
                let local = Self::local(ce, off)?;
                if cns != *ns || local != "Alternate-Content-Location" {
                    return Err(FdtError::UnexpectedElement {
                        element: clip(local),
                        parent: E,
                        offset: off,
                    });
                }
                acl.locations
                    .push(lexical::collapse(&p.simple_text(ce, E, cempty, off)?).to_owned());
                Ok(())
            })?;
        }
        Ok(acl)
    }

    /// Captures an unknown element (start tag just read) and its content as a tree.
    fn capture(
        &mut self,
        e: &BytesStart<'a>,
        ns: Ns,
        empty: bool,
        offset: u64,
    ) -> Result<XmlElement, FdtError> {
        if self.unknown >= self.opts.limits.max_unknown_elements {
            return Err(FdtError::TooManyUnknownElements {
                limit: self.opts.limits.max_unknown_elements,
                offset,
            });
        }
        self.unknown += 1;
        let local = Self::local(e, offset)?.to_owned();
        if !lexical::is_ncname(&local) {
            return Err(xml_err(
                offset,
                format!("invalid element name {:?}", clip(&local)),
            ));
        }
        let attributes = self
            .attrs(e, &local, offset)?
            .into_iter()
            .map(|a| ExtraAttribute {
                name: XmlName {
                    namespace: a.ns.uri().map(str::to_owned),
                    local: a.local.to_owned(),
                },
                value: a.value.into_owned(),
            })
            .collect();
        let mut el = XmlElement {
            name: XmlName {
                namespace: ns.uri().map(str::to_owned),
                local,
            },
            attributes,
            children: Vec::new(),
        };
        if empty {
            return Ok(el);
        }
        let mut text = String::new();
        let mut has_elements = false;
        loop {
            let (cns, ev, off) = self.next()?;
            match ev {
                Event::Start(_) | Event::Empty(_) => {
                    let (c, child_empty) = match ev {
                        Event::Empty(c) => (c, true),
                        Event::Start(c) => (c, false),
                        _ => continue,
                    };
                    self.enter(off)?;
                    if !text.is_empty() {
                        el.children.push(XmlNode::Text(std::mem::take(&mut text)));
                    }
                    let child = self.capture(&c, cns, child_empty, off)?;
                    if child_empty {
                        self.depth -= 1;
                    }
                    el.children.push(XmlNode::Element(child));
                    has_elements = true;
                }
                Event::End(_) => {
                    self.depth -= 1;
                    break;
                }
                Event::Text(t) => text.push_str(&t.decode().map_err(|err| xml_err(off, err))?),
                Event::CData(t) => text.push_str(&t.decode().map_err(|err| xml_err(off, err))?),
                Event::GeneralRef(r) => self.resolve_ref(&r, off, &mut text)?,
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => return Err(xml_err(off, "unexpected end of document")),
                Event::Decl(_) | Event::DocType(_) => {
                    return Err(xml_err(off, "misplaced declaration"));
                }
            }
            self.check_len(&el.name.local, text.len(), off)?;
        }
        if !text.is_empty() {
            el.children.push(XmlNode::Text(text));
        }
        if has_elements {
            el.children
                .retain(|c| !matches!(c, XmlNode::Text(t) if lexical::collapse(t).is_empty()));
        }
        Ok(el)
    }
}

fn escape_err(e: quick_xml::escape::EscapeError, offset: u64) -> FdtError {
    match e {
        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name) => FdtError::UndefinedEntity {
            name: clip(&name),
            offset,
        },
        other => xml_err(offset, other),
    }
}

pub(crate) fn parse_toi(v: &str, canonical: bool, offset: u64) -> Result<u128, FdtError> {
    match lexical::unsigned(v, canonical) {
        Ok(0) => Err(FdtError::ToiZero { offset }),
        Ok(t) if t <= MAX_TOI => Ok(t),
        Ok(_) | Err(NumError::Overflow) => Err(FdtError::ToiTooLarge {
            value: clip(lexical::collapse(v)),
            offset,
        }),
        Err(NumError::Syntax) => Err(invalid("File", "TOI", v, "xs:positiveInteger", offset)),
    }
}
