//! Checked big-endian field helpers shared by the built-in schemes.
//!
//! Every reader takes a slice and an offset and returns `None` instead of panicking. The
//! `Result` helpers below build the exact [`FecError`] values the schemes report for
//! EXT_FTI headers, FEC Payload IDs and field widths.

use crate::{EXT_FTI, FecEncodingId, FecError};

pub(crate) fn be(buf: &[u8], at: usize, len: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(len)?)?;
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Writes the low `len` bytes of `v` big-endian at `at`. The caller checked the length.
pub(crate) fn put_be(out: &mut [u8], at: usize, len: usize, v: u64) -> Option<()> {
    let dst = out.get_mut(at..at.checked_add(len)?)?;
    for (i, b) in dst.iter_mut().enumerate() {
        let shift = 8 * (len - 1 - i);
        *b = (v >> shift) as u8;
    }
    Some(())
}

/// Borrows the first `len` bytes of `out`, or reports [`FecError::Truncated`] for `what`.
pub(crate) fn out_prefix<'a>(
    out: &'a mut [u8],
    len: usize,
    what: &'static str,
) -> Result<&'a mut [u8], FecError> {
    let available = out.len();
    out.get_mut(..len).ok_or(FecError::Truncated {
        what,
        needed: len,
        available,
    })
}

/// Fails with [`FecError::FieldOverflow`] unless `value` fits in `bits` bits (`bits < 64`).
pub(crate) fn check_width(field: &'static str, value: u64, bits: u32) -> Result<(), FecError> {
    if value >> bits != 0 {
        return Err(FecError::FieldOverflow { field, value, bits });
    }
    Ok(())
}

/// Checks the HET and HEL of an EXT_FTI (`ext` is the whole extension, HET and HEL
/// included) against a scheme whose EXT_FTI is exactly `fti_len` bytes, and returns `ext`.
///
/// Errors, in this order: [`FecError::Truncated`] if HET/HEL are missing,
/// [`FecError::NotFti`] if HET is not 64, [`FecError::FtiLength`] if HEL or the length of
/// `ext` is not the scheme's.
pub(crate) fn fti_body(
    ext: &[u8],
    encoding_id: FecEncodingId,
    fti_len: usize,
) -> Result<&[u8], FecError> {
    let (het, hel) = match ext {
        [het, hel, ..] => (*het, usize::from(*hel)),
        _ => {
            return Err(FecError::Truncated {
                what: "EXT_FTI",
                needed: 2,
                available: ext.len(),
            });
        }
    };
    if het != EXT_FTI {
        return Err(FecError::NotFti { het });
    }
    if hel != fti_len / 4 || ext.len() != fti_len {
        return Err(FecError::FtiLength {
            encoding_id,
            hel,
            expected: fti_len / 4,
        });
    }
    Ok(ext)
}

/// Borrows the first `fti_len` bytes of `out` for an EXT_FTI, zeroes them and writes HET
/// (64) and HEL (`fti_len / 4`); the caller writes the fields. Fails with
/// [`FecError::Truncated`] when `out` is shorter than `fti_len`.
pub(crate) fn fti_prefix(out: &mut [u8], fti_len: usize) -> Result<&mut [u8], FecError> {
    let out = out_prefix(out, fti_len, "EXT_FTI")?;
    out.fill(0);
    out[0] = EXT_FTI;
    out[1] = (fti_len / 4) as u8;
    Ok(out)
}
