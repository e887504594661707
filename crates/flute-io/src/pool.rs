//! A small pool of worker threads running jobs handed out by a sans-IO core (encode jobs
//! of the sender, decode jobs of the receiver), returning results over a channel.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Worker threads that turn jobs `J` into results `D` with `run`.
pub(crate) struct Pool<J, D> {
    jobs: Option<Sender<J>>,
    /// The queue the workers take jobs from; the caller takes from it too in [`Pool::help`].
    queue: Arc<Mutex<Receiver<J>>>,
    run: fn(J) -> D,
    done: Receiver<D>,
    workers: Vec<JoinHandle<()>>,
}

impl<J: Send + 'static, D: Send + 'static> Pool<J, D> {
    /// Starts `threads` workers (at least one) named `name-N`.
    pub(crate) fn new(threads: usize, name: &str, run: fn(J) -> D) -> std::io::Result<Self> {
        let (jobs, job_rx) = channel::<J>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done) = channel();
        let mut workers = Vec::with_capacity(threads.max(1));
        for i in 0..threads.max(1) {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            let w = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job, not while running it.
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        if done_tx.send(run(job)).is_err() {
                            return;
                        }
                    }
                })?;
            workers.push(w);
        }
        Ok(Self {
            jobs: Some(jobs),
            queue: job_rx,
            run,
            done,
            workers,
        })
    }

    /// Hands `job` to the workers; false if they are gone (a panic in a job).
    pub(crate) fn submit(&self, job: J) -> bool {
        self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }

    /// A finished job, if one is waiting.
    pub(crate) fn try_done(&self) -> Option<D> {
        self.done.try_recv().ok()
    }

    /// Runs, on the calling thread, one job that no worker has taken yet, and returns its
    /// result; `None` if there is none. A worker that waits for work holds the queue's lock,
    /// so this finds the lock free only while every worker is busy running a job: the
    /// caller then uses its own core instead of waiting idle for `wait_done`. The result
    /// does not go through the done channel; the cores take results in any order.
    pub(crate) fn help(&self) -> Option<D> {
        let job = self.queue.try_lock().ok()?.try_recv().ok()?;
        Some((self.run)(job))
    }

    /// Waits for a finished job; `None` if the workers are gone.
    pub(crate) fn wait_done(&self) -> Option<D> {
        self.done.recv().ok()
    }
}

impl<J, D> Drop for Pool<J, D> {
    fn drop(&mut self) {
        // Closing the job channel ends every worker once it finishes its job.
        self.jobs.take();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{Receiver as Rx, Sender as Tx};

    /// A job that says when it starts and, if gated, waits to be let go.
    struct Job {
        id: u32,
        started: Option<Tx<()>>,
        gate: Option<Rx<()>>,
    }

    fn run(job: Job) -> u32 {
        if let Some(s) = job.started {
            let _ = s.send(());
        }
        if let Some(g) = job.gate {
            let _ = g.recv();
        }
        job.id
    }

    #[test]
    fn help_runs_a_queued_job_on_the_caller_while_every_worker_is_busy() {
        let pool = Pool::new(1, "test-pool", run).expect("thread");
        let (started_tx, started) = channel();
        let (open, gate) = channel();
        assert!(pool.submit(Job {
            id: 1,
            started: Some(started_tx),
            gate: Some(gate),
        }));
        started.recv().expect("job 1 started on the worker");
        // Nothing queued: nothing to help with.
        assert!(pool.help().is_none());
        assert!(pool.submit(Job {
            id: 2,
            started: None,
            gate: None,
        }));
        // The only worker is stuck in job 1, so job 2 runs here, and its result comes
        // back from `help`, not through the done channel.
        assert_eq!(pool.help(), Some(2));
        assert!(pool.try_done().is_none());
        open.send(()).expect("job 1 waits");
        assert_eq!(pool.wait_done(), Some(1));
        assert!(pool.try_done().is_none());
    }
}
