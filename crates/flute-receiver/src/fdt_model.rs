//! FDT instances for the receiver (RFC 6726 §3.4.2): the `fdt` crate's model, strict and
//! bounded parser (no DTDs, depth / size / count limits) and checks, with the receiver's
//! limits. Files are kept resolved against their instance (`fdt::File::resolved`).

use fdt::{FdtError, FdtInstance, Limits, ParseOptions};
use fec_schemes::{FecEncodingId, FecError, FecInstanceId, FecRegistry, Oti};

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

/// Why an FDT `File` entry gives no usable FEC OTI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FdtOtiError {
    /// Neither `Transfer-Length` nor, without content encoding, `Content-Length`.
    #[error("no transfer length (Transfer-Length, or Content-Length without Content-Encoding)")]
    NoTransferLength,
    /// No `FEC-OTI-Encoding-Symbol-Length`.
    #[error("no FEC-OTI-Encoding-Symbol-Length")]
    NoSymbolLength,
    /// An attribute that does not fit its OTI field.
    #[error("{attribute} = {value} is too large for the FEC OTI")]
    OutOfRange {
        /// The FDT attribute.
        attribute: &'static str,
        /// Its value.
        value: u64,
    },
    /// The FEC scheme is not registered, or refuses the OTI (its scheme-specific
    /// information included).
    #[error("FEC Encoding ID {encoding_id}: {error}")]
    Scheme {
        /// The FEC Encoding ID the entry names (or the default).
        encoding_id: u8,
        /// What the registry or the scheme said.
        error: FecError,
    },
}

/// The FEC OTI an FDT `File` entry gives (RFC 6726 §3.4.2, RFC 5052 §4.1), judged by the
/// scheme itself: its `read_scheme_specific_info` and `validate_oti`. `file` must be
/// resolved against its instance ([`fdt::File::resolved`]); `default_encoding_id` applies
/// when neither names a FEC Encoding ID. The receiver takes an object's OTI from here
/// when its packets carry no EXT_FTI, and `flute inspect` checks FDT entries with it, so
/// both judge an FDT entry alike.
pub fn fdt_file_oti(
    registry: &FecRegistry,
    file: &fdt::File,
    default_encoding_id: FecEncodingId,
) -> Result<Oti, FdtOtiError> {
    let a = &file.fec_oti;
    let transfer_length = file.transfer_length.ok_or(FdtOtiError::NoTransferLength)?;
    let encoding_id = a.encoding_id.map_or(default_encoding_id, FecEncodingId);
    let scheme_error = |error| FdtOtiError::Scheme {
        encoding_id: encoding_id.0,
        error,
    };
    let instance_id = a.instance_id.map(FecInstanceId);
    let scheme = registry
        .get(encoding_id, instance_id)
        .map_err(scheme_error)?;
    let narrow = |attribute: &'static str, value: u64| FdtOtiError::OutOfRange { attribute, value };
    let e = a
        .encoding_symbol_length
        .ok_or(FdtOtiError::NoSymbolLength)?;
    let e = u16::try_from(e).map_err(|_| narrow("FEC-OTI-Encoding-Symbol-Length", e))?;
    let b = a.max_source_block_length.unwrap_or(0);
    let b = u32::try_from(b).map_err(|_| narrow("FEC-OTI-Maximum-Source-Block-Length", b))?;
    let max_n = match a.max_number_of_encoding_symbols {
        Some(n) => Some(
            u32::try_from(n).map_err(|_| narrow("FEC-OTI-Max-Number-of-Encoding-Symbols", n))?,
        ),
        None => None,
    };
    let scheme_specific = scheme
        .read_scheme_specific_info(a.scheme_specific_info.as_deref().unwrap_or(&[]))
        .map_err(scheme_error)?;
    let oti = Oti {
        encoding_id,
        instance_id,
        transfer_length,
        encoding_symbol_length: e,
        max_source_block_length: b,
        max_encoding_symbols: max_n,
        scheme_specific,
    };
    scheme.validate_oti(&oti).map_err(scheme_error)?;
    Ok(oti)
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

    /// Item 56: the FDT's Scheme-Specific-Info is judged by the scheme itself, for every
    /// registered scheme (LDPC-Staircase too, which no closed list covered).
    #[test]
    fn bad_input_56_scheme_specific_info_is_judged_by_the_scheme() {
        let reg = FecRegistry::with_builtin();
        let file = |attrs: &str| {
            let xml = format!(
                r#"<FDT-Instance Expires="1"><File TOI="1" Content-Location="a" Transfer-Length="10000" FEC-OTI-Encoding-Symbol-Length="1000" FEC-OTI-Maximum-Source-Block-Length="10" FEC-OTI-Max-Number-of-Encoding-Symbols="20" {attrs}/></FDT-Instance>"#
            );
            parse_fdt(xml.as_bytes(), &LIMITS).unwrap().files.remove(0)
        };
        let zero = FecEncodingId(0);
        // RaptorQ: 4 bytes (Z, N, Al); 2 are refused.
        let bad = fdt_file_oti(
            &reg,
            &file(r#"FEC-OTI-FEC-Encoding-ID="6" FEC-OTI-Scheme-Specific-Info="AQI=""#),
            zero,
        );
        assert!(
            matches!(bad, Err(FdtOtiError::Scheme { encoding_id: 6, .. })),
            "{bad:?}"
        );
        let good = fdt_file_oti(
            &reg,
            &file(r#"FEC-OTI-FEC-Encoding-ID="6" FEC-OTI-Scheme-Specific-Info="AQABBA==""#),
            zero,
        );
        assert!(good.is_ok(), "{good:?}");
        // RS over GF(2^m): m = 8, G = 1.
        assert!(
            fdt_file_oti(
                &reg,
                &file(r#"FEC-OTI-FEC-Encoding-ID="2" FEC-OTI-Scheme-Specific-Info="CAE=""#),
                zero
            )
            .is_ok()
        );
        // LDPC-Staircase without its N1 and seed.
        assert!(matches!(
            fdt_file_oti(
                &reg,
                &file(r#"FEC-OTI-FEC-Encoding-ID="3" FEC-OTI-Scheme-Specific-Info="AQ==""#),
                zero
            ),
            Err(FdtOtiError::Scheme { encoding_id: 3, .. })
        ));
        // An unregistered scheme, and a symbol length beyond 16 bits.
        assert!(matches!(
            fdt_file_oti(&reg, &file(r#"FEC-OTI-FEC-Encoding-ID="77""#), zero),
            Err(FdtOtiError::Scheme {
                encoding_id: 77,
                ..
            })
        ));
        let xml = br#"<FDT-Instance Expires="1"><File TOI="1" Content-Location="a" Content-Length="5" FEC-OTI-FEC-Encoding-ID="0" FEC-OTI-Encoding-Symbol-Length="70000"/></FDT-Instance>"#;
        let f = parse_fdt(xml, &LIMITS).unwrap().files.remove(0);
        assert_eq!(
            fdt_file_oti(&reg, &f, zero),
            Err(FdtOtiError::OutOfRange {
                attribute: "FEC-OTI-Encoding-Symbol-Length",
                value: 70000
            })
        );
        // Content-Length stands for the transfer length only without content encoding.
        let xml = br#"<FDT-Instance Expires="1"><File TOI="1" Content-Location="a" Content-Length="5" Content-Encoding="gzip" FEC-OTI-FEC-Encoding-ID="0" FEC-OTI-Encoding-Symbol-Length="100"/></FDT-Instance>"#;
        let f = parse_fdt(xml, &LIMITS).unwrap().files.remove(0);
        assert_eq!(
            fdt_file_oti(&reg, &f, zero),
            Err(FdtOtiError::NoTransferLength)
        );
    }
}
