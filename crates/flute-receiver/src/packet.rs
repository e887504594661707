//! The receiver's view of one FLUTE/ALC datagram, as the `alc` crate parses it: the LCT
//! fields the receiver uses (RFC 5651 §5.1), the FLUTE header extensions (RFC 6726 §3.4.1,
//! §3.4.3), the OTI of EXT_FTI (RFC 5775 §5.2) and the FEC Payload ID and symbols (RFC 5775
//! §4). `flute inspect` parses with the same `alc` parser, so both judge a packet alike
//! (`tests/verdicts.rs`); this module only maps `alc`'s errors to [`DropReason`]s.
//!
//! One case is deferred rather than judged: a packet without EXT_FTI whose codepoint names
//! no single registered scheme (an Under-Specified FEC Encoding ID with several instances).
//! Its scheme comes from the FDT, so the receiver keeps the LCT fields and reads the FEC
//! Payload ID once the object's OTI is known.

use alc::{AlcError, AlcPacket, AlcParser};
use fec_schemes::{FecError, Oti, PayloadId};
use lct_header::{ContentEncoding, FluteHeaderCheck, LctError, LctPacket};

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
    pub(crate) cenc: Option<ContentEncoding>,
    /// The whole EXT_FTI extension, HET and HEL included (to skip re-checking an OTI that
    /// the object already has).
    pub(crate) fti: Option<&'a [u8]>,
    /// The OTI that EXT_FTI carries, decoded by `alc` through the registry.
    pub(crate) fti_oti: Option<Oti>,
    /// FEC Payload ID and encoding symbol(s): everything after the LCT header.
    pub(crate) payload: &'a [u8],
    /// The FEC Payload ID and the length of its bytes, when `alc` could decode it without
    /// the object's OTI (all schemes but Reed-Solomon over GF(2^m), and the deferred case).
    pub(crate) payload_id: Option<(PayloadId, usize)>,
    /// The packet only signals (A or B flag) and carries no usable symbol: its flags count,
    /// its payload is dropped as [`DropReason::BadPayloadId`].
    pub(crate) signal_only: bool,
}

/// An [`LctView`] detached from its datagram, to keep beside the datagram while the packet
/// waits for its OTI: the slices become offsets, so that the packet is not parsed again
/// when it is replayed.
#[derive(Debug, Clone)]
pub(crate) struct DetachedView {
    view: LctView<'static>,
    fti: Option<(usize, usize)>,
    payload_at: usize,
}

impl<'a> LctView<'a> {
    /// Detaches the view from `raw`, the datagram it was parsed from.
    pub(crate) fn detach(&self, raw: &[u8]) -> DetachedView {
        let fti = self
            .fti
            .map(|f| (f.as_ptr() as usize - raw.as_ptr() as usize, f.len()));
        DetachedView {
            view: LctView {
                fti: None,
                payload: &[],
                fti_oti: self.fti_oti.clone(),
                ..*self
            },
            fti,
            payload_at: raw.len() - self.payload.len(),
        }
    }
}

impl DetachedView {
    /// The view again, over `raw`, the same datagram.
    pub(crate) fn attach<'a>(&self, raw: &'a [u8]) -> LctView<'a> {
        LctView {
            fti: self.fti.and_then(|(at, len)| raw.get(at..at + len)),
            payload: raw.get(self.payload_at..).unwrap_or(&[]),
            fti_oti: self.view.fti_oti.clone(),
            ..self.view
        }
    }
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
        LctError::InvalidValue { .. } => DropReason::BadCenc,
        _ => DropReason::Malformed,
    }
}

/// The receiver's drop reason for a packet `alc` rejects.
pub(crate) fn alc_reason(e: &AlcError) -> DropReason {
    match e {
        AlcError::Lct(l) => reason(*l),
        AlcError::UnknownCodepoint { .. } | AlcError::UnknownScheme { .. } => {
            DropReason::UnknownScheme
        }
        AlcError::Fec(FecError::UnknownScheme { .. }) => DropReason::UnknownScheme,
        // The packet against its OTI (items 28-32).
        AlcError::Fec(FecError::SymbolLength { .. })
        | AlcError::EmptySymbol
        | AlcError::SymbolTooLong { .. } => DropReason::BadSymbol,
        AlcError::Fec(FecError::SbnOutOfRange { .. } | FecError::EsiOutOfRange { .. })
        | AlcError::SourceBlockLength { .. }
        | AlcError::TruncatedPayloadId { .. } => DropReason::BadPayloadId,
        AlcError::Fec(_) | AlcError::SchemeMismatch { .. } | AlcError::ConflictingOti { .. } => {
            DropReason::BadFti
        }
        _ => DropReason::Malformed,
    }
}

/// Parses `buf` with `parser` (ALC with the FLUTE header rules, RFC 6726 §3.3, §3.4).
pub(crate) fn parse<'a>(parser: &AlcParser, buf: &'a [u8]) -> Result<LctView<'a>, DropReason> {
    match parser.parse_checked(buf, None) {
        Ok(p) => from_packet(&p, buf),
        Err(AlcError::UnknownCodepoint { .. } | AlcError::UnknownScheme { .. }) => deferred(buf),
        // A packet that only signals (A or B flag, RFC 5651 §5.1) with no symbol: the flags
        // count; the missing symbol is dropped later like any unusable symbol.
        Err(e @ (AlcError::EmptySymbol | AlcError::TruncatedPayloadId { .. })) => {
            match deferred(buf) {
                Ok(v) if v.close_session || v.close_object => Ok(LctView {
                    signal_only: true,
                    ..v
                }),
                _ => Err(alc_reason(&e)),
            }
        }
        Err(e) => Err(alc_reason(&e)),
    }
}

fn from_packet<'a>(p: &AlcPacket<'_>, buf: &'a [u8]) -> Result<LctView<'a>, DropReason> {
    let lct = p.lct();
    if p.fdt().is_some_and(|f| f.version != 1 && f.version != 2) {
        return Err(DropReason::BadFdtVersion);
    }
    // `alc` checked that the header fits; the payload is the rest of the datagram, the FTI
    // extension a slice of it (re-borrowed here with the datagram's lifetime).
    let header_len = buf.len() - p.payload_id_bytes().len() - p.symbols().len();
    let fti = p.extensions().fti.map(|f| {
        let at = f.bytes().as_ptr() as usize - buf.as_ptr() as usize;
        &buf[at..at + f.bytes().len()]
    });
    Ok(LctView {
        close_session: lct.close_session,
        close_object: lct.close_object,
        codepoint: lct.codepoint,
        tsi: lct.tsi.map_or(0, |t| t.0),
        toi: lct.toi.map_or(0, |t| t.0),
        fdt: p.fdt().map(|f| (f.version, f.instance_id)),
        cenc: p.cenc().map(|c| c.encoding),
        fti,
        fti_oti: p.oti().cloned(),
        payload: &buf[header_len..],
        payload_id: p.payload_id().map(|id| (id, p.payload_id_bytes().len())),
        signal_only: false,
    })
}

/// The LCT fields of a packet whose FEC scheme only the FDT can tell (see the module docs).
/// With EXT_FTI present, the scheme is simply unknown.
fn deferred(buf: &[u8]) -> Result<LctView<'_>, DropReason> {
    let pkt = LctPacket::new_checked(buf).map_err(reason)?;
    let h = FluteHeaderCheck::new().check(&pkt).map_err(reason)?;
    if h.extensions.fti.is_some() {
        return Err(DropReason::UnknownScheme);
    }
    if h.extensions
        .fdt
        .is_some_and(|f| f.version != 1 && f.version != 2)
    {
        return Err(DropReason::BadFdtVersion);
    }
    Ok(LctView {
        close_session: pkt.close_session(),
        close_object: pkt.close_object(),
        codepoint: pkt.codepoint(),
        tsi: h.tsi.0,
        toi: h.toi.0,
        fdt: h.extensions.fdt.map(|f| (f.version, f.instance_id)),
        cenc: h.extensions.cenc.map(|c| c.encoding),
        fti: None,
        fti_oti: None,
        payload: pkt.into_payload(),
        payload_id: None,
        signal_only: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> AlcParser {
        AlcParser::new(std::sync::Arc::new(fec_schemes::FecRegistry::with_builtin())).flute(true)
    }

    fn parse(b: &[u8]) -> Result<LctView<'_>, DropReason> {
        // The parser only lives for the call: the view borrows the datagram, not the parser.
        super::parse(&parser(), b)
    }
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

    /// RFC 5651 §5.2 / catalogue item 16: header extensions of unknown types, one with a
    /// HEL (HET < 128) and one of fixed size (HET >= 128), are skipped by length; the
    /// EXT_FDT after them is still found and the payload starts after the header.
    #[test]
    fn rfc5651_5_2_unknown_het_skipped() {
        let mut h = header(
            false,
            0,
            &[100, 2, 1, 2, 3, 4, 5, 6, 200, 9, 9, 9, EXT_FDT, 0x20, 0, 5],
        );
        h.extend_from_slice(b"payload");
        let v = parse(&h).unwrap();
        assert_eq!(v.fdt, Some((2, 5)));
        assert_eq!(v.payload, b"payload");
    }

    /// RFC 5651 §5.1 / catalogue item 6: the two reserved bits are ignored on receipt.
    #[test]
    fn bad_input_06_reserved_bits_ignored() {
        let mut h = header(false, 0, &[EXT_FDT, 0x20, 0, 5]);
        h.extend_from_slice(b"payload");
        for res in [0b0100, 0b1000, 0b1100] {
            let mut m = h.clone();
            m[1] |= res;
            let v = parse(&m).unwrap();
            assert_eq!((v.tsi, v.toi, v.fdt), (7, 0, Some((2, 5))), "Res {res:#b}");
            assert!(!v.close_session && !v.close_object, "Res {res:#b}");
            assert_eq!(v.payload, b"payload");
        }
    }

    /// Catalogue item 20: an FDT packet whose EXT_CENC carries a value outside 0..=3 is
    /// dropped as `BadCenc` (lct-header refuses the value); the same packet with gzip (3)
    /// is accepted, so the drop is for the value alone.
    #[test]
    fn bad_input_20_unknown_ext_cenc_is_bad_cenc() {
        let with_cenc = |code: u8| {
            let mut h = header(
                false,
                0,
                &[EXT_FDT, 0x20, 0, 1, lct_header::EXT_CENC, code, 0, 0],
            );
            h.extend_from_slice(b"payload");
            h
        };
        let gzip = with_cenc(3);
        assert_eq!(parse(&gzip).unwrap().cenc, Some(ContentEncoding::Gzip));
        for code in [4, 0x80, 0xFF] {
            assert_eq!(
                parse(&with_cenc(code)).unwrap_err(),
                DropReason::BadCenc,
                "CENC {code}"
            );
        }
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
