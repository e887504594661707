//! Emitting ALC packets into a caller's buffer, without allocation.

use fec_schemes::{FecScheme, Oti, PayloadId, SchemeKey};
use lct_header::{
    ExtCenc, ExtFdt, ExtTime, HeaderExtension, LctError, LctRepr, LctWriter, RawExtension, Toi, Tsi,
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
    #[inline]
    pub fn emit_header(&self, scheme: &dyn FecScheme, buf: &mut [u8]) -> Result<usize, AlcError> {
        self.emit_header_with(scheme, None, buf)
    }

    /// [`Self::emit_header`], taking EXT_FTI from `fti` (encoded once per object with
    /// [`EncodedFti::new`]) instead of validating and encoding the OTI again for every
    /// packet. `fti` is used only when [`Self::send_fti`] is set and it was made for this
    /// scheme and an OTI equal to [`Self::oti`]; otherwise the OTI is encoded as by
    /// [`Self::emit_header`]. The bytes written are the same either way.
    #[inline]
    pub fn emit_header_with(
        &self,
        scheme: &dyn FecScheme,
        fti: Option<&EncodedFti>,
        buf: &mut [u8],
    ) -> Result<usize, AlcError> {
        let key = scheme.key();
        if key != self.oti.key() {
            return Err(AlcError::SchemeMismatch {
                expected: key.encoding_id,
                found: self.oti.encoding_id,
            });
        }
        let hdr =
            if !self.send_fti && self.fdt.is_none() && self.cenc.is_none() && self.time.is_none() {
                // No extension: the fixed part is the whole LCT header.
                self.lct.emit_into(buf)?
            } else {
                self.write_lct_with_extensions(scheme, key, fti, buf)?
            };
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

    fn write_lct_with_extensions(
        &self,
        scheme: &dyn FecScheme,
        key: SchemeKey,
        fti: Option<&EncodedFti>,
        buf: &mut [u8],
    ) -> Result<usize, AlcError> {
        let mut w = LctWriter::new(&self.lct, buf)?;
        if self.send_fti {
            match fti {
                Some(f)
                    if f.key == key && (std::ptr::eq(self.oti, &f.oti) || f.oti == *self.oti) =>
                {
                    let n = f.bytes.len();
                    match (w.spare_mut().len() >= n, f.raw()) {
                        // A well-formed extension: what `commit` would accept, unparsed.
                        (true, Some(raw)) => w.push_raw(raw)?,
                        (true, None) => {
                            w.spare_mut()[..n].copy_from_slice(&f.bytes);
                            w.commit(n)?;
                        }
                        // Too small: let the scheme report it, as without the cache.
                        (false, _) => {
                            let n = scheme.write_fti(self.oti, w.spare_mut())?;
                            w.commit(n)?;
                        }
                    }
                }
                _ => {
                    let n = scheme.write_fti(self.oti, w.spare_mut())?;
                    w.commit(n)?;
                }
            }
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
        Ok(w.finish())
    }

    /// Writes the whole packet (header, extensions, FEC Payload ID, `symbol`) into `buf`
    /// and returns its length.
    pub fn emit(
        &self,
        scheme: &dyn FecScheme,
        symbol: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, AlcError> {
        self.emit_with(scheme, None, symbol, buf)
    }

    /// [`Self::emit`], with EXT_FTI from `fti` as in [`Self::emit_header_with`].
    pub fn emit_with(
        &self,
        scheme: &dyn FecScheme,
        fti: Option<&EncodedFti>,
        symbol: &[u8],
        buf: &mut [u8],
    ) -> Result<usize, AlcError> {
        if symbol.is_empty() {
            return Err(AlcError::EmptySymbol);
        }
        let hdr = self.emit_header_with(scheme, fti, buf)?;
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

/// An object's EXT_FTI, validated and encoded once, for [`AlcRepr::emit_header_with`]: a
/// sender that repeats EXT_FTI in many packets of an object then skips the per-packet
/// OTI validation (which, for most schemes, recomputes the blocking).
///
/// ```
/// use alc::{AlcRepr, EncodedFti};
/// use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
/// use lct_header::{Toi, Tsi};
///
/// let registry = FecRegistry::with_builtin();
/// let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None)?;
/// let oti = CompactNoCode::oti(10, 4, 8);
/// let fti = EncodedFti::new(&**scheme, &oti)?; // once per object
/// let mut repr = AlcRepr::new(Tsi(1), Toi(2), &oti, PayloadId::default())?;
/// repr.send_fti = true;
/// let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
/// let n = repr.emit_header_with(&**scheme, Some(&fti), &mut a)?;
/// assert_eq!(repr.emit_header(&**scheme, &mut b)?, n);
/// assert_eq!(a, b);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFti {
    key: SchemeKey,
    oti: Oti,
    bytes: Vec<u8>,
}

impl EncodedFti {
    /// Validates `oti` against `scheme` and encodes it as EXT_FTI (HET and HEL included).
    pub fn new(scheme: &dyn FecScheme, oti: &Oti) -> Result<Self, AlcError> {
        let key = scheme.key();
        if key != oti.key() {
            return Err(AlcError::SchemeMismatch {
                expected: key.encoding_id,
                found: oti.encoding_id,
            });
        }
        let mut bytes = vec![0u8; scheme.fti_len(oti)];
        let n = scheme.write_fti(oti, &mut bytes)?;
        bytes.truncate(n);
        Ok(Self {
            key,
            oti: oti.clone(),
            bytes,
        })
    }

    /// The bytes as one well-formed extension, if they are (a scheme's EXT_FTI always is).
    #[inline]
    fn raw(&self) -> Option<RawExtension<'_>> {
        RawExtension::new(&self.bytes).ok()
    }

    /// The encoded extension.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The OTI it encodes. An [`AlcRepr`] whose `oti` is this reference skips even the
    /// OTI comparison in [`AlcRepr::emit_header_with`].
    pub fn oti(&self) -> &Oti {
        &self.oti
    }
}
