//! FDT-Instance parse and emit throughput, for instances of 1, 100 and 10 000 files.
//!
//! Each file carries the attributes a typical sender writes (Content-Location, TOI,
//! Content-Length, Transfer-Length, Content-Type, Content-MD5); the instance carries
//! RaptorQ FEC OTI. Throughput is in bytes of XML. Parsing uses the default `Limits`.
//!
//! Run: `cargo bench -p flute-benches --bench fdt -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fdt::{FdtInstance, File, NtpSeconds, Profile};

fn instance(files: u32) -> FdtInstance {
    let mut m = FdtInstance::new(NtpSeconds(3_900_000_000));
    m.fec_oti.encoding_id = Some(6);
    m.fec_oti.encoding_symbol_length = Some(1280);
    m.fec_oti.max_source_block_length = Some(56_403);
    m.fec_oti.scheme_specific_info = Some(vec![1, 0, 1, 4]);
    m.files = (1..=files)
        .map(|i| {
            let mut f = File::new(
                u128::from(i),
                format!("https://cdn.example.com/live/segment-{i:06}.m4s"),
            );
            f.content_length = Some(u64::from(i) * 1000 + 17);
            f.transfer_length = f.content_length;
            f.content_type = Some("video/iso.segment".to_owned());
            f.content_md5 = Some([i.to_be_bytes()[3]; 16]);
            f
        })
        .collect();
    m
}

fn bench(c: &mut Criterion) {
    for n in [1u32, 100, 10_000] {
        let m = instance(n);
        for (profile, tag) in [(Profile::Rfc6726, "rfc6726"), (Profile::Mbms3gpp, "3gpp")] {
            let Ok(xml) = m.emit(profile) else { return };
            let mut group = c.benchmark_group(format!("fdt_{tag}"));
            group.throughput(Throughput::Bytes(xml.len() as u64));
            group.bench_with_input(BenchmarkId::new("parse", n), &xml, |b, xml| {
                b.iter(|| FdtInstance::parse(black_box(xml.as_bytes())).ok())
            });
            group.bench_with_input(BenchmarkId::new("emit", n), &m, |b, m| {
                b.iter(|| black_box(m).emit(profile).ok().map(|s| s.len()))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
