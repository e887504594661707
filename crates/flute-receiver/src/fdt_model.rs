//! The receiver's view of an FDT instance (RFC 6726 §3.4.2): only what delivery needs,
//! with the FEC-OTI-* attributes already resolved (File-level attributes override the
//! instance-level ones). Parsing is the `fdt` crate's strict, bounded parser (no DTDs,
//! depth / size / count limits); this module converts its model.

use fdt::{FdtError, FdtInstance, Limits, ParseOptions};

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

/// One `File` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdtFile {
    pub(crate) toi: u128,
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
    /// The 3GPP `postFileRepair` extension element (TS 26.346 §9.3), if present and valid.
    pub(crate) post_file_repair: Option<flute_repair::PostFileRepair>,
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FdtLimits {
    pub(crate) max_files: usize,
    pub(crate) max_depth: usize,
    pub(crate) max_attr_len: usize,
}

/// Why an FDT instance was not used.
#[derive(Debug)]
pub(crate) enum FdtParseError {
    /// The `fdt` crate refused the document.
    Fdt,
    /// Two `File` entries with the same TOI (catalogue item 52).
    DuplicateToi,
}

/// Parses an FDT instance document.
pub(crate) fn parse_fdt(xml: &[u8], limits: &FdtLimits) -> Result<FdtInstanceInfo, FdtParseError> {
    let mut fdt_limits = Limits::default();
    fdt_limits.max_files = limits.max_files;
    fdt_limits.max_depth = limits.max_depth;
    fdt_limits.max_value_len = limits.max_attr_len;
    let options = ParseOptions {
        limits: fdt_limits,
        ..ParseOptions::default()
    };
    let inst = FdtInstance::parse_with(xml, &options)
        .map_err(|_: FdtError| FdtParseError::Fdt)?
        .instance;
    let mut files: Vec<FdtFile> = Vec::with_capacity(inst.files.len());
    let mut seen = std::collections::HashSet::new();
    for f in &inst.files {
        if !seen.insert(f.toi) {
            return Err(FdtParseError::DuplicateToi);
        }
        let fec = f
            .effective_oti(&inst)
            .map(|o| FecAttrs {
                encoding_id: Some(u64::from(o.encoding_id)),
                instance_id: o.instance_id.map(u64::from),
                max_source_block_length: o.max_source_block_length,
                encoding_symbol_length: o.encoding_symbol_length,
                max_encoding_symbols: o.max_number_of_encoding_symbols,
                scheme_specific_info: o.scheme_specific_info,
            })
            .unwrap_or_default();
        files.push(FdtFile {
            toi: f.toi,
            content_location: f.content_location.clone(),
            content_length: f.content_length,
            transfer_length: f.transfer_length,
            content_type: f.effective_content_type(&inst).map(str::to_owned),
            content_encoding: f.effective_content_encoding(&inst).map(str::to_owned),
            content_md5: f.content_md5.map(|m| m.to_vec()),
            fec,
        });
    }
    Ok(FdtInstanceInfo {
        expires: inst.expires.0,
        complete: inst.complete.unwrap_or(false),
        files,
        post_file_repair: flute_repair::PostFileRepair::find_in(&inst).and_then(Result::ok),
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
        assert!(parse_fdt(xml, &LIMITS).is_err());
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
        assert!(parse_fdt(br#"<FDT-Instance Expires="1"><File TOI="-1" Content-Location="a"/></FDT-Instance>"#, &LIMITS).is_err());
        assert!(parse_fdt(br#"<FDT-Instance Expires="1"><File TOI="1" Content-Location="a"/><File TOI="1" Content-Location="b"/></FDT-Instance>"#, &LIMITS).is_err());
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
        assert!(parse_fdt(deep.as_bytes(), &LIMITS).is_err());
        let many: String = (1..=11)
            .map(|i| format!("<File TOI=\"{i}\" Content-Location=\"f{i}\"/>"))
            .collect();
        let xml = format!("<FDT-Instance Expires=\"1\">{many}</FDT-Instance>");
        assert!(parse_fdt(xml.as_bytes(), &LIMITS).is_err());
    }
}
