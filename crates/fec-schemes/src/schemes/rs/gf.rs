//! Arithmetic in GF(2^m), 2 <= m <= 16, with log/exp tables.
//!
//! The primitive polynomials are those of RFC 5510 §8.1, which are also the table of Luigi
//! Rizzo's `fec.c` and OpenFEC (bit `i` of [`PRIMITIVE_POLYNOMIALS`]`[m]` is the
//! coefficient of `x^i`). The primitive element is `alpha = x` (the integer 2).
//!
//! | m | polynomial | | m | polynomial |
//! |---|---|---|---|---|
//! | 2 | 1+x+x^2 | | 10 | 1+x^3+x^10 |
//! | 3 | 1+x+x^3 | | 11 | 1+x^2+x^11 |
//! | 4 | 1+x+x^4 | | 12 | 1+x+x^4+x^6+x^12 |
//! | 5 | 1+x^2+x^5 | | 13 | 1+x+x^3+x^4+x^13 |
//! | 6 | 1+x+x^6 | | 14 | 1+x+x^6+x^10+x^14 |
//! | 7 | 1+x^3+x^7 | | 15 | 1+x+x^15 |
//! | 8 | 1+x^2+x^3+x^4+x^8 (0x11D) | | 16 | 1+x+x^3+x^12+x^16 |
//!
//! \[UNV\] m = 8 (0x11D) and m = 4 (1+x+x^4) are confirmed by docs/spec-notes.md §3.1 and by the
//! known-answer vectors; the other rows are the Rizzo/OpenFEC table as recalled, not
//! re-checked against the RFC text. Every polynomial is checked to be primitive by the
//! unit tests (the powers of alpha cycle with period exactly 2^m - 1).

use std::sync::OnceLock;

/// Primitive polynomial of GF(2^m), indexed by m (entries 0 and 1 are unused).
pub const PRIMITIVE_POLYNOMIALS: [u32; 17] = [
    0, 0, 0x7, 0xB, 0x13, 0x25, 0x43, 0x89, 0x11D, 0x211, 0x409, 0x805, 0x1053, 0x201B, 0x4443,
    0x8003, 0x1100B,
];

/// Log/exp tables of one field GF(2^m).
#[derive(Debug)]
pub struct Field {
    m: u8,
    /// `exp[i] = alpha^i` for `0 <= i < 2 * (2^m - 1)` (doubled so that `log a + log b`
    /// needs no reduction).
    exp: Vec<u16>,
    /// `log[a]` for `a != 0`; `log[0]` is unused.
    log: Vec<u16>,
}

impl Field {
    fn build(m: u8) -> Self {
        let q = 1usize << m;
        let poly = PRIMITIVE_POLYNOMIALS[usize::from(m)];
        let mut exp = vec![0u16; 2 * (q - 1)];
        let mut log = vec![0u16; q];
        let mut x: u32 = 1;
        for (i, e) in exp.iter_mut().take(q - 1).enumerate() {
            *e = x as u16;
            log[x as usize] = i as u16;
            x <<= 1;
            if x & (q as u32) != 0 {
                x ^= poly;
            }
        }
        for i in q - 1..2 * (q - 1) {
            exp[i] = exp[i - (q - 1)];
        }
        Self { m, exp, log }
    }

    /// The field exponent m.
    pub fn m(&self) -> u8 {
        self.m
    }

    /// Number of non-zero elements, 2^m - 1.
    pub fn order(&self) -> u32 {
        (1u32 << self.m) - 1
    }

    /// `alpha^i` for any `i` (reduced mod 2^m - 1).
    pub fn alpha_pow(&self, i: u64) -> u16 {
        self.exp[(i % u64::from(self.order())) as usize]
    }

    /// Product `a * b`. Inputs must be field elements (< 2^m).
    #[inline]
    pub fn mul(&self, a: u16, b: u16) -> u16 {
        if a == 0 || b == 0 {
            0
        } else {
            self.exp[usize::from(self.log[usize::from(a)]) + usize::from(self.log[usize::from(b)])]
        }
    }

    /// Multiplicative inverse; `inv(0)` returns 0 (callers never ask for it).
    #[inline]
    pub fn inv(&self, a: u16) -> u16 {
        if a == 0 {
            0
        } else {
            let l = usize::from(self.log[usize::from(a)]);
            self.exp[(self.order() as usize - l) % self.order() as usize]
        }
    }

    /// Quotient `a / b` (`b != 0`).
    #[inline]
    pub fn div(&self, a: u16, b: u16) -> u16 {
        self.mul(a, self.inv(b))
    }
}

/// The tables of GF(2^m), built once per process. `None` unless `2 <= m <= 16`.
pub fn field(m: u8) -> Option<&'static Field> {
    static FIELDS: [OnceLock<Field>; 17] = [const { OnceLock::new() }; 17];
    if !(2..=16).contains(&m) {
        return None;
    }
    Some(FIELDS[usize::from(m)].get_or_init(|| Field::build(m)))
}

/// Splits `bytes` into `m`-bit field elements, most significant bit first (so for m = 16
/// each element is a big-endian 16-bit word, and for m = 4 the high nibble comes first).
/// Trailing bits that do not fill an element are ignored.
pub fn unpack(m: u8, bytes: &[u8]) -> Vec<u16> {
    let m = u32::from(m);
    let count = bytes.len() * 8 / m as usize;
    let mut out = Vec::with_capacity(count);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let mask = (1u32 << m) - 1;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= m && out.len() < count {
            bits -= m;
            out.push(((acc >> bits) & mask) as u16);
        }
        acc &= (1u32 << bits) - 1;
    }
    out
}

/// Inverse of [`unpack`]: writes `elems` MSB-first into `out`, zero-filling any tail.
pub fn pack(m: u8, elems: &[u16], out: &mut [u8]) {
    let m = u32::from(m);
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let mut pos = 0;
    for &e in elems {
        acc = (acc << m) | u32::from(e);
        bits += m;
        while bits >= 8 {
            bits -= 8;
            if let Some(o) = out.get_mut(pos) {
                *o = (acc >> bits) as u8;
            }
            pos += 1;
        }
        acc &= (1u32 << bits) - 1;
    }
    if bits > 0 {
        if let Some(o) = out.get_mut(pos) {
            *o = (acc << (8 - bits)) as u8;
        }
        pos += 1;
    }
    if let Some(rest) = out.get_mut(pos..) {
        rest.fill(0);
    }
}

/// Generic (any m) `outputs[r] = sum_i coefs[r * inputs.len() + i] * inputs[i]`, working on
/// unpacked elements. Slow path for the fields without a dedicated kernel.
pub fn matmul_generic(f: &Field, coefs: &[u16], inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    let m = f.m();
    let ins: Vec<Vec<u16>> = inputs.iter().map(|s| unpack(m, s)).collect();
    let k = inputs.len();
    for (r, out) in outputs.iter_mut().enumerate() {
        let count = out.len() * 8 / usize::from(m);
        let mut acc = vec![0u16; count];
        for (i, inp) in ins.iter().enumerate() {
            let c = coefs[r * k + i];
            if c == 0 {
                continue;
            }
            for (a, &x) in acc.iter_mut().zip(inp) {
                *a ^= f.mul(c, x);
            }
        }
        pack(m, &acc, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5510 §8.1: every polynomial of the table is primitive.
    #[test]
    fn all_polynomials_primitive() {
        for m in 2..=16u8 {
            let f = field(m).unwrap();
            let q = f.order() as usize;
            let mut seen = vec![false; q + 1];
            for i in 0..q {
                let v = usize::from(f.exp[i]);
                assert!(v != 0 && !seen[v], "m={m} not primitive");
                seen[v] = true;
            }
        }
    }

    #[test]
    fn mul_inv_consistent() {
        for m in [2u8, 4, 8, 11, 16] {
            let f = field(m).unwrap();
            let q = f.order() as u16;
            let three = (3 & q).max(1);
            for a in (1..=q).step_by(7) {
                assert_eq!(f.mul(a, f.inv(a)), 1);
                assert_eq!(f.div(f.mul(a, three), a), three);
            }
        }
        // GF(2^8) with 0x11D: 0x80 * 2 = 0x1D.
        assert_eq!(field(8).unwrap().mul(0x80, 2), 0x1D);
    }

    #[test]
    fn pack_unpack_round_trip() {
        let bytes: Vec<u8> = (0..15u8).map(|i| i.wrapping_mul(37)).collect();
        for m in 2..=16u8 {
            let e = unpack(m, &bytes);
            let mut out = vec![0xFFu8; bytes.len()];
            pack(m, &e, &mut out);
            let whole = e.len() * usize::from(m) / 8;
            assert_eq!(out[..whole], bytes[..whole], "m={m}");
        }
        assert_eq!(unpack(16, &[0x12, 0x34]), vec![0x1234]);
        assert_eq!(unpack(4, &[0xAB]), vec![0xA, 0xB]);
    }
}
