//! How useful a session or an object has been lately, and which one to evict when a table
//! is full.
//!
//! Both tables (sessions, and objects within a session) follow one rule, so that a flood of
//! junk cannot lock out a real sender (issue 13 §4):
//!
//! 1. an entry that never made progress (no symbol accepted; for a session, also no FDT
//!    instance accepted) is evicted first, the one idle longest before the others;
//! 2. then an entry that made progress once but has seen no packet for the object idle
//!    timeout (a stalled or dormant object, a silent session), least recently useful first;
//! 3. an entry that made progress and is still receiving is *delivering* and is never
//!    evicted: the new entry is refused instead.

use std::time::{Duration, Instant};

/// Activity and progress of one session or object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Liveness {
    /// Last packet of any kind that belongs to the entry (including symbols that are not
    /// needed any more, and FDT instances that list the object).
    pub(crate) last_activity: Instant,
    /// Last time the entry made progress (a symbol or an FDT instance accepted).
    pub(crate) last_progress: Option<Instant>,
}

/// Where an entry stands when a table is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Standing {
    /// Never made progress, idle since the given time.
    NoProgress(Instant),
    /// Made progress once, last at the given time, but idle for the window.
    Stale(Instant),
    /// Made progress and still receiving: never evicted.
    Delivering,
}

impl Liveness {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            last_activity: now,
            last_progress: None,
        }
    }

    /// A packet of the entry arrived.
    pub(crate) fn touch(&mut self, now: Instant) {
        self.last_activity = self.last_activity.max(now);
    }

    /// The entry made progress (implies activity).
    pub(crate) fn progress(&mut self, now: Instant) {
        self.touch(now);
        self.last_progress = Some(self.last_progress.map_or(now, |p| p.max(now)));
    }

    /// The entry's standing at `now`; `window` is how long without a packet an entry that
    /// made progress still counts as delivering.
    pub(crate) fn standing(&self, now: Instant, window: Duration) -> Standing {
        match self.last_progress {
            None => Standing::NoProgress(self.last_activity),
            Some(_) if self.last_activity + window > now => Standing::Delivering,
            Some(p) => Standing::Stale(p),
        }
    }
}

/// The entry to evict among `entries`: the lowest [`Standing`] that is not
/// [`Standing::Delivering`], ties broken by the key so that the choice is deterministic.
/// `None` if every entry is delivering.
pub(crate) fn pick_victim<K: Ord + Copy>(
    entries: impl IntoIterator<Item = (K, Standing)>,
) -> Option<K> {
    entries
        .into_iter()
        .filter(|(_, s)| *s != Standing::Delivering)
        .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_progress_goes_before_stale_and_delivering_never_goes() {
        let t0 = flute_testkit::VirtualClock::new().now();
        let w = Duration::from_secs(30);
        let now = t0 + Duration::from_secs(100);
        let mut junk_old = Liveness::new(t0);
        junk_old.touch(t0 + Duration::from_secs(90));
        let junk_new = Liveness::new(t0 + Duration::from_secs(99));
        let mut stale = Liveness::new(t0);
        stale.progress(t0 + Duration::from_secs(10));
        let mut live = Liveness::new(t0);
        live.progress(t0 + Duration::from_secs(20));
        live.touch(t0 + Duration::from_secs(95)); // a not-needed symbol: still delivering
        let all = [(1, junk_new), (2, stale), (3, live), (4, junk_old)];
        let st = |v: &[(i32, Liveness)]| {
            v.iter()
                .map(|(k, l)| (*k, l.standing(now, w)))
                .collect::<Vec<_>>()
        };
        assert_eq!(pick_victim(st(&all)), Some(4));
        assert_eq!(pick_victim(st(&all[..3])), Some(1));
        assert_eq!(pick_victim(st(&all[1..3])), Some(2));
        assert_eq!(pick_victim(st(&all[2..3])), None);
    }
}
