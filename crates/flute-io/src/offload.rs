//! [`OffloadSink`]: a sink that hands Content-MD5 and the inner sink's writes to a worker
//! thread, so that hashing and disk writes overlap with receiving (issue 19 §1).
//!
//! The receiver stays sans-IO and single-threaded; it only learns that this sink verifies
//! Content-MD5 itself ([`ObjectSink::verifies_md5`]) and stops hashing the objects it can
//! hand over. Each `write` becomes a message on a bounded channel (so a slow disk slows the
//! receive loop down instead of filling memory); `commit` waits for the worker to finish
//! that object, so events and the order of delivery are exactly those of the plain sink.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use flute_receiver::{ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError};
use md5::{Digest, Md5};

/// Messages from the receive loop to the worker. `u64` names the object.
enum Job {
    Open(u64, Box<dyn ObjectWriter>, Option<[u8; 16]>),
    Write(u64, Vec<u8>),
    Commit(u64, SyncSender<Result<ObjectLocation, SinkError>>),
    Abort(u64),
}

/// Wraps an [`ObjectSink`]: objects are opened on the calling thread (so that refusals such
/// as an unsafe Content-Location come back at once), written, hashed and committed on one
/// worker thread.
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
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
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
        let w = self.inner.open(&plain)?;
        let id = self.next;
        self.next += 1;
        let tx = self.tx.clone().ok_or_else(gone)?;
        tx.send(Job::Open(id, w, meta.content_md5))
            .map_err(|_| gone())?;
        Ok(Box::new(OffloadWriter { id, tx }))
    }

    fn verifies_md5(&self) -> bool {
        true
    }
}

struct OffloadWriter {
    id: u64,
    tx: SyncSender<Job>,
}

impl ObjectWriter for OffloadWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.tx
            .send(Job::Write(self.id, data.to_vec()))
            .map_err(|_| gone())
    }

    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        let (reply_tx, reply_rx) = sync_channel(1);
        self.tx
            .send(Job::Commit(self.id, reply_tx))
            .map_err(|_| gone())?;
        reply_rx.recv().map_err(|_| gone())?
    }

    fn abort(self: Box<Self>) {
        let _ = self.tx.send(Job::Abort(self.id));
    }
}

/// One object on the worker: the inner writer, the running digest and the expected one,
/// and the first error (later writes are dropped; commit reports it).
struct Open {
    writer: Box<dyn ObjectWriter>,
    md5: Option<(Md5, [u8; 16])>,
    error: Option<SinkError>,
}

fn work(rx: &Receiver<Job>) {
    let mut open: HashMap<u64, Open> = HashMap::new();
    while let Ok(job) = rx.recv() {
        match job {
            Job::Open(id, writer, want) => {
                open.insert(
                    id,
                    Open {
                        writer,
                        md5: want.map(|w| (Md5::new(), w)),
                        error: None,
                    },
                );
            }
            Job::Write(id, data) => {
                if let Some(o) = open.get_mut(&id) {
                    if o.error.is_none() {
                        if let Some((h, _)) = &mut o.md5 {
                            h.update(&data);
                        }
                        if let Err(e) = o.writer.write(&data) {
                            o.error = Some(e);
                        }
                    }
                }
            }
            Job::Commit(id, reply) => {
                let result = match open.remove(&id) {
                    None => Err(gone()),
                    Some(o) => {
                        let mismatch = o
                            .md5
                            .map(|(h, want)| h.finalize().as_slice() != want.as_slice());
                        match (o.error, mismatch) {
                            (Some(e), _) => {
                                o.writer.abort();
                                Err(e)
                            }
                            (None, Some(true)) => {
                                o.writer.abort();
                                Err(SinkError::Md5Mismatch)
                            }
                            (None, _) => o.writer.commit(),
                        }
                    }
                };
                let _ = reply.send(result);
            }
            Job::Abort(id) => {
                if let Some(o) = open.remove(&id) {
                    o.writer.abort();
                }
            }
        }
    }
    for (_, o) in open {
        o.writer.abort();
    }
}
