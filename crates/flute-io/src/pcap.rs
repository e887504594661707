//! Capture files as a packet source and sink.
//!
//! - [`PcapWriter`] writes classic pcap (nanosecond timestamps, link type Ethernet) with
//!   Ethernet, IPv4 or IPv6, and UDP headers filled in, checksums included (RFC 791 header
//!   checksum, RFC 768 / RFC 8200 §8.1 UDP checksum over the pseudo-header). The file and
//!   record headers are serialised by `pcap-file`, the frames built by `etherparse`'s
//!   `PacketBuilder`.
//! - [`PcapReader`] reads classic pcap (µs or ns, either byte order) and pcapng (SHB, IDB
//!   with `if_tsresol`, EPB, SPB, the obsolete PB; several interfaces, each with its link
//!   type and resolution), with link types Ethernet (up to two VLAN tags), Linux cooked
//!   capture v1 and v2, raw IP and BSD null/loop. Records are parsed by `pcap-file` (2.x),
//!   frames by `etherparse` (0.16); what those crates do not cover is hand-written and says
//!   so where it is. Fragmented UDP datagrams (IPv4, and IPv6 with a Fragment header) are
//!   reassembled, within the bounds documented in `reassembly.rs` (64 datagrams in
//!   progress, 65 535 bytes each, 60 s of capture time; overlapping fragments discard the
//!   datagram, RFC 5722). Anything else that is not a UDP datagram is skipped; everything
//!   is counted in [`ReadStats`].
//!
//! The reader never panics on any byte input and never allocates more than
//! [`MAX_RECORD`] bytes for one record: the record length is checked here before
//! `pcap-file` sees the record (its own `PcapReader`/`PcapNgReader` are not used: they
//! allocate a fixed 8 MB buffer and report an over-long record as a truncated file).
//! A capture cut in the middle of a record is an `UnexpectedEof` error from
//! [`PcapReader::next_datagram`] after every datagram before the cut was returned.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use byteorder_slice::{BigEndian, ByteOrder, LittleEndian};
use etherparse::{
    EtherType, Ethernet2Slice, IpHeaders, IpNumber, IpSlice, Ipv4Header, Ipv6ExtensionSlice,
    PacketBuilder, PacketBuilderStep, SingleVlanSlice, UdpHeader, UdpSlice,
};
use pcap_file::pcap::{PcapHeader, PcapParser, RawPcapPacket};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser, RawBlock};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::reassembly::{FragKey, Fragment, Pushed, Reassembler};

/// Largest record (pcap packet or pcapng block) the reader accepts.
pub const MAX_RECORD: usize = 16 << 20;

const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_RAW_OLD: u32 = 12;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_IPV6: u32 = 229;
const LINKTYPE_LINUX_SLL2: u32 = 276;

/// pcapng block types (pcapng draft §4).
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

/// Interfaces (IDBs) accepted in one pcapng section.
const MAX_INTERFACES: usize = 4096;

/// How much the reader asks of the underlying reader at once, at most (the buffer starts
/// at 16 KiB, doubles up to this, and grows past it only for a larger record, up to
/// [`MAX_RECORD`]).
const READ_CHUNK: usize = 256 << 10;

/// One UDP datagram taken from, or written to, a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedDatagram {
    /// Capture time since the Unix epoch (`None` for pcapng simple packet blocks).
    pub ts: Option<Duration>,
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
}

// ---------------------------------------------------------------------------------------
// Writing

/// The Internet checksum (RFC 1071) of `parts`, folded, as it is put on the wire.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in part.iter() {
            match odd.take() {
                Some(hi) => sum += u64::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u64::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn mac_for(ip: IpAddr, host: u8) -> [u8; 6] {
    match ip {
        // RFC 1112 §6.4: 01:00:5e + low 23 bits of the group.
        IpAddr::V4(a) if a.is_multicast() => {
            let o = a.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        // RFC 2464 §7: 33:33 + low 32 bits of the group.
        IpAddr::V6(a) if a.is_multicast() => {
            let o = a.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
        // Locally administered unicast addresses, one per side.
        _ => [0x02, 0, 0, 0, 0, host],
    }
}

fn invalid_input(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

/// Builds an Ethernet frame carrying `payload` in UDP from `src` to `dst` (same family),
/// with valid IPv4 header and UDP checksums. `ip_id` fills the IPv4 Identification field
/// (the Don't Fragment flag is set); `ttl` is the IPv4 TTL or the IPv6 hop limit.
pub fn build_udp_frame(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
    ip_id: u16,
    ttl: u8,
) -> io::Result<Vec<u8>> {
    let builder = udp_frame_builder(src, dst, payload.len(), ip_id, ttl)?;
    let mut f = Vec::with_capacity(builder.size(payload.len()));
    builder
        .write(&mut f, payload)
        .map_err(|e| invalid_input(e.to_string()))?;
    Ok(f)
}

/// The Ethernet + IP + UDP headers of [`build_udp_frame`] for a payload of `payload_len`
/// bytes; every length is checked here, so writing it can only fail in the writer.
fn udp_frame_builder(
    src: SocketAddr,
    dst: SocketAddr,
    payload_len: usize,
    ip_id: u16,
    ttl: u8,
) -> io::Result<PacketBuilderStep<UdpHeader>> {
    let eth = PacketBuilder::ethernet2(mac_for(src.ip(), 1), mac_for(dst.ip(), 2));
    let udp_len = payload_len + 8;
    let builder = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            if udp_len + Ipv4Header::MIN_LEN > usize::from(u16::MAX) {
                return Err(invalid_input("datagram too large for IPv4"));
            }
            // Ipv4Header::new sets DF; the builder fills in the lengths and the checksum.
            let mut ip = Ipv4Header::new(0, ttl, IpNumber::UDP, s.octets(), d.octets())
                .map_err(|e| invalid_input(e.to_string()))?;
            ip.identification = ip_id;
            eth.ip(IpHeaders::Ipv4(ip, Default::default()))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            if udp_len > usize::from(u16::MAX) {
                return Err(invalid_input("datagram too large (jumbograms unsupported)"));
            }
            eth.ipv6(s.octets(), d.octets(), ttl)
        }
        _ => {
            return Err(invalid_input(
                "source and destination of different IP families",
            ));
        }
    };
    Ok(builder.udp(src.port(), dst.port()))
}

fn pcap_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        e => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
    }
}

/// Writes UDP datagrams to a classic pcap file (nanosecond resolution, Ethernet,
/// little-endian).
///
/// The headers are serialised by `pcap-file`; its `PcapWriter` is not used because it
/// gives no access to the inner writer, so [`PcapWriter::flush`] could not be offered.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    ip_id: u16,
    packets: u64,
    /// The frame being written, kept from packet to packet.
    frame: Vec<u8>,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let f = File::create(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        })?;
        Self::new(BufWriter::with_capacity(1 << 20, f))
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `w`.
    pub fn new(mut w: W) -> io::Result<Self> {
        PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: 262_144,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::Little,
        }
        .write_to(&mut w)
        .map_err(pcap_io)?;
        Ok(Self {
            w,
            ip_id: 1,
            packets: 0,
            frame: Vec::new(),
        })
    }

    /// Appends one UDP datagram captured at `ts` (since the Unix epoch).
    pub fn write_udp(
        &mut self,
        ts: Duration,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        // The frame is built in a buffer kept from packet to packet: no allocation per
        // packet (the same bytes as `write_frame(ts, &build_udp_frame(..))`).
        let builder = udp_frame_builder(src, dst, payload.len(), self.ip_id, 64)?;
        let mut frame = std::mem::take(&mut self.frame);
        frame.clear();
        let built = builder
            .write(&mut frame, payload)
            .map_err(|e| invalid_input(e.to_string()));
        let written = built.and_then(|()| self.write_frame(ts, &frame));
        self.frame = frame;
        written?;
        self.ip_id = self.ip_id.wrapping_add(1);
        Ok(())
    }

    /// Appends one raw Ethernet frame (for tests that need malformed frames). A time past
    /// 2106 (the 32-bit seconds field) is written as the largest one.
    pub fn write_frame(&mut self, ts: Duration, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len()).map_err(|_| invalid_input("frame too large"))?;
        RawPcapPacket {
            ts_sec: u32::try_from(ts.as_secs()).unwrap_or(u32::MAX),
            ts_frac: ts.subsec_nanos(),
            incl_len: len,
            orig_len: len,
            data: Cow::Borrowed(frame),
        }
        .write_to::<_, LittleEndian>(&mut self.w)
        .map_err(pcap_io)?;
        self.packets += 1;
        Ok(())
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flushes buffered records to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// Counters kept while reading a capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Link-layer frames seen.
    pub frames: u64,
    /// UDP datagrams returned.
    pub udp: u64,
    /// Frames that were not IPv4/IPv6 UDP (ARP, TCP, ICMP, unknown link types, ...).
    pub not_udp: u64,
    /// IP fragments of UDP datagrams seen (each fragment once).
    pub fragments: u64,
    /// UDP datagrams rebuilt from fragments (also counted in `udp`).
    pub reassembled: u64,
    /// Fragmented datagrams given up on: overlapping or invalid fragments, too large, too
    /// old, evicted by newer ones, or still incomplete at the end of the capture.
    pub reassembly_failed: u64,
    /// Frames cut short by the snap length or malformed headers.
    pub malformed: u64,
}

/// The capture's format, with `pcap-file`'s parser for it.
enum Format {
    Classic {
        parser: PcapParser,
        linktype: u32,
    },
    Ng {
        parser: PcapNgParser,
        /// Per interface of the current section: (link type, timestamp ticks per second).
        ifaces: Vec<(u32, u64)>,
    },
}

impl std::fmt::Debug for Format {
    // PcapNgParser is not Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Classic { parser, linktype } => f
                .debug_struct("Classic")
                .field("header", &parser.header())
                .field("linktype", linktype)
                .finish(),
            Self::Ng { parser, ifaces } => f
                .debug_struct("Ng")
                .field("section", parser.section())
                .field("ifaces", ifaces)
                .finish(),
        }
    }
}

/// Bytes read from the capture and not consumed yet: `buf[start..end]`. The record last
/// returned stays in place (`pending` bytes from `start`) until the next one is asked for.
#[derive(Debug)]
struct Input<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pending: usize,
}

impl<R: Read> Input<R> {
    fn new(r: R) -> Self {
        Self {
            r,
            buf: Vec::new(),
            start: 0,
            end: 0,
            pending: 0,
        }
    }

    fn avail(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Makes at least `n` bytes available (the callers keep `n` within
    /// `MAX_RECORD + 16`, a classic record's header and data); `Ok(false)` if the input
    /// ends before.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.end - self.start < n {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                // Geometric growth: a record length that lies about a short file costs at
                // most twice what the file holds, not the claimed length.
                let want = (self.buf.len() * 2).max(16 << 10).min(n.max(READ_CHUNK));
                self.buf.resize(want, 0);
            }
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Makes `n` bytes of a record available: `Ok(false)` on a clean end (no byte at all),
    /// an `UnexpectedEof` error when the capture ends inside the record.
    fn fill_record(&mut self, n: usize, what: &str) -> io::Result<bool> {
        if self.fill(n)? {
            return Ok(true);
        }
        if self.end == self.start {
            return Ok(false);
        }
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "capture file truncated: a {what} needs {n} bytes, {} remain",
                self.end - self.start
            ),
        ))
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn u32_at(b: &[u8], off: usize, big_endian: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

/// A record's length, read here (not by `pcap-file`) so that it is checked against
/// [`MAX_RECORD`] before any byte of it is buffered.
fn check_len(len: u64, what: &str) -> io::Result<usize> {
    match usize::try_from(len) {
        Ok(n) if n <= MAX_RECORD => Ok(n),
        _ => Err(bad(format!(
            "{what} of {len} bytes exceeds the {MAX_RECORD}-byte limit"
        ))),
    }
}

/// The length of the pcapng block at the start of `input` (8 or 12 bytes must be
/// available: a section header block carries its own byte order). `Ok(None)` at a clean
/// end of the capture.
fn ng_block_len<R: Read>(input: &mut Input<R>, section_be: bool) -> io::Result<Option<usize>> {
    if !input.fill_record(8, "pcapng block header")? {
        return Ok(None);
    }
    let head = input.avail();
    let be = if head[..4] == SHB.to_be_bytes() {
        if !input.fill_record(12, "pcapng section header")? {
            return Ok(None);
        }
        match input.avail()[8..12] {
            [0x1a, 0x2b, 0x3c, 0x4d] => true,
            [0x4d, 0x3c, 0x2b, 0x1a] => false,
            _ => return Err(bad("pcapng section header with a bad byte-order magic")),
        }
    } else {
        section_be
    };
    let total = u64::from(u32_at(input.avail(), 4, be).unwrap_or(0));
    if total < 12 || total % 4 != 0 {
        return Err(bad(format!("pcapng block length {total} invalid")));
    }
    check_len(total, "pcapng block").map(Some)
}

/// One record's frame: link type, timestamp, bytes.
struct Record<'a> {
    linktype: u32,
    ts: Option<Duration>,
    data: &'a [u8],
}

/// Ticks of `tps` per second since the epoch, as a duration.
fn ticks_to_duration(ticks: u64, tps: u64) -> Duration {
    let tps = tps.max(1);
    Duration::from_secs(ticks / tps)
        + Duration::from_nanos(((ticks % tps) as u128 * 1_000_000_000 / tps as u128) as u64)
}

/// `if_tsresol` (pcapng §4.2): 10^-n or, with the top bit set, 2^-n seconds per tick.
fn ticks_per_second(options: &[InterfaceDescriptionOption<'_>]) -> u64 {
    for o in options {
        if let InterfaceDescriptionOption::IfTsResol(v) = *o {
            let exp = u32::from(v & 0x7f);
            let tps = if v & 0x80 == 0 {
                10u64.checked_pow(exp)
            } else {
                2u64.checked_pow(exp)
            };
            return tps.unwrap_or(1_000_000).max(1);
        }
    }
    1_000_000
}

/// Parses a packet block (EPB, PB, SPB) in the section's byte order. Only these block
/// types are parsed into `pcap-file`'s typed blocks: the others are skipped unparsed.
fn packet_block<'a, B: ByteOrder>(raw: RawBlock<'a>) -> Result<Block<'a>, PcapError> {
    Block::try_from_raw_block::<B>(raw)
}

/// Reads the next record with a frame; `Ok(None)` at the end of the capture.
fn next_record<'a, R: Read>(
    input: &'a mut Input<R>,
    format: &mut Format,
) -> io::Result<Option<Record<'a>>> {
    loop {
        let done = std::mem::take(&mut input.pending);
        input.consume(done);
        match format {
            Format::Classic { parser, linktype } => {
                if !input.fill_record(16, "pcap record header")? {
                    return Ok(None);
                }
                let be = parser.header().endianness == Endianness::Big;
                let caplen = u64::from(u32_at(input.avail(), 8, be).unwrap_or(0));
                let total = check_len(caplen, "pcap record")? + 16;
                if !input.fill_record(total, "pcap record")? {
                    return Ok(None);
                }
                input.pending = total;
                let input: &'a Input<R> = input;
                let (_, p) = parser
                    .next_raw_packet(&input.avail()[..total])
                    .map_err(pcap_io)?;
                // The fraction is taken as given (clamped), as readers of real captures do:
                // `pcap-file`'s own check would reject a whole file for one odd timestamp.
                let nanos = match parser.header().ts_resolution {
                    TsResolution::NanoSecond => u64::from(p.ts_frac),
                    TsResolution::MicroSecond => u64::from(p.ts_frac) * 1000,
                };
                let ts = Duration::from_secs(u64::from(p.ts_sec))
                    + Duration::from_nanos(nanos.min(999_999_999));
                let Cow::Borrowed(data) = p.data else {
                    return Err(bad("pcap record not borrowed"));
                };
                return Ok(Some(Record {
                    linktype: *linktype,
                    ts: Some(ts),
                    data,
                }));
            }
            Format::Ng { parser, ifaces } => {
                let section_be = parser.section().endianness == Endianness::Big;
                let Some(total) = ng_block_len(input, section_be)? else {
                    return Ok(None);
                };
                if !input.fill_record(total, "pcapng block")? {
                    return Ok(None);
                }
                input.pending = total;
                let btype = u32_at(input.avail(), 0, section_be).unwrap_or(0);
                if btype == IDB && ifaces.len() >= MAX_INTERFACES {
                    // pcap-file keeps every IDB of a section, options included: bounded
                    // here, so that memory stays proportional to the interfaces used.
                    return Err(bad(format!(
                        "pcapng section with more than {MAX_INTERFACES} interfaces"
                    )));
                }
                if !matches!(btype, EPB | PB | SPB) {
                    // SHB and IDB go through the parser, which keeps the section's byte
                    // order and interfaces; other blocks (statistics, name resolution,
                    // custom) are checked for framing only.
                    let (_, raw) = parser
                        .next_raw_block(&input.avail()[..total])
                        .map_err(pcap_io)?;
                    match raw.type_ {
                        SHB => ifaces.clear(),
                        IDB => {
                            if let Some(idb) = parser.interfaces().last() {
                                ifaces.push((
                                    u32::from(idb.linktype),
                                    ticks_per_second(&idb.options),
                                ));
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                let input: &'a Input<R> = input;
                let (_, raw) = parser
                    .next_raw_block(&input.avail()[..total])
                    .map_err(pcap_io)?;
                let block = if section_be {
                    packet_block::<BigEndian>(raw)
                } else {
                    packet_block::<LittleEndian>(raw)
                }
                .map_err(pcap_io)?;
                let iface = |id: u32| {
                    ifaces
                        .get(id as usize)
                        .copied()
                        .ok_or_else(|| bad(format!("pcapng packet for undeclared interface {id}")))
                };
                let (linktype, ts, data) = match block {
                    Block::EnhancedPacket(b) => {
                        let (lt, tps) = iface(b.interface_id)?;
                        // pcap-file reads the 64-bit tick count as nanoseconds, whatever
                        // the interface's if_tsresol: the count is taken back and scaled.
                        let ticks = b.timestamp.as_nanos() as u64;
                        (lt, Some(ticks_to_duration(ticks, tps)), b.data)
                    }
                    Block::Packet(b) => {
                        let (lt, tps) = iface(u32::from(b.interface_id))?;
                        // pcap-file reads the high and low halves as one u64 in the
                        // section's byte order, which swaps them in a little-endian file.
                        let ticks = if section_be {
                            b.timestamp
                        } else {
                            b.timestamp.rotate_left(32)
                        };
                        (lt, Some(ticks_to_duration(ticks, tps)), b.data)
                    }
                    Block::SimplePacket(b) => {
                        let (lt, _) = iface(0)
                            .map_err(|_| bad("pcapng simple packet before any interface"))?;
                        // The body is the frame and its padding: cut at the original length.
                        let data = match b.data {
                            Cow::Borrowed(d) => {
                                Cow::Borrowed(d.get(..b.original_len as usize).unwrap_or(d))
                            }
                            owned => owned,
                        };
                        (lt, None, data)
                    }
                    _ => return Err(bad("pcapng packet block expected")),
                };
                let Cow::Borrowed(data) = data else {
                    return Err(bad("pcapng packet not borrowed"));
                };
                return Ok(Some(Record { linktype, ts, data }));
            }
        }
    }
}

/// Reads UDP datagrams from a pcap or pcapng stream.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    input: Input<R>,
    format: Format,
    stats: ReadStats,
    reassembler: Reassembler,
}

impl PcapReader<BufReader<File>> {
    /// Opens a capture file.
    pub fn open(path: &Path) -> io::Result<Self> {
        let f = File::open(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
        })?;
        Self::new(BufReader::with_capacity(64 << 10, f))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header and detects the format.
    pub fn new(r: R) -> io::Result<Self> {
        let mut input = Input::new(r);
        if !input.fill_record(4, "file header")? {
            return Err(bad("empty capture file"));
        }
        let magic: [u8; 4] = input.avail()[..4].try_into().map_err(|_| bad("magic"))?;
        let format = if magic == SHB.to_be_bytes() {
            let total = ng_block_len(&mut input, false)?
                .ok_or_else(|| bad("pcapng section header truncated"))?;
            if !input.fill(total)? {
                return Err(bad("pcapng section header truncated"));
            }
            let (_, parser) = PcapNgParser::new(&input.avail()[..total]).map_err(pcap_io)?;
            input.consume(total);
            Format::Ng {
                parser,
                ifaces: Vec::new(),
            }
        } else {
            if !matches!(
                u32::from_le_bytes(magic),
                0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1
            ) {
                return Err(bad(format!(
                    "not a pcap or pcapng file (magic {:#010x})",
                    u32::from_le_bytes(magic)
                )));
            }
            if !input.fill(24)? {
                return Err(bad("pcap header truncated"));
            }
            let (_, parser) = PcapParser::new(&input.avail()[..24]).map_err(pcap_io)?;
            input.consume(24);
            // The upper bits of the link type field carry FCS information (pcap §4).
            let linktype = u32::from(parser.header().datalink) & 0x0fff_ffff;
            Format::Classic { parser, linktype }
        };
        Ok(Self {
            input,
            format,
            stats: ReadStats::default(),
            reassembler: Reassembler::default(),
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> ReadStats {
        let mut s = self.stats;
        s.reassembly_failed = self.reassembler.failed;
        s
    }

    /// Returns the next UDP datagram, or `None` at the end of the capture.
    pub fn next_datagram(&mut self) -> io::Result<Option<CapturedDatagram>> {
        loop {
            let Some(Record { linktype, ts, data }) =
                next_record(&mut self.input, &mut self.format)?
            else {
                // Fragments of datagrams that never completed will not complete now.
                self.reassembler.give_up();
                return Ok(None);
            };
            self.stats.frames += 1;
            let frame_no = self.stats.frames;
            match parse_frame(linktype, data) {
                Ok(Parsed::Udp(src, dst, payload)) => {
                    self.stats.udp += 1;
                    return Ok(Some(CapturedDatagram {
                        ts,
                        src,
                        dst,
                        payload: payload.to_vec(),
                    }));
                }
                Ok(Parsed::Fragment(f)) => {
                    self.stats.fragments += 1;
                    let (src, dst) = (f.key.src, f.key.dst);
                    let Pushed::Complete(ip_payload) = self.reassembler.push(f, frame_no, ts)
                    else {
                        continue;
                    };
                    match UdpSlice::from_slice(&ip_payload) {
                        Ok(u) => {
                            self.stats.udp += 1;
                            self.stats.reassembled += 1;
                            return Ok(Some(CapturedDatagram {
                                ts,
                                src: SocketAddr::new(src, u.source_port()),
                                dst: SocketAddr::new(dst, u.destination_port()),
                                payload: u.payload().to_vec(),
                            }));
                        }
                        Err(_) => self.stats.malformed += 1,
                    }
                }
                Err(Skip::NotUdp) => self.stats.not_udp += 1,
                Err(Skip::Malformed) => self.stats.malformed += 1,
            }
        }
    }
}

/// Why a frame yields no datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Skip {
    NotUdp,
    Malformed,
}

/// What a frame holds: a whole UDP datagram (source, destination, payload), or one
/// fragment of a UDP datagram.
#[derive(Debug)]
enum Parsed<'a> {
    Udp(SocketAddr, SocketAddr, &'a [u8]),
    Fragment(Fragment<'a>),
}

type ParseResult<'a> = Result<Parsed<'a>, Skip>;

/// Extracts (source, destination, UDP payload) from a link-layer frame: the link layer
/// gives the IP packet, `etherparse::IpSlice` parses IPv4 / IPv6 and its extension
/// headers, `etherparse::UdpSlice` the UDP header.
fn parse_frame(linktype: u32, f: &[u8]) -> ParseResult<'_> {
    parse_ip(ip_packet(linktype, f)?)
}

/// The payload of an Ethernet or cooked-capture header, if it is IPv4 or IPv6.
fn ether(et: EtherType, body: &[u8]) -> Result<&[u8], Skip> {
    match et {
        EtherType::IPV4 | EtherType::IPV6 => Ok(body),
        _ => Err(Skip::NotUdp),
    }
}

/// The IP packet inside a link-layer frame.
fn ip_packet(linktype: u32, f: &[u8]) -> Result<&[u8], Skip> {
    match linktype {
        LINKTYPE_ETHERNET => {
            let mut p = Ethernet2Slice::from_slice_without_fcs(f)
                .map_err(|_| Skip::Malformed)?
                .payload();
            // Up to two VLAN tags (802.1Q, 802.1ad QinQ, the old 0x9100).
            for _ in 0..2 {
                if matches!(
                    p.ether_type,
                    EtherType::VLAN_TAGGED_FRAME
                        | EtherType::PROVIDER_BRIDGING
                        | EtherType::VLAN_DOUBLE_TAGGED_FRAME
                ) {
                    p = SingleVlanSlice::from_slice(p.payload)
                        .map_err(|_| Skip::Malformed)?
                        .payload();
                }
            }
            ether(p.ether_type, p.payload)
        }
        // Linux cooked capture v1 and v2: hand-written header skips. etherparse 0.16 has no
        // SLL2, and its SLL v1 rejects every ARPHRD but Ethernet, netlink, GRE, FRAD and
        // radiotap, while `tcpdump -i any` writes ARPHRD_LOOPBACK (772) for loopback and
        // ARPHRD_NONE (0xfffe) for tun devices. SLL v1: protocol at 14..16, 16 bytes;
        // SLL2: protocol at 0..2, 20 bytes.
        LINKTYPE_LINUX_SLL | LINKTYPE_LINUX_SLL2 => {
            let (at, len) = if linktype == LINKTYPE_LINUX_SLL {
                (14, 16)
            } else {
                (0, 20)
            };
            let et = f.get(at..at + 2).ok_or(Skip::Malformed)?;
            let body = f.get(len..).ok_or(Skip::Malformed)?;
            ether(EtherType(u16::from_be_bytes([et[0], et[1]])), body)
        }
        LINKTYPE_RAW | LINKTYPE_RAW_OLD | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            match f.first().map(|b| b >> 4) {
                Some(4 | 6) => Ok(f),
                _ => Err(Skip::NotUdp),
            }
        }
        // BSD null/loop: hand-written (etherparse has no such link layer): a 4-byte
        // address family, host byte order for null (either is accepted), network order
        // for loop; AF_INET is 2 everywhere, AF_INET6 24, 28 or 30 depending on the OS.
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            let a: [u8; 4] = f
                .get(..4)
                .ok_or(Skip::Malformed)?
                .try_into()
                .map_err(|_| Skip::Malformed)?;
            let fam = if linktype == LINKTYPE_LOOP {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a).min(u32::from_be_bytes(a))
            };
            match fam {
                2 | 24 | 28 | 30 => Ok(&f[4..]),
                _ => Err(Skip::NotUdp),
            }
        }
        _ => Err(Skip::NotUdp),
    }
}

/// The IPv6 Fragment header's offset (bytes) and M flag, RFC 8200 §4.5: bytes 2..4 are
/// a big-endian word, offset in its top 13 bits (8-byte units), M in its lowest bit.
/// Decoded here because etherparse 0.16 reads these bits in the wrong places (its issue
/// #150, fixed in 0.20 by PR #149/#151); its Identification (bytes 4..8) is right.
fn ipv6_fragment_fields(header: &[u8]) -> Option<(usize, bool)> {
    let w = u16::from_be_bytes([*header.get(2)?, *header.get(3)?]);
    Some((usize::from(w >> 3) * 8, w & 1 != 0))
}

/// A whole UDP datagram, a fragment of one, or a skip, from an IPv4 or IPv6 packet.
fn parse_ip(packet: &[u8]) -> ParseResult<'_> {
    // Truncated or inconsistent IP headers, bad extension headers: malformed.
    let ip = IpSlice::from_slice(packet).map_err(|_| Skip::Malformed)?;
    // (source, destination, IP payload, fragment: (Identification, offset, more))
    let (src, dst, payload, frag) = match &ip {
        IpSlice::Ipv4(v4) => {
            let h = v4.header();
            let pl = v4.payload();
            let frag = pl.fragmented.then(|| {
                (
                    u32::from(h.identification()),
                    usize::from(h.fragments_offset().byte_offset()),
                    h.more_fragments(),
                )
            });
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                pl,
                frag,
            )
        }
        IpSlice::Ipv6(v6) => {
            let h = v6.header();
            // The Fragment header, if any (etherparse stops at it or, misreading its flags,
            // goes on; with UDP after it the payload starts after it either way).
            let frag = v6.extensions().clone().into_iter().find_map(|x| match x {
                Ipv6ExtensionSlice::Fragment(fh) => {
                    let (offset, more) = ipv6_fragment_fields(fh.slice())?;
                    // An atomic fragment (RFC 6946, offset 0 and M = 0) is the whole
                    // datagram.
                    (offset != 0 || more).then(|| (fh.identification(), offset, more))
                }
                _ => None,
            });
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                v6.payload(),
                frag,
            )
        }
    };
    if payload.ip_number != IpNumber::UDP {
        return Err(Skip::NotUdp);
    }
    if let Some((id, offset, more)) = frag {
        return Ok(Parsed::Fragment(Fragment {
            key: FragKey { src, dst, id },
            offset,
            more,
            data: payload.payload,
        }));
    }
    // A zero UDP length (IPv6 jumbograms only) takes the rest of the packet: UdpSlice
    // does that too.
    let u = UdpSlice::from_slice(payload.payload).map_err(|_| Skip::Malformed)?;
    Ok(Parsed::Udp(
        SocketAddr::new(src, u.source_port()),
        SocketAddr::new(dst, u.destination_port()),
        u.payload(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(src: &str, dst: &str) {
        let (src, dst): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_udp(
            Duration::new(1_700_000_000, 123_456_789),
            src,
            dst,
            b"hello flute",
        )
        .unwrap();
        w.write_udp(Duration::new(1_700_000_001, 0), src, dst, b"")
            .unwrap();
        let bytes = w.finish().unwrap();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        let d = r.next_datagram().unwrap().unwrap();
        assert_eq!(
            (d.src, d.dst, &d.payload[..]),
            (src, dst, &b"hello flute"[..])
        );
        assert_eq!(d.ts, Some(Duration::new(1_700_000_000, 123_456_789)));
        assert_eq!(r.next_datagram().unwrap().unwrap().payload, b"");
        assert!(r.next_datagram().unwrap().is_none());
    }

    #[test]
    fn pcap_roundtrip_v4_v6() {
        roundtrip("127.0.0.1:4000", "239.255.1.1:5000");
        roundtrip("[::1]:4000", "[ff05::1]:5000");
    }

    #[test]
    fn checksums_verify_to_zero() {
        let f = build_udp_frame(
            "10.0.0.1:1".parse().unwrap(),
            "10.0.0.2:2".parse().unwrap(),
            b"abc",
            7,
            64,
        )
        .unwrap();
        let ip = &f[14..34];
        assert_eq!(internet_checksum(&[ip]), 0, "IPv4 header checksum");
        let udp = &f[34..];
        let pseudo = [&ip[12..20], &[0, 17], &(udp.len() as u16).to_be_bytes()[..]].concat();
        assert_eq!(internet_checksum(&[&pseudo, udp]), 0, "UDP checksum");
        let f6 = build_udp_frame(
            "[::1]:1".parse().unwrap(),
            "[::2]:2".parse().unwrap(),
            b"abcd",
            7,
            64,
        )
        .unwrap();
        let ip6 = &f6[14..54];
        let udp6 = &f6[54..];
        let pseudo6 = [
            &ip6[8..40],
            &(udp6.len() as u32).to_be_bytes()[..],
            &[0, 0, 0, 17],
        ]
        .concat();
        assert_eq!(internet_checksum(&[&pseudo6, udp6]), 0);
    }

    #[test]
    fn reads_pcapng_with_sll_and_skips_non_udp() {
        let src: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        let eth = build_udp_frame(src, dst, b"payload", 1, 64).unwrap();
        let mut sll = vec![0u8; 16];
        sll[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&eth[14..]);
        let mut tcp = eth.clone();
        tcp[14 + 9] = 6;
        let mut f = Vec::new();
        let block = |f: &mut Vec<u8>, t: u32, body: &[u8]| {
            let mut b = body.to_vec();
            while b.len() % 4 != 0 {
                b.push(0);
            }
            let total = (b.len() + 12) as u32;
            f.extend_from_slice(&t.to_le_bytes());
            f.extend_from_slice(&total.to_le_bytes());
            f.extend_from_slice(&b);
            f.extend_from_slice(&total.to_le_bytes());
        };
        block(
            &mut f,
            0x0a0d0d0a,
            &[
                0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        );
        // IDB: Linux cooked, with if_tsresol = 9 (ns)
        let mut idb = vec![];
        idb.extend_from_slice(&113u16.to_le_bytes());
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
        block(&mut f, 1, &idb);
        // IDB 1: Ethernet, default µs
        block(&mut f, 1, &[1, 0, 0, 0, 0, 0, 0, 0]);
        let epb = |iface: u32, ticks: u64, data: &[u8]| {
            let mut b = vec![];
            b.extend_from_slice(&iface.to_le_bytes());
            b.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
            b.extend_from_slice(&(ticks as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            b
        };
        block(&mut f, 6, &epb(0, 1_500_000_000, &sll));
        block(&mut f, 6, &epb(1, 2_000_000, &tcp));
        block(&mut f, 6, &epb(1, 3_000_000, &eth));
        let mut r = PcapReader::new(&f[..]).unwrap();
        let a = r.next_datagram().unwrap().unwrap();
        assert_eq!(a.payload, b"payload");
        assert_eq!(a.ts, Some(Duration::from_millis(1500)));
        let b = r.next_datagram().unwrap().unwrap();
        assert_eq!(b.ts, Some(Duration::from_secs(3)));
        assert!(r.next_datagram().unwrap().is_none());
        assert_eq!(r.stats().not_udp, 1);
        assert_eq!(r.stats().udp, 2);
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        for len in 0..80 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            for lt in [0, 1, 12, 101, 108, 113, 228, 229, 276, 9999] {
                let _ = parse_frame(lt, &junk);
            }
            let mut f = 0xa1b2c3d4u32.to_le_bytes().to_vec();
            f.extend_from_slice(&junk);
            if let Ok(mut r) = PcapReader::new(&f[..]) {
                while let Ok(Some(_)) = r.next_datagram() {}
            }
        }
    }

    /// Splits the Ethernet + IPv4 + UDP `frame` into IPv4 fragments carrying `chunk`
    /// bytes of IP payload each (`chunk` a multiple of 8), RFC 791 §3.2.
    fn fragment_v4(frame: &[u8], chunk: usize, id: u16) -> Vec<Vec<u8>> {
        let (eth, rest) = frame.split_at(14);
        let (ip, payload) = rest.split_at(20);
        payload
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let off = i * chunk;
                let more = off + part.len() < payload.len();
                let mut h = ip.to_vec();
                h[2..4].copy_from_slice(&((20 + part.len()) as u16).to_be_bytes());
                h[4..6].copy_from_slice(&id.to_be_bytes());
                let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
                h[6..8].copy_from_slice(&fo.to_be_bytes());
                h[10..12].fill(0);
                let c = internet_checksum(&[&h]);
                h[10..12].copy_from_slice(&c.to_be_bytes());
                [eth, &h, part].concat()
            })
            .collect()
    }

    /// The same for Ethernet + IPv6 + UDP: a Fragment header (RFC 8200 §4.5) after the
    /// fixed header.
    fn fragment_v6(frame: &[u8], chunk: usize, id: u32) -> Vec<Vec<u8>> {
        let (eth, rest) = frame.split_at(14);
        let (ip, payload) = rest.split_at(40);
        payload
            .chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let off = i * chunk;
                let more = off + part.len() < payload.len();
                let mut h = ip.to_vec();
                h[4..6].copy_from_slice(&((8 + part.len()) as u16).to_be_bytes());
                h[6] = 44;
                let v = ((off / 8) as u16) << 3 | u16::from(more);
                let mut fh = vec![17, 0];
                fh.extend_from_slice(&v.to_be_bytes());
                fh.extend_from_slice(&id.to_be_bytes());
                [eth, &h, &fh, part].concat()
            })
            .collect()
    }

    fn read_all(frames: &[Vec<u8>]) -> (Vec<CapturedDatagram>, ReadStats) {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write_frame(Duration::new(1_700_000_000, i as u32), f)
                .unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        let mut out = Vec::new();
        while let Some(d) = r.next_datagram().unwrap() {
            out.push(d);
        }
        (out, r.stats())
    }

    #[test]
    fn fragmented_udp_is_reassembled_v4_and_v6() {
        let payload: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        for (src, dst) in [
            ("127.0.0.1:4000", "239.255.1.1:5000"),
            ("[::1]:4000", "[ff05::1]:5000"),
        ] {
            let (src, dst): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
            let frame = build_udp_frame(src, dst, &payload, 7, 64).unwrap();
            let mut frags = if src.is_ipv4() {
                fragment_v4(&frame, 1480, 7)
            } else {
                fragment_v6(&frame, 1448, 7)
            };
            assert_eq!(frags.len(), 3);
            // Out of order, one duplicated, an unrelated whole datagram in between.
            frags.swap(0, 2);
            frags.insert(1, frags[0].clone());
            frags.insert(2, build_udp_frame(src, dst, b"small", 8, 64).unwrap());
            let (got, st) = read_all(&frags);
            assert_eq!(got.len(), 2, "{st:?}");
            assert_eq!(got[0].payload, b"small");
            assert_eq!((got[1].src, got[1].dst), (src, dst));
            assert_eq!(got[1].payload, payload);
            assert_eq!(
                (
                    st.frames,
                    st.udp,
                    st.fragments,
                    st.reassembled,
                    st.reassembly_failed
                ),
                (5, 2, 4, 1, 0)
            );
        }
    }

    #[test]
    fn incomplete_or_overlapping_fragments_are_counted_not_delivered() {
        let payload: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        let (src, dst): (SocketAddr, SocketAddr) = (
            "127.0.0.1:4000".parse().unwrap(),
            "239.255.1.1:5000".parse().unwrap(),
        );
        let frame = build_udp_frame(src, dst, &payload, 9, 64).unwrap();
        // The middle fragment lost: nothing is delivered, one failure at the end.
        let mut frags = fragment_v4(&frame, 1480, 9);
        frags.remove(1);
        let (got, st) = read_all(&frags);
        assert!(got.is_empty());
        assert_eq!(
            (st.fragments, st.reassembled, st.reassembly_failed),
            (2, 0, 1)
        );
        // Overlap (RFC 5722): bytes 1000..2000 of a 1000-byte split over the held
        // 0..1480 of a 1480-byte split of the same datagram: it is discarded.
        let mut bad = fragment_v4(&frame, 1480, 9);
        let other = fragment_v4(&frame, 1000, 9);
        bad.insert(1, other[1].clone());
        let (got, st) = read_all(&bad);
        assert!(got.is_empty(), "{st:?}");
        assert!(st.reassembly_failed >= 1, "{st:?}");
    }

    // ---- tests added with the switch to pcap-file + etherparse (issue 14 §4) ----

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The frames and file bytes the hand-written writer produced (generated with it before
    /// the switch): `etherparse::PacketBuilder` and pcap-file's serialisers give the same.
    #[test]
    fn frames_and_file_bytes_are_unchanged() {
        // (source, destination, payload, IP id, TTL, frame in hex)
        type Case<'a> = (&'a str, &'a str, &'a [u8], u16, u8, &'a str);
        let cases: [Case<'_>; 3] = [
            (
                "10.0.0.1:1234",
                "239.255.1.1:3400",
                b"flute",
                7,
                64,
                "01005e7f01010200000000010800450000210007400040113fc40a000001efff010104d20d48000db1d7666c757465",
            ),
            (
                "[2001:db8::1]:1234",
                "[ff05::1]:3400",
                b"flute!",
                7,
                1,
                "33330000000102000000000186dd60000000000e110120010db8000000000000000000000001ff05000000000000000000000000000104d20d48000e7ff5666c75746521",
            ),
            (
                "192.0.2.1:65535",
                "192.0.2.2:0",
                b"",
                65535,
                255,
                "02000000000202000000000108004500001cffff4000ff11f7ccc0000201c0000202ffff000000087bda",
            ),
        ];
        for (s, d, p, id, ttl, want) in cases {
            let f = build_udp_frame(s.parse().unwrap(), d.parse().unwrap(), p, id, ttl).unwrap();
            assert_eq!(f, hex(want), "{s} -> {d}");
        }
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_udp(
            Duration::new(1_700_000_000, 123_456_789),
            "10.0.0.1:1234".parse().unwrap(),
            "239.255.1.1:3400".parse().unwrap(),
            b"x",
        )
        .unwrap();
        assert_eq!(w.packets(), 1);
        assert_eq!(
            w.finish().unwrap(),
            hex(
                "4d3cb2a1020004000000000000000000000004000100000000f1536515cd5b072b0000002b00000001005e7f010102000000000108004500001d0001400040113fce0a000001efff010104d20d4800097ac078"
            )
        );
        // Mixed families and oversized datagrams are refused, as before.
        let v4: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        assert!(build_udp_frame(v4, v6, b"", 1, 1).is_err());
        assert!(build_udp_frame(v4, v4, &vec![0; 65_508], 1, 1).is_err());
        assert!(build_udp_frame(v4, v4, &vec![0; 65_507], 1, 1).is_ok());
        assert!(build_udp_frame(v6, v6, &vec![0; 65_528], 1, 1).is_err());
    }

    /// `write_udp` builds the frame straight into its writer: the same records as
    /// `write_frame` of `build_udp_frame`, for both families, multicast and unicast, empty,
    /// odd and full-size payloads and a wrapping IP id; an oversized datagram is refused
    /// before anything is written.
    #[test]
    fn write_udp_writes_what_write_frame_of_build_udp_frame_writes() {
        let pairs = [
            ("10.0.0.1:1234", "239.255.1.1:3400"),
            ("127.0.0.1:40000", "127.0.0.1:3400"),
            ("[2001:db8::1]:1234", "[ff05::1]:3400"),
            ("[::1]:5", "[::1]:6"),
        ];
        let payloads: Vec<Vec<u8>> = [0usize, 1, 2, 1435, 1436, 9000]
            .iter()
            .map(|&n| (0..n).map(|i| (i * 31 + n) as u8).collect())
            .collect();
        let mut fast = PcapWriter::new(Vec::new()).unwrap();
        let mut slow = PcapWriter::new(Vec::new()).unwrap();
        fast.ip_id = 65_534;
        let mut id = 65_534u16;
        for (n, (s, d)) in pairs.iter().enumerate() {
            let (s, d): (SocketAddr, SocketAddr) = (s.parse().unwrap(), d.parse().unwrap());
            for p in &payloads {
                let ts = Duration::new(1_700_000_000 + n as u64, 999_999_999);
                fast.write_udp(ts, s, d, p).unwrap();
                slow.write_frame(ts, &build_udp_frame(s, d, p, id, 64).unwrap())
                    .unwrap();
                id = id.wrapping_add(1);
            }
        }
        let v4: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        assert!(
            fast.write_udp(Duration::ZERO, v4, v4, &vec![0; 65_508])
                .is_err()
        );
        assert!(fast.write_udp(Duration::ZERO, v4, v6, b"").is_err());
        assert_eq!(fast.packets(), slow.packets());
        assert_eq!(fast.finish().unwrap(), slow.finish().unwrap());
    }

    /// RFC 768: a UDP checksum that computes to zero is sent as all ones.
    #[test]
    fn a_zero_udp_checksum_is_sent_as_all_ones() {
        let (s, d): (SocketAddr, SocketAddr) =
            ("10.0.0.1:1".parse().unwrap(), "10.0.0.2:2".parse().unwrap());
        let f = build_udp_frame(s, d, &[0, 0], 1, 64).unwrap();
        let c0 = u16::from_be_bytes([f[40], f[41]]);
        // With c0 as the payload word the one's-complement sum is 0xffff: checksum 0.
        let f = build_udp_frame(s, d, &c0.to_be_bytes(), 1, 64).unwrap();
        assert_eq!(&f[40..42], &[0xff, 0xff]);
        let udp = &f[34..];
        let pseudo = [&f[26..34], &[0, 17], &(udp.len() as u16).to_be_bytes()[..]].concat();
        assert_eq!(internet_checksum(&[&pseudo, udp]), 0);
    }

    fn ng_block(be: bool, t: u32, body: &[u8]) -> Vec<u8> {
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let mut b = body.to_vec();
        while b.len() % 4 != 0 {
            b.push(0);
        }
        let total = (b.len() + 12) as u32;
        [&u32b(t)[..], &u32b(total), &b, &u32b(total)].concat()
    }

    fn shb(be: bool) -> Vec<u8> {
        let mut body = vec![0x1a, 0x2b, 0x3c, 0x4d];
        if !be {
            body.reverse();
        }
        let v = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
        body.extend_from_slice(&v(1));
        body.extend_from_slice(&v(0));
        body.extend_from_slice(&[0xff; 8]);
        ng_block(be, SHB, &body)
    }

    fn idb(be: bool, linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let v16 = |x: u16| if be { x.to_be_bytes() } else { x.to_le_bytes() };
        let mut body = [&v16(linktype)[..], &[0, 0], &[0, 0, 0, 0]].concat();
        if let Some(r) = tsresol {
            body.extend_from_slice(&v16(9));
            body.extend_from_slice(&v16(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        }
        ng_block(be, IDB, &body)
    }

    fn epb(be: bool, iface: u32, ticks: u64, data: &[u8]) -> Vec<u8> {
        let u32b = |v: u32| if be { v.to_be_bytes() } else { v.to_le_bytes() };
        let body = [
            &u32b(iface)[..],
            &u32b((ticks >> 32) as u32),
            &u32b(ticks as u32),
            &u32b(data.len() as u32),
            &u32b(data.len() as u32),
            data,
        ]
        .concat();
        ng_block(be, EPB, &body)
    }

    fn udp_eth(payload: &[u8]) -> Vec<u8> {
        build_udp_frame(
            "192.0.2.1:1000".parse().unwrap(),
            "239.1.2.3:2000".parse().unwrap(),
            payload,
            1,
            64,
        )
        .unwrap()
    }

    fn read_bytes(bytes: &[u8]) -> (Vec<CapturedDatagram>, ReadStats, Option<io::Error>) {
        let mut r = PcapReader::new(bytes).unwrap();
        let mut out = Vec::new();
        loop {
            match r.next_datagram() {
                Ok(Some(d)) => out.push(d),
                Ok(None) => return (out, r.stats(), None),
                Err(e) => return (out, r.stats(), Some(e)),
            }
        }
    }

    /// Big-endian pcapng, two sections, interfaces with 2^-20 s and 10^-3 s ticks, an
    /// obsolete Packet Block in a little-endian section (pcap-file swaps its timestamp
    /// halves there), a padded Simple Packet Block, and blocks that are skipped unparsed.
    #[test]
    fn pcapng_sections_resolutions_and_block_kinds() {
        let eth = udp_eth(b"a");
        let mut f = shb(true);
        f.extend(idb(true, 1, Some(0x80 | 20)));
        f.extend(idb(true, 1, Some(3)));
        f.extend(epb(true, 0, (5 << 20) + (1 << 19), &eth)); // 5.5 s
        f.extend(epb(true, 1, 7_250, &eth)); // 7.25 s
        // A name resolution block of garbage and an unknown block: skipped.
        f.extend(ng_block(true, 4, &[0xde, 0xad, 0xbe, 0xef, 1, 2]));
        f.extend(ng_block(true, 0x0bad_cafe, &[1, 2, 3]));
        // A new little-endian section: interfaces start again.
        f.extend(shb(false));
        f.extend(idb(false, 1, None));
        let ticks: u64 = (3 << 32) + 1_000_000; // µs ticks
        let pb = [
            &0u16.to_le_bytes()[..],
            &0u16.to_le_bytes(),
            &((ticks >> 32) as u32).to_le_bytes(),
            &(ticks as u32).to_le_bytes(),
            &(eth.len() as u32).to_le_bytes(),
            &(eth.len() as u32).to_le_bytes(),
            &eth,
        ]
        .concat();
        f.extend(ng_block(false, PB, &pb));
        let spb = [&(eth.len() as u32).to_le_bytes()[..], &eth].concat();
        f.extend(ng_block(false, SPB, &spb)); // padded to 4 bytes: the padding is cut
        let (got, st, err) = read_bytes(&f);
        assert!(err.is_none(), "{err:?}");
        let ts: Vec<_> = got.iter().map(|d| d.ts).collect();
        assert_eq!(
            ts,
            [
                Some(Duration::from_millis(5_500)),
                Some(Duration::from_millis(7_250)),
                Some(Duration::from_micros(ticks)),
                None
            ]
        );
        assert!(got.iter().all(|d| d.payload == b"a"));
        assert_eq!((st.frames, st.udp, st.malformed), (4, 4, 0));
        // An EPB for an interface of the previous section is an error.
        let mut g = shb(false);
        g.extend(idb(false, 1, None));
        g.extend(shb(false));
        g.extend(epb(false, 0, 0, &eth));
        let (got, _, err) = read_bytes(&g);
        assert!(got.is_empty());
        assert_eq!(err.unwrap().kind(), io::ErrorKind::InvalidData);
    }

    /// Classic pcap, big-endian, microseconds; a record whose original length exceeds the
    /// snap length (pcap-file's PcapPacket check would reject it) is read.
    #[test]
    fn classic_big_endian_microseconds_and_snapped_records() {
        let eth = udp_eth(b"hello");
        let mut f = Vec::new();
        f.extend_from_slice(&0xa1b2_c3d4u32.to_be_bytes());
        f.extend_from_slice(&[0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&(eth.len() as u32).to_be_bytes()); // snaplen
        f.extend_from_slice(&1u32.to_be_bytes());
        f.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        f.extend_from_slice(&250_000u32.to_be_bytes());
        f.extend_from_slice(&(eth.len() as u32).to_be_bytes());
        f.extend_from_slice(&9000u32.to_be_bytes()); // orig_len > snaplen
        f.extend_from_slice(&eth);
        let (got, st, err) = read_bytes(&f);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got.len(), 1, "{st:?}");
        assert_eq!(got[0].ts, Some(Duration::from_millis(1_700_000_000_250)));
        assert_eq!(got[0].payload, b"hello");
    }

    /// A record claiming more than MAX_RECORD bytes is refused before anything of it is
    /// read; the datagrams before it are returned first. The same for a pcapng block.
    #[test]
    fn records_over_max_record_are_refused_without_reading_them() {
        /// Counts the bytes handed out; endless zeros after `head`.
        struct Endless<'a> {
            head: &'a [u8],
            served: usize,
        }
        impl Read for Endless<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = if self.served < self.head.len() {
                    let n = (self.head.len() - self.served).min(buf.len());
                    buf[..n].copy_from_slice(&self.head[self.served..self.served + n]);
                    n
                } else {
                    buf.fill(0);
                    buf.len()
                };
                self.served += n;
                Ok(n)
            }
        }
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_frame(Duration::ZERO, &udp_eth(b"first")).unwrap();
        let mut f = w.finish().unwrap();
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        let mut r = PcapReader::new(Endless {
            head: &f,
            served: 0,
        })
        .unwrap();
        assert_eq!(r.next_datagram().unwrap().unwrap().payload, b"first");
        let e = r.next_datagram().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("exceeds"), "{e}");
        assert!(r.input.r.served < 2 * READ_CHUNK, "{}", r.input.r.served);
        assert!(r.input.buf.len() <= READ_CHUNK);

        let mut g = shb(false);
        g.extend(idb(false, 1, None));
        g.extend_from_slice(&EPB.to_le_bytes());
        g.extend_from_slice(&((MAX_RECORD + 20) as u32).to_le_bytes());
        let mut r = PcapReader::new(Endless {
            head: &g,
            served: 0,
        })
        .unwrap();
        let e = r.next_datagram().unwrap_err();
        assert!(e.to_string().contains("exceeds"), "{e}");
        assert!(r.input.buf.len() <= READ_CHUNK);
    }

    /// A capture cut inside a record header or a record: every datagram before the cut,
    /// then an UnexpectedEof error (PcapSource turns it into `read_error`).
    #[test]
    fn a_cut_capture_returns_what_came_before_then_unexpected_eof() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for i in 0..3u8 {
            w.write_frame(Duration::from_secs(u64::from(i)), &udp_eth(&[i; 100]))
                .unwrap();
        }
        let full = w.finish().unwrap();
        let record = 16 + udp_eth(&[0; 100]).len();
        for (cut, want) in [
            (full.len() - 1, 2),
            (full.len() - record + 7, 2),
            (24 + record + 3, 1),
        ] {
            let (got, _, err) = read_bytes(&full[..cut]);
            assert_eq!(got.len(), want, "cut at {cut}");
            assert_eq!(
                err.unwrap().kind(),
                io::ErrorKind::UnexpectedEof,
                "cut at {cut}"
            );
        }
        let (got, _, err) = read_bytes(&full);
        assert_eq!((got.len(), err.is_none()), (3, true));
        // pcapng cut inside a block.
        let mut g = shb(false);
        g.extend(idb(false, 1, None));
        g.extend(epb(false, 0, 0, &udp_eth(b"x")));
        g.extend(epb(false, 0, 0, &udp_eth(b"y")));
        let (got, _, err) = read_bytes(&g[..g.len() - 5]);
        assert_eq!(got.len(), 1);
        assert_eq!(err.unwrap().kind(), io::ErrorKind::UnexpectedEof);
    }

    /// Link layers: double VLAN tag (etherparse), Linux cooked v1 with ARPHRD_LOOPBACK
    /// (which etherparse's own SLL parser refuses) and v2, BSD null and loop, raw IPv6.
    #[test]
    fn link_layers() {
        let src: SocketAddr = "[2001:db8::1]:1000".parse().unwrap();
        let dst: SocketAddr = "[ff05::1]:2000".parse().unwrap();
        let eth = build_udp_frame(src, dst, b"v6", 1, 64).unwrap();
        let ip = &eth[14..];
        let want = |r: ParseResult<'_>| match r {
            Ok(Parsed::Udp(s, d, p)) => assert_eq!((s, d, p), (src, dst, &b"v6"[..])),
            other => panic!("{other:?}"),
        };
        let qinq = [
            &eth[..12],
            &[0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 7][..],
            &eth[12..],
        ]
        .concat();
        want(parse_frame(LINKTYPE_ETHERNET, &qinq));
        let mut sll = vec![0, 0, 0x03, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd];
        sll.extend_from_slice(ip);
        assert!(etherparse::SlicedPacket::from_linux_sll(&sll).is_err());
        want(parse_frame(LINKTYPE_LINUX_SLL, &sll));
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 1, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        sll2.extend_from_slice(ip);
        want(parse_frame(LINKTYPE_LINUX_SLL2, &sll2));
        want(parse_frame(
            LINKTYPE_NULL,
            &[&30u32.to_le_bytes()[..], ip].concat(),
        ));
        want(parse_frame(
            LINKTYPE_LOOP,
            &[&30u32.to_be_bytes()[..], ip].concat(),
        ));
        want(parse_frame(LINKTYPE_RAW, ip));
        // ARP, a third VLAN tag, an unknown family, an unknown link type: not UDP.
        let arp = [&eth[..12], &[0x08, 0x06][..], &[0; 28]].concat();
        assert!(matches!(
            parse_frame(LINKTYPE_ETHERNET, &arp),
            Err(Skip::NotUdp)
        ));
        let three = [
            &eth[..12],
            &[0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3][..],
            &eth[12..],
        ]
        .concat();
        assert!(matches!(
            parse_frame(LINKTYPE_ETHERNET, &three),
            Err(Skip::NotUdp)
        ));
        let fam7 = [&7u32.to_le_bytes()[..], ip].concat();
        assert!(matches!(
            parse_frame(LINKTYPE_NULL, &fam7),
            Err(Skip::NotUdp)
        ));
        assert!(matches!(parse_frame(147, &eth), Err(Skip::NotUdp)));
        // Truncated IP or UDP: malformed.
        assert!(matches!(
            parse_frame(LINKTYPE_ETHERNET, &eth[..eth.len() - 1]),
            Err(Skip::Malformed)
        ));
        assert!(matches!(
            parse_frame(LINKTYPE_ETHERNET, &eth[..20]),
            Err(Skip::Malformed)
        ));
        // Ethernet padding after a short IPv4 packet is not part of the datagram.
        let mut padded = udp_eth(b"a");
        padded.resize(60, 0xee);
        match parse_frame(LINKTYPE_ETHERNET, &padded) {
            Ok(Parsed::Udp(_, _, p)) => assert_eq!(p, b"a"),
            other => panic!("{other:?}"),
        }
        // TCP with a header too short to be one is still not UDP (not malformed).
        let mut tcp = udp_eth(b"tcp?");
        tcp[14 + 9] = 6;
        assert!(matches!(
            parse_frame(LINKTYPE_ETHERNET, &tcp),
            Err(Skip::NotUdp)
        ));
    }

    /// IPv6 fragments at offsets whose Fragment header etherparse 0.16 misreads (its
    /// issue #150): 32-byte fragments, the last one at offset 64 (bytes 2..4 = 00 40)
    /// which it takes for an unfragmented packet. An atomic fragment is a datagram.
    #[test]
    fn ipv6_fragment_header_bits_follow_rfc8200() {
        let (src, dst): (SocketAddr, SocketAddr) = (
            "[::1]:4000".parse().unwrap(),
            "[ff05::1]:5000".parse().unwrap(),
        );
        let payload: Vec<u8> = (0..60u8).collect();
        let frame = build_udp_frame(src, dst, &payload, 1, 64).unwrap();
        let frags = fragment_v6(&frame, 32, 0x0102_0304);
        assert_eq!(frags.len(), 3);
        assert_eq!(&frags[2][54 + 2..54 + 4], &[0x00, 0x40]);
        for (i, f) in frags.iter().enumerate() {
            match parse_frame(LINKTYPE_ETHERNET, f) {
                Ok(Parsed::Fragment(fr)) => {
                    assert_eq!(
                        (fr.offset, fr.more, fr.key.id),
                        (i * 32, i < 2, 0x0102_0304)
                    );
                }
                other => panic!("fragment {i}: {other:?}"),
            }
        }
        let (got, st) = read_all(&frags);
        assert_eq!(got.len(), 1, "{st:?}");
        assert_eq!(got[0].payload, payload);
        assert_eq!(st.reassembled, 1);
        // Atomic fragment (RFC 6946): offset 0, M = 0.
        let atomic = fragment_v6(&frame, 4096, 9);
        assert_eq!(atomic.len(), 1);
        match parse_frame(LINKTYPE_ETHERNET, &atomic[0]) {
            Ok(Parsed::Udp(_, _, p)) => assert_eq!(p, &payload[..]),
            other => panic!("{other:?}"),
        }
    }

    /// A section declaring more than MAX_INTERFACES interfaces is refused; the packets of
    /// the interfaces before are read.
    #[test]
    fn too_many_interfaces_are_refused() {
        let mut f = shb(false);
        f.extend(idb(false, 1, None));
        f.extend(epb(false, 0, 0, &udp_eth(b"ok")));
        for _ in 1..MAX_INTERFACES {
            f.extend(idb(false, 1, None));
        }
        let (got, _, err) = read_bytes(&f);
        assert_eq!(got.len(), 1);
        assert!(err.is_none(), "{err:?}");
        f.extend(idb(false, 1, None));
        let (got, _, err) = read_bytes(&f);
        assert_eq!(got.len(), 1);
        let e = err.unwrap();
        assert!(e.to_string().contains("interfaces"), "{e}");
    }

    /// Seeded mutations of valid pcap and pcapng captures: no panic, and the counters stay
    /// consistent (every frame is counted once as a datagram, a fragment or a skip).
    #[test]
    fn mutated_captures_do_not_panic() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for i in 0..4u8 {
            w.write_frame(Duration::from_secs(u64::from(i)), &udp_eth(&[i; 40]))
                .unwrap();
        }
        let classic = w.finish().unwrap();
        let mut ng = shb(false);
        ng.extend(idb(false, 1, Some(9)));
        ng.extend(idb(false, 113, Some(0x85)));
        ng.extend(epb(false, 0, 1, &udp_eth(b"ng")));
        ng.extend(ng_block(
            false,
            SPB,
            &[&8u32.to_le_bytes()[..], &[1; 8]].concat(),
        ));
        ng.extend(epb(false, 1, 2, &[0; 16]));
        let mut rng = flute_testkit::Rng::new(14);
        for base in [&classic, &ng] {
            for _ in 0..3000 {
                let mut f = base.clone();
                for _ in 0..1 + rng.below(6) {
                    let at = rng.below(f.len() as u64) as usize;
                    f[at] = rng.below(256) as u8;
                }
                if rng.below(4) == 0 {
                    let cut = rng.below(f.len() as u64) as usize;
                    f.truncate(cut);
                }
                let Ok(mut r) = PcapReader::new(&f[..]) else {
                    continue;
                };
                let mut n = 0u64;
                while let Ok(Some(_)) = r.next_datagram() {
                    n += 1;
                }
                let s = r.stats();
                assert_eq!(s.udp, n);
                // Each frame is one of: a whole datagram, a fragment, not UDP, malformed;
                // a reassembled datagram that is not UDP adds one more malformed.
                let counted = s.udp - s.reassembled + s.fragments + s.not_udp + s.malformed;
                assert!(
                    (s.frames..=s.frames + s.fragments).contains(&counted),
                    "{s:?}"
                );
            }
        }
    }
}
