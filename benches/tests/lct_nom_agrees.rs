//! The nom LCT parser of the `lct_nom` bench gives the same result as `lct_header` on every
//! input (valid headers of every width, and random mutations of them), so the bench compares
//! two parsers that do the same work.

#![allow(clippy::expect_used)]

use flute_benches::lct_nom;
use lct_header::{Cci, LctRepr, Toi, Tsi, Widths};

fn headers() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for c in 0..4u8 {
        for (tsi_half, toi_half) in [(2u8, 2u8), (1, 1), (3, 7), (0, 2), (2, 0), (3, 3)] {
            let Ok(widths) = Widths::from_half_words(c, tsi_half, toi_half) else {
                continue;
            };
            let repr = LctRepr {
                widths,
                psi: 1,
                close_session: c == 2,
                close_object: true,
                codepoint: 6,
                cci: Cci(0x1234),
                tsi: (widths.tsi_len() != 0).then_some(Tsi(0x42)),
                toi: (widths.toi_len() != 0).then_some(Toi(0x9876)),
            };
            let mut buf = vec![0u8; repr.buffer_len() + 8];
            repr.emit_into(&mut buf).expect("emit");
            out.push(buf);
        }
    }
    assert!(out.len() > 10, "enough distinct header shapes");
    out
}

#[test]
fn nom_parser_agrees_with_lct_header() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut accepted = 0;
    for h in headers() {
        for i in 0..2000 {
            let mut m = h.clone();
            if i > 0 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize >> 8) % m.len();
                m[at] ^= (x >> 32) as u8;
                if i % 5 == 0 {
                    m.truncate((x as usize >> 20) % m.len());
                }
            }
            let ours = LctRepr::parse_bytes(&m).ok();
            accepted += usize::from(ours.is_some());
            assert_eq!(lct_nom::parse(&m), ours, "input {m:02x?}");
        }
    }
    assert!(
        accepted > 1000,
        "the comparison covered accepted headers too ({accepted})"
    );
}
