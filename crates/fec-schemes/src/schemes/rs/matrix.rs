//! The systematic generator matrix of the Rizzo / OpenFEC / zfec construction, decode
//! matrices, and their caches.
//!
//! Row `r` (0 <= r < n) of the n x k Vandermonde matrix evaluates at the point
//! `x_0 = 0`, `x_r = alpha^(r-1)` for r >= 1: `V[r][c] = x_r^c`. The generator is
//! `G = V * V_top^-1`, where `V_top` is the top k x k part, so the first k rows of `G` are
//! the identity and row `k + j` gives the coefficients of the repair symbol with
//! ESI `k + j`.
//!
//! `G` does not have to be built by inverting `V_top`: `s * G` is the evaluation at `x_r`
//! of the unique polynomial of degree < k that takes the source values at `x_0..x_{k-1}`.
//! So `G[r][c]` is the Lagrange basis polynomial `L_c(x_r)`:
//!
//! `G[r][c] = P(x_r) / ((x_r - x_c) * d_c)`, with `P(x) = prod_{j<k} (x - x_j)` and
//! `d_c = prod_{j<k, j != c} (x_c - x_j)`,
//!
//! which costs O(k^2) once per (m, k) and O(k) per row, with the same result as the matrix
//! product (the known-answer tests check this byte for byte). The rows depend on (m, k)
//! and the ESI only, not on n.

use std::sync::{Arc, Mutex};

use super::gf::{self, Field};
use crate::FecError;

/// A tiny move-to-back LRU behind a `Mutex`, for a handful of entries.
pub(crate) struct Lru<K, V> {
    cap: usize,
    entries: Mutex<Vec<(K, Arc<V>)>>,
}

impl<K: PartialEq, V> Lru<K, V> {
    pub(crate) const fn new(cap: usize) -> Self {
        Self {
            cap,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Returns the cached value for `key`, or computes, stores and returns it. The lock is
    /// not held while computing.
    pub(crate) fn get_or_try<E>(
        &self,
        key: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        {
            let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = e.iter().position(|(k, _)| *k == key) {
                let hit = e.remove(i);
                let v = Arc::clone(&hit.1);
                e.push(hit);
                return Ok(v);
            }
        }
        let v = Arc::new(make()?);
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.len() >= self.cap && !e.is_empty() {
            e.remove(0);
        }
        e.push((key, Arc::clone(&v)));
        Ok(v)
    }
}

/// The systematic generator of the Rizzo construction for one (m, k).
#[derive(Debug)]
pub struct Generator {
    field: &'static Field,
    k: u32,
    /// `1 / d_c` for each source column.
    inv_d: Vec<u16>,
}

static GENERATORS: Lru<(u8, u32), Generator> = Lru::new(16);
static PARITY: Lru<(u8, u32, u32), Vec<u16>> = Lru::new(16);
/// Decode-matrix cache key: (m, k, missing source ESIs, repair ESIs used).
type DecodeKey = (u8, u32, Vec<u32>, Vec<u32>);
static DECODE: Lru<DecodeKey, Vec<u16>> = Lru::new(64);

/// Largest parity coefficient matrix kept in the cache (entries).
const PARITY_CACHE_MAX: u64 = 1 << 22;

impl Generator {
    /// The (cached) generator for GF(2^m) and k source symbols.
    pub fn get(m: u8, k: u32) -> Result<Arc<Self>, FecError> {
        GENERATORS.get_or_try((m, k), || Self::new(m, k))
    }

    /// Builds the generator; `1 <= k < 2^m`.
    pub fn new(m: u8, k: u32) -> Result<Self, FecError> {
        let field = gf::field(m).ok_or(FecError::InvalidOti {
            field: "m",
            value: m.into(),
            reason: "RFC 5510 §5: m must be in 2..=16",
        })?;
        if k == 0 || k > field.order() {
            return Err(FecError::InvalidOti {
                field: "k",
                value: k.into(),
                reason: "RFC 5510: need 1 <= k <= 2^m - 1",
            });
        }
        let pts: Vec<u16> = (0..k).map(|r| point(field, r)).collect();
        let inv_d = pts
            .iter()
            .enumerate()
            .map(|(c, &xc)| {
                let d = pts
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != c)
                    .fold(1u16, |acc, (_, &xj)| field.mul(acc, xc ^ xj));
                field.inv(d)
            })
            .collect();
        Ok(Self { field, k, inv_d })
    }

    /// The field.
    pub fn field(&self) -> &'static Field {
        self.field
    }

    /// Number of source symbols k.
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Row `esi` of G (k coefficients). `esi < 2^m` (one row per element of the field,
    /// see `super::receive_esi_limit`) is the caller's duty; larger ESIs would repeat
    /// evaluation points.
    pub fn row(&self, esi: u32) -> Vec<u16> {
        let f = self.field;
        let k = self.k as usize;
        let mut row = vec![0u16; k];
        if esi < self.k {
            row[esi as usize] = 1;
            return row;
        }
        let x = point(f, esi);
        let mut p = 1u16;
        for j in 0..self.k {
            p = f.mul(p, x ^ point(f, j));
        }
        for (c, v) in row.iter_mut().enumerate() {
            let xc = point(f, c as u32);
            *v = f.mul(p, f.mul(f.inv(x ^ xc), self.inv_d[c]));
        }
        row
    }

    /// The (cached) `(n - k) x k` parity coefficients, row-major.
    pub fn parity_rows(self: &Arc<Self>, n: u32) -> Arc<Vec<u16>> {
        let make = || -> Result<Vec<u16>, FecError> {
            let mut v = Vec::with_capacity((n.saturating_sub(self.k) as usize) * self.k as usize);
            for esi in self.k..n {
                v.extend(self.row(esi));
            }
            Ok(v)
        };
        let size = u64::from(n.saturating_sub(self.k)) * u64::from(self.k);
        let res = if size <= PARITY_CACHE_MAX {
            PARITY.get_or_try((self.field.m(), self.k, n), make)
        } else {
            make().map(Arc::new)
        };
        match res {
            Ok(v) => v,
            Err(_) => Arc::new(Vec::new()),
        }
    }

    /// The (cached) inverse of the e x e matrix `A[i][j] = G[repair[i]][missing[j]]`,
    /// row-major: given the repair symbols with the known source symbols' contribution
    /// removed, `A^-1` yields the missing source symbols.
    pub fn decode_matrix(
        self: &Arc<Self>,
        missing: &[u32],
        repair: &[u32],
    ) -> Result<Arc<Vec<u16>>, FecError> {
        let key = (self.field.m(), self.k, missing.to_vec(), repair.to_vec());
        DECODE.get_or_try(key, || {
            let e = missing.len();
            let mut a = Vec::with_capacity(e * e);
            for &r in repair {
                let row = self.row(r);
                a.extend(missing.iter().map(|&c| row[c as usize]));
            }
            invert(self.field, &mut a, e)?;
            Ok(a)
        })
    }
}

/// Evaluation point of row `r`: 0 for r = 0, alpha^(r-1) otherwise.
fn point(f: &Field, r: u32) -> u16 {
    if r == 0 {
        0
    } else {
        f.alpha_pow(u64::from(r) - 1)
    }
}

/// In-place Gauss-Jordan inversion of the `n x n` row-major matrix `a`.
pub fn invert(f: &Field, a: &mut [u16], n: usize) -> Result<(), FecError> {
    let mut inv = vec![0u16; n * n];
    for i in 0..n {
        inv[i * n + i] = 1;
    }
    for col in 0..n {
        let pivot = (col..n)
            .find(|&r| a[r * n + col] != 0)
            .ok_or(FecError::DecodeFailed)?;
        if pivot != col {
            for j in 0..n {
                a.swap(pivot * n + j, col * n + j);
                inv.swap(pivot * n + j, col * n + j);
            }
        }
        let pinv = f.inv(a[col * n + col]);
        for j in 0..n {
            a[col * n + j] = f.mul(a[col * n + j], pinv);
            inv[col * n + j] = f.mul(inv[col * n + j], pinv);
        }
        for r in 0..n {
            let factor = a[r * n + col];
            if r == col || factor == 0 {
                continue;
            }
            for j in 0..n {
                a[r * n + j] ^= f.mul(factor, a[col * n + j]);
                inv[r * n + j] ^= f.mul(factor, inv[col * n + j]);
            }
        }
    }
    a.copy_from_slice(&inv);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Lagrange form equals the literal V * V_top^-1 product.
    #[test]
    fn lagrange_equals_matrix_product() {
        for (m, k, n) in [
            (8u8, 5u32, 12u32),
            (4, 3, 16),
            (16, 6, 10),
            (3, 2, 8),
            (8, 3, 256),
        ] {
            let f = gf::field(m).unwrap();
            let vrow = |r: u32| -> Vec<u16> {
                let x = point(f, r);
                let mut p = 1u16;
                (0..k)
                    .map(|_| {
                        let v = p;
                        p = f.mul(p, x);
                        v
                    })
                    .collect()
            };
            let kk = k as usize;
            let mut top: Vec<u16> = (0..k).flat_map(vrow).collect();
            invert(f, &mut top, kk).unwrap();
            let g = Generator::new(m, k).unwrap();
            for r in 0..n {
                let v = vrow(r);
                let expect: Vec<u16> = (0..kk)
                    .map(|c| (0..kk).fold(0, |a, i| a ^ f.mul(v[i], top[i * kk + c])))
                    .collect();
                assert_eq!(g.row(r), expect, "m={m} k={k} r={r}");
            }
        }
    }
}
