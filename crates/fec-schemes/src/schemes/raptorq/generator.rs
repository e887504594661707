//! A bounded, process-wide cache of RaptorQ generator rows, per K.
//!
//! The encoder of the K x K identity block (source symbol i = the K-byte unit vector e_i)
//! gives, as repair symbol j, the K coefficients of repair ESI j on the K source symbols
//! (byte i of it is the coefficient of source symbol i: RFC 6330 codes every byte position
//! on its own). With it, the fast decode of a block with few missing source symbols needs
//! no encode of the block at all (see `fast.rs`, "generator rows").
//!
//! Held: the `raptorq` encoder, i.e. the K x K identity and the L x K intermediate symbols
//! (about 2.2·K² bytes, 2.3 MB at K = 1024). Bound: K ≤ [`MAX_K`], at most [`MAX_ENTRIES`]
//! encoders and [`BUDGET_BYTES`] by [`estimated_bytes`], least recently used evicted first.

use std::sync::{Arc, Mutex};

use raptorq::{ObjectTransmissionInformation, SourceBlockEncoder};

use super::plan;

/// Largest K whose generator is built (about 9.4 MB at K = 2048).
pub(crate) const MAX_K: u32 = 2048;
/// Most generators held at once.
pub(crate) const MAX_ENTRIES: usize = 4;
/// Total estimated bytes held at once (16 MiB).
pub(crate) const BUDGET_BYTES: usize = 16 << 20;

/// Upper estimate of the heap bytes of the generator of K: the K x K identity plus L x K
/// intermediate symbols with L ≤ 1.2·K' + 64 (K' ≤ K + 1000 for K ≤ 56403, RFC 6330
/// Table 2; at these K, K' − K < 200), plus per-symbol vector headers.
pub(crate) const fn estimated_bytes(k: u32) -> usize {
    let k = k as usize;
    let l = (k + 200) * 6 / 5 + 64;
    k * k + l * k + 64 * (k + l)
}

/// Generator rows for one K: `row(esi)` is the K coefficients of encoding symbol `esi`.
#[derive(Debug)]
pub(crate) struct Generator {
    k: u32,
    enc: SourceBlockEncoder,
}

impl Generator {
    fn build(k: u32) -> Option<Self> {
        let k16 = u16::try_from(k).ok()?;
        if k == 0 {
            return None;
        }
        let n = k as usize;
        let mut id = vec![0u8; n * n];
        for i in 0..n {
            id[i * n + i] = 1;
        }
        let config = ObjectTransmissionInformation::new((n * n) as u64, k16, 1, 1, 1);
        let plan = plan::plan_for(k16);
        let enc = SourceBlockEncoder::with_encoding_plan(0, &config, &id, &plan);
        Some(Self { k, enc })
    }

    /// The K coefficients of repair symbol `esi` (≥ K) on the K source symbols.
    pub(crate) fn row(&self, esi: u32) -> Option<Vec<u8>> {
        let start = esi.checked_sub(self.k)?;
        let mut pkts = self.enc.repair_packets(start, 1);
        let p = pkts.pop()?;
        let d = p.data();
        (d.len() == self.k as usize).then(|| d.to_vec())
    }
}

#[derive(Debug)]
struct Cache {
    entries: Vec<(u32, Arc<Generator>)>,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    entries: Vec::new(),
});

fn with_cache<R>(f: impl FnOnce(&mut Cache) -> R) -> R {
    // Every method leaves a valid Vec, so a poisoned lock is simply taken over.
    let mut guard = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut guard)
}

/// The generator for K (built outside the lock on a miss), or `None` if K is above
/// [`MAX_K`].
pub(crate) fn generator_for(k: u32) -> Option<Arc<Generator>> {
    if k == 0 || k > MAX_K || estimated_bytes(k) > BUDGET_BYTES {
        return None;
    }
    let hit = with_cache(|c| {
        let i = c.entries.iter().position(|(key, _)| *key == k)?;
        let e = c.entries.remove(i);
        let g = e.1.clone();
        c.entries.push(e);
        Some(g)
    });
    if hit.is_some() {
        return hit;
    }
    let g = Arc::new(Generator::build(k)?);
    Some(with_cache(|c| {
        if let Some((_, held)) = c.entries.iter().find(|(key, _)| *key == k) {
            return held.clone();
        }
        let need = estimated_bytes(k);
        while !c.entries.is_empty()
            && (c.entries.len() >= MAX_ENTRIES
                || c.entries
                    .iter()
                    .map(|(k, _)| estimated_bytes(*k))
                    .sum::<usize>()
                    + need
                    > BUDGET_BYTES)
        {
            c.entries.remove(0);
        }
        c.entries.push((k, g.clone()));
        g
    }))
}

/// (generators held, their estimated bytes).
#[cfg(test)]
pub(crate) fn stats() -> (usize, usize) {
    with_cache(|c| {
        (
            c.entries.len(),
            c.entries.iter().map(|(k, _)| estimated_bytes(*k)).sum(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_refuses_large_k() {
        assert!(generator_for(0).is_none());
        assert!(generator_for(MAX_K + 1).is_none());
        assert!(estimated_bytes(MAX_K) <= BUDGET_BYTES);
        for k in [1u32, 2, 3, 5, 8, 13, 21] {
            assert!(generator_for(k).is_some());
            let (n, bytes) = stats();
            assert!(n <= MAX_ENTRIES);
            assert!(bytes <= BUDGET_BYTES);
        }
    }

    #[test]
    fn rows_are_the_code() {
        // Repair symbol j of any block = Σ_i row(j)[i] · source_i, checked against the
        // block encoder for K = 7, T = 3.
        let k = 7u32;
        let g = generator_for(k).unwrap();
        let src: Vec<u8> = (0..21u8)
            .map(|x| x.wrapping_mul(29).wrapping_add(5))
            .collect();
        let config = ObjectTransmissionInformation::new(21, 3, 1, 1, 1);
        let enc = SourceBlockEncoder::with_encoding_plan(0, &config, &src, &plan::plan_for(7));
        for esi in [7u32, 8, 20, 1000] {
            let row = g.row(esi).unwrap();
            let want = enc.repair_packets(esi - k, 1)[0].data().to_vec();
            let got: Vec<u8> = (0..3)
                .map(|b| {
                    (0..7).fold(0u8, |acc, i| {
                        acc ^ super::super::fast::gf256::mul(row[i], src[i * 3 + b])
                    })
                })
                .collect();
            assert_eq!(got, want, "ESI {esi}");
        }
        assert!(g.row(3).is_none());
    }
}
