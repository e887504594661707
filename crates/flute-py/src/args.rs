//! Argument conversions shared by the classes: integers with a `ValueError` (not an
//! `OverflowError`) when out of range, datagrams as bytes-like objects, and the string
//! enums of the API.

use std::borrow::Cow;

use flute_sender::ContentEncoding;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyMemoryView};

use crate::errors::invalid;

/// An integer argument of type `T`: a `TypeError` for a non-integer, an
/// `InvalidArgumentError` (a `ValueError`) when it does not fit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Int<T>(pub(crate) T);

impl<'a, 'py, T: TryFrom<i128>> FromPyObject<'a, 'py> for Int<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let int = obj.cast::<PyInt>().map_err(|_| {
            PyTypeError::new_err(format!("expected an int, not {}", type_name(&obj)))
        })?;
        let v: i128 = int
            .extract()
            .map_err(|_| invalid(format!("integer {} is out of range", &*int)))?;
        T::try_from(v)
            .map(Int)
            .map_err(|_| invalid(format!("integer {v} is out of range")))
    }
}

fn type_name(obj: &Borrowed<'_, '_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// The bytes of a datagram argument: `bytes` (borrowed, no copy), `bytearray` or
/// `memoryview` (copied). Anything else is a `TypeError`; in particular an `int` is refused
/// (`bytes(n)` would allocate `n` zero bytes).
pub(crate) fn datagram<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    if obj.cast::<PyMemoryView>().is_ok() {
        let b = obj.call_method0("tobytes")?;
        let b = b.cast::<PyBytes>()?;
        return Ok(Cow::Owned(b.as_bytes().to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "a datagram must be bytes, bytearray or memoryview, not {}",
        obj.get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |n| n.to_string())
    )))
}

/// A Content-Encoding name: `None`/`"null"`/`"none"`, `"zlib"`, `"deflate"`, `"gzip"`,
/// `"zstd"` (objects only).
pub(crate) fn content_encoding(name: Option<&str>) -> PyResult<ContentEncoding> {
    Ok(match name.map(str::to_ascii_lowercase).as_deref() {
        None | Some("null" | "none" | "") => ContentEncoding::Null,
        Some("zlib") => ContentEncoding::Zlib,
        Some("deflate") => ContentEncoding::Deflate,
        Some("gzip") => ContentEncoding::Gzip,
        Some("zstd") => ContentEncoding::Zstd,
        Some(other) => {
            return Err(invalid(format!(
                "unknown content encoding {other:?} (expected None, \"zlib\", \"deflate\", \"gzip\" or \"zstd\")"
            )));
        }
    })
}

/// A socket address from `"host:port"` / `"[v6]:port"`.
pub(crate) fn socket_addr(name: &str, s: &str) -> PyResult<std::net::SocketAddr> {
    s.parse()
        .map_err(|e| invalid(format!("{name}: {s:?} is not an IP address and port ({e})")))
}

/// An IP address.
pub(crate) fn ip_addr(name: &str, s: &str) -> PyResult<std::net::IpAddr> {
    s.parse()
        .map_err(|e| invalid(format!("{name}: {s:?} is not an IP address ({e})")))
}
