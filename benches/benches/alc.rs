//! ALC / LCT packet parse and emit, per packet: a typical Compact No-Code data packet
//! (16-byte LCT header with 32-bit TSI and TOI, no extensions, 4-byte FEC Payload ID,
//! 1400-byte symbol), the same with EXT_FTI, and the bare 16-byte LCT header.
//!
//! Instruction counts (load-independent) of the same operations:
//! `crates/alc/examples/hot_path_iters.rs`.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;

use alc::{AlcParser, AlcRepr, EncodedFti};
use criterion::{Criterion, criterion_group, criterion_main};
use fec_schemes::{FecEncodingId, FecRegistry, PayloadId, schemes::no_code::CompactNoCode};
use lct_header::{LctPacket, LctRepr, Toi, Tsi, Widths};

const SYMBOL_LEN: usize = 1400;

fn bench(c: &mut Criterion) {
    let registry = FecRegistry::with_builtin();
    let Ok(scheme) = registry.get(FecEncodingId::COMPACT_NO_CODE, None) else {
        return;
    };
    let oti = CompactNoCode::oti(1 << 30, SYMBOL_LEN as u16, 64);
    let id = PayloadId {
        sbn: 3,
        esi: 17,
        source_block_length: None,
    };
    let Ok(mut repr) = AlcRepr::new(Tsi(0x1234_5678), Toi(0x9ABC_DEF0), &oti, id) else {
        return;
    };
    repr.lct.widths = Widths {
        c: 0,
        s: true,
        o: 1,
        h: false,
    };
    let symbol = vec![0xA5u8; SYMBOL_LEN];
    let mut packet = vec![0u8; 1500];
    let Ok(len) = repr.emit(&**scheme, &symbol, &mut packet) else {
        return;
    };
    packet.truncate(len);
    let parser = AlcParser::new(&registry);
    let mut repr_fti = repr;
    repr_fti.send_fti = true;
    let mut packet_fti = vec![0u8; 1500];
    let Ok(len) = repr_fti.emit(&**scheme, &symbol, &mut packet_fti) else {
        return;
    };
    packet_fti.truncate(len);
    let Ok(fti) = EncodedFti::new(&**scheme, &oti) else {
        return;
    };

    let mut g = c.benchmark_group("alc");
    g.bench_function("parse_no_code_data_packet", |b| {
        b.iter(|| {
            let p = parser.parse(black_box(&packet[..]));
            black_box(p.map(|p| (p.toi(), p.payload_id(), p.symbols().len())).ok())
        })
    });
    g.bench_function("parse_no_code_data_packet_with_ext_fti", |b| {
        b.iter(|| {
            let p = parser.parse(black_box(&packet_fti[..]));
            black_box(p.map(|p| (p.toi(), p.payload_id(), p.symbols().len())).ok())
        })
    });
    let mut out = vec![0u8; 1500];
    g.bench_function("emit_header_no_code_data_packet", |b| {
        b.iter(|| black_box(black_box(&repr).emit_header(&**scheme, &mut out).ok()))
    });
    g.bench_function("emit_header_no_code_data_packet_with_ext_fti", |b| {
        b.iter(|| black_box(black_box(&repr_fti).emit_header(&**scheme, &mut out).ok()))
    });
    g.bench_function("emit_header_no_code_data_packet_with_cached_ext_fti", |b| {
        b.iter(|| {
            black_box(
                black_box(&repr_fti)
                    .emit_header_with(&**scheme, Some(&fti), &mut out)
                    .ok(),
            )
        })
    });
    g.bench_function("emit_no_code_data_packet_with_symbol_copy", |b| {
        b.iter(|| black_box(black_box(&repr).emit(&**scheme, &symbol, &mut out).ok()))
    });
    g.finish();

    let mut g = c.benchmark_group("lct");
    let header = &packet[..16];
    g.bench_function("parse_16_byte_header", |b| {
        b.iter(|| black_box(LctRepr::parse(&LctPacket::new_unchecked(black_box(header))).ok()))
    });
    let lct = repr.lct;
    let mut hdr_out = [0u8; 16];
    g.bench_function("emit_16_byte_header", |b| {
        b.iter(|| black_box(black_box(&lct).emit_into(&mut hdr_out).ok()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
