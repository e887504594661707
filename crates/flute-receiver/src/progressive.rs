//! Progressive delivery (issue 17 §3): an [`ObjectSink`] that turns each object's content
//! into events as it is decoded, so that a player or a pipe consumes an object before its
//! last block arrives.
//!
//! The receiver hands a sink's writer each source block's bytes (after content decoding)
//! as soon as that block and every block before it are decoded, in order; [`StreamSink`]
//! queues them as [`StreamEvent::Data`] with their offset. The object ends with
//! [`StreamEvent::Committed`] (complete and verified: length, Content-MD5) or
//! [`StreamEvent::Aborted`] (failed or evicted: the bytes already handed out are not to be
//! trusted). The caller drains the queue with [`StreamEvents::poll_event`], for example in
//! the same place it drains [`crate::Receiver::poll_event`]; the queue is not bounded, so a
//! caller that does not drain it holds the data of every object in memory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::SessionId;
use crate::Toi;
use crate::sink::{ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError};

/// What [`StreamSink`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// An object's first content is about to come.
    Opened(ObjectMeta),
    /// The next bytes of an object, at `offset` in its (decoded) content.
    Data {
        /// The session.
        session: SessionId,
        /// The object.
        toi: Toi,
        /// Where these bytes start; each event continues the one before.
        offset: u64,
        /// The bytes.
        data: Bytes,
    },
    /// The object is complete and verified; `len` bytes were delivered.
    Committed {
        /// The session.
        session: SessionId,
        /// The object.
        toi: Toi,
        /// Content length.
        len: u64,
    },
    /// The object failed after some of it was delivered: discard it.
    Aborted {
        /// The session.
        session: SessionId,
        /// The object.
        toi: Toi,
    },
}

type Queue = Arc<Mutex<VecDeque<StreamEvent>>>;

fn lock(q: &Queue) -> MutexGuard<'_, VecDeque<StreamEvent>> {
    // Nothing that holds this lock can panic half-way; take the queue even if it could.
    q.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sink: give it to [`crate::Receiver::with_sink`], keep the [`StreamEvents`].
#[derive(Debug)]
pub struct StreamSink {
    queue: Queue,
}

/// The caller's end of a [`StreamSink`].
#[derive(Debug, Clone)]
pub struct StreamEvents {
    queue: Queue,
}

impl StreamSink {
    /// A sink and the handle its events are read from.
    pub fn new() -> (Self, StreamEvents) {
        let queue = Queue::default();
        (
            Self {
                queue: Arc::clone(&queue),
            },
            StreamEvents { queue },
        )
    }
}

impl StreamEvents {
    /// The next event, if any.
    pub fn poll_event(&self) -> Option<StreamEvent> {
        lock(&self.queue).pop_front()
    }
}

impl ObjectSink for StreamSink {
    fn open(&mut self, meta: &ObjectMeta) -> Result<Box<dyn ObjectWriter>, SinkError> {
        lock(&self.queue).push_back(StreamEvent::Opened(meta.clone()));
        Ok(Box::new(StreamWriter {
            queue: Arc::clone(&self.queue),
            session: meta.session,
            toi: meta.toi,
            offset: 0,
        }))
    }
}

struct StreamWriter {
    queue: Queue,
    session: SessionId,
    toi: Toi,
    offset: u64,
}

impl ObjectWriter for StreamWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        if data.is_empty() {
            return Ok(());
        }
        lock(&self.queue).push_back(StreamEvent::Data {
            session: self.session,
            toi: self.toi,
            offset: self.offset,
            data: Bytes::copy_from_slice(data),
        });
        self.offset += data.len() as u64;
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        lock(&self.queue).push_back(StreamEvent::Committed {
            session: self.session,
            toi: self.toi,
            len: self.offset,
        });
        Ok(ObjectLocation::Other(format!(
            "stream of {} bytes",
            self.offset
        )))
    }

    fn abort(self: Box<Self>) {
        lock(&self.queue).push_back(StreamEvent::Aborted {
            session: self.session,
            toi: self.toi,
        });
    }
}
