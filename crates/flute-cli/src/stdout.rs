//! `flute recv --stdout` (issue 17 §3): the first object's content streamed to standard
//! output as it is decoded, block by block in order, so a player or a pipe consumes it
//! before its last block arrives.
//!
//! The receiver hands the sink's writer each source block's bytes (after content
//! decoding) as soon as that block and every block before it are decoded; this writer
//! passes them to stdout at once. The Content-MD5 and length checks come at the end, after
//! the bytes went out: a failed object is reported on stderr and in the exit status, since
//! what a pipe already read cannot be taken back. Objects after the first are not written
//! anywhere.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use flute_receiver::{ObjectLocation, ObjectMeta, ObjectSink, ObjectWriter, SinkError};

/// The streamed object is still coming.
pub(crate) const RUNNING: u8 = 0;
/// The streamed object was complete and verified.
pub(crate) const COMMITTED: u8 = 1;
/// The streamed object failed.
pub(crate) const ABORTED: u8 = 2;

/// Streams the first object opened to `out`; later objects are dropped.
pub(crate) struct StdoutSink<W> {
    out: Option<W>,
    /// [`RUNNING`], [`COMMITTED`] or [`ABORTED`] for the streamed object.
    pub(crate) state: Arc<AtomicU8>,
    /// The streamed object's Content-Location, once chosen.
    pub(crate) chosen: Arc<std::sync::Mutex<Option<String>>>,
}

impl<W: Write + Send + 'static> StdoutSink<W> {
    pub(crate) fn new(out: W) -> Self {
        Self {
            out: Some(out),
            state: Arc::new(AtomicU8::new(RUNNING)),
            chosen: Arc::default(),
        }
    }
}

impl<W: Write + Send + 'static> ObjectSink for StdoutSink<W> {
    fn open(&mut self, meta: &ObjectMeta) -> Result<Box<dyn ObjectWriter>, SinkError> {
        match self.out.take() {
            Some(out) => {
                if let Ok(mut c) = self.chosen.lock() {
                    *c = Some(meta.content_location.clone());
                }
                Ok(Box::new(Streamed {
                    out,
                    written: 0,
                    state: Arc::clone(&self.state),
                }))
            }
            None => Ok(Box::new(Dropped)),
        }
    }
}

struct Streamed<W> {
    out: W,
    written: u64,
    state: Arc<AtomicU8>,
}

impl<W: Write + Send> ObjectWriter for Streamed<W> {
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.out.write_all(data)?;
        // Each block goes out as soon as it is decoded: that is the point.
        self.out.flush()?;
        self.written += data.len() as u64;
        Ok(())
    }
    fn commit(mut self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        self.out.flush()?;
        self.state.store(COMMITTED, Ordering::SeqCst);
        Ok(ObjectLocation::Other(format!(
            "standard output ({} bytes)",
            self.written
        )))
    }
    fn abort(self: Box<Self>) {
        self.state.store(ABORTED, Ordering::SeqCst);
    }
}

impl<W> Drop for Streamed<W> {
    fn drop(&mut self) {
        // Dropped without commit or abort (evicted, or the receiver ended first).
        let _ = self
            .state
            .compare_exchange(RUNNING, ABORTED, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// An object after the streamed one: not written anywhere.
struct Dropped;

impl ObjectWriter for Dropped {
    fn write(&mut self, _: &[u8]) -> Result<(), SinkError> {
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        Ok(ObjectLocation::Other(
            "not written (--stdout takes one object)".into(),
        ))
    }
    fn abort(self: Box<Self>) {}
}
