//! Wall-clock time, which FLUTE needs for FDT `Expires` (RFC 6726 §3.4.2) and the sender
//! also for EXT_TIME. The sans-IO sender and receiver never read a clock: the caller hands
//! them a [`WallClock`], the same idea as quinn's `TimeSource`. This is the one such trait
//! of the workspace; `flute-sender` and `flute-receiver` re-export it.

use std::fmt;
use std::time::{Instant, SystemTime};

/// The wall-clock time that corresponds to a monotonic instant.
pub trait WallClock: Send + Sync + fmt::Debug {
    /// The wall-clock time at the monotonic instant `now`.
    fn wall_time(&self, now: Instant) -> SystemTime;
}

/// A [`WallClock`] that maps monotonic time onto one anchor pair (`instant` ↔ `system`), so
/// that wall time advances exactly with the `now` values handed to the sender or receiver
/// (real time in `flute-io`, virtual time in tests).
#[derive(Debug, Clone, Copy)]
pub struct AnchoredClock {
    instant: Instant,
    system: SystemTime,
}

impl AnchoredClock {
    /// Anchors `instant` to the wall-clock time `system`.
    pub const fn new(instant: Instant, system: SystemTime) -> Self {
        Self { instant, system }
    }
}

impl WallClock for AnchoredClock {
    fn wall_time(&self, now: Instant) -> SystemTime {
        match now.checked_duration_since(self.instant) {
            Some(d) => self.system + d,
            None => self
                .system
                .checked_sub(self.instant.duration_since(now))
                .unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }
}

/// A [`WallClock`] that always reads the same time, whatever the instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedWallClock(pub SystemTime);

impl WallClock for FixedWallClock {
    fn wall_time(&self, _now: Instant) -> SystemTime {
        self.0
    }
}
