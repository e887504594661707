//! Header-level FLUTE rules (RFC 6726 §3.3, §3.4) and the collection of the singleton
//! extensions of one packet.

use crate::LctError;
use crate::ext::{
    EXT_AUTH, EXT_CENC, EXT_FDT, EXT_FTI, EXT_TIME, ExtCenc, ExtFdt, ExtTime, Extensions,
    RawExtension,
};
use crate::packet::{LctPacket, Toi, Tsi};

/// The header extensions ALC and FLUTE care about, collected from one packet.
///
/// EXT_FTI, EXT_FDT, EXT_CENC, EXT_TIME and EXT_AUTH may each occur at most once
/// (catalogue item 17); EXT_NOP and unknown types are skipped by length (item 16) and
/// only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KnownExtensions<'a> {
    /// EXT_FTI, raw (HET and HEL included), for the FEC scheme to decode.
    pub fti: Option<RawExtension<'a>>,
    /// EXT_FDT.
    pub fdt: Option<ExtFdt>,
    /// EXT_CENC.
    pub cenc: Option<ExtCenc>,
    /// EXT_TIME.
    pub time: Option<ExtTime>,
    /// EXT_AUTH body, opaque.
    pub auth: Option<&'a [u8]>,
    /// Number of EXT_NOP and unknown extensions skipped.
    pub skipped: usize,
}

impl<'a> KnownExtensions<'a> {
    /// No extension (the same as [`Default::default`], usable in `const` and `static`).
    pub const EMPTY: Self = Self {
        fti: None,
        fdt: None,
        cenc: None,
        time: None,
        auth: None,
        skipped: 0,
    };

    /// True when no extension was collected (nothing decoded, nothing skipped).
    #[inline]
    pub const fn is_empty(&self) -> bool {
        self.fti.is_none()
            && self.fdt.is_none()
            && self.cenc.is_none()
            && self.time.is_none()
            && self.auth.is_none()
            && self.skipped == 0
    }

    /// Walks `exts`, decoding the known types and rejecting duplicates.
    #[inline]
    pub fn collect(exts: Extensions<'a>) -> Result<Self, LctError> {
        let mut k = Self::default();
        for raw in exts {
            let raw = raw?;
            let het = raw.het();
            let dup = LctError::DuplicateExtension { het };
            match het {
                EXT_FTI => {
                    if k.fti.replace(raw).is_some() {
                        return Err(dup);
                    }
                }
                EXT_FDT => {
                    if k.fdt.replace(ExtFdt::decode(raw)?).is_some() {
                        return Err(dup);
                    }
                }
                EXT_CENC => {
                    if k.cenc.replace(ExtCenc::decode(raw)?).is_some() {
                        return Err(dup);
                    }
                }
                EXT_TIME => {
                    if k.time.replace(ExtTime::decode(raw)?).is_some() {
                        return Err(dup);
                    }
                }
                EXT_AUTH => {
                    if k.auth.replace(raw.body()).is_some() {
                        return Err(dup);
                    }
                }
                _ => k.skipped += 1,
            }
        }
        Ok(k)
    }
}

/// The FLUTE view of one packet's LCT header, produced by [`FluteHeaderCheck::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FluteHeader<'a> {
    /// TSI (always present in FLUTE).
    pub tsi: Tsi,
    /// TOI (always present in FLUTE).
    pub toi: Toi,
    /// The collected extensions.
    pub extensions: KnownExtensions<'a>,
}

impl FluteHeader<'_> {
    /// True for FDT instance packets (TOI 0, RFC 6726 §3.3).
    pub fn is_fdt(&self) -> bool {
        self.toi.0 == 0
    }
}

/// The FLUTE rules a single LCT header can be checked against (RFC 6726 §3.3, §3.4):
///
/// - TSI and TOI present (catalogue item 9);
/// - EXT_FDT present exactly on TOI 0, with V 1 or 2 (items 9, 18);
/// - EXT_CENC only on TOI 0 (item 21);
/// - no duplicate EXT_FDT / EXT_FTI / EXT_CENC (item 17);
/// - EXT_AUTH accepted and ignored, or refused, by policy (item 24).
///
/// FDT Instance ID ordering across packets (item 19) is receiver state; use
/// [`crate::fdt_instance_newer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct FluteHeaderCheck {
    /// Refuse packets carrying EXT_AUTH (this toolkit does not verify RFC 5776
    /// signatures). Default `false`: EXT_AUTH is skipped.
    pub reject_auth: bool,
}

impl FluteHeaderCheck {
    /// The default policy (EXT_AUTH skipped).
    pub const fn new() -> Self {
        Self { reject_auth: false }
    }

    /// Sets [`Self::reject_auth`].
    pub const fn reject_auth(mut self, reject: bool) -> Self {
        self.reject_auth = reject;
        self
    }

    /// Checks `packet` (whose lengths must be valid: see [`LctPacket::check_len`]).
    pub fn check<'a, T: AsRef<[u8]> + ?Sized>(
        &self,
        packet: &LctPacket<&'a T>,
    ) -> Result<FluteHeader<'a>, LctError> {
        packet.check_len()?;
        let extensions = KnownExtensions::collect(packet.into_extensions())?;
        let (tsi, toi) = self.check_fields(packet.tsi(), packet.toi(), &extensions)?;
        Ok(FluteHeader {
            tsi,
            toi,
            extensions,
        })
    }

    /// The same rules on a header already taken apart: its TSI and TOI (if present) and its
    /// collected extensions. This is the one place the rules live; [`Self::check`] and the
    /// `alc` parser's FLUTE mode both call it. Returns the TSI and TOI.
    pub fn check_fields(
        &self,
        tsi: Option<Tsi>,
        toi: Option<Toi>,
        extensions: &KnownExtensions<'_>,
    ) -> Result<(Tsi, Toi), LctError> {
        let tsi = tsi.ok_or(LctError::MissingField { field: "TSI" })?;
        let toi = toi.ok_or(LctError::MissingField { field: "TOI" })?;
        if toi.0 == 0 {
            if extensions.fdt.is_none() {
                return Err(LctError::MissingField { field: "EXT_FDT" });
            }
        } else {
            for (het, present) in [
                (EXT_FDT, extensions.fdt.is_some()),
                (EXT_CENC, extensions.cenc.is_some()),
            ] {
                if present {
                    return Err(LctError::UnexpectedExtension { het, toi: toi.0 });
                }
            }
        }
        if self.reject_auth && extensions.auth.is_some() {
            return Err(LctError::UnexpectedExtension {
                het: EXT_AUTH,
                toi: toi.0,
            });
        }
        Ok((tsi, toi))
    }
}
