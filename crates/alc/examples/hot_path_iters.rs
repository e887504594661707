//! A fixed-iteration driver of the per-packet hot path, for instruction counting with
//! callgrind (load-independent, unlike wall-clock benches on a shared machine).
//!
//! ```text
//! cargo build --release -p alc --example hot_path_iters
//! HOT_PATH_OP=alc_parse HOT_PATH_ITERS=100000 valgrind --tool=callgrind \
//!     --callgrind-out-file=/dev/null target/release/examples/hot_path_iters
//! ```
//!
//! Run once with `HOT_PATH_ITERS=N1` and once with `N2`; (Ir(N2) - Ir(N1)) / (N2 - N1) is
//! the cost of one operation (the harness loop and `black_box` included, fixed setup
//! excluded). Ops: `alc_parse`, `alc_parse_fti`, `alc_emit_header`,
//! `alc_emit_header_fti`, `alc_emit_header_fti_cached`, `lct_parse`, `lct_emit`, or `all`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use alc::{AlcParser, AlcRepr, EncodedFti};
use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
use lct_header::{LctPacket, LctRepr, Toi, Tsi, Widths};

fn main() {
    let op = std::env::var("HOT_PATH_OP").unwrap_or_else(|_| "all".into());
    let iters: u64 = std::env::var("HOT_PATH_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let registry = FecRegistry::with_builtin();
    let scheme = registry.get(FecEncodingId::COMPACT_NO_CODE, None).unwrap();
    let oti = CompactNoCode::oti(1 << 30, 1400, 64);
    let id = PayloadId {
        sbn: 3,
        esi: 17,
        source_block_length: None,
    };
    let mut repr = AlcRepr::new(Tsi(0x1234_5678), Toi(0x9ABC_DEF0), &oti, id).unwrap();
    repr.lct.widths = Widths {
        c: 0,
        s: true,
        o: 1,
        h: false,
    };
    let mut repr_fti = repr;
    repr_fti.send_fti = true;
    let symbol = vec![0xA5u8; 1400];
    let mut packet = vec![0u8; 1500];
    let len = repr.emit(&**scheme, &symbol, &mut packet).unwrap();
    packet.truncate(len);
    let mut packet_fti = vec![0u8; 1500];
    let len = repr_fti.emit(&**scheme, &symbol, &mut packet_fti).unwrap();
    packet_fti.truncate(len);
    let parser = AlcParser::new(&registry);
    let mut out = vec![0u8; 1500];
    let header = &packet[..16];
    let lct = repr.lct;
    let mut hdr_out = [0u8; 16];

    let run = |name: &str| op == "all" || op == name;
    let mut ok = 0u64;
    if run("alc_parse") {
        for _ in 0..iters {
            let p = parser.parse(black_box(&packet[..]));
            ok += u64::from(
                black_box(p.map(|p| (p.toi(), p.payload_id(), p.symbols().len())).ok()).is_some(),
            );
        }
    }
    if run("alc_parse_fti") {
        for _ in 0..iters {
            let p = parser.parse(black_box(&packet_fti[..]));
            ok += u64::from(
                black_box(p.map(|p| (p.toi(), p.payload_id(), p.symbols().len())).ok()).is_some(),
            );
        }
    }
    if run("alc_emit_header") {
        for _ in 0..iters {
            ok += u64::from(
                black_box(black_box(&repr).emit_header(&**scheme, &mut out).ok()).is_some(),
            );
        }
    }
    if run("alc_emit_header_fti") {
        for _ in 0..iters {
            ok += u64::from(
                black_box(black_box(&repr_fti).emit_header(&**scheme, &mut out).ok()).is_some(),
            );
        }
    }
    if run("alc_emit_header_fti_cached") {
        let fti = EncodedFti::new(&**scheme, &oti).unwrap();
        for _ in 0..iters {
            ok += u64::from(
                black_box(
                    black_box(&repr_fti)
                        .emit_header_with(&**scheme, Some(&fti), &mut out)
                        .ok(),
                )
                .is_some(),
            );
        }
    }
    if run("lct_parse") {
        for _ in 0..iters {
            ok += u64::from(
                black_box(LctRepr::parse(&LctPacket::new_unchecked(black_box(header))).ok())
                    .is_some(),
            );
        }
    }
    if run("lct_emit") {
        for _ in 0..iters {
            ok += u64::from(black_box(black_box(&lct).emit_into(&mut hdr_out).ok()).is_some());
        }
    }
    let ops = if op == "all" { 7 } else { 1 };
    assert_eq!(ok, iters * ops, "every operation succeeds");
}
