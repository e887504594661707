//! Python binding of the FLUTE toolkit: the extension module `flute_rs._flute_rs`, wrapped
//! by the Python package `flute_rs` (`python/flute_rs/`), built with maturin
//! (`pip install ./crates/flute-py`). See the crate's README.md for the Python API.
//!
//! Thin glue over the sans-IO cores, one module per Python class:
//!
//! - `sender`: `Sender` over `flute_sender::Sender`; `receiver`: `Receiver` over
//!   `flute_receiver::Receiver`; `fec`: `Oti`, every scheme of `fec_schemes`;
//!   `events`: the typed event objects; `packet`: `parse_packet` through `alc`.
//! - `io`: pcap and UDP runs through `flute-io`'s adapter loops, with the GIL released.
//! - `guarded`: no panic crosses the boundary: each class keeps its core behind a mutex
//!   entered with `catch_unwind`; a panic becomes `flute_rs.InternalError` and the object
//!   refuses later calls. `errors`: the exception classes.
//! - `time`: Python times are seconds (floats) on each object's own clock; `None` means
//!   the real monotonic time, read here: like `flute-io`, this crate is at the edge where
//!   clocks are read, so the workspace's clock ban does not apply.
#![allow(clippy::disallowed_methods)]

mod args;
mod errors;
mod events;
mod fec;
mod guarded;
mod io;
mod packet;
mod receiver;
mod sender;
mod time;

use pyo3::prelude::*;

/// Raises a Rust panic, for the test that checks panics surface as `InternalError`.
#[pyfunction]
fn _panic_for_test() -> PyResult<()> {
    guarded::guard(|| panic!("deliberate panic from flute_rs._panic_for_test"))
}

/// The native module.
#[pymodule]
#[pyo3(name = "_flute_rs")]
fn flute_rs_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<fec::PyOti>()?;
    m.add_class::<sender::PySender>()?;
    m.add_class::<sender::SenderStats>()?;
    m.add_class::<receiver::PyReceiver>()?;
    m.add_class::<receiver::ReceiverStats>()?;
    m.add_class::<receiver::MissingBlock>()?;
    m.add_class::<packet::PacketInfo>()?;
    m.add_function(wrap_pyfunction!(packet::parse_packet, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_test, m)?)?;
    m.add_class::<events::SenderEventBase>()?;
    m.add_class::<events::SendStarted>()?;
    m.add_class::<events::ObjectSent>()?;
    m.add_class::<events::ObjectRemoved>()?;
    m.add_class::<events::SendFailed>()?;
    m.add_class::<events::CarouselPassDone>()?;
    m.add_class::<events::FdtPublished>()?;
    m.add_class::<events::FdtFailed>()?;
    m.add_class::<events::SenderClosed>()?;
    m.add_class::<events::ReceiverEventBase>()?;
    m.add_class::<events::FdtReceived>()?;
    m.add_class::<events::ObjectStarted>()?;
    m.add_class::<events::ObjectProgress>()?;
    m.add_class::<events::ObjectComplete>()?;
    m.add_class::<events::ObjectFailed>()?;
    m.add_class::<events::SessionClosed>()?;
    Ok(())
}
