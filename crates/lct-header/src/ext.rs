//! LCT header extensions (RFC 5651 §5.2) and the typed extensions used by ALC and FLUTE.
//!
//! Wire format:
//! - HET 0..=127: `HET (8) | HEL (8) | body`, HEL = total length in 32-bit words (so
//!   HEL = 0 is invalid);
//! - HET 128..=255: `HET (8) | body (24)`, always 32 bits.

use crate::LctError;
use crate::packet::LctRepr;

/// Header extension type field (the first byte of every extension).
pub const HET: usize = 0;
/// Header extension length field of variable-length extensions (HET < 128), in 32-bit words.
pub const HEL: usize = 1;

/// EXT_NOP, no-operation extension (RFC 5651 §5.2.1).
pub const EXT_NOP: u8 = 0;
/// EXT_AUTH, packet authentication (RFC 5651 §5.2.1; formats in RFC 5776).
pub const EXT_AUTH: u8 = 1;
/// EXT_TIME, time information (RFC 5651 §5.2.2).
pub const EXT_TIME: u8 = 2;
/// EXT_FTI, FEC Object Transmission Information (RFC 5775 §5.2).
pub const EXT_FTI: u8 = 64;
/// EXT_FDT, FDT instance header (RFC 6726 §3.4.1).
pub const EXT_FDT: u8 = 192;
/// EXT_CENC, FDT instance content encoding (RFC 6726 §3.4.3).
pub const EXT_CENC: u8 = 193;

/// One header extension, undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawExtension<'a> {
    bytes: &'a [u8],
}

impl<'a> RawExtension<'a> {
    /// Checks that `bytes` is exactly one well-formed extension.
    pub fn new(bytes: &'a [u8]) -> Result<Self, LctError> {
        let mut it = Extensions::new(bytes);
        match it.next() {
            Some(Ok(e)) if e.bytes.len() == bytes.len() => Ok(e),
            Some(Err(e)) => Err(e),
            Some(Ok(e)) => Err(LctError::ExtensionLength {
                het: e.het(),
                len: bytes.len(),
                expected: e.bytes.len(),
            }),
            None => Err(LctError::Truncated {
                what: "header extension",
                offset: 0,
                needed: 4,
                available: 0,
            }),
        }
    }

    /// Header extension type.
    #[inline]
    pub fn het(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    /// The whole extension, HET (and HEL) included. Hand this to an FEC scheme's EXT_FTI
    /// reader.
    #[inline]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The content after HET and HEL (HET < 128) or after HET (HET >= 128).
    #[inline]
    pub fn body(&self) -> &'a [u8] {
        let skip = if self.het() < 128 { 2 } else { 1 };
        self.bytes.get(skip..).unwrap_or(&[])
    }

    /// Decodes the extension as a [`HeaderExtension`].
    pub fn decode(&self) -> Result<HeaderExtension<'a>, LctError> {
        HeaderExtension::decode(*self)
    }
}

/// Iterator over the header extensions of an extension area (RFC 5651 §5.2).
///
/// Yields `Err` once on a malformed extension (HEL = 0, an extension running past the
/// area, a fixed-size extension in the last 1–3 bytes) and then stops.
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    area: &'a [u8],
    offset: usize,
}

impl<'a> Extensions<'a> {
    /// Iterates over the extensions in `area` (the bytes between TOI and HDR_LEN * 4).
    pub const fn new(area: &'a [u8]) -> Self {
        Self { area, offset: 0 }
    }

    /// Offset of the next extension in the area.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    fn fail(&mut self, e: LctError) -> Option<Result<RawExtension<'a>, LctError>> {
        self.offset = self.area.len();
        Some(Err(e))
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Result<RawExtension<'a>, LctError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.area.get(self.offset..)?;
        let &het = rest.first()?;
        let len = if het >= 128 {
            4
        } else {
            match rest.get(1) {
                None => {
                    return self.fail(LctError::Truncated {
                        what: "header extension",
                        offset: self.offset,
                        needed: 2,
                        available: rest.len(),
                    });
                }
                Some(0) => {
                    return self.fail(LctError::ZeroHel {
                        het,
                        offset: self.offset,
                    });
                }
                // Widen before multiplying: HEL up to 255 words = 1020 bytes.
                Some(&hel) => usize::from(hel) * 4,
            }
        };
        match rest.get(..len) {
            Some(bytes) => {
                self.offset += len;
                Some(Ok(RawExtension { bytes }))
            }
            None => self.fail(LctError::ExtensionOverrun {
                het,
                offset: self.offset,
                needed: len,
                available: rest.len(),
            }),
        }
    }
}

/// EXT_TIME (RFC 5651 §5.2.2): `HET=2 | HEL | Use (16) | values`.
///
/// The Use field is numbered as in the RFC diagram, bit 0 being the most significant:
/// bit 0 SCT-High (0x8000), bit 1 SCT-Low (0x4000), bit 2 ERT (0x2000), bit 3 SLC
/// (0x1000), bits 4–7 reserved (0x0F00), bits 8–15 PI-specific (0x00FF). One 32-bit value
/// follows per flag set among bits 0–3, in that order, so HEL = 1 + their number.
/// Reserved bits are kept but never interpreted; they add no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExtTime {
    /// High 32 bits of the Sender Current Time (NTP format).
    pub sct_high: Option<u32>,
    /// Low 32 bits of the Sender Current Time (NTP fraction).
    pub sct_low: Option<u32>,
    /// Expected Residual Time, in seconds.
    pub ert: Option<u32>,
    /// Session Last Changed (NTP seconds).
    pub slc: Option<u32>,
    /// The reserved bits 4–7 of Use (as a 4-bit value). Sent as 0; ignored on receipt.
    pub reserved: u8,
    /// Protocol-instantiation-specific bits 8–15 of Use.
    pub pi_specific: u8,
}

impl ExtTime {
    const FLAGS: [u16; 4] = [0x8000, 0x4000, 0x2000, 0x1000];

    fn values(&self) -> [Option<u32>; 4] {
        [self.sct_high, self.sct_low, self.ert, self.slc]
    }

    /// Length of the encoded extension in bytes.
    pub fn len(&self) -> usize {
        4 + 4 * self.values().iter().flatten().count()
    }

    /// Always false: EXT_TIME is at least 4 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Decodes an EXT_TIME extension.
    pub fn decode(raw: RawExtension<'_>) -> Result<Self, LctError> {
        expect_het(raw, EXT_TIME)?;
        let b = raw.bytes();
        let use_ = u16::from_be_bytes([get(b, 2), get(b, 3)]);
        let n = Self::FLAGS.iter().filter(|&&f| use_ & f != 0).count();
        let expected = 4 + 4 * n;
        if b.len() != expected {
            return Err(LctError::ExtensionLength {
                het: EXT_TIME,
                len: b.len(),
                expected,
            });
        }
        let mut vals = [None; 4];
        let mut at = 4;
        for (slot, flag) in vals.iter_mut().zip(Self::FLAGS) {
            if use_ & flag != 0 {
                *slot = Some(u32::from_be_bytes([
                    get(b, at),
                    get(b, at + 1),
                    get(b, at + 2),
                    get(b, at + 3),
                ]));
                at += 4;
            }
        }
        Ok(Self {
            sct_high: vals[0],
            sct_low: vals[1],
            ert: vals[2],
            slc: vals[3],
            reserved: ((use_ >> 8) & 0x0F) as u8,
            pi_specific: (use_ & 0xFF) as u8,
        })
    }

    /// Encodes into the start of `out`; returns the length.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, LctError> {
        if self.reserved > 0x0F {
            return Err(LctError::ValueTooWide {
                field: "EXT_TIME reserved",
                value: self.reserved.into(),
                bits: 4,
            });
        }
        let len = self.len();
        let out = out_slice(out, len, "EXT_TIME")?;
        let mut use_ = (u16::from(self.reserved) << 8) | u16::from(self.pi_specific);
        let mut at = 4;
        for (v, flag) in self.values().into_iter().zip(Self::FLAGS) {
            if let Some(v) = v {
                use_ |= flag;
                out[at..at + 4].copy_from_slice(&v.to_be_bytes());
                at += 4;
            }
        }
        out[0] = EXT_TIME;
        out[1] = (len / 4) as u8;
        out[2..4].copy_from_slice(&use_.to_be_bytes());
        Ok(len)
    }
}

/// The largest FDT Instance ID plus one: the ID is 20 bits and wraps (RFC 6726 §3.4.1).
pub const FDT_INSTANCE_ID_MODULUS: u32 = 1 << 20;

/// EXT_FDT (RFC 6726 §3.4.1): `HET=192 | V (4) | FDT Instance ID (20)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtFdt {
    /// FLUTE version: 2 for RFC 6726, 1 for RFC 3926. Decoding accepts only these.
    pub version: u8,
    /// FDT Instance ID, 20 bits.
    pub instance_id: u32,
}

impl ExtFdt {
    /// Encoded length in bytes.
    pub const LEN: usize = 4;

    /// Decodes an EXT_FDT extension. Rejects V other than 1 or 2 (catalogue item 18).
    pub fn decode(raw: RawExtension<'_>) -> Result<Self, LctError> {
        expect_het(raw, EXT_FDT)?;
        let b = raw.bytes();
        let word = u32::from_be_bytes([get(b, 0), get(b, 1), get(b, 2), get(b, 3)]);
        let version = ((word >> 20) & 0xF) as u8;
        if !(1..=2).contains(&version) {
            return Err(LctError::InvalidValue {
                field: "EXT_FDT V",
                value: version.into(),
            });
        }
        Ok(Self {
            version,
            instance_id: word & (FDT_INSTANCE_ID_MODULUS - 1),
        })
    }

    /// Encodes into the start of `out`; returns 4.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, LctError> {
        if self.version > 0xF {
            return Err(LctError::ValueTooWide {
                field: "EXT_FDT V",
                value: self.version.into(),
                bits: 4,
            });
        }
        if self.instance_id >= FDT_INSTANCE_ID_MODULUS {
            return Err(LctError::ValueTooWide {
                field: "FDT Instance ID",
                value: self.instance_id.into(),
                bits: 20,
            });
        }
        let out = out_slice(out, Self::LEN, "EXT_FDT")?;
        let word = (u32::from(EXT_FDT) << 24) | (u32::from(self.version) << 20) | self.instance_id;
        out.copy_from_slice(&word.to_be_bytes());
        Ok(Self::LEN)
    }
}

/// True when FDT Instance ID `a` is newer than `b`, using 20-bit serial number
/// arithmetic (in the manner of RFC 1982), so that 0 is newer than 0xFFFFF after a wrap.
/// IDs exactly 2^19 apart are not ordered (false both ways). Inputs are reduced mod 2^20.
pub const fn fdt_instance_newer(a: u32, b: u32) -> bool {
    let m = FDT_INSTANCE_ID_MODULUS;
    let d = a.wrapping_sub(b) & (m - 1);
    d != 0 && d < m / 2
}

/// A content encoding: the one type the workspace uses for EXT_CENC on FDT instances
/// (RFC 6726 §3.4.3) and for the `Content-Encoding` of objects (RFC 6726 §3.4.2).
///
/// RFC 6726 gives EXT_CENC four values (0-3); [`Self::Zstd`] has none and is for objects
/// only (outside RFC 6726 and the 3GPP profile). [`Self::Deflate`] is raw DEFLATE (RFC
/// 1951) as EXT_CENC value 2; as an object's `Content-Encoding="deflate"` it is the HTTP
/// `deflate` coding, which is the zlib format (RFC 9110 §8.4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ContentEncoding {
    /// 0: no encoding.
    #[default]
    Null,
    /// 1: ZLIB (RFC 1950).
    Zlib,
    /// 2: DEFLATE (RFC 1951).
    Deflate,
    /// 3: GZIP (RFC 1952).
    Gzip,
    /// Zstandard (RFC 8878): objects only; no EXT_CENC value.
    Zstd,
}

impl ContentEncoding {
    /// The EXT_CENC value, `None` for [`Self::Zstd`], which has none.
    pub const fn cenc_code(self) -> Option<u8> {
        match self {
            Self::Null => Some(0),
            Self::Zlib => Some(1),
            Self::Deflate => Some(2),
            Self::Gzip => Some(3),
            Self::Zstd => None,
        }
    }

    /// Decodes an EXT_CENC value; `None` for values RFC 6726 does not define.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Null),
            1 => Some(Self::Zlib),
            2 => Some(Self::Deflate),
            3 => Some(Self::Gzip),
            _ => None,
        }
    }

    /// The encoding a `Content-Encoding` attribute value names (ASCII case-insensitive,
    /// surrounding whitespace ignored): empty or `identity`, `zlib`, `deflate`, `gzip` or
    /// `x-gzip`, `zstd`. `None` for any other value.
    pub fn from_token(value: &str) -> Option<Self> {
        let v = value.trim();
        let is = |t: &str| v.eq_ignore_ascii_case(t);
        if v.is_empty() || is("identity") {
            Some(Self::Null)
        } else if is("zlib") {
            Some(Self::Zlib)
        } else if is("deflate") {
            Some(Self::Deflate)
        } else if is("gzip") || is("x-gzip") {
            Some(Self::Gzip)
        } else if is("zstd") {
            Some(Self::Zstd)
        } else {
            None
        }
    }

    /// The `Content-Encoding` attribute value that names this encoding, `None` for
    /// [`Self::Null`] (no attribute).
    pub const fn token(self) -> Option<&'static str> {
        match self {
            Self::Null => None,
            Self::Zlib => Some("zlib"),
            Self::Deflate => Some("deflate"),
            Self::Gzip => Some("gzip"),
            Self::Zstd => Some("zstd"),
        }
    }
}

/// EXT_CENC (RFC 6726 §3.4.3): `HET=193 | CENC (8) | Reserved (16)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtCenc {
    /// The content encoding of the FDT instance.
    pub encoding: ContentEncoding,
}

impl ExtCenc {
    /// Encoded length in bytes.
    pub const LEN: usize = 4;

    /// Decodes an EXT_CENC extension. Rejects unknown CENC values (catalogue item 20);
    /// ignores the reserved bits.
    pub fn decode(raw: RawExtension<'_>) -> Result<Self, LctError> {
        expect_het(raw, EXT_CENC)?;
        let cenc = get(raw.bytes(), 1);
        let encoding = ContentEncoding::from_u8(cenc).ok_or(LctError::InvalidValue {
            field: "CENC",
            value: cenc.into(),
        })?;
        Ok(Self { encoding })
    }

    /// Encodes into the start of `out` (reserved bits 0); returns 4. An encoding without
    /// an EXT_CENC value ([`ContentEncoding::Zstd`]) is [`LctError::InvalidValue`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, LctError> {
        // 256: outside the 8-bit field, i.e. "no CENC value".
        let code = self.encoding.cenc_code().ok_or(LctError::InvalidValue {
            field: "CENC",
            value: 256,
        })?;
        let out = out_slice(out, Self::LEN, "EXT_CENC")?;
        out.copy_from_slice(&[EXT_CENC, code, 0, 0]);
        Ok(Self::LEN)
    }
}

/// A header extension in typed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderExtension<'a> {
    /// EXT_NOP (HET 0): the body after HET/HEL, to be ignored. Its length must be a
    /// multiple of 4 minus 2.
    Nop(&'a [u8]),
    /// EXT_AUTH (HET 1): the body after HET/HEL, opaque here.
    Auth(&'a [u8]),
    /// EXT_TIME (HET 2).
    Time(ExtTime),
    /// EXT_FTI (HET 64): the whole extension, HET and HEL included, for the FEC scheme
    /// (this crate does not know the per-scheme layouts).
    Fti(&'a [u8]),
    /// EXT_FDT (HET 192).
    Fdt(ExtFdt),
    /// EXT_CENC (HET 193).
    Cenc(ExtCenc),
    /// Any other extension, kept raw.
    Unknown(RawExtension<'a>),
}

impl<'a> HeaderExtension<'a> {
    /// Decodes a raw extension. Unknown types become [`HeaderExtension::Unknown`].
    pub fn decode(raw: RawExtension<'a>) -> Result<Self, LctError> {
        Ok(match raw.het() {
            EXT_NOP => Self::Nop(raw.body()),
            EXT_AUTH => Self::Auth(raw.body()),
            EXT_TIME => Self::Time(ExtTime::decode(raw)?),
            EXT_FTI => Self::Fti(raw.bytes()),
            EXT_FDT => Self::Fdt(ExtFdt::decode(raw)?),
            EXT_CENC => Self::Cenc(ExtCenc::decode(raw)?),
            _ => Self::Unknown(raw),
        })
    }

    /// The header extension type.
    pub fn het(&self) -> u8 {
        match self {
            Self::Nop(_) => EXT_NOP,
            Self::Auth(_) => EXT_AUTH,
            Self::Time(_) => EXT_TIME,
            Self::Fti(_) => EXT_FTI,
            Self::Fdt(_) => EXT_FDT,
            Self::Cenc(_) => EXT_CENC,
            Self::Unknown(r) => r.het(),
        }
    }

    /// Encoded length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Self::Nop(b) | Self::Auth(b) => 2 + b.len(),
            Self::Time(t) => t.len(),
            Self::Fti(b) => b.len(),
            Self::Fdt(_) => ExtFdt::LEN,
            Self::Cenc(_) => ExtCenc::LEN,
            Self::Unknown(r) => r.bytes().len(),
        }
    }

    /// Always false: every extension is at least 4 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Encodes into the start of `out`; returns the length. Checks that variable-length
    /// extensions are a whole number (1..=255) of 32-bit words.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, LctError> {
        match self {
            Self::Nop(body) | Self::Auth(body) => {
                let len = 2 + body.len();
                check_var_len(self.het(), len)?;
                let dst = out_slice(out, len, "header extension")?;
                dst[0] = self.het();
                dst[1] = (len / 4) as u8;
                dst[2..].copy_from_slice(body);
                Ok(len)
            }
            Self::Time(t) => t.encode(out),
            Self::Fti(bytes) => copy_raw(bytes, out, Some(EXT_FTI)),
            Self::Fdt(f) => f.encode(out),
            Self::Cenc(c) => c.encode(out),
            Self::Unknown(r) => copy_raw(r.bytes(), out, None),
        }
    }
}

fn copy_raw(bytes: &[u8], out: &mut [u8], het: Option<u8>) -> Result<usize, LctError> {
    let raw = RawExtension::new(bytes)?;
    if let Some(expected) = het {
        expect_het(raw, expected)?;
    }
    let dst = out_slice(out, bytes.len(), "header extension")?;
    dst.copy_from_slice(bytes);
    Ok(bytes.len())
}

fn check_var_len(het: u8, len: usize) -> Result<(), LctError> {
    if len % 4 != 0 || len > 255 * 4 {
        return Err(LctError::ExtensionLength {
            het,
            len,
            expected: len.next_multiple_of(4).min(255 * 4),
        });
    }
    Ok(())
}

fn expect_het(raw: RawExtension<'_>, expected: u8) -> Result<(), LctError> {
    if raw.het() == expected {
        Ok(())
    } else {
        Err(LctError::WrongHet {
            expected,
            found: raw.het(),
        })
    }
}

#[inline]
fn get(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

fn out_slice<'o>(
    out: &'o mut [u8],
    len: usize,
    what: &'static str,
) -> Result<&'o mut [u8], LctError> {
    let available = out.len();
    out.get_mut(..len).ok_or(LctError::Truncated {
        what,
        offset: 0,
        needed: len,
        available,
    })
}

/// Writes an LCT header with header extensions into a caller's buffer, without
/// allocating. HDR_LEN is updated after every extension.
///
/// ```
/// use lct_header::{ExtFdt, HeaderExtension, LctRepr, LctWriter, Toi, Tsi};
/// let repr = LctRepr::new(Some(Tsi(1)), Some(Toi(0)), 0)?;
/// let mut buf = [0u8; 64];
/// let mut w = LctWriter::new(&repr, &mut buf)?;
/// w.push(&HeaderExtension::Fdt(ExtFdt { version: 2, instance_id: 7 }))?;
/// let len = w.finish();
/// assert_eq!(len, repr.header_len() + 4);
/// # Ok::<(), lct_header::LctError>(())
/// ```
#[derive(Debug)]
pub struct LctWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> LctWriter<'b> {
    /// Writes the fixed part of `repr` into the start of `buf`.
    #[inline]
    pub fn new(repr: &LctRepr, buf: &'b mut [u8]) -> Result<Self, LctError> {
        let len = repr.emit_into(buf)?;
        Ok(Self { buf, len })
    }

    /// Current header length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false: the fixed part is at least 8 bytes.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn grow(&mut self, n: usize) -> Result<(), LctError> {
        let new = self.len + n;
        if new > 255 * 4 {
            return Err(LctError::ValueTooWide {
                field: "HDR_LEN",
                value: (new / 4) as u128,
                bits: 8,
            });
        }
        self.len = new;
        if let Some(b) = self.buf.get_mut(2) {
            *b = (new / 4) as u8;
        }
        Ok(())
    }

    /// Appends a typed extension.
    pub fn push(&mut self, ext: &HeaderExtension<'_>) -> Result<(), LctError> {
        let n = ext.encode(self.spare_mut())?;
        self.grow(n)
    }

    /// Appends one extension already checked by [`RawExtension::new`] (e.g. an EXT_FTI
    /// encoded once per object): the same as writing its bytes at [`Self::spare_mut`]
    /// and calling [`Self::commit`], without parsing them again.
    #[inline]
    pub fn push_raw(&mut self, ext: RawExtension<'_>) -> Result<(), LctError> {
        let bytes = ext.bytes();
        let n = bytes.len();
        let available = self.buf.len().saturating_sub(self.len);
        let dst = self
            .buf
            .get_mut(self.len..self.len + n)
            .ok_or(LctError::Truncated {
                what: "header extension",
                offset: self.len,
                needed: n,
                available,
            })?;
        dst.copy_from_slice(bytes);
        self.grow(n)
    }

    /// The unused rest of the buffer, where an extension can be written in place (e.g. by
    /// an FEC scheme's EXT_FTI writer) before [`Self::commit`].
    #[inline]
    pub fn spare_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(self.len..).unwrap_or(&mut [])
    }

    /// Accepts `n` bytes written at the start of [`Self::spare_mut`] as one or more
    /// extensions, after checking that they parse exactly.
    pub fn commit(&mut self, n: usize) -> Result<(), LctError> {
        let area = self
            .buf
            .get(self.len..self.len + n)
            .ok_or(LctError::Truncated {
                what: "header extension",
                offset: self.len,
                needed: n,
                available: self.buf.len().saturating_sub(self.len),
            })?;
        if n % 4 != 0 {
            return Err(LctError::ExtensionLength {
                het: area.first().copied().unwrap_or(0),
                len: n,
                expected: n.next_multiple_of(4),
            });
        }
        for e in Extensions::new(area) {
            e?;
        }
        self.grow(n)
    }

    /// Finishes the header and returns its length in bytes (HDR_LEN * 4).
    #[inline]
    pub fn finish(self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn ext_time_vector() {
        // RFC 5651 §5.2.2: HET=2, HEL=3, Use = SCT-High | ERT (0xA000), then the two values.
        let b = hex!("02 03 A000 11223344 00000E10");
        let raw = RawExtension::new(&b).unwrap();
        let t = ExtTime::decode(raw).unwrap();
        assert_eq!(t.sct_high, Some(0x1122_3344));
        assert_eq!(t.sct_low, None);
        assert_eq!(t.ert, Some(3600));
        let mut out = [0u8; 12];
        assert_eq!(t.encode(&mut out).unwrap(), 12);
        assert_eq!(out, b);
    }

    #[test]
    fn ext_fdt_vector() {
        // RFC 6726 §3.4.1: HET=192, V=2, FDT Instance ID = 0x12345.
        let b = hex!("C0 2 12345");
        let f = ExtFdt::decode(RawExtension::new(&b).unwrap()).unwrap();
        assert_eq!(
            f,
            ExtFdt {
                version: 2,
                instance_id: 0x12345
            }
        );
        let mut out = [0u8; 4];
        f.encode(&mut out).unwrap();
        assert_eq!(out, b);
    }

    #[test]
    fn ext_cenc_vector() {
        // RFC 6726 §3.4.3: HET=193, CENC=3 (GZIP), reserved 0.
        let b = hex!("C1 03 0000");
        let c = ExtCenc::decode(RawExtension::new(&b).unwrap()).unwrap();
        assert_eq!(c.encoding, ContentEncoding::Gzip);
    }

    #[test]
    fn fdt_newer() {
        assert!(fdt_instance_newer(1, 0));
        assert!(!fdt_instance_newer(0, 1));
        assert!(fdt_instance_newer(0, 0xF_FFFF));
        assert!(!fdt_instance_newer(5, 5));
        assert!(!fdt_instance_newer(1 << 19, 0));
        assert!(!fdt_instance_newer(0, 1 << 19));
    }
}
