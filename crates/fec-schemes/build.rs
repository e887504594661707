//! Enables the AVX-512 GFNI kernel of the GF(2^8) slice kernels (`gf8_simd.rs`) when the
//! compiler has its intrinsics and target features (stable since Rust 1.89); older
//! compilers, down to the MSRV, build without it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(fec_avx512)");
    let ac = autocfg::new();
    if ac.probe_rustc_version(1, 89) {
        println!("cargo::rustc-cfg=fec_avx512");
    }
}
