//! Fast GF(2^8) (polynomial 0x11D) slice kernels.
//!
//! Multiplication by a constant `c` is done with the split-nibble method: for each byte
//! `x = hi << 4 | lo`, `c * x = L_c[lo] ^ H_c[hi]` with two 16-entry tables, which x86
//! evaluates 32 (AVX2) or 16 (SSSE3) bytes at a time with `pshufb`. The implementation is
//! chosen at run time with `is_x86_feature_detected!`. CPUs with GFNI use
//! `gf2p8affineqb` instead (multiplication by `c` is an 8x8 bit matrix, one instruction per
//! 32 bytes; about 30% faster per CPU-second here); set `FEC_RS_NO_GFNI` to force pshufb.
//! CPUs with GFNI and AVX-512F run the same instruction on 64 bytes and 16 output rows
//! per pass (`FEC_RS_NO_AVX512` turns that off). Other targets (and x86 without SSSE3)
//! use a scalar 256x256 product table. The tail of a slice below the vector width goes
//! through the vector kernel too, zero-padded.
//!
//! [`matmul`] is the workhorse of the encoder and decoder: it computes several output rows
//! in one pass over the inputs, keeping the accumulators in registers, so every input byte
//! is loaded once per group of up to 8 output rows (16 with AVX-512).
#![allow(unsafe_code)]

use std::sync::OnceLock;

use super::gf;

/// `NIBBLE[c] = [c * 0x00, c * 0x01, .., c * 0x0F, c * 0x00, c * 0x10, .., c * 0xF0]`.
fn nibble_tables() -> &'static [[u8; 32]; 256] {
    static T: OnceLock<Box<[[u8; 32]; 256]>> = OnceLock::new();
    T.get_or_init(|| {
        let f = field8();
        let mut t = Box::new([[0u8; 32]; 256]);
        for (c, row) in t.iter_mut().enumerate() {
            for x in 0..16u16 {
                row[x as usize] = f.mul(c as u16, x) as u8;
                row[16 + x as usize] = f.mul(c as u16, x << 4) as u8;
            }
        }
        t
    })
}

/// Full product table for the scalar path: `MUL[c][x] = c * x`.
fn mul_table() -> &'static [[u8; 256]; 256] {
    static T: OnceLock<Box<[[u8; 256]; 256]>> = OnceLock::new();
    T.get_or_init(|| {
        let f = field8();
        let mut t = Box::new([[0u8; 256]; 256]);
        for (c, row) in t.iter_mut().enumerate() {
            for (x, v) in row.iter_mut().enumerate() {
                *v = f.mul(c as u16, x as u16) as u8;
            }
        }
        t
    })
}

fn field8() -> &'static gf::Field {
    // m = 8 is always in range.
    match gf::field(8) {
        Some(f) => f,
        None => unreachable!("GF(2^8) is always available"),
    }
}

/// Which kernel the CPU supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Scalar,
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    Ssse3,
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    Avx2,
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    Gfni,
    #[cfg(all(fec_avx512, any(target_arch = "x86_64", target_arch = "x86")))]
    Avx512Gfni,
}

impl Kernel {
    /// Bytes per vector step (the tail below it is zero-padded to one step); 0 for scalar.
    fn width(self) -> usize {
        match self {
            Self::Scalar => 0,
            #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
            Self::Ssse3 => 16,
            #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
            Self::Avx2 | Self::Gfni => 32,
            #[cfg(all(fec_avx512, any(target_arch = "x86_64", target_arch = "x86")))]
            Self::Avx512Gfni => 64,
        }
    }

    /// Output rows computed in one pass over the inputs (accumulators kept in registers).
    fn rows(self) -> usize {
        match self {
            #[cfg(all(fec_avx512, any(target_arch = "x86_64", target_arch = "x86")))]
            Self::Avx512Gfni => 16,
            _ => 8,
        }
    }
}

fn kernel() -> Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    *K.get_or_init(|| {
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        {
            if std::env::var_os("FEC_RS_FORCE_SCALAR").is_some() {
                return Kernel::Scalar;
            }
            let gfni = is_x86_feature_detected!("avx2")
                && x86::cpu_has_gfni()
                && std::env::var_os("FEC_RS_NO_GFNI").is_none();
            #[cfg(fec_avx512)]
            if gfni
                && is_x86_feature_detected!("avx512f")
                && std::env::var_os("FEC_RS_NO_AVX512").is_none()
            {
                return Kernel::Avx512Gfni;
            }
            if gfni {
                return Kernel::Gfni;
            }
            if is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
            if is_x86_feature_detected!("ssse3") {
                return Kernel::Ssse3;
            }
        }
        Kernel::Scalar
    })
}

/// Name of the kernel in use ("gfni+avx512", "gfni+avx2", "avx2", "ssse3" or "scalar"),
/// for benches and logs.
pub fn kernel_name() -> &'static str {
    match kernel() {
        Kernel::Scalar => "scalar",
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Kernel::Ssse3 => "ssse3",
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Kernel::Avx2 => "avx2",
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Kernel::Gfni => "gfni+avx2",
        #[cfg(all(fec_avx512, any(target_arch = "x86_64", target_arch = "x86")))]
        Kernel::Avx512Gfni => "gfni+avx512",
    }
}

/// `dst = c * src` over GF(2^8). Only the common prefix of the two slices is touched.
pub fn mul_slice(c: u8, src: &[u8], dst: &mut [u8]) {
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    let mut out = [dst];
    matmul(&[c], &[src], &mut out);
}

/// `dst ^= c * src` over GF(2^8). Only the common prefix of the two slices is touched.
pub fn mul_add_slice(c: u8, src: &[u8], dst: &mut [u8]) {
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    if c == 0 {
        return;
    }
    // dst = 1 * dst + c * src, in one pass.
    let copy = dst.to_vec();
    let mut out = [dst];
    matmul(&[1, c], &[&copy, src], &mut out);
}

/// `outputs[r] = sum_i coefs[r * inputs.len() + i] * inputs[i]` over GF(2^8).
///
/// Every input and output must have the same length (the shortest length is used
/// otherwise); `coefs` must hold `outputs.len() * inputs.len()` entries.
pub fn matmul(coefs: &[u8], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    matmul_with(kernel(), coefs, inputs, outputs);
}

fn matmul_with(kern: Kernel, coefs: &[u8], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    let k = inputs.len();
    if outputs.is_empty() {
        return;
    }
    if k == 0 || coefs.len() < k * outputs.len() {
        for o in outputs.iter_mut() {
            o.fill(0);
        }
        return;
    }
    let len = inputs
        .iter()
        .map(|s| s.len())
        .chain(outputs.iter().map(|s| s.len()))
        .min()
        .unwrap_or(0);
    // The vector kernels run on the largest multiple of their width. The tail (say 24 of
    // 1400 bytes) goes through the same kernel, zero-padded to one vector step: the
    // scalar kernel there cost as much as all the rest (k·rows table look-ups per byte,
    // 40 % of the time at K = 1024, T = 1400).
    let w = kern.width();
    let (body, tail) = match len.checked_div(w) {
        Some(n) => (n * w, len % w),
        None => (0, len),
    };
    let padded: Vec<u8> = if w != 0 && tail != 0 {
        let mut p = vec![0u8; k * w];
        for (dst, inp) in p.chunks_exact_mut(w).zip(inputs) {
            dst[..tail].copy_from_slice(&inp[body..len]);
        }
        p
    } else {
        Vec::new()
    };
    let padded_inputs: Vec<&[u8]> = padded.chunks_exact(w.max(1)).collect();
    let mut padded_out = vec![
        0u8;
        if padded.is_empty() {
            0
        } else {
            kern.rows() * w
        }
    ];
    let mut row = 0;
    for group in outputs.chunks_mut(kern.rows()) {
        let g = group.len();
        let mut gc = Vec::with_capacity(k * g);
        for i in 0..k {
            for r in 0..g {
                gc.push(coefs[(row + r) * k + i]);
            }
        }
        let done = vector_group(kern, &gc, inputs, group, body);
        scalar_group(&gc, inputs, group, done, body);
        if w == 0 {
            scalar_group(&gc, inputs, group, 0, len);
        } else if tail != 0 {
            let mut outs: Vec<&mut [u8]> = padded_out.chunks_exact_mut(w).take(g).collect();
            let done = vector_group(kern, &gc, &padded_inputs, &mut outs, w);
            scalar_group(&gc, &padded_inputs, &mut outs, done, w);
            for (o, p) in group.iter_mut().zip(&outs) {
                o[body..len].copy_from_slice(&p[..tail]);
            }
        }
        row += g;
    }
}

/// One group of at most `kern.rows()` rows on bytes `0..len`; `gc` is laid out
/// `[input][row]`. Returns how many leading bytes were done (a multiple of the width).
fn vector_group(
    kern: Kernel,
    gc: &[u8],
    inputs: &[&[u8]],
    outs: &mut [&mut [u8]],
    len: usize,
) -> usize {
    match kern {
        Kernel::Scalar => 0,
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Kernel::Avx2 => x86::group_avx2(gc, inputs, outs, len),
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Kernel::Gfni => x86::group_gfni(gc, inputs, outs, len),
        #[cfg(all(fec_avx512, any(target_arch = "x86_64", target_arch = "x86")))]
        Kernel::Avx512Gfni => x86::group_avx512_gfni(gc, inputs, outs, len),
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        Kernel::Ssse3 => x86::group_ssse3(gc, inputs, outs, len),
    }
}

/// Scalar kernel on bytes `from..to` of every row.
fn scalar_group(gc: &[u8], inputs: &[&[u8]], outs: &mut [&mut [u8]], from: usize, to: usize) {
    if from >= to {
        return;
    }
    let t = mul_table();
    let g = outs.len();
    for (r, out) in outs.iter_mut().enumerate() {
        let out = &mut out[from..to];
        out.fill(0);
        for (i, inp) in inputs.iter().enumerate() {
            let c = gc[i * g + r];
            if c == 0 {
                continue;
            }
            let tc = &t[usize::from(c)];
            for (o, &x) in out.iter_mut().zip(&inp[from..to]) {
                *o ^= tc[usize::from(x)];
            }
        }
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
pub(super) mod x86 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::*;
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::*;

    use std::sync::OnceLock;

    use super::{field8, nibble_tables};

    /// GFNI support: CPUID leaf 7, ECX bit 8. Read with CPUID directly (and the
    /// instruction emitted with inline assembly) so that the crate still builds with
    /// toolchains older than 1.89, where the GFNI intrinsics and feature name are unstable.
    /// Callers check AVX2 first.
    pub(in crate::schemes::rs) fn cpu_has_gfni() -> bool {
        // SAFETY: CPUID exists on every CPU with AVX2, which the callers check first; leaf
        // 7 is only read when the maximum basic leaf is at least 7.
        #[allow(unused_unsafe)]
        let ecx = unsafe {
            if __cpuid(0).eax >= 7 {
                __cpuid_count(7, 0).ecx
            } else {
                0
            }
        };
        ecx & (1 << 8) != 0
    }

    /// `vgf2p8affineqb r, x, a, 0`: applies the 8x8 bit matrix of each 64-bit lane of `a`
    /// to every byte of the same lane of `x`.
    ///
    /// # Safety
    /// The CPU must support AVX2 and GFNI ([`cpu_has_gfni`]).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(in crate::schemes::rs) unsafe fn gf2p8affine(x: __m256i, a: __m256i) -> __m256i {
        let r: __m256i;
        // SAFETY: the caller guarantees GFNI and AVX; the instruction touches only the
        // three named registers (no memory, stack or flags).
        unsafe {
            core::arch::asm!(
                "vgf2p8affineqb {r}, {x}, {a}, 0",
                r = lateout(ymm_reg) r,
                x = in(ymm_reg) x,
                a = in(ymm_reg) a,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        r
    }

    /// `gf2p8affineqb` matrices of "multiply by c" for every c: column j is `c * 2^j`,
    /// row i sits in byte 7 - i.
    fn affine_matrices() -> &'static [u64; 256] {
        static M: OnceLock<Box<[u64; 256]>> = OnceLock::new();
        M.get_or_init(|| {
            let f = field8();
            let mut m = Box::new([0u64; 256]);
            for (c, a) in m.iter_mut().enumerate() {
                for i in 0..8 {
                    let mut row = 0u64;
                    for j in 0..8 {
                        let col = f.mul(c as u16, 1 << j);
                        row |= u64::from((col >> i) & 1) << j;
                    }
                    *a |= row << (8 * (7 - i));
                }
            }
            m
        })
    }

    /// Runs the GFNI kernel on the largest multiple of 32 bytes and returns it.
    pub(super) fn group_gfni(
        gc: &[u8],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let vlen = len / 32 * 32;
        if vlen == 0 {
            return 0;
        }
        let mats: Vec<u64> = gc
            .iter()
            .map(|&c| affine_matrices()[usize::from(c)])
            .collect();
        macro_rules! go {
            ($n:literal) => {
                // SAFETY: `kernel()` returned Gfni only after `is_x86_feature_detected!`
                // confirmed both "avx2" and "gfni". Every input and output holds at least
                // `len >= vlen` bytes, `mats` holds `inputs.len() * $n` matrices and
                // `outs.len() == $n`.
                unsafe { gfni_rows::<$n>(&mats, inputs, outs, vlen) }
            };
        }
        match outs.len() {
            1 => go!(1),
            2 => go!(2),
            3 => go!(3),
            4 => go!(4),
            5 => go!(5),
            6 => go!(6),
            7 => go!(7),
            8 => go!(8),
            _ => return 0,
        }
        vlen
    }

    /// # Safety
    /// AVX2 and GFNI must be available; `outs.len() == N`, `mats.len() == inputs.len() * N`,
    /// every slice holds at least `vlen` bytes and `vlen % 32 == 0`.
    #[target_feature(enable = "avx2")]
    unsafe fn gfni_rows<const N: usize>(
        mats: &[u64],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        vlen: usize,
    ) {
        let mut pos = 0;
        while pos < vlen {
            let mut acc = [_mm256_setzero_si256(); N];
            for (i, inp) in inputs.iter().enumerate() {
                // SAFETY: pos + 32 <= vlen <= inp.len(); unaligned load.
                let v = unsafe { _mm256_loadu_si256(inp.as_ptr().add(pos).cast::<__m256i>()) };
                let m = &mats[i * N..i * N + N];
                for r in 0..N {
                    let a = _mm256_set1_epi64x(m[r] as i64);
                    // SAFETY: this function's contract guarantees AVX2 and GFNI.
                    let p = unsafe { gf2p8affine(v, a) };
                    acc[r] = _mm256_xor_si256(acc[r], p);
                }
            }
            for r in 0..N {
                // SAFETY: pos + 32 <= vlen <= outs[r].len(); unaligned store.
                unsafe {
                    _mm256_storeu_si256(outs[r].as_mut_ptr().add(pos).cast::<__m256i>(), acc[r])
                };
            }
            pos += 32;
        }
    }

    /// Runs the AVX-512 GFNI kernel on the largest multiple of 64 bytes and returns it
    /// (up to 16 rows per pass: AVX-512 has 32 vector registers). Built with Rust 1.89 and
    /// later only (`build.rs`), where its intrinsics are stable.
    #[cfg(fec_avx512)]
    #[allow(clippy::incompatible_msrv)]
    pub(super) fn group_avx512_gfni(
        gc: &[u8],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let vlen = len / 64 * 64;
        if vlen == 0 {
            return 0;
        }
        let mats: Vec<i64> = gc
            .iter()
            .map(|&c| affine_matrices()[usize::from(c)] as i64)
            .collect();
        macro_rules! go {
            ($($n:literal)*) => {
                match outs.len() {
                    $(
                        // SAFETY: `kernel()` returned Avx512Gfni only after
                        // `is_x86_feature_detected!` confirmed "avx2" and "avx512f" and
                        // CPUID confirmed GFNI. Every input and output holds at least
                        // `len >= vlen` bytes, `mats` holds `inputs.len() * $n` matrices and
                        // `outs.len() == $n`.
                        $n => unsafe { avx512_gfni_rows::<$n>(&mats, inputs, outs, vlen) },
                    )*
                    _ => return 0,
                }
            };
        }
        go!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        vlen
    }

    /// # Safety
    /// AVX-512F and GFNI must be available; `outs.len() == N`,
    /// `mats.len() == inputs.len() * N`, every slice holds at least `vlen` bytes and
    /// `vlen % 64 == 0`.
    #[cfg(fec_avx512)]
    #[allow(clippy::incompatible_msrv)]
    #[target_feature(enable = "avx512f,gfni")]
    unsafe fn avx512_gfni_rows<const N: usize>(
        mats: &[i64],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        vlen: usize,
    ) {
        let mut pos = 0;
        while pos < vlen {
            let mut acc = [_mm512_setzero_si512(); N];
            for (i, inp) in inputs.iter().enumerate() {
                // SAFETY: pos + 64 <= vlen <= inp.len(); unaligned load.
                let v = unsafe { _mm512_loadu_si512(inp.as_ptr().add(pos).cast()) };
                let m = &mats[i * N..i * N + N];
                for r in 0..N {
                    let p = _mm512_gf2p8affine_epi64_epi8::<0>(v, _mm512_set1_epi64(m[r]));
                    acc[r] = _mm512_xor_si512(acc[r], p);
                }
            }
            for r in 0..N {
                // SAFETY: pos + 64 <= vlen <= outs[r].len(); unaligned store.
                unsafe { _mm512_storeu_si512(outs[r].as_mut_ptr().add(pos).cast(), acc[r]) };
            }
            pos += 64;
        }
    }

    /// Runs the AVX2 kernel on the largest multiple of 32 bytes and returns it.
    pub(super) fn group_avx2(
        gc: &[u8],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let vlen = len / 32 * 32;
        if vlen == 0 {
            return 0;
        }
        let tabs: Vec<[u8; 32]> = gc
            .iter()
            .map(|&c| nibble_tables()[usize::from(c)])
            .collect();
        macro_rules! go {
            ($n:literal) => {
                // SAFETY: `kernel()` returned Avx2 only after `is_x86_feature_detected!("avx2")`
                // succeeded, so the target feature is present. Lengths: every input and
                // output holds at least `len >= vlen` bytes (checked by `matmul`), `tabs`
                // holds `inputs.len() * $n` tables, and `outs.len() == $n`.
                unsafe { avx2_rows::<$n>(&tabs, inputs, outs, vlen) }
            };
        }
        match outs.len() {
            1 => go!(1),
            2 => go!(2),
            3 => go!(3),
            4 => go!(4),
            5 => go!(5),
            6 => go!(6),
            7 => go!(7),
            8 => go!(8),
            _ => return 0,
        }
        vlen
    }

    /// # Safety
    /// AVX2 must be available; `outs.len() == N`, `tabs.len() == inputs.len() * N`, and
    /// every slice in `inputs` and `outs` holds at least `vlen` bytes, `vlen % 32 == 0`.
    #[target_feature(enable = "avx2")]
    unsafe fn avx2_rows<const N: usize>(
        tabs: &[[u8; 32]],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        vlen: usize,
    ) {
        let mask = _mm256_set1_epi8(0x0F);
        let mut pos = 0;
        while pos < vlen {
            let mut acc = [_mm256_setzero_si256(); N];
            for (i, inp) in inputs.iter().enumerate() {
                // SAFETY: pos + 32 <= vlen <= inp.len() (caller contract); unaligned load.
                let v = unsafe { _mm256_loadu_si256(inp.as_ptr().add(pos).cast::<__m256i>()) };
                let lo = _mm256_and_si256(v, mask);
                let hi = _mm256_and_si256(_mm256_srli_epi64(v, 4), mask);
                let t = &tabs[i * N..i * N + N];
                for r in 0..N {
                    // SAFETY: each table is 32 bytes; both 16-byte halves are in bounds.
                    let (tl, th) = unsafe {
                        (
                            _mm256_broadcastsi128_si256(_mm_loadu_si128(
                                t[r].as_ptr().cast::<__m128i>(),
                            )),
                            _mm256_broadcastsi128_si256(_mm_loadu_si128(
                                t[r].as_ptr().add(16).cast::<__m128i>(),
                            )),
                        )
                    };
                    let p =
                        _mm256_xor_si256(_mm256_shuffle_epi8(tl, lo), _mm256_shuffle_epi8(th, hi));
                    acc[r] = _mm256_xor_si256(acc[r], p);
                }
            }
            for r in 0..N {
                // SAFETY: pos + 32 <= vlen <= outs[r].len(); unaligned store.
                unsafe {
                    _mm256_storeu_si256(outs[r].as_mut_ptr().add(pos).cast::<__m256i>(), acc[r])
                };
            }
            pos += 32;
        }
    }

    /// Runs the SSSE3 kernel on the largest multiple of 16 bytes and returns it.
    pub(super) fn group_ssse3(
        gc: &[u8],
        inputs: &[&[u8]],
        outs: &mut [&mut [u8]],
        len: usize,
    ) -> usize {
        let vlen = len / 16 * 16;
        if vlen == 0 {
            return 0;
        }
        let tabs: Vec<[u8; 32]> = gc
            .iter()
            .map(|&c| nibble_tables()[usize::from(c)])
            .collect();
        let g = outs.len();
        for (r, out) in outs.iter_mut().enumerate() {
            // SAFETY: `kernel()` returned Ssse3 only after `is_x86_feature_detected!("ssse3")`
            // succeeded. `out` and every input hold at least `vlen` bytes; `tabs` holds
            // `inputs.len() * g` tables and `r < g`.
            unsafe { ssse3_row(&tabs, g, r, inputs, out, vlen) };
        }
        vlen
    }

    /// # Safety
    /// SSSE3 must be available; slices as documented on [`group_ssse3`].
    #[target_feature(enable = "ssse3")]
    unsafe fn ssse3_row(
        tabs: &[[u8; 32]],
        g: usize,
        r: usize,
        inputs: &[&[u8]],
        out: &mut [u8],
        vlen: usize,
    ) {
        let mask = _mm_set1_epi8(0x0F);
        let mut pos = 0;
        while pos < vlen {
            let mut acc = _mm_setzero_si128();
            for (i, inp) in inputs.iter().enumerate() {
                let t = &tabs[i * g + r];
                // SAFETY: pos + 16 <= vlen <= inp.len(); each table is 32 bytes.
                let (v, tl, th) = unsafe {
                    (
                        _mm_loadu_si128(inp.as_ptr().add(pos).cast::<__m128i>()),
                        _mm_loadu_si128(t.as_ptr().cast::<__m128i>()),
                        _mm_loadu_si128(t.as_ptr().add(16).cast::<__m128i>()),
                    )
                };
                let lo = _mm_and_si128(v, mask);
                let hi = _mm_and_si128(_mm_srli_epi64(v, 4), mask);
                acc = _mm_xor_si128(
                    acc,
                    _mm_xor_si128(_mm_shuffle_epi8(tl, lo), _mm_shuffle_epi8(th, hi)),
                );
            }
            // SAFETY: pos + 16 <= vlen <= out.len().
            unsafe { _mm_storeu_si128(out.as_mut_ptr().add(pos).cast::<__m128i>(), acc) };
            pos += 16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(coefs: &[u8], inputs: &[&[u8]], rows: usize, len: usize) -> Vec<Vec<u8>> {
        let f = field8();
        (0..rows)
            .map(|r| {
                (0..len)
                    .map(|b| {
                        inputs.iter().enumerate().fold(0u16, |a, (i, inp)| {
                            a ^ f.mul(u16::from(coefs[r * inputs.len() + i]), u16::from(inp[b]))
                        }) as u8
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn matmul_matches_reference_all_group_sizes() {
        for &(k, rows, len) in &[(1, 1, 1), (3, 5, 33), (7, 9, 100), (4, 8, 64), (2, 17, 31)] {
            let data: Vec<Vec<u8>> = (0..k)
                .map(|i| (0..len).map(|b| (i * 31 + b * 7 + 3) as u8).collect())
                .collect();
            let inputs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
            let coefs: Vec<u8> = (0..k * rows).map(|i| (i * 13 + 1) as u8).collect();
            let mut outs = vec![vec![0xEEu8; len]; rows];
            let mut refs: Vec<&mut [u8]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
            matmul(&coefs, &inputs, &mut refs);
            assert_eq!(
                outs,
                reference(&coefs, &inputs, rows, len),
                "k={k} rows={rows}"
            );
        }
    }

    /// Every kernel this CPU has, not only the one `kernel()` picks.
    fn available_kernels() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut v = vec![Kernel::Scalar];
        #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
        {
            if is_x86_feature_detected!("ssse3") {
                v.push(Kernel::Ssse3);
            }
            if is_x86_feature_detected!("avx2") {
                v.push(Kernel::Avx2);
                if x86::cpu_has_gfni() {
                    v.push(Kernel::Gfni);
                    #[cfg(fec_avx512)]
                    if is_x86_feature_detected!("avx512f") {
                        v.push(Kernel::Avx512Gfni);
                    }
                }
            }
        }
        v
    }

    #[test]
    fn every_kernel_matches_reference_with_vector_tails() {
        // Lengths around every vector width, and symbol sizes in use (1400, 1436), so
        // that the zero-padded tail is exercised at each width; row counts around the
        // group sizes 8 and 16.
        let cases: &[(usize, usize, usize)] = &[
            (1, 1, 1),
            (3, 17, 15),
            (5, 9, 16),
            (2, 16, 17),
            (4, 33, 63),
            (6, 8, 65),
            (3, 7, 127),
            (20, 17, 1400),
            (9, 5, 1436),
        ];
        for kern in available_kernels() {
            for &(k, rows, len) in cases {
                let data: Vec<Vec<u8>> = (0..k)
                    .map(|i| (0..len).map(|b| (i * 31 + b * 7 + 3) as u8).collect())
                    .collect();
                let inputs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
                let coefs: Vec<u8> = (0..k * rows).map(|i| (i * 13 + 1) as u8).collect();
                let mut outs = vec![vec![0xEEu8; len]; rows];
                let mut refs: Vec<&mut [u8]> = outs.iter_mut().map(|v| v.as_mut_slice()).collect();
                matmul_with(kern, &coefs, &inputs, &mut refs);
                assert_eq!(
                    outs,
                    reference(&coefs, &inputs, rows, len),
                    "{kern:?} k={k} rows={rows} len={len}"
                );
            }
        }
        // The kernel picked at run time is one of them.
        assert!(available_kernels().contains(&kernel()));
    }

    #[test]
    fn slice_kernels() {
        let f = field8();
        let src: Vec<u8> = (0..=255u8).chain(0..77).collect();
        for c in [0u8, 1, 2, 0x1D, 0x80, 0xFF] {
            let mut dst = vec![0u8; src.len()];
            mul_slice(c, &src, &mut dst);
            for (d, s) in dst.iter().zip(&src) {
                assert_eq!(u16::from(*d), f.mul(u16::from(c), u16::from(*s)));
            }
            let mut acc: Vec<u8> = src.iter().map(|x| x ^ 0x5A).collect();
            mul_add_slice(c, &src, &mut acc);
            for ((a, s), _) in acc.iter().zip(&src).zip(0..) {
                assert_eq!(
                    u16::from(*a),
                    (u16::from(*s) ^ 0x5A) ^ f.mul(u16::from(c), u16::from(*s))
                );
            }
        }
    }
}
