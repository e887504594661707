//! GF(2^16) (polynomial 1+x+x^3+x^12+x^16) slice kernel.
//!
//! A symbol is a sequence of big-endian 16-bit elements ([UNV]: OpenFEC stores the
//! elements in host order, i.e. little-endian on x86; RFC 5510 does not say, and we follow
//! network byte order as for every other multi-byte field).
//!
//! Multiplication by a constant `c` is linear over GF(2), so `c * x` is
//! `LO_c[x & 0xFF] ^ HI_c[x >> 8]` with two 256-entry tables per coefficient, built from the
//! 16 products `c * x^i` in 512 XORs. [`matmul`] computes each output row with one pass per
//! input over a 16-bit accumulator.

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
pub fn matmul(coefs: &[u16], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    let f = field16();
    let k = inputs.len();
    let len = inputs
        .iter()
        .map(|s| s.len())
        .chain(outputs.iter().map(|s| s.len()))
        .min()
        .unwrap_or(0);
    let words = len / 2;
    let mut acc = vec![0u16; words];
    let mut lo = [0u16; 256];
    let mut hi = [0u16; 256];
    for (r, out) in outputs.iter_mut().enumerate() {
        acc.fill(0);
        for (i, inp) in inputs.iter().enumerate() {
            let c = coefs.get(r * k + i).copied().unwrap_or(0);
            if c == 0 {
                continue;
            }
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
        for (o, a) in out.chunks_exact_mut(2).zip(&acc) {
            o.copy_from_slice(&a.to_be_bytes());
        }
        if let Some(rest) = out.get_mut(words * 2..) {
            rest.fill(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_generic() {
        let f = field16();
        let data: Vec<Vec<u8>> = (0..5)
            .map(|i| (0..64).map(|b| (i * 91 + b * 13 + 5) as u8).collect())
            .collect();
        let inputs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
        let coefs: Vec<u16> = (0..15u32).map(|i| (i * 4099 + 1) as u16).collect();
        let mut a = vec![vec![0u8; 64]; 3];
        let mut b = a.clone();
        let mut ar: Vec<&mut [u8]> = a.iter_mut().map(|v| v.as_mut_slice()).collect();
        matmul(&coefs, &inputs, &mut ar);
        let mut br: Vec<&mut [u8]> = b.iter_mut().map(|v| v.as_mut_slice()).collect();
        gf::matmul_generic(f, &coefs, &inputs, &mut br);
        assert_eq!(a, b);
    }
}
