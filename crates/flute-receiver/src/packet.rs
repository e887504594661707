//! The receiver's view of one FLUTE/ALC datagram: the LCT fields it needs (RFC 5651 §5.1),
//! the FLUTE header extensions (RFC 6726 §3.4.1, §3.4.3), the raw EXT_FTI (RFC 5775 §5.2)
//! and the bytes after the LCT header (FEC Payload ID + symbols, RFC 5775 §4).
//!
//! The LCT layer is `lct-header` (zero-copy view + FLUTE header checks); this module only
//! maps its errors to [`DropReason`]s and picks out what the receiver uses. The FEC part
//! (EXT_FTI, FEC Payload ID) is read through the scheme from the registry by the receiver,
//! with the object's OTI when it is known.

use lct_header::{ContentEncoding, FluteHeaderCheck, LCT_VERSION, LctError, LctPacket};

use crate::stats::DropReason;

/// The parts of a datagram the receiver uses. Borrows the datagram.
#[derive(Debug, Clone)]
pub(crate) struct LctView<'a> {
    pub(crate) close_session: bool,
    pub(crate) close_object: bool,
    pub(crate) codepoint: u8,
    pub(crate) tsi: u64,
    /// TOI, up to 112 bits (RFC 5651 §5.1: 32·O + 16·H bits).
    pub(crate) toi: u128,
    /// (FLUTE version, FDT Instance ID) of EXT_FDT.
    pub(crate) fdt: Option<(u8, u32)>,
    /// CENC of EXT_CENC.
    pub(crate) cenc: Option<u8>,
    /// The whole EXT_FTI extension, HET and HEL included.
    pub(crate) fti: Option<&'a [u8]>,
    /// FEC Payload ID and encoding symbol(s).
    pub(crate) payload: &'a [u8],
}

fn reason(e: LctError) -> DropReason {
    match e {
        LctError::UnsupportedVersion { .. } => DropReason::BadVersion,
        LctError::DuplicateExtension { .. } => DropReason::DuplicateExtension,
        LctError::MissingField { field: "EXT_FDT" } => DropReason::FdtWithoutExtFdt,
        LctError::MissingField { .. } => DropReason::MissingTsiOrToi,
        LctError::UnexpectedExtension { .. } => DropReason::ExtFdtOnData,
        LctError::InvalidValue { field, .. } if field.contains("FDT") => DropReason::BadFdtVersion,
        // EXT_CENC with an unknown encoding (item 20): the FDT instance cannot be used.
        LctError::InvalidValue { .. } => DropReason::FdtRejected,
        _ => DropReason::Malformed,
    }
}

/// Parses the LCT header of `buf` (RFC 5651 §5.1) and its extensions (§5.2) with
/// `lct-header`, applying the FLUTE header rules (RFC 6726 §3.3, §3.4).
pub(crate) fn parse(buf: &[u8]) -> Result<LctView<'_>, DropReason> {
    let pkt = LctPacket::new_checked(buf).map_err(reason)?;
    if pkt.version() != LCT_VERSION {
        return Err(DropReason::BadVersion);
    }
    let h = FluteHeaderCheck::new().check(&pkt).map_err(reason)?;
    if h.extensions
        .fdt
        .is_some_and(|f| f.version != 1 && f.version != 2)
    {
        return Err(DropReason::BadFdtVersion);
    }
    let cenc = h.extensions.cenc.map(|c| match c.encoding {
        ContentEncoding::Null => 0,
        ContentEncoding::Zlib => 1,
        ContentEncoding::Deflate => 2,
        ContentEncoding::Gzip => 3,
        #[allow(unreachable_patterns)]
        _ => u8::MAX,
    });
    Ok(LctView {
        close_session: pkt.close_session(),
        close_object: pkt.close_object(),
        codepoint: pkt.codepoint(),
        tsi: h.tsi.0,
        toi: h.toi.0,
        fdt: h.extensions.fdt.map(|f| (f.version, f.instance_id)),
        cenc,
        fti: h.extensions.fti.map(|f| f.bytes()),
        payload: pkt.into_payload(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lct_header::EXT_FDT;

    fn header(flags_a: bool, toi: u8, exts: &[u8]) -> Vec<u8> {
        let words = 2 + 1 + 1 + exts.len() / 4;
        let mut v = vec![
            0x10,
            0x80 | if flags_a { 0x02 } else { 0 }, // S=1, O=0, H=0 -> need O... set below
            words as u8,
            0,
        ];
        // V=1, C=0, S=1, O=1, H=0 => byte0 = 0001 00 00 = 0x10 ; byte1 = S(1) O(01) H(0) res A B
        v[1] = 0b1010_0000 | if flags_a { 0b10 } else { 0 };
        v[2] = words as u8;
        v.extend_from_slice(&[0, 0, 0, 0]); // CCI
        v.extend_from_slice(&[0, 0, 0, 7]); // TSI
        v.extend_from_slice(&[0, 0, 0, toi]); // TOI
        v.extend_from_slice(exts);
        v
    }

    #[test]
    fn parses_flags_tsi_toi_and_fdt_ext() {
        let mut h = header(true, 0, &[EXT_FDT, 0x20, 0x00, 0x05]);
        h.extend_from_slice(b"payload");
        let v = parse(&h).unwrap();
        assert!(v.close_session);
        assert_eq!(v.tsi, 7);
        assert_eq!(v.toi, 0);
        assert_eq!(v.fdt, Some((2, 5)));
        assert_eq!(v.payload, b"payload");
    }

    #[test]
    fn bad_input_01_short_and_04_hdr_len_zero() {
        assert_eq!(parse(&[0x10]).unwrap_err(), DropReason::Malformed);
        let mut h = header(false, 1, &[]);
        h[2] = 0;
        assert_eq!(parse(&h).unwrap_err(), DropReason::Malformed);
    }

    #[test]
    fn bad_input_12_hel_zero_is_an_error() {
        let h = header(false, 1, &[1, 0, 0, 0]);
        assert_eq!(parse(&h).unwrap_err(), DropReason::Malformed);
    }

    #[test]
    fn bad_input_09_toi0_without_ext_fdt() {
        let h = header(false, 0, &[]);
        assert_eq!(parse(&h).unwrap_err(), DropReason::FdtWithoutExtFdt);
        let h = header(false, 3, &[EXT_FDT, 0x20, 0, 1]);
        assert_eq!(parse(&h).unwrap_err(), DropReason::ExtFdtOnData);
    }

    #[test]
    fn bad_input_05_version_and_18_fdt_version() {
        let mut h = header(false, 1, &[]);
        h[0] = 0x20;
        assert_eq!(parse(&h).unwrap_err(), DropReason::BadVersion);
        let h = header(false, 0, &[EXT_FDT, 0x30, 0, 1]);
        assert_eq!(parse(&h).unwrap_err(), DropReason::BadFdtVersion);
    }

    #[test]
    fn bad_input_17_duplicate_extension() {
        let h = header(false, 0, &[EXT_FDT, 0x20, 0, 1, EXT_FDT, 0x20, 0, 2]);
        assert_eq!(parse(&h).unwrap_err(), DropReason::DuplicateExtension);
    }

    #[test]
    fn never_panics_on_prefixes_and_mutations() {
        let base = header(
            true,
            0,
            &[
                EXT_FDT, 0x20, 0, 1, 64, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        );
        for n in 0..base.len() {
            let _ = parse(&base[..n]);
            for bit in 0..8 {
                let mut m = base.clone();
                m[n] ^= 1 << bit;
                let _ = parse(&m);
            }
        }
    }
}
