//! The receiver's view of an FDT instance (RFC 6726 §3.4.2): only what delivery needs,
//! with the FEC-OTI-* attributes already resolved (File-level attributes override the
//! instance-level ones).
//!
//! The parser here is strict and bounded: no DTDs (catalogue items 45, 46), a depth limit
//! (47), a cap on `File` elements and attribute sizes (48), and typed numeric attributes
//! without leading `+` or whitespace (53).

use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Why an FDT instance was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FdtParseError {
    /// Not well-formed XML, or truncated.
    #[error("FDT XML is not well-formed: {0}")]
    Xml(String),
    /// A `<!DOCTYPE>` was present (entity expansion risk).
    #[error("FDT contains a DOCTYPE; refused")]
    Doctype,
    /// The root element is not `FDT-Instance`.
    #[error("root element is not FDT-Instance")]
    NotFdt,
    /// A limit (depth, number of files, attribute size) was exceeded.
    #[error("FDT limit exceeded: {0}")]
    Limit(&'static str),
    /// A required attribute is missing or an attribute has a bad value.
    #[error("FDT attribute {0} missing or invalid")]
    Attribute(&'static str),
}

/// FEC-OTI-* attributes of a `File` (resolved against the instance-level ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FecAttrs {
    pub(crate) encoding_id: Option<u64>,
    pub(crate) instance_id: Option<u64>,
    pub(crate) max_source_block_length: Option<u64>,
    pub(crate) encoding_symbol_length: Option<u64>,
    pub(crate) max_encoding_symbols: Option<u64>,
    pub(crate) scheme_specific_info: Option<Vec<u8>>,
}

impl FecAttrs {
    fn or(self, base: &Self) -> Self {
        Self {
            encoding_id: self.encoding_id.or(base.encoding_id),
            instance_id: self.instance_id.or(base.instance_id),
            max_source_block_length: self
                .max_source_block_length
                .or(base.max_source_block_length),
            encoding_symbol_length: self.encoding_symbol_length.or(base.encoding_symbol_length),
            max_encoding_symbols: self.max_encoding_symbols.or(base.max_encoding_symbols),
            scheme_specific_info: self
                .scheme_specific_info
                .or_else(|| base.scheme_specific_info.clone()),
        }
    }
}

/// One `File` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdtFile {
    pub(crate) toi: u64,
    pub(crate) content_location: String,
    pub(crate) content_length: Option<u64>,
    pub(crate) transfer_length: Option<u64>,
    pub(crate) content_type: Option<String>,
    pub(crate) content_encoding: Option<String>,
    pub(crate) content_md5: Option<Vec<u8>>,
    pub(crate) fec: FecAttrs,
}

/// One `FDT-Instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdtInstanceInfo {
    /// Expires, 32-bit NTP seconds.
    pub(crate) expires: u32,
    pub(crate) complete: bool,
    pub(crate) files: Vec<FdtFile>,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FdtLimits {
    pub(crate) max_files: usize,
    pub(crate) max_depth: usize,
    pub(crate) max_attr_len: usize,
}

fn uint(v: &str, name: &'static str) -> Result<u64, FdtParseError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FdtParseError::Attribute(name));
    }
    v.parse().map_err(|_| FdtParseError::Attribute(name))
}

fn attrs(e: &BytesStart<'_>, limits: &FdtLimits) -> Result<Vec<(String, String)>, FdtParseError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| FdtParseError::Xml(err.to_string()))?;
        if a.value.len() > limits.max_attr_len {
            return Err(FdtParseError::Limit("attribute length"));
        }
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| FdtParseError::Xml(err.to_string()))?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

fn fec_attr(fec: &mut FecAttrs, k: &str, v: &str) -> Result<bool, FdtParseError> {
    match k {
        "FEC-OTI-FEC-Encoding-ID" => fec.encoding_id = Some(uint(v, "FEC-OTI-FEC-Encoding-ID")?),
        "FEC-OTI-FEC-Instance-ID" => fec.instance_id = Some(uint(v, "FEC-OTI-FEC-Instance-ID")?),
        "FEC-OTI-Maximum-Source-Block-Length" => {
            fec.max_source_block_length = Some(uint(v, "FEC-OTI-Maximum-Source-Block-Length")?);
        }
        "FEC-OTI-Encoding-Symbol-Length" => {
            fec.encoding_symbol_length = Some(uint(v, "FEC-OTI-Encoding-Symbol-Length")?);
        }
        "FEC-OTI-Max-Number-of-Encoding-Symbols" => {
            fec.max_encoding_symbols = Some(uint(v, "FEC-OTI-Max-Number-of-Encoding-Symbols")?);
        }
        "FEC-OTI-Scheme-Specific-Info" => {
            fec.scheme_specific_info = Some(
                base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|_| FdtParseError::Attribute("FEC-OTI-Scheme-Specific-Info"))?,
            );
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Parses an FDT instance document.
pub(crate) fn parse_fdt(xml: &[u8], limits: &FdtLimits) -> Result<FdtInstanceInfo, FdtParseError> {
    let mut reader = Reader::from_reader(xml);
    let mut depth = 0usize;
    let mut instance: Option<(u32, bool, FecAttrs)> = None;
    let mut files: Vec<(FdtFile, FecAttrs)> = Vec::new();
    let mut root_done = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| FdtParseError::Xml(e.to_string()))?;
        let (e, empty) = match ev {
            Event::Eof => break,
            Event::DocType(_) => return Err(FdtParseError::Doctype),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_done = true;
                }
                continue;
            }
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            _ => continue,
        };
        if root_done {
            return Err(FdtParseError::Xml("content after the root element".into()));
        }
        let name = e.local_name();
        let name = name.as_ref();
        if depth == 0 {
            if name != b"FDT-Instance" {
                return Err(FdtParseError::NotFdt);
            }
            let mut expires = None;
            let mut complete = false;
            let mut fec = FecAttrs::default();
            for (k, v) in attrs(&e, limits)? {
                match k.as_str() {
                    "Expires" => {
                        expires = Some(
                            u32::try_from(uint(&v, "Expires")?)
                                .map_err(|_| FdtParseError::Attribute("Expires"))?,
                        );
                    }
                    "Complete" => {
                        complete = match v.as_str() {
                            "true" | "1" => true,
                            "false" | "0" => false,
                            _ => return Err(FdtParseError::Attribute("Complete")),
                        };
                    }
                    _ => {
                        fec_attr(&mut fec, &k, &v)?;
                    }
                }
            }
            let expires = expires.ok_or(FdtParseError::Attribute("Expires"))?;
            instance = Some((expires, complete, fec));
        } else if depth == 1 && name == b"File" {
            if files.len() >= limits.max_files {
                return Err(FdtParseError::Limit("number of File elements"));
            }
            let mut f = FdtFile {
                toi: 0,
                content_location: String::new(),
                content_length: None,
                transfer_length: None,
                content_type: None,
                content_encoding: None,
                content_md5: None,
                fec: FecAttrs::default(),
            };
            let mut fec = FecAttrs::default();
            let mut have_toi = false;
            let mut have_loc = false;
            for (k, v) in attrs(&e, limits)? {
                match k.as_str() {
                    "TOI" => {
                        f.toi = uint(&v, "TOI")?;
                        if f.toi == 0 {
                            return Err(FdtParseError::Attribute("TOI"));
                        }
                        have_toi = true;
                    }
                    "Content-Location" => {
                        f.content_location = v;
                        have_loc = true;
                    }
                    "Content-Length" => f.content_length = Some(uint(&v, "Content-Length")?),
                    "Transfer-Length" => f.transfer_length = Some(uint(&v, "Transfer-Length")?),
                    "Content-Type" => f.content_type = Some(v),
                    "Content-Encoding" => f.content_encoding = Some(v),
                    "Content-MD5" => {
                        f.content_md5 = Some(
                            base64::engine::general_purpose::STANDARD
                                .decode(v.trim())
                                .map_err(|_| FdtParseError::Attribute("Content-MD5"))?,
                        );
                    }
                    _ => {
                        fec_attr(&mut fec, &k, &v)?;
                    }
                }
            }
            if !have_toi {
                return Err(FdtParseError::Attribute("TOI"));
            }
            if !have_loc {
                return Err(FdtParseError::Attribute("Content-Location"));
            }
            if files.iter().any(|(g, _)| g.toi == f.toi) {
                return Err(FdtParseError::Attribute("TOI (duplicate)"));
            }
            files.push((f, fec));
        }
        if !empty {
            depth += 1;
            if depth > limits.max_depth {
                return Err(FdtParseError::Limit("nesting depth"));
            }
        } else if depth == 0 {
            root_done = true;
        }
    }
    let (expires, complete, base) = instance.ok_or(FdtParseError::NotFdt)?;
    if !root_done {
        return Err(FdtParseError::Xml("truncated".into()));
    }
    Ok(FdtInstanceInfo {
        expires,
        complete,
        files: files
            .into_iter()
            .map(|(mut f, fec)| {
                f.fec = fec.or(&base);
                f
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: FdtLimits = FdtLimits {
        max_files: 10,
        max_depth: 8,
        max_attr_len: 1024,
    };

    #[test]
    fn parses_instance_and_overrides() {
        let xml = br#"<?xml version="1.0"?>
<FDT-Instance xmlns="urn:ietf:params:xml:ns:fdt" Expires="3000000000" Complete="true"
  FEC-OTI-FEC-Encoding-ID="0" FEC-OTI-Encoding-Symbol-Length="64" FEC-OTI-Maximum-Source-Block-Length="8">
  <File TOI="1" Content-Location="a.txt" Content-Length="10" FEC-OTI-Encoding-Symbol-Length="32"/>
  <File TOI="2" Content-Location="b&amp;c" Transfer-Length="5"><x:y xmlns:x="urn:x"/></File>
</FDT-Instance>"#;
        let f = parse_fdt(xml, &LIMITS).unwrap();
        assert_eq!(f.expires, 3_000_000_000);
        assert!(f.complete);
        assert_eq!(f.files.len(), 2);
        assert_eq!(f.files[0].fec.encoding_symbol_length, Some(32));
        assert_eq!(f.files[0].fec.max_source_block_length, Some(8));
        assert_eq!(f.files[1].content_location, "b&c");
        assert_eq!(f.files[1].fec.encoding_symbol_length, Some(64));
    }

    #[test]
    fn bad_input_45_doctype_refused() {
        let xml = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><FDT-Instance Expires="1"><File TOI="1" Content-Location="&lol;"/></FDT-Instance>"#;
        assert_eq!(parse_fdt(xml, &LIMITS).unwrap_err(), FdtParseError::Doctype);
    }

    #[test]
    fn bad_input_44_50_53_truncated_missing_and_bad_numbers() {
        assert!(parse_fdt(br#"<FDT-Instance Expires="1"><File TOI="1" "#, &LIMITS).is_err());
        assert!(
            parse_fdt(
                br#"<FDT-Instance><File TOI="1" Content-Location="a"/></FDT-Instance>"#,
                &LIMITS
            )
            .is_err()
        );
        assert!(parse_fdt(br#"<FDT-Instance Expires="1"><File TOI="+1" Content-Location="a"/></FDT-Instance>"#, &LIMITS).is_err());
        assert!(
            parse_fdt(
                br#"<FDT-Instance Expires="1"><File TOI="0" Content-Location="a"/></FDT-Instance>"#,
                &LIMITS
            )
            .is_err()
        );
        assert!(
            parse_fdt(
                br#"<FDT-Instance Expires="1"><File TOI="1"/></FDT-Instance>"#,
                &LIMITS
            )
            .is_err()
        );
    }

    #[test]
    fn bad_input_47_48_depth_and_file_caps() {
        let deep = format!(
            "<FDT-Instance Expires=\"1\">{}{}</FDT-Instance>",
            "<a>".repeat(20),
            "</a>".repeat(20)
        );
        assert_eq!(
            parse_fdt(deep.as_bytes(), &LIMITS).unwrap_err(),
            FdtParseError::Limit("nesting depth")
        );
        let many: String = (1..=11)
            .map(|i| format!("<File TOI=\"{i}\" Content-Location=\"f{i}\"/>"))
            .collect();
        let xml = format!("<FDT-Instance Expires=\"1\">{many}</FDT-Instance>");
        assert!(matches!(
            parse_fdt(xml.as_bytes(), &LIMITS),
            Err(FdtParseError::Limit(_))
        ));
    }
}
