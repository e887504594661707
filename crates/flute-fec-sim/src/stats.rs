//! Binomial confidence intervals and percentiles.

use statrs::function::beta::beta_reg;

/// A proportion `successes / trials` with its two-sided Clopper-Pearson ("exact")
/// confidence interval at level `confidence` (e.g. 0.95).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Proportion {
    /// Number of events (here: decoding failures).
    pub events: u64,
    /// Number of trials.
    pub trials: u64,
    /// `events / trials` (0 when there are no trials).
    pub p: f64,
    /// Lower bound of the interval.
    pub lo: f64,
    /// Upper bound of the interval.
    pub hi: f64,
}

impl Proportion {
    /// `events` out of `trials`, with the Clopper-Pearson interval at `confidence`.
    pub fn new(events: u64, trials: u64, confidence: f64) -> Self {
        let (lo, hi) = clopper_pearson(events, trials, confidence);
        let p = if trials == 0 {
            0.0
        } else {
            events as f64 / trials as f64
        };
        Self {
            events,
            trials,
            p,
            lo,
            hi,
        }
    }
}

/// The two-sided Clopper-Pearson interval for `x` events in `n` trials: the set of `p` for
/// which neither tail of Binomial(n, p) at `x` is below `(1 - confidence) / 2`. With no
/// trials it is `(0, 1)`.
///
/// The bounds are the Beta quantiles `B(a/2; x, n-x+1)` and `B(1-a/2; x+1, n-x)`, found by
/// bisection on the regularized incomplete beta function (monotone in `p`), to 1e-15
/// relative precision. `x = 0` has the lower bound 0 and `x = n` the upper bound 1.
pub fn clopper_pearson(x: u64, n: u64, confidence: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let x = x.min(n);
    let alpha = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let (xf, nf) = (x as f64, n as f64);
    // P(X >= x | p) = I_p(x, n - x + 1), increasing in p: lower bound where it equals alpha.
    let lo = if x == 0 {
        0.0
    } else {
        solve_increasing(|p| beta_reg(xf, nf - xf + 1.0, p), alpha)
    };
    // P(X <= x | p) = 1 - I_p(x + 1, n - x), decreasing in p: upper bound where it equals
    // alpha, i.e. I_p(x + 1, n - x) = 1 - alpha.
    let hi = if x == n {
        1.0
    } else {
        solve_increasing(|p| beta_reg(xf + 1.0, nf - xf, p), 1.0 - alpha)
    };
    (lo, hi)
}

/// The `p` in [0, 1] with `f(p) = target`, for `f` increasing from 0 to 1. Bisects on
/// `log p` first (so that tiny bounds such as 3e-7 keep their relative precision), then
/// linearly.
fn solve_increasing(f: impl Fn(f64) -> f64, target: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    // Narrow the bracket by powers of two from above: the first 2^-i with f < target.
    let mut probe = 1.0f64;
    for _ in 0..1100 {
        let next = probe / 2.0;
        if next == 0.0 {
            break;
        }
        if f(next) < target {
            lo = next;
            hi = probe;
            break;
        }
        probe = next;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= hi * 1e-15 {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The nearest-rank percentile `q` (0..=100) of `sorted` (ascending); `None` when empty.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((q.clamp(0.0, 100.0) / 100.0) * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// Closed forms: x = 0 gives hi = 1 - (a/2)^(1/n); x = n gives lo = (a/2)^(1/n).
    #[test]
    fn clopper_pearson_closed_forms_at_the_edges() {
        for n in [1u64, 10, 1000, 1_000_000] {
            let want = 1.0 - 0.025f64.powf(1.0 / n as f64);
            let (lo, hi) = clopper_pearson(0, n, 0.95);
            assert_eq!(lo, 0.0);
            assert!(close(hi, want, 1e-9), "n={n}: {hi} vs {want}");
            let (lo, hi) = clopper_pearson(n, n, 0.95);
            assert_eq!(hi, 1.0);
            assert!(close(lo, 0.025f64.powf(1.0 / n as f64), 1e-9));
        }
    }

    /// Reference values (R's `binom.test`; checked against the binomial tail summed
    /// exactly): 5 successes in 20 trials, 95 %: (0.0865715, 0.4910459); 1 in 100:
    /// (0.0002531, 0.0544594).
    #[test]
    fn clopper_pearson_matches_reference_values() {
        let (lo, hi) = clopper_pearson(5, 20, 0.95);
        assert!(close(lo, 0.086_571_47, 1e-6), "{lo}");
        assert!(close(hi, 0.491_045_87, 1e-6), "{hi}");
        let (lo, hi) = clopper_pearson(1, 100, 0.95);
        assert!(close(lo, 0.000_253_146, 1e-5), "{lo}");
        assert!(close(hi, 0.054_459_385, 1e-6), "{hi}");
        // The interval holds the estimate.
        for (x, n) in [(0u64, 5u64), (3, 7), (50, 100), (99_999, 100_000)] {
            let (lo, hi) = clopper_pearson(x, n, 0.99);
            let p = x as f64 / n as f64;
            assert!(lo <= p && p <= hi, "{x}/{n}: {lo} {hi}");
        }
        assert_eq!(clopper_pearson(0, 0, 0.95), (0.0, 1.0));
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v = [1u32, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50.0), Some(5));
        assert_eq!(percentile(&v, 90.0), Some(9));
        assert_eq!(percentile(&v, 99.0), Some(10));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
