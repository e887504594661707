//! GF(2^16) (polynomial 1+x+x^3+x^12+x^16) slice kernel.
//!
//! A symbol is a sequence of big-endian 16-bit elements (\[UNV\]: OpenFEC stores the
//! elements in host order, i.e. little-endian on x86; RFC 5510 does not say, and we follow
//! network byte order as for every other multi-byte field).
//!
//! Multiplication by a constant `c` is linear over GF(2): a 16x16 bit matrix.
//!
//! - x86-64 with GFNI and AVX2 (unless `FEC_RS_NO_GFNI` is set): the matrix is split into
//!   four 8x8 blocks applied with `gf2p8affineqb` to the de-interleaved high and low bytes
//!   of 32 words at a time, with several output rows accumulated in registers. The
//!   prepared matrices of large coefficient matrices (an encoder's parity rows) are cached.
//! - elsewhere: `c * x = LO_c[x & 0xFF] ^ HI_c[x >> 8]` with two 256-entry tables per
//!   coefficient (slow: the tables are rebuilt for every input/output pair).

use super::gf;

fn field16() -> &'static gf::Field {
    match gf::field(16) {
        Some(f) => f,
        None => unreachable!("GF(2^16) is always available"),
    }
}

/// Fills `lo[v] = c * v` and `hi[v] = c * (v << 8)` for `v < 256`.
fn tables(f: &gf::Field, c: u16, lo: &mut [u16; 256], hi: &mut [u16; 256]) {
    let mut basis = [0u16; 16];
    for (i, b) in basis.iter_mut().enumerate() {
        *b = f.mul(c, 1u16 << i);
    }
    lo[0] = 0;
    hi[0] = 0;
    for v in 1..256usize {
        let low = v.trailing_zeros() as usize;
        lo[v] = lo[v & (v - 1)] ^ basis[low];
        hi[v] = hi[v & (v - 1)] ^ basis[8 + low];
    }
}

/// `outputs[r] = sum_i coefs[r * inputs.len() + i] * inputs[i]` over GF(2^16), symbols
/// being big-endian 16-bit elements. Slices should have the same even length; the
/// shortest length is used and an odd trailing byte is zeroed in the outputs.
///
/// On x86 CPUs with GFNI and AVX2 (unless `FEC_RS_NO_GFNI` is set) the bulk is done with `gf2p8affineqb`: multiplication by
/// a constant is a 16x16 bit matrix, i.e. four 8x8 blocks acting on the high and low bytes.
pub fn matmul(coefs: &[u16], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    let len = inputs
        .iter()
        .map(|s| s.len())
        .chain(outputs.iter().map(|s| s.len()))
        .min()
        .unwrap_or(0);
    let even = len / 2 * 2;
    #[cfg(target_arch = "x86_64")]
    let done = x86::matmul_gfni(coefs, inputs, outputs, even);
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    scalar_range(coefs, inputs, outputs, done, even);
    for out in outputs.iter_mut() {
        if let Some(rest) = out.get_mut(even..) {
            rest.fill(0);
        }
    }
}

/// Scalar kernel on bytes `from..to` (both even) of every row.
fn scalar_range(
    coefs: &[u16],
    inputs: &[&[u8]],
    outputs: &mut [&mut [u8]],
    from: usize,
    to: usize,
) {
    if from >= to {
        return;
    }
    let f = field16();
    let k = inputs.len();
    let mut acc = vec![0u16; (to - from) / 2];
    let mut lo = [0u16; 256];
    let mut hi = [0u16; 256];
    for (r, out) in outputs.iter_mut().enumerate() {
        acc.fill(0);
        for (i, inp) in inputs.iter().enumerate() {
            let c = coefs.get(r * k + i).copied().unwrap_or(0);
            if c == 0 {
                continue;
            }
            let inp = &inp[from..to];
            if c == 1 {
                for (a, w) in acc.iter_mut().zip(inp.chunks_exact(2)) {
                    *a ^= u16::from_be_bytes([w[0], w[1]]);
                }
                continue;
            }
            tables(f, c, &mut lo, &mut hi);
            for (a, w) in acc.iter_mut().zip(inp.chunks_exact(2)) {
                *a ^= hi[usize::from(w[0])] ^ lo[usize::from(w[1])];
            }
        }
        for (o, a) in out[from..to].chunks_exact_mut(2).zip(&acc) {
            o.copy_from_slice(&a.to_be_bytes());
        }
    }
}

/// Transposes the 8x8 bit matrix held in `x` (bit `c` of byte `r` <-> bit `r` of byte `c`).
#[cfg(target_arch = "x86_64")]
fn transpose8(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^= t ^ (t << 28);
    x
}

/// The four 8x8 GF(2) blocks of "multiply by `c`" as `gf2p8affineqb` matrices:
/// `[lo<-lo, lo<-hi, hi<-lo, hi<-hi]`. A `gf2p8affineqb` matrix holds the row producing
/// output bit `i` in byte `7 - i`; row `i` has bit `j` set when input bit `j` feeds output
/// bit `i`, i.e. it is the transpose of the matrix whose byte `j` is the image of bit `j`.
#[cfg(target_arch = "x86_64")]
fn affine_blocks(c: u16) -> [u64; 4] {
    // v[j] = c * x^j = alpha^(log c + j) (alpha = x), 16 independent table reads.
    let f = field16();
    let mut v = [0u16; 16];
    if c != 0 {
        for (j, vj) in v.iter_mut().enumerate() {
            *vj = f.mul(c, 1 << j);
        }
    }
    let cols = |base: usize, shift: u32| -> u64 {
        (0..8).fold(0u64, |acc, j| {
            acc | (u64::from((v[base + j] >> shift) as u8) << (8 * j))
        })
    };
    let mat = |c: u64| transpose8(c).swap_bytes();
    [
        mat(cols(0, 0)),
        mat(cols(8, 0)),
        mat(cols(0, 8)),
        mat(cols(8, 8)),
    ]
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use core::arch::x86_64::*;
    use std::sync::OnceLock;

    use std::sync::Arc;

    use super::affine_blocks;
    use crate::schemes::rs::gf8_simd::x86::{cpu_has_gfni, gf2p8affine};
    use crate::schemes::rs::matrix::Lru;

    fn have_gfni() -> bool {
        static H: OnceLock<bool> = OnceLock::new();
        *H.get_or_init(|| {
            std::env::var_os("FEC_RS_NO_GFNI").is_none()
                && is_x86_feature_detected!("avx2")
                && cpu_has_gfni()
        })
    }

    /// Runs the GFNI kernel on the first `len` bytes (`len` even) and returns `len`, or
    /// returns 0 when GFNI is unavailable. A tail shorter than 64 bytes goes through
    /// zero-padded copies.
    pub(super) fn matmul_gfni(
        coefs: &[u16],
        inputs: &[&[u8]],
        outputs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let k = inputs.len();
        if len == 0 || k == 0 || !have_gfni() || coefs.len() < k * outputs.len() {
            return 0;
        }
        let vlen = len / 64 * 64;
        let tail = len - vlen;
        let pad_in: Vec<[u8; 64]> = if tail > 0 {
            inputs
                .iter()
                .map(|s| {
                    let mut p = [0u8; 64];
                    p[..tail].copy_from_slice(&s[vlen..len]);
                    p
                })
                .collect()
        } else {
            Vec::new()
        };
        let pad_refs: Vec<&[u8]> = pad_in.iter().map(|p| &p[..]).collect();
        let prepared = prepare(coefs, k, outputs.len());
        let mut pad_out = vec![[0u8; 64]; if tail > 0 { outputs.len() } else { 0 }];
        let mut row = 0;
        for group in outputs.chunks_mut(4) {
            let g = group.len();
            // Group-major layout: [group][input][row in group].
            let mats = &prepared[row * k..(row + g) * k];
            macro_rules! go {
                ($n:literal) => {{
                    if vlen > 0 {
                        // SAFETY: `have_gfni()` checked GFNI and AVX2 at run time.
                        // `group.len() == $n`, `mats.len() == k * $n`, and every input and
                        // output holds at least `len >= vlen` bytes with `vlen % 64 == 0`.
                        unsafe { rows::<$n>(mats, inputs, group, vlen) }
                    }
                    if tail > 0 {
                        let mut outs: Vec<&mut [u8]> = pad_out[row..row + $n]
                            .iter_mut()
                            .map(|p| &mut p[..])
                            .collect();
                        // SAFETY: as above; the padded copies are exactly 64 bytes each.
                        unsafe { rows::<$n>(mats, &pad_refs, &mut outs, 64) }
                        for (o, p) in group.iter_mut().zip(&pad_out[row..row + $n]) {
                            o[vlen..len].copy_from_slice(&p[..tail]);
                        }
                    }
                }};
            }
            match g {
                1 => go!(1),
                2 => go!(2),
                3 => go!(3),
                4 => go!(4),
                _ => return 0,
            }
            row += g;
        }
        len
    }

    /// Affine matrices for `coefs` (`rows x k`), in groups of 4 rows, each group laid out
    /// `[input][row]`. Large matrices (the encoder's parity rows, reused for every block of
    /// an object) are cached by content in a 2-entry LRU.
    fn prepare(coefs: &[u16], k: usize, rows: usize) -> Arc<Vec<[u64; 4]>> {
        let build = || {
            let mut mats = Vec::with_capacity(k * rows);
            let mut row = 0;
            while row < rows {
                let g = (rows - row).min(4);
                for i in 0..k {
                    for r in 0..g {
                        mats.push(affine_blocks(coefs[(row + r) * k + i]));
                    }
                }
                row += g;
            }
            mats
        };
        if coefs.len() < 1 << 14 {
            return Arc::new(build());
        }
        static CACHE: Lru<(Vec<u16>, usize), Vec<[u64; 4]>> = Lru::new(2);
        let key = (coefs[..k * rows].to_vec(), k);
        match CACHE.get_or_try(key, || Ok::<_, ()>(build())) {
            Ok(m) => m,
            Err(()) => Arc::new(build()),
        }
    }

    /// # Safety
    /// GFNI and AVX2 must be available; `outs.len() == N`, `mats.len() == inputs.len() * N`,
    /// every slice holds at least `vlen` bytes and `vlen % 64 == 0`.
    #[target_feature(enable = "avx2")]
    unsafe fn rows<const N: usize>(
        mats: &[[u64; 4]],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        vlen: usize,
    ) {
        // Per 128-bit lane: even bytes (high bytes of big-endian words) first, then odd.
        let split = _mm256_setr_epi8(
            0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3,
            5, 7, 9, 11, 13, 15,
        );
        let join = _mm256_setr_epi8(
            0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12,
            5, 13, 6, 14, 7, 15,
        );
        let mut pos = 0;
        while pos < vlen {
            let mut acc_lo = [_mm256_setzero_si256(); N];
            let mut acc_hi = [_mm256_setzero_si256(); N];
            for (i, inp) in inputs.iter().enumerate() {
                // SAFETY: pos + 64 <= vlen <= inp.len(); unaligned loads.
                let (a, b) = unsafe {
                    (
                        _mm256_loadu_si256(inp.as_ptr().add(pos).cast::<__m256i>()),
                        _mm256_loadu_si256(inp.as_ptr().add(pos + 32).cast::<__m256i>()),
                    )
                };
                let a = _mm256_shuffle_epi8(a, split);
                let b = _mm256_shuffle_epi8(b, split);
                let hi = _mm256_unpacklo_epi64(a, b);
                let lo = _mm256_unpackhi_epi64(a, b);
                let m = &mats[i * N..i * N + N];
                for r in 0..N {
                    let [ll, lh, hl, hh] = m[r];
                    let t_ll = _mm256_set1_epi64x(ll as i64);
                    let t_lh = _mm256_set1_epi64x(lh as i64);
                    let t_hl = _mm256_set1_epi64x(hl as i64);
                    let t_hh = _mm256_set1_epi64x(hh as i64);
                    // SAFETY: this function's contract guarantees AVX2 and GFNI.
                    let (p_ll, p_lh, p_hl, p_hh) = unsafe {
                        (
                            gf2p8affine(lo, t_ll),
                            gf2p8affine(hi, t_lh),
                            gf2p8affine(lo, t_hl),
                            gf2p8affine(hi, t_hh),
                        )
                    };
                    acc_lo[r] = _mm256_xor_si256(acc_lo[r], _mm256_xor_si256(p_ll, p_lh));
                    acc_hi[r] = _mm256_xor_si256(acc_hi[r], _mm256_xor_si256(p_hl, p_hh));
                }
            }
            for r in 0..N {
                let a = _mm256_shuffle_epi8(_mm256_unpacklo_epi64(acc_hi[r], acc_lo[r]), join);
                let b = _mm256_shuffle_epi8(_mm256_unpackhi_epi64(acc_hi[r], acc_lo[r]), join);
                // SAFETY: pos + 64 <= vlen <= outs[r].len(); unaligned stores.
                unsafe {
                    _mm256_storeu_si256(outs[r].as_mut_ptr().add(pos).cast::<__m256i>(), a);
                    _mm256_storeu_si256(outs[r].as_mut_ptr().add(pos + 32).cast::<__m256i>(), b);
                }
            }
            pos += 64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast affine blocks equal the bit matrices built from field products.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn affine_blocks_match_field() {
        let f = field16();
        for c in [0u16, 1, 2, 0x8000, 0x1234, 0xFFFF, 0x100B] {
            let m = affine_blocks(c);
            for j in 0..16 {
                let img = f.mul(c, 1 << j);
                // Input bit j lives in the low byte (j < 8) or the high byte.
                let (lo_m, hi_m, b) = if j < 8 {
                    (m[0], m[2], j)
                } else {
                    (m[1], m[3], j - 8)
                };
                let apply = |a: u64| -> u8 {
                    (0..8).fold(0u8, |acc, i| {
                        let row = (a >> (8 * (7 - i))) as u8;
                        acc | (((row >> b) & 1) << i)
                    })
                };
                assert_eq!(apply(lo_m), img as u8, "c={c:#x} j={j}");
                assert_eq!(apply(hi_m), (img >> 8) as u8, "c={c:#x} j={j}");
            }
        }
    }

    /// Large coefficient matrices go through the prepared-matrix cache: check a miss, a
    /// hit, and a different matrix of the same shape.
    #[test]
    fn large_matrices_cached_correctly() {
        let f = field16();
        let (k, rows, len) = (200usize, 100usize, 134usize);
        let data: Vec<Vec<u8>> = (0..k)
            .map(|i| (0..len).map(|b| (i * 31 + b * 7 + 1) as u8).collect())
            .collect();
        let inputs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
        for salt in [1u32, 1, 2] {
            let coefs: Vec<u16> = (0..(k * rows) as u32)
                .map(|i| (i.wrapping_mul(2654435761).wrapping_add(salt) >> 7) as u16)
                .collect();
            let mut a = vec![vec![0u8; len]; rows];
            let mut b = a.clone();
            let mut ar: Vec<&mut [u8]> = a.iter_mut().map(|v| v.as_mut_slice()).collect();
            matmul(&coefs, &inputs, &mut ar);
            let mut br: Vec<&mut [u8]> = b.iter_mut().map(|v| v.as_mut_slice()).collect();
            gf::matmul_generic(f, &coefs, &inputs, &mut br);
            assert_eq!(a, b, "salt {salt}");
        }
    }

    #[test]
    fn matches_generic() {
        let f = field16();
        let data: Vec<Vec<u8>> = (0..5)
            .map(|i| (0..198).map(|b| (i * 91 + b * 13 + 5) as u8).collect())
            .collect();
        let inputs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
        let coefs: Vec<u16> = (0..30u32).map(|i| (i * 4099 + 1) as u16).collect();
        let mut a = vec![vec![0u8; 198]; 6];
        let mut b = a.clone();
        let mut ar: Vec<&mut [u8]> = a.iter_mut().map(|v| v.as_mut_slice()).collect();
        matmul(&coefs, &inputs, &mut ar);
        let mut br: Vec<&mut [u8]> = b.iter_mut().map(|v| v.as_mut_slice()).collect();
        gf::matmul_generic(f, &coefs, &inputs, &mut br);
        assert_eq!(a, b);
    }
}
