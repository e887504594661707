//! The state of a Python object behind a mutex, entered through [`Guarded::with`], which
//! turns a Rust panic into `flute_rs.InternalError` and refuses every later call on that
//! object (its state may be half-updated), so no panic ever unwinds into the interpreter.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::sync::MutexExt;

use crate::errors::{Kind, error, internal};

struct Slot<T> {
    value: T,
    poisoned: bool,
}

/// `T` behind a mutex (a `#[pyclass]` must be `Sync`; the cores are only `Send`).
pub(crate) struct Guarded<T> {
    inner: Mutex<Slot<T>>,
}

fn unusable() -> PyErr {
    error(
        Kind::Internal,
        "this object is unusable after an earlier internal error",
    )
}

impl<T: Send> Guarded<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            inner: Mutex::new(Slot {
                value,
                poisoned: false,
            }),
        }
    }

    /// Runs `f` on the value. Waiting for the lock (another thread is using the object)
    /// happens detached from the interpreter, so it cannot deadlock with the GIL.
    pub(crate) fn with<R>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut T) -> PyResult<R>,
    ) -> PyResult<R> {
        let mut slot = self.inner.lock_py_attached(py).map_err(|_| unusable())?;
        if slot.poisoned {
            return Err(unusable());
        }
        match catch_unwind(AssertUnwindSafe(|| f(&mut slot.value))) {
            Ok(r) => r,
            Err(payload) => {
                slot.poisoned = true;
                Err(internal(&*payload))
            }
        }
    }
}

/// Runs `f`, turning a panic into `InternalError` (for calls that hold no object state).
pub(crate) fn guard<R>(f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(internal(&*payload)))
}
