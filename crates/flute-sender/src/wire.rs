//! LCT header emission through `lct_header::LctWriter` (RFC 5651 §5.1), with EXT_FDT and
//! EXT_CENC (RFC 6726 §3.4.1, §3.4.3), EXT_TIME (RFC 5651 §5.2.2) and an EXT_FTI written
//! in place by the FEC scheme (RFC 5775 §5.2).

use fec_schemes::{FecScheme, Oti};
use lct_header::{
    ContentEncoding as Cenc, ExtCenc, ExtFdt, ExtTime, HeaderExtension, LctRepr, LctWriter, Toi,
    Tsi,
};

use crate::SendError;

/// Everything that goes into one LCT header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub(crate) repr: LctRepr,
    /// (FLUTE version, FDT Instance ID)
    pub(crate) fdt: Option<ExtFdt>,
    pub(crate) cenc: Option<ExtCenc>,
    pub(crate) time: Option<ExtTime>,
    /// Length of EXT_FTI in bytes (0: none); written by the FEC scheme.
    pub(crate) fti_len: usize,
}

impl Header {
    /// A header for TSI/TOI/codepoint with the smallest field widths and no extensions.
    pub(crate) fn new(tsi: u64, toi: u128, codepoint: u8) -> Result<Self, SendError> {
        Ok(Self {
            repr: LctRepr::new(Some(Tsi(tsi)), Some(Toi(toi)), codepoint)?,
            fdt: None,
            cenc: None,
            time: None,
            fti_len: 0,
        })
    }

    /// Total header length in bytes (HDR_LEN * 4).
    pub(crate) fn len(&self) -> usize {
        self.repr.header_len()
            + self.fdt.map_or(0, |_| ExtFdt::LEN)
            + self.cenc.map_or(0, |_| ExtCenc::LEN)
            + self.time.map_or(0, |t| t.len())
            + self.fti_len
    }

    /// Writes the header into the start of `buf`, EXT_FTI by `scheme` when `fti_len > 0`.
    /// Returns the header length.
    pub(crate) fn write(
        &self,
        buf: &mut [u8],
        scheme: &dyn FecScheme,
        oti: &Oti,
    ) -> Result<usize, SendError> {
        let mut w = LctWriter::new(&self.repr, buf)?;
        if let Some(f) = &self.fdt {
            w.push(&HeaderExtension::Fdt(*f))?;
        }
        if let Some(c) = &self.cenc {
            w.push(&HeaderExtension::Cenc(*c))?;
        }
        if let Some(t) = &self.time {
            w.push(&HeaderExtension::Time(*t))?;
        }
        if self.fti_len > 0 {
            let n = scheme.write_fti(oti, w.spare_mut())?;
            w.commit(n)?;
        }
        Ok(w.finish())
    }
}

/// The EXT_CENC code of an FDT Content-Encoding.
pub(crate) fn cenc(enc: crate::ContentEncoding) -> Option<Cenc> {
    Cenc::from_u8(enc.cenc()?)
}

/// EXT_TIME carrying the Sender Current Time (RFC 5651 §5.2.2).
pub(crate) fn sct(t: std::time::SystemTime) -> ExtTime {
    let (s, f) = ntp(t);
    ExtTime {
        sct_high: Some(s),
        sct_low: Some(f),
        ..ExtTime::default()
    }
}

/// NTP timestamp (seconds, fraction) of a wall-clock time; seconds wrap at 2^32 (era rollover).
pub(crate) fn ntp(t: std::time::SystemTime) -> (u32, u32) {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET) as u32;
    let frac = ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    (secs, frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_epoch() {
        assert_eq!(ntp(std::time::UNIX_EPOCH).0, 2_208_988_800);
    }
}
