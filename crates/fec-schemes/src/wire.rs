//! Checked big-endian field helpers shared by the built-in schemes.
//!
//! Every reader takes a slice and an offset and returns `None` instead of panicking.

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
