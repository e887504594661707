#![allow(missing_docs, clippy::unwrap_used, clippy::disallowed_methods)]
// Times gf8_simd::matmul, the GF(2^8) product of the RS schemes and of the RaptorQ fast
// path: (rows x k) coefficients times k inputs of t bytes, best of 50, with the kernel the
// CPU gets (FEC_RS_NO_AVX512=1 / FEC_RS_NO_GFNI=1 / FEC_RS_FORCE_SCALAR=1 pick slower ones).
// Run: cargo run --release -p fec-schemes --example kern_time
fn main() {
    let name = fec_schemes::schemes::rs::gf8_simd::kernel_name();
    for &(k, rows, t) in &[
        (1024usize, 53usize, 1400usize),
        (200, 20, 1400),
        (200, 20, 1436),
        (200, 20, 1376),
    ] {
        let flat: Vec<u8> = (0..k * t).map(|i| (i * 31 + i / 7) as u8).collect();
        let inputs: Vec<&[u8]> = flat.chunks_exact(t).collect();
        let coefs: Vec<u8> = (0..rows * k).map(|i| (i * 13 + 5) as u8).collect();
        let mut out = vec![0u8; rows * t];
        let mut best = f64::MAX;
        for _ in 0..50 {
            let mut o: Vec<&mut [u8]> = out.chunks_exact_mut(t).collect();
            let t0 = std::time::Instant::now();
            fec_schemes::schemes::rs::gf8_simd::matmul(&coefs, &inputs, &mut o);
            best = best.min(t0.elapsed().as_secs_f64());
        }
        let bytes = (k * rows * t) as f64;
        println!(
            "{name}\tk={k}\trows={rows}\tT={t}\t{:.3} ms\t{:.1} G mul-add/s",
            best * 1e3,
            bytes / best / 1e9
        );
    }
}
