//! RaptorQ block decoding whose cost follows the loss (issue 19 §2): re-encode and solve r.
//!
//! When a block has all but r source symbols and at least r repair symbols, the missing
//! source symbols are found without the L x L decode of `raptorq`:
//!
//! 1. Every RaptorQ encoding symbol is a GF(256)-linear function of the K source symbols
//!    (RFC 6330 §5.3.3: the intermediate symbols are A⁻¹·D with the K' − K padding symbols
//!    of D zero, and a repair symbol is a sum of intermediate symbols), and that function
//!    acts on every byte position of a symbol on its own (all symbol operations are octet
//!    operations, RFC 6330 §5.7). So each byte position is an independent codeword.
//! 2. We build a block of symbols of T + r bytes: the first T bytes are the received source
//!    symbols (zeros for the r missing ones), byte T + i is 1 in missing symbol i and 0
//!    elsewhere. ONE encode of that block with the cached plan for this K gives, for every
//!    received repair ESI j, in its first T bytes the contribution E_j of the known source
//!    symbols and in byte T + i the coefficient c\[j\]\[i\] of missing symbol i in repair j.
//! 3. Residual_j = received_j − E_j = Σ_i c\[j\]\[i\]·s_i. Gauss–Jordan elimination of the
//!    r' x r coefficient matrix (r' ≥ r repair symbols) gives B with s = B·Residual; the
//!    T-byte products go through the SIMD GF(256) kernel of the Reed-Solomon schemes
//!    (same field: RFC 6330 §5.7.3 and RFC 5510 both use x⁸ + x⁴ + x³ + x² + 1).
//! 4. If the r' x r matrix has rank < r (RaptorQ is not MDS), nothing is returned and the
//!    caller runs the full `raptorq` decode on every symbol.
//!
//! For r ≤ [`DEFAULT_GENERATOR_R_MAX`], [`decode_with_generator`] gets the same residuals
//! and coefficients without encoding the block: from the cached generator rows of the
//! repair ESIs (`generator.rs`), as one GF(256) product over the received symbols.
//!
//! Sub-blocking (N > 1) does not change any of this: by 1., the code applied to the
//! interleaved wire symbols with N = 1 gives the same repair symbols as N sub-blocks coded
//! apart (sub-blocking only permutes the byte positions of a symbol). The fast path works on
//! wire symbols; the caller de-interleaves the result.

use raptorq::{EncodingPacket, ObjectTransmissionInformation, SourceBlockEncoder};

use super::plan;

/// Extra repair rows (beyond r) taken into the system when available, so that one
/// unlucky (singular) choice of exactly r rows does not force the full decode.
pub(super) const DEFAULT_EXTRA_ROWS: u32 = 4;

/// Largest number r of missing source symbols for which the fast path is tried, for a
/// block of K source symbols. Measured at K = 1024, T = 1400 (docs/benchmarks.md, "RaptorQ
/// decode in proportion to the loss"): the re-encode costs one plan encode plus an O(r³)
/// elimination and O(r²·T) products, and stops beating `raptorq`'s full decode near
/// r = 100; K/16 (64) keeps a margin for noise and for smaller T, where the T-independent
/// elimination weighs more.
pub(super) const fn default_r_max(k: u32) -> u32 {
    let r = k / 16;
    if r == 0 { 1 } else { r }
}

/// What the fast path needs: K, T, the received symbols and the missing source ESIs.
pub(super) struct Input<'a> {
    pub k: u32,
    pub t: u16,
    /// Every received symbol (source and repair), each of exactly T bytes.
    pub packets: &'a [EncodingPacket],
    /// The missing source ESIs (each < K), in increasing order, r ≥ 1 of them.
    pub missing: &'a [u32],
    /// At most r + `extra_rows` repair symbols are used.
    pub extra_rows: u32,
}

/// The K·T bytes of the block's wire symbols (source symbol i at `i*T..(i+1)*T`), or
/// `None` if the fast path does not apply (too few repair symbols, T + r beyond 65535, a
/// symbol of the wrong length) or the chosen repair symbols do not determine the missing
/// source symbols.
pub(super) fn decode(inp: &Input<'_>) -> Option<Vec<u8>> {
    let k = inp.k as usize;
    let t = usize::from(inp.t);
    let r = inp.missing.len();
    if r == 0 || k == 0 || t == 0 || k > usize::from(u16::MAX) {
        return None;
    }
    let w = t.checked_add(r)?;
    let w16 = u16::try_from(w).ok()?;
    let want_rows = r.saturating_add(inp.extra_rows as usize);
    let repairs: Vec<&EncodingPacket> = inp
        .packets
        .iter()
        .filter(|p| p.payload_id().encoding_symbol_id() >= inp.k)
        .take(want_rows)
        .collect();
    if repairs.len() < r {
        return None;
    }

    // 2. The widened block: known source symbols, zeros for the missing ones, unit columns.
    let mut buf = vec![0u8; k.checked_mul(w)?];
    for p in inp.packets {
        let esi = p.payload_id().encoding_symbol_id() as usize;
        if esi < k {
            let d = p.data();
            if d.len() != t {
                return None;
            }
            buf[esi * w..esi * w + t].copy_from_slice(d);
        }
    }
    for (i, &m) in inp.missing.iter().enumerate() {
        let m = m as usize;
        if m >= k {
            return None;
        }
        buf[m * w + t + i] = 1;
    }
    let config = ObjectTransmissionInformation::new((k * w) as u64, w16, 1, 1, 1);
    // k ≤ 65535 checked above; the plan has exactly K source symbols.
    let plan = plan::plan_for(inp.k as u16);
    let enc = SourceBlockEncoder::with_encoding_plan(0, &config, &buf, &plan);

    // 3. Residuals and coefficients of the chosen repair symbols.
    let rows = repairs.len();
    let mut coef = vec![0u8; rows * r];
    let mut residual = vec![0u8; rows * t];
    for (j, p) in repairs.iter().enumerate() {
        let esi = p.payload_id().encoding_symbol_id();
        let got = p.data();
        if got.len() != t {
            return None;
        }
        let pkts = enc.repair_packets(esi - inp.k, 1);
        let e = pkts
            .first()
            .map(EncodingPacket::data)
            .filter(|d| d.len() == w)?;
        coef[j * r..(j + 1) * r].copy_from_slice(&e[t..]);
        for ((o, a), b) in residual[j * t..(j + 1) * t]
            .iter_mut()
            .zip(got)
            .zip(&e[..t])
        {
            *o = a ^ b;
        }
    }
    drop(enc);
    let b = solve(&coef, rows, r)?;

    // 4. The known source symbols, compacted from stride W to stride T in place, then the
    //    missing ones as B · residuals.
    for i in 1..k {
        buf.copy_within(i * w..i * w + t, i * t);
    }
    buf.truncate(k * t);
    fill_missing(&mut buf, t, inp.missing, &b, &residual);
    Some(buf)
}

/// Largest r for which the generator-row variant ([`decode_with_generator`]) is used
/// instead of the re-encode: its cost is (r + extra)·K·T multiply-adds against about ten
/// passes over the block for the plan encode. Measured at K = 1024, T = 1400
/// (docs/benchmarks.md) with the AVX-512 GFNI product: generator rows ahead at every
/// r measured up to 128 (r = 51: 1.21 vs 2.12 ms; r = 96: 2.14 vs 2.48 ms; r = 128: 2.89
/// vs 3.25 ms); 96 keeps a margin for CPUs with the 32-byte kernels only, where the
/// crossover was r ≈ 48. About K-independent since both costs scale with K·T. Above
/// `default_r_max` (K/16) neither tier runs.
pub(super) const DEFAULT_GENERATOR_R_MAX: u32 = 96;

/// The same result as [`decode`], from the generator rows of the repair ESIs: the residual
/// of repair j is received_j + Σ_{known i} G\[j\]\[i\]·s_i (one GF(256) product over the
/// received symbols, no encode of the block), the coefficients are G\[j\]\[missing i\].
pub(super) fn decode_with_generator(
    inp: &Input<'_>,
    generator: &super::generator::Generator,
) -> Option<Vec<u8>> {
    let k = inp.k as usize;
    let t = usize::from(inp.t);
    let r = inp.missing.len();
    if r == 0 || k == 0 || t == 0 || inp.missing.iter().any(|&m| m as usize >= k) {
        return None;
    }
    let want_rows = r.saturating_add(inp.extra_rows as usize);
    let repairs: Vec<&EncodingPacket> = inp
        .packets
        .iter()
        .filter(|p| p.payload_id().encoding_symbol_id() >= inp.k)
        .take(want_rows)
        .collect();
    let known: Vec<(usize, &[u8])> = inp
        .packets
        .iter()
        .map(|p| (p.payload_id().encoding_symbol_id() as usize, p.data()))
        .filter(|&(esi, _)| esi < k)
        .collect();
    if repairs.len() < r
        || known.len() + r != k
        || known.iter().any(|(_, d)| d.len() != t)
        || repairs.iter().any(|p| p.data().len() != t)
    {
        return None;
    }
    let rows = repairs.len();
    // Inputs: the known source symbols, then the received repair symbols (coefficient 1
    // in their own row), so that the product is the residual directly.
    let n_in = known.len() + rows;
    let mut coefs = vec![0u8; rows * n_in];
    let mut coef = vec![0u8; rows * r];
    for (j, p) in repairs.iter().enumerate() {
        let g = generator.row(p.payload_id().encoding_symbol_id())?;
        let row = &mut coefs[j * n_in..(j + 1) * n_in];
        for (c, (esi, _)) in row.iter_mut().zip(&known) {
            *c = *g.get(*esi)?;
        }
        row[known.len() + j] = 1;
        for (i, &m) in inp.missing.iter().enumerate() {
            coef[j * r + i] = *g.get(m as usize)?;
        }
    }
    let b = solve(&coef, rows, r)?;
    let inputs: Vec<&[u8]> = known
        .iter()
        .map(|&(_, d)| d)
        .chain(repairs.iter().map(|p| p.data()))
        .collect();
    let mut residual = vec![0u8; rows * t];
    {
        let mut outs: Vec<&mut [u8]> = residual.chunks_exact_mut(t).collect();
        gf256::matmul(&coefs, &inputs, &mut outs);
    }
    let mut buf = vec![0u8; k.checked_mul(t)?];
    for &(esi, d) in &known {
        buf[esi * t..(esi + 1) * t].copy_from_slice(d);
    }
    fill_missing(&mut buf, t, inp.missing, &b, &residual);
    Some(buf)
}

/// Writes missing source symbol `missing[i]` = row i of B · residuals into `buf`.
fn fill_missing(buf: &mut [u8], t: usize, missing: &[u32], b: &[u8], residual: &[u8]) {
    let r = missing.len();
    let inputs: Vec<&[u8]> = residual.chunks_exact(t).collect();
    let mut out = vec![0u8; r * t];
    {
        let mut outs: Vec<&mut [u8]> = out.chunks_exact_mut(t).collect();
        gf256::matmul(b, &inputs, &mut outs);
    }
    for (i, &m) in missing.iter().enumerate() {
        let m = m as usize;
        if let (Some(d), Some(s)) = (buf.get_mut(m * t..(m + 1) * t), out.get(i * t..(i + 1) * t)) {
            d.copy_from_slice(s);
        }
    }
}

/// Gauss–Jordan elimination of the `rows` x `r` matrix `coef` (row-major) over GF(256).
/// Returns B, r x `rows` (row-major), with x = B·y for every y = coef·x, or `None` if the
/// rank of `coef` is below r.
pub(super) fn solve(coef: &[u8], rows: usize, r: usize) -> Option<Vec<u8>> {
    if rows < r || coef.len() != rows * r {
        return None;
    }
    // Augmented [coef | I_rows], each row `width` bytes.
    let width = r + rows;
    let mut a = vec![0u8; rows * width];
    for j in 0..rows {
        a[j * width..j * width + r].copy_from_slice(&coef[j * r..(j + 1) * r]);
        a[j * width + r + j] = 1;
    }
    // span[q]: row q of the right part is zero from column r + span[q] + 1 on (starts as
    // the identity), so row operations stop there: about half the work when the first r
    // rows are independent, the usual case.
    let mut span: Vec<usize> = (0..rows).collect();
    let mut pivot = vec![0u8; width];
    for col in 0..r {
        let p = (col..rows).find(|&q| a[q * width + col] != 0)?;
        if p != col {
            for x in 0..width {
                a.swap(p * width + x, col * width + x);
            }
            span.swap(p, col);
        }
        let end = r + span[col] + 1;
        let inv = gf256::inv(a[col * width + col]);
        let row = &mut a[col * width..(col + 1) * width];
        gf256::scale(inv, &mut row[col..end]);
        pivot[col..end].copy_from_slice(&row[col..end]);
        for q in 0..rows {
            if q == col {
                continue;
            }
            let c = a[q * width + col];
            if c != 0 {
                gf256::mul_add(
                    c,
                    &pivot[col..end],
                    &mut a[q * width + col..q * width + end],
                );
                span[q] = span[q].max(span[col]);
            }
        }
    }
    let mut b = vec![0u8; r * rows];
    for i in 0..r {
        b[i * rows..(i + 1) * rows].copy_from_slice(&a[i * width + r..(i + 1) * width]);
    }
    Some(b)
}

/// GF(256) with x⁸ + x⁴ + x³ + x² + 1 (0x11D), RFC 6330 §5.7.3.
pub(super) mod gf256 {
    use std::sync::OnceLock;

    struct Tables {
        exp: [u8; 512],
        log: [u8; 256],
    }

    fn tables() -> &'static Tables {
        static T: OnceLock<Tables> = OnceLock::new();
        T.get_or_init(|| {
            let mut exp = [0u8; 512];
            let mut log = [0u8; 256];
            let mut x: u16 = 1;
            for (i, e) in exp.iter_mut().take(255).enumerate() {
                *e = x as u8;
                log[usize::from(x)] = i as u8;
                x <<= 1;
                if x & 0x100 != 0 {
                    x ^= 0x11D;
                }
            }
            for i in 255..512 {
                exp[i] = exp[i - 255];
            }
            Tables { exp, log }
        })
    }

    /// `a · b`.
    pub(crate) fn mul(a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            return 0;
        }
        let t = tables();
        t.exp[usize::from(t.log[usize::from(a)]) + usize::from(t.log[usize::from(b)])]
    }

    /// `1 / a`; `inv(0)` is 0 (never asked for).
    pub(crate) fn inv(a: u8) -> u8 {
        if a == 0 {
            return 0;
        }
        let t = tables();
        t.exp[255 - usize::from(t.log[usize::from(a)])]
    }

    /// `PRODUCTS[c][x] = c · x` (64 KiB, built once).
    fn products() -> &'static [[u8; 256]; 256] {
        static P: OnceLock<Box<[[u8; 256]; 256]>> = OnceLock::new();
        P.get_or_init(|| {
            let mut p = Box::new([[0u8; 256]; 256]);
            for (c, row) in p.iter_mut().enumerate() {
                for (x, v) in row.iter_mut().enumerate() {
                    *v = mul(c as u8, x as u8);
                }
            }
            p
        })
    }

    /// `v *= c` element-wise.
    pub(crate) fn scale(c: u8, v: &mut [u8]) {
        let m = &products()[usize::from(c)];
        for x in v {
            *x = m[usize::from(*x)];
        }
    }

    /// `dst ^= c · src` element-wise, over the common prefix.
    pub(crate) fn mul_add(c: u8, src: &[u8], dst: &mut [u8]) {
        let m = &products()[usize::from(c)];
        for (d, &s) in dst.iter_mut().zip(src) {
            *d ^= m[usize::from(s)];
        }
    }

    /// `outputs[i] = Σ_j coefs[i·inputs.len() + j] · inputs[j]`; all slices of one length.
    #[cfg(feature = "reed-solomon")]
    pub(crate) fn matmul(coefs: &[u8], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
        crate::schemes::rs::gf8_simd::matmul(coefs, inputs, outputs);
    }

    /// `outputs[i] = Σ_j coefs[i·inputs.len() + j] · inputs[j]`; all slices of one length.
    #[cfg(not(feature = "reed-solomon"))]
    pub(crate) fn matmul(coefs: &[u8], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
        let n = inputs.len();
        for (i, out) in outputs.iter_mut().enumerate() {
            out.fill(0);
            for (j, inp) in inputs.iter().enumerate() {
                let c = coefs.get(i * n + j).copied().unwrap_or(0);
                if c != 0 {
                    mul_add(c, inp, out);
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn field_laws() {
            // 0x80 · 2 = 0x100 mod 0x11D = 0x1D.
            assert_eq!(mul(0x80, 2), 0x1D);
            for a in 1..=255u8 {
                assert_eq!(mul(a, inv(a)), 1, "a = {a}");
                assert_eq!(mul(a, 1), a);
                assert_eq!(mul(a, 0), 0);
            }
            // Distributivity on a sample.
            for a in (0..=255u8).step_by(7) {
                for b in (0..=255u8).step_by(11) {
                    for c in (0..=255u8).step_by(13) {
                        assert_eq!(mul(a, b ^ c), mul(a, b) ^ mul(a, c));
                    }
                }
            }
        }

        #[test]
        fn matmul_matches_scalar() {
            let ins: Vec<Vec<u8>> = (0..5u8)
                .map(|j| {
                    (0..100u8)
                        .map(|x| x.wrapping_mul(31).wrapping_add(j * 17))
                        .collect()
                })
                .collect();
            let inputs: Vec<&[u8]> = ins.iter().map(Vec::as_slice).collect();
            let coefs: Vec<u8> = (0..15u8)
                .map(|c| c.wrapping_mul(53).wrapping_add(1))
                .collect();
            let mut out = vec![vec![0xAAu8; 100]; 3];
            {
                let mut outs: Vec<&mut [u8]> = out.iter_mut().map(Vec::as_mut_slice).collect();
                matmul(&coefs, &inputs, &mut outs);
            }
            for (i, o) in out.iter().enumerate() {
                for x in 0..100 {
                    let want = (0..5).fold(0u8, |acc, j| acc ^ mul(coefs[i * 5 + j], ins[j][x]));
                    assert_eq!(o[x], want);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_inverts_and_detects_rank() {
        // 3 x 2 of rank 2: x = B·(coef·x) for a few x.
        let coef = [1u8, 2, 3, 4, 5, 6];
        let b = solve(&coef, 3, 2).unwrap();
        for x in [[7u8, 9], [0, 1], [255, 128]] {
            let y: Vec<u8> = (0..3)
                .map(|j| gf256::mul(coef[j * 2], x[0]) ^ gf256::mul(coef[j * 2 + 1], x[1]))
                .collect();
            for i in 0..2 {
                let xi = (0..3).fold(0u8, |acc, j| acc ^ gf256::mul(b[i * 3 + j], y[j]));
                assert_eq!(xi, x[i]);
            }
        }
        // Second column = 2 · first column: rank 1.
        let c2 = gf256::mul(2, 3);
        assert!(solve(&[1, 2, 3, c2], 2, 2).is_none());
        // Fewer rows than unknowns, and a zero column.
        assert!(solve(&[1, 2], 1, 2).is_none());
        assert!(solve(&[0, 0], 2, 1).is_none());
        // Wrong length.
        assert!(solve(&[1, 2, 3], 2, 2).is_none());
    }
}
