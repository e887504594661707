//! A small pool of worker threads running jobs handed out by a sans-IO core (encode jobs
//! of the sender, decode jobs of the receiver), returning results over a channel.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Worker threads that turn jobs `J` into results `D` with `run`.
pub(crate) struct Pool<J, D> {
    jobs: Option<Sender<J>>,
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
