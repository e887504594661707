//! [`PooledReceiver`]: the sans-IO receiver with its block decoding, Content-MD5, content
//! decoding and object writes on worker threads (issue 19 §1).
//!
//! The receiver hands out jobs (`ReceiverConfig::decode_jobs`, [`Receiver::poll_work`]):
//! blocks to decode, and each object's decoded blocks, in order, to hash, decode and write
//! to the sink's writer. This adapter runs them on a small pool and gives the results back
//! ([`Receiver::complete`]) as they finish, while the loop goes on receiving. The receiver
//! applies them in order and holds later events behind them, so objects and events come
//! out as with everything inline (`flute-receiver`'s `tests/decode_jobs.rs`).

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use flute_receiver::{DecodeDone, DecodeJob, Receiver};

use crate::ReceiverCore;
use crate::pool::Pool;

/// While jobs are out, the loop wakes this often to take their results.
const POLL: Duration = Duration::from_millis(2);

/// A [`Receiver`] (built with `ReceiverConfig::decode_jobs`) whose blocks are decoded on
/// worker threads. Derefs to the receiver for its events, stats and API.
pub struct PooledReceiver {
    receiver: Receiver,
    pool: Pool<DecodeJob, DecodeDone>,
    out: usize,
    /// Jobs out at most: two per worker.
    limit: usize,
    /// Jobs not applied at most, out or waiting in the receiver (content pieces wait there
    /// for their object's earlier piece): past it the loop waits for the workers.
    backlog: usize,
    last_now: Option<Instant>,
}

impl std::fmt::Debug for PooledReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledReceiver")
            .field("receiver", &self.receiver)
            .field("jobs_out", &self.out)
            .finish_non_exhaustive()
    }
}

impl PooledReceiver {
    /// Starts `threads` workers (at least one).
    pub fn new(receiver: Receiver, threads: usize) -> std::io::Result<Self> {
        Ok(Self {
            receiver,
            pool: Pool::new(threads, "flute-decode", DecodeJob::run)?,
            out: 0,
            limit: 2 * threads.max(1),
            backlog: 32 * threads.max(1),
            last_now: None,
        })
    }

    /// Gives back finished jobs and hands out new ones. With `limit` jobs out, or `backlog`
    /// jobs not applied, waits for one to finish before going on: the loop slows down to
    /// the workers' pace instead of piling up blocks (memory stays bounded).
    fn exchange(&mut self) {
        // Nothing out (every datagram of an object with nothing to decode): no channel to
        // look at.
        while self.out > 0 {
            let Some(done) = self.pool.try_done() else {
                break;
            };
            self.out -= 1;
            self.receiver.complete(done);
        }
        loop {
            let behind = self.out > 0 && self.receiver.jobs_pending() > self.backlog;
            if self.out >= self.limit || behind {
                if !self.settle_one() {
                    return;
                }
                continue;
            }
            let Some(job) = self.receiver.poll_work() else {
                return;
            };
            if self.pool.submit(job) {
                self.out += 1;
            } else {
                return; // workers gone: the job is lost and the events after it wait
            }
        }
    }

    /// Waits for every job handed out and applies it: call before reading the last
    /// events (the loop does, through [`ReceiverCore::finish`]).
    pub fn finish_jobs(&mut self) {
        loop {
            self.exchange();
            if self.out == 0 || !self.settle_one() {
                return;
            }
        }
    }

    /// Applies one job: one no worker has taken yet, run here rather than wait idle, or
    /// else the next one a worker finishes. False if the workers are gone.
    fn settle_one(&mut self) -> bool {
        let Some(done) = self.pool.help().or_else(|| self.pool.wait_done()) else {
            return false;
        };
        self.out -= 1;
        self.receiver.complete(done);
        true
    }
}

impl Deref for PooledReceiver {
    type Target = Receiver;
    fn deref(&self) -> &Receiver {
        &self.receiver
    }
}

impl DerefMut for PooledReceiver {
    fn deref_mut(&mut self) -> &mut Receiver {
        &mut self.receiver
    }
}

impl ReceiverCore for PooledReceiver {
    fn handle_datagram(&mut self, now: Instant, src: SocketAddr, dst: SocketAddr, data: &[u8]) {
        self.last_now = Some(now);
        ReceiverCore::handle_datagram(&mut self.receiver, now, src, dst, data);
        self.exchange();
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.exchange();
        let inner = ReceiverCore::poll_timeout(&mut self.receiver);
        match (self.out > 0, self.last_now) {
            (true, Some(n)) => Some(inner.map_or(n + POLL, |t| t.min(n + POLL))),
            _ => inner,
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        self.exchange();
        ReceiverCore::handle_timeout(&mut self.receiver, now);
        self.exchange();
    }

    fn finish(&mut self) {
        self.finish_jobs();
    }
}
