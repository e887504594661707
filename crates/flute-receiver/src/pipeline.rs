//! The in-order output path of one object: transport bytes -> Content-MD5 -> content
//! decoding (streaming) -> length checks -> [`ObjectWriter`].

use lct_header::ContentEncoding;
use std::io::{self, Write};

use md5::{Digest, Md5};

use crate::FailReason;
use crate::sink::{ObjectLocation, ObjectWriter, SinkError};

struct Out {
    writer: Box<dyn ObjectWriter>,
    written: u64,
    cap: u64,
    sink_error: Option<SinkError>,
    /// MD5 of the decoded content (only when there is a content encoding).
    content_md5: Option<Md5>,
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len() as u64;
        if self.written.saturating_add(n) > self.cap {
            return Err(io::Error::other("content larger than max_object_size"));
        }
        if let Some(h) = &mut self.content_md5 {
            h.update(buf);
        }
        if let Err(e) = self.writer.write(buf) {
            self.sink_error = Some(e);
            return Err(io::Error::other("sink"));
        }
        self.written += n;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Content {
    Identity(Out),
    Zlib(flate2::write::ZlibDecoder<Out>),
    Deflate(flate2::write::DeflateDecoder<Out>),
    Gzip(flate2::write::GzDecoder<Out>),
    /// Zstandard (RFC 8878), with the window bounded by
    /// [`crate::ReceiverConfig::zstd_window_log_max`].
    #[cfg(feature = "zstd")]
    Zstd(zstd::stream::write::Decoder<'static, Out>),
    /// HTTP "deflate": zlib (RFC 1950) per RFC 9110, raw DEFLATE (RFC 1951) in some senders
    /// (the `flute` crate among them). Decided on the first two bytes by
    /// [`is_zlib_header`]; held here until two bytes have arrived.
    Sniff(Out, Vec<u8>),
    Gone,
}

/// True if `cmf`, `flg` open a zlib stream (RFC 1950 §2.2): CM = 8 (deflate), CINFO <= 7
/// (window up to 32 KiB) and the FCHECK bits make `CMF·256 + FLG` a multiple of 31.
///
/// A raw DEFLATE stream (RFC 1951 §3.2.3) can only pass this test if its first block is a
/// stored, non-final block with a padding bit set (BFINAL = 0, BTYPE = 00, low nibble 8)
/// *and* the next byte happens to satisfy FCHECK: deflate encoders write zero padding, so in
/// practice the test separates the two formats.
pub(crate) fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0F == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
}

/// The content codings this receiver decodes (`zstd` only with the `zstd` feature).
pub(crate) fn supported_encoding(enc: Option<&str>) -> bool {
    match enc.map(ContentEncoding::from_token) {
        None => true,
        Some(Some(ContentEncoding::Zstd)) => cfg!(feature = "zstd"),
        Some(Some(
            ContentEncoding::Null
            | ContentEncoding::Zlib
            | ContentEncoding::Deflate
            | ContentEncoding::Gzip,
        )) => true,
        Some(_) => false,
    }
}

/// A zstd decoder writing into `out`, refusing frames whose window exceeds
/// `2^window_log_max` bytes (the decoder's memory is about the window: a hostile frame
/// header cannot make it allocate more).
#[cfg(feature = "zstd")]
fn zstd_decoder(
    out: Out,
    window_log_max: u32,
) -> Result<zstd::stream::write::Decoder<'static, Out>, FailReason> {
    let mut d = zstd::stream::write::Decoder::new(out)
        .map_err(|e| FailReason::ContentDecoding(format!("zstd: {e}")))?;
    d.window_log_max(window_log_max)
        .map_err(|e| FailReason::ContentDecoding(format!("zstd window limit: {e}")))?;
    Ok(d)
}

pub(crate) struct Pipeline {
    content: Content,
    md5: Option<(Md5, Vec<u8>)>,
    content_length: Option<u64>,
    transport_len: u64,
}

impl Pipeline {
    pub(crate) fn new(
        writer: Box<dyn ObjectWriter>,
        encoding: Option<&str>,
        md5: Option<Vec<u8>>,
        content_length: Option<u64>,
        cap: u64,
        zstd_window_log_max: u32,
    ) -> Result<Self, FailReason> {
        let coding = encoding.map(|e| (e, ContentEncoding::from_token(e)));
        let identity = matches!(coding, None | Some((_, Some(ContentEncoding::Null))));
        let out = Out {
            writer,
            written: 0,
            cap,
            sink_error: None,
            content_md5: (md5.is_some() && !identity).then(Md5::new),
        };
        // Used by the zstd decoder only.
        #[cfg(not(feature = "zstd"))]
        let _ = zstd_window_log_max;
        let content = match coding {
            None | Some((_, Some(ContentEncoding::Null))) => Content::Identity(out),
            Some((_, Some(ContentEncoding::Gzip))) => {
                Content::Gzip(flate2::write::GzDecoder::new(out))
            }
            Some((_, Some(ContentEncoding::Zlib))) => {
                Content::Zlib(flate2::write::ZlibDecoder::new(out))
            }
            // "deflate": the HTTP coding is zlib, some senders send raw DEFLATE; sniffed.
            Some((_, Some(ContentEncoding::Deflate))) => Content::Sniff(out, Vec::new()),
            #[cfg(feature = "zstd")]
            Some((_, Some(ContentEncoding::Zstd))) => {
                Content::Zstd(zstd_decoder(out, zstd_window_log_max)?)
            }
            Some((other, _)) => {
                out.writer.abort();
                return Err(FailReason::UnsupportedContentEncoding(other.to_owned()));
            }
        };
        Ok(Self {
            content,
            md5: md5.map(|m| (Md5::new(), m)),
            content_length,
            transport_len: 0,
        })
    }

    /// For an object without content encoding: takes Content-MD5 out of this pipeline
    /// (which then only writes) and returns a pipeline that only hashes, to run apart
    /// ([`crate::work`]: the hash in a job, the writes on the loop). Its `finish` checks the
    /// digest; `None` if there is no digest to check or the content is encoded.
    pub(crate) fn split_md5(&mut self) -> Option<Self> {
        if !matches!(self.content, Content::Identity(_)) {
            return None;
        }
        let md5 = self.md5.take()?;
        Some(Self {
            content: Content::Identity(Out {
                writer: Box::new(Discard),
                written: 0,
                cap: u64::MAX,
                sink_error: None,
                content_md5: None,
            }),
            md5: Some(md5),
            content_length: None,
            transport_len: 0,
        })
    }

    /// Undoes [`Self::split_md5`]: the hash state of `hash` comes back into this pipeline
    /// (an object kept for file repair goes on inline).
    pub(crate) fn merge_md5(&mut self, hash: Self) {
        if self.md5.is_none() {
            self.md5 = hash.md5;
        }
    }

    fn out_error(&self) -> Option<SinkError> {
        let out = match &self.content {
            Content::Identity(o) | Content::Sniff(o, _) => o,
            Content::Zlib(d) => d.get_ref(),
            Content::Deflate(d) => d.get_ref(),
            Content::Gzip(d) => d.get_ref(),
            #[cfg(feature = "zstd")]
            Content::Zstd(d) => d.get_ref(),
            Content::Gone => return None,
        };
        out.sink_error.clone()
    }

    fn fail(&self, e: io::Error) -> FailReason {
        match self.out_error() {
            Some(s) => FailReason::Sink(s),
            None if e.to_string().contains("max_object_size") => FailReason::TooLarge,
            None => FailReason::ContentDecoding(e.to_string()),
        }
    }

    /// Writes the next bytes of the transport object.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), FailReason> {
        self.transport_len += data.len() as u64;
        if let Some((h, _)) = &mut self.md5 {
            h.update(data);
        }
        let r = match &mut self.content {
            Content::Identity(o) => o.write_all(data),
            Content::Zlib(d) => d.write_all(data),
            Content::Deflate(d) => d.write_all(data),
            Content::Gzip(d) => d.write_all(data),
            #[cfg(feature = "zstd")]
            Content::Zstd(d) => d.write_all(data),
            Content::Sniff(_, head) => {
                head.extend_from_slice(data);
                if head.len() >= 2 {
                    let Content::Sniff(out, head) =
                        std::mem::replace(&mut self.content, Content::Gone)
                    else {
                        return Ok(());
                    };
                    if is_zlib_header(head[0], head[1]) {
                        let mut d = flate2::write::ZlibDecoder::new(out);
                        let r = d.write_all(&head);
                        self.content = Content::Zlib(d);
                        r
                    } else {
                        let mut d = flate2::write::DeflateDecoder::new(out);
                        let r = d.write_all(&head);
                        self.content = Content::Deflate(d);
                        r
                    }
                } else {
                    Ok(())
                }
            }
            Content::Gone => Ok(()),
        };
        r.map_err(|e| self.fail(e))
    }

    /// Finishes the object: checks MD5 and Content-Length and commits, or aborts.
    pub(crate) fn finish(mut self) -> Result<(ObjectLocation, u64), FailReason> {
        let content = std::mem::replace(&mut self.content, Content::Gone);
        let finished = match content {
            Content::Identity(o) => Ok(o),
            Content::Zlib(d) => d.finish(),
            Content::Deflate(d) => d.finish(),
            Content::Gzip(d) => d.finish(),
            // `finish` fails with UnexpectedEof unless the data ends on a complete frame.
            #[cfg(feature = "zstd")]
            Content::Zstd(d) => d.finish(),
            Content::Sniff(mut o, head) => {
                // Fewer than two bytes cannot be a valid zlib or deflate stream.
                if head.is_empty() {
                    Ok(o)
                } else {
                    let _ = o.write_all(&[]);
                    o.writer.abort();
                    return Err(FailReason::ContentDecoding(
                        "truncated deflate stream".into(),
                    ));
                }
            }
            Content::Gone => return Err(FailReason::ContentDecoding("internal".into())),
        };
        let out = match finished {
            Ok(o) => o,
            Err(e) => {
                // The decoder (and the writer in it) is gone; nothing was committed, and
                // dropping the writer without commit leaves at most a temp file, which the
                // sink's abort would remove. Report the failure.
                return Err(FailReason::ContentDecoding(e.to_string()));
            }
        };
        if let Some((h, want)) = self.md5.take() {
            // RFC 6726 leaves open whether Content-MD5 covers the transport object or the
            // content before encoding (HTTP/RFC 1864 reading vs. common senders): with a
            // content encoding, either digest is accepted.
            let got = h.finalize();
            let content = out.content_md5.clone().map(Md5::finalize);
            let ok = got.as_slice() == want.as_slice()
                || content.is_some_and(|c| c.as_slice() == want.as_slice());
            if !ok {
                out.writer.abort();
                return Err(FailReason::Md5Mismatch);
            }
        }
        if let Some(cl) = self.content_length {
            if cl != out.written {
                out.writer.abort();
                return Err(FailReason::ContentLengthMismatch {
                    expected: cl,
                    actual: out.written,
                });
            }
        }
        let written = out.written;
        match out.writer.commit() {
            Ok(loc) => Ok((loc, written)),
            Err(SinkError::Md5Mismatch) => Err(FailReason::Md5Mismatch),
            Err(e) => Err(FailReason::Sink(e)),
        }
    }

    /// Discards the object.
    pub(crate) fn abort(mut self) {
        match std::mem::replace(&mut self.content, Content::Gone) {
            Content::Identity(o) | Content::Sniff(o, _) => o.writer.abort(),
            Content::Zlib(d) => abort_inner(d.finish()),
            Content::Deflate(d) => abort_inner(d.finish()),
            Content::Gzip(d) => abort_inner(d.finish()),
            #[cfg(feature = "zstd")]
            Content::Zstd(d) => d.into_inner().writer.abort(),
            Content::Gone => {}
        }
    }
}

/// The writer of a hash-only pipeline ([`Pipeline::split_md5`]).
struct Discard;

impl ObjectWriter for Discard {
    fn write(&mut self, _: &[u8]) -> Result<(), SinkError> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        Ok(ObjectLocation::Other(String::new()))
    }
    fn abort(self: Box<Self>) {}
}

fn abort_inner(r: io::Result<Out>) {
    if let Ok(o) = r {
        o.writer.abort();
    }
}

impl From<SinkError> for FailReason {
    fn from(e: SinkError) -> Self {
        Self::Sink(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write as _;

    use super::*;
    use crate::sink::{MemorySink, ObjectMeta, ObjectSink};
    use crate::{Endpoint, SessionId};

    fn content() -> Vec<u8> {
        (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    fn pipeline(encoding: &str) -> Pipeline {
        pipeline_with(encoding, 23)
    }

    fn pipeline_with(encoding: &str, zstd_window_log_max: u32) -> Pipeline {
        let meta = ObjectMeta {
            session: SessionId {
                endpoint: Endpoint::default(),
                tsi: lct_header::Tsi(1),
            },
            toi: lct_header::Toi(1),
            content_location: "x".into(),
            content_type: None,
            content_length: None,
            content_md5: None,
        };
        let w = MemorySink.open(&meta).unwrap();
        Pipeline::new(w, Some(encoding), None, None, 1 << 30, zstd_window_log_max).unwrap()
    }

    /// Feeds `wire` in pieces of `step` bytes, returns the delivered content.
    fn run(encoding: &str, wire: &[u8], step: usize) -> Result<Vec<u8>, FailReason> {
        let mut p = pipeline(encoding);
        for c in wire.chunks(step) {
            p.write(c)?;
        }
        match p.finish()? {
            (ObjectLocation::Memory(b), n) => {
                assert_eq!(n, b.len() as u64);
                Ok(b.to_vec())
            }
            other => panic!("{other:?}"),
        }
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn deflate_accepts_zlib_rfc1950() {
        let c = content();
        let z = zlib(&c);
        assert!(is_zlib_header(z[0], z[1]));
        for step in [1, 2, 3, 1400, z.len()] {
            assert_eq!(run("deflate", &z, step).unwrap(), c, "step {step}");
        }
    }

    #[test]
    fn deflate_falls_back_to_raw_rfc1951() {
        let c = content();
        // Level 0 (stored blocks), fast (fixed/dynamic Huffman) and best.
        for level in [0, 1, 6, 9] {
            let r = raw(&c, level);
            assert!(!is_zlib_header(r[0], r[1]), "level {level}");
            for step in [1, 2, 1400, r.len()] {
                assert_eq!(
                    run("Deflate", &r, step).unwrap(),
                    c,
                    "level {level} step {step}"
                );
            }
        }
    }

    #[test]
    fn zlib_header_check() {
        // The usual zlib headers (fastest, default, best compression; 32 KiB window).
        for (cmf, flg) in [(0x78, 0x01), (0x78, 0x5E), (0x78, 0x9C), (0x78, 0xDA)] {
            assert!(is_zlib_header(cmf, flg), "{cmf:#x} {flg:#x}");
        }
        // FCHECK wrong, CM != 8, CINFO > 7.
        assert!(!is_zlib_header(0x78, 0x9D));
        assert!(!is_zlib_header(0x79, 0x9C));
        assert!(!is_zlib_header(0x88, 0x1C)); // (0x88·256 + 0x1C) % 31 == 0, CINFO = 8
        // Raw DEFLATE first bytes: stored final block (0x01), fixed Huffman (0x?3/0x?B),
        // dynamic Huffman (0x?5/0x?D).
        for b0 in [0x01u8, 0x00, 0x03, 0x0B, 0x4B, 0x05, 0x0D, 0xED, 0xEC] {
            for b1 in 0..=255u8 {
                assert!(!is_zlib_header(b0, b1), "{b0:#x} {b1:#x}");
            }
        }
    }

    #[test]
    fn deflate_corrupt_or_truncated_fails() {
        let c = content();
        let r = raw(&c, 6);
        assert!(matches!(
            run("deflate", &r[..r.len() / 2], 1400),
            Err(FailReason::ContentDecoding(_))
        ));
        let z = zlib(&c);
        assert!(matches!(
            run("deflate", &z[..z.len() - 2], 1400),
            Err(FailReason::ContentDecoding(_))
        ));
        // One byte cannot be a complete stream of either kind.
        assert!(matches!(
            run("deflate", &z[..1], 1),
            Err(FailReason::ContentDecoding(_))
        ));
        // An empty transport object is empty content.
        assert_eq!(run("deflate", &[], 1).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn zlib_label_does_not_sniff() {
        // "zlib" (outside HTTP) means RFC 1950 only: raw DEFLATE under it fails.
        let r = raw(&content(), 6);
        assert!(run("zlib", &r, 1400).is_err());
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_streams_in_pieces() {
        let c = content();
        for level in [1, 3, 19] {
            let z = zstd::encode_all(&c[..], level).unwrap();
            for step in [1, 7, 1400, z.len()] {
                assert_eq!(
                    run("zstd", &z, step).unwrap(),
                    c,
                    "level {level} step {step}"
                );
            }
        }
        // Two frames back to back are one content (RFC 8878 §3.1).
        let mut two = zstd::encode_all(&c[..100], 3).unwrap();
        two.extend(zstd::encode_all(&c[100..], 3).unwrap());
        assert_eq!(run("ZSTD", &two, 1400).unwrap(), c);
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_truncated_or_corrupt_fails() {
        let c = content();
        let z = zstd::encode_all(&c[..], 3).unwrap();
        assert!(matches!(
            run("zstd", &z[..z.len() - 3], 1400),
            Err(FailReason::ContentDecoding(_))
        ));
        let mut bad = z.clone();
        bad[0] ^= 0xFF; // magic number
        assert!(matches!(
            run("zstd", &bad, 1400),
            Err(FailReason::ContentDecoding(_))
        ));
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_window_above_the_limit_fails() {
        // A frame compressed with a 16 MiB window (2^24) against the default limit of
        // 2^23: refused before the decoder allocates the window.
        let c: Vec<u8> = (0..(20u32 << 20) / 4)
            .flat_map(|i| (i % 7919).to_le_bytes())
            .collect();
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.window_log(24).unwrap();
        e.include_contentsize(false).unwrap();
        e.write_all(&c).unwrap();
        let z = e.finish().unwrap();
        assert!(matches!(
            run("zstd", &z, 1 << 16),
            Err(FailReason::ContentDecoding(_))
        ));
        // The same frame passes with a limit of 2^24.
        let mut p = pipeline_with("zstd", 24);
        for piece in z.chunks(1 << 16) {
            p.write(piece).unwrap();
        }
        assert_eq!(p.finish().unwrap().1, c.len() as u64);
    }

    #[test]
    fn zstd_support_follows_the_feature() {
        assert_eq!(supported_encoding(Some("zstd")), cfg!(feature = "zstd"));
        assert!(!supported_encoding(Some("br")));
    }
}
