//! Target-bitrate token bucket, driven only by the `now` values handed in.

use std::time::{Duration, Instant};

use crate::config::{Pacing, PacingUnit};

const NANOS: u128 = 1_000_000_000;

/// Tokens are kept in bit·nanoseconds so that all arithmetic is exact integer maths.
/// The bucket may go into debt by one packet: a packet is sent when the balance is
/// non-negative, then its cost is subtracted.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    cfg: Pacing,
    /// Balance in bit·ns.
    balance: i128,
    /// Capacity (burst) in bit·ns.
    cap: i128,
    last: Option<Instant>,
}

impl TokenBucket {
    pub(crate) fn new(cfg: Pacing) -> Self {
        let cap = i128::from(cfg.burst_bytes.max(1)) * 8 * NANOS as i128;
        Self {
            cfg,
            balance: cap,
            cap,
            last: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(last) = self.last {
            if let Some(d) = now.checked_duration_since(last) {
                let add = d
                    .as_nanos()
                    .saturating_mul(u128::from(self.cfg.bits_per_second));
                let add = i128::try_from(add).unwrap_or(i128::MAX);
                self.balance = self.balance.saturating_add(add).min(self.cap);
                self.last = Some(now);
            }
        } else {
            self.last = Some(now);
        }
    }

    /// When the next packet may leave: `None` if it may leave at `now`.
    pub(crate) fn ready_at(&mut self, now: Instant) -> Option<Instant> {
        self.refill(now);
        if self.balance >= 0 {
            return None;
        }
        let rate = u128::from(self.cfg.bits_per_second.max(1));
        let ns = self.balance.unsigned_abs().div_ceil(rate);
        let ns = u64::try_from(ns).unwrap_or(u64::MAX);
        Some(self.last.unwrap_or(now) + Duration::from_nanos(ns))
    }

    /// The time the bucket becomes non-negative again, from the state at the last refill.
    pub(crate) fn next_ready(&self) -> Option<Instant> {
        if self.balance >= 0 {
            return None;
        }
        let rate = u128::from(self.cfg.bits_per_second.max(1));
        let ns = u64::try_from(self.balance.unsigned_abs().div_ceil(rate)).unwrap_or(u64::MAX);
        self.last.map(|l| l + Duration::from_nanos(ns))
    }

    /// Charges one packet of `datagram` bytes carrying `payload` symbol bytes.
    pub(crate) fn consume(&mut self, datagram: usize, payload: usize) {
        let bytes = match self.cfg.unit {
            PacingUnit::Payload => payload as u128,
            PacingUnit::Wire => datagram as u128 + u128::from(self.cfg.overhead),
        };
        let cost = i128::try_from(bytes * 8 * NANOS).unwrap_or(i128::MAX);
        self.balance = self.balance.saturating_sub(cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // the origin of virtual time
    fn rate_is_respected() {
        // 8 Mbit/s wire, no overhead, burst of one 1000-byte packet: 1 ms per packet.
        let cfg = Pacing {
            bits_per_second: 8_000_000,
            burst_bytes: 1000,
            unit: PacingUnit::Wire,
            overhead: 0,
        };
        let mut tb = TokenBucket::new(cfg);
        let t0 = Instant::now();
        assert_eq!(tb.ready_at(t0), None);
        tb.consume(1000, 900);
        assert_eq!(tb.ready_at(t0), None); // balance exactly 0
        tb.consume(1000, 900);
        assert_eq!(tb.ready_at(t0), Some(t0 + Duration::from_millis(1)));
        assert_eq!(tb.ready_at(t0 + Duration::from_millis(1)), None);
    }
}
