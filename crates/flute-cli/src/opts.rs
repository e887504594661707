//! Argument value parsers and the mapping from command-line choices to sender settings.

use std::time::Duration;

use std::sync::Arc;

use clap::ValueEnum;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::{
    FecEncodingId, FecInstanceId, FecRegistry, FecScheme, Oti, SchemeKey, SchemeSpecific,
};

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

/// `--rate`: a bit rate, or `max` (as fast as the host and the socket allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateArg {
    /// No pacing.
    Max,
    /// Bits per second on the wire.
    Bits(u64),
}

/// Parses `--rate`: `max`, or a bit rate as for [`parse_rate`].
pub(crate) fn parse_rate_arg(s: &str) -> Result<RateArg, String> {
    if s.trim().eq_ignore_ascii_case("max") {
        Ok(RateArg::Max)
    } else {
        parse_rate(s).map(RateArg::Bits)
    }
}

/// A socket address given as `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT` (host names are
/// resolved; the first address is used).
pub(crate) fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let addr = match s.parse::<std::net::SocketAddr>() {
        Ok(a) => a,
        Err(_) if !s.contains(':') => {
            return Err(format!(
                "{s:?} has no port: give ADDRESS:PORT, e.g. 239.255.1.1:3400 or [ff05::1]:3400"
            ));
        }
        Err(_) => s
            .to_socket_addrs()
            .map_err(|e| {
                format!(
                    "cannot resolve {s:?} ({e}): give an IP address and port, e.g. \
                     239.255.1.1:3400, or a host name this machine can resolve"
                )
            })?
            .next()
            .ok_or_else(|| format!("{s:?} resolves to no address: give an IP address and port"))?,
    };
    Ok(addr)
}

/// A destination, as [`parse_listen`]; port 0 is refused, since it names no receiver.
pub(crate) fn parse_endpoint(s: &str) -> Result<std::net::SocketAddr, String> {
    let addr = parse_listen(s)?;
    if addr.port() == 0 {
        return Err(format!(
            "port 0 in {s:?} names no receiver: give the port the receivers listen on, e.g. \
             {}:3400",
            match addr.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            }
        ));
    }
    Ok(addr)
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

/// Short names of the built-in schemes on the command line: alias, FEC Encoding ID, FEC
/// Instance ID. Any registered scheme can also be named by its name (`RaptorQ`,
/// `"Compact No-Code"`, case and punctuation ignored) or by `ID[/INSTANCE]` (`6`, `129/0`).
const ALIASES: &[(&str, u8, Option<u16>)] = &[
    ("nocode", 0, None),
    ("raptor", 1, None),
    ("rs2m", 2, None),
    ("ldpc", 3, None),
    ("rs", 5, None),
    ("raptorq", 6, None),
    ("rs129", 129, Some(0)),
];

/// `--fec` as given: resolved against the registry when the command runs ([`Fec::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FecArg(pub(crate) String);

#[cfg(test)]
impl FecArg {
    /// Compact No-Code.
    pub(crate) fn nocode() -> Self {
        Self("nocode".into())
    }
}

impl std::str::FromStr for FecArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty FEC scheme name".into());
        }
        Ok(Self(t.to_owned()))
    }
}

impl std::fmt::Display for FecArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A `--fec` choice resolved to a registered scheme.
#[derive(Debug, Clone)]
pub(crate) struct Fec {
    pub(crate) scheme: Arc<dyn FecScheme>,
    /// The registry it was found in, which the sender and receiver use too.
    pub(crate) registry: Arc<FecRegistry>,
}

fn normalized(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Fec {
    /// Finds the scheme `arg` names in `registry`: an alias (`nocode`, `rs`, `rs2m`,
    /// `rs129`, `raptor`, `raptorq`, `ldpc`), a scheme's name, or `ID[/INSTANCE]`.
    pub(crate) fn resolve(arg: &FecArg, registry: &Arc<FecRegistry>) -> Result<Self, String> {
        let want = normalized(&arg.0);
        let by_key = |id: u8, inst: Option<u16>| {
            registry
                .get(FecEncodingId(id), inst.map(FecInstanceId))
                .ok()
                .cloned()
        };
        let found = if let Some(&(_, id, inst)) = ALIASES.iter().find(|(a, _, _)| *a == want) {
            by_key(id, inst)
        } else if let Some((id, inst)) = parse_id(&arg.0) {
            by_key(id, inst)
        } else {
            registry
                .iter()
                .find(|s| normalized(s.name()) == want)
                .cloned()
        };
        found
            .map(|scheme| Self {
                scheme,
                registry: Arc::clone(registry),
            })
            .ok_or_else(|| {
            let known: Vec<String> = registry
                .iter()
                .map(|s| {
                    let k = s.key();
                    let alias = ALIASES
                        .iter()
                        .find(|(_, id, inst)| {
                            *id == k.encoding_id.0
                                && inst.is_none_or(|i| Some(FecInstanceId(i)) == k.instance_id)
                        })
                        .map_or(String::new(), |(a, _, _)| format!("{a}: "));
                    format!("{alias}{} ({})", s.name(), key_text(k))
                })
                .collect();
            format!(
                "no registered FEC scheme is called {:?}; the registered ones are {}. Name one by \
                 its short name, its name, or FEC Encoding ID[/Instance ID]",
                arg.0,
                known.join(", ")
            )
        })
    }

    /// The scheme's name with its FEC Encoding ID, e.g. `RaptorQ (ID 6)`.
    pub(crate) fn label(&self) -> String {
        format!("{} ({})", self.scheme.name(), key_text(self.scheme.key()))
    }

    /// Whether the scheme sends repair symbols (its blocks have ESIs beyond the source
    /// symbols when asked for repair).
    pub(crate) fn has_repair(&self) -> bool {
        let Ok(oti) = self.scheme.oti_for(1 << 16, 1024, Some(16), 0.5) else {
            return false;
        };
        let Ok(block) = self.scheme.blocking(&oti).and_then(|b| b.block(0)) else {
            return false;
        };
        self.scheme.esi_limit(&oti, &block) > block.source_symbols
    }

    /// Default repair overhead when `--repair` is not given: 20 % for schemes with repair
    /// symbols, none otherwise.
    pub(crate) fn default_repair(&self) -> f64 {
        if self.has_repair() { 20.0 } else { 0.0 }
    }

    /// The OTI for an object of `len` bytes with symbol length `e`, repair `repair_pct` and
    /// a maximum source block length `b` (symbols) where the scheme has one: the scheme's own
    /// [`FecScheme::oti_for`]. A tiny object the scheme cannot code (Raptor needs 4 source
    /// symbols, RFC 5053 §5.7) goes with Compact No-Code; any other object the scheme cannot
    /// code keeps an OTI under the scheme that the sender then refuses with its reason.
    pub(crate) fn oti(&self, len: u64, e: u16, b: Option<u32>, repair_pct: f64) -> Oti {
        match self.scheme.oti_for(len, e, b, repair_pct / 100.0) {
            Ok(oti) => oti,
            Err(_) if len < 4 => CompactNoCode::oti(len, e, b.unwrap_or(64)),
            Err(_) => {
                let key = self.scheme.key();
                Oti {
                    encoding_id: key.encoding_id,
                    instance_id: key.instance_id,
                    transfer_length: len,
                    encoding_symbol_length: e,
                    max_source_block_length: b.unwrap_or(0),
                    max_encoding_symbols: None,
                    scheme_specific: SchemeSpecific::None,
                }
            }
        }
    }
}

fn key_text(k: SchemeKey) -> String {
    match k.instance_id {
        Some(i) => format!("ID {}/{}", k.encoding_id.0, i.0),
        None => format!("ID {}", k.encoding_id.0),
    }
}

/// `6` or `129/0`.
fn parse_id(s: &str) -> Option<(u8, Option<u16>)> {
    let (id, inst) = match s.trim().split_once('/') {
        Some((a, b)) => (a, Some(b.trim().parse().ok()?)),
        None => (s.trim(), None),
    };
    Some((id.trim().parse().ok()?, inst))
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
    /// Zstandard (outside RFC 6726's list and the 3GPP profile; `flute recv` decodes it, window capped at 8 MiB).
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

/// A socket error as a sentence: what was tried, the OS error, and what to do about it.
pub(crate) fn socket_error(what: &str, addr: std::net::SocketAddr, e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let hint = match e.kind() {
        K::AddrInUse => "another program already uses this port: stop it or choose another port",
        K::AddrNotAvailable => {
            "this address is not one of this host's: use a local address, 0.0.0.0 / [::], or a multicast group"
        }
        K::PermissionDenied => {
            "the system refused it (a broadcast address, a privileged port or a firewall rule)"
        }
        K::InvalidInput => "check the address, the port and --interface / --bind",
        _ if e.raw_os_error() == Some(19) => {
            "no such network interface: check --interface (see `ip link`)"
        }
        _ if e.raw_os_error() == Some(101) => {
            "no route to that network: check the address, or name the interface with --interface"
        }
        _ => "",
    };
    if hint.is_empty() {
        format!("cannot {what} {addr}: {e}")
    } else {
        format!("cannot {what} {addr}: {e}; {hint}")
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
        let reg = Arc::new(FecRegistry::with_builtin());
        for name in ["nocode", "rs", "rs2m", "rs129", "raptor", "raptorq"] {
            let fec = Fec::resolve(&FecArg(name.into()), &reg).unwrap();
            for len in [0u64, 1, 1400, 1_000_000, 8_000_000] {
                let oti = fec.oti(len, 1400, None, 20.0);
                let scheme = reg
                    .for_oti(&oti)
                    .unwrap_or_else(|e| panic!("{name} {len}: {e}"));
                if len > 0 {
                    scheme
                        .blocking(&oti)
                        .unwrap_or_else(|e| panic!("{name} {len}: {e}"));
                }
            }
        }
    }

    #[test]
    fn fec_names_resolve_against_the_registry() {
        let reg = Arc::new(FecRegistry::with_builtin());
        let key = |s: &str| Fec::resolve(&FecArg(s.into()), &reg).map(|f| f.scheme.key());
        assert_eq!(key("raptorq").unwrap().encoding_id.0, 6);
        assert_eq!(key("RaptorQ").unwrap().encoding_id.0, 6);
        assert_eq!(key("6").unwrap().encoding_id.0, 6);
        assert_eq!(key("compact no-code").unwrap().encoding_id.0, 0);
        let k = key("129/0").unwrap();
        assert_eq!(
            (k.encoding_id.0, k.instance_id.map(|i| i.0)),
            (129, Some(0))
        );
        let err = key("turbo").unwrap_err();
        assert!(
            err.contains("no registered FEC scheme is called \"turbo\""),
            "{err}"
        );
        assert!(err.contains("raptorq: RaptorQ (ID 6)"), "{err}");
        assert!(key("77").is_err());
        let nocode = Fec::resolve(&FecArg::nocode(), &reg).unwrap();
        assert!(!nocode.has_repair());
        assert!(
            Fec::resolve(&FecArg("rs".into()), &reg)
                .unwrap()
                .has_repair()
        );
    }
}
