//! FEC research workbench: how does scheme X behave under loss model Y at block size K?
//!
//! `flute-fec-sim` simulates any scheme of a [`fec_schemes::FecRegistry`] over many seeded
//! trials on all cores and reports, per case (scheme x K x repair ratio x loss model x
//! transmission order):
//!
//! - the block decoding failure probability with its Clopper-Pearson confidence interval;
//! - the mean and percentiles of the reception overhead (symbols needed beyond K, found by
//!   feeding the symbols that arrive in transmission order until decoding succeeds);
//! - the failure probability with exactly K + j symbols received, j = 0, 1, ... (the curve
//!   RFC 6330 §1 quotes for RaptorQ);
//! - encoding and decoding throughput.
//!
//! as CSV, JSON lines and SVG/PNG plots. See `docs/fec-sim.md` for the command line, and
//! [`sim`] for the exact definitions and the reproducibility rules.
//!
//! The binary is a thin wrapper around [`run`], which takes the registry, so a scheme
//! defined out of tree is simulated by registering it and calling [`run`] (the `flute`
//! CLI can mount [`Args`] as a subcommand the same way).

pub mod cli;
pub mod loss;
pub mod plot;
pub mod scheme;
pub mod sim;
pub mod stats;

use std::path::PathBuf;

pub use cli::{Args, RunSummary, main_with, run, run_with_catalog};
pub use loss::LossSpec;
pub use scheme::{BlockShape, BuiltOti, Catalog, OtiBuilder};
pub use sim::{CaseParams, CaseResult, CaseRow, CurvePoint, Order, simulate};
pub use stats::{Proportion, clopper_pearson};

/// Everything that can go wrong in a simulation run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The scheme name is neither in the catalog nor an `id:N` of the registry.
    #[error("unknown FEC scheme {name:?} (known here: {known})")]
    UnknownScheme {
        /// The name given.
        name: String,
        /// The names that would work.
        known: String,
    },
    /// The scheme cannot code this block shape (the case is skipped).
    #[error("{scheme} at K={k}: {reason}")]
    Unsupported {
        /// Scheme name.
        scheme: String,
        /// Block size.
        k: u32,
        /// Why.
        reason: String,
    },
    /// A `--loss` value that does not parse.
    #[error("invalid loss model {spec:?}: {reason}")]
    BadLoss {
        /// The value given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// A loss trace that cannot be read.
    #[error("loss trace {}: {reason}", path.display())]
    Trace {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Any other invalid argument.
    #[error("invalid argument: {0}")]
    BadArg(String),
    /// The codec returned an error other than "not decodable yet".
    #[error("{scheme} at K={k}: {source}")]
    Fec {
        /// Scheme name.
        scheme: String,
        /// Block size.
        k: u32,
        /// The codec's error.
        #[source]
        source: fec_schemes::FecError,
    },
    /// A decoder returned bytes that differ from the source block: a codec bug.
    #[error("{scheme} at K={k}: trial {trial} decoded a block that differs from the source")]
    WrongDecode {
        /// Scheme name.
        scheme: String,
        /// Block size.
        k: u32,
        /// The trial.
        trial: u64,
    },
    /// Writing an output file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("plot {}: {reason}", path.display())]
    Plot {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Every case was skipped.
    #[error("no case could be simulated (every scheme refused every block shape)")]
    NoCases,
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, 64 bits: a hash that is the same on every machine and Rust version.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed derivation must not change between versions or machines: pinned values.
    #[test]
    fn hashes_are_pinned() {
        assert_eq!(fnv1a(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xAF63_DC4C_8601_EC8C);
        assert_eq!(mix64(0), 0xE220_A839_7B1D_CDAF);
    }
}
