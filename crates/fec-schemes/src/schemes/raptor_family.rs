//! What Raptor (RFC 5053) and RaptorQ (RFC 6330) share: the blocking of an object into Z
//! source blocks, the T / N / Al checks, and the interleaving of N sub-blocks into source
//! symbols. Compiled with either scheme's feature.

use crate::{Blocking, FecError};

/// The largest source block length (in symbols) of the RFC 6330 §4.4.1.2 / RFC 5053
/// §5.3.1.2 blocking of F bytes in symbols of T bytes into Z blocks; 0 when the parameters
/// are invalid or the object is empty (shared with Raptor).
pub(crate) fn largest_block(transfer_length: u64, symbol_size: u16, z: u16) -> u32 {
    if z == 0 {
        0
    } else {
        Blocking::raptor(transfer_length, symbol_size, u32::from(z))
            .map(|b| b.large)
            .unwrap_or(0)
    }
}

/// Checks T, N and Al against RFC 6330 §4.3 / §4.4.1.2 (shared with Raptor, RFC 5053 §4.3).
pub(crate) fn check_t_n_al(t: u16, n: u32, al: u8) -> Result<(), FecError> {
    if t == 0 {
        return Err(FecError::InvalidOti {
            field: "T",
            value: 0,
            reason: "symbol size must be > 0",
        });
    }
    if al == 0 {
        return Err(FecError::InvalidOti {
            field: "Al",
            value: 0,
            reason: "symbol alignment must be > 0",
        });
    }
    if n == 0 {
        return Err(FecError::InvalidOti {
            field: "N",
            value: 0,
            reason: "number of sub-blocks must be > 0",
        });
    }
    if t % u16::from(al) != 0 {
        return Err(FecError::InvalidOti {
            field: "T",
            value: t.into(),
            reason: "symbol size must be a multiple of the alignment Al",
        });
    }
    if u32::from(t / u16::from(al)) < n {
        return Err(FecError::InvalidOti {
            field: "N",
            value: n.into(),
            reason: "T/Al must be at least N (every sub-symbol holds at least Al bytes)",
        });
    }
    Ok(())
}

/// Writes source symbol `esi` of a block (`data` = the block's bytes, possibly shorter than
/// K·T: the rest is zero padding) into `out[..T]`, interleaving N sub-blocks as in RFC 6330
/// §4.4.1.2 / RFC 5053 §5.3.1.2. The caller checked `esi < k`, `out.len() >= T` and the
/// T/N/Al invariants.
pub(crate) fn write_interleaved_source_symbol(
    data: &[u8],
    k: u32,
    t: u16,
    n: u32,
    al: u8,
    esi: u32,
    out: &mut [u8],
) {
    let t = usize::from(t);
    let out = &mut out[..t];
    if n <= 1 {
        let start = esi as usize * t;
        let avail = data.len().saturating_sub(start).min(t);
        if avail > 0 {
            out[..avail].copy_from_slice(&data[start..start + avail]);
        }
        out[avail..].fill(0);
        return;
    }
    let al = usize::from(al);
    let (tl, ts, nl, _) = crate::partition((t / al) as u64, u64::from(n)).unwrap_or((0, 0, 0, 0));
    let k = k as usize;
    let mut sub_block_start = 0usize;
    let mut dst = 0usize;
    for j in 0..n as u64 {
        let bytes = if j < nl { tl as usize } else { ts as usize } * al;
        let src = sub_block_start + esi as usize * bytes;
        let avail = data.len().saturating_sub(src).min(bytes);
        if avail > 0 {
            out[dst..dst + avail].copy_from_slice(&data[src..src + avail]);
        }
        out[dst + avail..dst + bytes].fill(0);
        dst += bytes;
        sub_block_start += bytes * k;
    }
}

/// Inverse of [`write_interleaved_source_symbol`] for a whole block: `wire` holds the K
/// source symbols as sent (symbol i at `i*T..(i+1)*T`), the result is the K·T bytes of the
/// block with its N sub-blocks one after the other (RFC 6330 §4.4.1.2). For N ≤ 1 the two
/// layouts are the same and `wire` is returned as is. The caller checked the T/N/Al
/// invariants and `wire.len() == K·T`.
#[cfg(feature = "raptorq")]
pub(crate) fn deinterleave_block(wire: Vec<u8>, k: u32, t: u16, n: u32, al: u8) -> Vec<u8> {
    if n <= 1 {
        return wire;
    }
    let t = usize::from(t);
    let k = k as usize;
    let al = usize::from(al);
    let (tl, ts, nl, _) = crate::partition((t / al) as u64, u64::from(n)).unwrap_or((0, 0, 0, 0));
    let mut out = vec![0u8; wire.len()];
    let mut sub_block_start = 0usize;
    let mut src_off = 0usize;
    for j in 0..u64::from(n) {
        let bytes = if j < nl { tl as usize } else { ts as usize } * al;
        for i in 0..k {
            let dst = sub_block_start + i * bytes;
            let src = i * t + src_off;
            if let (Some(d), Some(s)) = (out.get_mut(dst..dst + bytes), wire.get(src..src + bytes))
            {
                d.copy_from_slice(s);
            }
        }
        src_off += bytes;
        sub_block_start += bytes * k;
    }
    out
}
