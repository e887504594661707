//! Serialization helpers for the `serde` feature.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::Serializer;
use serde::ser::SerializeSeq as _;

/// A map as a list of `[key, value]` pairs (for keys that are not strings).
pub(crate) fn pairs<K: serde::Serialize, V: serde::Serialize, S: Serializer>(
    map: &BTreeMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(map.len()))?;
    for pair in map {
        seq.serialize_element(&pair)?;
    }
    seq.end()
}

/// A byte buffer as its length.
pub(crate) fn len<S: Serializer>(b: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(b.len() as u64)
}

/// A value by its `Debug` form (e.g. `std::io::ErrorKind`).
pub(crate) fn debug<T: Debug, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:?}"))
}
