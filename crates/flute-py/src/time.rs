//! Time as Python sees it: seconds (a float) on the clock of one `Sender` or `Receiver`,
//! 0.0 at its creation. `now=None` means "the real monotonic time".

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::PyResult;

use crate::errors::invalid;

/// Longest duration or time offset accepted from Python: 100 years. Keeps every
/// `Instant + Duration` in the cores far from overflow.
pub(crate) const MAX_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

/// A non-negative, finite number of seconds as a `Duration`.
pub(crate) fn seconds(name: &str, v: f64) -> PyResult<Duration> {
    if !v.is_finite() || !(0.0..=MAX_SECONDS).contains(&v) {
        return Err(invalid(format!(
            "{name} must be a number of seconds between 0 and {MAX_SECONDS}, not {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

/// The clock of one Python object.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
    wall_origin: SystemTime,
}

impl Clock {
    /// A clock starting now. `wall_time`: the wall-clock time (seconds since the Unix epoch)
    /// of time 0.0; default: the system's.
    pub(crate) fn new(wall_time: Option<f64>) -> PyResult<Self> {
        let wall_origin = match wall_time {
            None => SystemTime::now(),
            Some(w) => UNIX_EPOCH + seconds("wall_time", w)?,
        };
        Ok(Self {
            origin: Instant::now(),
            wall_origin,
        })
    }

    /// The instant of `now` (seconds on this clock), or the real time for `None`.
    pub(crate) fn at(&self, now: Option<f64>) -> PyResult<Instant> {
        match now {
            None => Ok(Instant::now().max(self.origin)),
            Some(s) => Ok(self.origin + seconds("now", s)?),
        }
    }

    /// `t` in seconds on this clock (0.0 for instants before its start).
    pub(crate) fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.origin).as_secs_f64()
    }

    /// The wall-clock time at `t`.
    pub(crate) fn wall(&self, t: Instant) -> SystemTime {
        self.wall_origin + t.saturating_duration_since(self.origin)
    }

    /// The monotonic instant of time 0.0.
    pub(crate) fn origin(&self) -> Instant {
        self.origin
    }

    /// The wall-clock time of time 0.0.
    pub(crate) fn wall_origin(&self) -> SystemTime {
        self.wall_origin
    }
}
