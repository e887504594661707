//! Emitting ALC packets into a caller's buffer, without allocation.

use fec_schemes::{FecScheme, Oti, PayloadId};
use lct_header::{
    ExtCenc, ExtFdt, ExtTime, HeaderExtension, LctError, LctRepr, LctWriter, Toi, Tsi,
};

use crate::AlcError;

/// An ALC packet to send: LCT header fields, the extensions ALC/FLUTE use, and the FEC
/// Payload ID. The encoding symbol is supplied at emit time or written by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlcRepr<'o> {
    /// The fixed part of the LCT header (its codepoint is sent as is).
    pub lct: LctRepr,
    /// The object's OTI: needed to write the FEC Payload ID, and sent as EXT_FTI when
    /// [`Self::send_fti`] is set.
    pub oti: &'o Oti,
    /// Whether to send the OTI as EXT_FTI (RFC 5775 §5.2).
    pub send_fti: bool,
    /// EXT_FDT (FLUTE, TOI 0 only).
    pub fdt: Option<ExtFdt>,
    /// EXT_CENC (FLUTE, TOI 0 only).
    pub cenc: Option<ExtCenc>,
    /// EXT_TIME.
    pub time: Option<ExtTime>,
    /// The FEC Payload ID.
    pub payload_id: PayloadId,
}

impl<'o> AlcRepr<'o> {
    /// A packet for (`tsi`, `toi`) with the smallest LCT widths, codepoint = the OTI's
    /// FEC Encoding ID, no extensions.
    pub fn new(tsi: Tsi, toi: Toi, oti: &'o Oti, payload_id: PayloadId) -> Result<Self, AlcError> {
        Ok(Self {
            lct: LctRepr::new(Some(tsi), Some(toi), oti.encoding_id.0)?,
            oti,
            send_fti: false,
            fdt: None,
            cenc: None,
            time: None,
            payload_id,
        })
    }

    /// Length of the LCT header (extensions included) plus the FEC Payload ID: the offset
    /// at which the encoding symbol starts.
    pub fn header_len(&self, scheme: &dyn FecScheme) -> usize {
        self.lct.header_len()
            + if self.send_fti {
                scheme.fti_len(self.oti)
            } else {
                0
            }
            + self.fdt.map_or(0, |_| ExtFdt::LEN)
            + self.cenc.map_or(0, |_| ExtCenc::LEN)
            + self.time.map_or(0, |t| t.len())
            + scheme.payload_id_len()
    }

    /// Writes the LCT header, extensions and FEC Payload ID into the start of `buf` and
    /// returns their length. The caller then writes the symbol at `buf[len..]`, e.g. with
    /// `BlockEncoder::write_symbol`, and sends `len + symbol_len` bytes.
    pub fn emit_header(&self, scheme: &dyn FecScheme, buf: &mut [u8]) -> Result<usize, AlcError> {
        if scheme.key() != self.oti.key() {
            return Err(AlcError::SchemeMismatch {
                expected: scheme.key().encoding_id,
                found: self.oti.encoding_id,
            });
        }
        let mut w = LctWriter::new(&self.lct, buf)?;
        if self.send_fti {
            let n = scheme.write_fti(self.oti, w.spare_mut())?;
            w.commit(n)?;
        }
        if let Some(f) = self.fdt {
            w.push(&HeaderExtension::Fdt(f))?;
        }
        if let Some(c) = self.cenc {
            w.push(&HeaderExtension::Cenc(c))?;
        }
        if let Some(t) = self.time {
            w.push(&HeaderExtension::Time(t))?;
        }
        let hdr = w.finish();
        let pid_len = scheme.payload_id_len();
        let available = buf.len();
        let out = buf
            .get_mut(hdr..hdr + pid_len)
            .ok_or(AlcError::Lct(LctError::Truncated {
                what: "FEC Payload ID",
                offset: hdr,
                needed: pid_len,
                available: available.saturating_sub(hdr),
            }))?;
        scheme.write_payload_id(&self.payload_id, self.oti, out)?;
        Ok(hdr + pid_len)
    }

    /// Writes the whole packet (header, extensions, FEC Payload ID, `symbol`) into `buf`
    /// and returns its length.
    pub fn emit(
        &self,
        scheme: &dyn FecScheme,
        symbol: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, AlcError> {
        if symbol.is_empty() {
            return Err(AlcError::EmptySymbol);
        }
        let hdr = self.emit_header(scheme, buf)?;
        let total = hdr + symbol.len();
        let available = buf.len();
        buf.get_mut(hdr..total)
            .ok_or(AlcError::BufferTooSmall {
                needed: total,
                available,
            })?
            .copy_from_slice(symbol);
        Ok(total)
    }
}
