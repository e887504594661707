//! Size of one `raptorq::SourceBlockEncodingPlan` per source block size K, and the time to
//! generate it: the figures behind the bound of the RaptorQ encoder plan cache
//! (`fec-schemes`, `src/schemes/raptorq/plan.rs`).
//!
//! The plan is opaque, so its operations are counted in its `Debug` text; `ops_bytes` is
//! their length in memory (`size_of::<SymbolOps>()` = 32 bytes each on 64-bit targets, plus
//! 8 bytes per index of a `Reorder`). The heap it holds is larger by the spare capacity of
//! its vectors.
//!
//! Run: `cargo run --release -p flute-benches --example rq_plan_size [K ...]`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

const OP_BYTES: usize = 32;

#[allow(clippy::disallowed_methods)] // a measurement tool: wall-clock timing is the point
fn main() {
    let ks: Vec<u16> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("K"))
        .collect();
    let ks = if ks.is_empty() {
        vec![10, 64, 256, 1024, 2048, 4096, 8192, 16384]
    } else {
        ks
    };
    println!("K\tops\tops_bytes\tbytes_per_K\tgenerate_ms");
    for k in ks {
        let t = Instant::now();
        let plan = raptorq::SourceBlockEncodingPlan::generate(k);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let text = format!("{plan:?}");
        let ops = ["AddAssign {", "MulAssign {", "FMA {", "Reorder {"]
            .iter()
            .map(|name| text.matches(name).count())
            .sum::<usize>();
        // Indices inside Reorder { order: [..] } lists.
        let reorder_idx: usize = text
            .split("Reorder { order: [")
            .skip(1)
            .map(|rest| rest.split(']').next().unwrap_or("").split(',').count())
            .sum();
        let bytes = ops * OP_BYTES + reorder_idx * 8;
        println!(
            "{k}\t{ops}\t{bytes}\t{:.0}\t{ms:.1}",
            bytes as f64 / f64::from(k)
        );
    }
}
