//! `flute_rs.Oti`: how objects are FEC-coded, for every scheme the `fec-schemes` registry
//! has a codec for (FEC Encoding IDs 0, 1, 2, 3, 5, 6 and 129/0).
//!
//! An `Oti` here is a recipe: the OTI of an object depends on its transfer length (RFC 5052
//! §6.2), which is only known when the object is inserted; [`FecKind::oti_for`] makes it.

use std::sync::{Arc, LazyLock};

use fec_schemes::schemes::ldpc_staircase::LdpcStaircase;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptor::Raptor;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, RsSmallBlock};
use fec_schemes::{FecRegistry, Oti, SchemeSpecific};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::args::Int;
use crate::errors::invalid;

/// The built-in registry, shared by every sender and receiver of the process.
pub(crate) static REGISTRY: LazyLock<Arc<FecRegistry>> =
    LazyLock::new(|| Arc::new(FecRegistry::with_builtin()));

/// Largest number of source symbols per Raptor block (RFC 5053 §4.2: K <= 8192).
const RAPTOR_MAX_K: u64 = 8192;

/// A scheme and its parameters, without the transfer length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FecKind {
    /// Compact No-Code (ID 0).
    NoCode { e: u16, b: u32 },
    /// Reed-Solomon over GF(2^8) (ID 5).
    RsGf28 { e: u16, b: u32, max_n: u32 },
    /// Reed-Solomon over GF(2^m) (ID 2).
    RsGf2m {
        e: u16,
        b: u32,
        max_n: u32,
        m: u8,
        g: u8,
    },
    /// Reed-Solomon, Small Block Systematic (ID 129, instance 0).
    RsSmallBlock { e: u16, b: u32, max_n: u32 },
    /// LDPC-Staircase (ID 3): B, max_n, N1 and the PRNG seed.
    Ldpc {
        e: u16,
        b: u32,
        max_n: u32,
        n1: u8,
        seed: u32,
    },
    /// Raptor (ID 1); `z: None` picks Z from the transfer length.
    Raptor {
        e: u16,
        max_k: u32,
        z: Option<u16>,
        n: u8,
        al: u8,
    },
    /// RaptorQ (ID 6); `z: None` picks Z from the transfer length.
    RaptorQ {
        e: u16,
        max_k: u32,
        z: Option<u16>,
        n: u16,
        al: u8,
    },
}

impl FecKind {
    /// The OTI for an object of `len` bytes (after content encoding).
    pub(crate) fn oti_for(self, len: u64) -> Oti {
        match self {
            Self::NoCode { e, b } => CompactNoCode::oti(len, e, b),
            Self::RsGf28 { e, b, max_n } => RsGf28::oti(len, e, b, max_n),
            Self::RsGf2m { e, b, max_n, m, g } => RsGf2m::oti(len, e, b, max_n, m, g),
            Self::RsSmallBlock { e, b, max_n } => RsSmallBlock::oti(len, e, b, max_n),
            Self::Ldpc {
                e,
                b,
                max_n,
                n1,
                seed,
            } => LdpcStaircase::oti(len, e, b, max_n, n1, seed),
            Self::Raptor { e, max_k, z, n, al } => {
                if let Some(z) = z {
                    return Raptor::oti(len, e, z, n, al);
                }
                // RFC 5053 needs 4 <= K per block: tiny objects get smaller symbols, and
                // objects under 4 bytes go without FEC (the same rule as `flute send`).
                if len > 0 && len < 4 {
                    return CompactNoCode::oti(len, e, 64);
                }
                let kt = len.div_ceil(u64::from(e.max(1))).max(1);
                if len > 0 && kt < 4 {
                    let t = u16::try_from(len / 4).unwrap_or(e).max(1);
                    return Raptor::oti(len, t, 1, n, 1);
                }
                let max_k = u64::from(max_k).clamp(4, RAPTOR_MAX_K);
                let z = u16::try_from(kt.div_ceil(max_k)).unwrap_or(u16::MAX).max(1);
                Raptor::oti(len, e, z, n, al)
            }
            Self::RaptorQ { e, max_k, z, n, al } => {
                let z = z.unwrap_or_else(|| {
                    let kt = len.div_ceil(u64::from(e.max(1))).max(1);
                    let z = kt.div_ceil(u64::from(max_k.max(1))).max(1);
                    u16::try_from(z).unwrap_or(u16::MAX)
                });
                RaptorQ::oti(len, e, z, n, al)
            }
        }
    }

    /// The symbol length E (T).
    pub(crate) const fn symbol_length(self) -> u16 {
        match self {
            Self::NoCode { e, .. }
            | Self::RsGf28 { e, .. }
            | Self::RsGf2m { e, .. }
            | Self::RsSmallBlock { e, .. }
            | Self::Ldpc { e, .. }
            | Self::Raptor { e, .. }
            | Self::RaptorQ { e, .. } => e,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::NoCode { .. } => "Compact No-Code",
            Self::RsGf28 { .. } => "Reed-Solomon GF(2^8)",
            Self::RsGf2m { .. } => "Reed-Solomon GF(2^m)",
            Self::RsSmallBlock { .. } => "Reed-Solomon Small Block Systematic",
            Self::Ldpc { .. } => "LDPC-Staircase",
            Self::Raptor { .. } => "Raptor",
            Self::RaptorQ { .. } => "RaptorQ",
        }
    }

    /// Checks the parameters with the scheme, for a representative object size.
    fn validate(self) -> PyResult<Self> {
        let e = u64::from(self.symbol_length());
        if e == 0 {
            return Err(invalid("symbol_length must be at least 1"));
        }
        let probe = match self {
            Self::Raptor { max_k, .. } | Self::RaptorQ { max_k, .. } => {
                e * u64::from(max_k.clamp(4, 1024))
            }
            _ => e * 4,
        };
        check(&self.oti_for(probe))?;
        Ok(self)
    }
}

/// Validates an OTI against the registry's scheme for it.
pub(crate) fn check(oti: &Oti) -> PyResult<()> {
    let scheme = REGISTRY
        .for_oti(oti)
        .map_err(|e| invalid(format!("FEC: {e}")))?;
    scheme
        .validate_oti(oti)
        .map_err(|e| invalid(format!("FEC: {e}")))
}

/// Symbol alignment for Raptor: the largest of 8, 4, 2, 1 dividing the symbol size.
fn alignment_for(e: u16) -> u8 {
    [8u16, 4, 2, 1]
        .into_iter()
        .find(|a| e % a == 0)
        .map_or(1, |a| a as u8)
}

/// How objects are FEC-coded: a scheme and its parameters (the FEC Object Transmission
/// Information of RFC 5052 §6.2 without the transfer length, which each object supplies).
/// Build one with a static method: `Oti.no_code()`, `Oti.reed_solomon_gf28()`,
/// `Oti.reed_solomon_gf2m()`, `Oti.reed_solomon_small_block()`, `Oti.raptor()`,
/// `Oti.raptorq()`.
#[pyclass(module = "flute_rs", name = "Oti", frozen, eq, from_py_object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PyOti {
    pub(crate) kind: FecKind,
}

#[pymethods]
impl PyOti {
    /// Compact No-Code (FEC Encoding ID 0, RFC 5445): no repair symbols.
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(64)))]
    fn no_code(symbol_length: Int<u16>, max_source_block_length: Int<u32>) -> PyResult<Self> {
        Self::new(FecKind::NoCode {
            e: symbol_length.0,
            b: max_source_block_length.0,
        })
    }

    /// Reed-Solomon over GF(2^8) (FEC Encoding ID 5, RFC 5510 §4): blocks of up to
    /// `max_source_block_length` source symbols, at most `max_encoding_symbols` (<= 255)
    /// source + repair symbols per block.
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(200), max_encoding_symbols = Int(255)))]
    fn reed_solomon_gf28(
        symbol_length: Int<u16>,
        max_source_block_length: Int<u32>,
        max_encoding_symbols: Int<u32>,
    ) -> PyResult<Self> {
        Self::new(FecKind::RsGf28 {
            e: symbol_length.0,
            b: max_source_block_length.0,
            max_n: max_encoding_symbols.0,
        })
    }

    /// Reed-Solomon over GF(2^m) (FEC Encoding ID 2, RFC 5510 §5), field size `m` (2..=16)
    /// and `g` symbols per packet.
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(200), max_encoding_symbols = Int(255), m = Int(8), g = Int(1)))]
    fn reed_solomon_gf2m(
        symbol_length: Int<u16>,
        max_source_block_length: Int<u32>,
        max_encoding_symbols: Int<u32>,
        m: Int<u8>,
        g: Int<u8>,
    ) -> PyResult<Self> {
        Self::new(FecKind::RsGf2m {
            e: symbol_length.0,
            b: max_source_block_length.0,
            max_n: max_encoding_symbols.0,
            m: m.0,
            g: g.0,
        })
    }

    /// Reed-Solomon over GF(2^8) as Small Block Systematic FEC (FEC Encoding ID 129, FEC
    /// Instance ID 0, RFC 5510 §6).
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(200), max_encoding_symbols = Int(255)))]
    fn reed_solomon_small_block(
        symbol_length: Int<u16>,
        max_source_block_length: Int<u32>,
        max_encoding_symbols: Int<u32>,
    ) -> PyResult<Self> {
        Self::new(FecKind::RsSmallBlock {
            e: symbol_length.0,
            b: max_source_block_length.0,
            max_n: max_encoding_symbols.0,
        })
    }

    /// Raptor (FEC Encoding ID 1, RFC 5053). `source_blocks` (Z) defaults to the smallest
    /// number of blocks of at most `max_source_block_length` symbols; `alignment` (Al) to
    /// the largest of 8, 4, 2, 1 dividing the symbol length. Objects shorter than 4 symbols
    /// get smaller symbols, and objects under 4 bytes are sent with Compact No-Code (RFC 5053
    /// needs at least 4 source symbols per block).
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(1024), source_blocks = None, sub_blocks = Int(1), alignment = None))]
    fn raptor(
        symbol_length: Int<u16>,
        max_source_block_length: Int<u32>,
        source_blocks: Option<Int<u16>>,
        sub_blocks: Int<u8>,
        alignment: Option<Int<u8>>,
    ) -> PyResult<Self> {
        let e = symbol_length.0;
        Self::new(FecKind::Raptor {
            e,
            max_k: max_source_block_length.0,
            z: source_blocks.map(|z| z.0),
            n: sub_blocks.0,
            al: alignment.map_or_else(|| alignment_for(e), |a| a.0),
        })
    }

    /// LDPC-Staircase (FEC Encoding ID 3, RFC 5170): `n1` (N1, 1..=32 here) ones per source
    /// column of the parity-check matrix and the PRNG `seed` both ends use to build it.
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(1024), max_encoding_symbols = Int(1280), n1 = Int(3), seed = Int(1)))]
    fn ldpc_staircase(
        symbol_length: Int<u16>,
        max_source_block_length: Int<u32>,
        max_encoding_symbols: Int<u32>,
        n1: Int<u8>,
        seed: Int<u32>,
    ) -> PyResult<Self> {
        Self::new(FecKind::Ldpc {
            e: symbol_length.0,
            b: max_source_block_length.0,
            max_n: max_encoding_symbols.0,
            n1: n1.0,
            seed: seed.0,
        })
    }

    /// RaptorQ (FEC Encoding ID 6, RFC 6330). `source_blocks` (Z, 1..=255) defaults to the
    /// smallest number of blocks of at most `max_source_block_length` symbols.
    #[staticmethod]
    #[pyo3(signature = (symbol_length = Int(1400), max_source_block_length = Int(1024), source_blocks = None, sub_blocks = Int(1), alignment = Int(1)))]
    fn raptorq(
        symbol_length: Int<u16>,
        max_source_block_length: Int<u32>,
        source_blocks: Option<Int<u16>>,
        sub_blocks: Int<u16>,
        alignment: Int<u8>,
    ) -> PyResult<Self> {
        Self::new(FecKind::RaptorQ {
            e: symbol_length.0,
            max_k: max_source_block_length.0,
            z: source_blocks.map(|z| z.0),
            n: sub_blocks.0,
            al: alignment.0,
        })
    }

    /// The scheme's name, e.g. `"RaptorQ"`.
    #[getter]
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// FEC Encoding ID (RFC 5052 §5.1).
    #[getter]
    fn encoding_id(&self) -> u8 {
        self.kind.oti_for(0).encoding_id.0
    }

    /// FEC Instance ID for Under-Specified schemes, else `None`.
    #[getter]
    fn instance_id(&self) -> Option<u16> {
        self.kind.oti_for(0).instance_id.map(|i| i.0)
    }

    /// Encoding symbol length E (T for Raptor and RaptorQ), in bytes.
    #[getter]
    fn symbol_length(&self) -> u16 {
        self.kind.symbol_length()
    }

    /// Maximum source block length B, in symbols.
    #[getter]
    fn max_source_block_length(&self) -> u32 {
        match self.kind {
            FecKind::NoCode { b, .. }
            | FecKind::RsGf28 { b, .. }
            | FecKind::RsGf2m { b, .. }
            | FecKind::RsSmallBlock { b, .. }
            | FecKind::Ldpc { b, .. } => b,
            FecKind::Raptor { max_k, .. } | FecKind::RaptorQ { max_k, .. } => max_k,
        }
    }

    /// Maximum number of encoding symbols per block (max_n), for Reed-Solomon and LDPC-Staircase.
    #[getter]
    fn max_encoding_symbols(&self) -> Option<u32> {
        match self.kind {
            FecKind::RsGf28 { max_n, .. }
            | FecKind::RsGf2m { max_n, .. }
            | FecKind::RsSmallBlock { max_n, .. }
            | FecKind::Ldpc { max_n, .. } => Some(max_n),
            _ => None,
        }
    }

    /// The complete OTI for an object of `transfer_length` bytes, as a dict with the keys
    /// `encoding_id`, `instance_id`, `transfer_length`, `symbol_length`,
    /// `max_source_block_length`, `max_encoding_symbols` and `scheme_specific` (a dict, or
    /// `None`). Raises `InvalidArgumentError` if the scheme cannot carry such an object.
    fn for_transfer_length<'py>(
        &self,
        py: Python<'py>,
        transfer_length: Int<u64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let oti = self.kind.oti_for(transfer_length.0);
        check(&oti)?;
        oti_dict(py, &oti)
    }

    fn __repr__(&self) -> String {
        match self.kind {
            FecKind::NoCode { e, b } => {
                format!("Oti.no_code(symbol_length={e}, max_source_block_length={b})")
            }
            FecKind::RsGf28 { e, b, max_n } => format!(
                "Oti.reed_solomon_gf28(symbol_length={e}, max_source_block_length={b}, max_encoding_symbols={max_n})"
            ),
            FecKind::RsGf2m { e, b, max_n, m, g } => format!(
                "Oti.reed_solomon_gf2m(symbol_length={e}, max_source_block_length={b}, max_encoding_symbols={max_n}, m={m}, g={g})"
            ),
            FecKind::RsSmallBlock { e, b, max_n } => format!(
                "Oti.reed_solomon_small_block(symbol_length={e}, max_source_block_length={b}, max_encoding_symbols={max_n})"
            ),
            FecKind::Ldpc {
                e,
                b,
                max_n,
                n1,
                seed,
            } => format!(
                "Oti.ldpc_staircase(symbol_length={e}, max_source_block_length={b}, max_encoding_symbols={max_n}, n1={n1}, seed={seed})"
            ),
            FecKind::Raptor { e, max_k, z, n, al } => format!(
                "Oti.raptor(symbol_length={e}, max_source_block_length={max_k}, source_blocks={}, sub_blocks={n}, alignment={al})",
                z.map_or_else(|| "None".to_owned(), |z| z.to_string())
            ),
            FecKind::RaptorQ { e, max_k, z, n, al } => format!(
                "Oti.raptorq(symbol_length={e}, max_source_block_length={max_k}, source_blocks={}, sub_blocks={n}, alignment={al})",
                z.map_or_else(|| "None".to_owned(), |z| z.to_string())
            ),
        }
    }
}

impl PyOti {
    fn new(kind: FecKind) -> PyResult<Self> {
        Ok(Self {
            kind: kind.validate()?,
        })
    }
}

/// An OTI as a Python dict.
pub(crate) fn oti_dict<'py>(py: Python<'py>, oti: &Oti) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("encoding_id", oti.encoding_id.0)?;
    d.set_item("instance_id", oti.instance_id.map(|i| i.0))?;
    d.set_item("transfer_length", oti.transfer_length)?;
    d.set_item("symbol_length", oti.encoding_symbol_length)?;
    d.set_item("max_source_block_length", oti.max_source_block_length)?;
    d.set_item("max_encoding_symbols", oti.max_encoding_symbols)?;
    let ss = PyDict::new(py);
    match &oti.scheme_specific {
        SchemeSpecific::Raptor { z, n, al } => {
            ss.set_item("z", *z)?;
            ss.set_item("n", *n)?;
            ss.set_item("al", *al)?;
        }
        SchemeSpecific::RaptorQ { z, n, al } => {
            ss.set_item("z", *z)?;
            ss.set_item("n", *n)?;
            ss.set_item("al", *al)?;
        }
        SchemeSpecific::ReedSolomon { m, g } => {
            ss.set_item("m", *m)?;
            ss.set_item("g", *g)?;
        }
        SchemeSpecific::Opaque(b) => {
            ss.set_item("opaque", pyo3::types::PyBytes::new(py, b))?;
        }
        _ => {}
    }
    if ss.is_empty() {
        d.set_item("scheme_specific", py.None())?;
    } else {
        d.set_item("scheme_specific", ss)?;
    }
    Ok(d)
}
