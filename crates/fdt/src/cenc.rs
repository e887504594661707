//! Content encoding of FDT payloads (EXT_CENC, RFC 6726 §3.4.3 [UNV: section number]):
//! bounded inflation for receivers and the matching compression for senders.

use std::io::Read;

use flate2::Compression;

use crate::FdtError;

/// The EXT_CENC content encoding algorithm of an FDT Instance payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cenc {
    /// 0: no encoding.
    Null,
    /// 1: ZLIB (RFC 1950).
    Zlib,
    /// 2: DEFLATE (RFC 1951).
    Deflate,
    /// 3: GZIP (RFC 1952).
    Gzip,
}

impl Cenc {
    /// The EXT_CENC code point.
    pub fn code(self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Zlib => 1,
            Self::Deflate => 2,
            Self::Gzip => 3,
        }
    }

    /// The encoding of an EXT_CENC code point (bad input 20: codes above 3 are rejected).
    pub fn from_code(code: u8) -> Result<Self, FdtError> {
        match code {
            0 => Ok(Self::Null),
            1 => Ok(Self::Zlib),
            2 => Ok(Self::Deflate),
            3 => Ok(Self::Gzip),
            other => Err(FdtError::UnknownCenc(other)),
        }
    }

    /// Maps a `Content-Encoding` attribute value to an encoding this crate can decode.
    ///
    /// Accepted (ASCII case-insensitive, surrounding whitespace ignored): `identity` →
    /// [`Cenc::Null`], `gzip` and `x-gzip` → [`Cenc::Gzip`], `deflate` → [`Cenc::Zlib`]
    /// (the HTTP `deflate` coding is the zlib format, RFC 9110 §8.4.1.2), `zlib` →
    /// [`Cenc::Zlib`]. Anything else is [`FdtError::UnknownContentEncoding`] (bad input 55).
    pub fn from_content_encoding(value: &str) -> Result<Self, FdtError> {
        let v = value.trim().to_ascii_lowercase();
        match v.as_str() {
            "identity" => Ok(Self::Null),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            "deflate" | "zlib" => Ok(Self::Zlib),
            _ => Err(FdtError::UnknownContentEncoding {
                value: crate::error::clip(value),
            }),
        }
    }
}

/// Decodes a content-encoded FDT payload, producing at most `max_output` bytes.
///
/// A stream that would inflate beyond `max_output` is rejected with
/// [`FdtError::DecompressedTooLarge`] after at most `max_output + 1` bytes were produced, so
/// a decompression bomb costs bounded memory and time. Corrupt streams (bad header, bad
/// checksum or CRC, truncation) and trailing bytes after the stream are
/// [`FdtError::Decompress`].
pub fn inflate(cenc: Cenc, data: &[u8], max_output: usize) -> Result<Vec<u8>, FdtError> {
    let cap = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let corrupt = |e: std::io::Error| FdtError::Decompress {
        cenc,
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let rest: &[u8] = match cenc {
        Cenc::Null => {
            if data.len() > max_output {
                return Err(FdtError::DecompressedTooLarge { limit: max_output });
            }
            return Ok(data.to_vec());
        }
        Cenc::Zlib => {
            let mut d = flate2::bufread::ZlibDecoder::new(data);
            (&mut d).take(cap).read_to_end(&mut out).map_err(corrupt)?;
            d.into_inner()
        }
        Cenc::Deflate => {
            let mut d = flate2::bufread::DeflateDecoder::new(data);
            (&mut d).take(cap).read_to_end(&mut out).map_err(corrupt)?;
            d.into_inner()
        }
        Cenc::Gzip => {
            let mut d = flate2::bufread::GzDecoder::new(data);
            (&mut d).take(cap).read_to_end(&mut out).map_err(corrupt)?;
            d.into_inner()
        }
    };
    if out.len() > max_output {
        return Err(FdtError::DecompressedTooLarge { limit: max_output });
    }
    if !rest.is_empty() {
        return Err(FdtError::Decompress {
            cenc,
            message: format!("{} trailing bytes", rest.len()),
        });
    }
    Ok(out)
}

/// Encodes an FDT payload for sending with the given EXT_CENC (default compression level).
pub fn compress(cenc: Cenc, data: &[u8]) -> Result<Vec<u8>, FdtError> {
    let level = Compression::default();
    let err = |e: std::io::Error| FdtError::Decompress {
        cenc,
        message: e.to_string(),
    };
    let mut out = Vec::new();
    match cenc {
        Cenc::Null => out.extend_from_slice(data),
        Cenc::Zlib => {
            flate2::bufread::ZlibEncoder::new(data, level)
                .read_to_end(&mut out)
                .map_err(err)?;
        }
        Cenc::Deflate => {
            flate2::bufread::DeflateEncoder::new(data, level)
                .read_to_end(&mut out)
                .map_err(err)?;
        }
        Cenc::Gzip => {
            flate2::bufread::GzEncoder::new(data, level)
                .read_to_end(&mut out)
                .map_err(err)?;
        }
    }
    Ok(out)
}
