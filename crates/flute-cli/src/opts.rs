//! Argument value parsers and the mapping from command-line choices to sender settings.

use std::time::Duration;

use clap::ValueEnum;
use fec_schemes::Oti;
use fec_schemes::schemes::ldpc_staircase::{self, LdpcStaircase};
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptor::Raptor;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, RsSmallBlock};

/// Parses a number with an optional SI suffix (k, M, G; ×1000) or binary suffix (Ki, Mi,
/// Gi), e.g. `100M`, `1.5G`, `8Mi`. A trailing `b`/`bit`/`bps`/`B` is ignored.
fn parse_si(s: &str, what: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t
        .trim_end_matches("bps")
        .trim_end_matches("bit")
        .trim_end_matches(['b', 'B']);
    let (num, mult) = if let Some(n) = t.strip_suffix("Ki").or_else(|| t.strip_suffix("KiB")) {
        (n, 1024.0)
    } else if let Some(n) = t.strip_suffix("Mi") {
        (n, 1024.0 * 1024.0)
    } else if let Some(n) = t.strip_suffix("Gi") {
        (n, 1024.0 * 1024.0 * 1024.0)
    } else if let Some(n) = t.strip_suffix(['k', 'K']) {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix('M') {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('G') {
        (n, 1e9)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid {what} {s:?} (examples: 100M, 1.5G, 8Mi, 64k)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("invalid {what} {s:?}: must be a positive number"));
    }
    Ok(v * mult)
}

/// A bit rate in bits per second (`100M` = 100 Mbit/s).
pub(crate) fn parse_rate(s: &str) -> Result<u64, String> {
    let v = parse_si(s, "rate")?;
    if v < 1000.0 {
        return Err(format!("rate {s:?} is below 1 kbit/s"));
    }
    Ok(v as u64)
}

/// A size in bytes (`8M` = 8 000 000, `8Mi` = 8 388 608).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    Ok(parse_si(s, "size")? as u64)
}

/// A percentage (`20%` or `20`), 0 to 1000.
pub(crate) fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim().trim_end_matches('%');
    let v: f64 = t
        .parse()
        .map_err(|_| format!("invalid percentage {s:?} (example: 20%)"))?;
    if !(0.0..=1000.0).contains(&v) {
        return Err(format!("percentage {s:?} out of range 0..1000%"));
    }
    Ok(v)
}

/// A duration in seconds (fractions allowed).
pub(crate) fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("invalid number of seconds {s:?}"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("invalid number of seconds {s:?}"))
}

/// `N` passes or `forever`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CarouselArg {
    /// Send every object this many times.
    Times(u32),
    /// Until Ctrl-C.
    Forever,
}

pub(crate) fn parse_carousel(s: &str) -> Result<CarouselArg, String> {
    match s.trim() {
        "forever" | "inf" | "infinite" => Ok(CarouselArg::Forever),
        n => match n.parse::<u32>() {
            Ok(0) | Err(_) => Err(format!(
                "invalid carousel {s:?}: a number of passes >= 1, or `forever`"
            )),
            Ok(v) => Ok(CarouselArg::Times(v)),
        },
    }
}

/// FEC schemes selectable on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FecArg {
    /// Compact No-Code (FEC Encoding ID 0, RFC 5445).
    Nocode,
    /// Reed-Solomon over GF(2^8) (FEC Encoding ID 5, RFC 5510).
    Rs,
    /// Reed-Solomon over GF(2^m), m = 8 (FEC Encoding ID 2, RFC 5510).
    Rs2m,
    /// Reed-Solomon, Small Block Systematic (FEC Encoding ID 129 / Instance 0, RFC 5510).
    Rs129,
    /// Raptor (FEC Encoding ID 1, RFC 5053).
    Raptor,
    /// RaptorQ (FEC Encoding ID 6, RFC 6330).
    Raptorq,
    /// LDPC-Staircase (FEC Encoding ID 3, RFC 5170), N1 = 3, PRNG seed 1.
    Ldpc,
}

impl FecArg {
    /// The scheme's name as people write it, with its FEC Encoding ID.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Nocode => "Compact No-Code (ID 0)",
            Self::Rs => "Reed-Solomon GF(2^8) (ID 5)",
            Self::Rs2m => "Reed-Solomon GF(2^m) (ID 2)",
            Self::Rs129 => "Reed-Solomon Small Block (ID 129)",
            Self::Raptor => "Raptor (ID 1)",
            Self::Raptorq => "RaptorQ (ID 6)",
            Self::Ldpc => "LDPC-Staircase (ID 3)",
        }
    }

    /// Default repair overhead when `--repair` is not given.
    pub(crate) fn default_repair(self) -> f64 {
        if self == Self::Nocode { 0.0 } else { 20.0 }
    }

    /// The OTI for an object of `len` bytes with symbol length `e`, repair `repair_pct`
    /// and a maximum source block length `b` (symbols) where the scheme has one.
    pub(crate) fn oti(self, len: u64, e: u16, b: Option<u32>, repair_pct: f64) -> Oti {
        let factor = 1.0 + repair_pct / 100.0;
        // RS over GF(2^8): n = k + repair <= 255 (RFC 5510 §8.1).
        let rs_b = || {
            let fit = ((255.0 / factor).floor() as u32).clamp(1, 255);
            b.unwrap_or(200).clamp(1, fit)
        };
        let rs_n = |k: u32| ((f64::from(k) * factor).ceil() as u32).clamp(k, 255);
        match self {
            Self::Nocode => CompactNoCode::oti(len, e, b.unwrap_or(64)),
            Self::Rs => {
                let k = rs_b();
                RsGf28::oti(len, e, k, rs_n(k))
            }
            Self::Rs2m => {
                let k = rs_b();
                RsGf2m::oti(len, e, k, rs_n(k), 8, 1)
            }
            Self::Rs129 => {
                let k = rs_b();
                RsSmallBlock::oti(len, e, k, rs_n(k))
            }
            Self::Raptor => {
                // RFC 5053 defines 4 <= K <= 8192 per block: tiny objects get smaller
                // symbols, and objects under 4 bytes go without FEC.
                if len > 0 && len < 4 {
                    return CompactNoCode::oti(len, e, b.unwrap_or(64));
                }
                if len > 0 && len.div_ceil(u64::from(e.max(1))) < 4 {
                    let t = u16::try_from(len / 4).unwrap_or(e).max(1);
                    return Raptor::oti(len, t, 1, 1, 1);
                }
                let kt = len.div_ceil(u64::from(e.max(1))).max(1);
                let max_k = u64::from(b.unwrap_or(1024).clamp(4, 8192));
                let z = u16::try_from(kt.div_ceil(max_k)).unwrap_or(u16::MAX).max(1);
                Raptor::oti(len, e, z, 1, al_for(e))
            }
            Self::Raptorq => RaptorQ::oti_for(len, e, b.unwrap_or(1024))
                .or_else(|| RaptorQ::oti_for(len, e, 56_403))
                .unwrap_or_else(|| RaptorQ::oti(len, e, 255, 1, 1)),
            Self::Ldpc => {
                // B and max_n are 16-bit on the wire and the SBN 12-bit (RFC 5170 §4):
                // B grows past the default when the object needs more than 4096 blocks.
                let kt = len.div_ceil(u64::from(e.max(1)));
                let need = u32::try_from(kt.div_ceil(4096)).unwrap_or(u32::MAX);
                let b = b.unwrap_or(1024).max(need).clamp(1, 50_000);
                let max_n = ((f64::from(b) * factor).ceil() as u32).clamp(b, 65_535);
                LdpcStaircase::oti(len, e, b, max_n, ldpc_staircase::DEFAULT_N1, 1)
            }
        }
    }
}

/// Symbol alignment: the largest of 8, 4, 2, 1 dividing the symbol size.
fn al_for(e: u16) -> u8 {
    [8u16, 4, 2, 1]
        .into_iter()
        .find(|a| e % a == 0)
        .unwrap_or(1) as u8
}

/// Content encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CencArg {
    /// No encoding.
    None,
    /// ZLIB (RFC 1950).
    Zlib,
    /// DEFLATE (RFC 1951).
    Deflate,
    /// GZIP (RFC 1952).
    Gzip,
    /// Zstandard (outside RFC 6726's list; our receiver does not decode it).
    Zstd,
}

impl CencArg {
    pub(crate) fn to_sender(self) -> flute_sender::ContentEncoding {
        use flute_sender::ContentEncoding as C;
        match self {
            Self::None => C::Null,
            Self::Zlib => C::Zlib,
            Self::Deflate => C::Deflate,
            Self::Gzip => C::Gzip,
            Self::Zstd => C::Zstd,
        }
    }
}

/// FLUTE profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProfileArg {
    /// RFC 6726 (FLUTE version 2).
    Rfc6726,
    /// RFC 3926 (FLUTE version 1).
    Rfc3926,
    /// 3GPP TS 26.346 MBMS download.
    #[value(name = "3gpp")]
    Mbms,
}

impl ProfileArg {
    pub(crate) fn to_sender(self) -> flute_sender::Profile {
        match self {
            Self::Rfc6726 => flute_sender::Profile::Rfc6726,
            Self::Rfc3926 => flute_sender::Profile::Rfc3926,
            Self::Mbms => flute_sender::Profile::Mbms,
        }
    }
}

/// Human-readable byte count.
pub(crate) fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if f >= 1e9 {
        format!("{:.2} GB", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.2} MB", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.1} kB", f / 1e3)
    } else {
        format!("{n} B")
    }
}

/// Human-readable bit rate.
pub(crate) fn human_rate(bits_per_sec: f64) -> String {
    if bits_per_sec >= 1e9 {
        format!("{:.2} Gbit/s", bits_per_sec / 1e9)
    } else if bits_per_sec >= 1e6 {
        format!("{:.1} Mbit/s", bits_per_sec / 1e6)
    } else {
        format!("{:.1} kbit/s", bits_per_sec / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_rate("100M").unwrap(), 100_000_000);
        assert_eq!(parse_rate("1.5G").unwrap(), 1_500_000_000);
        assert_eq!(parse_rate("64kbps").unwrap(), 64_000);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("-1M").is_err());
        assert_eq!(parse_size("8M").unwrap(), 8_000_000);
        assert_eq!(parse_size("8Mi").unwrap(), 8 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_percent("20%").unwrap(), 20.0);
        assert!(parse_percent("abc").is_err());
        assert_eq!(parse_carousel("3").unwrap(), CarouselArg::Times(3));
        assert_eq!(parse_carousel("forever").unwrap(), CarouselArg::Forever);
        assert!(parse_carousel("0").is_err());
    }

    #[test]
    fn otis_are_valid_for_their_scheme() {
        let reg = fec_schemes::FecRegistry::with_builtin();
        for fec in [
            FecArg::Nocode,
            FecArg::Rs,
            FecArg::Rs2m,
            FecArg::Rs129,
            FecArg::Raptor,
            FecArg::Raptorq,
            FecArg::Ldpc,
        ] {
            for len in [0u64, 1, 1400, 1_000_000, 8_000_000] {
                let oti = fec.oti(len, 1400, None, 20.0);
                let scheme = reg
                    .for_oti(&oti)
                    .unwrap_or_else(|e| panic!("{fec:?} {len}: {e}"));
                if len > 0 {
                    scheme
                        .blocking(&oti)
                        .unwrap_or_else(|e| panic!("{fec:?} {len}: {e}"));
                }
            }
        }
    }
}
