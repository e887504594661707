//! A bounded, process-wide cache of RaptorQ encoding plans.
//!
//! Building a [`raptorq::SourceBlockEncoder`] means solving the RFC 6330 §5.3.3.4
//! constraint matrix for the intermediate symbols. The matrix depends only on the number of
//! source symbols K (not on the data, the symbol size T, or the sub-blocking N), so the
//! `raptorq` crate can record the solution once as a [`SourceBlockEncodingPlan`] and replay
//! it on any block with the same K ([`SourceBlockEncoder::with_encoding_plan`]).
//!
//! `raptorq` 2.0.1 itself keeps such plans inside `SourceBlockEncoder::new`, in a global
//! cache of 64 entries with no bound on their size. A plan costs about 2.4 KB per source
//! symbol of heap (measured once with a counting global allocator: 2.5 MB at K = 1024,
//! 18.9 MB at K = 8192, 37.9 MB at K = 16384; about 1 KB per symbol of operations proper,
//! `cargo run --release -p flute-benches --example rq_plan_size`, the rest is spare vector
//! capacity), so 64 plans of large blocks would be gigabytes. The RaptorQ scheme therefore never calls `new`: it always
//! builds its encoders from a plan, taken from this cache, whose bound is:
//!
//! - at most [`MAX_ENTRIES`] plans, least recently used evicted first;
//! - at most [`BUDGET_BYTES`] of plans by the estimate [`estimated_plan_bytes`];
//! - only blocks of K ≤ [`MAX_CACHED_K`]; a larger block gets a plan of its own, used for
//!   that block and dropped with it (so it costs one constraint-matrix solve per block, as
//!   without any cache).
//!
//! [`SourceBlockEncoder::with_encoding_plan`]: raptorq::SourceBlockEncoder::with_encoding_plan

use std::sync::{Arc, Mutex};

use raptorq::SourceBlockEncodingPlan;

/// Most plans held at once.
pub(crate) const MAX_ENTRIES: usize = 8;
/// Largest K whose plan is kept (about 19 MB of plan).
pub(crate) const MAX_CACHED_K: u32 = 8192;
/// Total estimated plan bytes held at once (48 MiB).
pub(crate) const BUDGET_BYTES: usize = 48 << 20;

/// Upper estimate of the heap bytes of the plan for K source symbols: 2400 bytes per symbol
/// plus 64 KiB, above every heap size measured (K = 10 to 16384, see the module doc).
pub(crate) const fn estimated_plan_bytes(k: u32) -> usize {
    2400 * k as usize + (64 << 10)
}

/// The plans, least recently used first.
#[derive(Debug)]
pub(crate) struct PlanCache {
    entries: Vec<(u32, Arc<SourceBlockEncodingPlan>)>,
    max_entries: usize,
    budget: usize,
    max_k: u32,
}

impl PlanCache {
    pub(crate) const fn new(max_entries: usize, budget: usize, max_k: u32) -> Self {
        Self {
            entries: Vec::new(),
            max_entries,
            budget,
            max_k,
        }
    }

    /// Whether a plan for `k` may be kept at all.
    pub(crate) fn admits(&self, k: u32) -> bool {
        k <= self.max_k && self.max_entries > 0 && estimated_plan_bytes(k) <= self.budget
    }

    /// The plan for `k`, now the most recently used, if held.
    pub(crate) fn get(&mut self, k: u32) -> Option<Arc<SourceBlockEncodingPlan>> {
        let i = self.entries.iter().position(|(key, _)| *key == k)?;
        let entry = self.entries.remove(i);
        let plan = entry.1.clone();
        self.entries.push(entry);
        Some(plan)
    }

    /// Keeps `plan` for `k` if the bound allows, evicting the least recently used plans to
    /// make room. Returns the plan held for `k` (an earlier one if another caller raced us).
    pub(crate) fn insert(
        &mut self,
        k: u32,
        plan: Arc<SourceBlockEncodingPlan>,
    ) -> Arc<SourceBlockEncodingPlan> {
        if let Some(held) = self.get(k) {
            return held;
        }
        if !self.admits(k) {
            return plan;
        }
        let need = estimated_plan_bytes(k);
        while !self.entries.is_empty()
            && (self.entries.len() >= self.max_entries
                || self.estimated_bytes() + need > self.budget)
        {
            self.entries.remove(0);
        }
        self.entries.push((k, plan.clone()));
        plan
    }

    /// Number of plans held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Estimated bytes of the plans held.
    pub(crate) fn estimated_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, _)| estimated_plan_bytes(*k))
            .sum()
    }

    /// The K of the plans held, least recently used first.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<u32> {
        self.entries.iter().map(|(k, _)| *k).collect()
    }
}

static CACHE: Mutex<PlanCache> =
    Mutex::new(PlanCache::new(MAX_ENTRIES, BUDGET_BYTES, MAX_CACHED_K));

fn with_cache<R>(f: impl FnOnce(&mut PlanCache) -> R) -> R {
    // A panic while the lock was held cannot leave the cache inconsistent (every method
    // leaves a valid Vec), so a poisoned lock is simply taken over.
    let mut guard = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

/// The encoding plan for a block of `k` source symbols. The caller checked
/// `1 <= k <= 56403` (so `k` fits the `u16` of `raptorq`). The plan is generated outside
/// the lock, so encoders of other block sizes are not held up meanwhile.
pub(crate) fn plan_for(k: u16) -> Arc<SourceBlockEncodingPlan> {
    let k32 = u32::from(k);
    if let Some(plan) = with_cache(|c| if c.admits(k32) { c.get(k32) } else { None }) {
        return plan;
    }
    let plan = Arc::new(SourceBlockEncodingPlan::generate(k));
    with_cache(|c| c.insert(k32, plan))
}

/// (plans held, their estimated bytes) of the process-wide cache.
#[cfg(test)]
pub(crate) fn stats() -> (usize, usize) {
    with_cache(|c| (c.len(), c.estimated_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(k: u16) -> Arc<SourceBlockEncodingPlan> {
        Arc::new(SourceBlockEncodingPlan::generate(k))
    }

    #[test]
    fn lru_bound_on_entries() {
        let mut c = PlanCache::new(3, usize::MAX, 100);
        for k in 1..=5u16 {
            c.insert(k.into(), plan(k));
            assert!(c.len() <= 3);
        }
        assert_eq!(c.keys(), vec![3, 4, 5]);
        // A hit makes the entry the most recently used: 4 is evicted next, not 3.
        assert!(c.get(3).is_some());
        c.insert(6, plan(6));
        assert_eq!(c.keys(), vec![5, 3, 6]);
        assert!(c.get(1).is_none());
    }

    #[test]
    fn bound_on_estimated_bytes_and_k() {
        // Room for the plans of K = 10 and K = 20, not for a third one.
        let budget = estimated_plan_bytes(10) + estimated_plan_bytes(20);
        let mut c = PlanCache::new(8, budget, 50);
        c.insert(10, plan(10));
        c.insert(20, plan(20));
        assert_eq!(c.keys(), vec![10, 20]);
        // K = 9 fits once K = 10 (least recently used) is gone.
        c.insert(9, plan(9));
        assert!(c.estimated_bytes() <= budget);
        assert_eq!(c.keys(), vec![20, 9]);
        // K = 30 needs both gone.
        c.insert(30, plan(30));
        assert!(c.estimated_bytes() <= budget);
        assert_eq!(c.keys(), vec![30]);
        // Above max_k: handed back, not kept.
        let big = plan(51);
        let got = c.insert(51, big.clone());
        assert!(Arc::ptr_eq(&got, &big));
        assert_eq!(c.keys(), vec![30]);
        assert!(!c.admits(51));
    }

    #[test]
    fn insert_keeps_the_first_plan_for_a_k() {
        let mut c = PlanCache::new(4, usize::MAX, 100);
        let first = c.insert(7, plan(7));
        let second = c.insert(7, plan(7));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn estimate_covers_the_measured_sizes() {
        // Heap bytes of one plan, measured with a counting allocator (raptorq 2.0.1).
        for (k, bytes) in [
            (10u32, 60_696usize),
            (64, 206_816),
            (256, 665_408),
            (1024, 2_475_048),
            (2048, 4_878_160),
            (4096, 9_576_480),
            (8192, 18_919_168),
            (16384, 37_910_272),
        ] {
            assert!(estimated_plan_bytes(k) >= bytes, "K = {k}");
        }
        // The whole cache: at most 48 MiB of plans, whatever the mix of K.
        assert!(estimated_plan_bytes(MAX_CACHED_K) <= BUDGET_BYTES);
    }

    #[test]
    fn process_cache_stays_within_its_bound() {
        for k in [1u16, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144] {
            let p = plan_for(k);
            assert!(Arc::strong_count(&p) >= 1);
            let (n, bytes) = stats();
            assert!(n <= MAX_ENTRIES);
            assert!(bytes <= BUDGET_BYTES);
        }
        // Not cached above MAX_CACHED_K: two calls give two plans.
        let k = u16::try_from(MAX_CACHED_K + 1).unwrap();
        assert!(!with_cache(|c| c.admits(k.into())));
    }
}
