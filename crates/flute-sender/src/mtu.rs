//! How large an encoding symbol may be so that no packet of this sender exceeds an MTU.
//!
//! A datagram on the wire is IP header (20 bytes for IPv4 without options, 40 for IPv6) +
//! UDP header (8) + ALC packet (RFC 5775 §4: LCT header with its extensions, FEC Payload ID,
//! symbol). A sender writes two kinds of packets, and the symbol must fit in both:
//!
//! - data packets: the LCT header with the session's TSI and a TOI (counted here at 32 bits,
//!   room for four billion objects), EXT_FTI when [`SenderConfig::fti`] sends it, the
//!   scheme's FEC Payload ID;
//! - FDT packets (TOI 0, RFC 6726 §3.4.1): EXT_FDT, EXT_FTI of the FDT's own FEC scheme
//!   always, EXT_CENC with a compressed FDT, EXT_TIME when configured. The FDT is coded with
//!   [`SenderConfig::symbol_length`] too (unless [`SenderConfig::fdt_fec`] says otherwise).
//!
//! The functions are pure: the caller (the CLI, an application, the Python binding) finds
//! the MTU of its interface or path and asks here.

use fec_schemes::{FecScheme, Oti, PayloadId};
use lct_header::{ExtCenc, ExtFdt, ExtTime, Toi};

use alc::AlcRepr;

use crate::ContentEncoding;
use crate::config::{FtiMode, SenderConfig};

/// IP (20 bytes for IPv4 without options, 40 for IPv6) plus UDP (8) header bytes in front
/// of every datagram.
pub const fn ip_udp_overhead(ipv6: bool) -> usize {
    if ipv6 { 48 } else { 28 }
}

/// The largest ALC header (everything in front of the symbol) among the packets a sender
/// with `cfg` writes for objects coded with `scheme`: data packets and FDT packets.
pub fn max_alc_overhead(cfg: &SenderConfig, scheme: &dyn FecScheme) -> usize {
    // A representative OTI of the scheme: EXT_FTI and Payload ID lengths are the scheme's,
    // not the object's.
    let oti = scheme
        .oti_for(1 << 20, 1024, None, 0.2)
        .unwrap_or_else(|_| probe_oti(scheme));
    let data = AlcRepr::new(
        cfg.tsi,
        Toi(u128::from(u32::MAX)),
        &oti,
        PayloadId::default(),
    )
    .map(|mut h| {
        h.send_fti = cfg.fti != FtiMode::Never;
        h.header_len(scheme)
    })
    .unwrap_or(0);
    let fdt_oti = cfg.fdt_fec.clone().unwrap_or_else(|| {
        fec_schemes::schemes::no_code::CompactNoCode::oti(1 << 16, cfg.symbol_length, 64)
    });
    data.max(fdt_header_len(cfg, &fdt_oti))
}

/// The ALC header length of the FDT packets of a sender with `cfg` whose FDT Instances are
/// coded with `fdt_oti` (EXT_FDT, EXT_FTI, and EXT_CENC / EXT_TIME when configured). 0
/// when the OTI's scheme is not registered.
pub(crate) fn fdt_header_len(cfg: &SenderConfig, fdt_oti: &Oti) -> usize {
    let fdt_scheme = cfg.registry.for_oti(fdt_oti).ok();
    match (
        fdt_scheme,
        AlcRepr::new(cfg.tsi, Toi(0), fdt_oti, PayloadId::default()),
    ) {
        (Some(s), Ok(mut h)) => {
            h.send_fti = true;
            h.fdt = Some(ExtFdt {
                version: 2,
                instance_id: 0,
            });
            h.cenc = match cfg.fdt_encoding {
                ContentEncoding::Null => None,
                e => e.cenc_code().map(|_| ExtCenc { encoding: e }),
            };
            h.time = cfg.fdt_ext_time.then(|| ExtTime {
                sct_high: Some(0),
                sct_low: Some(0),
                ..ExtTime::default()
            });
            h.header_len(&**s)
        }
        _ => 0,
    }
}

/// The largest encoding symbol length that keeps every packet of a sender with `cfg`, for
/// objects coded with `scheme`, within `max_udp_payload` bytes of UDP payload. `None` when
/// not even a 1-byte symbol fits.
pub fn max_symbol_length(
    cfg: &SenderConfig,
    scheme: &dyn FecScheme,
    max_udp_payload: usize,
) -> Option<u16> {
    let room = max_udp_payload.checked_sub(max_alc_overhead(cfg, scheme))?;
    let room = u16::try_from(room).unwrap_or(u16::MAX);
    (room > 0).then_some(room)
}

/// [`max_symbol_length`] for a path MTU (IP header included) over IPv4 or IPv6.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Instant, SystemTime};
/// use fec_schemes::schemes::raptorq::RaptorQ;
/// use flute_sender::{AnchoredClock, SenderConfig, Tsi, max_symbol_length_for_mtu};
///
/// # #[allow(clippy::disallowed_methods)]
/// let cfg = SenderConfig::new(Tsi(1), Arc::new(AnchoredClock::new(Instant::now(), SystemTime::now())));
/// // 1500-byte Ethernet, IPv4: 1500 - 20 - 8 - 16 (LCT) - 16 (EXT_FTI) - 4 (Payload ID).
/// assert_eq!(max_symbol_length_for_mtu(&cfg, &RaptorQ, 1500, false), Some(1436));
/// // A 1280-byte IPv6 path: 1280 - 40 - 8 - 36.
/// assert_eq!(max_symbol_length_for_mtu(&cfg, &RaptorQ, 1280, true), Some(1196));
/// ```
pub fn max_symbol_length_for_mtu(
    cfg: &SenderConfig,
    scheme: &dyn FecScheme,
    mtu: usize,
    ipv6: bool,
) -> Option<u16> {
    max_symbol_length(cfg, scheme, mtu.checked_sub(ip_udp_overhead(ipv6))?)
}

/// An OTI that only serves to measure a scheme's header lengths when the scheme builds
/// none of its own.
fn probe_oti(scheme: &dyn FecScheme) -> Oti {
    let key = scheme.key();
    Oti {
        encoding_id: key.encoding_id,
        instance_id: key.instance_id,
        transfer_length: 1 << 20,
        encoding_symbol_length: 1024,
        max_source_block_length: 64,
        max_encoding_symbols: None,
        scheme_specific: fec_schemes::SchemeSpecific::None,
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Instant::now as the origin of virtual time
mod tests {
    use std::sync::Arc;
    use std::time::{Instant, SystemTime};

    use fec_schemes::schemes::rs::RsSmallBlock;
    use fec_schemes::schemes::{no_code::CompactNoCode, raptorq::RaptorQ, rs::RsGf2m, rs::RsGf28};

    use super::*;
    use crate::{AnchoredClock, Tsi};

    fn cfg() -> SenderConfig {
        SenderConfig::new(
            Tsi(1),
            Arc::new(AnchoredClock::new(Instant::now(), SystemTime::now())),
        )
    }

    /// RFC 5651 §5.1: a data packet's LCT header with TSI 1 and a 32-bit TOI is 16 bytes
    /// (4 + CCI 4 + TSI and TOI in 8); an FDT packet's (TOI 0) is 12 (16-bit TSI and TOI,
    /// H = 1) + EXT_FDT 4 + EXT_FTI of Compact No-Code 16 + Payload ID 4 = 36. RFC 5775 §5.2
    /// EXT_FTI lengths per scheme (ID 5: 12 bytes), Payload IDs of 4 or 8 bytes.
    #[test]
    fn overhead_per_scheme_and_ip_version() {
        let c = cfg();
        // Ethernet MTU 1500, IPv4 and IPv6.
        for (scheme, pid, fti) in [
            (&CompactNoCode as &dyn FecScheme, 4, 16),
            (&RaptorQ, 4, 16),
            (&RsGf28, 4, 12),
            (&RsGf2m, 4, 16),
            (&RsSmallBlock, 8, 16),
        ] {
            let lct = 16;
            let data = lct + fti + pid;
            let overhead = data.max(36);
            assert_eq!(max_alc_overhead(&c, scheme), overhead, "{}", scheme.name());
            assert_eq!(
                max_symbol_length_for_mtu(&c, scheme, 1500, false),
                Some((1500 - 28 - overhead) as u16),
                "{}",
                scheme.name()
            );
            assert_eq!(
                max_symbol_length_for_mtu(&c, scheme, 1280, true),
                Some((1280 - 48 - overhead) as u16),
                "{}",
                scheme.name()
            );
        }
    }

    #[test]
    fn fdt_extensions_and_fti_mode_change_the_overhead() {
        let mut c = cfg();
        c.fdt_ext_time = true; // + 12 (EXT_TIME with SCT high and low)
        c.fdt_encoding = ContentEncoding::Gzip; // + 4 (EXT_CENC)
        assert_eq!(max_alc_overhead(&c, &RaptorQ), 36 + 12 + 4);
        let mut c = cfg();
        c.fti = FtiMode::Never;
        // Data packets lose EXT_FTI (16 + 4 = 20), the FDT packet (36) decides.
        assert_eq!(max_alc_overhead(&c, &RaptorQ), 36);
        c.fdt_ext_time = false;
        assert_eq!(max_alc_overhead(&cfg(), &RaptorQ), 36);
    }

    #[test]
    fn tiny_or_absurd_mtus() {
        let c = cfg();
        // 28 bytes of IP and UDP, 36 of ALC.
        assert_eq!(max_symbol_length_for_mtu(&c, &RaptorQ, 64, false), None);
        assert_eq!(max_symbol_length_for_mtu(&c, &RaptorQ, 27, false), None);
        assert_eq!(max_symbol_length_for_mtu(&c, &RaptorQ, 65, false), Some(1));
        assert_eq!(
            max_symbol_length_for_mtu(&c, &RaptorQ, usize::MAX, false),
            Some(u16::MAX)
        );
    }

    /// The arithmetic agrees with what the sender really writes: at the largest symbol
    /// length for an MTU, no datagram of a session is larger than MTU − IP − UDP, and the
    /// largest is at most 4 bytes short of it (the TOI of this session has 16 bits, where
    /// the computation leaves room for 32).
    #[test]
    fn largest_datagram_fills_the_mtu_exactly() {
        use bytes::Bytes;

        use crate::{Object, Sender};
        for (mtu, ipv6) in [(1500usize, false), (1400, false), (1280, true)] {
            let mut c = cfg();
            let e = max_symbol_length_for_mtu(&c, &RaptorQ, mtu, ipv6).unwrap();
            c.symbol_length = e;
            c.max_datagram_size = mtu - ip_udp_overhead(ipv6);
            let now = Instant::now();
            let mut s = Sender::new(c).unwrap();
            let data = Bytes::from(vec![7u8; 100_000]);
            let obj = Object::from_bytes("file:///a", data)
                .fec_with(move |len| RaptorQ.oti_for(len, e, None, 0.0).unwrap());
            s.insert_object(obj, now).unwrap();
            s.close();
            let mut buf = vec![0u8; 65_536];
            let mut largest = 0;
            let mut t = now;
            for _ in 0..10_000 {
                match s.poll_transmit(t, &mut buf) {
                    Some(tx) => largest = largest.max(tx.len),
                    None => match s.poll_timeout() {
                        Some(next) => {
                            t = next.max(t);
                            s.handle_timeout(t);
                        }
                        None => break,
                    },
                }
            }
            let sent = largest + ip_udp_overhead(ipv6);
            assert!(
                sent <= mtu && sent + 4 >= mtu,
                "MTU {mtu}: largest datagram {sent}"
            );
        }
    }
}
