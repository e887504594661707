//! The in-order output path of one object: transport bytes -> Content-MD5 -> content
//! decoding (streaming) -> length checks -> [`ObjectWriter`].

use std::io::{self, Write};

use md5::{Digest, Md5};

use crate::FailReason;
use crate::sink::{ObjectLocation, ObjectWriter, SinkError};

struct Out {
    writer: Box<dyn ObjectWriter>,
    written: u64,
    cap: u64,
    sink_error: Option<String>,
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
            self.sink_error = Some(e.to_string());
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
    /// HTTP "deflate": zlib (RFC 1950) per RFC 9110, raw deflate in some senders. Decided on
    /// the first two bytes.
    Sniff(Out, Vec<u8>),
    Gone,
}

/// The content codings this receiver decodes.
pub(crate) fn supported_encoding(enc: Option<&str>) -> bool {
    matches!(
        enc.map(str::to_ascii_lowercase).as_deref(),
        None | Some("" | "identity" | "gzip" | "x-gzip" | "zlib" | "deflate")
    )
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
    ) -> Result<Self, FailReason> {
        let identity = matches!(
            encoding.map(str::to_ascii_lowercase).as_deref(),
            None | Some("" | "identity")
        );
        let out = Out {
            writer,
            written: 0,
            cap,
            sink_error: None,
            content_md5: (md5.is_some() && !identity).then(Md5::new),
        };
        let content = match encoding.map(str::to_ascii_lowercase).as_deref() {
            None | Some("" | "identity") => Content::Identity(out),
            Some("gzip" | "x-gzip") => Content::Gzip(flate2::write::GzDecoder::new(out)),
            Some("zlib") => Content::Zlib(flate2::write::ZlibDecoder::new(out)),
            Some("deflate") => Content::Sniff(out, Vec::new()),
            Some(other) => {
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

    fn out_error(&self) -> Option<String> {
        let out = match &self.content {
            Content::Identity(o) | Content::Sniff(o, _) => o,
            Content::Zlib(d) => d.get_ref(),
            Content::Deflate(d) => d.get_ref(),
            Content::Gzip(d) => d.get_ref(),
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
            Content::Sniff(_, head) => {
                head.extend_from_slice(data);
                if head.len() >= 2 {
                    let Content::Sniff(out, head) =
                        std::mem::replace(&mut self.content, Content::Gone)
                    else {
                        return Ok(());
                    };
                    let cmf = u16::from(head[0]);
                    let flg = u16::from(head[1]);
                    let zlib = cmf & 0x0F == 8 && (cmf * 256 + flg) % 31 == 0;
                    if zlib {
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
            Err(e) => Err(FailReason::Sink(e.to_string())),
        }
    }

    /// Discards the object.
    pub(crate) fn abort(mut self) {
        match std::mem::replace(&mut self.content, Content::Gone) {
            Content::Identity(o) | Content::Sniff(o, _) => o.writer.abort(),
            Content::Zlib(d) => abort_inner(d.finish()),
            Content::Deflate(d) => abort_inner(d.finish()),
            Content::Gzip(d) => abort_inner(d.finish()),
            Content::Gone => {}
        }
    }
}

fn abort_inner(r: io::Result<Out>) {
    if let Ok(o) = r {
        o.writer.abort();
    }
}

impl From<SinkError> for FailReason {
    fn from(e: SinkError) -> Self {
        Self::Sink(e.to_string())
    }
}
