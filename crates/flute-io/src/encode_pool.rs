//! [`PooledSender`]: the sans-IO sender with its block coding on worker threads (issue 19
//! §1).
//!
//! The sender hands out encode jobs ([`Sender::poll_work`]); this adapter runs them on a
//! small pool and gives the results back ([`Sender::complete`]). When the next packet's
//! block is still being coded, `poll_transmit` waits for a job to finish rather than let
//! anything overtake it, so the packets and their order are exactly those of the plain
//! sender (`flute-sender`'s `tests/work.rs` checks that byte for byte).

use std::time::Instant;

use flute_sender::{EncodeDone, EncodeJob, Sender};

use crate::SenderCore;
use crate::pool::Pool;

/// A [`Sender`] whose blocks are coded ahead on `threads` worker threads. Set
/// `SenderConfig::encode_ahead` (for example to twice the threads) when building the
/// sender: with 0 it hands out no jobs and this is the plain sender.
pub struct PooledSender {
    /// The sender (for its events, stats and API).
    pub sender: Sender,
    pool: Pool<EncodeJob, EncodeDone>,
    threads: usize,
}

impl std::fmt::Debug for PooledSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledSender")
            .field("sender", &self.sender)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl PooledSender {
    /// Starts `threads` workers (at least one).
    pub fn new(sender: Sender, threads: usize) -> std::io::Result<Self> {
        let threads = threads.max(1);
        Ok(Self {
            sender,
            pool: Pool::new(threads, "flute-encode", EncodeJob::run)?,
            threads,
        })
    }

    /// Gives back finished jobs and hands out new ones.
    fn exchange(&mut self) {
        // No job out (No-Code, or every block coded): no channel to look at per packet.
        while self.sender.jobs_in_flight() > 0 {
            let Some(done) = self.pool.try_done() else {
                break;
            };
            self.sender.complete(done);
        }
        while let Some(job) = self.sender.poll_work() {
            if !self.pool.submit(job) {
                // The workers are gone (a panic in a codec): the job is lost, and its
                // object waits; `poll_transmit` notices below and stops waiting.
                break;
            }
        }
    }
}

impl SenderCore for PooledSender {
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<usize> {
        loop {
            self.exchange();
            if let Some(n) = SenderCore::poll_transmit(&mut self.sender, now, buf) {
                return Some(n);
            }
            if !self.sender.is_waiting_for_work() || self.sender.jobs_in_flight() == 0 {
                return None;
            }
            // The next packet's block is being coded: code a queued block here if every
            // worker is busy, else wait for a job; then try again.
            if let Some(done) = self.pool.help() {
                self.sender.complete(done);
                continue;
            }
            match self.pool.wait_done() {
                Some(done) => self.sender.complete(done),
                None => return None,
            }
        }
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        SenderCore::poll_timeout(&mut self.sender)
    }

    fn handle_timeout(&mut self, now: Instant) {
        SenderCore::handle_timeout(&mut self.sender, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;
    use fec_schemes::FecRegistry;
    use flute_sender::{AnchoredClock, Object, Repair, SenderConfig, Tsi};

    fn sender(encode_ahead: usize, t0: Instant) -> Sender {
        let clock = Arc::new(AnchoredClock::new(t0, SystemTime::UNIX_EPOCH));
        let mut cfg = SenderConfig::new(Tsi(3), clock);
        cfg.encode_ahead = encode_ahead;
        let mut s = Sender::new(cfg).unwrap();
        let reg = FecRegistry::with_builtin();
        for (i, scheme) in reg.iter().enumerate() {
            let len = 150_000 + i * 7;
            let Ok(oti) = scheme.oti_for(len as u64, 1400, Some(32), 0.3) else {
                continue;
            };
            let data: Vec<u8> = (0..len).map(|j| (j * 7 + i) as u8).collect();
            let obj = Object::from_bytes(format!("o{i}"), Bytes::from(data))
                .fec(oti)
                .repair(Repair::Percent(30));
            s.insert_object(obj, t0).unwrap();
        }
        s.close();
        s
    }

    fn drain(core: &mut impl SenderCore, t0: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let mut now = t0;
        for _ in 0..100_000 {
            while let Some(n) = core.poll_transmit(now, &mut buf) {
                out.push(buf[..n].to_vec());
            }
            match core.poll_timeout() {
                Some(t) => now = t.max(now + Duration::from_micros(1)),
                None => break,
            }
            core.handle_timeout(now);
        }
        out
    }

    /// Two workers give the plain sender's packets, in its order.
    #[test]
    fn pooled_sender_sends_what_the_plain_sender_sends() {
        let t0 = Instant::now();
        let mut plain = sender(0, t0);
        let expected = drain(&mut plain, t0);
        let mut pooled = PooledSender::new(sender(4, t0), 2).unwrap();
        let got = drain(&mut pooled, t0);
        assert!(expected.len() > 500);
        assert!(pooled.sender.is_closed());
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the packets differ");
        assert_eq!(pooled.sender.jobs_in_flight(), 0);
    }
}
