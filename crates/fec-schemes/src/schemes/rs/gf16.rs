//! GF(2^16) (polynomial 1+x+x^3+x^12+x^16) slice kernel.
//!
//! A symbol is a sequence of big-endian 16-bit elements (\[UNV\]: OpenFEC stores the
//! elements in host order, i.e. little-endian on x86; RFC 5510 does not say, and we follow
//! network byte order as for every other multi-byte field).
//!
//! Multiplication by a constant `c` is linear over GF(2): a 16x16 bit matrix.
//!
//! - x86-64 with GFNI and AVX2 (unless `FEC_RS_NO_GFNI` is set): the words are mapped
//!   once per input to the tower representation GF(2^8)\[y\]/(y^2 + y + beta) of the same
//!   field (a fixed basis change, see `Tower`), where a product needs three GF(2^8)
//!   products (Karatsuba), each one `gf2p8affineqb` per 32 words, instead of the four 8x8
//!   blocks of the 16x16 matrix; the recombination and the way back to the standard basis
//!   are done once per output symbol.
//! - x86-64 with AVX2 only (or `FEC_RS_NO_GFNI` set): split-nibble `vpshufb` tables, four
//!   nibble positions x two output bytes = eight 16-entry tables per coefficient.
//! - elsewhere (and x86-64 without AVX2): `c * x = LO_c[x & 0xFF] ^ HI_c[x >> 8]` with two
//!   256-entry tables per coefficient (slow: the tables are rebuilt for every input/output
//!   pair).
//!
//! Both SIMD kernels share one cache-blocked driver. The symbols are cut into column
//! tiles of at most 2048 bytes and the inputs into tiles of 16; each input tile is
//! converted once into a scratch buffer (two byte planes per 64 bytes, zero padded to a
//! multiple of 64), then every group of 3 (GFNI) or 4 (`vpshufb`) output rows adds the
//! tile's contribution to its accumulators, which are turned into output bytes once per
//! column tile. So every input byte is read from memory once, and the inner loops work on
//! a few tens of KiB (tile, accumulators of one row group, prepared coefficients of one
//! tile x group), which stays in L1. The earlier kernel passed over the whole input
//! (1.4 MB for k = 1024, E = 1400) once per group of 4 rows, with the 8 MB of prepared
//! coefficients pushing the input out of L2 in between.
//!
//! Preparing a coefficient is a few table lookups (both preparations are linear in the
//! coefficient). The prepared coefficients (24 bytes per coefficient for GFNI, 128 bytes
//! for `vpshufb`) of large coefficient matrices (an encoder's parity rows, reused for every
//! block of an object) are cached by content in a 2-entry LRU per kernel: for k = 1024 and
//! 256 repair rows that is 6 MiB (GFNI) or 32 MiB (`vpshufb`) per entry.

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
/// On x86-64 with AVX2 the whole length is done by a SIMD kernel (see the module docs);
/// elsewhere by scalar tables.
pub fn matmul(coefs: &[u16], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    let len = inputs
        .iter()
        .map(|s| s.len())
        .chain(outputs.iter().map(|s| s.len()))
        .min()
        .unwrap_or(0);
    let even = len / 2 * 2;
    #[cfg(target_arch = "x86_64")]
    let done = x86::matmul(coefs, inputs, outputs, even);
    #[cfg(not(target_arch = "x86_64"))]
    let done = 0;
    scalar_range(coefs, inputs, outputs, done, even);
    for out in outputs.iter_mut() {
        if let Some(rest) = out.get_mut(even..) {
            rest.fill(0);
        }
    }
}

/// The GF(2^16) kernel [`matmul`] uses on this machine: `"gfni"`, `"avx2"` or
/// `"scalar"`.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        match x86::kernel() {
            x86::Kernel::Gfni => "gfni",
            x86::Kernel::Avx2 => "avx2",
            x86::Kernel::Scalar => "scalar",
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "scalar"
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
#[cfg(all(test, target_arch = "x86_64"))]
fn affine_blocks(c: u16) -> [u64; 4] {
    // v[j] = c * x^j = alpha^(log c + j) (alpha = x), 16 independent table reads.
    let f = field16();
    let mut v = [0u16; 16];
    if c != 0 {
        for (j, vj) in v.iter_mut().enumerate() {
            *vj = f.mul(c, 1 << j);
        }
    }
    blocks_of(&v)
}

/// `[lo<-lo, lo<-hi, hi<-lo, hi<-hi]` `gf2p8affineqb` blocks of the GF(2)-linear map on
/// 16-bit words whose image of bit `j` is `v[j]`.
#[cfg(target_arch = "x86_64")]
fn blocks_of(v: &[u16; 16]) -> [u64; 4] {
    let cols = |base: usize, shift: u32| mat8(|j| (v[base + j] >> shift) as u8);
    [cols(0, 0), cols(8, 0), cols(0, 8), cols(8, 8)]
}

/// The `gf2p8affineqb` matrix of the 8x8 GF(2) map sending bit `j` to `img(j)`.
#[cfg(target_arch = "x86_64")]
fn mat8(img: impl Fn(usize) -> u8) -> u64 {
    let cols = (0..8).fold(0u64, |acc, j| acc | (u64::from(img(j)) << (8 * j)));
    transpose8(cols).swap_bytes()
}

/// Applies the GF(2)-linear map with images `img` of the 16 bits to `x`.
#[cfg(target_arch = "x86_64")]
fn apply(img: &[u16; 16], x: u16) -> u16 {
    (0..16)
        .filter(|j| x >> j & 1 != 0)
        .fold(0, |a, j| a ^ img[j])
}

/// GF(2^16) as the tower K\[y\]/(y^2 + y + beta) over its subfield K = GF(2^8), used by
/// the GFNI kernel: a product `(a0 + a1 y)(c0 + c1 y)` is
/// `(a0 c0 + beta a1 c1) + ((a0 + a1)(c0 + c1) + a0 c0) y`, three products in K
/// (Karatsuba) instead of the four 8x8 blocks of a 16x16 bit matrix, and the `beta *` and
/// the additions can wait until all inputs are summed. Tower coordinates: bits 0..8 are
/// `a0` in the basis `theta^0..theta^7` of K (`theta = alpha^257` generates K*), bits
/// 8..16 are `a1` in the same basis.
#[cfg(target_arch = "x86_64")]
struct Tower {
    /// Standard -> tower coordinates (images of the 16 standard bits).
    to: [u16; 16],
    /// Tower coordinates -> standard (the tower basis as field elements).
    from: [u16; 16],
    /// `beta = y^2 + y`, an element of K.
    beta: u16,
    /// Tower coordinates of `v` and of `v << 8`, for `v < 256`.
    to_lo: [u16; 256],
    to_hi: [u16; 256],
    /// `gf2p8affineqb` matrix of "multiply by the K element with coordinates `v`".
    mul_k: [u64; 256],
}

#[cfg(target_arch = "x86_64")]
fn tower() -> &'static Tower {
    static T: std::sync::OnceLock<Tower> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let f = field16();
        let pow256 = |mut z: u16| {
            for _ in 0..8 {
                z = f.mul(z, z);
            }
            z
        };
        // y with y^256 + y = 1 (relative trace 1), so y^2 + y lies in K and y does not.
        let mut y = 0;
        for i in 1..65535u64 {
            let z = f.alpha_pow(i);
            let t = pow256(z) ^ z;
            if t != 0 {
                y = f.mul(z, f.inv(t));
                break;
            }
        }
        let theta = f.alpha_pow(257);
        let mut from = [0u16; 16];
        let mut p = 1u16;
        for j in 0..8 {
            from[j] = p;
            from[8 + j] = f.mul(p, y);
            p = f.mul(p, theta);
        }
        let mut inv = vec![0u16; 1 << 16];
        for v in 0..=u16::MAX {
            inv[usize::from(apply(&from, v))] = v;
        }
        let mut to = [0u16; 16];
        for (j, t) in to.iter_mut().enumerate() {
            *t = inv[1usize << j];
        }
        let mut t = Tower {
            to,
            from,
            beta: f.mul(y, y) ^ y,
            to_lo: [0; 256],
            to_hi: [0; 256],
            mul_k: [0; 256],
        };
        for v in 0..256u16 {
            let i = usize::from(v);
            t.to_lo[i] = apply(&t.to, v);
            t.to_hi[i] = apply(&t.to, v << 8);
            let c = apply(&t.from, v);
            t.mul_k[i] = mat8(|j| apply(&t.to, f.mul(c, t.from[j])) as u8);
        }
        t
    })
}

#[cfg(target_arch = "x86_64")]
impl Tower {
    /// `[c0 *, c1 *, (c0 + c1) *]` on K coordinates, for the coefficient `c = c0 + c1 y`.
    fn prep(&self, c: u16) -> [u64; 3] {
        let t = self.to_lo[usize::from(c & 0xFF)] ^ self.to_hi[usize::from(c >> 8)];
        let (c0, c1) = (usize::from(t & 0xFF), usize::from(t >> 8));
        [self.mul_k[c0], self.mul_k[c1], self.mul_k[c0 ^ c1]]
    }

    /// Blocks of standard -> tower coordinates: `[a0<-lo, a0<-hi, a1<-lo, a1<-hi]`.
    fn input_blocks(&self) -> [u64; 4] {
        blocks_of(&self.to)
    }

    /// Blocks of the output map from the sums `A = sum a0 c0`, `B = sum a1 c1`,
    /// `C = sum (a0 + a1)(c0 + c1)` to the standard word
    /// `(A + beta B) + (A + C) y`: `[lo<-A, lo<-B, lo<-C, hi<-A, hi<-B, hi<-C]`.
    fn output_blocks(&self) -> [u64; 6] {
        let f = field16();
        let a = |j: usize| self.from[j] ^ self.from[8 + j];
        let b = |j: usize| f.mul(self.beta, self.from[j]);
        let c = |j: usize| self.from[8 + j];
        [
            mat8(|j| a(j) as u8),
            mat8(|j| b(j) as u8),
            mat8(|j| c(j) as u8),
            mat8(|j| (a(j) >> 8) as u8),
            mat8(|j| (b(j) >> 8) as u8),
            mat8(|j| (c(j) >> 8) as u8),
        ]
    }
}

/// Split-nibble `pshufb` tables of "multiply by `c`": `t[2p][v]` and `t[2p + 1][v]` are
/// the low and high bytes of `c * (v << 4p)`, for the nibble positions `p < 4` of a word
/// (p = 0: low nibble of the low byte) and `v < 16`. The tables are linear in `c`, so
/// they are the XOR of precomputed tables for the low and the high byte of `c`.
#[cfg(target_arch = "x86_64")]
fn nibble_tables(c: u16) -> [[u8; 16]; 8] {
    type Tables = [[[u8; 16]; 8]; 256];
    static T: std::sync::OnceLock<Box<(Tables, Tables)>> = std::sync::OnceLock::new();
    let t = T.get_or_init(|| {
        let mut t = Box::new(([[[0u8; 16]; 8]; 256], [[[0u8; 16]; 8]; 256]));
        for v in 0..256u16 {
            t.0[usize::from(v)] = nibble_tables_slow(v);
            t.1[usize::from(v)] = nibble_tables_slow(v << 8);
        }
        t
    });
    let (lo, hi) = (&t.0[usize::from(c & 0xFF)], &t.1[usize::from(c >> 8)]);
    let mut out = [[0u8; 16]; 8];
    for (o, (l, h)) in out.iter_mut().zip(lo.iter().zip(hi)) {
        *o = (u128::from_ne_bytes(*l) ^ u128::from_ne_bytes(*h)).to_ne_bytes();
    }
    out
}

/// [`nibble_tables`] from field products.
#[cfg(target_arch = "x86_64")]
fn nibble_tables_slow(c: u16) -> [[u8; 16]; 8] {
    let f = field16();
    let mut basis = [0u16; 16];
    if c != 0 {
        for (j, b) in basis.iter_mut().enumerate() {
            *b = f.mul(c, 1 << j);
        }
    }
    let mut t = [[0u8; 16]; 8];
    for p in 0..4 {
        let mut prod = [0u16; 16];
        for v in 1..16usize {
            prod[v] = prod[v & (v - 1)] ^ basis[4 * p + v.trailing_zeros() as usize];
        }
        for (v, &x) in prod.iter().enumerate() {
            t[2 * p][v] = x as u8;
            t[2 * p + 1][v] = (x >> 8) as u8;
        }
    }
    t
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use core::arch::x86_64::*;
    use std::sync::{Arc, OnceLock};

    use super::{nibble_tables, tower};
    use crate::schemes::rs::gf8_simd::x86::{cpu_has_gfni, gf2p8affine};
    use crate::schemes::rs::matrix::Lru;

    /// Inputs per tile: with [`COLS`] bytes each, a tile (and the prepared coefficients
    /// of one row group) stays in L1 while every row group of the output passes over it.
    const INPUTS: usize = 16;
    /// Bytes of each symbol per tile (a multiple of 64). Column blocking bounds the
    /// accumulators (`rows x COLS x 1.5`) and the input tile for long symbols.
    const COLS: usize = 2048;
    /// Coefficient matrices with at least this many entries have their prepared form
    /// cached (an encoder's parity rows, reused for every block of an object).
    const CACHE_MIN: usize = 1 << 14;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(super) enum Kernel {
        /// GFNI + AVX2, tower field: three `gf2p8affineqb` per 32 words and coefficient.
        Gfni,
        /// AVX2 `vpshufb`, split-nibble tables: eight per 32 words and coefficient.
        Avx2,
        /// No SIMD kernel: the scalar tables.
        Scalar,
    }

    pub(super) fn kernel() -> Kernel {
        static K: OnceLock<Kernel> = OnceLock::new();
        *K.get_or_init(|| {
            if !is_x86_feature_detected!("avx2") {
                Kernel::Scalar
            } else if std::env::var_os("FEC_RS_NO_GFNI").is_none() && cpu_has_gfni() {
                Kernel::Gfni
            } else {
                Kernel::Avx2
            }
        })
    }

    /// The prepared-coefficient cache of one kernel: key (coefficients, k).
    type Cache<M> = Lru<(Vec<u16>, usize), Vec<M>>;

    /// One SIMD kernel: a prepared form of a coefficient, the tile and accumulator
    /// layouts, and the inner loop.
    ///
    /// A tile holds each input in 64-byte units (32 words); an accumulator row holds
    /// [`Kern::ACC`] bytes per 32 words.
    trait Kern {
        type M: Copy + Send + Sync + 'static;
        /// Output rows per register group (at most 4).
        const ROWS: usize;
        /// Accumulator bytes per 32 words.
        const ACC: usize;
        fn prep(c: u16) -> Self::M;
        fn cache() -> &'static Cache<Self::M>;
        /// Copies `src` (at most `dst.len()` bytes, zero padded) into tile layout.
        ///
        /// # Safety
        /// The kernel's CPU features must be available; `dst.len() % 64 == 0` and
        /// `src.len() <= dst.len()`.
        unsafe fn split(src: &[u8], dst: &mut [u8]);
        /// Writes the first `dst.len()` bytes of the words an accumulator row stands for.
        ///
        /// # Safety
        /// The kernel's CPU features must be available; `acc.len() % ACC == 0` and
        /// `dst.len() <= acc.len() / ACC * 64`.
        unsafe fn finish(acc: &[u8], dst: &mut [u8]);
        /// `acc[r] += sum_i mats[i * N + r] * tile[i]` for `r < N`: `tile` holds
        /// `mats.len() / N` inputs of `w` bytes each (stride `w`), `acc` holds `N` rows of
        /// `w / 64 * ACC` bytes each.
        ///
        /// # Safety
        /// The kernel's CPU features must be available; `w % 64 == 0`,
        /// `tile.len() >= mats.len() / N * w`, `acc.len() >= N * w / 64 * ACC`.
        unsafe fn rows<const N: usize>(mats: &[Self::M], tile: &[u8], acc: &mut [u8], w: usize);
    }

    struct Gfni;
    struct Avx2;

    impl Kern for Gfni {
        type M = [u64; 3];
        const ROWS: usize = 3;
        const ACC: usize = 96;
        fn prep(c: u16) -> [u64; 3] {
            tower().prep(c)
        }
        fn cache() -> &'static Cache<[u64; 3]> {
            static C: Cache<[u64; 3]> = Lru::new(2);
            &C
        }
        #[inline]
        unsafe fn split(src: &[u8], dst: &mut [u8]) {
            // SAFETY: forwarded contract (AVX2 and GFNI).
            unsafe { split_tower(src, dst) }
        }
        #[inline]
        unsafe fn finish(acc: &[u8], dst: &mut [u8]) {
            // SAFETY: forwarded contract (AVX2 and GFNI).
            unsafe { finish_tower(acc, dst) }
        }
        #[inline]
        unsafe fn rows<const N: usize>(mats: &[[u64; 3]], tile: &[u8], acc: &mut [u8], w: usize) {
            // SAFETY: forwarded contract.
            unsafe { gfni_rows::<N>(mats, tile, acc, w) }
        }
    }

    impl Kern for Avx2 {
        type M = [[u8; 16]; 8];
        const ROWS: usize = 4;
        const ACC: usize = 64;
        fn prep(c: u16) -> [[u8; 16]; 8] {
            nibble_tables(c)
        }
        fn cache() -> &'static Cache<[[u8; 16]; 8]> {
            static C: Cache<[[u8; 16]; 8]> = Lru::new(2);
            &C
        }
        #[inline]
        unsafe fn split(src: &[u8], dst: &mut [u8]) {
            // SAFETY: forwarded contract (AVX2).
            unsafe { split(src, dst) }
        }
        #[inline]
        unsafe fn finish(acc: &[u8], dst: &mut [u8]) {
            // SAFETY: forwarded contract (AVX2).
            unsafe { join(acc, dst) }
        }
        #[inline]
        unsafe fn rows<const N: usize>(
            mats: &[[[u8; 16]; 8]],
            tile: &[u8],
            acc: &mut [u8],
            w: usize,
        ) {
            // SAFETY: forwarded contract.
            unsafe { avx2_rows::<N>(mats, tile, acc, w) }
        }
    }

    /// Runs a SIMD kernel on the first `len` bytes (`len` even) of every row and returns
    /// `len`, or returns 0 when no SIMD kernel is available.
    pub(super) fn matmul(
        coefs: &[u16],
        inputs: &[&[u8]],
        outputs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let k = inputs.len();
        if len == 0 || k == 0 || outputs.is_empty() || coefs.len() < k * outputs.len() {
            return 0;
        }
        match kernel() {
            Kernel::Gfni => drive::<Gfni>(coefs, inputs, outputs, len),
            Kernel::Avx2 => drive::<Avx2>(coefs, inputs, outputs, len),
            Kernel::Scalar => 0,
        }
    }

    /// [`matmul`] with a given kernel, if this CPU supports it (tests compare kernels).
    #[cfg(test)]
    pub(super) fn matmul_with(
        kern: Kernel,
        coefs: &[u16],
        inputs: &[&[u8]],
        outputs: &mut [&mut [u8]],
        len: usize,
    ) -> Option<usize> {
        let avx2 = is_x86_feature_detected!("avx2");
        match kern {
            Kernel::Gfni if avx2 && cpu_has_gfni() => {
                Some(drive::<Gfni>(coefs, inputs, outputs, len))
            }
            Kernel::Avx2 if avx2 => Some(drive::<Avx2>(coefs, inputs, outputs, len)),
            _ => None,
        }
    }

    /// Prepared coefficients for `coefs` (`rows x k`), in groups of `K::ROWS` rows, each
    /// group laid out `[input][row]`. Large matrices are cached by content.
    fn prepare<K: Kern>(coefs: &[u16], k: usize, rows: usize) -> Arc<Vec<K::M>> {
        let build = || {
            let mut mats = Vec::with_capacity(k * rows);
            let mut row = 0;
            while row < rows {
                let g = (rows - row).min(K::ROWS);
                for i in 0..k {
                    for r in 0..g {
                        mats.push(K::prep(coefs[(row + r) * k + i]));
                    }
                }
                row += g;
            }
            mats
        };
        if k * rows < CACHE_MIN {
            return Arc::new(build());
        }
        let key = (coefs[..k * rows].to_vec(), k);
        match K::cache().get_or_try(key, || Ok::<_, ()>(build())) {
            Ok(m) => m,
            Err(()) => Arc::new(build()),
        }
    }

    /// The cache-blocked driver: for each column tile, for each tile of [`INPUTS`]
    /// inputs (converted once into a scratch tile), every group of output rows adds the
    /// tile's contribution to its accumulators. Each input byte is read from memory once
    /// and the working set of the inner loops (tile, accumulators of one row group,
    /// prepared coefficients of one tile x group) fits L1.
    fn drive<K: Kern>(
        coefs: &[u16],
        inputs: &[&[u8]],
        outputs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let k = inputs.len();
        let rows = outputs.len();
        let prepared = prepare::<K>(coefs, k, rows);
        let padded = len.div_ceil(64) * 64;
        let cols = padded.min(COLS);
        let mut tile = vec![0u8; INPUTS.min(k) * cols];
        let mut acc = vec![0u8; rows * cols / 64 * K::ACC];
        let mut col = 0;
        while col < len {
            let w = (padded - col).min(cols);
            let aw = w / 64 * K::ACC;
            let end = (col + w).min(len);
            acc[..rows * aw].fill(0);
            let mut i0 = 0;
            while i0 < k {
                let kc = (k - i0).min(INPUTS);
                for (t, inp) in tile.chunks_exact_mut(w).zip(&inputs[i0..i0 + kc]) {
                    // SAFETY: the kernel's CPU features were detected by the caller;
                    // `t.len() == w`, a multiple of 64, and `end - col <= w`.
                    unsafe { K::split(&inp[col..end], t) }
                }
                let mut row = 0;
                while row < rows {
                    let g = (rows - row).min(K::ROWS);
                    let mats = &prepared[row * k + i0 * g..row * k + (i0 + kc) * g];
                    let a = &mut acc[row * aw..(row + g) * aw];
                    let t = &tile[..kc * w];
                    // SAFETY: the kernel's CPU features were detected by the caller;
                    // `w % 64 == 0`, `mats.len() == kc * g`, `t.len() == kc * w` and
                    // `a.len() == g * aw`; `g <= K::ROWS <= 4`.
                    unsafe {
                        match g {
                            1 => K::rows::<1>(mats, t, a, w),
                            2 => K::rows::<2>(mats, t, a, w),
                            3 => K::rows::<3>(mats, t, a, w),
                            _ => K::rows::<4>(mats, t, a, w),
                        }
                    }
                    row += g;
                }
                i0 += kc;
            }
            for (r, out) in outputs.iter_mut().enumerate() {
                // SAFETY: the kernel's CPU features were detected by the caller; the
                // accumulator row holds `aw = w / 64 * ACC` bytes and `end - col <= w`.
                unsafe { K::finish(&acc[r * aw..(r + 1) * aw], &mut out[col..end]) }
            }
            col += w;
        }
        len
    }

    /// Loads 64 bytes of `src` (zero padded) as (high bytes, low bytes) of 32 words, in
    /// the lane order of `split_mask`.
    #[target_feature(enable = "avx2")]
    fn load_split(s: &[u8]) -> (__m256i, __m256i) {
        let mask = _mm256_setr_epi8(
            0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3,
            5, 7, 9, 11, 13, 15,
        );
        let mut pad = [0u8; 64];
        let s = if s.len() >= 64 {
            &s[..64]
        } else {
            pad[..s.len()].copy_from_slice(s);
            &pad[..]
        };
        // SAFETY: `s` is 64 bytes long; unaligned loads.
        let (a, b) = unsafe {
            (
                _mm256_loadu_si256(s.as_ptr().cast::<__m256i>()),
                _mm256_loadu_si256(s.as_ptr().add(32).cast::<__m256i>()),
            )
        };
        let a = _mm256_shuffle_epi8(a, mask);
        let b = _mm256_shuffle_epi8(b, mask);
        (_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b))
    }

    /// Inverse of [`load_split`]: writes the first `d.len()` (at most 64) bytes.
    #[target_feature(enable = "avx2")]
    fn store_join(hi: __m256i, lo: __m256i, d: &mut [u8]) {
        let mask = _mm256_setr_epi8(
            0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12,
            5, 13, 6, 14, 7, 15,
        );
        let a = _mm256_shuffle_epi8(_mm256_unpacklo_epi64(hi, lo), mask);
        let b = _mm256_shuffle_epi8(_mm256_unpackhi_epi64(hi, lo), mask);
        let mut pad = [0u8; 64];
        let full = d.len() >= 64;
        let p = if full {
            d.as_mut_ptr()
        } else {
            pad.as_mut_ptr()
        };
        // SAFETY: `p` points to 64 writable bytes (`d` or `pad`); unaligned stores.
        unsafe {
            _mm256_storeu_si256(p.cast::<__m256i>(), a);
            _mm256_storeu_si256(p.add(32).cast::<__m256i>(), b);
        }
        if !full {
            let n = d.len();
            d.copy_from_slice(&pad[..n]);
        }
    }

    /// Stores two 32-byte vectors at `d[0..64]`.
    #[target_feature(enable = "avx2")]
    fn store2(d: &mut [u8], x: __m256i, y: __m256i) {
        let d = &mut d[..64];
        // SAFETY: `d` is 64 bytes long; unaligned stores.
        unsafe {
            _mm256_storeu_si256(d.as_mut_ptr().cast::<__m256i>(), x);
            _mm256_storeu_si256(d.as_mut_ptr().add(32).cast::<__m256i>(), y);
        }
    }

    /// Loads the 32-byte vector at `s[0..32]`.
    #[target_feature(enable = "avx2")]
    fn load1(s: &[u8]) -> __m256i {
        let s = &s[..32];
        // SAFETY: `s` is 32 bytes long; unaligned load.
        unsafe { _mm256_loadu_si256(s.as_ptr().cast::<__m256i>()) }
    }

    /// Tile layout of the `vpshufb` kernel: for each 32 words, 32 high bytes then 32 low
    /// bytes; missing bytes are zero.
    ///
    /// # Safety
    /// AVX2 must be available; `dst.len() % 64 == 0` and `src.len() <= dst.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn split(src: &[u8], dst: &mut [u8]) {
        let mut chunks = src.chunks(64);
        for d in dst.chunks_exact_mut(64) {
            let (hi, lo) = load_split(chunks.next().unwrap_or(&[]));
            store2(d, hi, lo);
        }
    }

    /// Inverse of [`split`]: writes the first `dst.len()` bytes.
    ///
    /// # Safety
    /// AVX2 must be available; `src.len() % 64 == 0` and `dst.len() <= src.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn join(src: &[u8], dst: &mut [u8]) {
        for (s, d) in src.chunks_exact(64).zip(dst.chunks_mut(64)) {
            store_join(load1(s), load1(&s[32..]), d);
        }
    }

    /// Tile layout of the GFNI kernel: for each 32 words, the tower coordinates `a0`
    /// (32 bytes) then `a1` (see [`super::Tower`]); missing bytes are zero.
    ///
    /// # Safety
    /// AVX2 and GFNI must be available; `dst.len() % 64 == 0`, `src.len() <= dst.len()`.
    #[target_feature(enable = "avx2")]
    unsafe fn split_tower(src: &[u8], dst: &mut [u8]) {
        let [m0l, m0h, m1l, m1h] = tower().input_blocks().map(|m| _mm256_set1_epi64x(m as i64));
        let mut chunks = src.chunks(64);
        for d in dst.chunks_exact_mut(64) {
            let (hi, lo) = load_split(chunks.next().unwrap_or(&[]));
            // SAFETY: the caller guarantees AVX2 and GFNI.
            let (a0, a1) = unsafe {
                (
                    _mm256_xor_si256(gf2p8affine(lo, m0l), gf2p8affine(hi, m0h)),
                    _mm256_xor_si256(gf2p8affine(lo, m1l), gf2p8affine(hi, m1h)),
                )
            };
            store2(d, a0, a1);
        }
    }

    /// From the GFNI kernel's accumulators `A | B | C` (96 bytes per 32 words) to the
    /// first `dst.len()` bytes of the output words.
    ///
    /// # Safety
    /// AVX2 and GFNI must be available; `src.len() % 96 == 0`,
    /// `dst.len() <= src.len() / 96 * 64`.
    #[target_feature(enable = "avx2")]
    unsafe fn finish_tower(src: &[u8], dst: &mut [u8]) {
        let [la, lb, lc, ha, hb, hc] = tower()
            .output_blocks()
            .map(|m| _mm256_set1_epi64x(m as i64));
        for (s, d) in src.chunks_exact(96).zip(dst.chunks_mut(64)) {
            let (a, b, c) = (load1(s), load1(&s[32..]), load1(&s[64..]));
            // SAFETY: the caller guarantees AVX2 and GFNI.
            let (lo, hi) = unsafe {
                (
                    _mm256_xor_si256(
                        _mm256_xor_si256(gf2p8affine(a, la), gf2p8affine(b, lb)),
                        gf2p8affine(c, lc),
                    ),
                    _mm256_xor_si256(
                        _mm256_xor_si256(gf2p8affine(a, ha), gf2p8affine(b, hb)),
                        gf2p8affine(c, hc),
                    ),
                )
            };
            store_join(hi, lo, d);
        }
    }

    /// GFNI inner loop, see [`Kern::rows`]: per input and coefficient three products in
    /// K, `c0 a0`, `c1 a1` and `(c0 + c1)(a0 + a1)`, summed into `A`, `B`, `C`.
    ///
    /// # Safety
    /// As [`Kern::rows`], with AVX2 and GFNI.
    #[target_feature(enable = "avx2")]
    unsafe fn gfni_rows<const N: usize>(mats: &[[u64; 3]], tile: &[u8], acc: &mut [u8], w: usize) {
        let kc = mats.len() / N;
        let aw = w / 64 * 96;
        let mut pos = 0;
        while pos < w {
            let ap = pos / 64 * 96;
            let mut acc_a = [_mm256_setzero_si256(); N];
            let mut acc_b = [_mm256_setzero_si256(); N];
            let mut acc_c = [_mm256_setzero_si256(); N];
            for r in 0..N {
                let s = &acc[r * aw + ap..r * aw + ap + 96];
                acc_a[r] = load1(s);
                acc_b[r] = load1(&s[32..]);
                acc_c[r] = load1(&s[64..]);
            }
            for i in 0..kc {
                // SAFETY: i * w + pos + 64 <= kc * w <= tile.len(); unaligned loads.
                let (a0, a1) = unsafe {
                    let p = tile.as_ptr().add(i * w + pos);
                    (
                        _mm256_loadu_si256(p.cast::<__m256i>()),
                        _mm256_loadu_si256(p.add(32).cast::<__m256i>()),
                    )
                };
                let a2 = _mm256_xor_si256(a0, a1);
                let m = &mats[i * N..i * N + N];
                for r in 0..N {
                    let [m0, m1, m2] = m[r];
                    // SAFETY: this function's contract guarantees AVX2 and GFNI.
                    let (p0, p1, p2) = unsafe {
                        (
                            gf2p8affine(a0, _mm256_set1_epi64x(m0 as i64)),
                            gf2p8affine(a1, _mm256_set1_epi64x(m1 as i64)),
                            gf2p8affine(a2, _mm256_set1_epi64x(m2 as i64)),
                        )
                    };
                    acc_a[r] = _mm256_xor_si256(acc_a[r], p0);
                    acc_b[r] = _mm256_xor_si256(acc_b[r], p1);
                    acc_c[r] = _mm256_xor_si256(acc_c[r], p2);
                }
            }
            for r in 0..N {
                let d = &mut acc[r * aw + ap..r * aw + ap + 96];
                store2(d, acc_a[r], acc_b[r]);
                let d = &mut d[64..];
                // SAFETY: `d` is 32 bytes long; unaligned store.
                unsafe { _mm256_storeu_si256(d.as_mut_ptr().cast::<__m256i>(), acc_c[r]) }
            }
            pos += 64;
        }
    }

    /// AVX2 split-nibble inner loop, see [`Kern::rows`]. Table `2p` (`2p + 1`) maps
    /// nibble `p` of a word (p = 0: low nibble of the low byte) to the low (high) byte of
    /// its product with the coefficient.
    ///
    /// # Safety
    /// As [`Kern::rows`].
    #[target_feature(enable = "avx2")]
    unsafe fn avx2_rows<const N: usize>(
        mats: &[[[u8; 16]; 8]],
        tile: &[u8],
        acc: &mut [u8],
        w: usize,
    ) {
        let kc = mats.len() / N;
        let nib = _mm256_set1_epi8(0x0F);
        let mut pos = 0;
        while pos < w {
            let mut acc_hi = [_mm256_setzero_si256(); N];
            let mut acc_lo = [_mm256_setzero_si256(); N];
            for r in 0..N {
                // SAFETY: r * w + pos + 64 <= N * w <= acc.len(); unaligned loads.
                unsafe {
                    let p = acc.as_ptr().add(r * w + pos);
                    acc_hi[r] = _mm256_loadu_si256(p.cast::<__m256i>());
                    acc_lo[r] = _mm256_loadu_si256(p.add(32).cast::<__m256i>());
                }
            }
            for i in 0..kc {
                // SAFETY: i * w + pos + 64 <= kc * w <= tile.len(); unaligned loads.
                let (hi, lo) = unsafe {
                    let p = tile.as_ptr().add(i * w + pos);
                    (
                        _mm256_loadu_si256(p.cast::<__m256i>()),
                        _mm256_loadu_si256(p.add(32).cast::<__m256i>()),
                    )
                };
                let n = [
                    _mm256_and_si256(lo, nib),
                    _mm256_and_si256(_mm256_srli_epi16::<4>(lo), nib),
                    _mm256_and_si256(hi, nib),
                    _mm256_and_si256(_mm256_srli_epi16::<4>(hi), nib),
                ];
                let m = &mats[i * N..i * N + N];
                for r in 0..N {
                    let t = &m[r];
                    let mut pl = _mm256_setzero_si256();
                    let mut ph = _mm256_setzero_si256();
                    for (p, np) in n.iter().enumerate() {
                        // SAFETY: each table is 16 readable bytes; unaligned loads.
                        let (tl, th) = unsafe {
                            (
                                _mm256_broadcastsi128_si256(_mm_loadu_si128(
                                    t[2 * p].as_ptr().cast::<__m128i>(),
                                )),
                                _mm256_broadcastsi128_si256(_mm_loadu_si128(
                                    t[2 * p + 1].as_ptr().cast::<__m128i>(),
                                )),
                            )
                        };
                        pl = _mm256_xor_si256(pl, _mm256_shuffle_epi8(tl, *np));
                        ph = _mm256_xor_si256(ph, _mm256_shuffle_epi8(th, *np));
                    }
                    acc_lo[r] = _mm256_xor_si256(acc_lo[r], pl);
                    acc_hi[r] = _mm256_xor_si256(acc_hi[r], ph);
                }
            }
            for r in 0..N {
                // SAFETY: as for the loads above; unaligned stores.
                unsafe {
                    let p = acc.as_mut_ptr().add(r * w + pos);
                    _mm256_storeu_si256(p.cast::<__m256i>(), acc_hi[r]);
                    _mm256_storeu_si256(p.add(32).cast::<__m256i>(), acc_lo[r]);
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

    /// Both SIMD kernels against the generic field arithmetic, for shapes that exercise
    /// partial input tiles (k not a multiple of 16), partial row groups, tails shorter
    /// than 64 bytes and several column tiles (symbols longer than 2048 bytes).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_kernels_match_generic() {
        let f = field16();
        for (k, rows, len) in [
            (1usize, 1usize, 2usize),
            (3, 5, 66),
            (17, 7, 1400),
            (33, 4, 130),
            (16, 9, 4098),
            (40, 3, 2048 + 64 + 6),
        ] {
            let data: Vec<Vec<u8>> = (0..k)
                .map(|i| (0..len).map(|b| (i * 37 + b * 11 + 3) as u8).collect())
                .collect();
            let inputs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
            let coefs: Vec<u16> = (0..(k * rows) as u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 9) as u16)
                .collect();
            let mut expect = vec![vec![0u8; len]; rows];
            let mut er: Vec<&mut [u8]> = expect.iter_mut().map(|v| v.as_mut_slice()).collect();
            gf::matmul_generic(f, &coefs, &inputs, &mut er);
            for kern in [x86::Kernel::Gfni, x86::Kernel::Avx2] {
                let mut got = vec![vec![0xA5u8; len]; rows];
                let mut gr: Vec<&mut [u8]> = got.iter_mut().map(|v| v.as_mut_slice()).collect();
                match x86::matmul_with(kern, &coefs, &inputs, &mut gr, len) {
                    Some(done) => assert_eq!(done, len),
                    None => continue,
                }
                assert_eq!(got, expect, "{kern:?} k={k} rows={rows} len={len}");
            }
        }
    }

    /// The split-nibble tables equal field products.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn nibble_tables_match_field() {
        let f = field16();
        for c in [0u16, 1, 2, 0x8000, 0x1234, 0xFFFF, 0x100B] {
            let t = nibble_tables(c);
            for p in 0..4 {
                for v in 0..16u16 {
                    let x = f.mul(c, v << (4 * p));
                    assert_eq!(t[2 * p][usize::from(v)], x as u8);
                    assert_eq!(t[2 * p + 1][usize::from(v)], (x >> 8) as u8);
                }
            }
        }
    }

    /// The tower representation: a basis change, and the Karatsuba product of the
    /// GFNI kernel (done here with scalar bit matrices) equals the field product.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn tower_product_matches_field() {
        let f = field16();
        let t = tower();
        let run = |m: u64, x: u8| -> u8 {
            (0..8).fold(0u8, |acc, i| {
                let row = (m >> (8 * (7 - i))) as u8;
                acc | (((row & x).count_ones() as u8 & 1) << i)
            })
        };
        for v in [1u16, 2, 0x100, 0x8000, 0x1234, 0xFFFF] {
            assert_eq!(apply(&t.from, apply(&t.to, v)), v);
        }
        let [ia, ib, ic, id] = t.input_blocks();
        let out = t.output_blocks();
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let (a, c) = (x as u16, (x >> 16) as u16);
            let (lo, hi) = (a as u8, (a >> 8) as u8);
            let a0 = run(ia, lo) ^ run(ib, hi);
            let a1 = run(ic, lo) ^ run(id, hi);
            let [m0, m1, m2] = t.prep(c);
            let (pa, pb, pc) = (run(m0, a0), run(m1, a1), run(m2, a0 ^ a1));
            let rl = run(out[0], pa) ^ run(out[1], pb) ^ run(out[2], pc);
            let rh = run(out[3], pa) ^ run(out[4], pb) ^ run(out[5], pc);
            assert_eq!(
                u16::from_be_bytes([rh, rl]),
                f.mul(a, c),
                "a={a:#x} c={c:#x}"
            );
        }
    }
}
