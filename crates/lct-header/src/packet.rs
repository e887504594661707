//! The fixed part of the LCT header (RFC 5651 §5.1): the zero-copy [`LctPacket`] view and
//! the owned [`LctRepr`].

use crate::LctError;
use crate::ext::Extensions;

/// The only LCT version defined (RFC 5651 §5.1).
pub const LCT_VERSION: u8 = 1;

/// Byte layout of the first 32-bit word.
mod field {
    /// V (4) | C (2) | PSI (2).
    pub(crate) const VCP: usize = 0;
    /// S (1) | O (2) | H (1) | Res (2) | A (1) | B (1).
    pub(crate) const SOH: usize = 1;
    /// HDR_LEN, in 32-bit words.
    pub(crate) const HDR_LEN: usize = 2;
    /// Codepoint.
    pub(crate) const CP: usize = 3;
    /// Start of CCI.
    pub(crate) const CCI: usize = 4;
}

/// Congestion Control Information, 32 to 128 bits (RFC 5651 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cci(pub u128);

/// Transport Session Identifier, 0 to 48 bits (RFC 5651 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct Tsi(pub u64);

/// Transport Object Identifier, 0 to 112 bits (RFC 5651 §5.1). TOI 0 carries FDT
/// instances in FLUTE (RFC 6726 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Toi(pub u128);

/// With the `serde` feature a TOI is written as a decimal string (JSON numbers above 2^53
/// lose precision in most readers); a string or a number is accepted on input.
#[cfg(feature = "serde")]
impl serde::Serialize for Toi {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Toi {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(u64),
        }
        match Either::deserialize(d)? {
            Either::Text(t) => t.parse().map(Self).map_err(serde::de::Error::custom),
            Either::Number(n) => Ok(Self(u128::from(n))),
        }
    }
}

impl core::fmt::Display for Tsi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

impl core::fmt::Display for Toi {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

/// The field widths of an LCT header, as given by the C, S, O and H flags.
///
/// TSI is `32*S + 16*H` bits and TOI is `32*O + 16*H` bits, so the two share the H flag:
/// they are either both a multiple of 32 bits or both an odd multiple of 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Widths {
    /// C flag, 0..=3: CCI is `32 * (C + 1)` bits.
    pub c: u8,
    /// S flag.
    pub s: bool,
    /// O flag, 0..=3.
    pub o: u8,
    /// H flag (half-word), shared by TSI and TOI.
    pub h: bool,
}

impl Widths {
    /// Widths from the TSI and TOI sizes in 16-bit half-words (`tsi_half` 0..=3,
    /// `toi_half` 0..=7) and the CCI size in 32-bit words minus one (`c` 0..=3).
    pub const fn from_half_words(c: u8, tsi_half: u8, toi_half: u8) -> Result<Self, LctError> {
        let bad = LctError::UnencodableWidths {
            tsi_bits: tsi_half as u32 * 16,
            toi_bits: toi_half as u32 * 16,
        };
        if c > 3 || tsi_half > 3 || toi_half > 7 || tsi_half % 2 != toi_half % 2 {
            return Err(bad);
        }
        Ok(Self {
            c,
            s: tsi_half >= 2,
            o: toi_half / 2,
            h: tsi_half % 2 == 1,
        })
    }

    /// CCI length in bytes (4, 8, 12 or 16).
    #[inline]
    pub const fn cci_len(self) -> usize {
        4 * (self.c as usize + 1)
    }

    /// TSI length in bytes (0, 2, 4 or 6).
    #[inline]
    pub const fn tsi_len(self) -> usize {
        4 * self.s as usize + 2 * self.h as usize
    }

    /// TOI length in bytes (0 to 14, even).
    #[inline]
    pub const fn toi_len(self) -> usize {
        4 * self.o as usize + 2 * self.h as usize
    }

    /// Length in bytes of the header without extensions: `4 * (2 + C + S + O + H)`.
    #[inline]
    pub const fn fixed_len(self) -> usize {
        4 + self.cci_len() + self.tsi_len() + self.toi_len()
    }

    /// The smallest widths that hold `cci`, `tsi` and `toi` (`None` = field absent).
    ///
    /// When the TSI and TOI sizes need different H flags, the one that is present and can
    /// grow gets 16 more bits (TSI first). Fails when neither can (e.g. a 48-bit TSI with
    /// no TOI).
    pub fn minimal(cci: Cci, tsi: Option<Tsi>, toi: Option<Toi>) -> Result<Self, LctError> {
        let cci_bits = 128 - cci.0.leading_zeros();
        let c = (cci_bits.saturating_sub(1) / 32) as u8;
        let half = |v: Option<u128>| match v {
            None => 0u32,
            Some(v) => (128 - v.leading_zeros()).div_ceil(16).max(1),
        };
        let mut tsi_half = half(tsi.map(|t| u128::from(t.0)));
        let mut toi_half = half(toi.map(|t| t.0));
        let too_wide = LctError::UnencodableWidths {
            tsi_bits: tsi_half * 16,
            toi_bits: toi_half * 16,
        };
        if tsi_half > 3 || toi_half > 7 {
            return Err(too_wide);
        }
        if tsi_half % 2 != toi_half % 2 {
            if (1..3).contains(&tsi_half) {
                tsi_half += 1;
            } else if (1..7).contains(&toi_half) {
                toi_half += 1;
            } else {
                return Err(too_wide);
            }
        }
        // Both within range and of equal parity here.
        Self::from_half_words(c, tsi_half as u8, toi_half as u8)
    }
}

/// Reads `len` (<= 16) big-endian bytes at `at`; 0 if the range is out of bounds.
#[inline(always)]
fn read_be(buf: &[u8], at: usize, len: usize) -> u128 {
    let Some(rest) = buf.get(at..) else {
        return 0;
    };
    match len {
        0 => 0,
        2 => rest
            .first_chunk::<2>()
            .map_or(0, |b| u16::from_be_bytes(*b).into()),
        4 => rest
            .first_chunk::<4>()
            .map_or(0, |b| u32::from_be_bytes(*b).into()),
        8 => rest
            .first_chunk::<8>()
            .map_or(0, |b| u64::from_be_bytes(*b).into()),
        16 => rest
            .first_chunk::<16>()
            .map_or(0, |b| u128::from_be_bytes(*b)),
        _ => rest.get(..len).map_or(0, |b| {
            b.iter().fold(0u128, |acc, &x| (acc << 8) | u128::from(x))
        }),
    }
}

/// Writes the low `len` bytes of `v` big-endian at `at`; silently does nothing when the
/// range is out of bounds (callers check lengths first).
#[inline(always)]
fn write_be(buf: &mut [u8], at: usize, len: usize, v: u128) {
    let Some(rest) = buf.get_mut(at..) else {
        return;
    };
    match len {
        0 => {}
        2 => put(rest, (v as u16).to_be_bytes()),
        4 => put(rest, (v as u32).to_be_bytes()),
        8 => put(rest, (v as u64).to_be_bytes()),
        16 => put(rest, v.to_be_bytes()),
        _ => {
            let bytes = v.to_be_bytes();
            if let (Some(dst), Some(src)) = (rest.get_mut(..len), bytes.get(16 - len.min(16)..)) {
                if dst.len() == src.len() {
                    dst.copy_from_slice(src);
                }
            }
        }
    }
}

#[inline(always)]
fn put<const N: usize>(rest: &mut [u8], bytes: [u8; N]) {
    if let Some(dst) = rest.first_chunk_mut::<N>() {
        *dst = bytes;
    }
}

/// A zero-copy view of an LCT header at the start of a buffer (RFC 5651 §5.1).
///
/// After [`LctPacket::new_checked`] (or a successful [`LctPacket::check_len`]) no accessor
/// panics. With [`LctPacket::new_unchecked`], accessors on a too-short buffer return zeros
/// rather than panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LctPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> LctPacket<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer and checks its lengths with [`Self::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, LctError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the whole header: the first word, the CCI/TSI/TOI
    /// implied by the flags, and HDR_LEN words, with HDR_LEN not below that fixed part.
    /// The version is not checked here (see [`LctRepr::parse`]).
    pub fn check_len(&self) -> Result<(), LctError> {
        let buf = self.buffer.as_ref();
        if buf.len() < 4 {
            return Err(LctError::Truncated {
                what: "LCT header",
                offset: 0,
                needed: 4,
                available: buf.len(),
            });
        }
        let fixed = self.widths().fixed_len();
        if buf.len() < fixed {
            return Err(LctError::Truncated {
                what: "LCT header",
                offset: 0,
                needed: fixed,
                available: buf.len(),
            });
        }
        let header_len = self.header_len();
        if header_len < fixed {
            return Err(LctError::HdrLenTooShort {
                hdr_len: self.hdr_len(),
                min_words: fixed / 4,
            });
        }
        if header_len > buf.len() {
            return Err(LctError::HdrLenExceedsPacket {
                header_len,
                available: buf.len(),
            });
        }
        Ok(())
    }

    /// Consumes the view and returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn byte(&self, at: usize) -> u8 {
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    /// V, the LCT version (4 bits).
    #[inline]
    pub fn version(&self) -> u8 {
        self.byte(field::VCP) >> 4
    }

    /// C flag (2 bits).
    #[inline]
    pub fn c_flag(&self) -> u8 {
        (self.byte(field::VCP) >> 2) & 0x3
    }

    /// PSI, protocol-specific indication (2 bits).
    #[inline]
    pub fn psi(&self) -> u8 {
        self.byte(field::VCP) & 0x3
    }

    /// S flag.
    #[inline]
    pub fn s_flag(&self) -> bool {
        self.byte(field::SOH) & 0x80 != 0
    }

    /// O flag (2 bits).
    #[inline]
    pub fn o_flag(&self) -> u8 {
        (self.byte(field::SOH) >> 5) & 0x3
    }

    /// H flag.
    #[inline]
    pub fn h_flag(&self) -> bool {
        self.byte(field::SOH) & 0x10 != 0
    }

    /// The two reserved bits. Sent as 0, ignored on receipt (RFC 5651 §5.1); exposed only
    /// for diagnostics, never interpreted.
    #[inline]
    pub fn reserved(&self) -> u8 {
        (self.byte(field::SOH) >> 2) & 0x3
    }

    /// A flag: close session.
    #[inline]
    pub fn close_session(&self) -> bool {
        self.byte(field::SOH) & 0x02 != 0
    }

    /// B flag: close object.
    #[inline]
    pub fn close_object(&self) -> bool {
        self.byte(field::SOH) & 0x01 != 0
    }

    /// HDR_LEN, in 32-bit words.
    #[inline]
    pub fn hdr_len(&self) -> u8 {
        self.byte(field::HDR_LEN)
    }

    /// Header length in bytes, HDR_LEN * 4 (extensions included).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.hdr_len()) * 4
    }

    /// Codepoint (CP).
    #[inline]
    pub fn codepoint(&self) -> u8 {
        self.byte(field::CP)
    }

    /// The widths given by C, S, O and H.
    #[inline]
    pub fn widths(&self) -> Widths {
        let b = self.byte(field::SOH);
        Widths {
            c: self.c_flag(),
            s: b & 0x80 != 0,
            o: (b >> 5) & 0x3,
            h: b & 0x10 != 0,
        }
    }

    /// Congestion Control Information.
    #[inline]
    pub fn cci(&self) -> Cci {
        Cci(read_be(
            self.buffer.as_ref(),
            field::CCI,
            self.widths().cci_len(),
        ))
    }

    /// Transport Session Identifier, `None` when the header has no TSI field.
    #[inline]
    pub fn tsi(&self) -> Option<Tsi> {
        let w = self.widths();
        let len = w.tsi_len();
        (len != 0).then(|| Tsi(read_be(self.buffer.as_ref(), field::CCI + w.cci_len(), len) as u64))
    }

    /// Transport Object Identifier, `None` when the header has no TOI field.
    #[inline]
    pub fn toi(&self) -> Option<Toi> {
        let w = self.widths();
        let len = w.toi_len();
        let at = field::CCI + w.cci_len() + w.tsi_len();
        (len != 0).then(|| Toi(read_be(self.buffer.as_ref(), at, len)))
    }

    /// The header extension area: bytes from the end of TOI to HDR_LEN * 4. Empty if the
    /// lengths are inconsistent (see [`Self::check_len`]).
    #[inline]
    pub fn extension_bytes(&self) -> &[u8] {
        let start = self.widths().fixed_len();
        self.buffer
            .as_ref()
            .get(start..self.header_len())
            .unwrap_or(&[])
    }

    /// An iterator over the header extensions (RFC 5651 §5.2).
    #[inline]
    pub fn extensions(&self) -> Extensions<'_> {
        Extensions::new(self.extension_bytes())
    }

    /// Everything after the LCT header (for ALC: FEC Payload ID and encoding symbols).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(self.header_len()..).unwrap_or(&[])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> LctPacket<&'a T> {
    /// The header extensions, borrowing the underlying buffer rather than the view.
    #[inline]
    pub fn into_extensions(self) -> Extensions<'a> {
        let buf: &'a [u8] = self.buffer.as_ref();
        let start = self.widths().fixed_len();
        Extensions::new(buf.get(start..self.header_len()).unwrap_or(&[]))
    }

    /// Everything after the header, borrowing the underlying buffer.
    #[inline]
    pub fn into_payload(self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        buf.get(self.header_len()..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> LctPacket<T> {
    #[inline]
    fn set_bits(&mut self, at: usize, mask: u8, value: u8) {
        if let Some(b) = self.buffer.as_mut().get_mut(at) {
            *b = (*b & !mask) | (value & mask);
        }
    }

    /// Sets V (4 bits).
    pub fn set_version(&mut self, v: u8) {
        self.set_bits(field::VCP, 0xF0, v << 4);
    }

    /// Sets PSI (2 bits).
    pub fn set_psi(&mut self, psi: u8) {
        self.set_bits(field::VCP, 0x03, psi);
    }

    /// Sets the C, S, O and H flags. Does not move any field: set widths before values.
    pub fn set_widths(&mut self, w: Widths) {
        self.set_bits(field::VCP, 0x0C, w.c << 2);
        let soh = (u8::from(w.s) << 7) | ((w.o & 3) << 5) | (u8::from(w.h) << 4);
        self.set_bits(field::SOH, 0xF0, soh);
    }

    /// Sets the reserved bits (only useful to build test vectors; senders send 0).
    pub fn set_reserved(&mut self, res: u8) {
        self.set_bits(field::SOH, 0x0C, res << 2);
    }

    /// Sets the A flag (close session).
    pub fn set_close_session(&mut self, a: bool) {
        self.set_bits(field::SOH, 0x02, u8::from(a) << 1);
    }

    /// Sets the B flag (close object).
    pub fn set_close_object(&mut self, b: bool) {
        self.set_bits(field::SOH, 0x01, u8::from(b));
    }

    /// Sets HDR_LEN (32-bit words).
    pub fn set_hdr_len(&mut self, words: u8) {
        self.set_bits(field::HDR_LEN, 0xFF, words);
    }

    /// Sets the codepoint.
    pub fn set_codepoint(&mut self, cp: u8) {
        self.set_bits(field::CP, 0xFF, cp);
    }

    /// Writes CCI at the current C width (truncated to that width).
    pub fn set_cci(&mut self, cci: Cci) {
        let len = self.widths().cci_len();
        write_be(self.buffer.as_mut(), field::CCI, len, cci.0);
    }

    /// Writes TSI at the current width (truncated to that width).
    pub fn set_tsi(&mut self, tsi: Tsi) {
        let w = self.widths();
        write_be(
            self.buffer.as_mut(),
            field::CCI + w.cci_len(),
            w.tsi_len(),
            tsi.0.into(),
        );
    }

    /// Writes TOI at the current width (truncated to that width).
    pub fn set_toi(&mut self, toi: Toi) {
        let w = self.widths();
        let at = field::CCI + w.cci_len() + w.tsi_len();
        write_be(self.buffer.as_mut(), at, w.toi_len(), toi.0);
    }

    /// The header extension area, mutable.
    pub fn extension_bytes_mut(&mut self) -> &mut [u8] {
        let start = self.widths().fixed_len();
        let end = self.header_len();
        self.buffer.as_mut().get_mut(start..end).unwrap_or(&mut [])
    }

    /// Everything after the header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        self.buffer.as_mut().get_mut(at..).unwrap_or(&mut [])
    }
}

/// The widths of the common ALC/FLUTE data packet: C = 0, 32-bit TSI and TOI.
const COMMON_WIDTHS: Widths = Widths {
    c: 0,
    s: true,
    o: 1,
    h: false,
};

/// The fixed part of an LCT header in owned form (everything but the header extensions).
///
/// The field widths are kept, so that `emit(parse(b)) == b` for any header sent with the
/// reserved bits at 0. [`LctRepr::new`] picks the smallest widths; set [`LctRepr::widths`]
/// to force others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LctRepr {
    /// Widths of CCI, TSI and TOI (the C, S, O, H flags).
    pub widths: Widths,
    /// PSI (2 bits), protocol-specific; kept as received.
    pub psi: u8,
    /// A: close session.
    pub close_session: bool,
    /// B: close object.
    pub close_object: bool,
    /// Codepoint.
    pub codepoint: u8,
    /// Congestion Control Information.
    pub cci: Cci,
    /// TSI; `None` iff the TSI width is 0.
    pub tsi: Option<Tsi>,
    /// TOI; `None` iff the TOI width is 0.
    pub toi: Option<Toi>,
}

impl LctRepr {
    /// A header with CCI 0, the given TSI, TOI and codepoint, flags clear and the
    /// smallest widths.
    pub fn new(tsi: Option<Tsi>, toi: Option<Toi>, codepoint: u8) -> Result<Self, LctError> {
        Ok(Self {
            widths: Widths::minimal(Cci(0), tsi, toi)?,
            psi: 0,
            close_session: false,
            close_object: false,
            codepoint,
            cci: Cci(0),
            tsi,
            toi,
        })
    }

    /// Recomputes [`Self::widths`] as the smallest that hold the current values.
    pub fn minimize_widths(&mut self) -> Result<(), LctError> {
        self.widths = Widths::minimal(self.cci, self.tsi, self.toi)?;
        Ok(())
    }

    /// Parses the fixed part of a header. Checks lengths and the version; ignores the
    /// reserved bits; keeps PSI.
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &LctPacket<&T>) -> Result<Self, LctError> {
        Self::parse_bytes(packet.buffer.as_ref())
    }

    /// [`Self::parse`] on the bytes of a datagram (the header at its start).
    ///
    /// The common shape of ALC/FLUTE data packets (V = 1, C = 0, 32-bit TSI and TOI:
    /// S = 1, O = 1, H = 0) takes a fast path: the first word is read once, lengths are
    /// checked once, and CCI, TSI and TOI are fixed-width loads. Every other shape, and
    /// every error, goes through the general path, with the same results.
    #[inline]
    pub fn parse_bytes(buf: &[u8]) -> Result<Self, LctError> {
        if let Some((&head, _)) = buf.split_first_chunk::<16>() {
            let w0 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            // V = 1, C = 0 (top 6 bits of byte 0); S = 1, O = 1, H = 0 (top 4 of byte 1).
            let header_len = ((w0 >> 8) & 0xFF) as usize * 4;
            if w0 & 0xFCF0_0000 == 0x10A0_0000 && header_len >= 16 && header_len <= buf.len() {
                let word =
                    |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
                let b0 = (w0 >> 24) as u8;
                let b1 = (w0 >> 16) as u8;
                return Ok(Self {
                    widths: COMMON_WIDTHS,
                    psi: b0 & 0x3,
                    close_session: b1 & 0x02 != 0,
                    close_object: b1 & 0x01 != 0,
                    codepoint: w0 as u8,
                    cci: Cci(word(4).into()),
                    tsi: Some(Tsi(word(8).into())),
                    toi: Some(Toi(word(12).into())),
                });
            }
        }
        Self::parse_general(buf)
    }

    #[inline(never)]
    fn parse_general(buf: &[u8]) -> Result<Self, LctError> {
        let Some(&[b0, b1, hdr_len, codepoint]) = buf.first_chunk::<4>() else {
            return Err(LctError::Truncated {
                what: "LCT header",
                offset: 0,
                needed: 4,
                available: buf.len(),
            });
        };
        let widths = Widths {
            c: (b0 >> 2) & 0x3,
            s: b1 & 0x80 != 0,
            o: (b1 >> 5) & 0x3,
            h: b1 & 0x10 != 0,
        };
        let fixed = widths.fixed_len();
        if buf.len() < fixed {
            return Err(LctError::Truncated {
                what: "LCT header",
                offset: 0,
                needed: fixed,
                available: buf.len(),
            });
        }
        let header_len = usize::from(hdr_len) * 4;
        if header_len < fixed {
            return Err(LctError::HdrLenTooShort {
                hdr_len,
                min_words: fixed / 4,
            });
        }
        if header_len > buf.len() {
            return Err(LctError::HdrLenExceedsPacket {
                header_len,
                available: buf.len(),
            });
        }
        let version = b0 >> 4;
        if version != LCT_VERSION {
            return Err(LctError::UnsupportedVersion { version });
        }
        let (cci_len, tsi_len, toi_len) = (widths.cci_len(), widths.tsi_len(), widths.toi_len());
        let tsi_at = field::CCI + cci_len;
        let toi_at = tsi_at + tsi_len;
        Ok(Self {
            widths,
            psi: b0 & 0x3,
            close_session: b1 & 0x02 != 0,
            close_object: b1 & 0x01 != 0,
            codepoint,
            cci: Cci(read_be(buf, field::CCI, cci_len)),
            tsi: (tsi_len != 0).then(|| Tsi(read_be(buf, tsi_at, tsi_len) as u64)),
            toi: (toi_len != 0).then(|| Toi(read_be(buf, toi_at, toi_len))),
        })
    }

    /// Length in bytes of the header without extensions.
    pub const fn header_len(&self) -> usize {
        self.widths.fixed_len()
    }

    /// Bytes [`Self::emit`] needs.
    pub const fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Checks that every value fits its width and that presence matches the widths.
    #[inline]
    pub fn validate(&self) -> Result<(), LctError> {
        let w = self.widths;
        let bad = LctError::UnencodableWidths {
            tsi_bits: w.tsi_len() as u32 * 8,
            toi_bits: w.toi_len() as u32 * 8,
        };
        if w.c > 3 || w.o > 3 {
            return Err(bad);
        }
        if self.psi > 3 {
            return Err(LctError::ValueTooWide {
                field: "PSI",
                value: self.psi.into(),
                bits: 2,
            });
        }
        fits("CCI", self.cci.0, w.cci_len())?;
        match self.tsi {
            None if w.tsi_len() != 0 => return Err(bad),
            Some(_) if w.tsi_len() == 0 => return Err(bad),
            Some(t) => fits("TSI", t.0.into(), w.tsi_len())?,
            None => {}
        }
        match self.toi {
            None if w.toi_len() != 0 => return Err(bad),
            Some(_) if w.toi_len() == 0 => return Err(bad),
            Some(t) => fits("TOI", t.0, w.toi_len())?,
            None => {}
        }
        Ok(())
    }

    /// Writes the header, with no extensions (HDR_LEN = [`Self::header_len`] / 4), into
    /// the start of `packet`'s buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut LctPacket<&mut T>,
    ) -> Result<(), LctError> {
        self.emit_into(packet.buffer.as_mut()).map(|_| ())
    }

    /// Writes the header, with no extensions, into the start of `buf`; returns its length.
    #[inline]
    pub fn emit_into(&self, buf: &mut [u8]) -> Result<usize, LctError> {
        // Fast path: the common shape (C = 0, 32-bit TSI and TOI), values that fit, and
        // room for the 16 bytes. Anything else (errors included) takes the general path.
        if let (true, Some(tsi), Some(toi), Some(out)) = (
            self.widths == COMMON_WIDTHS && self.psi <= 3,
            self.tsi,
            self.toi,
            buf.first_chunk_mut::<16>(),
        ) {
            if (self.cci.0 | u128::from(tsi.0) | toi.0) >> 32 == 0 {
                let w0 = 0x10A0_0400
                    | (u32::from(self.psi) << 24)
                    | (u32::from(self.close_session) << 17)
                    | (u32::from(self.close_object) << 16)
                    | u32::from(self.codepoint);
                let all =
                    (u128::from(w0) << 96) | (self.cci.0 << 64) | (u128::from(tsi.0) << 32) | toi.0;
                *out = all.to_be_bytes();
                return Ok(16);
            }
        }
        self.emit_general(buf)
    }

    #[inline(never)]
    fn emit_general(&self, buf: &mut [u8]) -> Result<usize, LctError> {
        self.validate()?;
        let len = self.header_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(LctError::Truncated {
            what: "LCT header",
            offset: 0,
            needed: len,
            available,
        })?;
        let w = self.widths;
        out[field::VCP] = (LCT_VERSION << 4) | (w.c << 2) | self.psi;
        out[field::SOH] = (u8::from(w.s) << 7)
            | (w.o << 5)
            | (u8::from(w.h) << 4)
            | (u8::from(self.close_session) << 1)
            | u8::from(self.close_object);
        // len <= 4 + 16 + 6 + 14 = 40 bytes, so HDR_LEN fits in a byte.
        out[field::HDR_LEN] = (len / 4) as u8;
        out[field::CP] = self.codepoint;
        let mut at = field::CCI;
        write_be(out, at, w.cci_len(), self.cci.0);
        at += w.cci_len();
        write_be(out, at, w.tsi_len(), self.tsi.map_or(0, |t| t.0.into()));
        at += w.tsi_len();
        write_be(out, at, w.toi_len(), self.toi.map_or(0, |t| t.0));
        Ok(len)
    }
}

fn fits(field: &'static str, value: u128, len: usize) -> Result<(), LctError> {
    let bits = 8 * len as u32;
    if bits < 128 && value >> bits != 0 {
        return Err(LctError::ValueTooWide { field, value, bits });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    // RFC 5651 §5.1: V=1, C=0, PSI=0 -> 0x10; S=1, O=1, H=0, Res=0, A=0, B=0 -> 0xA0;
    // HDR_LEN = 2 + 0 + 1 + 1 + 0 = 4 words -> 0x04; CP = 0.
    // CCI = 0, TSI = 0x12345678, TOI = 0x9ABCDEF0.
    const TYPICAL: [u8; 16] = hex!("10 A0 04 00 00000000 12345678 9ABCDEF0");

    #[test]
    fn test_deconstruct_typical() {
        let p = LctPacket::new_checked(&TYPICAL[..]).unwrap();
        assert_eq!(p.version(), 1);
        assert_eq!(p.c_flag(), 0);
        assert!(p.s_flag());
        assert_eq!(p.o_flag(), 1);
        assert!(!p.h_flag());
        assert_eq!(p.hdr_len(), 4);
        assert_eq!(p.tsi(), Some(Tsi(0x1234_5678)));
        assert_eq!(p.toi(), Some(Toi(0x9ABC_DEF0)));
        assert!(p.extension_bytes().is_empty());
    }

    #[test]
    fn test_construct_typical() {
        let r = LctRepr::new(Some(Tsi(0x1234_5678)), Some(Toi(0x9ABC_DEF0)), 0).unwrap();
        assert_eq!(r.header_len(), 16);
        let mut buf = [0u8; 16];
        let mut p = LctPacket::new_unchecked(&mut buf[..]);
        r.emit(&mut p).unwrap();
        assert_eq!(buf, TYPICAL);
        let p = LctPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(LctRepr::parse(&p).unwrap(), r);
    }

    #[test]
    fn test_setters() {
        let mut buf = [0u8; 16];
        let mut p = LctPacket::new_unchecked(&mut buf[..]);
        p.set_version(1);
        p.set_widths(Widths {
            c: 0,
            s: true,
            o: 1,
            h: false,
        });
        p.set_hdr_len(4);
        p.set_tsi(Tsi(0x1234_5678));
        p.set_toi(Toi(0x9ABC_DEF0));
        p.set_close_object(true);
        p.set_close_session(true);
        p.set_close_object(false);
        p.set_close_session(false);
        assert_eq!(buf, TYPICAL);
    }

    /// The fast paths of `parse_bytes` and `emit_into` agree with the general ones, on
    /// headers near the common shape (and on everything else, which they hand over).
    #[test]
    fn fast_paths_match_general_paths() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..20_000 {
            let mut buf = [0u8; 24];
            for b in buf.iter_mut() {
                *b = next() as u8;
            }
            if i % 2 == 0 {
                // Mostly the common shape, with random PSI, Res, A, B and HDR_LEN nearby.
                buf[0] = 0x10 | (buf[0] & 0x03) | if i % 16 == 0 { 0x04 } else { 0 };
                buf[1] = 0xA0 | (buf[1] & 0x0F);
                buf[2] = 3 + (buf[2] % 5);
            }
            let len = usize::from(buf[3] % 25);
            let b = &buf[..len];
            let fast = LctRepr::parse_bytes(b);
            assert_eq!(fast, LctRepr::parse_general(b), "{b:02x?}");
            if let Ok(r) = fast {
                for out_len in [0, 15, 16, 40] {
                    let mut o1 = [0u8; 40];
                    let mut o2 = [0u8; 40];
                    let a = r.emit_into(&mut o1[..out_len]);
                    assert_eq!(a, r.emit_general(&mut o2[..out_len]));
                    assert_eq!(o1, o2);
                }
                let mut wide = r;
                wide.toi = Some(Toi(1 << 40));
                let mut o1 = [0u8; 40];
                assert_eq!(wide.emit_into(&mut o1), wide.emit_general(&mut [0u8; 40]));
            }
        }
    }

    #[test]
    fn minimal_widths() {
        // TSI 16 bits needs H = 1, so TOI 32 bits grows to 48.
        let w = Widths::minimal(Cci(0), Some(Tsi(1)), Some(Toi(0x1_0000))).unwrap();
        assert_eq!((w.tsi_len(), w.toi_len()), (4, 4));
        let w = Widths::minimal(Cci(0), Some(Tsi(1)), Some(Toi(1))).unwrap();
        assert_eq!((w.tsi_len(), w.toi_len()), (2, 2));
        let w = Widths::minimal(Cci(0), None, Some(Toi(1))).unwrap();
        assert_eq!((w.tsi_len(), w.toi_len()), (0, 4));
        let w = Widths::minimal(Cci(1 << 100), None, None).unwrap();
        assert_eq!(w.cci_len(), 16);
        assert!(Widths::minimal(Cci(0), Some(Tsi(1 << 40)), None).is_err());
        assert!(Widths::minimal(Cci(0), Some(Tsi(1 << 48)), Some(Toi(0))).is_err());
    }
}
