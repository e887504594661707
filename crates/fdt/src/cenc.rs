//! Content encoding of FDT payloads (EXT_CENC, RFC 6726 §3.4.3 [UNV: section number]):
//! bounded inflation for receivers and the matching compression for senders.

use std::io::Read;

use flate2::Compression;

use crate::FdtError;

pub use lct_header::ContentEncoding;

/// The content encoding of an EXT_CENC code point (bad input 20: codes above 3 are
/// [`FdtError::UnknownCenc`]). The enum is `lct-header`'s, the one the EXT_CENC extension
/// carries: one type for the code on the wire and for the codec here.
pub fn content_encoding_from_cenc(code: u8) -> Result<ContentEncoding, FdtError> {
    ContentEncoding::from_u8(code).ok_or(FdtError::UnknownCenc(code))
}

/// Maps a `Content-Encoding` attribute value to an encoding this crate can decode.
///
/// Accepted (ASCII case-insensitive, surrounding whitespace ignored): `identity` →
/// [`ContentEncoding::Null`], `gzip` and `x-gzip` → [`ContentEncoding::Gzip`], `deflate` →
/// [`ContentEncoding::Zlib`] (the HTTP `deflate` coding is the zlib format, RFC 9110
/// §8.4.1.2), `zlib` → [`ContentEncoding::Zlib`]. Anything else is
/// [`FdtError::UnknownContentEncoding`] (bad input 55).
pub fn content_encoding_from_attribute(value: &str) -> Result<ContentEncoding, FdtError> {
    match ContentEncoding::from_token(value) {
        Some(ContentEncoding::Deflate) => Ok(ContentEncoding::Zlib),
        Some(c @ (ContentEncoding::Null | ContentEncoding::Zlib | ContentEncoding::Gzip))
            if !value.trim().is_empty() =>
        {
            Ok(c)
        }
        _ => Err(FdtError::UnknownContentEncoding {
            value: crate::error::clip(value),
        }),
    }
}

/// Decodes a content-encoded FDT payload, producing at most `max_output` bytes.
///
/// A stream that would inflate beyond `max_output` is rejected with
/// [`FdtError::DecompressedTooLarge`] after at most `max_output + 1` bytes were produced, so
/// a decompression bomb costs bounded memory and time. Corrupt streams (bad header, bad
/// checksum or CRC, truncation) and trailing bytes after the stream are
/// [`FdtError::Decompress`].
pub fn inflate(cenc: ContentEncoding, data: &[u8], max_output: usize) -> Result<Vec<u8>, FdtError> {
    let cap = u64::try_from(max_output)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let corrupt = |e: std::io::Error| FdtError::Decompress {
        cenc,
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let rest: &[u8] = match cenc {
        ContentEncoding::Null => {
            if data.len() > max_output {
                return Err(FdtError::DecompressedTooLarge { limit: max_output });
            }
            return Ok(data.to_vec());
        }
        ContentEncoding::Zlib => {
            let mut d = flate2::bufread::ZlibDecoder::new(data);
            (&mut d).take(cap).read_to_end(&mut out).map_err(corrupt)?;
            d.into_inner()
        }
        ContentEncoding::Deflate => {
            let mut d = flate2::bufread::DeflateDecoder::new(data);
            (&mut d).take(cap).read_to_end(&mut out).map_err(corrupt)?;
            d.into_inner()
        }
        ContentEncoding::Gzip => {
            let mut d = flate2::bufread::GzDecoder::new(data);
            (&mut d).take(cap).read_to_end(&mut out).map_err(corrupt)?;
            d.into_inner()
        }
        other => {
            return Err(FdtError::Decompress {
                cenc: other,
                message: "not an EXT_CENC encoding (RFC 6726 §3.4.3)".into(),
            });
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
pub fn compress(cenc: ContentEncoding, data: &[u8]) -> Result<Vec<u8>, FdtError> {
    let level = Compression::default();
    let err = |e: std::io::Error| FdtError::Decompress {
        cenc,
        message: e.to_string(),
    };
    let mut out = Vec::new();
    match cenc {
        ContentEncoding::Null => out.extend_from_slice(data),
        ContentEncoding::Zlib => {
            flate2::bufread::ZlibEncoder::new(data, level)
                .read_to_end(&mut out)
                .map_err(err)?;
        }
        ContentEncoding::Deflate => {
            flate2::bufread::DeflateEncoder::new(data, level)
                .read_to_end(&mut out)
                .map_err(err)?;
        }
        ContentEncoding::Gzip => {
            flate2::bufread::GzEncoder::new(data, level)
                .read_to_end(&mut out)
                .map_err(err)?;
        }
        other => {
            return Err(FdtError::Decompress {
                cenc: other,
                message: "not an EXT_CENC encoding (RFC 6726 §3.4.3)".into(),
            });
        }
    }
    Ok(out)
}
