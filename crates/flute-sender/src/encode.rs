//! Content encoding (zlib/deflate/gzip, optional zstd) and Content-MD5, applied at insert
//! time by reading the source in fixed-size chunks.

use std::io::{self, Write};

use md5::{Digest, Md5};

use crate::{ContentEncoding, ObjectSource};

const CHUNK: usize = 64 * 1024;

/// What a scan of the source produced: the encoded bytes (if encoding) and the MD5 (if asked).
pub(crate) type Scanned = (Option<Vec<u8>>, Option<[u8; 16]>);

/// Reads the whole source chunk by chunk: optionally encodes it and computes its MD5.
/// Returns (encoded bytes if `enc` is not Null, MD5 if asked).
pub(crate) fn scan(
    source: &mut dyn ObjectSource,
    enc: ContentEncoding,
    md5: bool,
) -> io::Result<Scanned> {
    let len = source.len();
    let mut hasher = md5.then(Md5::new);
    let mut w = match enc {
        ContentEncoding::Null => None,
        e => Some(Encoder::new(e)?),
    };
    let mut buf = vec![0u8; CHUNK.min(usize::try_from(len).unwrap_or(CHUNK))];
    let mut off = 0u64;
    while off < len {
        let n = buf
            .len()
            .min(usize::try_from(len - off).unwrap_or(usize::MAX));
        let chunk = &mut buf[..n];
        source.read_at(off, chunk)?;
        if let Some(h) = hasher.as_mut() {
            h.update(&*chunk);
        }
        if let Some(w) = w.as_mut() {
            w.write(chunk)?;
        }
        off += n as u64;
    }
    let encoded = match w {
        Some(w) => Some(w.finish()?),
        None => None,
    };
    Ok((encoded, hasher.map(|h| h.finalize().into())))
}

enum Encoder {
    Null(Vec<u8>),
    Zlib(flate2::write::ZlibEncoder<Vec<u8>>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl Encoder {
    fn new(enc: ContentEncoding) -> io::Result<Self> {
        let level = flate2::Compression::default();
        Ok(match enc {
            ContentEncoding::Null => Self::Null(Vec::new()),
            // Objects: HTTP `deflate` is the zlib format (RFC 9110 §8.4.1.2), which is how
            // receivers (and the `fdt` crate) read a File's Content-Encoding="deflate".
            ContentEncoding::Zlib | ContentEncoding::Deflate => {
                Self::Zlib(flate2::write::ZlibEncoder::new(Vec::new(), level))
            }
            ContentEncoding::Gzip => Self::Gzip(flate2::write::GzEncoder::new(Vec::new(), level)),
            #[cfg(feature = "zstd")]
            ContentEncoding::Zstd => Self::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3)?),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        "Content-Encoding {} is not built into this sender (cargo feature)",
                        other.token().unwrap_or("?")
                    ),
                ));
            }
        })
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Self::Null(v) => {
                v.extend_from_slice(data);
                Ok(())
            }
            Self::Zlib(w) => w.write_all(data),
            Self::Gzip(w) => w.write_all(data),
            #[cfg(feature = "zstd")]
            Self::Zstd(w) => w.write_all(data),
        }
    }

    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Self::Null(v) => Ok(v),
            Self::Zlib(w) => w.finish(),
            Self::Gzip(w) => w.finish(),
            #[cfg(feature = "zstd")]
            Self::Zstd(w) => w.finish(),
        }
    }
}
