//! [`OffloadSink`]: a sink that checks Content-MD5 on a worker thread, so that hashing
//! overlaps with receiving and writing (issue 19 §1).
//!
//! For a receiver without decode jobs. With `ReceiverConfig::decode_jobs` the receiver
//! hands Content-MD5 out itself, in its content jobs ([`crate::PooledReceiver`] runs them),
//! which is what `flute recv` does.
//!
//! The receiver stays sans-IO and single-threaded; it only learns that this sink verifies
//! Content-MD5 itself ([`ObjectSink::verifies_md5`]) and stops hashing the objects it can
//! hand over. Writes go to the inner sink on the calling thread, as before; a copy of each
//! goes to the worker over a bounded channel (a slow hash slows the receive loop down
//! instead of filling memory). `commit` waits for that object's digest, so events and the
//! order of delivery are exactly those of the plain sink. Hashing on the worker and writing
//! on the loop measured faster than the reverse on 2 cores (docs/benchmarks.md).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use flute_receiver::{ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError};
use md5::{Digest, Md5};

/// Messages from the receive loop to the worker. `u64` names the object.
enum Job {
    Data(u64, Vec<u8>),
    /// The object's last byte was sent: reply whether its digest is the expected one.
    Check(u64, [u8; 16], SyncSender<bool>),
    Forget(u64),
}

/// Wraps an [`ObjectSink`]: objects are opened, written and committed on the calling thread
/// by the inner sink; their Content-MD5 is computed on one worker thread.
pub struct OffloadSink<S> {
    inner: S,
    tx: Option<SyncSender<Job>>,
    worker: Option<JoinHandle<()>>,
    next: u64,
}

impl<S: ObjectSink> OffloadSink<S> {
    /// `depth`: how many writes may wait for the worker (each one a decoded block or less).
    pub fn new(inner: S, depth: usize) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(depth.max(1));
        let worker = std::thread::Builder::new()
            .name("flute-sink".into())
            .spawn(move || work(&rx))?;
        Ok(Self {
            inner,
            tx: Some(tx),
            worker: Some(worker),
            next: 0,
        })
    }

    /// The wrapped sink.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S> std::fmt::Debug for OffloadSink<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffloadSink")
            .field("objects_opened", &self.next)
            .finish_non_exhaustive()
    }
}

impl<S> Drop for OffloadSink<S> {
    fn drop(&mut self) {
        // Not joined: writers of unfinished objects may outlive the sink (the receiver
        // drops its tables in any order) and keep the channel open; the worker only
        // hashes, and ends by itself once the last sender is gone.
        drop(self.tx.take());
        drop(self.worker.take());
    }
}

fn gone() -> SinkError {
    SinkError::Io {
        kind: std::io::ErrorKind::BrokenPipe,
        message: "the sink's worker thread has stopped".into(),
    }
}

impl<S: ObjectSink> ObjectSink for OffloadSink<S> {
    fn open(&mut self, meta: &ObjectMeta) -> Result<Box<dyn ObjectWriter>, SinkError> {
        let mut plain = meta.clone();
        plain.content_md5 = None;
        let inner = self.inner.open(&plain)?;
        let id = self.next;
        self.next += 1;
        let check = match (meta.content_md5, &self.tx) {
            (Some(want), Some(tx)) => Some((want, tx.clone())),
            (Some(_), None) => return Err(gone()),
            (None, _) => None,
        };
        Ok(Box::new(OffloadWriter { id, inner, check }))
    }

    fn verifies_md5(&self) -> bool {
        true
    }
}

struct OffloadWriter {
    id: u64,
    inner: Box<dyn ObjectWriter>,
    /// The expected digest and the worker, when the object has a Content-MD5.
    check: Option<([u8; 16], SyncSender<Job>)>,
}

impl ObjectWriter for OffloadWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.inner.write(data)?;
        if let Some((_, tx)) = &self.check {
            tx.send(Job::Data(self.id, data.to_vec()))
                .map_err(|_| gone())?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        let Self { id, inner, check } = *self;
        if let Some((want, tx)) = check {
            let (reply_tx, reply_rx) = sync_channel(1);
            let ok = tx
                .send(Job::Check(id, want, reply_tx))
                .ok()
                .and_then(|()| reply_rx.recv().ok());
            match ok {
                Some(true) => {}
                Some(false) => {
                    inner.abort();
                    return Err(SinkError::Md5Mismatch);
                }
                None => {
                    inner.abort();
                    return Err(gone());
                }
            }
        }
        inner.commit()
    }

    fn abort(self: Box<Self>) {
        if let Some((_, tx)) = &self.check {
            let _ = tx.send(Job::Forget(self.id));
        }
        self.inner.abort();
    }
}

fn work(rx: &Receiver<Job>) {
    let mut running: HashMap<u64, Md5> = HashMap::new();
    while let Ok(job) = rx.recv() {
        match job {
            Job::Data(id, data) => running.entry(id).or_default().update(&data),
            Job::Check(id, want, reply) => {
                let got = running.remove(&id).unwrap_or_default().finalize();
                let _ = reply.send(got.as_slice() == want.as_slice());
            }
            Job::Forget(id) => {
                running.remove(&id);
            }
        }
    }
}
