//! Receiver configuration and the wall-clock trait.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fec_schemes::FecRegistry;

/// Wall-clock time, needed only to check FDT `Expires` (RFC 6726 §3.4.2): the receiver never
/// reads a clock itself, the caller supplies one (an [`fdt::AnchoredClock`] on the real clock
/// in `flute-io`, a fixed or simulated one in tests). The `fdt` crate's trait, re-exported.
pub use fdt::{AnchoredClock, FixedWallClock, WallClock};

/// The low 32 bits of the NTP seconds of `t`, as carried by FDT `Expires` (the `fdt`
/// crate's conversion).
pub fn ntp_seconds(t: SystemTime) -> u32 {
    fdt::NtpSeconds::from_system_time(t).0
}

/// Limits and policies of a [`crate::Receiver`]. Every limit is documented with what
/// happens when it is reached.
///
/// Start from [`ReceiverConfig::default`] and set the fields you need; new fields will
/// always have defaults (the struct is `#[non_exhaustive]`):
///
/// ```
/// let mut cfg = flute_receiver::ReceiverConfig::default();
/// cfg.max_object_size = 1 << 30;
/// cfg.object_idle_timeout = std::time::Duration::from_secs(120);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// The FEC schemes the receiver can decode.
    pub registry: Arc<FecRegistry>,
    /// Wall clock for FDT `Expires`. `None`: `Expires` is not checked.
    pub wall_clock: Option<Arc<dyn WallClock>>,
    /// If set, only these TSIs are accepted; other datagrams are dropped
    /// ([`crate::DropReason::TsiFiltered`]).
    pub tsi_allow_list: Option<Vec<u64>>,
    /// Maximum number of live sessions. A datagram that would open one more is dropped
    /// ([`crate::DropReason::SessionLimit`]).
    pub max_sessions: usize,
    /// Maximum number of objects being received at once, over all sessions. Packets of a
    /// further object are dropped ([`crate::DropReason::ObjectLimit`]) until one finishes;
    /// the object starts when a later packet finds room (carousels repeat).
    pub max_concurrent_objects: usize,
    /// Largest accepted transfer length and largest content after content decoding. A
    /// larger object fails with [`crate::FailReason::TooLarge`] and is not retried.
    pub max_object_size: u64,
    /// Bytes held in undecoded source blocks (k·E per block being decoded) plus decoded
    /// blocks waiting to be written in order. A symbol that would open a block beyond the
    /// budget is dropped ([`crate::DropReason::BlockBudget`]); blocks already open go on.
    pub max_buffered_bytes: u64,
    /// Bytes of datagrams kept while their object's FDT entry or OTI is unknown. Beyond it,
    /// new such datagrams are dropped ([`crate::DropReason::BufferFull`]).
    pub max_pending_bytes: u64,
    /// How long such datagrams are kept. On a slow bearer the FDT can arrive long after the
    /// first data packets (the sender repeats it every few seconds to minutes): keep this at
    /// least as long as the sender's FDT repetition interval, or the early packets are lost
    /// (they are counted, and the object starts with the later ones).
    pub pending_timeout: Duration,
    /// An object in progress fails ([`crate::FailReason::Timeout`]) when it has been idle this
    /// long. Activity is any packet of the object, including symbols it no longer needs
    /// (repair for blocks already decoded), and any FDT Instance packet that lists it (a new
    /// instance, or a repetition of the current one). So a slow sender keeps its object alive
    /// as long as it sends the object or repeats an FDT naming it, whatever the bit rate;
    /// the timeout only ends objects whose sender went silent about them. A sender whose
    /// carousel pauses one object for longer than this *and* does not repeat its FDT in the
    /// meantime needs a longer timeout. Default 30 s.
    pub object_idle_timeout: Duration,
    /// A session with no datagram at all for this long is closed, and its incomplete
    /// objects fail with [`crate::FailReason::SessionClosed`]. It should exceed the longest
    /// silence of the sender (between carousel rounds, or between files of a live feed).
    /// Default 300 s.
    pub session_idle_timeout: Duration,
    /// After close-session (A flag), the session keeps taking datagrams this long (late,
    /// reordered packets), then ends: incomplete objects fail with
    /// [`crate::FailReason::SessionClosed`].
    pub close_session_grace: Duration,
    /// Largest FDT instance (transfer length, and size after EXT_CENC decompression).
    pub max_fdt_size: u64,
    /// Largest number of `File` entries in one FDT instance.
    pub max_fdt_files: usize,
    /// Largest number of TOIs remembered as finished per session (to ignore carousel
    /// repetitions of delivered objects). The oldest is forgotten first.
    pub max_finished_memory: usize,
    /// Content-Encoding `zstd` (only with the crate feature `zstd`): largest accepted
    /// window, as a base-2 logarithm of bytes. The decoder holds about one window per
    /// object being decoded; an object whose frame asks for more fails with
    /// [`crate::FailReason::ContentDecoding`]. Default 23 (8 MiB), which covers zstd
    /// levels 1-19 without long-distance matching.
    pub zstd_window_log_max: u32,
    /// File repair (3GPP TS 26.346 §9.3): how many objects that ended incomplete
    /// ([`crate::FailReason::Timeout`] or [`crate::FailReason::SessionClosed`], with an FDT
    /// entry) are kept, with what they received, for [`crate::Receiver::repair_request`] and
    /// [`crate::Receiver::handle_repair_symbols`]. They are reported with
    /// [`crate::ReceiverEvent::ObjectIncomplete`] and stay until repaired or
    /// [`crate::Receiver::abandon_repair`]ed. Beyond the limit, objects fail as before. Default
    /// 0: repair off.
    pub repair_max_objects: usize,
    /// Bytes the kept objects may hold (their undecoded blocks, k·E each, and decoded blocks
    /// waiting to be written in order), apart from [`Self::max_buffered_bytes`]. An object
    /// holding more than what is left fails as before; a repair symbol that would open a
    /// block beyond it is not used (ask again later).
    pub repair_max_buffered_bytes: u64,
    /// Decode source blocks in jobs run elsewhere (issue 19 §1): a block that needs a real
    /// decode (source symbols missing) is handed out by [`crate::Receiver::poll_work`] and
    /// comes back through [`crate::Receiver::complete`], while the receiver goes on with
    /// the next datagrams. Each object's decoded blocks go out the same way, in order
    /// (Content-MD5, content decoding and the sink's writes run in the job, see
    /// `crate::work`). Objects are delivered, and events come out, in the order they
    /// would without jobs. Default false: blocks are decoded, hashed and written inside
    /// `handle_datagram`.
    ///
    /// What differs from jobs off: statistics follow the results as they are applied, so
    /// completion counters lag while jobs are out; after a content failure found in a job,
    /// the object's packets that arrived before the result came back count as accepted,
    /// not as dropped for a finished object; and an object evicted or timed out while one
    /// of its content pieces is out fails with that reason and is not kept for file repair.
    pub decode_jobs: bool,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            registry: Arc::new(FecRegistry::with_builtin()),
            wall_clock: None,
            tsi_allow_list: None,
            max_sessions: 64,
            max_concurrent_objects: 256,
            max_object_size: 1 << 40,
            max_buffered_bytes: 256 << 20,
            max_pending_bytes: 16 << 20,
            pending_timeout: Duration::from_secs(30),
            object_idle_timeout: Duration::from_secs(30),
            session_idle_timeout: Duration::from_secs(300),
            close_session_grace: Duration::from_millis(500),
            max_fdt_size: 4 << 20,
            max_fdt_files: 100_000,
            max_finished_memory: 65_536,
            zstd_window_log_max: 23,
            repair_max_objects: 0,
            repair_max_buffered_bytes: 256 << 20,
            decode_jobs: false,
        }
    }
}

impl ReceiverConfig {
    /// The default configuration with `registry`.
    pub fn with_registry(registry: Arc<FecRegistry>) -> Self {
        Self {
            registry,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn bad_input_57_expiry_on_the_era_circle() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let now = ntp_seconds(t);
        let is_expired = |e: u32, t| fdt::NtpSeconds(e).is_before(t);
        assert!(is_expired(now.wrapping_sub(1), t));
        assert!(!is_expired(now.wrapping_add(10), t));
        // Across the 2036 era wrap.
        let t = UNIX_EPOCH + Duration::from_secs((1u64 << 32) - 2_208_988_800 - 5);
        let now = ntp_seconds(t);
        assert!(!is_expired(now.wrapping_add(100), t));
        assert!(now.wrapping_add(100) < now);
    }
}
