//! Objects handed to the sender: where the bytes come from and how they are described.

use lct_header::ContentEncoding;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use fec_schemes::Oti;

use crate::Toi;

/// Random access to an object's bytes. The sender reads one source block at a time, when
/// the block's turn comes, so a multi-GiB file is never loaded whole.
pub trait ObjectSource: Send {
    /// Total length of the object in bytes.
    fn len(&self) -> u64;

    /// True for a zero-length object.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Returns the bytes at `offset..offset + len`. The default reads them into a new
    /// buffer; in-memory sources return a zero-copy slice.
    fn read_block(&mut self, offset: u64, len: usize) -> io::Result<Bytes> {
        let mut v = vec![0; len];
        self.read_at(offset, &mut v)?;
        Ok(Bytes::from(v))
    }
}

impl ObjectSource for Bytes {
    fn len(&self) -> u64 {
        Self::len(self) as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let src = slice_range(self, offset, buf.len())?;
        buf.copy_from_slice(&self[src]);
        Ok(())
    }

    fn read_block(&mut self, offset: u64, len: usize) -> io::Result<Bytes> {
        let r = slice_range(self, offset, len)?;
        Ok(self.slice(r))
    }
}

fn slice_range(b: &Bytes, offset: u64, len: usize) -> io::Result<std::ops::Range<usize>> {
    let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
    let end = start.checked_add(len).ok_or(io::ErrorKind::UnexpectedEof)?;
    if end > b.len() {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(start..end)
}

/// An [`ObjectSource`] over any `Read + Seek` (a file, a cursor...). The length is taken
/// once, at construction, by seeking to the end.
#[derive(Debug)]
pub struct ReadSeekSource<R> {
    inner: R,
    len: u64,
}

impl<R: Read + Seek> ReadSeekSource<R> {
    /// Wraps `inner`, measuring its length.
    pub fn new(mut inner: R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Ok(Self { inner, len })
    }
}

impl<R: Read + Seek + Send> ObjectSource for ReadSeekSource<R> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(offset))?;
        self.inner.read_exact(buf)
    }

    /// Reads into a new buffer that is not zeroed first (`read_to_end` into its spare
    /// capacity), one pass over the bytes fewer than the default.
    fn read_block(&mut self, offset: u64, len: usize) -> io::Result<Bytes> {
        let want = u64::try_from(len).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        if offset.checked_add(want).is_none_or(|end| end > self.len) {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.inner.seek(SeekFrom::Start(offset))?;
        let mut v = Vec::with_capacity(len);
        (&mut self.inner).take(want).read_to_end(&mut v)?;
        if v.len() != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(Bytes::from(v))
    }
}

/// How many repair symbols to send per source block, on top of the source symbols.
/// Always capped by what the scheme can produce (`esi_limit − k`); No-Code has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Repair {
    /// No repair symbols.
    #[default]
    None,
    /// This many repair symbols per block.
    Count(u32),
    /// `ceil(k * percent / 100)` repair symbols for a block of `k` source symbols.
    Percent(u32),
}

impl Repair {
    pub(crate) fn symbols(self, k: u32) -> u32 {
        match self {
            Self::None => 0,
            Self::Count(n) => n,
            Self::Percent(p) => {
                let r = (u64::from(k) * u64::from(p)).div_ceil(100);
                u32::try_from(r).unwrap_or(u32::MAX)
            }
        }
    }
}

/// How often an object is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Carousel {
    /// Send the object `times` times (at least once), `interval` between the starts of two
    /// passes. The close-object flag goes on the last packet of the last pass.
    Times {
        /// Number of passes (0 counts as 1).
        times: u32,
        /// Minimum time between the starts of two passes.
        interval: Duration,
    },
    /// Repeat until [`crate::Sender::remove_object`] or [`crate::Sender::close`] (which
    /// finishes the current pass and then sets the close-object flag).
    UntilRemoved {
        /// Minimum time between the starts of two passes.
        interval: Duration,
    },
}

impl Default for Carousel {
    fn default() -> Self {
        Self::Times {
            times: 1,
            interval: Duration::ZERO,
        }
    }
}

/// How the FEC OTI of an object is chosen.
#[derive(Clone)]
#[non_exhaustive]
pub enum FecChoice {
    /// Compact No-Code with the sender's default symbol length and block length.
    Default,
    /// This OTI, with the transfer length replaced by the object's.
    Template(Oti),
    /// A function from transfer length to OTI, for schemes whose parameters depend on it
    /// (e.g. the number of source blocks of RaptorQ).
    Builder(Arc<dyn Fn(u64) -> Oti + Send + Sync>),
}

impl fmt::Debug for FecChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("Default"),
            Self::Template(o) => f.debug_tuple("Template").field(o).finish(),
            Self::Builder(_) => f.write_str("Builder(..)"),
        }
    }
}

/// 3GPP `Cache-Control` on a File entry (TS 26.346, mbms2007 namespace).
pub use fdt::CacheControl;

/// An object to send, with its FDT description and transmission parameters.
///
/// ```
/// use bytes::Bytes;
/// use flute_sender::{Object, Repair};
/// let obj = Object::from_bytes("http://example.com/a.txt", Bytes::from_static(b"hello"))
///     .content_type("text/plain")
///     .repair(Repair::Percent(10))
///     .priority(3);
/// # let _ = obj;
/// ```
pub struct Object {
    pub(crate) source: Box<dyn ObjectSource>,
    pub(crate) content_location: String,
    pub(crate) content_type: Option<String>,
    pub(crate) toi: Option<Toi>,
    pub(crate) fec: FecChoice,
    pub(crate) repair: Repair,
    pub(crate) encoding: ContentEncoding,
    pub(crate) md5: bool,
    /// The Content-MD5 digest given by the caller ([`Object::content_md5_value`]).
    pub(crate) md5_value: Option<[u8; 16]>,
    pub(crate) cache_control: Option<CacheControl>,
    pub(crate) etag: Option<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) priority: u8,
    pub(crate) carousel: Carousel,
    pub(crate) interleave: u32,
    pub(crate) deadline: Option<Instant>,
    /// Created by [`Object::stream`]: the bytes come through [`crate::Sender::write_stream`].
    pub(crate) stream: bool,
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Object")
            .field("content_location", &self.content_location)
            .field("len", &self.source.len())
            .field("toi", &self.toi)
            .field("fec", &self.fec)
            .field("priority", &self.priority)
            .finish_non_exhaustive()
    }
}

impl Object {
    /// An object held in memory. Blocks are zero-copy slices of `data`.
    pub fn from_bytes(content_location: impl Into<String>, data: Bytes) -> Self {
        Self::from_source(content_location, Box::new(data))
    }

    /// An object read from `source` block by block while it is sent.
    pub fn from_source(content_location: impl Into<String>, source: Box<dyn ObjectSource>) -> Self {
        Self {
            source,
            content_location: content_location.into(),
            content_type: None,
            toi: None,
            fec: FecChoice::Default,
            repair: Repair::None,
            encoding: ContentEncoding::Null,
            md5: false,
            md5_value: None,
            cache_control: None,
            etag: None,
            groups: Vec::new(),
            priority: 0,
            carousel: Carousel::default(),
            interleave: 1,
            deadline: None,
            stream: false,
        }
    }

    /// An object of unknown length, such as a pipe or a growing file: its bytes are handed
    /// over with [`crate::Sender::write_stream`] and its end with
    /// [`crate::Sender::finish_stream`], when the length becomes known.
    ///
    /// Until then the object is not in the FDT, and the source symbols whose place does
    /// not depend on the length ([`fec_schemes::FecScheme::length_independent_prefix`]) go
    /// out as they fill, without EXT_FTI. At the end the object enters a new FDT Instance
    /// with its length, and its passes then go as for any object, EXT_FTI and close-object
    /// flag included, so a receiver that ignored the early symbols still receives it (see
    /// `docs/conformance/flute-sender.md`, "Objects of unknown length").
    ///
    /// The OTI is fixed when the object is inserted: [`Self::fec`] as given, or
    /// [`Self::fec_with`] called with length 0, and the transfer length filled in at the
    /// end. Content-Encoding is refused (it needs the whole object before the first
    /// symbol); Content-MD5 is allowed and computed at the end. The sender keeps the bytes
    /// in memory (its carousel and FEC need them).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::{Instant, SystemTime};
    /// use flute_sender::{AnchoredClock, Object, Sender, SenderConfig, Tsi};
    /// let now = Instant::now();
    /// let clock = Arc::new(AnchoredClock::new(now, SystemTime::UNIX_EPOCH));
    /// let mut sender = Sender::new(SenderConfig::new(Tsi(1), clock))?;
    /// let toi = sender.insert_object(Object::stream("live.log"), now)?;
    /// sender.write_stream(toi, b"first line\n")?;
    /// sender.write_stream(toi, b"second line\n")?;
    /// sender.finish_stream(toi, now)?; // the length is known now: 23 bytes
    /// # Ok::<(), flute_sender::SendError>(())
    /// ```
    pub fn stream(content_location: impl Into<String>) -> Self {
        let mut o = Self::from_bytes(content_location, Bytes::new());
        o.stream = true;
        o
    }

    /// FDT `Content-Type`.
    pub fn content_type(mut self, ct: impl Into<String>) -> Self {
        self.content_type = Some(ct.into());
        self
    }

    /// Uses this TOI instead of an allocated one (1..2^112).
    pub fn toi(mut self, toi: Toi) -> Self {
        self.toi = Some(toi);
        self
    }

    /// Uses `oti` (the transfer length is filled in by the sender). Any scheme in the
    /// sender's registry works.
    pub fn fec(mut self, oti: Oti) -> Self {
        self.fec = FecChoice::Template(oti);
        self
    }

    /// Builds the OTI from the transfer length (after content encoding).
    pub fn fec_with(mut self, f: impl Fn(u64) -> Oti + Send + Sync + 'static) -> Self {
        self.fec = FecChoice::Builder(Arc::new(f));
        self
    }

    /// Repair symbols per block.
    pub fn repair(mut self, repair: Repair) -> Self {
        self.repair = repair;
        self
    }

    /// Content-Encoding applied by the sender before FEC (the source is read once, in
    /// chunks, at insert time; the encoded object is kept in memory).
    pub fn content_encoding(mut self, enc: ContentEncoding) -> Self {
        self.encoding = enc;
        self
    }

    /// Computes and publishes `Content-MD5` (RFC 6726 §3.4.2) over the content (before
    /// content encoding). Reads the source once at insert time.
    pub fn content_md5(mut self, on: bool) -> Self {
        self.md5 = on;
        if !on {
            self.md5_value = None;
        }
        self
    }

    /// Publishes `Content-MD5` (RFC 6726 §3.4.2) with a digest the caller already has: the
    /// MD5 of the content, before content encoding, exactly what [`Self::content_md5`]
    /// would compute (the caller answers for it: receivers discard an object whose digest
    /// does not match). The sender then does not read the source to hash it, so a caller
    /// can hash while it reads the file, or keep the digest from an earlier transfer.
    /// Ignored for an object of unknown length ([`Self::stream`]), whose digest the sender
    /// computes once the content is complete.
    pub fn content_md5_value(mut self, digest: [u8; 16]) -> Self {
        self.md5 = true;
        self.md5_value = Some(digest);
        self
    }

    /// 3GPP `Cache-Control` (Mbms profile only; ignored otherwise).
    pub fn cache_control(mut self, cc: CacheControl) -> Self {
        self.cache_control = Some(cc);
        self
    }

    /// 3GPP `File-ETag` (Mbms profile only; ignored otherwise).
    pub fn etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }

    /// 3GPP `Group` (Mbms profile only; ignored otherwise).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.groups.push(group.into());
        self
    }

    /// Priority queue: a higher value pre-empts a lower one (default 0), packet by
    /// packet: once the FDT Instance announcing it is out, a new higher-priority object's
    /// packets go before any further packet of lower-priority objects (carousel passes
    /// included), at the same paced rate.
    pub fn priority(mut self, p: u8) -> Self {
        self.priority = p;
        self
    }

    /// Carousel mode.
    pub fn carousel(mut self, c: Carousel) -> Self {
        self.carousel = c;
        self
    }

    /// A deadline for live data (issue 17 §2): from `at` on (on the caller's clock, as the
    /// `now` of [`crate::Sender::poll_transmit`]), none of the object's remaining packets
    /// is sent, whatever its carousel; it leaves the FDT at the next FDT Instance, and
    /// counts in [`crate::SenderStats::objects_expired`] with a
    /// [`crate::SenderEvent::ObjectExpired`]. An object that was sent completely before
    /// its deadline is not counted.
    pub fn deadline(mut self, at: Instant) -> Self {
        self.deadline = Some(at);
        self
    }

    /// Number of source blocks sent interleaved, symbol by symbol (default 1: block after
    /// block). Costs `factor` blocks of memory.
    pub fn interleave(mut self, factor: u32) -> Self {
        self.interleave = factor.max(1);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ReadSeekSource::read_block` (no zeroed buffer) gives the bytes `read_at` gives, and
    /// a block past the end is an `UnexpectedEof` error, never a short block or a panic.
    #[test]
    fn read_seek_source_read_block_matches_read_at_and_refuses_past_the_end() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let mut src = ReadSeekSource::new(io::Cursor::new(data.clone())).unwrap();
        for (off, len) in [
            (0u64, 0usize),
            (0, 10_000),
            (1, 1436),
            (8_564, 1436),
            (9_999, 1),
        ] {
            let got = src.read_block(off, len).unwrap();
            let mut want = vec![0; len];
            src.read_at(off, &mut want).unwrap();
            assert_eq!(&got[..], &want[..], "{off}+{len}");
            assert_eq!(&got[..], &data[off as usize..off as usize + len]);
        }
        for (off, len) in [(8_565u64, 1436usize), (10_000, 1), (u64::MAX, 2)] {
            let err = src.read_block(off, len).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{off}+{len}");
        }
    }
}
