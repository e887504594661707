//! Typed event objects for Python: `SenderEvent` and `ReceiverEvent` base classes, one
//! subclass per event, fields as read-only attributes.

use flute_receiver::{CloseReason, FailReason, ObjectLocation, ReceiverEvent, SessionId};
use flute_sender::SenderEvent;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// `Foo` -> `foo`, `BadSymbol` -> `bad_symbol`: the Python name of a Rust variant.
pub(crate) fn snake(debug_name: &str) -> String {
    let name = debug_name
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or(debug_name);
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn repr_fields(slf: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut s = format!("{name}(");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let v = slf.getattr(*f)?;
        s.push_str(f);
        s.push('=');
        s.push_str(&v.repr()?.to_string());
    }
    s.push(')');
    Ok(s)
}

macro_rules! event {
    ($(#[$doc:meta])* $name:ident : $base:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[pyclass(module = "flute_rs", extends = $base, frozen, get_all)]
        pub(crate) struct $name {
            $($(#[$fdoc])* pub(crate) $field: $ty,)*
        }

        #[pymethods]
        impl $name {
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr_fields(slf.as_any(), stringify!($name), &[$(stringify!($field)),*])
            }
        }
    };
}

/// Base class of the events of a `Sender` (`Sender.events()`).
#[pyclass(module = "flute_rs", name = "SenderEvent", subclass, frozen)]
pub(crate) struct SenderEventBase;

/// Base class of the events of a `Receiver` (`Receiver.events()`).
#[pyclass(module = "flute_rs", name = "ReceiverEvent", subclass, frozen)]
pub(crate) struct ReceiverEventBase;

event!(
    /// The first packet of an object was sent.
    SendStarted: SenderEventBase { toi: u128 }
);
event!(
    /// The last packet of an object (close-object flag B) was sent.
    ObjectSent: SenderEventBase { toi: u128 }
);
event!(
    /// An object was removed with `Sender.remove()`.
    ObjectRemoved: SenderEventBase { toi: u128 }
);
event!(
    /// Reading an object's source (its file) failed; the object was dropped.
    SendFailed: SenderEventBase { toi: u128, reason: String }
);
event!(
    /// A carousel pass over an object finished; `passes` counts from 1.
    CarouselPassDone: SenderEventBase { toi: u128, passes: u32 }
);
event!(
    /// An FDT Instance was transmitted completely for the first time.
    FdtPublished: SenderEventBase { instance_id: u32, files: usize }
);
event!(
    /// An FDT Instance could not be built.
    FdtFailed: SenderEventBase { error: String }
);
event!(
    /// The session's last packet (close-session flag A) was sent.
    SenderClosed: SenderEventBase {}
);

event!(
    /// An FDT Instance was accepted.
    FdtReceived: ReceiverEventBase {
        tsi: u64, source: Option<String>, destination: String,
        instance_id: u32, files: usize, complete: bool
    }
);
event!(
    /// The receiver started assembling an object.
    ObjectStarted: ReceiverEventBase {
        tsi: u64, source: Option<String>, destination: String,
        toi: u128, transfer_length: u64, content_location: Option<String>
    }
);
event!(
    /// A source block of an object was decoded.
    ObjectProgress: ReceiverEventBase {
        tsi: u64, source: Option<String>, destination: String,
        toi: u128, blocks_decoded: u64, blocks_total: u64
    }
);
event!(
    /// An object failed; nothing was delivered. `kind` names the reason
    /// (`"timeout"`, `"md5_mismatch"`, `"session_closed"`, ...), `reason` explains it.
    ObjectFailed: ReceiverEventBase {
        tsi: u64, source: Option<String>, destination: String,
        toi: u128, kind: String, reason: String
    }
);
event!(
    /// A session ended: `reason` is `"close_session"` (the sender's A flag) or `"idle"`.
    SessionClosed: ReceiverEventBase {
        tsi: u64, source: Option<String>, destination: String, reason: String
    }
);

/// An object was delivered complete and verified: its content is in `data` (memory
/// receiver) or in the file `path` (receiver with an output directory).
#[pyclass(module = "flute_rs", extends = ReceiverEventBase, frozen, get_all)]
pub(crate) struct ObjectComplete {
    pub(crate) tsi: u64,
    pub(crate) source: Option<String>,
    pub(crate) destination: String,
    pub(crate) toi: u128,
    pub(crate) content_location: String,
    pub(crate) content_length: u64,
    pub(crate) data: Option<Py<PyBytes>>,
    pub(crate) path: Option<String>,
}

#[pymethods]
impl ObjectComplete {
    fn __repr__(&self) -> String {
        let mut s = format!(
            "ObjectComplete(tsi={}, toi={}, content_location={:?}, content_length={}",
            self.tsi, self.toi, self.content_location, self.content_length
        );
        if let Some(p) = &self.path {
            s.push_str(&format!(", path={p:?}"));
        }
        if self.data.is_some() {
            s.push_str(&format!(", data=<{} bytes>", self.content_length));
        }
        s.push(')');
        s
    }
}

fn sender_event<T: pyo3::PyClass<BaseType = SenderEventBase>>(
    py: Python<'_>,
    value: T,
) -> PyResult<Py<PyAny>>
where
    PyClassInitializer<T>: From<(T, SenderEventBase)>,
{
    let init = PyClassInitializer::from((value, SenderEventBase));
    Ok(Bound::new(py, init)?.into_any().unbind())
}

/// A sender event as a Python object.
pub(crate) fn from_sender(py: Python<'_>, ev: SenderEvent) -> PyResult<Option<Py<PyAny>>> {
    Ok(Some(match ev {
        SenderEvent::ObjectStarted { toi } => sender_event(py, SendStarted { toi: toi.0 })?,
        SenderEvent::ObjectSent { toi } => sender_event(py, ObjectSent { toi: toi.0 })?,
        SenderEvent::ObjectRemoved { toi } => sender_event(py, ObjectRemoved { toi: toi.0 })?,
        SenderEvent::ObjectFailed { toi, error } => sender_event(
            py,
            SendFailed {
                toi: toi.0,
                reason: error.to_string(),
            },
        )?,
        SenderEvent::CarouselCycleDone { toi, pass } => sender_event(
            py,
            CarouselPassDone {
                toi: toi.0,
                passes: pass,
            },
        )?,
        SenderEvent::FdtPublished { instance_id, files } => {
            sender_event(py, FdtPublished { instance_id, files })?
        }
        SenderEvent::FdtFailed { error } => sender_event(
            py,
            FdtFailed {
                error: error.to_string(),
            },
        )?,
        SenderEvent::SessionClosed => sender_event(py, SenderClosed {})?,
        _ => return Ok(None),
    }))
}

fn receiver_event<T: pyo3::PyClass<BaseType = ReceiverEventBase>>(
    py: Python<'_>,
    value: T,
) -> PyResult<Py<PyAny>>
where
    PyClassInitializer<T>: From<(T, ReceiverEventBase)>,
{
    let init = PyClassInitializer::from((value, ReceiverEventBase));
    Ok(Bound::new(py, init)?.into_any().unbind())
}

fn session(s: &SessionId) -> (u64, Option<String>, String) {
    (
        s.tsi.0,
        s.endpoint.source.map(|a| a.to_string()),
        s.endpoint.destination.to_string(),
    )
}

/// The name of a failure reason.
pub(crate) fn fail_kind(r: &FailReason) -> String {
    snake(&format!("{r:?}"))
}

/// A receiver event as a Python object.
pub(crate) fn from_receiver(py: Python<'_>, ev: ReceiverEvent) -> PyResult<Option<Py<PyAny>>> {
    Ok(Some(match ev {
        ReceiverEvent::FdtReceived {
            session: s,
            instance_id,
            files,
            complete,
        } => {
            let (tsi, source, destination) = session(&s);
            receiver_event(
                py,
                FdtReceived {
                    tsi,
                    source,
                    destination,
                    instance_id,
                    files,
                    complete,
                },
            )?
        }
        ReceiverEvent::ObjectStarted {
            session: s,
            toi,
            transfer_length,
            content_location,
        } => {
            let (tsi, source, destination) = session(&s);
            receiver_event(
                py,
                ObjectStarted {
                    tsi,
                    source,
                    destination,
                    toi: toi.0,
                    transfer_length,
                    content_location,
                },
            )?
        }
        ReceiverEvent::Progress {
            session: s,
            toi,
            blocks_decoded,
            blocks_total,
        } => {
            let (tsi, source, destination) = session(&s);
            receiver_event(
                py,
                ObjectProgress {
                    tsi,
                    source,
                    destination,
                    toi: toi.0,
                    blocks_decoded,
                    blocks_total,
                },
            )?
        }
        ReceiverEvent::ObjectComplete {
            session: s,
            toi,
            content_location,
            location,
            content_length,
        } => {
            let (tsi, source, destination) = session(&s);
            let (data, path) = match location {
                ObjectLocation::Memory(b) => (Some(PyBytes::new(py, &b).unbind()), None),
                ObjectLocation::File(p) => (None, Some(p.to_string_lossy().into_owned())),
                ObjectLocation::Other(o) => (None, Some(o)),
                _ => (None, None),
            };
            receiver_event(
                py,
                ObjectComplete {
                    tsi,
                    source,
                    destination,
                    toi: toi.0,
                    content_location,
                    content_length,
                    data,
                    path,
                },
            )?
        }
        ReceiverEvent::ObjectFailed {
            session: s,
            toi,
            reason,
        } => {
            let (tsi, source, destination) = session(&s);
            receiver_event(
                py,
                ObjectFailed {
                    tsi,
                    source,
                    destination,
                    toi: toi.0,
                    kind: fail_kind(&reason),
                    reason: reason.to_string(),
                },
            )?
        }
        ReceiverEvent::SessionClosed { session: s, reason } => {
            let (tsi, source, destination) = session(&s);
            let reason = match reason {
                CloseReason::CloseSession => "close_session".to_owned(),
                CloseReason::Idle => "idle".to_owned(),
                other => snake(&format!("{other:?}")),
            };
            receiver_event(
                py,
                SessionClosed {
                    tsi,
                    source,
                    destination,
                    reason,
                },
            )?
        }
        _ => return Ok(None),
    }))
}
