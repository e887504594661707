//! Exceptions: the classes live in `flute_rs/_errors.py` (so that they can inherit from both
//! `FluteError` and a built-in such as `ValueError`); this module raises them.

use std::any::Any;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The exception classes of `flute_rs._errors`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// `InvalidArgumentError(FluteError, ValueError)`.
    InvalidArgument,
    /// `SessionClosedError(FluteError)`.
    SessionClosed,
    /// `UnknownObjectError(FluteError, KeyError)`.
    UnknownObject,
    /// `DuplicateObjectError(FluteError, ValueError)`.
    DuplicateObject,
    /// `InvalidPacketError(FluteError, ValueError)`.
    InvalidPacket,
    /// `InternalError(FluteError)`: a Rust panic caught at the boundary.
    Internal,
}

impl Kind {
    const fn class_name(self) -> &'static str {
        match self {
            Self::InvalidArgument => "InvalidArgumentError",
            Self::SessionClosed => "SessionClosedError",
            Self::UnknownObject => "UnknownObjectError",
            Self::DuplicateObject => "DuplicateObjectError",
            Self::InvalidPacket => "InvalidPacketError",
            Self::Internal => "InternalError",
        }
    }
}

fn class<'py>(py: Python<'py>, kind: Kind) -> PyResult<Bound<'py, PyType>> {
    let module = ERRORS.get_or_try_init(py, || py.import("flute_rs._errors").map(Bound::unbind))?;
    let cls = module.bind(py).getattr(kind.class_name())?;
    Ok(cls.cast_into::<PyType>()?)
}

/// An exception of class `kind` with message `msg`.
pub(crate) fn error(kind: Kind, msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(|py| match class(py, kind) {
        Ok(cls) => PyErr::from_type(cls, msg),
        Err(e) => PyRuntimeError::new_err(format!("{msg} (and flute_rs._errors: {e})")),
    })
}

/// `InvalidArgumentError` (a `ValueError`).
pub(crate) fn invalid(msg: impl Into<String>) -> PyErr {
    error(Kind::InvalidArgument, msg)
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// `InternalError` for a caught panic.
pub(crate) fn internal(payload: &(dyn Any + Send)) -> PyErr {
    error(
        Kind::Internal,
        format!(
            "internal error (a Rust panic, caught at the Python boundary; please report it): {}",
            panic_message(payload)
        ),
    )
}

/// The sender's refusals as Python exceptions: state errors get their own classes, I/O
/// errors become `OSError`, everything else is a bad argument (`ValueError`).
pub(crate) fn send_error(e: flute_sender::SendError) -> PyErr {
    use flute_sender::SendError as E;
    match e {
        E::Closed => error(Kind::SessionClosed, e.to_string()),
        E::UnknownToi(_) => error(Kind::UnknownObject, e.to_string()),
        E::DuplicateToi(_) => error(Kind::DuplicateObject, e.to_string()),
        E::Io { kind, message } => PyErr::from(std::io::Error::new(kind, message)),
        other => invalid(other.to_string()),
    }
}
