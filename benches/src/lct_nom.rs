//! The LCT header (RFC 5651 §5.1) parsed with `nom` 8, for one purpose: to measure the
//! design card's parser-combinator choice against the hand-written `lct_header` parser on
//! the same inputs, with the same result type and the same accept/reject verdict (checked by
//! `benches/tests/lct_nom_agrees.rs`), in the `lct_nom` criterion bench. ARCHITECTURE.md
//! ("Dependencies not used") reports the figures. Not used by any library crate.

use lct_header::{Cci, LctRepr, Toi, Tsi, Widths};
use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::be_u8;

/// Big-endian unsigned integer of `bytes.len()` bytes (at most 16).
fn be_uint(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .fold(0u128, |acc, &b| (acc << 8) | u128::from(b))
}

/// A field of `len` bytes as an unsigned integer.
fn uint(len: usize) -> impl Fn(&[u8]) -> IResult<&[u8], u128> {
    move |i| take(len).map(be_uint).parse(i)
}

/// Parses the fixed LCT header (first word, CCI, TSI, TOI) of `buf`, checking the version
/// (1) and that HDR_LEN covers the fixed part and fits in `buf`, like
/// `LctRepr::parse_bytes`. Returns `None` for every input that function rejects.
pub fn parse(buf: &[u8]) -> Option<LctRepr> {
    let byte = be_u8::<&[u8], nom::error::Error<&[u8]>>;
    let (rest, (b0, b1, hdr_len, codepoint)) = (byte, byte, byte, byte).parse(buf).ok()?;
    let widths = Widths {
        c: (b0 >> 2) & 0x3,
        s: b1 & 0x80 != 0,
        o: (b1 >> 5) & 0x3,
        h: b1 & 0x10 != 0,
    };
    let header_len = usize::from(hdr_len) * 4;
    if header_len < widths.fixed_len() || header_len > buf.len() || b0 >> 4 != 1 {
        return None;
    }
    let (_, (cci, tsi, toi)) = (
        uint(widths.cci_len()),
        uint(widths.tsi_len()),
        uint(widths.toi_len()),
    )
        .parse(rest)
        .ok()?;
    Some(LctRepr {
        widths,
        psi: b0 & 0x3,
        close_session: b1 & 0x02 != 0,
        close_object: b1 & 0x01 != 0,
        codepoint,
        cci: Cci(cci),
        tsi: (widths.tsi_len() != 0).then_some(Tsi(tsi as u64)),
        toi: (widths.toi_len() != 0).then_some(Toi(toi)),
    })
}
