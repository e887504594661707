//! Capture files as a packet source and sink.
//!
//! - [`PcapWriter`] writes classic pcap (nanosecond timestamps, link type Ethernet) with
//!   Ethernet, IPv4 or IPv6, and UDP headers filled in, checksums included (RFC 791 header
//!   checksum, RFC 768 / RFC 8200 §8.1 UDP checksum over the pseudo-header).
//! - [`PcapReader`] reads classic pcap (µs or ns, either byte order) and pcapng (SHB, IDB
//!   with `if_tsresol`, EPB, SPB, the obsolete PB), with link types Ethernet (VLAN tags
//!   skipped), Linux cooked capture v1 and v2, raw IP and BSD null/loop. Fragmented UDP
//!   datagrams (IPv4, and IPv6 with a Fragment header) are reassembled, within the bounds
//!   documented in `reassembly.rs` (64 datagrams in progress, 65 535 bytes each, 60 s of
//!   capture time; overlapping fragments discard the datagram, RFC 5722). Anything else
//!   that is not a UDP datagram is skipped; everything is counted in [`ReadStats`].
//!
//! The reader never panics on any byte input and never allocates more than
//! [`MAX_RECORD`] bytes for one record.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

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

/// Builds an Ethernet frame carrying `payload` in UDP from `src` to `dst` (same family),
/// with valid IPv4 header and UDP checksums. `ip_id` fills the IPv4 Identification field.
pub fn build_udp_frame(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
    ip_id: u16,
    ttl: u8,
) -> io::Result<Vec<u8>> {
    let udp_len = payload.len() + 8;
    let mut f = Vec::with_capacity(14 + 40 + udp_len);
    f.extend_from_slice(&mac_for(dst.ip(), 2));
    f.extend_from_slice(&mac_for(src.ip(), 1));
    let mut udp = [0u8; 8];
    udp[0..2].copy_from_slice(&src.port().to_be_bytes());
    udp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = 20 + udp_len;
            let total16 = u16::try_from(total).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "datagram too large for IPv4")
            })?;
            udp[4..6].copy_from_slice(&(udp_len as u16).to_be_bytes());
            let pseudo = [
                &s.octets()[..],
                &d.octets()[..],
                &[0, 17],
                &(udp_len as u16).to_be_bytes(),
            ]
            .concat();
            let mut c = internet_checksum(&[&pseudo, &udp, payload]);
            if c == 0 {
                c = 0xffff; // RFC 768: a computed zero is sent as all ones
            }
            udp[6..8].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&[0x08, 0x00]);
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total16.to_be_bytes());
            ip[4..6].copy_from_slice(&ip_id.to_be_bytes());
            ip[6] = 0x40; // DF
            ip[8] = ttl;
            ip[9] = 17;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let hc = internet_checksum(&[&ip]);
            ip[10..12].copy_from_slice(&hc.to_be_bytes());
            f.extend_from_slice(&ip);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let plen = u16::try_from(udp_len).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "datagram too large (jumbograms unsupported)",
                )
            })?;
            udp[4..6].copy_from_slice(&plen.to_be_bytes());
            let pseudo = [
                &s.octets()[..],
                &d.octets()[..],
                &(udp_len as u32).to_be_bytes(),
                &[0, 0, 0, 17],
            ]
            .concat();
            let mut c = internet_checksum(&[&pseudo, &udp, payload]);
            if c == 0 {
                c = 0xffff;
            }
            udp[6..8].copy_from_slice(&c.to_be_bytes());
            f.extend_from_slice(&[0x86, 0xdd]);
            let mut ip = [0u8; 40];
            ip[0] = 0x60;
            ip[4..6].copy_from_slice(&plen.to_be_bytes());
            ip[6] = 17;
            ip[7] = ttl;
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            f.extend_from_slice(&ip);
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "source and destination of different IP families",
            ));
        }
    }
    f.extend_from_slice(&udp);
    f.extend_from_slice(payload);
    Ok(f)
}

/// Writes UDP datagrams to a classic pcap file (nanosecond resolution, Ethernet).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    w: W,
    ip_id: u16,
    packets: u64,
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
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes()); // nanosecond pcap
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&262_144u32.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        w.write_all(&h)?;
        Ok(Self {
            w,
            ip_id: 1,
            packets: 0,
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
        let frame = build_udp_frame(src, dst, payload, self.ip_id, 64)?;
        self.ip_id = self.ip_id.wrapping_add(1);
        self.write_frame(ts, &frame)
    }

    /// Appends one raw Ethernet frame (for tests that need malformed frames).
    pub fn write_frame(&mut self, ts: Duration, frame: &[u8]) -> io::Result<()> {
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let secs = u32::try_from(ts.as_secs()).unwrap_or(u32::MAX);
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&ts.subsec_nanos().to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        self.w.write_all(&rec)?;
        self.w.write_all(frame)?;
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

/// (link type, timestamp, frame bytes)
type Frame = (u32, Option<Duration>, Vec<u8>);

#[derive(Debug)]
enum Format {
    Classic {
        big_endian: bool,
        nanos: bool,
        linktype: u32,
    },
    Ng {
        big_endian: bool,
        ifaces: Vec<(u32, u64)>,
    }, // (linktype, ticks per second)
}

/// Reads UDP datagrams from a pcap or pcapng stream.
#[derive(Debug)]
pub struct PcapReader<R: Read> {
    r: R,
    format: Format,
    stats: ReadStats,
    reassembler: Reassembler,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn u32_at(b: &[u8], off: usize, be: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

fn u16_at(b: &[u8], off: usize, be: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of file before the first byte.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "capture file truncated",
                ));
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

impl PcapReader<BufReader<File>> {
    /// Opens a capture file.
    pub fn open(path: &Path) -> io::Result<Self> {
        let f = File::open(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
        })?;
        Self::new(BufReader::with_capacity(1 << 20, f))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header and detects the format.
    pub fn new(mut r: R) -> io::Result<Self> {
        let mut magic = [0u8; 4];
        if !read_full(&mut r, &mut magic)? {
            return Err(bad("empty capture file"));
        }
        let le = u32::from_le_bytes(magic);
        let format = match le {
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => {
                let mut rest = [0u8; 20];
                if !read_full(&mut r, &mut rest)? {
                    return Err(bad("pcap header truncated"));
                }
                let big_endian = matches!(le, 0xd4c3_b2a1 | 0x4d3c_b2a1);
                let nanos = matches!(le, 0xa1b2_3c4d | 0x4d3c_b2a1);
                let linktype = u32_at(&rest, 16, big_endian).unwrap_or(0) & 0x0fff_ffff;
                Format::Classic {
                    big_endian,
                    nanos,
                    linktype,
                }
            }
            0x0a0d_0d0a => {
                let mut me = Self {
                    r,
                    format: Format::Ng {
                        big_endian: false,
                        ifaces: Vec::new(),
                    },
                    stats: ReadStats::default(),
                    reassembler: Reassembler::default(),
                };
                me.read_shb_rest()?;
                return Ok(me);
            }
            _ => return Err(bad(format!("not a pcap or pcapng file (magic {le:#010x})"))),
        };
        Ok(Self {
            r,
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

    /// After the SHB block type has been read: reads its length and body, sets byte order.
    fn read_shb_rest(&mut self) -> io::Result<()> {
        let mut hdr = [0u8; 8];
        if !read_full(&mut self.r, &mut hdr)? {
            return Err(bad("pcapng section header truncated"));
        }
        let big_endian = match u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) {
            0x1a2b_3c4d => false,
            0x4d3c_2b1a => true,
            _ => return Err(bad("pcapng section header with a bad byte-order magic")),
        };
        let total = u32_at(&hdr, 0, big_endian).unwrap_or(0) as usize;
        if !(28..=MAX_RECORD).contains(&total) || total % 4 != 0 {
            return Err(bad(format!("pcapng section header length {total} invalid")));
        }
        let mut body = vec![0u8; total - 12];
        if !read_full(&mut self.r, &mut body)? {
            return Err(bad("pcapng section header truncated"));
        }
        self.format = Format::Ng {
            big_endian,
            ifaces: Vec::new(),
        };
        Ok(())
    }

    /// Returns the next UDP datagram, or `None` at the end of the capture.
    pub fn next_datagram(&mut self) -> io::Result<Option<CapturedDatagram>> {
        loop {
            let Some((linktype, ts, frame)) = self.next_frame()? else {
                // Fragments of datagrams that never completed will not complete now.
                self.reassembler.give_up();
                return Ok(None);
            };
            self.stats.frames += 1;
            let frame_no = self.stats.frames;
            match parse_frame(linktype, &frame) {
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
                    match parse_udp(src, dst, &ip_payload) {
                        Ok(Parsed::Udp(src, dst, payload)) => {
                            self.stats.udp += 1;
                            self.stats.reassembled += 1;
                            return Ok(Some(CapturedDatagram {
                                ts,
                                src,
                                dst,
                                payload: payload.to_vec(),
                            }));
                        }
                        _ => self.stats.malformed += 1,
                    }
                }
                Err(Skip::NotUdp) => self.stats.not_udp += 1,
                Err(Skip::Malformed) => self.stats.malformed += 1,
            }
        }
    }

    fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        match &mut self.format {
            Format::Classic {
                big_endian,
                nanos,
                linktype,
            } => {
                let (be, nanos, lt) = (*big_endian, *nanos, *linktype);
                let mut rec = [0u8; 16];
                if !read_full(&mut self.r, &mut rec)? {
                    return Ok(None);
                }
                let secs = u64::from(u32_at(&rec, 0, be).unwrap_or(0));
                let frac = u32_at(&rec, 4, be).unwrap_or(0);
                let caplen = u32_at(&rec, 8, be).unwrap_or(0) as usize;
                if caplen > MAX_RECORD {
                    return Err(bad(format!(
                        "pcap record of {caplen} bytes exceeds the {MAX_RECORD}-byte limit"
                    )));
                }
                let mut data = vec![0u8; caplen];
                if !read_full(&mut self.r, &mut data)? && caplen > 0 {
                    return Err(bad("pcap record truncated"));
                }
                let nanos_v = if nanos {
                    u64::from(frac)
                } else {
                    u64::from(frac) * 1000
                };
                let ts = Duration::from_secs(secs) + Duration::from_nanos(nanos_v.min(999_999_999));
                Ok(Some((lt, Some(ts), data)))
            }
            Format::Ng { .. } => self.next_ng_frame(),
        }
    }

    fn next_ng_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let mut head = [0u8; 8];
            if !read_full(&mut self.r, &mut head)? {
                return Ok(None);
            }
            let Format::Ng { big_endian, .. } = &self.format else {
                return Ok(None);
            };
            let be = *big_endian;
            let btype = u32_at(&head, 0, be).unwrap_or(0);
            if btype == 0x0a0d_0d0a {
                self.read_shb_rest()?;
                continue;
            }
            let total = u32_at(&head, 4, be).unwrap_or(0) as usize;
            if !(12..=MAX_RECORD).contains(&total) || total % 4 != 0 {
                return Err(bad(format!("pcapng block length {total} invalid")));
            }
            let mut body = vec![0u8; total - 8];
            if !read_full(&mut self.r, &mut body)? {
                return Err(bad("pcapng block truncated"));
            }
            let body = &body[..body.len() - 4]; // trailing length copy
            let Format::Ng { ifaces, .. } = &mut self.format else {
                return Ok(None);
            };
            match btype {
                1 => {
                    // Interface Description Block
                    let lt = u32::from(u16_at(body, 0, be).unwrap_or(0));
                    let mut tps = 1_000_000u64;
                    let mut off = 8;
                    while let (Some(code), Some(len)) =
                        (u16_at(body, off, be), u16_at(body, off + 2, be))
                    {
                        if code == 0 {
                            break;
                        }
                        if code == 9 && len >= 1 {
                            if let Some(&v) = body.get(off + 4) {
                                let exp = u32::from(v & 0x7f);
                                tps = if v & 0x80 == 0 {
                                    10u64.checked_pow(exp)
                                } else {
                                    2u64.checked_pow(exp)
                                }
                                .unwrap_or(1_000_000);
                            }
                        }
                        off += 4 + usize::from(len).div_ceil(4) * 4;
                    }
                    ifaces.push((lt, tps.max(1)));
                }
                6 | 2 => {
                    // Enhanced Packet Block / obsolete Packet Block
                    let (iface, ts_hi, ts_lo, caplen) = if btype == 6 {
                        (
                            u32_at(body, 0, be),
                            u32_at(body, 4, be),
                            u32_at(body, 8, be),
                            u32_at(body, 12, be),
                        )
                    } else {
                        (
                            u16_at(body, 0, be).map(u32::from),
                            u32_at(body, 4, be),
                            u32_at(body, 8, be),
                            u32_at(body, 12, be),
                        )
                    };
                    let (Some(iface), Some(hi), Some(lo), Some(caplen)) =
                        (iface, ts_hi, ts_lo, caplen)
                    else {
                        return Err(bad("pcapng packet block truncated"));
                    };
                    let Some(&(lt, tps)) = ifaces.get(iface as usize) else {
                        return Err(bad(format!(
                            "pcapng packet for undeclared interface {iface}"
                        )));
                    };
                    let data = body
                        .get(20..20 + caplen as usize)
                        .ok_or_else(|| bad("pcapng packet data truncated"))?;
                    let ticks = (u64::from(hi) << 32) | u64::from(lo);
                    let ts = Duration::from_secs(ticks / tps)
                        + Duration::from_nanos(
                            ((ticks % tps) as u128 * 1_000_000_000 / tps as u128) as u64,
                        );
                    return Ok(Some((lt, Some(ts), data.to_vec())));
                }
                3 => {
                    // Simple Packet Block: interface 0, no timestamp
                    let Some(&(lt, _)) = ifaces.first() else {
                        return Err(bad("pcapng simple packet before any interface"));
                    };
                    let orig = u32_at(body, 0, be).unwrap_or(0) as usize;
                    let data = body.get(4..).unwrap_or(&[]);
                    return Ok(Some((lt, None, data[..orig.min(data.len())].to_vec())));
                }
                _ => {} // statistics, name resolution, custom blocks: skipped
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

/// Extracts (source, destination, UDP payload) from a link-layer frame.
fn parse_frame(linktype: u32, f: &[u8]) -> ParseResult<'_> {
    match linktype {
        LINKTYPE_ETHERNET => {
            let mut ethertype = u16_at(f, 12, true).ok_or(Skip::Malformed)?;
            let mut off = 14;
            while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                ethertype = u16_at(f, off + 2, true).ok_or(Skip::Malformed)?;
                off += 4;
            }
            parse_ethertype(ethertype, f.get(off..).ok_or(Skip::Malformed)?)
        }
        LINKTYPE_LINUX_SLL => {
            let et = u16_at(f, 14, true).ok_or(Skip::Malformed)?;
            parse_ethertype(et, f.get(16..).ok_or(Skip::Malformed)?)
        }
        LINKTYPE_LINUX_SLL2 => {
            let et = u16_at(f, 0, true).ok_or(Skip::Malformed)?;
            parse_ethertype(et, f.get(20..).ok_or(Skip::Malformed)?)
        }
        LINKTYPE_RAW | LINKTYPE_RAW_OLD | LINKTYPE_IPV4 | LINKTYPE_IPV6 => {
            match f.first().map(|b| b >> 4) {
                Some(4) => parse_ipv4(f),
                Some(6) => parse_ipv6(f),
                _ => Err(Skip::NotUdp),
            }
        }
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
            let rest = &f[4..];
            match fam {
                2 => parse_ipv4(rest),
                24 | 28 | 30 => parse_ipv6(rest),
                _ => Err(Skip::NotUdp),
            }
        }
        _ => Err(Skip::NotUdp),
    }
}

fn parse_ethertype(et: u16, p: &[u8]) -> ParseResult<'_> {
    match et {
        0x0800 => parse_ipv4(p),
        0x86dd => parse_ipv6(p),
        _ => Err(Skip::NotUdp),
    }
}

fn parse_ipv4(p: &[u8]) -> ParseResult<'_> {
    let v_ihl = *p.first().ok_or(Skip::Malformed)?;
    if v_ihl >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let ihl = usize::from(v_ihl & 0x0f) * 4;
    let total = usize::from(u16_at(p, 2, true).ok_or(Skip::Malformed)?);
    if ihl < 20 || total < ihl || p.len() < total {
        return Err(Skip::Malformed);
    }
    if p[9] != 17 {
        return Err(Skip::NotUdp);
    }
    let src = IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19]));
    // Flags and Fragment Offset (RFC 791 §3.1): MF = 0x2000, offset in 8-byte units.
    let frag = u16_at(p, 6, true).ok_or(Skip::Malformed)?;
    if frag & 0x3fff != 0 {
        return Ok(Parsed::Fragment(Fragment {
            key: FragKey {
                src,
                dst,
                id: u32::from(u16_at(p, 4, true).ok_or(Skip::Malformed)?),
            },
            offset: usize::from(frag & 0x1fff) * 8,
            more: frag & 0x2000 != 0,
            data: &p[ihl..total],
        }));
    }
    parse_udp(src, dst, &p[ihl..total])
}

fn parse_ipv6(p: &[u8]) -> ParseResult<'_> {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let plen = usize::from(u16_at(p, 4, true).ok_or(Skip::Malformed)?);
    let body = p.get(40..40 + plen).ok_or(Skip::Malformed)?;
    let src = IpAddr::V6(Ipv6Addr::from(
        <[u8; 16]>::try_from(&p[8..24]).map_err(|_| Skip::Malformed)?,
    ));
    let dst = IpAddr::V6(Ipv6Addr::from(
        <[u8; 16]>::try_from(&p[24..40]).map_err(|_| Skip::Malformed)?,
    ));
    let mut next = p[6];
    let mut off = 0usize;
    loop {
        match next {
            17 => return parse_udp(src, dst, body.get(off..).ok_or(Skip::Malformed)?),
            0 | 43 | 60 => {
                let nh = *body.get(off).ok_or(Skip::Malformed)?;
                let len = (usize::from(*body.get(off + 1).ok_or(Skip::Malformed)?) + 1) * 8;
                next = nh;
                off += len;
            }
            44 => {
                // Fragment header (RFC 8200 §4.5): next header, reserved, offset (13 bits)
                // | res (2) | M, Identification (32).
                let h = body.get(off..off + 8).ok_or(Skip::Malformed)?;
                if h[0] != 17 {
                    return Err(Skip::NotUdp);
                }
                let v = u16::from_be_bytes([h[2], h[3]]);
                let (offset, more) = (usize::from(v >> 3) * 8, v & 1 != 0);
                let data = &body[off + 8..];
                if offset == 0 && !more {
                    // An atomic fragment (RFC 6946): the whole datagram.
                    return parse_udp(src, dst, data);
                }
                return Ok(Parsed::Fragment(Fragment {
                    key: FragKey {
                        src,
                        dst,
                        id: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    },
                    offset,
                    more,
                    data,
                }));
            }
            _ => return Err(Skip::NotUdp),
        }
    }
}

fn parse_udp(src: IpAddr, dst: IpAddr, u: &[u8]) -> ParseResult<'_> {
    let sport = u16_at(u, 0, true).ok_or(Skip::Malformed)?;
    let dport = u16_at(u, 2, true).ok_or(Skip::Malformed)?;
    let len = usize::from(u16_at(u, 4, true).ok_or(Skip::Malformed)?);
    // A zero length is legal for IPv6 jumbograms only; take the rest of the packet then.
    let end = if len == 0 { u.len() } else { len };
    if end < 8 || u.len() < end {
        return Err(Skip::Malformed);
    }
    Ok(Parsed::Udp(
        SocketAddr::new(src, sport),
        SocketAddr::new(dst, dport),
        &u[8..end],
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
}
