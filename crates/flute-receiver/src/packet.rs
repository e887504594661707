//! The receiver's view of one FLUTE/ALC datagram: the LCT fields it needs (RFC 5651 §5.1),
//! the FLUTE header extensions (RFC 6726 §3.4.1, §3.4.3), the raw EXT_FTI (RFC 5775 §5.2)
//! and the bytes after the LCT header (FEC Payload ID + symbols, RFC 5775 §4).
//!
//! This is a small, panic-free reader over the datagram. It checks everything the receiver
//! relies on and reports the first problem as a [`DropReason`].

use crate::stats::DropReason;

/// HET of EXT_FDT (RFC 6726 §3.4.1).
pub(crate) const EXT_FDT: u8 = 192;
/// HET of EXT_CENC (RFC 6726 §3.4.3).
pub(crate) const EXT_CENC: u8 = 193;
/// HET of EXT_FTI (RFC 5775 §5.2).
pub(crate) const EXT_FTI: u8 = 64;

/// The parts of a datagram the receiver uses. Borrows the datagram.
#[derive(Debug, Clone)]
pub(crate) struct LctView<'a> {
    pub(crate) close_session: bool,
    pub(crate) close_object: bool,
    pub(crate) codepoint: u8,
    pub(crate) tsi: u64,
    pub(crate) toi: u64,
    /// (FLUTE version, FDT Instance ID) of EXT_FDT.
    pub(crate) fdt: Option<(u8, u32)>,
    /// CENC of EXT_CENC.
    pub(crate) cenc: Option<u8>,
    /// The whole EXT_FTI extension, HET and HEL included.
    pub(crate) fti: Option<&'a [u8]>,
    /// FEC Payload ID and encoding symbol(s).
    pub(crate) payload: &'a [u8],
}

fn be(buf: &[u8], off: usize, len: usize) -> Option<u64> {
    let s = buf.get(off..off.checked_add(len)?)?;
    Some(s.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Parses the LCT header of `buf` (RFC 5651 §5.1) and its extensions (§5.2).
pub(crate) fn parse(buf: &[u8]) -> Result<LctView<'_>, DropReason> {
    let w0 = be(buf, 0, 4).ok_or(DropReason::Malformed)? as u32;
    let v = w0 >> 28;
    if v != 1 {
        return Err(DropReason::BadVersion);
    }
    let c = ((w0 >> 26) & 3) as usize;
    let s = ((w0 >> 23) & 1) as usize;
    let o = ((w0 >> 21) & 3) as usize;
    let h = ((w0 >> 20) & 1) as usize;
    // Reserved bits (17..18) are ignored (RFC 5651 §5.1; catalogue item 6).
    let a = (w0 >> 17) & 1 == 1;
    let b = (w0 >> 16) & 1 == 1;
    let hdr_len = ((w0 >> 8) & 0xFF) as usize * 4;
    let codepoint = (w0 & 0xFF) as u8;
    let tsi_len = 4 * s + 2 * h;
    let toi_len = 4 * o + 2 * h;
    let fixed = 4 + 4 * (c + 1) + tsi_len + toi_len;
    if hdr_len < fixed || hdr_len > buf.len() {
        return Err(DropReason::Malformed);
    }
    if tsi_len == 0 || toi_len == 0 {
        // FLUTE needs both TSI and TOI (RFC 6726 §3.3; catalogue item 9).
        return Err(DropReason::MissingTsiOrToi);
    }
    let tsi_off = 4 + 4 * (c + 1);
    let tsi = be(buf, tsi_off, tsi_len).ok_or(DropReason::Malformed)?;
    let toi_off = tsi_off + tsi_len;
    // TOI up to 112 bits: only values that fit in 64 bits are supported.
    let mut toi = 0u64;
    for (i, byte) in buf
        .get(toi_off..toi_off + toi_len)
        .ok_or(DropReason::Malformed)?
        .iter()
        .enumerate()
    {
        if toi_len - i > 8 {
            if *byte != 0 {
                return Err(DropReason::ToiTooWide);
            }
        } else {
            toi = (toi << 8) | u64::from(*byte);
        }
    }
    let mut view = LctView {
        close_session: a,
        close_object: b,
        codepoint,
        tsi,
        toi,
        fdt: None,
        cenc: None,
        fti: None,
        payload: buf.get(hdr_len..).ok_or(DropReason::Malformed)?,
    };
    let mut pos = fixed;
    while pos < hdr_len {
        let het = *buf.get(pos).ok_or(DropReason::Malformed)?;
        let len = if het >= 128 {
            4
        } else {
            let hel = usize::from(*buf.get(pos + 1).ok_or(DropReason::Malformed)?);
            if hel == 0 {
                return Err(DropReason::Malformed);
            }
            hel * 4
        };
        if pos + len > hdr_len {
            return Err(DropReason::Malformed);
        }
        let ext = &buf[pos..pos + len];
        match het {
            EXT_FDT => {
                if view.fdt.is_some() {
                    return Err(DropReason::DuplicateExtension);
                }
                let word = be(ext, 0, 4).unwrap_or(0) as u32;
                let version = ((word >> 20) & 0xF) as u8;
                if version != 1 && version != 2 {
                    return Err(DropReason::BadFdtVersion);
                }
                view.fdt = Some((version, word & 0xF_FFFF));
            }
            EXT_CENC => {
                if view.cenc.is_some() {
                    return Err(DropReason::DuplicateExtension);
                }
                view.cenc = Some(ext[1]);
            }
            EXT_FTI => {
                if view.fti.is_some() {
                    return Err(DropReason::DuplicateExtension);
                }
                view.fti = Some(ext);
            }
            // Unknown extensions are skipped by length (catalogue item 16).
            _ => {}
        }
        pos += len;
    }
    if toi == 0 && view.fdt.is_none() {
        return Err(DropReason::FdtWithoutExtFdt);
    }
    if toi != 0 && view.fdt.is_some() {
        return Err(DropReason::ExtFdtOnData);
    }
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

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
