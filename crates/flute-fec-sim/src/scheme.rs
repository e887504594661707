//! From a scheme name on the command line to a registered [`FecScheme`] and the OTI of one
//! source block of exactly K symbols.
//!
//! The names are those of `flute send --fec` (`nocode`, `rs`, `rs2m`, `rs129`, `raptor`,
//! `raptorq`), plus `id:N` or `id:N/I` for any scheme in the registry by FEC Encoding ID
//! (and FEC Instance ID). The OTIs come from each scheme's own constructor in
//! `fec_schemes::schemes`; a scheme the [`Catalog`] has no builder for gets a generic OTI
//! (B = K, max_n = n, no scheme-specific part), and a scheme that needs more registers an
//! [`OtiBuilder`] with [`Catalog::add`].

use std::sync::Arc;

use fec_schemes::schemes::ldpc_staircase::LdpcStaircase;
use fec_schemes::schemes::no_code::CompactNoCode;
use fec_schemes::schemes::raptor::Raptor;
use fec_schemes::schemes::raptorq::RaptorQ;
use fec_schemes::schemes::rs::{RsGf2m, RsGf28, RsSmallBlock};
use fec_schemes::{
    BlockSpec, FecEncodingId, FecInstanceId, FecRegistry, FecScheme, Oti, SchemeKey, SchemeSpecific,
};

use crate::SimError;

/// What an [`OtiBuilder`] is asked for: one object of exactly one source block of `k`
/// symbols of `t` bytes, of which the sender will send ESIs `0..n` (`n >= k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    /// Source symbols K.
    pub k: u32,
    /// Symbol size T in bytes.
    pub t: u16,
    /// Encoding symbols to send, K + repair.
    pub n: u32,
}

/// The OTI a builder chose, and what it wants the user to know about it.
#[derive(Debug, Clone)]
pub struct BuiltOti {
    /// The OTI; the simulator validates it with the scheme it is registered under.
    pub oti: Oti,
    /// Encoding symbols to send (at most the shape's `n`; less for a scheme without repair).
    pub n: u32,
    /// A note for the output, e.g. `"m=16"`, or why `n` shrank.
    pub note: Option<String>,
}

/// Builds the OTI of one block for a scheme. `Err` carries the reason the shape does not fit
/// the scheme (the case is then skipped with that reason).
pub type OtiBuilder = fn(BlockShape) -> Result<BuiltOti, String>;

/// A name the command line accepts.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// The name, e.g. `raptorq`.
    pub name: String,
    /// The scheme it stands for.
    pub key: SchemeKey,
    /// How its OTI is built; `None` = the generic OTI.
    pub builder: Option<OtiBuilder>,
    /// One line for `--help` and docs.
    pub about: String,
}

/// The scheme names the simulator knows, and how to build their OTIs.
#[derive(Debug, Clone)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Catalog {
    /// The built-in schemes under the names of `flute send --fec`.
    pub fn builtin() -> Self {
        let fs = SchemeKey::fully_specified;
        let mut c = Self {
            entries: Vec::new(),
        };
        c.add(
            "nocode",
            fs(FecEncodingId::COMPACT_NO_CODE),
            Some(nocode),
            "Compact No-Code (ID 0, RFC 5445); no repair",
        );
        c.add(
            "rs",
            fs(FecEncodingId::RS_GF28),
            Some(rs),
            "Reed-Solomon GF(2^8) (ID 5, RFC 5510); for n > 255, GF(2^16) (ID 2, m = 16)",
        );
        c.add(
            "rs2m",
            fs(FecEncodingId::RS_GF2M),
            Some(rs2m),
            "Reed-Solomon GF(2^m) (ID 2, RFC 5510), m = 8, or 16 for n > 255",
        );
        c.add(
            "rs129",
            SchemeKey::under_specified(FecEncodingId::SMALL_BLOCK_SYSTEMATIC, FecInstanceId(0)),
            Some(rs129),
            "Reed-Solomon Small Block Systematic (ID 129/0, RFC 5510), n <= 255",
        );
        c.add(
            "raptor",
            fs(FecEncodingId::RAPTOR),
            Some(raptor),
            "Raptor (ID 1, RFC 5053), 4 <= K <= 8192",
        );
        c.add(
            "raptorq",
            fs(FecEncodingId::RAPTORQ),
            Some(raptorq),
            "RaptorQ (ID 6, RFC 6330), K <= 56403",
        );
        c.add(
            "ldpc",
            fs(FecEncodingId::LDPC_STAIRCASE),
            Some(ldpc),
            "LDPC-Staircase (ID 3, RFC 5170), N1 = 3, seed 1",
        );
        c
    }

    /// Adds (or replaces) a name.
    pub fn add(&mut self, name: &str, key: SchemeKey, builder: Option<OtiBuilder>, about: &str) {
        self.entries.retain(|e| e.name != name);
        self.entries.push(CatalogEntry {
            name: name.to_string(),
            key,
            builder,
            about: about.to_string(),
        });
    }

    /// The names, in the order they were added.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// Resolves a name (or `id:N`, `id:N/I`) to a scheme of `registry`.
    pub fn resolve(&self, registry: &FecRegistry, name: &str) -> Result<Resolved, SimError> {
        let unknown = || SimError::UnknownScheme {
            name: name.to_string(),
            known: self
                .entries
                .iter()
                .filter(|e| registry.get(e.key.encoding_id, e.key.instance_id).is_ok())
                .map(|e| e.name.as_str())
                .chain(["id:N", "id:N/I"])
                .collect::<Vec<_>>()
                .join(", "),
        };
        let name = name.trim();
        let (key, builder) = if let Some(entry) = self.entries.iter().find(|e| e.name == name) {
            (entry.key, entry.builder)
        } else if let Some(id) = name.strip_prefix("id:") {
            let (enc, inst) = match id.split_once('/') {
                Some((e, i)) => (e, Some(i)),
                None => (id, None),
            };
            let enc = FecEncodingId(enc.trim().parse().map_err(|_| unknown())?);
            let inst = match inst {
                Some(i) => Some(FecInstanceId(i.trim().parse().map_err(|_| unknown())?)),
                None => None,
            };
            let key = SchemeKey::normalized(enc, inst);
            // A catalog entry for the same key lends its builder.
            let builder = self
                .entries
                .iter()
                .find(|e| e.key == key)
                .and_then(|e| e.builder);
            (key, builder)
        } else {
            return Err(unknown());
        };
        let scheme = registry
            .get(key.encoding_id, key.instance_id)
            .map_err(|_| unknown())?;
        Ok(Resolved {
            name: name.to_string(),
            scheme: Arc::clone(scheme),
            builder,
        })
    }
}

/// A scheme chosen by name.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The name as given.
    pub name: String,
    /// The registered scheme.
    pub scheme: Arc<dyn FecScheme>,
    builder: Option<OtiBuilder>,
}

/// A scheme ready to simulate one block shape.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The name as given on the command line.
    pub name: String,
    /// The scheme that codes the block (for `rs` with n > 255, the GF(2^16) scheme).
    pub scheme: Arc<dyn FecScheme>,
    /// Its OTI, normalised through the scheme's EXT_FTI codec.
    pub oti: Oti,
    /// The one source block.
    pub block: BlockSpec,
    /// ESIs sent per block: `0..n`.
    pub n: u32,
    /// A note for the output.
    pub note: Option<String>,
}

impl Resolved {
    /// The OTI and block for `shape`; [`SimError::Unsupported`] when the shape does not fit.
    pub fn prepare(&self, registry: &FecRegistry, shape: BlockShape) -> Result<Prepared, SimError> {
        let unsupported = |reason: String| SimError::Unsupported {
            scheme: self.name.clone(),
            k: shape.k,
            reason,
        };
        let built = match self.builder {
            Some(b) => b(shape).map_err(unsupported)?,
            // A scheme without a catalog entry: its own OTI recipe (FecScheme::oti_for)
            // when it has one and it gives one block of K, else the generic OTI.
            None => {
                from_oti_for(&*self.scheme, shape).unwrap_or_else(|| generic(&*self.scheme, shape))
            }
        };
        // A builder may pick another registered scheme (rs with n > 255 uses ID 2).
        let scheme = if built.oti.key() == self.scheme.key() {
            Arc::clone(&self.scheme)
        } else {
            Arc::clone(
                registry
                    .for_oti(&built.oti)
                    .map_err(|e| unsupported(e.to_string()))?,
            )
        };
        scheme
            .validate_oti(&built.oti)
            .map_err(|e| unsupported(format!("the scheme refuses the OTI: {e}")))?;
        // Normalise through the EXT_FTI codec, so the OTI is what a receiver would read.
        let mut fti = vec![0u8; scheme.fti_len(&built.oti)];
        let oti = scheme
            .write_fti(&built.oti, &mut fti)
            .and_then(|_| scheme.read_fti(&fti))
            .map_err(|e| unsupported(format!("EXT_FTI round trip: {e}")))?;
        let blocking = scheme
            .blocking(&oti)
            .map_err(|e| unsupported(e.to_string()))?;
        let block = blocking.block(0).map_err(|e| unsupported(e.to_string()))?;
        if blocking.blocks != 1 || block.source_symbols != shape.k {
            return Err(unsupported(format!(
                "the OTI gives {} blocks, the first of {} symbols, not one block of K",
                blocking.blocks, block.source_symbols
            )));
        }
        let limit = scheme.esi_limit(&oti, &block);
        let n = built.n.min(limit);
        let note = match (built.note, n < built.n) {
            (note, false) => note,
            (note, true) => Some(
                note.map(|s| s + "; ").unwrap_or_default()
                    + &format!("n limited to {limit} by the scheme"),
            ),
        };
        Ok(Prepared {
            name: self.name.clone(),
            scheme,
            oti,
            block,
            n,
            note,
        })
    }
}

fn len(s: BlockShape) -> u64 {
    u64::from(s.k) * u64::from(s.t)
}

/// The scheme's own recipe, asked for one block of K and `n - k` repair symbols.
fn from_oti_for(scheme: &dyn FecScheme, s: BlockShape) -> Option<BuiltOti> {
    let ratio = f64::from(s.n.saturating_sub(s.k)) / f64::from(s.k.max(1));
    let oti = scheme.oti_for(len(s), s.t, Some(s.k), ratio).ok()?;
    (oti.max_source_block_length == s.k).then(|| BuiltOti {
        n: oti.max_encoding_symbols.unwrap_or(s.n).min(s.n),
        oti,
        note: None,
    })
}

fn ldpc(s: BlockShape) -> Result<BuiltOti, String> {
    if s.n > 65_535 {
        return Err(format!("n = {} exceeds 65535 (RFC 5170 §4.2.3)", s.n));
    }
    Ok(BuiltOti {
        oti: LdpcStaircase::oti(len(s), s.t, s.k, s.n, 3, 1),
        n: s.n,
        note: None,
    })
}

/// B = K, max_n = n, no scheme-specific part.
fn generic(scheme: &dyn FecScheme, s: BlockShape) -> BuiltOti {
    let key = scheme.key();
    BuiltOti {
        oti: Oti {
            encoding_id: key.encoding_id,
            instance_id: key.instance_id,
            transfer_length: len(s),
            encoding_symbol_length: s.t,
            max_source_block_length: s.k,
            max_encoding_symbols: Some(s.n),
            scheme_specific: SchemeSpecific::None,
        },
        n: s.n,
        note: None,
    }
}

fn nocode(s: BlockShape) -> Result<BuiltOti, String> {
    Ok(BuiltOti {
        oti: CompactNoCode::oti(len(s), s.t, s.k),
        n: s.k,
        note: (s.n > s.k).then(|| "no repair symbols (No-Code)".to_string()),
    })
}

fn rs(s: BlockShape) -> Result<BuiltOti, String> {
    if s.n <= 255 {
        return Ok(BuiltOti {
            oti: RsGf28::oti(len(s), s.t, s.k, s.n),
            n: s.n,
            note: None,
        });
    }
    let mut b = rs_m(s, 16)?;
    b.note = Some("n > 255: GF(2^16), FEC Encoding ID 2, m=16".into());
    Ok(b)
}

fn rs2m(s: BlockShape) -> Result<BuiltOti, String> {
    rs_m(s, if s.n <= 255 { 8 } else { 16 })
}

fn rs_m(s: BlockShape, m: u8) -> Result<BuiltOti, String> {
    let max = (1u32 << m) - 1;
    if s.n > max {
        return Err(format!("n = {} exceeds 2^{m} - 1 = {max} (RFC 5510)", s.n));
    }
    if m == 16 && s.t % 2 != 0 {
        return Err("GF(2^16) needs an even symbol size (RFC 5510 §8.2)".into());
    }
    Ok(BuiltOti {
        oti: RsGf2m::oti(len(s), s.t, s.k, s.n, m, 1),
        n: s.n,
        note: (m != 8).then(|| format!("m={m}")),
    })
}

fn rs129(s: BlockShape) -> Result<BuiltOti, String> {
    if s.n > 255 {
        return Err(format!(
            "n = {} exceeds 255 (RFC 5510 §6, GF(2^8)); use rs or rs2m",
            s.n
        ));
    }
    Ok(BuiltOti {
        oti: RsSmallBlock::oti(len(s), s.t, s.k, s.n),
        n: s.n,
        note: None,
    })
}

fn raptor(s: BlockShape) -> Result<BuiltOti, String> {
    if !(4..=8192).contains(&s.k) {
        return Err("Raptor needs 4 <= K <= 8192 (RFC 5053 §5.3.1.2)".into());
    }
    Ok(BuiltOti {
        oti: Raptor::oti(len(s), s.t, 1, 1, 1),
        n: s.n,
        note: None,
    })
}

fn raptorq(s: BlockShape) -> Result<BuiltOti, String> {
    if s.k > fec_schemes::schemes::raptorq::MAX_SOURCE_SYMBOLS {
        return Err("RaptorQ needs K <= 56403 (RFC 6330 §4.4.1.2)".into());
    }
    Ok(BuiltOti {
        oti: RaptorQ::oti(len(s), s.t, 1, 1, 1),
        n: s.n,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(k: u32, t: u16, n: u32) -> BlockShape {
        BlockShape { k, t, n }
    }

    #[test]
    fn every_builtin_name_prepares_one_block_of_k() {
        let reg = FecRegistry::with_builtin();
        let cat = Catalog::builtin();
        for e in cat.entries() {
            let r = cat.resolve(&reg, &e.name).unwrap();
            for k in [4u32, 64, 200] {
                let p = r.prepare(&reg, shape(k, 16, k + k / 4)).unwrap();
                assert_eq!(p.block.source_symbols, k, "{} K={k}", e.name);
                assert_eq!(p.oti.transfer_length, u64::from(k) * 16);
                let want_n = if e.name == "nocode" { k } else { k + k / 4 };
                assert_eq!(p.n, want_n, "{}", e.name);
            }
        }
    }

    #[test]
    fn rs_above_255_uses_gf_2_16_and_rs129_refuses() {
        let reg = FecRegistry::with_builtin();
        let cat = Catalog::builtin();
        let p = cat
            .resolve(&reg, "rs")
            .unwrap()
            .prepare(&reg, shape(256, 64, 308))
            .unwrap();
        assert_eq!(p.oti.encoding_id, FecEncodingId::RS_GF2M);
        assert_eq!(
            p.oti.scheme_specific,
            SchemeSpecific::ReedSolomon { m: 16, g: 1 }
        );
        assert_eq!(p.n, 308);
        let r = cat
            .resolve(&reg, "rs129")
            .unwrap()
            .prepare(&reg, shape(256, 64, 308));
        assert!(matches!(r, Err(SimError::Unsupported { .. })));
        let r = cat
            .resolve(&reg, "rs2m")
            .unwrap()
            .prepare(&reg, shape(256, 63, 308));
        assert!(matches!(r, Err(SimError::Unsupported { .. })));
        let r = cat
            .resolve(&reg, "raptor")
            .unwrap()
            .prepare(&reg, shape(2, 64, 4));
        assert!(matches!(r, Err(SimError::Unsupported { .. })));
    }

    #[test]
    fn ids_resolve_and_unknown_names_list_the_known_ones() {
        let reg = FecRegistry::with_builtin();
        let cat = Catalog::builtin();
        let r = cat.resolve(&reg, "id:6").unwrap();
        assert_eq!(r.scheme.key().encoding_id, FecEncodingId::RAPTORQ);
        assert!(r.prepare(&reg, shape(10, 8, 20)).is_ok());
        let r = cat.resolve(&reg, "id:129/0").unwrap();
        assert_eq!(r.scheme.key().instance_id, Some(FecInstanceId(0)));
        let r = cat.resolve(&reg, "ldpc").unwrap();
        assert_eq!(r.scheme.key().encoding_id, FecEncodingId::LDPC_STAIRCASE);
        assert!(r.prepare(&reg, shape(64, 8, 80)).is_ok());
        assert!(cat.resolve(&reg, "id:3").is_ok());
        match cat.resolve(&reg, "turbo") {
            Err(SimError::UnknownScheme { known, .. }) => {
                assert!(
                    known.contains("raptorq") && known.contains("id:N"),
                    "{known}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(cat.resolve(&reg, "id:x").is_err());
        assert!(cat.resolve(&reg, "id:4").is_err());
        // A name whose scheme is not in the registry is unknown too.
        let empty = FecRegistry::new();
        assert!(cat.resolve(&empty, "raptorq").is_err());
    }
}
