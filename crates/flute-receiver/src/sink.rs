//! Where delivered objects go. The receiver streams each object's content, in order, to an
//! [`ObjectWriter`] opened from an [`ObjectSink`]; it never holds a whole object itself.
//!
//! [`MemorySink`] is provided here (the object ends up in [`ObjectLocation::Memory`]). The
//! file-system sink, `flute_io::FsSink`, lives in the I/O crate: this crate writes no file.

use std::io;
use std::path::PathBuf;

use bytes::Bytes;

use crate::{SessionId, Toi};

/// What a sink learns about an object before its content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ObjectMeta {
    /// The session.
    pub session: SessionId,
    /// Transport Object Identifier (up to 112 bits).
    pub toi: Toi,
    /// FDT `Content-Location`.
    pub content_location: String,
    /// FDT `Content-Type`.
    pub content_type: Option<String>,
    /// Expected content length after content decoding, if known.
    pub content_length: Option<u64>,
    /// The FDT's Content-MD5, for a sink that verifies it itself
    /// ([`ObjectSink::verifies_md5`]): then the receiver does not hash the object, and the
    /// writer's `commit` must return [`SinkError::Md5Mismatch`] if the content's digest
    /// differs. `None` when the receiver verifies it (or there is none).
    pub content_md5: Option<[u8; 16]>,
}

/// Where a complete object ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ObjectLocation {
    /// A file written by a file-system sink (`flute_io::FsSink`).
    File(PathBuf),
    /// The content, held by [`MemorySink`]. (With `serde`: its length only.)
    Memory(#[cfg_attr(feature = "serde", serde(serialize_with = "crate::serde_util::len"))] Bytes),
    /// A location described by a custom sink.
    Other(String),
}

/// Why a sink refused or failed. Plain data (it can be cloned and compared), so that it
/// travels in [`crate::FailReason::Sink`] as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum SinkError {
    /// The Content-Location cannot be mapped to a safe path.
    #[error("unsafe Content-Location {0:?}")]
    UnsafeLocation(String),
    /// The content does not match the FDT's Content-MD5 (for a sink that verifies it).
    #[error("Content-MD5 mismatch")]
    Md5Mismatch,
    /// An I/O error: its kind and its message.
    #[error("I/O error: {message}")]
    Io {
        /// The error's kind (e.g. `StorageFull`, `PermissionDenied`).
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serde_util::debug"))]
        kind: io::ErrorKind,
        /// The error's message.
        message: String,
    },
}

impl From<io::Error> for SinkError {
    fn from(e: io::Error) -> Self {
        Self::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Opens one writer per object.
pub trait ObjectSink: Send {
    /// Called once per object, before its first byte.
    fn open(&mut self, meta: &ObjectMeta) -> Result<Box<dyn ObjectWriter>, SinkError>;

    /// True if this sink checks Content-MD5 itself (see [`ObjectMeta::content_md5`]), for
    /// example on another thread, so that hashing overlaps with receiving. Only objects
    /// without a content encoding are handed over; the receiver hashes the others. Default
    /// `false`.
    fn verifies_md5(&self) -> bool {
        false
    }
}

/// Receives one object's content in order.
pub trait ObjectWriter: Send {
    /// Appends content.
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError>;
    /// The object is complete and verified: make it visible.
    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError>;
    /// The object failed: discard what was written.
    fn abort(self: Box<Self>);
}

/// Keeps objects in memory; the content is returned in [`ObjectLocation::Memory`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MemorySink;

impl ObjectSink for MemorySink {
    fn open(&mut self, meta: &ObjectMeta) -> Result<Box<dyn ObjectWriter>, SinkError> {
        // Pre-allocate modestly only: the announced length is not trusted (item 39).
        let cap = meta.content_length.unwrap_or(0).min(1 << 20) as usize;
        Ok(Box::new(MemoryWriter(Vec::with_capacity(cap))))
    }
}

struct MemoryWriter(Vec<u8>);

impl ObjectWriter for MemoryWriter {
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.0.extend_from_slice(data);
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<ObjectLocation, SinkError> {
        Ok(ObjectLocation::Memory(Bytes::from(self.0)))
    }
    fn abort(self: Box<Self>) {}
}
