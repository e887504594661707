//! FDT instances for the receiver (RFC 6726 §3.4.2): the `fdt` crate's model, strict and
//! bounded parser (no DTDs, depth / size / count limits) and checks, with the receiver's
//! limits. Files are kept resolved against their instance (`fdt::File::resolved`).

use fdt::{FdtError, FdtInstance, Limits, ParseOptions};

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

/// Parses an FDT instance document with the `fdt` crate and its checks. Each file comes
/// back [`fdt::File::resolved`] against the instance, so that the receiver can keep files
/// apart from the instance they came in.
pub(crate) fn parse_fdt(xml: &[u8], limits: &FdtLimits) -> Result<FdtInstance, FdtParseError> {
    let mut fdt_limits = Limits::default();
    fdt_limits.max_files = limits.max_files;
    fdt_limits.max_depth = limits.max_depth;
    fdt_limits.max_value_len = limits.max_attr_len;
    let options = ParseOptions {
        limits: fdt_limits,
        ..ParseOptions::default()
    };
    let mut inst = FdtInstance::parse_with(xml, &options)
        .map_err(|_: FdtError| FdtParseError::Fdt)?
        .instance;
    if inst.duplicate_toi().is_some() {
        return Err(FdtParseError::DuplicateToi);
    }
    let files: Vec<fdt::File> = inst.files.iter().map(|f| f.resolved(&inst)).collect();
    inst.files = files;
    Ok(inst)
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
        assert_eq!(f.expires.0, 3_000_000_000);
        assert_eq!(f.complete, Some(true));
        assert_eq!(f.files.len(), 2);
        assert_eq!(f.files[0].fec_oti.encoding_symbol_length, Some(32));
        assert_eq!(f.files[0].fec_oti.max_source_block_length, Some(8));
        assert_eq!(f.files[0].transfer_length, Some(10));
        assert_eq!(f.files[1].content_location, "b&c");
        assert_eq!(f.files[1].fec_oti.encoding_symbol_length, Some(64));
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
