//! The LCT header parsed by `lct_header` (hand-written) and by the nom 8 parser of
//! `flute_benches::lct_nom`, on the same two headers: the common 16-byte one (V=1, C=0,
//! 32-bit TSI and TOI: `LctRepr::parse_bytes` has a fast path for it) and a general one
//! (64-bit CCI, 48-bit TSI, 80-bit TOI). Both parsers give the same result on every input
//! (`benches/tests/lct_nom_agrees.rs`). Figures: ARCHITECTURE.md, "Dependencies not used".

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use flute_benches::lct_nom;
use lct_header::{Cci, LctRepr, Toi, Tsi, Widths};

fn header(widths: Widths) -> Option<Vec<u8>> {
    let repr = LctRepr {
        widths,
        psi: 0,
        close_session: false,
        close_object: false,
        codepoint: 0,
        cci: Cci(7),
        tsi: Some(Tsi(0x1234_5678)),
        toi: Some(Toi(0x9ABC_DEF0)),
    };
    let mut buf = vec![0u8; repr.buffer_len() + 1404];
    repr.emit_into(&mut buf).ok()?;
    Some(buf)
}

fn bench(c: &mut Criterion) {
    let common = Widths {
        c: 0,
        s: true,
        o: 1,
        h: false,
    };
    let Ok(general) = Widths::from_half_words(1, 3, 5) else {
        return;
    };
    let mut g = c.benchmark_group("lct_parse");
    for (name, widths) in [("common_16_bytes", common), ("general_40_bytes", general)] {
        let Some(buf) = header(widths) else {
            return;
        };
        g.bench_function(format!("hand_written/{name}"), |b| {
            b.iter(|| LctRepr::parse_bytes(black_box(&buf[..])).ok())
        });
        g.bench_function(format!("nom/{name}"), |b| {
            b.iter(|| lct_nom::parse(black_box(&buf[..])))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
