//! Sender configuration.

use std::sync::Arc;
use std::time::Duration;

use fec_schemes::{FecRegistry, Oti};

use crate::{ContentEncoding, Tsi};

pub use fdt::{AnchoredClock, WallClock};

/// Which FLUTE specification the session follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Profile {
    /// RFC 6726 (FLUTE version 2): EXT_FDT V=2, FDT namespace `urn:ietf:params:xml:ns:fdt`.
    #[default]
    Rfc6726,
    /// RFC 3926 (FLUTE version 1): EXT_FDT V=1, FDT namespace `urn:IETF:metadata:2005:FLUTE:FDT`.
    Rfc3926,
    /// 3GPP TS 26.346 (MBMS download): FLUTE version 1 on the wire with the 3GPP FDT schema
    /// (schemaVersion, FullFDT, Cache-Control, File-ETag, Group). Content-Encoding `zstd` is
    /// refused.
    Mbms,
}

impl Profile {
    /// The FLUTE version carried in EXT_FDT (RFC 6726 §3.4.1).
    pub const fn flute_version(self) -> u8 {
        match self {
            Self::Rfc6726 => 2,
            Self::Rfc3926 | Self::Mbms => 1,
        }
    }
}

/// How objects are published in FDT Instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FdtMode {
    /// Every FDT Instance describes every object currently in the session (3GPP `FullFDT`).
    #[default]
    Full,
    /// Each inserted object gets its own FDT Instance describing only that object; the
    /// carousel repeats the instances of every live object.
    PerObject,
}

/// Where EXT_FTI is carried on data packets (RFC 5775 §5.2; the FDT always carries the OTI
/// too, RFC 6726 §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FtiMode {
    /// On every data packet (default): a receiver can start decoding from any packet, even
    /// without the FDT, at 16 bytes per packet.
    #[default]
    Always,
    /// Only on the packet carrying ESI 0 of each source block, in every carousel pass.
    FirstSymbolOfBlock,
    /// Never: receivers take the OTI from the FDT.
    Never,
}

/// What the pacing token bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PacingUnit {
    /// Encoding symbol bytes only (the "content" rate).
    Payload,
    /// Whole datagram bytes plus `overhead` bytes per packet (e.g. 28 for IPv4 + UDP).
    #[default]
    Wire,
}

/// Target-bitrate pacing, a token bucket inside the core expressed through
/// [`crate::Sender::poll_timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Target rate in bits per second (must be > 0).
    pub bits_per_second: u64,
    /// Largest burst in bytes that may leave back to back after an idle period.
    pub burst_bytes: u64,
    /// What is counted.
    pub unit: PacingUnit,
    /// Bytes added per packet in [`PacingUnit::Wire`] mode.
    pub overhead: u32,
}

impl Pacing {
    /// `bits_per_second` on the wire (with 28 bytes IPv4+UDP overhead), burst of 10 packets of 1500 bytes.
    pub const fn wire(bits_per_second: u64) -> Self {
        Self {
            bits_per_second,
            burst_bytes: 15_000,
            unit: PacingUnit::Wire,
            overhead: 28,
        }
    }
}

/// How the FDT carousel repeats FDT Instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdtCarousel {
    /// Interval between two transmissions of the live FDT Instance(s), so late joiners can
    /// start. `None` sends each instance once.
    pub interval: Option<Duration>,
    /// How long an FDT Instance stays valid: `Expires` = wall time at creation + this.
    /// Once half of it has elapsed a fresh instance (new FDT Instance ID) replaces it.
    pub expires_after: Duration,
}

impl Default for FdtCarousel {
    fn default() -> Self {
        Self {
            interval: Some(Duration::from_secs(1)),
            expires_after: Duration::from_secs(3600),
        }
    }
}

/// Configuration of a [`crate::Sender`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SenderConfig {
    /// Transport Session Identifier (up to 48 bits).
    pub tsi: Tsi,
    /// FEC schemes available to objects and to the FDT.
    pub registry: Arc<FecRegistry>,
    /// FLUTE profile.
    pub profile: Profile,
    /// Wall clock for `Expires` and EXT_TIME.
    pub clock: Arc<dyn WallClock>,
    /// Largest datagram [`crate::Sender::poll_transmit`] writes (default 1472 = 1500 − IPv4 − UDP).
    pub max_datagram_size: usize,
    /// Default encoding symbol length E for objects that do not choose an OTI (default 1400).
    pub symbol_length: u16,
    /// Default maximum source block length B in symbols (default 64).
    pub max_source_block_length: u32,
    /// FDT publishing mode.
    pub fdt_mode: FdtMode,
    /// FDT carousel.
    pub fdt_carousel: FdtCarousel,
    /// OTI template of the FDT object itself (transfer length is filled in). `None`:
    /// Compact No-Code with [`Self::symbol_length`] and [`Self::max_source_block_length`].
    pub fdt_fec: Option<Oti>,
    /// Content-Encoding of FDT Instances (EXT_CENC, RFC 6726 §3.4.3). Default: none.
    pub fdt_encoding: ContentEncoding,
    /// Carry EXT_TIME with the Sender Current Time on FDT packets (RFC 5651 §5.2.2).
    pub fdt_ext_time: bool,
    /// EXT_FTI on data packets.
    pub fti: FtiMode,
    /// Pacing; `None` sends as fast as the caller polls.
    pub pacing: Option<Pacing>,
    /// Objects of one priority sent at the same time, packet by packet (default 1).
    pub objects_per_queue: usize,
    /// How many source blocks may be coded ahead, as [`crate::EncodeJob`]s handed out by
    /// [`crate::Sender::poll_work`] to run on other threads (issue 19 §1). 0 (the default):
    /// no jobs; each block is coded when its turn comes. Either way the same packets leave in
    /// the same order.
    pub encode_ahead: usize,
    /// FDT Instance ID of the first instance (20 bits; e.g. to continue a session after a
    /// restart, RFC 6726 §3.4.1). IDs then increase by one and wrap from 2^20 − 1 to 0.
    pub first_fdt_instance_id: u32,
    /// Extension elements put in every FDT Instance (`xs:any namespace="##other"`), e.g. the
    /// 3GPP TS 26.346 §9.3.1 `postFileRepair` element announcing repair servers
    /// (`flute_repair::PostFileRepair::to_element`). Default: none.
    pub fdt_extensions: Vec<fdt::XmlElement>,
}

impl SenderConfig {
    /// A configuration with defaults: RFC 6726 profile, all built-in FEC schemes, Full FDT,
    /// FDT every second, no pacing, E = 1400, B = 64.
    pub fn new(tsi: Tsi, clock: Arc<dyn WallClock>) -> Self {
        Self {
            tsi,
            registry: Arc::new(FecRegistry::with_builtin()),
            profile: Profile::default(),
            clock,
            max_datagram_size: 1472,
            symbol_length: 1400,
            max_source_block_length: 64,
            fdt_mode: FdtMode::default(),
            fdt_carousel: FdtCarousel::default(),
            fdt_fec: None,
            fdt_encoding: ContentEncoding::Null,
            fdt_ext_time: false,
            fti: FtiMode::default(),
            pacing: None,
            objects_per_queue: 1,
            encode_ahead: 0,
            first_fdt_instance_id: 0,
            fdt_extensions: Vec::new(),
        }
    }
}
